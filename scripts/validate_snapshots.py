"""Validation curve of a training run: every model file in RUN/snapshots on fixed validation holes.

    python scripts/validate_snapshots.py RUN --data data/photos/validation [--per-image 20]

For each protocol (paper rectangles, free-form strokes) one mask set is made once (seed 0) and
reused for every snapshot, so the numbers are comparable along the run. Each snapshot is evaluated
with `glcic.evaluation.evaluate` (method `glcic`: the model with post-processing): hole L1, PSNR,
SSIM, the detail ratio, the grid index and (unless --no-judge) the realism judge's accuracy. Appends one JSON
line per (snapshot, protocol) to RUN/validation.jsonl (snapshots already there are skipped, so the
script can be rerun while the run goes on), and draws RUN/validation.png: hole L1 and PSNR against
images seen. The best snapshot is chosen on these numbers; the test split is never used here.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

PROTOCOLS = ("paper", "free_form")


def main() -> int:
    from glcic.evaluation import evaluate
    from glcic.evaluation.judge import JudgeSettings
    from glcic.inference.model import load_model
    from glcic.model_file import model_source, read_model_file

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="training run folder with snapshots/")
    parser.add_argument("--data", type=Path, required=True, help="validation photos")
    parser.add_argument("--per-image", type=int, default=20, help="(crop, hole) pairs per photo")
    parser.add_argument("--extra", type=Path, nargs="*", default=[], help="other model files to put on the curve (e.g. the bundled model)")
    parser.add_argument("--only", nargs="*", help="evaluate only these snapshot file names (default: all of them)")
    parser.add_argument("--base-images", type=int, default=0, help="training images seen before the lineage's counts start (added to every snapshot's count)")
    parser.add_argument("--lineage", type=Path, nargs="*", default=[], help="earlier runs' validation.jsonl, drawn dashed on the same plot")
    parser.add_argument("--no-judge", action="store_true", help="skip the realism judge (about 30 s a snapshot and protocol)")
    args = parser.parse_args()

    log = args.run / "validation.jsonl"
    done = set()
    if log.is_file():
        done = {(r["model"], r["protocol"]) for r in map(json.loads, log.read_text().splitlines())}
    masks = args.run / "validation_masks"
    snapshots = sorted((args.run / "snapshots").glob("*.safetensors"))
    if args.only:
        snapshots = [path for path in snapshots if path.name in args.only]
    with tempfile.TemporaryDirectory() as scratch:
        for protocol in PROTOCOLS:
            if not (masks / protocol).is_dir():  # the fixed mask set, made once
                evaluate(args.data, Path(scratch) / f"masks-{protocol}", protocol=protocol, seed=0, methods=["mean_fill"],
                         per_image=args.per_image, sheet_images=0, progress=False, judge=None)
                shutil.copytree(Path(scratch) / f"masks-{protocol}" / "masks", masks / protocol)
        for path in [*args.extra, *snapshots]:
            for protocol in PROTOCOLS:
                if (str(path), protocol) in done:
                    continue
                config = read_model_file(model_source(str(path)))[1]
                output = Path(tempfile.mkdtemp(dir=scratch))
                result = evaluate(args.data, output / "eval", model=load_model(str(path)), masks=masks / protocol, methods=["glcic"],
                                  sheet_images=0, progress=False, judge=None if args.no_judge else JudgeSettings())
                notes = config.notes
                record = {"model": str(path), "protocol": protocol, "iteration": notes.get("iteration"),
                          "images_seen": (notes.get("images_seen") or (notes.get("iteration") or 0) * (notes.get("batch_size") or 0))
                          + (args.base_images if path in snapshots else 0), "phase": notes.get("phase"),
                          **{k: round(v, 4) for k, v in result.means["glcic"].items() if k != "seconds"},
                          "interval_95": result.intervals["glcic"]}
                with open(log, "a") as handle:
                    handle.write(json.dumps(record) + "\n")
                print(json.dumps(record), flush=True)
    plot(log, args.run / "validation.png", args.lineage)
    return 0


def plot(log: Path, output: Path, lineage: list[Path] = ()) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def read(path: Path) -> list[dict]:
        return [r for r in map(json.loads, path.read_text().splitlines()) if r.get("images_seen") is not None]

    keys = [("hole_l1", "hole L1 x100 (lower is better)"), ("psnr", "PSNR dB (higher is better)"),
            ("detail", "detail ratio (1 = as the photo)"), ("grid", "grid index (lower is better)"),
            ("judge", "judge accuracy (0.5 = indistinguishable)")]
    figure, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 3.6))
    for index, protocol in enumerate(PROTOCOLS):
        colour = f"C{index}"
        for earlier in lineage:
            rows = sorted((r for r in read(earlier) if r["protocol"] == protocol), key=lambda r: r["images_seen"])
            for axis, (key, _) in zip(axes, keys):
                points = [(r["images_seen"], r[key]) for r in rows if key in r]
                axis.plot([x for x, _ in points], [y for _, y in points], marker=".", linestyle="--", color=colour,
                          alpha=0.5, label=f"{protocol}, {earlier.parent.name}")
        rows = sorted((r for r in read(log) if r["protocol"] == protocol), key=lambda r: r["images_seen"])
        for axis, (key, _) in zip(axes, keys):
            points = [(r["images_seen"], r[key]) for r in rows if key in r]
            axis.plot([x for x, _ in points], [y for _, y in points], marker="o", color=colour, label=f"{protocol}, {log.parent.name}")
    for axis, (_, label) in zip(axes, keys):
        axis.set(xlabel="training images seen (cumulative)", ylabel=label)
    for axis in axes:
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    figure.suptitle("Validation along training (glcic with post-processing, fixed holes)")
    figure.tight_layout()
    figure.savefig(output, dpi=110)


if __name__ == "__main__":
    sys.exit(main())
