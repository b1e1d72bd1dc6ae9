"""Training throughput of each phase of Algorithm 1: iterations/s, images/s and peak memory.

Side by side in one run: for each preset, fp32 eager and bf16 autocast + channels_last, each phase
(completion = phase 1, discriminator = phase 2, joint = phase 3) timed on the real step functions
of `glcic.training.phases`. Each (preset, precision, phase) runs in its own process so that its
peak memory (max RSS on CPU, max allocated on CUDA) is its own. The batch is random pixels with the
preset's holes: time does not depend on image content. Time is the median of `--iterations` steps
after `--warmup` steps.

    python benchmarks/bench_training.py                          # presets paper and cpu
    python benchmarks/bench_training.py --presets cpu --batch-size 16 --iterations 5

Run it through `make bench-train`, which sets GLIBC_TUNABLES (see the README).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

PHASES = ("completion", "discriminator", "joint")
PRECISIONS = {"fp32": dict(precision="fp32", channels_last=False), "bf16 channels_last": dict(precision="bf16", channels_last=True)}


def measure(preset_name: str, precision: str, phase: str, batch_size: int, warmup: int, iterations: int, device: str,
            width: float | None = None) -> dict:
    """Time one phase's step in this process; returns seconds per iteration and peak memory."""
    import resource

    from glcic.masks import hole_box, local_patch_box, random_patch_box
    from glcic.training import distributed, preset
    from glcic.training.loop import _build_networks
    from glcic.training.phases import STEPS, Batch

    widths = {} if width is None else {"width": width, "discriminator_width": width}
    config = preset(preset_name, batch_size=batch_size, mean_pixel=(0.5, 0.5, 0.5), **widths, **PRECISIONS[precision])
    world = distributed.World(device=torch.device(device))
    networks = _build_networks(config, world, None)
    rng = np.random.default_rng(0)
    size, sampler = config.image_size, config.data_config().hole_sampler_instance()
    holes = [sampler(size, size, rng) for _ in range(batch_size)]
    sample = {
        "image": torch.from_numpy(rng.integers(0, 256, (batch_size, 3, size, size), dtype=np.uint8)),
        "hole": torch.from_numpy(np.stack(holes)[:, None].astype(np.uint8)),
        "hole_patch": torch.tensor([local_patch_box(hole_box(h), config.local_size, size, size)[:2] for h in holes]),
        "real_patch": torch.tensor([random_patch_box(config.local_size, size, size, rng)[:2] for _ in holes]),
    }
    batch = Batch.from_loader(sample, world.device, config.channels_last)
    step = STEPS[phase]
    times = []
    for index in range(warmup + iterations):
        if world.device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        step(networks, batch, world.device)
        if world.device.type == "cuda":
            torch.cuda.synchronize()
        if index >= warmup:
            times.append(time.perf_counter() - start)
    if world.device.type == "cuda":
        peak = torch.cuda.max_memory_allocated() / 2**30
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    return {"seconds": statistics.median(times), "peak_gib": peak}


def time_data(folder: str, samples: int) -> float:
    """Median seconds to make one training sample from the photos in `folder` (the real pipeline)."""
    from glcic.data import TrainingImages, scan_images
    from glcic.training import preset

    config = preset("cpu", data=folder, hole_sampler="mixed", hole_min=24, hole_max=64, resize_min=128, resize_max=448, augment=True)
    paths, _ = scan_images(folder, config.image_size // 2)
    dataset = TrainingImages(paths, config.data_config(), seed=0)
    times = []
    for index in range(max(samples, 20)):
        start = time.perf_counter()
        dataset[(0, index % len(paths))]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["paper", "cpu"])
    parser.add_argument("--precisions", nargs="+", default=list(PRECISIONS), choices=list(PRECISIONS))
    parser.add_argument("--batch-size", type=int, default=8, help="per iteration (the paper's 96 does not fit a CPU's time)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--iterations", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--width", type=float, help="override the presets' network widths")
    parser.add_argument("--data", help="a folder of photos: also time the data pipeline (one sample: decode, resize, crop, hole) "
                        "against the step, with the cpu preset's mixed holes, 128-448 px resize and augmentation")
    parser.add_argument("--child", nargs=3, metavar=("PRESET", "PRECISION", "PHASE"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(measure(*args.child, args.batch_size, args.warmup, args.iterations, args.device, args.width)))
        return

    from glcic.evaluation.timing import cpu_bf16_support

    print(f"CPU: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}, "
          f"bf16 instructions: {cpu_bf16_support()}, device {args.device}, batch {args.batch_size}, width {args.width or 'preset'}, "
          f"GLIBC_TUNABLES {'set' if os.environ.get('GLIBC_TUNABLES') else 'not set'}")
    print()
    header = "| preset | phase | " + " | ".join(f"{p} it/s (img/s, peak GiB)" for p in args.precisions)
    header += f" | {args.precisions[1]} / {args.precisions[0]} speed |" if len(args.precisions) > 1 else " |"
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    if args.data:
        data_seconds = time_data(args.data, args.iterations)
        print(f"data pipeline: {data_seconds * 1000:.1f} ms per sample, {args.batch_size * data_seconds:.3f} s per batch of "
              f"{args.batch_size} in one loader worker (in parallel with the step, on the same cores)")
        print()
    for preset_name in args.presets:
        for phase in PHASES:
            results = []
            for precision in args.precisions:
                command = [sys.executable, __file__, "--child", preset_name, precision, phase, "--batch-size", str(args.batch_size),
                           "--warmup", str(args.warmup), "--iterations", str(args.iterations), "--device", args.device]
                command += ["--width", str(args.width)] if args.width else []
                output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
                results.append(json.loads(output.strip().splitlines()[-1]))
            cells = [f"{1 / r['seconds']:.3f} ({args.batch_size / r['seconds']:.1f}, {r['peak_gib']:.1f})" for r in results]
            row = f"| {preset_name} | {phase} | " + " | ".join(cells)
            row += f" | {results[0]['seconds'] / results[1]['seconds']:.2f}x |" if len(results) > 1 else " |"
            print(row, flush=True)


if __name__ == "__main__":
    main()
