"""Hole samplers (section 3.4) and the local discriminator's patch box (section 3.2).

A hole sampler draws a boolean hole mask (True = pixel to complete) for an image size from a
`numpy.random.Generator` that the caller passes in; the same generator state gives the same mask and
no global random state is touched. Samplers are a small registry:

- `rectangle`: the paper's training holes, width and height drawn independently in [hole_min, hole_max];
- `center`: the centre-square task of section 4.1.2 (a 64 px square in 128 px images by default);
- `free_form`: brush strokes, the kind of hole a user paints over an object.

`local_patch_box` gives the fixed-size box of the local discriminator, centred on a hole and clamped
inside the image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np

from glcic.utils import Registry


class Box(NamedTuple):
    top: int
    left: int
    height: int
    width: int

    def slices(self) -> tuple[slice, slice]:
        return slice(self.top, self.top + self.height), slice(self.left, self.left + self.width)


HoleSampler = Callable[[int, int, np.random.Generator], np.ndarray]
_HOLE_SAMPLERS = Registry("hole sampler")


def register_hole_sampler(name: str):
    def decorate(cls):
        cls.name = name
        return _HOLE_SAMPLERS.register(name, cls)

    return decorate


def list_hole_samplers() -> list[str]:
    return sorted(_HOLE_SAMPLERS)


def make_hole_sampler(name: str, **params) -> HoleSampler:
    """The sampler registered as `name`, configured with `params` (see each class for its fields)."""
    return _HOLE_SAMPLERS.choose(name)(**params)


def _box_mask(height: int, width: int, box: Box) -> np.ndarray:
    mask = np.zeros((height, width), dtype=bool)
    mask[box.slices()] = True
    return mask


def _check_image_size(height: int, width: int, needed: int, what: str) -> None:
    if height < needed or width < needed:
        raise ValueError(f"{what} needs an image of at least {needed}x{needed} px, got {height}x{width}")


@register_hole_sampler("rectangle")
@dataclass(frozen=True)
class RectangleHoles:
    """One axis-aligned rectangle; width and height drawn independently in [hole_min, hole_max]."""

    hole_min: int = 96
    hole_max: int = 128

    def __post_init__(self):
        if not 0 < self.hole_min <= self.hole_max:
            raise ValueError(f"need 0 < hole_min <= hole_max, got {self.hole_min}, {self.hole_max}")

    def __call__(self, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
        _check_image_size(height, width, self.hole_max, f"rectangle holes up to {self.hole_max} px")
        hole_height, hole_width = (int(v) for v in rng.integers(self.hole_min, self.hole_max + 1, size=2))
        top = int(rng.integers(0, height - hole_height + 1))
        left = int(rng.integers(0, width - hole_width + 1))
        return _box_mask(height, width, Box(top, left, hole_height, hole_width))


@register_hole_sampler("center")
@dataclass(frozen=True)
class CenterHole:
    """The centre square of section 4.1.2; `hole_size` None means half the shorter side (64 in 128)."""

    hole_size: int | None = None

    def __call__(self, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
        size = min(height, width) // 2 if self.hole_size is None else self.hole_size
        _check_image_size(height, width, max(size, 1), f"a {size} px centre hole")
        return _box_mask(height, width, Box((height - size) // 2, (width - size) // 2, size, size))


@register_hole_sampler("free_form")
@dataclass(frozen=True)
class FreeFormHoles:
    """Brush strokes: polylines of random direction changes, drawn with a round brush.

    Lengths and brush widths are fractions of the shorter image side, so the holes look alike at
    any resolution.
    """

    max_strokes: int = 4
    max_vertices: int = 10
    max_segment: float = 0.2  # longest segment, fraction of the shorter side
    brush_range: tuple[float, float] = (0.03, 0.09)  # brush diameter, fraction of the shorter side

    def __call__(self, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
        import cv2

        _check_image_size(height, width, 8, "free-form holes")
        side = min(height, width)
        mask = np.zeros((height, width), dtype=np.uint8)
        for _ in range(int(rng.integers(1, self.max_strokes + 1))):
            brush = max(1, round(side * rng.uniform(*self.brush_range)))
            y, x = float(rng.uniform(0, height)), float(rng.uniform(0, width))
            angle = rng.uniform(0, 2 * math.pi)
            for _ in range(int(rng.integers(1, self.max_vertices + 1))):
                angle += rng.uniform(-math.pi / 3, math.pi / 3)
                length = rng.uniform(0.25, 1.0) * self.max_segment * side
                y2 = float(np.clip(y + length * math.sin(angle), 0, height - 1))
                x2 = float(np.clip(x + length * math.cos(angle), 0, width - 1))
                cv2.line(mask, (round(x), round(y)), (round(x2), round(y2)), 1, thickness=brush, lineType=cv2.LINE_8)
                cv2.circle(mask, (round(x2), round(y2)), brush // 2, 1, thickness=-1)
                y, x = y2, x2
        return mask.astype(bool)


def hole_box(mask: np.ndarray) -> Box:
    """Bounding box of the hole pixels of a (H, W) mask."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        raise ValueError("the mask has no hole pixels")
    return Box(int(rows[0]), int(cols[0]), int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1))


def local_patch_box(hole: Box, size: int, height: int, width: int) -> Box:
    """The `size` x `size` box centred on `hole`, shifted as little as needed to lie inside the image."""
    _check_image_size(height, width, size, f"a {size} px local patch")
    center_y, center_x = hole.top + hole.height / 2, hole.left + hole.width / 2
    top = min(max(round(center_y - size / 2), 0), height - size)
    left = min(max(round(center_x - size / 2), 0), width - size)
    return Box(top, left, size, size)


def random_patch_box(size: int, height: int, width: int, rng: np.random.Generator) -> Box:
    """A uniformly placed `size` x `size` box: the local patch of a real image (the paper's M_d)."""
    _check_image_size(height, width, size, f"a {size} px local patch")
    return Box(int(rng.integers(0, height - size + 1)), int(rng.integers(0, width - size + 1)), size, size)
