"""Image-completion metrics, as a registry: (truth, completed, hole) -> float.

- `hole_l1`: mean absolute error inside the hole, images in [0, 1], x100 (the published protocol's
  "L1 x100"); plain NumPy, as no library has a masked L1;
- `psnr`: scikit-image `peak_signal_noise_ratio` of the whole composite (data range 255);
- `ssim`: scikit-image `structural_similarity` of the whole composite, RGB (channel_axis), data
  range 255, its default 7x7 window;
- `detail`: the detail ratio, the hole's mean gradient magnitude in the completion over the
  original's there (Sobel on grey levels): 1 is as much detail as the photo, a blur is well below 1,
  noise above it. L1 and PSNR reward a blur; this says how much of one a method gives. Neither
  direction is "better", so reports mark no best for it;
- `grid`: the grid index, how much of the hole's fine detail is locked to the pixel grid: the
  signed high-pass residual (grey levels minus a Gaussian blur of sigma 2 px) averaged over each of
  the 64 pixel phases (row mod 8, column mod 8) inside the hole; the spread of those 64 means beyond
  what sampling alone gives (their variance less the mean of each phase's variance over its pixel
  count), over the residual's mean magnitude. A photo's texture averages out on every phase (near
  0); the stripes and checkerboards that a joint phase breeds do not, at a period of 2 and 4 px
  (the transposed convolutions) or of 8 px (a checkerboard at the dilated middle's quarter
  resolution, docs/adversarial.md): 0.9-1.0 for a pattern of 3 grey levels on a smooth fill;
- `blocks`: the block index, the same at a period of 16 px with a sigma-4 high-pass: a
  checkerboard of 8 px squares (what long joint phases grow), which modulo 8 cancels out;
- `judge`: the realism judge's accuracy (glcic.evaluation.judge), lower is better, 0.5 the floor.
  It is computed over all pairs at once by the evaluation, not pair by pair here.

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
    function: Callable[[np.ndarray, np.ndarray, np.ndarray], float] | None  # (truth, completed, hole) -> value
    higher_is_better: bool | None  # None: no direction is better (reports mark no best)
    title: str  # a report's column heading

    def __call__(self, truth: np.ndarray, completed: np.ndarray, hole: np.ndarray) -> float:
        return self.function(truth, completed, hole)


_METRICS = Registry("metric")


def register_metric(name: str, *, higher_is_better: bool | None, title: str | None = None):
    """Decorator: register `function(truth, completed, hole) -> float` as metric `name`; reports
    mark the best method by `higher_is_better` and head its column with `title` (default: the name)."""

    def decorate(function):
        direction = {True: " (higher is better)", False: " (lower is better)", None: ""}[higher_is_better]
        return _METRICS.register(name, Metric(name, function, higher_is_better, f"{title or name}{direction}"))

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


DETAIL_FLOOR = 1.0  # mean Sobel magnitude (grey levels) below which an original's hole counts as flat


def gradient_magnitude(image: np.ndarray) -> np.ndarray:
    """(H, W) Sobel gradient magnitude of an (H, W, 3) uint8 RGB image's grey levels."""
    import cv2

    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return cv2.magnitude(cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3))


@register_metric("detail", higher_is_better=None, title="detail ratio (1 = as the photo)")
def detail(truth: np.ndarray, completed: np.ndarray, hole: np.ndarray) -> float:
    if not hole.any():
        raise ValueError("detail needs a non-empty hole")
    original = float(gradient_magnitude(truth)[hole].mean())
    return float(gradient_magnitude(completed)[hole].mean()) / max(original, DETAIL_FLOOR)


GRID_FLOOR = 0.5  # grey levels: a hole flatter than this has no pattern to speak of
GRID_PERIOD = 8  # px: 2 and 4 from the two stride-2 up-samplings, 8 from a checkerboard at quarter resolution
GRID_SIGMA = 2.0  # px: the high-pass keeps 70 % of a period-8 pattern and all of the finer ones


@register_metric("grid", higher_is_better=False, title="grid index")
def grid(truth: np.ndarray, completed: np.ndarray, hole: np.ndarray) -> float:
    return locked_index(completed, hole, GRID_PERIOD, GRID_SIGMA)


BLOCKS_PERIOD = 16  # px: a checkerboard of 8 px squares, which modulo 8 cancels out (rows r and r + 8 have opposite signs)
BLOCKS_SIGMA = 4.0  # px: keeps 70 % of a period-16 pattern, as GRID_SIGMA does of a period-8 one


@register_metric("blocks", higher_is_better=False, title="block index")
def blocks(truth: np.ndarray, completed: np.ndarray, hole: np.ndarray) -> float:
    return locked_index(completed, hole, BLOCKS_PERIOD, BLOCKS_SIGMA)


def locked_index(completed: np.ndarray, hole: np.ndarray, period: int, sigma: float) -> float:
    """How much of the fill's fine detail is locked to the pixel grid: the high-pass residual of
    the grey levels averaged per pixel phase (row, column modulo `period`) in the hole; the spread
    of those means beyond what sampling gives, its square root over the residual's mean magnitude."""
    import cv2

    if not hole.any():
        raise ValueError("a grid index needs a non-empty hole")
    grey = cv2.cvtColor(completed, cv2.COLOR_RGB2GRAY).astype(np.float64)
    residual = grey - cv2.GaussianBlur(grey, (0, 0), sigma)  # signed: a stripe is + on one phase, - on the next
    rows, cols = np.nonzero(hole)
    values = residual[rows, cols]
    phase = (rows % period) * period + cols % period
    counts = np.bincount(phase, minlength=period**2)
    sums = np.bincount(phase, weights=values, minlength=period**2)
    squares = np.bincount(phase, weights=values**2, minlength=period**2)
    used = counts > 1
    if used.sum() < 2:
        return 0.0  # a hole of a pixel or two has no phases to compare
    n, means = counts[used], sums[used] / counts[used]
    spread = (squares[used] / n - means**2) * n / (n - 1)  # each phase's own variance
    excess = max(0.0, float(means.var(ddof=1)) - float(np.mean(spread / n)))  # beyond what sampling gives
    return float(np.sqrt(excess) / max(float(np.abs(values).mean()), GRID_FLOOR))


_METRICS.register("judge", Metric("judge", None, False, "judge accuracy (lower is better, 0.5 = indistinguishable)"))


def metric_title(name: str) -> str:
    return get_metric(name).title


def compute_all(truth: np.ndarray, completed: np.ndarray, hole: np.ndarray) -> dict[str, float]:
    """Every pair-by-pair metric of one completion (the judge's accuracy is computed by the evaluation)."""
    return {name: metric(truth, completed, hole) for name, metric in _METRICS.items() if metric.function is not None}


def pair_metrics() -> list[str]:
    """The metrics `compute_all` gives."""
    return [name for name, metric in _METRICS.items() if metric.function is not None]
