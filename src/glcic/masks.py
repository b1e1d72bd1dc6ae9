"""Hole samplers (section 3.4) and the local discriminator's patch box (section 3.2).

A hole sampler draws a boolean hole mask (True = pixel to complete) for an image size from a
`numpy.random.Generator` that the caller passes in; the same generator state gives the same mask and
no global random state is touched. Samplers are a small registry:

- `rectangle`: the paper's training holes, width and height drawn independently in [hole_min, hole_max];
- `square`: the published toolbox protocol's holes: sides in [108, 128], at least 20 px from the border;
- `center`: the centre-square task of section 4.1.2 (a 64 px square in 128 px images by default);
- `free_form`: brush strokes, the kind of hole a user paints over an object;
- `blob`: an object-like filled outline (a jittered polygon), the shape of a thing to remove;
- `mixed`: rectangles, strokes and blobs drawn in turn, what the bundled model trains on.

Every sampler is built from the same two numbers, `hole_min` and `hole_max` (px): the side range of
rectangles and blobs, the centre square's side (`hole_max`), the brush range of strokes. Without
them each falls back to its own default (strokes then scale with the image).

`local_patch_box` gives the fixed-size box of the local discriminator, centred on a hole and clamped
inside the image; `pixel_patch_box` centres it on one hole pixel drawn at random instead when the
hole does not fit in it, so that a hole larger than the box (a long stroke, two blobs far apart) is
judged part by part over the iterations rather than only around its bounding box's centre.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np

from glcic.config import check_hole_range
from glcic.utils import Registry


class Box(NamedTuple):
    top: int
    left: int
    height: int
    width: int

    def slices(self) -> tuple[slice, slice]:
        return slice(self.top, self.top + self.height), slice(self.left, self.left + self.width)

    def grown(self, margin: int, height: int, width: int) -> "Box":
        """The box with `margin` px more on every side, clipped to a `height` x `width` image."""
        top, left = max(0, self.top - margin), max(0, self.left - margin)
        bottom, right = min(height, self.top + self.height + margin), min(width, self.left + self.width + margin)
        return Box(top, left, bottom - top, right - left)


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


def _fill_range(sampler, default_min: int, default_max: int) -> None:
    """Set a frozen sampler's missing hole_min / hole_max to its defaults, then check the range."""
    if sampler.hole_min is None:
        object.__setattr__(sampler, "hole_min", default_min)
    if sampler.hole_max is None:
        object.__setattr__(sampler, "hole_max", default_max)
    check_hole_range(sampler.hole_min, sampler.hole_max)




def _check_image_size(height: int, width: int, needed: int, what: str) -> None:
    if height < needed or width < needed:
        raise ValueError(f"{what} needs an image of at least {needed}x{needed} px, got {height}x{width}")


