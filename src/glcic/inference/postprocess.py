"""The paper's post-processing (section 3.3): Poisson blending (Perez et al. 2003) of the completed
region into the image, to remove colour seams at the hole's edge.

The Poisson equation is solved inside each hole, with the known pixels around it as the boundary
(Dirichlet) and the network's output as the guidance field: inside the hole the result keeps the
network's gradients, and at its edge it meets the known pixels exactly. Written as a correction r of
the prediction g (result = g + r), r is harmonic in the hole and equals (known - g) on the pixels
just outside it:

    n_p r_p - sum over 4-neighbours q of p inside the hole of r_q = sum over known 4-neighbours q of (f_q - g_q)

with n_p the number of p's neighbours inside the image (a zero-gradient, Neumann, condition at the
image border, so holes touching the border need no special case). One sparse system covers every
hole of a window (it is block diagonal), solved directly with SuperLU (COLAMD ordering) for all three channels; the
work is confined to the holes' bounding box.

The guidance stops at the hole's edge: g on a known pixel next to the hole is taken as the mean of g
on its neighbours inside the hole, not the network's output there. The loss never trains the
network's output on known pixels, and its step across the edge left a faint outline of the hole
in flat areas (measured in docs/diagnosis.md, section 8). A
prediction right up to a constant colour is still recovered (to within the change of its gradients
across the edge, which the tests bound).

Holes of more than `EXACT_PIXELS` pixels are solved on two levels, because a direct solve grows
faster than the hole: r is harmonic, so away from the boundary it is smooth. The system is solved on
a grid coarsened by an integer factor (each coarse pixel's boundary value the mean over its known
pixels), that solution is interpolated back, and what it misses at the boundary (the fine detail of
f - g, which a harmonic function lets die out within a few pixels) is solved exactly in a band of
`BAND` px along the hole's edge. The hole still meets the known pixels exactly; inside, the result
differs from the one-level solve by about 0.1 grey level on average and under 2 at most (the tests
measure it on smooth, textured, rectangular, elliptic and corner holes).

No pixel outside the hole changes, and the paper's fast-marching step is not needed: it only gave
OpenCV's blending (which changes a band of known pixels around the hole) a destination to blend into.
"""

from __future__ import annotations

import math

import numpy as np

from glcic.masks import hole_box

EXACT_PIXELS = 12_000  # holes up to this many pixels are solved in one level
BAND = 16  # px along the edge of a larger hole solved at full resolution after the coarse level


