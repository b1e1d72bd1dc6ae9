"""Which mask goes with which image, and where each completion is written: the rules of
`glcic complete IMAGE --mask MASK -o OUTPUT`, for Python callers too.

- A file and a file: OUTPUT is a file, or with a trailing slash (or an existing folder) the image's
  name inside that folder.
- A folder and a folder: masks are matched to images by name, NAME.EXT in the mask folder or, the
  authors' naming, NAME_mask.EXT (in a folder shared with the images only NAME_mask files are masks);
  OUTPUT is a folder, and each image is written under its own name (or with `suffix`).
Every check runs before any work: a missing folder, an output that is an input, two images that
would be written to one file.
"""

from __future__ import annotations

import os
from pathlib import Path

from glcic.errors import GlcicError
from glcic.image_io import check_output_path, list_images

MASK_SUFFIX = "_mask"  # the authors' naming: NAME_mask.EXT beside NAME.EXT


def file_output(image: Path, mask: Path, output: str | os.PathLike, suffix: str | None = None) -> Path:
    """The file one image's completion is written to (checked with `check_output_path`)."""
    if mask.is_dir():
        raise GlcicError(f"IMAGE is a file, so --mask must be a file too, not the folder {mask}")
    into_folder = str(output).endswith(("/", "\\"))
    output = Path(output)
    if output.is_dir() or into_folder:  # DIR/: into that folder, under the image's name
        if not output.is_dir():
            raise GlcicError(f"output folder does not exist: {output}")
        output = output / (image.stem + (suffix or image.suffix))
    return check_output_path(output, inputs=(image, mask))


def pair_folders(images: Path, masks: Path) -> list[tuple[Path, Path]]:
    """(image, mask) pairs of two folders; files ending in _mask are never taken as images."""
    if not masks.is_dir():
        raise GlcicError(f"IMAGE is a folder, so --mask must be a folder too: {masks}")
    same_folder = images.resolve() == masks.resolve()
    image_files = [p for p in list_images(images) if not p.stem.endswith(MASK_SUFFIX)]
    if not image_files:
        raise GlcicError(f"no images in {images}")
    by_stem: dict[str, Path] = {}
    for mask in list_images(masks):
        if mask.stem.endswith(MASK_SUFFIX):
            stem = mask.stem[: -len(MASK_SUFFIX)]
        elif same_folder:
            continue  # in a shared folder only NAME_mask files are masks
        else:
            stem = mask.stem
        if stem in by_stem:
            raise GlcicError(f"two masks for the name {stem!r}: {by_stem[stem].name} and {mask.name}")
        by_stem[stem] = mask
    unmatched = [image.name for image in image_files if image.stem not in by_stem]
    if unmatched:
        raise GlcicError(f"no mask in {masks} for {len(unmatched)} image(s): {', '.join(unmatched[:10])}")
    return [(image, by_stem[image.stem]) for image in image_files]


def folder_outputs(pairs: list[tuple[Path, Path]], inputs: tuple[Path, Path], output: Path,
                   suffix: str | None = None) -> list[Path]:
    """The file each pair's completion is written to in the folder `output` (not made here)."""
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise GlcicError(f"IMAGE is a folder, so -o must be a folder, but {output} is a file")
    for source in inputs:
        if output.exists() and output.resolve() == Path(source).resolve():
            raise GlcicError(f"output folder {output} is an input folder; choose another")
    if not output.parent.is_dir():
        raise GlcicError(f"output folder's parent does not exist: {output.parent}")
    targets, names = [], {}
    for image, _ in pairs:  # x.png and x.jpg with --suffix .png would write one file twice
        name = image.stem + (suffix or image.suffix)
        if name.lower() in names:
            raise GlcicError(f"{names[name.lower()]} and {image.name} would both be written to {output / name}; "
                             "rename one, or drop --suffix")
        names[name.lower()] = image.name
        targets.append(output / name)
    return targets
