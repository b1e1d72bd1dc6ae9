"""The context discriminators, Table 3 of the paper.

Both discriminators are stacks of 5x5 stride-2 convs (conv -> batch norm -> ReLU), channels
64, 128, 256, 512, 512, ... (doubling, capped at 512), then one fully connected layer to 1024.
The number of convs follows from the input side: halve until the feature map is at most 5 px,
which gives the paper's settings:

- general model: local 128 px -> 5 convs (4x4x512 into the FC), global 256 px -> 6 convs (4x4x512);
- faces (section 4.5): local 96 px -> 5 convs (3x3x512), global 160 px -> 5 convs, one fewer (5x5x512).

`ContextDiscriminator` concatenates the two 1024-d outputs (2048) and maps them with one fully
connected layer to the probability that the image is real. Either branch can be switched off for the
ablation of Fig. 6 (global only, local only).

Normalisation (`norm`): "batch" is the paper's batch norm after every conv. "spectral" replaces it
with spectral normalisation of every conv and fully connected layer (Miyato et al. 2018), the usual
choice of later inpainting GANs; "none" has neither. A discriminator with batch norm can tell a
batch of real images from a batch of completions by their statistics alone when the two come in
separate batches (the training config's `discriminator_batch` says how they come).

`DiscriminatorConfig` (glcic.models.discriminator_config, which loads no torch) sizes them; its
presets are the paper's general (256/128) and face (160/96) settings.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from glcic.models.completion import scaled_channels

from glcic.models.discriminator_config import DISCRIMINATOR_PRESETS, MAX_FEATURE_SIDE, NORMS, DiscriminatorConfig  # noqa: F401

MAX_CHANNELS = 512
FEATURES = 1024  # each discriminator's output size


def conv_count(input_size: int) -> int:
    """Number of 5x5 stride-2 convs that brings `input_size` down to at most MAX_FEATURE_SIDE."""
    if input_size <= MAX_FEATURE_SIDE:
        raise ValueError(f"discriminator input must be larger than {MAX_FEATURE_SIDE} px, got {input_size}")
    return math.ceil(math.log2(input_size / MAX_FEATURE_SIDE))


def feature_side(input_size: int, convs: int) -> int:
    """Side of the last feature map: each 5x5 stride-2 conv with padding 2 maps n to ceil(n / 2)."""
    side = input_size
    for _ in range(convs):
        side = (side + 1) // 2
    return side


class ConvDiscriminator(nn.Module):
    """Shared body of the local and global discriminators: (B, C, S, S) -> (B, 1024), C = 3 (RGB) or
    4 (RGB and the hole mask)."""

    def __init__(self, input_size: int, width: float = 1.0, convs: int | None = None, norm: str = "batch", antialias: bool = False,
                 in_channels: int = 3, patches: bool = False):
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"unknown discriminator norm {norm!r}; choose one of {list(NORMS)}")
        self.input_size = input_size
        self.in_channels = in_channels
        self.patches = patches
        self.convs = (conv_count(input_size) - int(patches)) if convs is None else convs
        layers: list[nn.Module] = []
        for index in range(self.convs):
            out_channels = scaled_channels(min(64 * 2**index, MAX_CHANNELS), width)
            conv = nn.Conv2d(in_channels, out_channels, 5, stride=2, padding=2)
            if antialias:
                layers.append(Blur(in_channels))
            if norm == "batch":
                layers += [conv, nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True)]
            else:
                layers += [spectral(conv) if norm == "spectral" else conv, nn.ReLU(inplace=True)]
            in_channels = out_channels
        self.features = nn.Sequential(*layers)
        self.fc_inputs = in_channels * feature_side(input_size, self.convs) ** 2
        if patches:  # one logit per cell of the last feature map, no fully connected layer
            self.fc = nn.Conv2d(in_channels, 1, 1)
        else:
            self.fc = nn.Linear(self.fc_inputs, FEATURES)
        if norm == "spectral":
            self.fc = spectral(self.fc)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1:] != (self.in_channels, self.input_size, self.input_size):
            raise ValueError(f"{type(self).__name__} expects (B, {self.in_channels}, {self.input_size}, {self.input_size}), "
                             f"got {tuple(x.shape)}")
        if self.patches:
            return self.fc(self.features(x)).flatten(1)  # (B, cells): a logit per cell
        return self.fc(self.features(x).flatten(1))  # (B, 1024)

    def feature_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The activations after each conv block (after its ReLU), finest first: what the feature
        matching loss of `glcic.losses.feature_matching` compares."""
        maps = []
        for layer in self.features:
            x = layer(x)
            if isinstance(layer, nn.ReLU):
                maps.append(x)
        return maps


