"""`glcic bench`: the paper's Table 4 (completion time at 512, 768, 1024 px) on the machine at hand.

Times `glcic.inference.complete.predict` (mean-pixel fill, padding, the network with batch norm
folded, the copy back), without post-processing, whose cost depends on the hole rather than the
image. Each available device and precision: fp32, fp32 channels_last and bf16 channels_last on the
CPU; fp32, bf16 and fp16 (channels_last) on CUDA. FLOPs are counted by `torch.utils.flop_counter`.
Time is the median of `repeats` runs after one warm-up; it does not depend on the weights.

Each row's share of the machine's peak is measured, not computed from clock and vector width:
the peak is the speed of a large square matrix product (`torch.mm`, 2048 px on a CPU, 8192 on a
GPU, best of 3) in the row's precision on its device, the densest work these cores and libraries
do. ONNX Runtime rows, int8 included, are set against the fp32 peak, so an int8 share above 100 %
means int8 does more than fp32's best.
"""

from __future__ import annotations

import platform
import statistics
import time

import numpy as np
import torch

PAPER_SECONDS = {512: (2.286, 0.141), 768: (4.933, 0.312), 1024: (8.262, 0.561)}  # Table 4: i7-5960X (8 cores), Titan X
PAPER_PIXELS = {512: 262_144, 768: 589_824, 1024: 1_048_576}


def configurations(devices: list[str], emulated: bool = False) -> list[tuple[str, str, str]]:
    """(device, backend, precision) to compare; the reference row is added apart. On a CPU without
    native bf16 instructions, bf16 is emulated (tens of times slower): left out unless `emulated`."""
    from glcic.devices import cpu_has_fast_bf16

    rows = []
    for device in devices:
        if device == "cpu":
            rows += [("cpu", "torch", "fp32")] + ([("cpu", "torch", "bf16")] if emulated or cpu_has_fast_bf16() else [])
            if onnx_available():
                rows += [("cpu", "onnx", "fp32"), ("cpu", "onnx", "int8")]
        else:
            rows += [(device, "torch", "fp32"), (device, "torch", "bf16"), (device, "torch", "fp16")]
    return rows


PEAK_SIDE = {"cpu": 2048, "cuda": 8192}


def peak_gflops(device: str, precision: str) -> float:
    """The measured peak GFLOP/s of `device` in `precision` (fp32, bf16, fp16): the best of 3
    square matrix products after a warm-up (2 n^3 floating-point operations each)."""
    from glcic.devices import torch_dtype

    side = PEAK_SIDE.get(torch.device(device).type, 2048)
    dtype = torch_dtype(precision if precision in ("bf16", "fp16") else "fp32")
    a, b = (torch.randn(side, side, generator=torch.Generator().manual_seed(i)).to(device, dtype) for i in (0, 1))
    best = float("inf")
    for attempt in range(4):
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        torch.mm(a, b)
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize()
        if attempt:  # the first is the warm-up
            best = min(best, time.perf_counter() - start)
    return 2 * side**3 / best / 1e9


def fastest(rows: list[dict]) -> dict[int, dict]:
    """The fastest configuration at each size (the reference row left out): what `auto` should be here."""
    best: dict[int, dict] = {}
    for row in rows:
        if not row["reference"] and (row["size"] not in best or row["seconds"] < best[row["size"]]["seconds"]):
            best[row["size"]] = row
    return best


def onnx_available() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx"))


def available_devices() -> list[str]:
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def network_gflop(network: torch.nn.Module, size: int) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    parameter = next(network.parameters())
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        network(torch.zeros(1, 4, size, size, device=parameter.device, dtype=parameter.dtype))
    return counter.get_total_flops() / 1e9


