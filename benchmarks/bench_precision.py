"""The fast paths against fp32, on real photos: how far each one's fill is from the fp32 fill, and
how fast it is, side by side in one run.

    python benchmarks/bench_precision.py PHOTO [PHOTO ...] --calibration-data DIR [--model M] [--json FILE]

Each photo gives `--pairs-per-photo` (crop, hole) pairs: the photo's centre square at `--size` px and
a seeded hole from the model's own kind (`mixed`: rectangles, strokes, blobs of 32-128 px). Each
configuration (torch fp32, torch bf16, ONNX fp32, ONNX int8 calibrated on `--calibration-data`)
completes every pair without post-processing; the table gives the mean and the 99th percentile of
|fill - fp32 fill| over the hole pixels, in grey levels (0-255), and the network's time at `--size`
as a multiple of torch fp32's (configurations taking turns, as in `glcic bench`).

Use photos the model never trained on (the test split) and calibrate on training photos.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

CONFIGURATIONS = [("torch", "fp32"), ("torch", "bf16"), ("onnx", "fp32"), ("onnx", "int8")]


def pairs(photos: list[Path], size: int, per_photo: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from glcic.image_io import center_square, read_photo
    from glcic.masks import make_hole_sampler

    sampler = make_hole_sampler("mixed", hole_min=32, hole_max=128)
    made = []
    for photo_index, path in enumerate(photos):
        crop = center_square(read_photo(path), size)
        for pair_index in range(per_photo):
            made.append((crop, sampler(size, size, np.random.default_rng([photo_index, pair_index]))))
    return made


def load(backend: str, precision: str, model, calibration: list[Path], folder: Path):
    import glcic
    from glcic.image_io import read_photo
    from glcic.model_file import load_network, model_source
    from glcic.onnx_backend import export_onnx

    if backend == "onnx" and precision == "int8":
        source = folder / "int8.onnx"
        export_onnx(*load_network(model_source(model)), source, int8=True, photos=[read_photo(path) for path in calibration])
        return glcic.load_model(source, backend="onnx", precision="int8")
    return glcic.load_model(model, backend=backend, precision=precision)


def main() -> int:
    import glcic
    from glcic.evaluation.timing import time_side_by_side
    from glcic.image_io import list_images

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos", nargs="+", type=Path)
    parser.add_argument("--calibration-data", type=Path, required=True)
    parser.add_argument("--model", type=Path, default=None, help="default: the bundled model")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--pairs-per-photo", type=int, default=4)
    parser.add_argument("--calibration-count", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    calibration = list_images(args.calibration_data)[: args.calibration_count]
    test_pairs = pairs(args.photos, args.size, args.pairs_per_photo)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        models = []
        for backend, precision in CONFIGURATIONS:
            try:
                models.append(((backend, precision), load(backend, precision, args.model, calibration, Path(folder))))
            except Exception as error:  # noqa: BLE001 - a configuration this machine cannot run is reported
                print(f"{backend} {precision}: skipped ({error})", file=sys.stderr)
        fills = {key: [glcic.complete(model, photo, hole, postprocess=False) for photo, hole in test_pairs] for key, model in models}
        seconds = time_side_by_side([model for _, model in models], args.size, args.repeats)
    reference = fills[("torch", "fp32")]
    for ((backend, precision), _), time in zip(models, seconds):
        errors = np.concatenate([np.abs(ours.astype(float) - ref.astype(float))[hole].ravel()
                                 for ours, ref, (_, hole) in zip(fills[(backend, precision)], reference, test_pairs)])
        rows.append({"backend": backend, "precision": precision, "size": args.size, "pairs": len(test_pairs),
                     "hole_error_mean": round(float(errors.mean()), 3), "hole_error_p99": round(float(np.percentile(errors, 99)), 2),
                     "seconds": round(time, 4), "speed_vs_torch_fp32": round(seconds[0] / time, 2)})
    print(f"{len(test_pairs)} pairs at {args.size} px; fill difference from torch fp32 in grey levels (0-255)\n")
    print("| backend | precision | mean | 99th percentile | seconds | speed vs torch fp32 |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['backend']} | {row['precision']} | {row['hole_error_mean']:.3f} | {row['hole_error_p99']:.2f} | "
              f"{row['seconds']:.3f} | {row['speed_vs_torch_fp32']:.2f}x |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