class Blur(nn.Module):
    """A fixed [1, 2, 1] x [1, 2, 1] / 16 low-pass per channel (same size, zero padding), put before a
    stride-2 conv so that it cannot alias (Zhang 2019, "Making convolutional networks shift-invariant
    again"). Without it a stride-2 conv folds a pattern at the pixel grid's own frequency (stripes 2 px
    apart) into a smooth shift of its features, and the completion network learns that stripes pass
    for texture (docs/adversarial.md)."""

    def __init__(self, channels: int):
        super().__init__()
        kernel = torch.tensor([1.0, 2.0, 1.0])
        kernel = (kernel[:, None] * kernel[None, :]) / 16
        self.register_buffer("kernel", kernel.expand(channels, 1, 3, 3).clone(), persistent=False)
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.conv2d(x, self.kernel.to(x.dtype), padding=1, groups=self.channels)


def spectral(layer: nn.Module) -> nn.Module:
    """`layer` with its weight spectrally normalised (one power iteration per training forward)."""
    return nn.utils.parametrizations.spectral_norm(layer)


class LocalDiscriminator(ConvDiscriminator):
    """Looks at a patch centred on the completed region (128 px in the paper, 96 px for faces); with
    `hole_channel`, the patch's hole mask as a 4th channel too, so it knows where to look (as the
    mask-conditioned discriminators of later inpainting GANs; not the paper's). With `patches`, one
    conv fewer and a 1x1 conv in place of the fully connected layer: a logit per cell of the last
    feature map (8 x 8 cells 8 px apart, each seeing 29 px, for a 64 px patch; a PatchGAN, Isola et
    al. 2017, not the paper's), so that a pattern in one part of the hole is scored where it is."""

    def __init__(self, input_size: int = 128, width: float = 1.0, convs: int | None = None, norm: str = "batch", antialias: bool = False,
                 hole_channel: bool = False, patches: bool = False):
        super().__init__(input_size, width, convs, norm, antialias, in_channels=4 if hole_channel else 3, patches=patches)


class GlobalDiscriminator(ConvDiscriminator):
    """Looks at the whole image, resized to `input_size` (256 px in the paper, 160 px for faces)."""

    def __init__(self, input_size: int = 256, width: float = 1.0, convs: int | None = None, norm: str = "batch", antialias: bool = False):
        super().__init__(input_size, width, convs, norm, antialias)


class ContextDiscriminator(nn.Module):
    """Global and local discriminators -> concatenation -> FC -> probability that the input is real.

    `use_global` / `use_local` switch a branch off for the ablation of Fig. 6; at least one is needed.
    `logits()` (or `forward(..., return_logits=True)`, which DistributedDataParallel can wrap) gives the
    pre-sigmoid score, which the losses use for numerical stability.
    """

    @classmethod
    def from_config(cls, config: DiscriminatorConfig) -> "ContextDiscriminator":
        return cls(config.global_size, config.local_size, config.width, config.use_global, config.use_local, config.norm,
                   config.antialias, config.hole_channel, config.patches)

    def __init__(
        self,
        global_size: int = 256,
        local_size: int = 128,
        width: float = 1.0,
        use_global: bool = True,
        use_local: bool = True,
        norm: str = "batch",
        antialias: bool = False,
        hole_channel: bool = False,
        patches: bool = False,
    ):
        super().__init__()
        if not (use_global or use_local):
            raise ValueError("ContextDiscriminator needs at least one of the global and local discriminators")
        if patches and use_global:
            raise ValueError("a local discriminator that scores patches runs alone (discriminators='local')")
        self.patches = patches
        self.global_discriminator = GlobalDiscriminator(global_size, width, norm=norm, antialias=antialias) if use_global else None
        self.local_discriminator = LocalDiscriminator(local_size, width, norm=norm, antialias=antialias,
                                                      hole_channel=hole_channel, patches=patches) if use_local else None
        self.fc = None if patches else nn.Linear(FEATURES * (int(use_global) + int(use_local)), 1)
        if norm == "spectral" and self.fc is not None:
            self.fc = spectral(self.fc)

    def logits(self, global_image: torch.Tensor | None, local_patch: torch.Tensor | None) -> torch.Tensor:
        if self.patches:
            return self.local_discriminator(local_patch)  # (B, cells)
        features = []
        if self.global_discriminator is not None:
            features.append(self.global_discriminator(global_image))  # (B, 1024)
        if self.local_discriminator is not None:
            features.append(self.local_discriminator(local_patch))  # (B, 1024)
        return self.fc(torch.cat(features, dim=1))  # (B, 2048 or 1024) -> (B, 1)

    def forward(self, global_image: torch.Tensor | None, local_patch: torch.Tensor | None, return_logits: bool = False) -> torch.Tensor:
        logits = self.logits(global_image, local_patch)  # (B, 1), or (B, cells) with patches
        return logits if return_logits else torch.sigmoid(logits)  # probability of real
