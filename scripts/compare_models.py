"""Side-by-side sheets of models on the same photos and masks, at 100 % (no resizing).

    python scripts/compare_models.py -o docs/examples.png --images examples/images --masks examples/masks \\
        --model old=old.safetensors --model new=src/glcic/assets/glcic-accurate.safetensors [--raw] [--texture] [--telea]

One row per photo: the input with the hole in white, each model's completion (and with --raw its
network output without post-processing, with --texture its completion with the photo's texture, seed 0), OpenCV's Telea with --telea, and the original. Titles on top.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def main() -> int:
    import cv2

    import glcic
    from glcic.inference.folders import pair_folders
    from glcic.image_io import read_image, write_image
    from glcic.pixels import hole_from_mask, split_rgb

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--masks", type=Path, required=True)
    parser.add_argument("--model", action="append", required=True, help="NAME=PATH (PATH 'bundled' for the bundled model)")
    parser.add_argument("--raw", action="store_true", help="also each model's raw network output")
    parser.add_argument("--texture", action="store_true", help="also each model's completion with --texture")
    parser.add_argument("--telea", action="store_true", help="also OpenCV's Telea")
    args = parser.parse_args()
    models = {}
    for entry in args.model:
        name, _, path = entry.partition("=")
        models[name] = glcic.load_model(None if path == "bundled" else path)
    rows, titles = [], None
    for image_path, mask_path in pair_folders(args.images, args.masks):
        image = read_image(image_path)[..., :3]
        hole = hole_from_mask(read_image(mask_path, what="mask"))
        shown = image.copy()
        shown[hole] = 255
        columns, names = [shown], ["input"]
        for name, model in models.items():
            columns.append(glcic.complete(model, image, hole))
            names.append(name)
            if args.raw:
                columns.append(glcic.complete(model, image, hole, postprocess=False))
                names.append(f"{name} raw")
            if args.texture:
                columns.append(glcic.complete(model, image, hole, texture=True, seed=0))
                names.append(f"{name} --texture")
        if args.telea:
            columns.append(cv2.inpaint(image, hole.astype(np.uint8), 5, cv2.INPAINT_TELEA))
            names.append("telea")
        columns.append(image)
        names.append("original")
        rows.append(np.concatenate(columns, axis=1))
        titles = titles or (names, image.shape[1])
    width = max(row.shape[1] for row in rows)
    rows = [np.pad(row, ((0, 0), (0, width - row.shape[1]), (0, 0)), constant_values=255) for row in rows]
    header = np.full((30, width, 3), 255, np.uint8)
    names, column_width = titles
    for index, name in enumerate(names):
        cv2.putText(header, name, (index * column_width + 6, 21), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    write_image(args.output, np.concatenate([header, *rows], axis=0))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
