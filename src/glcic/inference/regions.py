"""Hole-centred context windows: where, and at what scale, the network runs for each hole.

A photo is not shrunk as a whole. Each connected hole gets a window: its bounding box plus a margin
of context at the scale it runs at, aligned to multiples of 4 from the image origin, clipped to the
image. The margin is `CONTEXT` px (64: about what the training crops give a hole; on big validation
photos as good as the full reach, and 3-4x fewer pixels for a deep hole), or with `native` the
network's whole reach (153 px for Table 2, `network_reach`). The scale depends on the hole alone:

- a hole no deeper than the model's working depth (depth: the largest distance from a hole pixel
  to the nearest known pixel; `ModelConfig.hole_max / 4`, half the deepest training holes' depth,
  see `glcic.inference.complete.working_depth`) runs at full resolution;
- a deeper hole runs on a copy of its window brought down until it is that deep (in quarter-octave
  steps, so that holes of similar depth share a scale and a batch). Nothing is ever upscaled for
  the network.

So a scratch on a 6000 px photo keeps every pixel of detail, and a hole covering most of a photo
runs on a shrunk copy of it. With `native`, a window reproduces a run on the whole image inside its
hole exactly (the reach covers everything that can change the hole, and the 4 px alignment keeps
the stride-2 layers' sampling grids). Every window sees every hole pixel inside it as hole; it
completes only its own holes. Windows of one scale that overlap are merged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import chain

import numpy as np

from glcic.masks import Box, hole_box
from glcic.models.completion import SIZE_MULTIPLE

SCALE_STEPS_PER_OCTAVE = 4  # working scales are 2^(-k/4): 1, 0.84, 0.71, 0.59, 0.5, ...
CONTEXT = 64  # px of context around a hole, at its working scale (native: the network's reach)


@dataclass(frozen=True)
class Window:
    box: Box  # at full resolution
    scale: float  # the network runs on the window resized by this factor (<= 1)
    labels: tuple[int, ...]  # the hole components (of `label_holes`) it completes
    inner: bool = False  # touches no side of the image (its holes are the context away from its sides)

    def own_holes(self, labels: np.ndarray) -> np.ndarray:
        """(box height, box width) bool: the pixels of the holes this window completes."""
        return np.isin(labels[self.box.slices()], self.labels)


@dataclass(frozen=True)
class Plan:
    """Where completion works: `union`, the box (image coordinates) that holds every window; the
    windows, with boxes relative to it; the hole components' labels over it."""

    union: Box
    windows: list[Window]
    labels: np.ndarray


def plan_completion(hole: np.ndarray, working_depth: float | None, reach: int, native: bool = False,
                    max_side: int | None = None) -> Plan:
    """`plan_windows` for a whole image's `hole`, planned on the holes' bounding box (plus one known
    pixel) and confined to the union of the windows: a small hole in a huge photo never labels,
    converts or copies the whole photo."""
    height, width = hole.shape
    crop = hole_box(hole).grown(1, height, width)
    windows, labels = plan_windows(hole[crop.slices()], working_depth, reach, native, max_side,
                                   origin=(crop.top, crop.left), image_shape=(height, width))
    top, left = min(w.box.top for w in windows), min(w.box.left for w in windows)
    bottom, right = max(w.box.top + w.box.height for w in windows), max(w.box.left + w.box.width for w in windows)
    union = Box(top, left, bottom - top, right - left)
    windows = [Window(Box(w.box.top - top, w.box.left - left, w.box.height, w.box.width), w.scale, w.labels,
                      inner=w.box.top > 0 and w.box.left > 0 and w.box.top + w.box.height < height and w.box.left + w.box.width < width)
               for w in windows]
    union_labels = np.zeros((union.height, union.width), labels.dtype)
    union_labels[crop.top - top : crop.top - top + crop.height, crop.left - left : crop.left - left + crop.width] = labels
    return Plan(union, windows, union_labels)


