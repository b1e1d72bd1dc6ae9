"""The training losses of section 3.3.

- `weighted_mse`: ||M_c * (C(x, M_c) - x)||^2, divided by the number of hole values, so a
  hole of any size gives the same scale and alpha means the same for every hole (other ports divide
  by the whole image, which makes the effective alpha grow as holes shrink).
- `weighted_l1`: the same over |C(x, M_c) - x| (an option, `--reconstruction-loss l1`: the
  paper uses the MSE; L1 is what later inpainting networks train with, and it is the hole error the
  evaluation reports).
- `discriminator_loss`: the binary cross-entropy of the context discriminators, real images -> 1,
  completed images -> 0 (the negative of the paper's max over D, Eq. 2), from logits for stability.
- `grid_prior`: how much of the hole's fine detail is locked to the pixel grid (an option,
  `--grid-weight`, not the paper's): photos' statistics do not depend on a pixel's position modulo
  8, so a pattern that does (the checkerboards and stripes a joint phase breeds) is penalised
  directly rather than left for the discriminators to notice.
- `feature_matching`: how far the local discriminator's features of the completed patch are from
  its features of the original's same patch (an option, `--feature-matching`, not the paper's; the
  paired form of pix2pixHD's feature matching, Wang et al. 2018). Deeper features hardly depend on
  where a texture's details sit, so a fill that keeps the original's kind of texture, not its exact
  pixels, is close; a blur is far: a dense signal towards texture where the adversarial term gives
  one number per image.
- `low_pass`: the Gaussian-blurred image the reconstruction term can compare instead
  (`--reconstruction-blur`): the colours and shapes of the fill stay tied to the original, its
  finest details are left to the adversarial and feature-matching terms (a pixel loss on them asks
  for their mean, which is a blur).
- `adversarial_loss`: what the completion network minimises in the joint phase. "saturating" is
  Eq. 3 literally, log(1 - D(C(x))); "non_saturating" (default) is -log D(C(x)), which has the same
  fixed point and stronger gradients when D wins, as recommended by Goodfellow et al. 2014.
  "relativistic" (an option, not the paper's; the relativistic standard GAN of Jolicoeur-Martineau
  2019, the loss ESRGAN fine-tunes a PSNR-trained network with) changes both sides: each real image
  and its own completion are scored as a pair, the discriminators on -log sigmoid(D(x) - D(C(x)))
  and the completion network on -log sigmoid(D(C(x)) - D(x)). With `--discriminator-hole` the pair
  is the same place with the same hole, so the discriminators learn the realism judge's question
  ("which of the two is the photo?") and the completion network is pushed to win that comparison.
- `gradient_penalty`: the squared norm of the discriminators' gradient at their inputs (an option,
  `--gradient-penalty`, not the paper's): R1 at the real images (Mescheder et al. 2018) and R2 at
  the completed ones, the pair that makes the relativistic loss converge (Huang et al. 2024, "The
  GAN is dead; long live the GAN!"). A discriminator that ranks pairs right can still have a
  gradient that points anywhere, mostly at fine, high-frequency directions; the penalty keeps its
  score smooth near the data, so the completion network is pushed towards photos, not towards
  whatever pattern the discriminator happens to score higher.
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

GRID_PERIOD = 8  # px: 2 and 4 from the transposed convolutions, 8 from the quarter-resolution middle
GRID_SIGMA = 2.0  # px: the high-pass, as in glcic.evaluation.metrics.grid
GRID_PERIODS = (8, 16)  # 16: the checkerboard of 8 px squares the joint phase grows (glcic.evaluation.metrics.blocks)


def _gaussian_blur(grey: torch.Tensor, sigma: float) -> torch.Tensor:
    radius = int(3 * sigma)
    taps = torch.exp(-torch.arange(-radius, radius + 1, dtype=grey.dtype, device=grey.device) ** 2 / (2 * sigma**2))
    taps = taps / taps.sum()
    padded = F.pad(grey, (radius, radius, radius, radius), mode="reflect")
    return F.conv2d(F.conv2d(padded, taps.view(1, 1, 1, -1)), taps.view(1, 1, -1, 1))


def low_pass(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """(B, C, H, W) images blurred by a Gaussian of `sigma` px, each channel alike (0: unchanged)."""
    if sigma <= 0:
        return images
    batch, channels, height, width = images.shape
    return _gaussian_blur(images.float().reshape(batch * channels, 1, height, width), sigma).reshape(batch, channels, height, width)


def feature_matching(fake_maps: list[torch.Tensor], real_maps: list[torch.Tensor]) -> torch.Tensor:
    """The mean over the layers of |fake - real| averaged over a layer's values, each layer divided
    by the original's mean activation there (held constant), so that every layer weighs about the
    same whatever its scale. fake_maps, real_maps: the same layers of the same patches."""
    terms = [(fake.float() - real.float()).abs().mean() / (real.float().abs().mean().detach() + 1e-6)
             for fake, real in zip(fake_maps, real_maps, strict=True)]
    return torch.stack(terms).mean()


def grid_prior(prediction: torch.Tensor, hole: torch.Tensor, tile: int = 0, period: int = GRID_PERIOD) -> torch.Tensor:
    """The share of the hole's fine detail that is locked to the pixel grid, per sample, averaged.

    The grey levels' high-pass residual (minus a Gaussian blur of GRID_SIGMA px) is averaged over
    each of the GRID_PERIOD^2 pixel phases (row, column modulo GRID_PERIOD) inside the hole; the
    spread of those means beyond what sampling alone gives (each phase's variance over its pixel
    count) is divided by the residual's mean square there, held constant (detached). Without a
    pattern the excess is zero whatever the texture's strength, so the term asks for less of a
    pattern and neither for blur (a first form without the sampling term did: smoothing lowered it)
    nor for noise. The evaluation's grid index (glcic.evaluation.metrics.grid) measures the same.

    With `tile` (px, a multiple of GRID_PERIOD) the share is taken in each tile x tile square of the
    hole and the squares' shares averaged, weighted by their hole pixels: a pattern whose polarity
    changes across the hole counts where it is. With `period` 16 (and a high-pass of period / 4 px)
    the phases are modulo 16: a checkerboard of 8 px squares, which modulo 8 cancels out (rows r and
    r + 8 have opposite signs), counts too; 16 includes every pattern 8 sees.
    prediction (B, 3, H, W); hole (B, 1, H, W)."""
    if period not in GRID_PERIODS:
        raise ValueError(f"the grid prior's period must be one of {GRID_PERIODS} px, got {period}")
    grey = prediction.float().mean(dim=1, keepdim=True)
    residual = grey - _gaussian_blur(grey, GRID_SIGMA * period / GRID_PERIOD)
    hole = hole.float()
    if tile:
        if tile % period:
            raise ValueError(f"the grid prior's tile must be a multiple of its period ({period} px), got {tile}")
        residual, hole = _tiles(residual, tile), _tiles(hole, tile)
    shares = _locked_share(residual, hole, period)
    area = hole.sum(dim=(1, 2, 3))
    return (shares * area).sum() / area.sum().clamp_min(1) if tile else shares.mean()


def _tiles(images: torch.Tensor, tile: int) -> torch.Tensor:
    """(B, 1, H, W) cut into (B * n, 1, tile, tile) squares (a remainder of rows and columns dropped)."""
    batch, _, height, width = images.shape
    rows, columns = height // tile, width // tile
    images = images[..., : rows * tile, : columns * tile].reshape(batch, rows, tile, columns, tile)
    return images.permute(0, 1, 3, 2, 4).reshape(batch * rows * columns, 1, tile, tile)


def _locked_share(residual: torch.Tensor, hole: torch.Tensor, p: int = GRID_PERIOD) -> torch.Tensor:
    """(B,) the excess spread of the phase means (modulo `p`) of `residual` in `hole`, over its mean square."""
    batch, _, height, width = residual.shape
    height, width = height - height % p, width - width % p
    hole = hole[..., :height, :width]
    residual = residual[..., :height, :width]
    phases = lambda t: t.reshape(batch, height // p, p, width // p, p).sum(dim=(1, 3))  # noqa: E731 - (B, p, p)
    counts = phases(hole)
    means = phases(residual * hole) / counts.clamp_min(1)
    variances = (phases(residual.square() * hole) / counts.clamp_min(1) - means.square()).clamp_min(0)
    used = (counts > 1).float()
    phases_used = used.sum(dim=(1, 2)).clamp_min(1)
    centre = (means * used).sum(dim=(1, 2), keepdim=True) / phases_used[:, None, None]
    spread = ((means - centre).square() * used).sum(dim=(1, 2)) / phases_used
    sampling = (variances / (counts - 1).clamp_min(1) * used).sum(dim=(1, 2)) / phases_used  # a phase mean's own variance
    power = (residual.square() * hole).sum(dim=(1, 2, 3)) / hole.sum(dim=(1, 2, 3)).clamp_min(1)
    return (spread - sampling).clamp_min(0) / (power.detach() + (0.5 / 255) ** 2)


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, kind: str = "non_saturating") -> torch.Tensor:
    """-[log D(x, M_d) + log(1 - D(C(x, M_c), M_c))], averaged over the batch; with `kind`
    "relativistic", -log sigmoid(D(x) - D(C(x))) over the pairs (row i of each is one pair)."""
    if kind == "relativistic":
        return F.softplus(fake_logits - real_logits).mean()
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def adversarial_loss(fake_logits: torch.Tensor, kind: str = "non_saturating", real_logits: torch.Tensor | None = None) -> torch.Tensor:
    """The completion network's GAN term, from the discriminator's logits on completed images (and,
    for "relativistic", on the real images they pair with)."""
    if kind == "relativistic":
        if real_logits is None:
            raise ValueError("the relativistic adversarial loss needs the real images' logits")
        return F.softplus(real_logits.detach() - fake_logits).mean()  # -log sigmoid(D(C(x)) - D(x))
    if kind == "non_saturating":
        return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))  # -log D
    if kind == "saturating":
        return -F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))  # log(1 - D)
    raise ValueError(f"unknown adversarial loss {kind!r}; choose 'non_saturating', 'saturating' or 'relativistic'")


def gradient_penalty(logits: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """The mean over the batch of ||d sum(logits_i) / d inputs_i||^2 (`logits` (B, ...) computed
    from `inputs` (B, C, H, W), which requires grad), with the graph kept so that the penalty
    itself can be minimised: R1 when `inputs` are the real images, R2 when they are the completed."""
    (gradient,) = torch.autograd.grad(logits.sum(), inputs, create_graph=True)
    return gradient.float().square().flatten(1).sum(dim=1).mean()
