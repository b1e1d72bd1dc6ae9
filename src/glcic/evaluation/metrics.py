"""Image-completion metrics, as a registry: (truth, completed, hole) -> float.

- `hole_l1`: mean absolute error inside the hole, images in [0, 1], x100 (the published protocol's
  "L1 x100"); plain NumPy, as no library has a masked L1;
- `psnr`: scikit-image `peak_signal_noise_ratio` of the whole composite (data range 255);
- `ssim`: scikit-image `structural_similarity` of the whole composite, RGB (channel_axis), data
  range 255, its default 7x7 window.

Seconds per image are measured by the evaluation, not here.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from glcic.utils import Registry

Metric = Callable[[np.ndarray, np.ndarray, np.ndarray], float]
_METRICS = Registry("metric")
HIGHER_IS_BETTER = {"hole_l1": False, "psnr": True, "ssim": True}


def register_metric(name: str):
    return _METRICS.register(name)


def list_metrics() -> list[str]:
    return _METRICS.names()


def get_metric(name: str) -> Metric:
    return _METRICS.choose(name)


@register_metric("hole_l1")
def hole_l1(truth: np.ndarray, completed: np.ndarray, hole: np.ndarray) -> float:
    if not hole.any():
        raise ValueError("hole_l1 needs a non-empty hole")
    difference = np.abs(truth.astype(np.float64) - completed.astype(np.float64)) / 255.0
    return float(difference[hole].mean() * 100)


@register_metric("psnr")
def psnr(truth: np.ndarray, completed: np.ndarray, hole: np.ndarray) -> float:
    from skimage.metrics import peak_signal_noise_ratio

    if np.array_equal(truth, completed):
        return float("inf")
    return float(peak_signal_noise_ratio(truth, completed, data_range=255))


@register_metric("ssim")
def ssim(truth: np.ndarray, completed: np.ndarray, hole: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    return float(structural_similarity(truth, completed, channel_axis=2, data_range=255))


def compute_all(truth: np.ndarray, completed: np.ndarray, hole: np.ndarray) -> dict[str, float]:
    return {name: metric(truth, completed, hole) for name, metric in _METRICS.items()}