def label_holes(hole: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """(count, labels (H, W) int32 with 0 = known, stats) of the 8-connected holes."""
    import cv2

    count, labels, stats, _ = cv2.connectedComponentsWithStats(hole.astype(np.uint8), connectivity=8)
    return count, labels, stats


def hole_depths(hole: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
    """(count - 1,) depth of each hole: the largest Euclidean distance (px) from one of its pixels to
    the nearest known pixel. The image border is not a known pixel."""
    import cv2

    distance = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)  # (H, W) float32
    depths = np.zeros(count, dtype=np.float64)
    inside = labels > 0  # over the hole pixels only (a labelled maximum over the whole array sorts all of it)
    np.maximum.at(depths, labels[inside], distance[inside])
    return depths[1:]


def working_scale(depth: float, working_depth: float | None) -> float:
    """1 for holes as deep as `working_depth` or shallower; else the quarter-octave step at or below
    working_depth / depth."""
    if working_depth is None or depth <= working_depth:
        return 1.0
    steps = math.ceil(-SCALE_STEPS_PER_OCTAVE * math.log2(working_depth / depth) - 1e-9)
    return 2.0 ** (-steps / SCALE_STEPS_PER_OCTAVE)


def window_box(top: int, left: int, bottom: int, right: int, margin: int, height: int, width: int) -> Box:
    """[top, bottom) x [left, right) grown by `margin`, aligned to multiples of 4 from the origin, clipped."""
    top = max(0, top - margin) // SIZE_MULTIPLE * SIZE_MULTIPLE
    left = max(0, left - margin) // SIZE_MULTIPLE * SIZE_MULTIPLE
    bottom = min(height, -(-(bottom + margin) // SIZE_MULTIPLE) * SIZE_MULTIPLE)
    right = min(width, -(-(right + margin) // SIZE_MULTIPLE) * SIZE_MULTIPLE)
    return Box(top, left, bottom - top, right - left)


def plan_windows(hole: np.ndarray, working_depth: float | None, reach: int, native: bool = False,
                 max_side: int | None = None, origin: tuple[int, int] = (0, 0),
                 image_shape: tuple[int, int] | None = None) -> tuple[list[Window], np.ndarray]:
    """The windows that complete `hole` (H, W) bool, and the (H, W) component labels they refer to.

    native: every hole at full resolution, with the network's whole `reach` around it (else CONTEXT
    px, or the reach if smaller). max_side: no window runs larger than this on its longer side.
    `hole` may be a crop of a larger image (of `image_shape`) at `origin` (top, left), holding all of
    its holes and one known pixel around them: boxes are then in the image's coordinates, and the
    labels are the crop's.
    """
    height, width = image_shape or hole.shape
    count, labels, stats = label_holes(hole)
    depths = hole_depths(hole, labels, count)
    extents = {}  # label -> (top, left, bottom, right), in image coordinates
    for label in range(1, count):
        left, top, w, h = (int(v) for v in stats[label, :4])
        top, left = top + origin[0], left + origin[1]
        extents[label] = (top, left, top + h, left + w)
    margin = reach if native else min(reach, CONTEXT)
    windows: list[Window] = []
    for label in range(1, count):
        scale = 1.0 if native else working_scale(float(depths[label - 1]), working_depth)
        windows.append(Window(Box(0, 0, 0, 0), scale, (label,)))
    windows = [_with_box(w, extents, margin, height, width, max_side) for w in windows]
    while True:  # merge windows of one scale whose boxes overlap, until none do
        groups = _overlapping_groups(windows)
        if len(groups) == len(windows):
            break
        windows = [_with_box(Window(windows[g[0]].box, windows[g[0]].scale, tuple(chain.from_iterable(windows[i].labels for i in g))),
                             extents, margin, height, width, max_side) for g in groups]
    return windows, labels


def _overlapping_groups(windows: list[Window]) -> list[list[int]]:
    """The windows (indices, each group in order, groups in the order of their first window) that
    are joined by chains of overlapping boxes of one scale. Boxes start and end on multiples of 4
    (or at the image's bottom and right edges), so two overlap exactly when they share a 4 px cell:
    each box is painted onto a grid of cells in turn and joined to whatever was painted there
    before, which takes time in proportion to the boxes' area, not to the square of their number
    (a mask of a few thousand specks used to take minutes to plan)."""
    parent = list(range(len(windows)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_scale: dict[float, list[int]] = {}
    for index, window in enumerate(windows):
        by_scale.setdefault(window.scale, []).append(index)
    for indices in by_scale.values():
        if len(indices) < 2:
            continue
        rows = -(-max(windows[i].box.top + windows[i].box.height for i in indices) // SIZE_MULTIPLE)
        columns = -(-max(windows[i].box.left + windows[i].box.width for i in indices) // SIZE_MULTIPLE)
        painted = np.full((rows, columns), -1, dtype=np.int64)
        for i in indices:
            box = windows[i].box
            if box.height <= 0 or box.width <= 0:
                continue
            cells = painted[box.top // SIZE_MULTIPLE : -(-(box.top + box.height) // SIZE_MULTIPLE),
                            box.left // SIZE_MULTIPLE : -(-(box.left + box.width) // SIZE_MULTIPLE)]
            for j in np.unique(cells):
                if j >= 0:
                    parent[root(int(j))] = root(i)
            cells[...] = i
    groups: dict[int, list[int]] = {}
    for i in range(len(windows)):
        groups.setdefault(root(i), []).append(i)
    return sorted(groups.values())


def _with_box(window: Window, extents: dict, margin: int, height: int, width: int, max_side: int | None) -> Window:
    top = min(extents[label][0] for label in window.labels)
    left = min(extents[label][1] for label in window.labels)
    bottom = max(extents[label][2] for label in window.labels)
    right = max(extents[label][3] for label in window.labels)
    scale = window.scale
    box = window_box(top, left, bottom, right, math.ceil(margin / scale), height, width)
    if max_side is not None and max(box.height, box.width) * scale > max_side:
        scale = max_side / max(box.height, box.width)
    return Window(box, scale, window.labels)
