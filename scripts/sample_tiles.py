"""Side by side, completions cut from training runs' sample sheets (RUN/samples/iteration_N.png),
each labelled, at 100 %: how the joint phase's fills look along runs and across settings.

    python scripts/sample_tiles.py -o docs/adversarial_samples.png --rows 0 1 \\
        "v4=RUN_A/samples/iteration_0000250.png" "joint 500=RUN_A/samples/iteration_0000750.png"

Each sheet has one row per validation image: input with the hole | completion | original. `--rows`
picks the rows; the completion column is shown for each sheet, the input and original once (from
the first sheet) — so give sheets of runs with the same seed (the same images and holes).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def main() -> int:
    import cv2

    from glcic.image_io import read_image, write_image

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sheets", nargs="+", help="LABEL=PATH of a sample sheet")
    parser.add_argument("--rows", type=int, nargs="+", default=[0])
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args()
    labelled = [item.split("=", 1) for item in args.sheets]
    first = read_image(labelled[0][1])
    side = first.shape[1] // 3
    columns = [("input", first, 0)] + [(label, read_image(path), 1) for label, path in labelled] + [("original", first, 2)]
    header = np.full((22, side * len(columns), 3), 255, np.uint8)
    for index, (label, _, _) in enumerate(columns):
        cv2.putText(header, label, (index * side + 3, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.36, (0, 0, 0), 1, cv2.LINE_AA)
    rows = [header]
    for row in args.rows:
        tiles = [sheet[row * side:(row + 1) * side, column * side:(column + 1) * side] for _, sheet, column in columns]
        rows.append(np.concatenate(tiles, axis=1))
    write_image(args.output, np.concatenate(rows, axis=0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
