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
hole of a window (it is block diagonal), solved directly with SuperLU for all three channels.

No pixel outside the hole changes, and the paper's fast-marching step is not needed: it only gave
OpenCV's blending (which changes a band of known pixels around the hole) a destination to blend into.
"""

from __future__ import annotations

import numpy as np


def poisson_blend(image: np.ndarray, hole: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    """`prediction` blended into `image` over `hole`.

    image, prediction: (H, W, C) float RGB in [0, 1] (the image's hole pixels are ignored; the
    prediction is read in the hole and on the known pixels next to it); hole: (H, W) bool.
    Returns (H, W, C) float32, equal to `image` outside the hole.
    """
    from scipy import sparse
    from scipy.sparse.linalg import spsolve

    result = np.where(hole[:, :, None], prediction, image).astype(np.float32)
    count = int(hole.sum())
    if count == 0:
        return result
    height, width = hole.shape
    index = np.full((height, width), -1, dtype=np.int64)
    index[hole] = np.arange(count)
    ys, xs = np.nonzero(hole)  # (N,), row-major: matches index
    difference = (image.astype(np.float64) - prediction.astype(np.float64))  # (H, W, C): f - g
    diagonal = np.zeros(count)
    rhs = np.zeros((count, image.shape[2]))
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
        known = inside & ~in_hole
        rhs[known] += difference[ny[known], nx[known]]
    values = [diagonal] + [-np.ones(len(r)) for r in rows[1:]]
    matrix = sparse.csc_matrix((np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=(count, count))
    correction = spsolve(matrix, rhs).reshape(count, -1)  # (N, C)
    result[ys, xs] = np.clip(prediction[ys, xs] + correction, 0.0, 1.0)
    return result
