"""Big photos, side by side in one run: hole-centred windows against OpenCV's Telea and against the
old whole-photo downscaling, and full-resolution (`native`) completion of a huge photo against a crop.

    python benchmarks/bench_large_photo.py PHOTO [PHOTO ...] [--holes 4] [--json FILE]

1. Each photo is resized to 2560x1600 (centre crop of the aspect), and gets `--holes` seeded holes of
   about 200 px (rectangles and blobs of sides 150-250 px), one at a time. Methods: `glcic` (windows,
   post-processing), `glcic_whole` (the whole photo brought down so the hole is as deep as the
   training holes, as before windows), `glcic_no_flip` (windows, the network run once even where
   `glcic` would also run it mirrored), `telea` (cv2.inpaint on the full photo). Each method runs
   once untimed on each hole, then timed. Hole L1 x100, PSNR of the hole, seconds, and each
   method's time as a multiple of Telea's.
2. `native=True` on a 4096x2560 photo with a 100 px hole, against the same hole in a 640x640 crop:
   time ratio, and the peak memory of each (a fresh process each, ru_maxrss).

Use photos the model never trained on (the validation split's originals; see scripts/build_photos.py).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def fit(photo: np.ndarray, width: int, height: int) -> np.ndarray:
    import cv2

    scale = max(width / photo.shape[1], height / photo.shape[0])
    resized = cv2.resize(photo, (round(photo.shape[1] * scale), round(photo.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    top, left = (resized.shape[0] - height) // 2, (resized.shape[1] - width) // 2
    return np.ascontiguousarray(resized[top : top + height, left : left + width])


def hole_metrics(truth: np.ndarray, completed: np.ndarray, hole: np.ndarray) -> dict[str, float]:
    error = truth[hole].astype(np.float64) / 255 - completed[hole].astype(np.float64) / 255
    return {"hole_l1": float(np.abs(error).mean() * 100), "hole_psnr": float(10 * np.log10(1 / max(np.square(error).mean(), 1e-12)))}


def compare(model, photos: list[Path], holes_per_photo: int) -> list[dict]:
    import cv2

    from glcic.image_io import read_photo
    from glcic.evaluation.baselines import Context, get_method, run_method
    from glcic.inference.complete import complete
    from glcic.masks import make_hole_sampler

    rows = []
    for photo_index, path in enumerate(photos):
        photo = fit(read_photo(path), 2560, 1600)
        for hole_index in range(holes_per_photo):
            rng = np.random.default_rng([photo_index, hole_index])
            sampler = make_hole_sampler("rectangle" if hole_index % 2 == 0 else "blob", hole_min=150, hole_max=250)
            hole = sampler(1600, 2560, rng)
            methods = {
                "glcic": lambda: complete(model, photo, hole),
                "glcic_no_flip": lambda: complete(model, photo, hole, flip_average=False),
                "glcic_whole": lambda: run_method(get_method("glcic_whole"), photo, hole, Context(model)),
                "telea": lambda: cv2.inpaint(photo, hole.astype(np.uint8), 3, cv2.INPAINT_TELEA),
            }
            for run in methods.values():  # untimed: the first touch of a fresh photo cost whichever method ran first ~35 ms
                run()
            for name, run in methods.items():
                start = time.perf_counter()
                completed = run()
                seconds = time.perf_counter() - start
                rows.append({"photo": path.name, "hole": hole_index, "method": name, "seconds": seconds, **hole_metrics(photo, completed, hole)})
    return rows


def native_child(size: str) -> None:
    """Run in a fresh process: one native completion, then print seconds and peak memory."""
    import glcic

    model = glcic.load_model()
    height, width = (2560, 4096) if size == "huge" else (640, 640)
    rng = np.random.default_rng(0)
    photo = (rng.random((height, width, 3)) * 255).astype(np.uint8)
    hole = np.zeros((height, width), bool)
    hole[height // 2 - 50 : height // 2 + 50, width // 2 - 50 : width // 2 + 50] = True
    glcic.complete(model, photo[:64, :64], hole[:64, :64] if hole[:64, :64].any() else np.pad(np.ones((8, 8), bool), 28))  # warm-up
    start = time.perf_counter()
    glcic.complete(model, photo, hole, native=True)
    seconds = time.perf_counter() - start
    print(json.dumps({"size": size, "seconds": seconds, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos", type=Path, nargs="*")
    parser.add_argument("--holes", type=int, default=4, help="seeded holes per photo")
    parser.add_argument("--json", type=Path, help="also write all rows to this file")
    parser.add_argument("--precision", default="auto", help="of the model (auto: bf16 where the CPU has bf16 instructions)")
    parser.add_argument("--native-child", choices=["huge", "crop"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.native_child:
        native_child(args.native_child)
        return 0

    import glcic

    model = glcic.load_model(precision=args.precision)
    print(f"precision {model.precision}")
    rows = compare(model, args.photos, args.holes) if args.photos else []
    print(f"{len(args.photos)} photos at 2560x1600, {args.holes} holes each (150-250 px rectangles and blobs)\n")
    print("| method | hole L1 x100 | hole PSNR dB | seconds | x Telea's time |")
    print("|---|---|---|---|---|")
    telea = statistics.mean(r["seconds"] for r in rows if r["method"] == "telea") if rows else 1
    for method in dict.fromkeys(r["method"] for r in rows):
        chosen = [r for r in rows if r["method"] == method]
        seconds = statistics.mean(r["seconds"] for r in chosen)
        print(f"| {method} | {statistics.mean(r['hole_l1'] for r in chosen):.3f} | {statistics.mean(r['hole_psnr'] for r in chosen):.2f} "
              f"| {seconds:.3f} | {seconds / telea:.2f} |")
    native = {}
    for size in ("crop", "huge"):
        output = subprocess.run([sys.executable, __file__, "--native-child", size], capture_output=True, text=True, check=True).stdout
        native[size] = json.loads(output.strip().splitlines()[-1])
    print(f"\nnative, 100 px hole: 4096x2560 {native['huge']['seconds']:.3f} s, peak {native['huge']['peak_mib']:.0f} MiB; "
          f"640x640 {native['crop']['seconds']:.3f} s, peak {native['crop']['peak_mib']:.0f} MiB; "
          f"time ratio {native['huge']['seconds'] / native['crop']['seconds']:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "native": native}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
