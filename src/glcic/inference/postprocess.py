"""The paper's post-processing (section 3.3): fast marching (Telea 2004), then Poisson blending
(Perez et al. 2003) of the completed region, to remove colour seams at the hole's edge.

For each connected blending region (the hole grown by `margin` px; holes whose grown regions touch
are blended together):

1. the destination is the input with the hole filled by Telea's fast marching method;
2. the source is the network's raw output, whose gradients are continuous across the hole's edge;
3. OpenCV's `seamlessClone` solves the Poisson equation over the region, in a window cut around it,
   with the clone placed exactly where it was cut from (OpenCV centres an even/odd-sized box by
   integer division, so the centre is computed the same way; a naive bounding-box centre shifts the
   patch by a pixel, and one centre for all holes moves every other hole's patch).

Holes touching the image border are mirrored across it before blending (OpenCV zeroes the mask's
outermost pixels and cannot place a patch that leaves the image), which amounts to a zero-gradient
(Neumann) condition at the border instead of a seam. Only the hole and the `margin` px around it
change. The blend runs in 8 bits, as OpenCV needs; the result is applied as a smooth correction to
the full-precision values, so 16-bit images keep their precision.
"""

from __future__ import annotations

import numpy as np

DEFAULT_MARGIN = 4  # px of known pixels around each hole that the blend may adjust
TELEA_RADIUS = 3  # px, neighbourhood of the fast marching method
_OPENCV_EROSION = 3  # seamlessClone erodes its mask by 3 px (3x3 kernel, 3 iterations) internally


def _to_u8(values: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(values, 0.0, 1.0) * 255.0).astype(np.uint8)


def _dilate(mask: np.ndarray, pixels: int) -> np.ndarray:
    import cv2

    if pixels <= 0:
        return mask.copy()
    return cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=pixels).astype(bool)


def blend_region(hole: np.ndarray, margin: int = DEFAULT_MARGIN) -> np.ndarray:
    """Pixels the post-processing may change: the hole grown by `margin` px (square neighbourhood)."""
    return _dilate(hole, margin)


FRAME = 2  # px around each blending window: one that OpenCV zeroes in the mask, one of boundary


Side = tuple[str, int]  # (how: "mirror", "extend" or "frame"; how many pixels)


def _axis_padding(region_occupies: np.ndarray, hole_occupies: np.ndarray, margin: int) -> tuple[Side, Side]:
    """How to pad before and after one axis, from which rows (or columns) the region and hole occupy.

    - "mirror": the hole touches the image's edge. Images and masks are mirrored across it, far enough
      that the mirrored copy stays off the padded edge: a zero-gradient (Neumann) border, no seam.
    - "extend": known pixels lie between the hole and the edge, closer than `margin`. The edge pixels
      are repeated and the region extended over them, so that the blend still has `margin` px of
      known surroundings (OpenCV follows the source's gradients only 3 px inside its mask).
    - "frame": otherwise, a frame of repeated edge pixels and an empty mask.
    """
    index = np.flatnonzero(region_occupies)
    size, first, last = region_occupies.size, int(index[0]), int(index[-1])
    sides = []
    for hole_at_edge, region_at_edge, depth in ((hole_occupies[0], first == 0, last), (hole_occupies[-1], last == size - 1, size - 1 - first)):
        if hole_at_edge and depth + FRAME <= size - 1:
            sides.append(("mirror", depth + FRAME))
        elif region_at_edge:
            sides.append(("extend", margin + FRAME))
        else:
            sides.append(("frame", FRAME))
    return sides[0], sides[1]


def _pad(array: np.ndarray, rows: tuple[Side, Side], cols: tuple[Side, Side], is_mask: bool) -> np.ndarray:
    """Pad an image or mask side by side as `_axis_padding` decided."""
    import cv2

    (top, bottom), (left, right) = rows, cols
    for (how, pixels), side in ((top, (1, 0, 0, 0)), (bottom, (0, 1, 0, 0)), (left, (0, 0, 1, 0)), (right, (0, 0, 0, 1))):
        if how == "mirror":
            array = cv2.copyMakeBorder(array, *(pixels * s for s in side), cv2.BORDER_REFLECT_101)
        elif not is_mask:
            array = cv2.copyMakeBorder(array, *(pixels * s for s in side), cv2.BORDER_REPLICATE)
        else:
            if how == "extend":  # the region goes on over the repeated edge pixels, then a frame of zeros
                array = cv2.copyMakeBorder(array, *((pixels - FRAME) * s for s in side), cv2.BORDER_REPLICATE)
            array = cv2.copyMakeBorder(array, *(FRAME * s for s in side), cv2.BORDER_CONSTANT, value=0)
    return array


def poisson_blend(
    image: np.ndarray, hole: np.ndarray, prediction: np.ndarray, margin: int = DEFAULT_MARGIN
) -> tuple[np.ndarray, np.ndarray]:
    """Blend `prediction` into `image` over each hole.

    image, prediction: (H, W, 3) float32 RGB in [0, 1] (the image's hole pixels are ignored);
    hole: (H, W) bool. Returns the blended (H, W, 3) float32 image and the (H, W) bool region that
    may differ from `image` (the hole grown by `margin`).
    """
    import cv2

    region = blend_region(hole, margin)
    result = np.where(hole[:, :, None], prediction, image).astype(np.float32)
    if not hole.any():
        return result, region
    rows = _axis_padding(region.any(axis=1), hole.any(axis=1), margin)
    cols = _axis_padding(region.any(axis=0), hole.any(axis=0), margin)
    source = _pad(_to_u8(prediction), rows, cols, is_mask=False)  # (H + pads, W + pads, 3)
    filled = cv2.inpaint(_to_u8(result), hole.astype(np.uint8), TELEA_RADIUS, cv2.INPAINT_TELEA)  # fast marching
    destination = _pad(filled, rows, cols, is_mask=False)
    region_padded = _pad(region.astype(np.uint8), rows, cols, is_mask=True)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(region_padded, connectivity=8)
    blended = destination.copy()
    for label in range(1, count):
        left, top, width, height = (int(v) for v in stats[label, :4])
        window = (slice(top - 1, top + height + 1), slice(left - 1, left + width + 1))  # 1 px frame
        component = (labels[window] == label).astype(np.uint8) * 255
        inside = component > 0
        center = (1 + width // 2, 1 + height // 2)  # places OpenCV's box exactly at its source position
        # seamlessClone erodes the mask it is given in place: hand it a copy.
        clone = cv2.seamlessClone(
            np.ascontiguousarray(source[window]), np.ascontiguousarray(destination[window]), component.copy(), center, cv2.NORMAL_CLONE
        )
        blended[window][inside] = clone[inside]
    top, left = rows[0][1], cols[0][1]
    blended = blended[top : top + hole.shape[0], left : left + hole.shape[1]]
    # Apply the blend as a correction to full-precision values: inside the (eroded) clone mask the
    # solution follows the prediction's gradients, outside it the image's.
    follows_prediction = cv2.erode(
        region.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=_OPENCV_EROSION
    ).astype(bool) | hole
    base = np.where(follows_prediction[:, :, None], prediction, result)
    corrected = base + (blended.astype(np.float32) - _to_u8(base).astype(np.float32)) / 255.0
    result[region] = np.clip(corrected[region], 0.0, 1.0)
    return result, region
