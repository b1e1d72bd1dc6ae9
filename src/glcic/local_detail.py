"""How much fine detail each small square of a fill has, against the original's (`--detail-weight`).

The noise layers (`--noise`) let the completion network draw grain; the adversarial term, one
number per patch, tells it *that* photos have grain, not *where*: every noisy model trained on a
CPU budget put the same grain into a smooth sky as into foliage (docs/adversarial.md, section 11),
and the style term (`glcic.style`) compares statistics over the whole hole, which often holds sky
and horizon at once. This term asks, square by square (TILE px), for the original's amount of fine
detail there: the mean magnitude of the image minus its Gaussian blur (SIGMA px), in luminance and
in colour apart. A blur is far from a photo wherever the photo is rough, grain is far wherever the
photo is smooth, and colour speckle is far wherever the photo's colours are flat. It says nothing
about where a detail sits inside its square, so a texture of the right kind is near; it is the
detail ratio of the evaluation (`glcic.evaluation.metrics`), taken per square and as a loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from glcic.losses import low_pass
from glcic.pixels import LUMA

TILE = 8  # px: the squares, at the training crops' scale
SIGMA = 2.0  # px: the detail is what a Gaussian of this size takes away
COVERAGE = 0.5  # a square counts when at least this share of it is hole


def detail_map(images: torch.Tensor, hole: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 2, H/TILE, W/TILE): per square, the mean over its hole pixels of the high-pass's
    luminance magnitude and of its colour magnitude (how far each channel's high-pass is from the
    luminance's); and (B, 1, H/TILE, W/TILE) the share of each square that is hole."""
    images, hole = images.float(), hole.float()
    high = images - low_pass(images, SIGMA)
    luma = (high * images.new_tensor(LUMA).view(1, 3, 1, 1)).sum(dim=1, keepdim=True)
    colour = (high - luma).abs().mean(dim=1, keepdim=True)
    magnitudes = torch.cat([luma.abs(), colour], dim=1)
    coverage = F.avg_pool2d(hole, TILE)
    return F.avg_pool2d(magnitudes * hole, TILE) / coverage.clamp_min(1e-6), coverage


def detail_loss(fill: torch.Tensor, original: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """The mean |fill's detail - original's detail| over the squares that are mostly hole, for
    luminance and colour alike. fill, original (B, 3, H, W) in [0, 1]; hole (B, 1, H, W) in {0, 1};
    H, W multiples of TILE. The original's side carries no gradient."""
    fill_detail, coverage = detail_map(fill, hole)
    with torch.no_grad():
        original_detail, _ = detail_map(original, hole)
    counted = (coverage >= COVERAGE).float()
    return ((fill_detail - original_detail).abs() * counted).sum() / (2 * counted.sum()).clamp_min(1)
