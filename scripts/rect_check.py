"""Rectangles at 100 %, the companion of page_check.py: fixed rectangular holes over smooth and
textured parts of the validation photos (a storm sky, a guard rail, a bokeh background, wood),
completed as `glcic complete` does (deep holes run downscaled, so this is where a model's fine
grain comes back enlarged), cut out side by side with their surroundings: the hole, each model,
the photo.

    python scripts/rect_check.py accurate RUN/snapshots/iteration_0002750.safetensors -o rects.png

A model whose fill on the smooth sky or the blurred background has grain, blots or stripes that
the photo has nowhere fails, whatever its numbers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT / "data" / "photos" / "validation"  # `make photos`
# photo -> (top, left, height, width) of the rectangle, px of the photo at its own size
RECTANGLES = [
    ("Storm.jpg", (150, 300, 90, 120)),  # smooth storm sky above a band of cloud
    ("Storm.jpg", (560, 500, 80, 100)),  # a guard rail's bright bars over a dark verge
    ("LadyBird.jpg", (100, 100, 90, 110)),  # an out-of-focus background, a flower's edge
    ("coffee.jpg", (300, 420, 48, 64)),  # the saucer's rim over wood grain
]
MARGIN = 24  # px of photo around each rectangle


def main() -> int:
    import glcic
    from glcic.image_io import read_image, write_image

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", help="bundled model names or model files")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the sheet (PNG)")
    parser.add_argument("--seed", type=int, default=0, help="the noise of models with noise layers")
    args = parser.parse_args()
    models = [glcic.load_model(name) for name in args.models]
    rows = []
    for name, (top, left, height, width) in RECTANGLES:
        image = read_image(PHOTOS / name)
        hole = np.zeros(image.shape[:2], bool)
        hole[top : top + height, left : left + width] = True
        box = np.s_[top - MARGIN : top + height + MARGIN, left - MARGIN : left + width + MARGIN]
        tiles = [np.where(hole[..., None], 255, image)[box]]
        tiles += [glcic.complete(model, image, hole, seed=args.seed)[box] for model in models]
        tiles.append(image[box])
        rows.append(np.concatenate([np.pad(tile, ((0, 0), (0, 4), (0, 0)), constant_values=255) for tile in tiles], 1))
    width = max(row.shape[1] for row in rows)
    sheet = np.concatenate([np.pad(row, ((0, 4), (0, width - row.shape[1]), (0, 0)), constant_values=255) for row in rows], 0)
    write_image(args.output, sheet)
    print(f"wrote {args.output}: per row the hole, {', '.join(args.models)}, the photo")
    return 0


if __name__ == "__main__":
    sys.exit(main())
