"""The check a user makes in the page, made the same way for every candidate model: fixed brush
strokes over texture in the example photos (rock, foliage, wood grain, grass), completed as
`glcic complete` does, the strokes' surroundings cut out side by side at 100 %, and each fill's
detail ratio, grid index and block index printed (the same metrics as `glcic evaluate`).

    python scripts/page_check.py accurate RUN/snapshots/iteration_0003250.safetensors -o check.png
    python scripts/page_check.py accurate --texture -o check.png    # each model also with --texture

A candidate that adds detail passes only if its grid and block indices stay near the photo's own and the
sheet, looked at, shows no stripes, blocks or casts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# photo -> strokes: a 24 px round brush along each polyline (x, y in px of the 512 x 341 examples)
STROKES = {
    "stream.jpg": [[(292, 196), (340, 226), (404, 214)], [(40, 40), (110, 72)]],  # the rock; the foliage
    "coffee.jpg": [[(400, 120), (470, 200)], [(60, 300), (140, 330)]],  # the table's wood grain
    "summit.jpg": [[(120, 260), (230, 290)]],  # the grass
}
BRUSH = 24
MARGIN = 24  # px of photo around each stroke's box in the sheet


def stroke_mask(shape: tuple[int, int], strokes: list) -> np.ndarray:
    import cv2

    mask = np.zeros(shape, np.uint8)
    for line in strokes:
        cv2.polylines(mask, [np.array(line, np.int32)], False, 255, BRUSH)
    return mask


def main() -> int:
    import cv2

    import glcic
    from glcic.evaluation.metrics import blocks, detail, grid
    from glcic.image_io import read_image, write_image

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", help="bundled model names or model files")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the sheet (.png)")
    parser.add_argument("--texture", action="store_true", help="each model also with texture synthesis (glcic complete --texture)")
    args = parser.parse_args()
    loaded = [glcic.load_model(name) for name in args.models]
    models = [(model, False) for model in loaded] + ([(model, True) for model in loaded] if args.texture else [])
    names = list(args.models) + ([f"{name} --texture" for name in args.models] if args.texture else [])
    rows = []
    print("photo, stroke | " + " | ".join(f"{Path(name).stem}: detail / grid / blocks" for name in names) + " | photo's grid / blocks")
    for photo, strokes in STROKES.items():
        image = read_image(ROOT / "examples" / "images" / photo)
        for index, stroke in enumerate(strokes):
            mask = stroke_mask(image.shape[:2], [stroke])
            hole = mask > 0
            fills = [np.asarray(glcic.complete(model, image, mask, texture=texture)) for model, texture in models]
            ys, xs = np.nonzero(hole)
            top, left = max(0, ys.min() - MARGIN), max(0, xs.min() - MARGIN)
            bottom, right = min(image.shape[0], ys.max() + MARGIN), min(image.shape[1], xs.max() + MARGIN)
            shown = image.copy()
            shown[hole] = 255
            tiles = [shown] + fills + [image]
            row = np.concatenate([np.pad(t[top:bottom, left:right], ((2, 2), (2, 2), (0, 0)), constant_values=255) for t in tiles], axis=1)
            rows.append(row)
            cells = " | ".join(f"{detail(image, fill, hole):.3f} / {grid(image, fill, hole):.3f} / {blocks(image, fill, hole):.3f}" for fill in fills)
            print(f"{photo}, {index} | {cells} | {grid(image, image, hole):.3f} / {blocks(image, image, hole):.3f}")
    width = max(r.shape[1] for r in rows)
    sheet = np.concatenate([np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows], axis=0)
    write_image(args.output, sheet)
    print(f"wrote {args.output}: per row the stroke, then " + ", ".join(names) + ", then the photo", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
