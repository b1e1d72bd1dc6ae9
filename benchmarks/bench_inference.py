"""Completion network forward time at 512, 768 and 1024 px (the sizes of the paper's Table 4).

Side by side in one run: fp32 eager (the unfolded network, as trained), fp32 channels_last, and bf16
autocast + channels_last, the last two on the inference network that `glcic.load_model` gives
(batch norm folded into the convs). FLOPs are counted by `torch.utils.flop_counter`; time is the
median of `--repeats` runs after one warm-up. Weights are random: time does not depend on them.

    python benchmarks/bench_inference.py                 # full width, 512 768 1024
    python benchmarks/bench_inference.py --sizes 256 512 --width 0.5 --repeats 5

Run it through `make bench`, which sets GLIBC_TUNABLES so that glibc keeps large freed blocks
instead of returning them to the OS after every layer (see the README).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from contextlib import nullcontext

import torch

from glcic.evaluation.timing import PAPER_SECONDS, cpu_bf16_support, network_gflop  # Table 4; which bf16 instructions the CPU has
from glcic.models.completion import CompletionNetwork, fuse_batchnorm



def modes(network: CompletionNetwork):
    """(name, module, channels_last, autocast dtype) for each configuration compared."""
    fused = fuse_batchnorm(network)
    fused_channels_last = fuse_batchnorm(network).to(memory_format=torch.channels_last)
    return [
        ("fp32 eager", network, False, None),
        ("fp32 channels_last", fused_channels_last, True, None),
        ("bf16 channels_last", fused_channels_last, True, torch.bfloat16),
    ], fused


def time_forward(module, size: int, channels_last: bool, dtype, repeats: int) -> float:
    x = torch.rand(1, 4, size, size)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    context = torch.autocast("cpu", dtype=dtype) if dtype is not None else nullcontext()
    times = []
    with torch.inference_mode(), context:
        for index in range(repeats + 1):
            start = time.perf_counter()
            module(x)
            if index:  # the first run is a warm-up
                times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 768, 1024])
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    torch.manual_seed(0)
    network = CompletionNetwork(width=args.width).eval()
    configurations, fused = modes(network)
    print(f"CPU: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}, "
          f"bf16 instructions: {cpu_bf16_support()}, width {args.width}, GLIBC_TUNABLES {'set' if os.environ.get('GLIBC_TUNABLES') else 'not set'}")
    names = [name for name, *_ in configurations]
    print()
    print("| size | GFLOP | " + " | ".join(f"{name} s (GFLOP/s)" for name in names) + " | " +
          " | ".join(f"{name} speed-up" for name in names[1:]) + " | paper CPU / GPU s |")
    print("|---" * (3 + 2 * len(names)) + "|")
    for size in args.sizes:
        gflop = network_gflop(fused, size)
        seconds = [time_forward(module, size, cl, dtype, args.repeats) for _, module, cl, dtype in configurations]
        paper = PAPER_SECONDS.get(size)
        cells = [f"{s:.3f} ({gflop / s:.0f})" for s in seconds]
        ratios = [f"{seconds[0] / s:.2f}x" for s in seconds[1:]]
        paper_cell = f"{paper[0]} / {paper[1]}" if paper and args.width == 1.0 else "-"
        print(f"| {size} | {gflop:.0f} | " + " | ".join(cells) + " | " + " | ".join(ratios) + f" | {paper_cell} |", flush=True)


if __name__ == "__main__":
    main()