def _timing_input(size: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    rgb = rng.random((size, size, 3), dtype=np.float32)
    hole = np.zeros((size, size), bool)
    hole[size // 4 : size // 2, size // 4 : size // 2] = True
    return rgb, hole


def _time_once(model, rgb: np.ndarray, hole: np.ndarray) -> float:
    from glcic.inference.complete import predict

    start = time.perf_counter()
    predict(model, rgb, hole)  # ends with a copy to the CPU, so CUDA work is finished
    return time.perf_counter() - start


def time_side_by_side(models: list, size: int, repeats: int) -> list[float]:
    """Median seconds of each model over `repeats` rounds. Each round runs every model in turn, once
    to warm it up again (switching models evicts the others' cached kernels and weight layouts, which
    would bias the comparison) and once timed: a machine that speeds up or slows down during the
    measurement then moves every model alike, and the ratios between them stay fair."""
    rgb, hole = _timing_input(size)
    times = [[] for _ in models]
    for _ in range(repeats):
        for index, model in enumerate(models):
            _time_once(model, rgb, hole)
            times[index].append(_time_once(model, rgb, hole))
    return [statistics.median(t) for t in times]


class _Reference:
    """The network as a straightforward port runs it: conv -> BN -> ReLU, fp32, eager, contiguous."""

    backend, precision = "torch", "fp32"

    def __init__(self, network, config, device):
        self.network, self.config, self.device = network.eval().to(device), config, torch.device(device)

    def run(self, batch):
        with torch.inference_mode():
            return self.network(torch.from_numpy(batch).to(self.device)).float().cpu().numpy()


def cpu_bf16_support() -> str:
    """Which bf16 instructions the CPU has: without AMX or AVX512-BF16, bf16 is emulated (slow)."""
    from glcic.devices import cpu_bf16_flags

    found = sorted(cpu_bf16_flags() - {"amx_tile"})
    return ", ".join(found) if found else "none (bf16 is emulated)"


def bench_rows(model_path=None, sizes=(512, 768, 1024), devices: list[str] | None = None, repeats: int = 3,
               width: float = 1.0, progress=None, emulated: bool = False) -> list[dict]:
    """One row per (device, backend, precision, size): seconds and GFLOP/s of the network with its
    pre- and post-copies, and that speed's share of the measured peak (`peak_gflops`) of the
    device in the row's precision. The first rows of each device are the reference (`reference: true`)."""
    import tempfile
    from pathlib import Path

    from glcic.config import ModelConfig
    from glcic.inference.model import load_model
    from glcic.model_file import load_network, save_model
    from glcic.models.completion import CompletionNetwork

    with tempfile.TemporaryDirectory() as folder:
        if model_path is None:  # time does not depend on the weights: a random network of `width`
            torch.manual_seed(0)
            model_path = Path(folder) / "random.safetensors"
            network = CompletionNetwork(width=width).eval()
            save_model(model_path, network, ModelConfig(width=width))
        network, config = load_network(model_path)
        gflops = {size: network_gflop(network, size) for size in sizes}
        rows = []
        for device in devices or available_devices():
            runs = [(device, "torch", "fp32", True)] + [(d, b, p, False) for d, b, p in configurations([device], emulated) if d == device]
            models, kept = [], []
            for device_name, backend, precision, reference in runs:
                try:
                    source = model_path
                    if backend == "onnx" and precision == "int8":  # timing only: calibrated on random images
                        from glcic.onnx_backend import export_onnx

                        source = Path(folder) / "int8.onnx"
                        random_photos = [np.random.default_rng(i).integers(0, 256, (384, 384, 3), dtype=np.uint8) for i in range(4)]
                        export_onnx(*load_network(model_path), source, int8=True, photos=random_photos)
                    models.append(_Reference(load_network(model_path)[0], config, device_name) if reference
                                  else load_model(source, device=device_name, backend=backend, precision=precision))
                    kept.append((device_name, backend, precision, reference))
                except Exception as error:  # noqa: BLE001 - a configuration this machine cannot run is reported, not fatal
                    if progress:
                        progress(f"{device_name} {backend} {precision}: skipped ({error})")
            peaks = {}
            for size in sizes:
                for (device_name, backend, precision, reference), seconds in zip(kept, time_side_by_side(models, size, repeats)):
                    peak_precision = precision if backend == "torch" else "fp32"
                    if peak_precision not in peaks:
                        peaks[peak_precision] = peak_gflops(device_name, peak_precision)
                    speed = gflops[size] / seconds
                    rows.append({"device": device_name, "backend": backend, "precision": precision, "size": size,
                                 "seconds": round(seconds, 4), "gflops_per_s": round(speed, 1), "reference": reference,
                                 "peak_gflops_per_s": round(peaks[peak_precision], 1),
                                 "peak_share": round(speed / peaks[peak_precision], 3)})
                    if progress:
                        progress(f"{size} px {device_name} {backend} {precision}{' (reference)' if reference else ''}: {seconds:.3f} s")
    return rows


def table4(rows: list[dict], width: float) -> str:
    """The Markdown table: one row per size, one column per configuration, with the speed-up over the
    reference and the paper's times."""
    columns = list(dict.fromkeys((r["device"], r["backend"], r["precision"], r["reference"]) for r in rows))
    sizes = list(dict.fromkeys(r["size"] for r in rows))
    cell = {(r["device"], r["backend"], r["precision"], r["reference"], r["size"]): r for r in rows}
    names = [f"{d} {'reference' if ref else b + ' ' + p}" for d, b, p, ref in columns]
    lines = [
        f"CPU: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, bf16 instructions: {cpu_bf16_support()}; "
        + (f"GPU: {torch.cuda.get_device_name()}; " if any(c[0] != "cpu" for c in columns) else "")
        + f"torch {torch.__version__}; width {width}; seconds (x speed of the reference)",
        "",
        "| size | " + " | ".join(names) + " | paper CPU / GPU |",
        "|---" * (len(columns) + 2) + "|",
    ]
    for size in sizes:
        cells = []
        for column in columns:
            row = cell.get((*column, size))
            reference = cell.get((column[0], "torch", "fp32", True, size))
            if row is None:
                cells.append("-")
            else:
                ratio = f" ({reference['seconds'] / row['seconds']:.2f}x)" if reference else ""
                cells.append(f"{row['seconds']:.3f}{ratio}")
        paper = PAPER_SECONDS.get(size)
        lines.append(f"| {size} | " + " | ".join(cells) + f" | {f'{paper[0]} / {paper[1]}' if paper else '-'} |")
    lines += ["", "GFLOP/s of the network, and its share of the measured peak (a large matrix product in the same "
              "precision on the same device; ONNX rows against the fp32 peak):", "",
              "| size | " + " | ".join(names) + " |", "|---" * (len(columns) + 1) + "|"]
    for size in sizes:
        cells = [f"{row['gflops_per_s']:.0f} ({100 * row['peak_share']:.0f} %)" if row else "-"
                 for row in (cell.get((*column, size)) for column in columns)]
        lines.append(f"| {size} | " + " | ".join(cells) + " |")
    peaks = dict.fromkeys(f"{r['device']} {r['precision'] if r['backend'] == 'torch' else 'fp32'} {r['peak_gflops_per_s']:.0f}" for r in rows)
    lines += ["", "Measured peaks (GFLOP/s): " + ", ".join(peaks) + ".",
              "Fastest here: " + "; ".join(f"{size} px: {r['device']} {r['backend']} {r['precision']}" for size, r in fastest(rows).items()) + "."]
    lines += ["", "Paper: Table 4, Intel i7-5960X (8 cores) / NVIDIA Titan X. Reference: conv -> BN -> ReLU in fp32, "
              "eager, as a straightforward port runs it; the others fold batch norm and use channels_last. "
              "Time is the network with its pre- and post-copies, no Poisson blending."]
    return "\n".join(lines) + "\n"
