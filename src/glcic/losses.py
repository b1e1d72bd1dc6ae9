"""The training losses of section 3.3.

- `weighted_mse`: ||M_c * (C(x, M_c) - x)||^2, divided by the number of hole values, so a
  hole of any size gives the same scale and alpha means the same for every hole (other ports divide
  by the whole image, which makes the effective alpha grow as holes shrink).
- `weighted_l1`: the same over |C(x, M_c) - x| (an option, `--reconstruction-loss l1`: the
  paper uses the MSE; L1 is what later inpainting networks train with, and it is the hole error the
  evaluation reports).
- `discriminator_loss`: the binary cross-entropy of the context discriminators, real images -> 1,
  completed images -> 0 (the negative of the paper's max over D, Eq. 2), from logits for stability.
- `adversarial_loss`: what the completion network minimises in the joint phase. "saturating" is
  Eq. 3 literally, log(1 - D(C(x))); "non_saturating" (default) is -log D(C(x)), which has the same
  fixed point and stronger gradients when D wins, as recommended by Goodfellow et al. 2014.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _hole_mean(errors: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """Per-value `errors` (B, C, H, W) averaged over each sample's hole, then over the batch."""
    total = (hole * errors).sum(dim=(1, 2, 3))  # (B,)
    area = hole.sum(dim=(1, 2, 3)) * errors.shape[1]  # (B,): hole pixels x channels
    return (total / area.clamp_min(1)).mean()


def weighted_mse(prediction: torch.Tensor, target: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the hole pixels: each sample normalised by its own hole area, then
    averaged over the batch. prediction, target (B, C, H, W); hole (B, 1, H, W) in {0, 1}."""
    return _hole_mean((prediction - target).square(), hole)


def weighted_l1(prediction: torch.Tensor, target: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over the hole pixels, normalised like `weighted_mse`."""
    return _hole_mean((prediction - target).abs(), hole)


RECONSTRUCTION_LOSSES = {"mse": weighted_mse, "l1": weighted_l1}


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """-[log D(x, M_d) + log(1 - D(C(x, M_c), M_c))], averaged over the batch."""
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def adversarial_loss(fake_logits: torch.Tensor, kind: str = "non_saturating") -> torch.Tensor:
    """The completion network's GAN term, from the discriminator's logits on completed images."""
    if kind == "non_saturating":
        return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))  # -log D
    if kind == "saturating":
        return -F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))  # log(1 - D)
    raise ValueError(f"unknown adversarial loss {kind!r}; choose 'non_saturating' or 'saturating'")
