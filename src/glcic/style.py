"""The texture statistics of a fill: Gram matrices of a fixed random filter bank (`--style-weight`).

A pixel loss asks for the mean of what could be in the hole, which is a blur; an adversarial term
gives one number per image, and in the few thousand joint iterations a CPU affords it first buys a
pattern locked to the pixel grid (docs/adversarial.md). This term asks for the original's *kind* of
texture in the hole, wherever its details sit: the fill and the original's same region go through
a fixed bank of random zero-mean filters at two scales, and the statistics of the rectified
responses over the hole (each filter's mean response, and the correlations of the Gram matrix:
Gatys et al. 2016's style loss) are compared. Random shallow filters are enough for texture statistics (Ustyuzhaninov et al.
2017, "What does it take to generate natural textures?"), so nothing is downloaded and nothing
learns. A blur lacks the energy, a grid or stripes put it at the wrong frequencies and orientations;
both are far from the original, texture of the right kind is near.

The bank is drawn from its own seeded generator, so it is the same in every run and never touches
the training's random streams.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

FILTER_SIZES = (3, 5, 9)  # px: with the half-resolution level, responses up to about 18 px
FILTERS_PER_SIZE = 32
LEVELS = 2  # the image, then the image downscaled by 2
BANK_SEED = 20170701
EPSILON = 1e-3  # a mean response of 1e-3 (a quarter of a grey level) counts as none


def filter_bank(device: torch.device | None = None) -> list[torch.Tensor]:
    """One (FILTERS_PER_SIZE, 3, k, k) bank per filter size: Gaussian random taps, each filter's mean
    removed (flat colour gives no response) and scaled to unit norm."""
    generator = torch.Generator().manual_seed(BANK_SEED)
    banks = []
    for size in FILTER_SIZES:
        taps = torch.randn(FILTERS_PER_SIZE, 3, size, size, generator=generator)
        taps = taps - taps.mean(dim=(1, 2, 3), keepdim=True)
        banks.append((taps / taps.flatten(1).norm(dim=1).view(-1, 1, 1, 1)).to(device))
    return banks


def _responses(images: torch.Tensor, banks: list[torch.Tensor]) -> torch.Tensor:
    """(B, C, H, W) rectified responses of every filter, sizes side by side."""
    return torch.cat([F.relu(F.conv2d(F.pad(images, (k // 2,) * 4, mode="reflect"), bank))
                      for bank in banks for k in [bank.shape[-1]]], dim=1)


def texture_statistics(images: torch.Tensor, region: torch.Tensor, banks: list[torch.Tensor]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per level, over `region` (B, 1, H, W): each filter's mean rectified response (B, C), and the
    responses' correlation matrix (B, C, C): the Gram matrix divided by its diagonal's roots."""
    statistics = []
    images, region = images.float(), region.float()
    for level in range(LEVELS):
        if level:
            images, region = F.avg_pool2d(images, 2), F.max_pool2d(region, 2)
        responses = _responses(images, banks).flatten(2)  # (B, C, HW)
        weights = region.flatten(2)  # (B, 1, HW)
        area = weights.sum(dim=2).clamp_min(1)  # (B, 1)
        means = (responses * weights).sum(dim=2) / area
        gram = (responses * weights) @ responses.transpose(1, 2) / area[:, :, None]
        roots = torch.diagonal(gram, dim1=1, dim2=2).clamp_min(EPSILON**2).sqrt()
        statistics.append((means, gram / (roots[:, :, None] * roots[:, None, :])))
    return statistics


def style_loss(prediction: torch.Tensor, target: torch.Tensor, region: torch.Tensor, banks: list[torch.Tensor]) -> torch.Tensor:
    """The distance between the texture statistics of `prediction` and `target` over `region`, per
    level: the mean |log| ratio of the filters' mean responses (a blur's missing energy counts the
    same in every filter, whatever its scale) plus the mean difference of their correlations (a
    grid or stripes correlate filters that a photo's texture does not), averaged over the levels.
    prediction, target (B, 3, H, W) in [0, 1]; region (B, 1, H, W), 1 where the statistics are taken."""
    terms = []
    for (fake_means, fake_correlations), (real_means, real_correlations) in zip(
            texture_statistics(prediction, region, banks), texture_statistics(target, region, banks), strict=True):
        energy = (torch.log(fake_means + EPSILON) - torch.log(real_means.detach() + EPSILON)).abs().mean()
        terms.append(energy + (fake_correlations - real_correlations.detach()).abs().mean())
    return torch.stack(terms).mean()
