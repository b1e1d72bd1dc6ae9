"""The self-describing run folder, written by rank 0 only.

    RUN/config.json         the TrainConfig plus what was resolved at start (world size, batches, data)
    RUN/log.txt             human-readable events: start, phase switches, skipped images, stops
    RUN/metrics.jsonl       one JSON object per logged iteration: phase, losses, images/s
    RUN/discriminator_scores.jsonl  the discriminators' mean scores on the fixed validation images and
                            their completions, at every sample sheet (an overfitting discriminator
                            scores held-out real photos low)
    RUN/tensorboard/        the same scalars and the sample sheets, for `tensorboard --logdir RUN`
    RUN/samples/            sample sheets: input with hole | completion | original, one row per image
    RUN/checkpoint.pt       the whole training state (glcic.training.checkpoint)
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from glcic.utils import write_atomic


METRICS_FILES = ("metrics.jsonl", "discriminator_scores.jsonl")


class RunFolder:
    def __init__(self, path: str | Path, enabled: bool = True):
        self.path = Path(path)
        self.enabled = enabled
        self._writer = None
        if enabled:
            (self.path / "samples").mkdir(parents=True, exist_ok=True)

    def write_config(self, config_dict: dict, resolved: dict) -> None:
        if self.enabled:
            text = json.dumps({"config": config_dict, "resolved": resolved}, indent=2, sort_keys=True)
            write_atomic(self.path / "config.json", (text + "\n").encode())

    def log(self, message: str) -> None:
        if self.enabled:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            with open(self.path / "log.txt", "a", encoding="utf-8") as handle:
                handle.write(f"{stamp} {message}\n")

    @property
    def writer(self):
        if self._writer is None and self.enabled:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(str(self.path / "tensorboard"))
        return self._writer

    def remove_orphaned_temporaries(self) -> None:
        if self.enabled:
            for leftover in self.path.glob(".glcic-*.tmp"):
                leftover.unlink(missing_ok=True)

    def trim_metrics(self, iteration: int) -> None:
        """Drop the metrics records past `iteration` (the checkpoint a resumed run starts from)."""
        for name in METRICS_FILES:
            self._trim(self.path / name, iteration)

    def _trim(self, path: Path, iteration: int) -> None:
        if not self.enabled or not path.is_file():
            return
        kept = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                if json.loads(line)["iteration"] <= iteration:
                    kept.append(line)
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by a kill
        write_atomic(path, ("".join(line + "\n" for line in kept)).encode())

    def metrics(self, iteration: int, phase: str, values: dict[str, float], file: str = "metrics.jsonl") -> None:
        """One record in `file` (one of METRICS_FILES) and the same scalars in TensorBoard."""
        if not self.enabled:
            return
        record = {"iteration": iteration, "phase": phase, **{k: _json_number(v) for k, v in values.items()}, "time": round(time.time(), 3)}
        with open(self.path / file, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        for name, value in values.items():
            if isinstance(value, (int, float)) and math.isfinite(value):
                self.writer.add_scalar(f"{phase}/{name}" if name not in ("images_per_second",) else name, value, iteration)

    def sample_sheet(self, iteration: int, image: torch.Tensor, hole: torch.Tensor, completed: torch.Tensor) -> Path | None:
        """Rows of input with hole (filled white) | completion | original, as a PNG and in TensorBoard."""
        if not self.enabled:
            return None
        from glcic.image_io import write_image

        shown_hole = image * (1 - hole) + hole  # (N, 3, S, S): the hole shown in white
        rows = torch.cat([shown_hole, completed, image], dim=3)  # (N, 3, S, 3S): side by side
        sheet = torch.cat(list(rows), dim=1)  # (3, N*S, 3S): one row per image
        pixels = (sheet.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).cpu().numpy()  # (N*S, 3S, 3)
        path = self.path / "samples" / f"iteration_{iteration:07d}.png"
        write_image(path, np.ascontiguousarray(pixels))
        self.writer.add_image("samples", pixels, iteration, dataformats="HWC")
        return path

    def flush(self) -> None:
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _json_number(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return value
