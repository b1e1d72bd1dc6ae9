"""Image-completion metrics, as a registry: (truth, completed, hole) -> float.

- `hole_l1`: mean absolute error inside the hole, images in [0, 1], x100 (the published protocol's
  "L1 x100"); plain NumPy, as no library has a masked L1;
- `psnr`: scikit-image `peak_signal_noise_ratio` of the whole composite (data range 255);
- `ssim`: scikit-image `structural_similarity` of the whole composite, RGB (channel_axis), data
  range 255, its default 7x7 window.

Seconds per image are measured by the evaluation, not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from glcic.utils import Registry


@dataclass(frozen=True)
class Metric:
    """A metric and what a report needs to know about it: which direction is better, its unit."""

    name: str
    function: Callable[[np.ndarray, np.ndarray, np.ndarray], float]  # (truth, completed, hole) -> value
    higher_is_better: bool
    title: str  # a report's column heading

    def __call__(self, truth: np.ndarray, completed: np.ndarray, hole: np.ndarray) -> float:
        return self.function(truth, completed, hole)


_METRICS = Registry("metric")


def register_metric(name: str, *, higher_is_better: bool, title: str | None = None):
    """Decorator: register `function(truth, completed, hole) -> float` as metric `name`; reports
    mark the best method by `higher_is_better` and head its column with `title` (default: the name)."""

    def decorate(function):
        heading = f"{title or name} ({'higher' if higher_is_better else 'lower'} is better)"
        return _METRICS.register(name, Metric(name, function, higher_is_better, heading))

    return decorate


def list_metrics() -> list[str]:
    return _METRICS.names()


def get_metric(name: str) -> Metric:
    return _METRICS.choose(name)


def higher_is_better(name: str) -> bool:
    return get_metric(name).higher_is_better


@register_metric("hole_l1", higher_is_better=False, title="hole L1 x100")
def hole_l1(truth: np.ndarray, completed: np.ndarray, hole: np.ndarray) -> float:
    if not hole.any():
        raise ValueError("hole_l1 needs a non-empty hole")
    difference = np.abs(truth.astype(np.float64) - completed.astype(np.float64)) / 255.0
    return float(difference[hole].mean() * 100)


@register_metric("psnr", higher_is_better=True, title="PSNR dB")
def psnr(truth: np.ndarray, completed: np.ndarray, hole: np.ndarray) -> float:
    from skimage.metrics import peak_signal_noise_ratio

    if np.array_equal(truth, completed):
        return float("inf")
    return float(peak_signal_noise_ratio(truth, completed, data_range=255))


@register_metric("ssim", higher_is_better=True, title="SSIM")
def ssim(truth: np.ndarray, completed: np.ndarray, hole: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    return float(structural_similarity(truth, completed, channel_axis=2, data_range=255))


def metric_title(name: str) -> str:
    return get_metric(name).title


def compute_all(truth: np.ndarray, completed: np.ndarray, hole: np.ndarray) -> dict[str, float]:
    return {name: metric(truth, completed, hole) for name, metric in _METRICS.items()}