@register_hole_sampler("rectangle")
@dataclass(frozen=True)
class RectangleHoles:
    """One axis-aligned rectangle; width and height drawn independently in [hole_min, hole_max], at
    least `margin` px from every border."""

    hole_min: int | None = 96
    hole_max: int | None = 128
    margin: int = 0

    def __post_init__(self):
        _fill_range(self, 96, 128)
        if not (isinstance(self.margin, int) and self.margin >= 0):
            raise ValueError(f"margin must be an integer >= 0, got {self.margin!r}")

    def __call__(self, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
        needed = self.hole_max + 2 * self.margin
        _check_image_size(height, width, needed, f"rectangle holes up to {self.hole_max} px, {self.margin} px from the border,")
        hole_height, hole_width = (int(v) for v in rng.integers(self.hole_min, self.hole_max + 1, size=2))
        top = int(rng.integers(self.margin, height - self.margin - hole_height + 1))
        left = int(rng.integers(self.margin, width - self.margin - hole_width + 1))
        return _box_mask(height, width, Box(top, left, hole_height, hole_width))


@register_hole_sampler("square")
@dataclass(frozen=True)
class SquareHoles(RectangleHoles):
    """The published toolbox protocol's holes: a rectangle with sides in [108, 128], 20 px from the border."""

    hole_min: int | None = 108
    hole_max: int | None = 128
    margin: int = 20

    def __post_init__(self):
        _fill_range(self, 108, 128)
        super().__post_init__()


@register_hole_sampler("center")
@dataclass(frozen=True)
class CenterHole:
    """The centre square of section 4.1.2, of side `hole_max`; None means half the shorter side (64 in 128)."""

    hole_min: int | None = None  # unused: the square has one size
    hole_max: int | None = None

    def __call__(self, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
        size = min(height, width) // 2 if self.hole_max is None else self.hole_max
        _check_image_size(height, width, max(size, 1), f"a {size} px centre hole")
        return _box_mask(height, width, Box((height - size) // 2, (width - size) // 2, size, size))


@register_hole_sampler("free_form")
@dataclass(frozen=True)
class FreeFormHoles:
    """Brush strokes: polylines of random direction changes, drawn with a round brush.

    Segment lengths are fractions of the shorter image side. Brush diameters are fractions of it
    too (`brush_range`), so the holes look alike at any resolution, unless `hole_max` is given: then
    the brush is drawn (log-uniformly) from hole_max / 12 to hole_max / 2 px, thin lines to wide
    swathes, the widths people paint with.
    """

    hole_min: int | None = None  # unused; see hole_max
    hole_max: int | None = None
    max_strokes: int = 4
    max_vertices: int = 10
    max_segment: float = 0.2  # longest segment, fraction of the shorter side
    brush_range: tuple[float, float] = (0.03, 0.09)  # brush diameter, fraction of the shorter side

    def _brush(self, side: int, rng: np.random.Generator) -> int:
        if self.hole_max is None:
            return max(1, round(side * rng.uniform(*self.brush_range)))
        low, high = max(2.0, self.hole_max / 12), max(2.0, self.hole_max / 2)
        return max(1, round(math.exp(rng.uniform(math.log(low), math.log(high)))))

    def __call__(self, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
        import cv2

        _check_image_size(height, width, 8, "free-form holes")
        side = min(height, width)
        mask = np.zeros((height, width), dtype=np.uint8)
        for _ in range(int(rng.integers(1, self.max_strokes + 1))):
            brush = self._brush(side, rng)
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


@register_hole_sampler("blob")
@dataclass(frozen=True)
class BlobHoles:
    """An object-like hole: a polygon of 8-20 vertices at jittered radii around a centre, its extent
    drawn in [hole_min, hole_max] along each axis, slightly rotated; one to `max_parts` of them."""

    hole_min: int | None = 48
    hole_max: int | None = 96
    max_parts: int = 2

    def __post_init__(self):
        _fill_range(self, 48, 96)

    def __call__(self, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
        import cv2

        _check_image_size(height, width, self.hole_max, f"blob holes up to {self.hole_max} px")
        mask = np.zeros((height, width), dtype=np.uint8)
        for _ in range(int(rng.integers(1, self.max_parts + 1))):
            radius_y, radius_x = (rng.integers(self.hole_min, self.hole_max + 1, size=2) - 1) / 2
            center_y = rng.uniform(radius_y, height - 1 - radius_y)
            center_x = rng.uniform(radius_x, width - 1 - radius_x)
            count = int(rng.integers(8, 21))
            angles = np.sort(rng.uniform(0, 2 * math.pi, count))
            jitter = rng.uniform(0.6, 1.0, count)  # (count,): how far each vertex reaches out
            tilt = rng.uniform(-0.3, 0.3)
            ys = center_y + radius_y * jitter * np.sin(angles + tilt)
            xs = center_x + radius_x * jitter * np.cos(angles + tilt)
            points = np.stack([np.clip(xs, 0, width - 1), np.clip(ys, 0, height - 1)], axis=1)  # (count, 2): x, y
            cv2.fillPoly(mask, [np.rint(points).astype(np.int32)], 1)
        return mask.astype(bool)


def mixed_weights(stroke_share: float) -> tuple[float, float, float]:
    """`MixedHoles.weights` with strokes at `stroke_share` and the rest split 7:5 between rectangles
    and blobs, as in the default (0.4 gives 0.35 / 0.4 / 0.25)."""
    rest = 1.0 - stroke_share
    return (rest * 7 / 12, stroke_share, rest * 5 / 12)


@register_hole_sampler("mixed")
@dataclass(frozen=True)
class MixedHoles:
    """What people paint: a rectangle (the paper's holes), brush strokes or an object-like blob,
    chosen with probabilities `weights`, all sized from the same [hole_min, hole_max]."""

    hole_min: int | None = 32
    hole_max: int | None = 96
    weights: tuple[float, float, float] = (0.35, 0.4, 0.25)  # rectangle, free_form, blob

    def __post_init__(self):
        _fill_range(self, 32, 96)

    def __call__(self, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
        samplers = [RectangleHoles(self.hole_min, self.hole_max), FreeFormHoles(self.hole_min, self.hole_max),
                    BlobHoles(self.hole_min, self.hole_max)]
        choice = int(rng.choice(len(samplers), p=np.asarray(self.weights) / sum(self.weights)))
        return samplers[choice](height, width, rng)


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


def pixel_patch_box(mask: np.ndarray, size: int, rng: np.random.Generator) -> Box:
    """The local box for a (H, W) mask that a `size` x `size` box may not cover: centred on the hole
    (`local_patch_box`) when the hole's bounding box fits in it, else centred on one hole pixel drawn
    uniformly (shifted as little as needed to lie inside the image), so that every part of a hole
    larger than the box is judged in turn. Draws from `rng` only in the second case."""
    height, width = mask.shape
    box = hole_box(mask)
    if box.height <= size and box.width <= size:
        return local_patch_box(box, size, height, width)
    pixels = np.flatnonzero(mask)
    row, col = divmod(int(pixels[rng.integers(pixels.size)]), width)
    return local_patch_box(Box(row, col, 1, 1), size, height, width)


def random_patch_box(size: int, height: int, width: int, rng: np.random.Generator) -> Box:
    """A uniformly placed `size` x `size` box: the local patch of a real image (the paper's M_d)."""
    _check_image_size(height, width, size, f"a {size} px local patch")
    return Box(int(rng.integers(0, height - size + 1)), int(rng.integers(0, width - size + 1)), size, size)
