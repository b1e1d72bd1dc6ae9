"""Pack the training and validation photos small enough to travel to a lent GPU machine (64 MiB
for the whole working tree): each photo's short side brought down to at most 384 px (the cpu
preset's crops are 128 px from a resize to [128, 448], so the largest scale loses a little) and
stored as JPEG quality 90, under the same split folders.

    python scripts/pack_photos.py data/photos data/device-photos      # `make device-photos`
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SPLITS = ("train", "validation")
SHORT_SIDE = 384


def main() -> int:
    import cv2

    from glcic.image_io import list_images, read_image, write_image

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos", type=Path, help="the photo set of `make photos`")
    parser.add_argument("output", type=Path, help="new folder")
    parser.add_argument("--short-side", type=int, default=SHORT_SIDE)
    args = parser.parse_args()
    if args.output.exists():
        print(f"pack_photos: {args.output} exists; remove it first", file=sys.stderr)
        return 1
    total, count = 0, 0
    for split in SPLITS:
        folder = args.output / split
        folder.mkdir(parents=True)
        for path in list_images(args.photos / split):
            image = read_image(path)  # RGB uint8
            scale = min(1.0, args.short_side / min(image.shape[:2]))
            if scale < 1:
                image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            target = folder / (path.stem + ".jpg")
            write_image(target, image, quality=90)
            total += target.stat().st_size
            count += 1
    print(f"wrote {count} photos to {args.output} ({total / 2**20:.1f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
