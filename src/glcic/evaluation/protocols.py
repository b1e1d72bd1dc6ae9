"""Mask protocols and fixed mask sets: the same holes for every method, every run, every tool.

A protocol fixes the image size and how holes are drawn:

- `paper`: 256x256, one rectangle with sides drawn independently in [96, 128] (section 3.4);
- `square`: the protocol another toolbox published numbers for (256x256, square-ish holes with
  sides in [108, 128], at least 20 px from the border; hole L1 x100, PSNR and SSIM of the whole
  composite, no post-processing);
- `center`: 128x128 with the 64x64 centre missing (section 4.1.2);
- `free_form`: 256x256 brush strokes (glcic.masks.FreeFormHoles);
- `large`: photos at full resolution (at least 1600 px on the long side), one rectangle or
  object-like blob of 64-256 px: what completion does on real photos, hole-centred windows included.

A mask set is made once from a seed: image i's hole comes from `numpy.random.default_rng([seed, i])`,
so the same seed gives the same holes and another seed other holes. It is saved next to the results
as PNG masks (white = hole, the format `glcic complete` reads) plus `maskset.json`, and
`glcic evaluate --masks DIR` reuses it exactly.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from glcic.errors import GlcicError
from glcic.masks import make_hole_sampler
from glcic.utils import Registry

MASKSET_FILE = "maskset.json"


@dataclass(frozen=True)
class Protocol:
    name: str
    image_size: int | None  # images are resized (short side) and centre-cropped to this square; None: full resolution
    draw: Callable[[np.random.Generator, int, int], np.ndarray]  # (rng, height, width) -> (H, W) bool hole
    description: str
    min_long_side: int = 0  # full-resolution protocols: smaller images are not used


_PROTOCOLS = Registry("mask protocol")


def register_protocol(protocol: Protocol) -> Protocol:
    return _PROTOCOLS.register(protocol.name, protocol)


def list_protocols() -> list[str]:
    return _PROTOCOLS.names()


def get_protocol(name: str) -> Protocol:
    return _PROTOCOLS.choose(name)


register_protocol(Protocol("paper", 256, lambda rng, h, w: make_hole_sampler("rectangle", hole_min=96, hole_max=128)(h, w, rng),
                           "256x256, one rectangle, sides in [96, 128] (the paper's training holes)"))
register_protocol(Protocol("square", 256, lambda rng, h, w: make_hole_sampler("square")(h, w, rng),
                           "256x256, square-ish hole, sides in [108, 128], >= 20 px from the border (published toolbox protocol)"))
register_protocol(Protocol("center", 128, lambda rng, h, w: make_hole_sampler("center", hole_max=64)(h, w, rng),
                           "128x128, the 64x64 centre square (section 4.1.2)"))
register_protocol(Protocol("free_form", 256, lambda rng, h, w: make_hole_sampler("free_form")(h, w, rng),
                           "256x256, brush strokes"))
def _large_holes(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    kind = "rectangle" if rng.random() < 0.5 else "blob"
    options = {"max_parts": 1} if kind == "blob" else {}
    return make_hole_sampler(kind, hole_min=64, hole_max=256, **options)(height, width, rng)


register_protocol(Protocol("large", None, _large_holes,
                           "full-resolution photos (long side >= 1600 px), one rectangle or blob of 64-256 px", min_long_side=1600))


def make_mask_set(protocol: Protocol, shapes: list[tuple[int, int]], seed: int) -> list[np.ndarray]:
    """One hole of `protocol` per image shape (H, W), hole i drawn from default_rng([seed, i])."""
    return [protocol.draw(np.random.default_rng([seed, index]), *shape) for index, shape in enumerate(shapes)]


def save_mask_set(folder: str | os.PathLike, protocol: Protocol, seed: int, names: list[str], holes: list[np.ndarray],
                  per_image: int = 1) -> None:
    from glcic.image_io import write_image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for index, (name, hole) in enumerate(zip(names, holes)):
        mask_name = f"{index:04d}_{Path(name.replace('#', '_')).stem}.png"
        write_image(folder / mask_name, hole.astype(np.uint8) * 255)
        entries.append({"image": name, "mask": mask_name})
    manifest = {"protocol": protocol.name, "image_size": protocol.image_size, "seed": seed, "per_image": per_image, "masks": entries}
    (folder / MASKSET_FILE).write_text(json.dumps(manifest, indent=2) + "\n")


def load_mask_set(folder: str | os.PathLike) -> tuple[dict, list[np.ndarray]]:
    """The manifest and holes of a saved mask set."""
    from glcic.image_io import read_image

    folder = Path(folder)
    path = folder / MASKSET_FILE
    if not path.is_file():
        raise GlcicError(f"{folder} is not a saved mask set (no {MASKSET_FILE})")
    try:
        manifest = json.loads(path.read_text())
    except (ValueError, RecursionError, OSError) as error:
        raise GlcicError(f"{path} is not a valid mask-set file: {error}") from None
    _check_manifest(manifest, path)
    holes = [read_image(folder / entry["mask"], what="mask") > 127 for entry in manifest["masks"]]
    return manifest, [hole if hole.ndim == 2 else hole[..., 0] for hole in holes]


def _check_manifest(manifest, path: Path) -> None:
    """A mask-set file must name a known protocol, an integer seed and masks inside its own folder."""
    def bad(problem: str):
        raise GlcicError(f"{path} is not a valid mask-set file: {problem}")

    if not isinstance(manifest, dict):
        bad("expected a JSON object")
    if manifest.get("protocol") not in list_protocols():
        bad(f"unknown protocol {manifest.get('protocol')!r}; known: {list_protocols()}")
    for key in ("seed", "per_image"):
        value = manifest.get(key, 1)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            bad(f"{key} must be a non-negative integer, got {value!r}")
    masks = manifest.get("masks")
    if not isinstance(masks, list) or not masks:
        bad("'masks' must be a non-empty list")
    for entry in masks:
        if not (isinstance(entry, dict) and isinstance(entry.get("image"), str) and isinstance(entry.get("mask"), str)):
            bad(f"each entry needs an 'image' and a 'mask' name, got {entry!r}")
        mask = Path(entry["mask"])
        if mask.is_absolute() or len(mask.parts) != 1 or mask.name in ("", ".", ".."):
            bad(f"mask {entry['mask']!r} is not a file name inside the mask-set folder")
