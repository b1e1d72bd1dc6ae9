"""`glcic bench`: the paper's Table 4 (completion time at 512, 768, 1024 px) on the machine at hand.

Times `glcic.inference.complete.predict` (mean-pixel fill, padding, the network with batch norm
folded, the copy back), without post-processing, whose cost depends on the hole rather than the
image. Each available device and precision: fp32, fp32 channels_last and bf16 channels_last on the
CPU; fp32, bf16 and fp16 (channels_last) on CUDA. FLOPs are counted by `torch.utils.flop_counter`.
Time is the median of `repeats` runs after one warm-up; it does not depend on the weights.
"""

from __future__ import annotations

import platform
import statistics
import time

import numpy as np
import torch

PAPER_SECONDS = {512: (2.286, 0.141), 768: (4.933, 0.312), 1024: (8.262, 0.561)}  # Table 4: i7-5960X (8 cores), Titan X
PAPER_PIXELS = {512: 262_144, 768: 589_824, 1024: 1_048_576}


def configurations(devices: list[str]) -> list[tuple[str, str, bool]]:
    """(device, precision, channels_last) to compare."""
    rows = []
    for device in devices:
        if device == "cpu":
            rows += [("cpu", "fp32", False), ("cpu", "fp32", True), ("cpu", "bf16", True)]
        else:
            rows += [(device, "fp32", True), (device, "bf16", True), (device, "fp16", True)]
    return rows


def available_devices() -> list[str]:
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def network_gflop(network: torch.nn.Module, size: int) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    parameter = next(network.parameters())
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        network(torch.zeros(1, 4, size, size, device=parameter.device, dtype=parameter.dtype))
    return counter.get_total_flops() / 1e9


def time_completion(model, size: int, precision: str, repeats: int) -> float:
    from glcic.inference.complete import predict

    rng = np.random.default_rng(0)
    rgb = rng.random((size, size, 3), dtype=np.float32)
    hole = np.zeros((size, size), bool)
    hole[size // 4 : size // 2, size // 4 : size // 2] = True
    times = []
    for index in range(repeats + 1):
        start = time.perf_counter()
        predict(model, rgb, hole, precision)  # ends with a copy to the CPU, so CUDA work is finished
        if index:  # the first run is a warm-up
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def cpu_bf16_support() -> str:
    """Which bf16 instructions the CPU has: without AMX or AVX512-BF16, bf16 is emulated (slow)."""
    try:
        flags = next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return "unknown"
    found = [flag for flag in ("amx_bf16", "avx512_bf16") if flag in flags]
    return ", ".join(found) if found else "none (bf16 is emulated)"


def table4(model=None, sizes=(512, 768, 1024), devices: list[str] | None = None, repeats: int = 3, width: float = 1.0, progress=None) -> str:
    """The Markdown table: one row per size, one column per (device, precision)."""
    from glcic.config import ModelConfig
    from glcic.model_file import CompletionModel
    from glcic.models.completion import CompletionNetwork, fuse_batchnorm

    if model is None:
        torch.manual_seed(0)
        model = CompletionModel(fuse_batchnorm(CompletionNetwork(width=width).eval()), ModelConfig(width=width), torch.device("cpu"))
    configs = configurations(devices or available_devices())
    gflops = {size: network_gflop(model.network, size) for size in sizes}
    lines = [
        f"CPU: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, bf16 instructions: {cpu_bf16_support()}; "
        + (f"GPU: {torch.cuda.get_device_name()}; " if any(d != "cpu" for d, _, _ in configs) else "")
        + f"torch {torch.__version__}; width {model.config.width}; median of {repeats}, seconds (GFLOP/s)",
        "",
        "| size | pixels | GFLOP | " + " | ".join(f"{d} {p}{' CL' if cl else ''}" for d, p, cl in configs) + " | paper CPU / GPU |",
        "|---" * (len(configs) + 4) + "|",
    ]
    for size in sizes:
        cells = []
        for device, precision, channels_last in configs:
            model.to(device, channels_last)
            seconds = time_completion(model, size, precision, repeats)
            cells.append(f"{seconds:.3f} ({gflops[size] / seconds:.0f})")
            if progress:
                progress(f"{size} px {device} {precision}{' channels_last' if channels_last else ''}: {seconds:.3f} s")
        paper = PAPER_SECONDS.get(size)
        paper_cell = f"{paper[0]} / {paper[1]}" if paper else "-"
        gflop = f"{gflops[size]:.0f}" if gflops[size] >= 10 else f"{gflops[size]:.2g}"
        lines.append(f"| {size} | {size * size:,} | {gflop} | " + " | ".join(cells) + f" | {paper_cell} |")
    model.to("cpu", False)
    lines += ["", "Paper: Table 4, Intel i7-5960X (8 cores) / NVIDIA Titan X. CL = channels_last. "
              "Time is the network with its pre- and post-copies, no Poisson blending."]
    return "\n".join(lines) + "\n"