def poisson_blend(image: np.ndarray, hole: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    """`prediction` blended into `image` over `hole`.

    image, prediction: (H, W, C) float RGB in [0, 1] (the image's hole pixels are ignored; the
    prediction is read only in the hole); hole: (H, W) bool.
    Returns (H, W, C) float32, equal to `image` outside the hole.
    """
    result = np.where(hole[:, :, None], prediction, image).astype(np.float32)
    if hole.any():
        result[hole] = blended_hole(image, hole, prediction)
    return result


def blended_hole(image: np.ndarray, hole: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    """The blended values of the hole's pixels, (N, C) float32 in row-major order (as `image[hole]`)."""
    count = int(hole.sum())
    factor = 1 if count <= EXACT_PIXELS else math.ceil(math.sqrt(2 * count / EXACT_PIXELS))
    margin = 1 if factor == 1 else 2 * factor  # known pixels kept around the hole: room for coarse blocks
    box = hole_box(hole).grown(margin, *hole.shape).slices()
    hole, guide = hole[box], prediction[box].astype(np.float64)
    # f - g on the known pixels next to the hole, with g there the mean of g on their neighbours in
    # the hole (no guidance across the edge), 0 elsewhere. The box's own border is known pixels or
    # the image border; a zero-gradient condition there matches the image border's, and known pixels
    # are never unknowns, so cropping changes nothing.
    ring = _ring(hole)
    difference = np.where(ring[:, :, None], image[box].astype(np.float64) - _inside_mean(guide, hole), 0.0)
    correction = _solve(hole, difference) if factor == 1 else _two_level(hole, ring, difference, factor)
    return np.clip(guide[hole] + correction[hole], 0.0, 1.0).astype(np.float32)


def _inside_mean(values: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """(H, W, C): on each pixel, the mean of `values` over its 4-neighbours inside `hole` (0 where none is)."""
    import cv2

    cross = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], np.float64)
    inside = hole.astype(np.float64)
    count = cv2.filter2D(inside, -1, cross, borderType=cv2.BORDER_CONSTANT)
    total = cv2.filter2D(values * inside[:, :, None], -1, cross, borderType=cv2.BORDER_CONSTANT).reshape(values.shape)
    return total / np.maximum(count, 1.0)[:, :, None]


def _ring(hole: np.ndarray) -> np.ndarray:
    """The known pixels 4-adjacent to the hole."""
    import cv2

    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    return cv2.dilate(hole.astype(np.uint8), cross).astype(bool) & ~hole


def _two_level(hole: np.ndarray, ring: np.ndarray, difference: np.ndarray, factor: int) -> np.ndarray:
    """(H, W, C) r, harmonic in `hole` and `difference` on `ring`: coarse grid, then the edge band."""
    import cv2
    from scipy import ndimage

    height, width = hole.shape
    pad = ((0, -height % factor), (0, -width % factor))
    coarse_size = ((width + pad[1][1]) // factor, (height + pad[0][1]) // factor)  # (w, h) for OpenCV
    shrink = lambda a: cv2.resize(np.pad(a, pad + ((0, 0),) * (a.ndim - 2)), coarse_size, interpolation=cv2.INTER_AREA)  # noqa: E731
    coarse_hole = shrink(hole.astype(np.float64)) >= 0.5
    ring_share = shrink(ring.astype(np.float64))
    values = shrink(difference) / np.maximum(ring_share, 1e-12)[:, :, None]  # the mean over each block's ring pixels
    has_value = ring_share > 0
    if not has_value.any():
        return np.zeros_like(difference)
    nearest = ndimage.distance_transform_edt(~has_value, return_distances=False, return_indices=True)
    values = values[nearest[0], nearest[1]]  # blocks without ring pixels take the nearest block's value
    coarse = _solve(coarse_hole, np.where(coarse_hole[:, :, None], 0.0, values))
    smooth = cv2.resize(coarse, (coarse_size[0] * factor, coarse_size[1] * factor), interpolation=cv2.INTER_LINEAR)[:height, :width]
    distance = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L1, 3)
    band = hole & (distance <= BAND)
    # Exact in the band: `difference` on the ring, the coarse solution on the band's inner edge.
    return np.where(band[:, :, None], _solve(band, np.where(ring[:, :, None], difference, smooth)), smooth)


def _solve(unknown: np.ndarray, boundary: np.ndarray) -> np.ndarray:
    """(H, W, C): harmonic on the `unknown` pixels, `boundary` (H, W, C) everywhere else."""
    from scipy.sparse.linalg import splu

    result = boundary.copy()
    if not unknown.any():
        return result
    matrix, rhs, (ys, xs) = poisson_system(unknown, boundary)
    # COLAMD (SuperLU's default) orders any hole in time close to its size. A minimum-degree ordering
    # of A^T + A, used before 2026-12-07, fills in less but takes far longer to find on irregular
    # holes: 25 s against 0.13 s on a speckled hole of 49,000 pixels, 0.8 s against 0.04 s on one
    # of 12,000 (benchmarks/bench_masks.py).
    result[ys, xs] = splu(matrix, permc_spec="COLAMD").solve(rhs)
    return result


def poisson_system(unknown: np.ndarray, boundary: np.ndarray):
    """The sparse system of `_solve`: (N, N) CSC matrix (4-neighbour Laplacian over the N `unknown`
    pixels, zero-gradient at the image border), (N, C) right-hand side from `boundary` on their known
    neighbours, and the unknowns' (rows, columns) in row-major order."""
    from scipy import sparse

    height, width = unknown.shape
    count = int(unknown.sum())
    index = np.full((height, width), -1, dtype=np.int64)
    index[unknown] = np.arange(count)
    ys, xs = np.nonzero(unknown)  # (N,), row-major: matches index
    diagonal = np.zeros(count)
    rhs = np.zeros((count, boundary.shape[2]))
    rows, cols = [np.arange(count)], [np.arange(count)]
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        ny, nx = ys + dy, xs + dx
        inside = (ny >= 0) & (ny < height) & (nx >= 0) & (nx < width)  # (N,): the neighbour exists
        diagonal += inside
        neighbour = np.full(count, -1, dtype=np.int64)
        neighbour[inside] = index[ny[inside], nx[inside]]
        in_hole = neighbour >= 0
        rows.append(np.flatnonzero(in_hole))
        cols.append(neighbour[in_hole])
        fixed = inside & ~in_hole
        rhs[fixed] += boundary[ny[fixed], nx[fixed]]
    values = [diagonal] + [-np.ones(len(r)) for r in rows[1:]]
    matrix = sparse.csc_matrix((np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=(count, count))
    return matrix, rhs, (ys, xs)
