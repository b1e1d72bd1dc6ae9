"""The noise maps a completion network with noise layers runs on (`--noise`, not the paper's).

In training the noise is drawn fresh for every batch. At completion it must be reproducible and
the same wherever a pixel is computed: a hole completed in its own context window must get the
fill it gets in the whole image (glcic.inference.regions), so each noise value is a function of
the seed, the noise layer and the pixel's position in the image alone: a counter-based hash
(splitmix64) of the three, turned into standard normal values by the Box-Muller transform. Any
window of any image, mirrored or not, reads the same values at the same pixels.
"""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _splitmix64(values: np.ndarray) -> np.ndarray:
    """Steele et al.'s 64-bit finaliser: a well-mixed uint64 for each uint64 (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = values + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _uniform(keys: np.ndarray) -> np.ndarray:
    """(0, 1) floats from the hashes' top 53 bits, never 0."""
    return ((_splitmix64(keys) >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53)


def position_noise(count: int, rows: np.ndarray, columns: np.ndarray, seed: int = 0) -> np.ndarray:
    """(count, len(rows), len(columns)) float32 standard normal values, one map per noise layer,
    for the pixels at image rows `rows` and columns `columns` (integers, negative allowed: padding
    outside the image gets values too), reproducible from `seed`."""
    rows = np.asarray(rows, dtype=np.int64).astype(np.uint64)[:, None]  # (H, 1); negatives wrap to distinct values
    columns = np.asarray(columns, dtype=np.int64).astype(np.uint64)[None, :]  # (1, W)
    maps = []
    for layer in range(count):
        stream = _splitmix64(np.uint64((int(seed) & 0xFFFFFFFF) * 8 + layer))
        with np.errstate(over="ignore"):
            keys = _splitmix64(stream ^ (rows * np.uint64(0x100000001B3))) ^ columns  # (H, W)
        radius = np.sqrt(-2.0 * np.log(_uniform(keys)))
        angle = 2.0 * np.pi * _uniform(keys ^ np.uint64(0xD1B54A32D192ED03))
        maps.append((radius * np.cos(angle)).astype(np.float32))
    return np.stack(maps)
