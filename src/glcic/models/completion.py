"""The completion network, Table 2 of the paper.

A fully convolutional encoder / dilated middle / decoder. Input: RGB with the hole filled by the
mean pixel, plus one mask channel (1 = pixel to complete). Output: RGB in [0, 1] (sigmoid).
Every layer but the last is conv -> batch norm -> ReLU (the order the paper uses; it also makes
batch-norm folding exact for inference). The output is at the input's resolution for any size whose
sides are a multiple of 4 (two stride-2 convs, two x2 deconvs).

At width 1.0 the network has 6,072,131 parameters, as in the paper; `width` scales every hidden
channel count for smaller, faster variants.

`noise` (not the paper's; 0 is Table 2) gives the last `noise` layers of the decoder (at most 4:
two at half resolution, two at full) a noise input: per-pixel Gaussian noise, one map per layer,
passed in as extra input channels after the mask, shaped by a learned 3x3 filter per output channel
and added after the layer's batch norm, before its ReLU (`NoiseInjection`, as StyleGAN injects
noise). A network trained on a reconstruction loss alone has only deterministic features to draw
fine texture from, and in the few thousand joint iterations a CPU gives, the adversarial term turns
them into 8 px blocks (docs/adversarial.md); with noise at full resolution, grain is a learned
filter away. The filters start near zero, so a fine-tune starts from the model it was given.
"""

from __future__ import annotations

import torch
from torch import nn

# (kind, kernel, dilation, stride, output channels at width 1.0), one row per line of Table 2.
# kind: "conv" or "deconv" (4x4 transposed conv, x2 up-sampling). The output layer is added apart.
TABLE_2: tuple[tuple[str, int, int, int, int], ...] = (
    ("conv", 5, 1, 1, 64),
    ("conv", 3, 1, 2, 128),
    ("conv", 3, 1, 1, 128),
    ("conv", 3, 1, 2, 256),
    ("conv", 3, 1, 1, 256),
    ("conv", 3, 1, 1, 256),
    ("conv", 3, 2, 1, 256),  # dilated convs: receptive field 99 -> 307 px
    ("conv", 3, 4, 1, 256),
    ("conv", 3, 8, 1, 256),
    ("conv", 3, 16, 1, 256),
    ("conv", 3, 1, 1, 256),
    ("conv", 3, 1, 1, 256),
    ("deconv", 4, 1, 2, 128),
    ("conv", 3, 1, 1, 128),
    ("deconv", 4, 1, 2, 64),
    ("conv", 3, 1, 1, 32),
)
SIZE_MULTIPLE = 4  # two stride-2 layers: input sides must be a multiple of 4
MAX_NOISE = 4  # the decoder's layers: deconv and conv at half resolution, deconv and conv at full
NOISE_INIT = 0.02  # std of the noise filters' initial weights: a faint grain, next to batch-normed features of std 1


def network_reach(table=TABLE_2) -> int:
    """How far (px) an output pixel sees: the largest distance from it to an input pixel that can
    change it, from the layer list. A conv adds (kernel - 1) / 2 x dilation steps of the current
    pixel spacing; a 4x4 stride-2 deconv reads one coarse pixel either side. Table 2 gives 153 px
    (measured by perturbing single pixels: 151-153 depending on the position mod 4)."""
    reach, spacing = 0, 1
    for kind, kernel, dilation, stride, _ in table:
        if kind == "deconv":
            reach += spacing  # output (2i - 1 + k) of a 4x4 / stride 2 / padding 1 deconv reads inputs i +- 1
            spacing //= stride
        else:
            reach += (kernel - 1) // 2 * dilation * spacing
            spacing *= stride
    return reach + 1  # the 3x3 output conv


def network_input(image: torch.Tensor, hole: torch.Tensor, mean_pixel: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
    """The completion network's input: the hole filled with the mean pixel, plus the mask channel,
    plus the noise maps of a network with `noise` layers (`noise` (B, N, H, W), standard normal).
    image (B, 3, H, W) in [0, 1]; hole (B, 1, H, W), 1 = hole; mean_pixel (1, 3, 1, 1)."""
    filled = image * (1 - hole) + mean_pixel * hole
    parts = [filled, hole] if noise is None else [filled, hole, noise.to(filled.dtype)]
    return torch.cat(parts, dim=1)  # (B, 4 + N, H, W): RGB + mask (+ noise)


def noise_maps(count: int, batch: int, height: int, width: int, generator: torch.Generator | None = None,
               device: torch.device | str = "cpu") -> torch.Tensor | None:
    """(batch, count, height, width) standard normal noise for a network with `count` noise layers
    (None when it has none); from `generator`, or torch's global RNG (which checkpoints keep)."""
    if not count:
        return None
    return torch.randn(batch, count, height, width, generator=generator, device=device)


class NoiseInjection(nn.Module):
    """x + gate(x) * filter(noise): one noise map (B, 1, H, W), subsampled to x's resolution,
    through a learned 3x3 convolution to x's channels (per-channel grain with a learned spectrum),
    times a gate 2 * sigmoid(1x1 conv of x) per pixel and channel, so that the network can keep the
    grain out of what should be smooth (a sky) and leave it in what should be rough (foliage). The
    gate starts at exactly 1 (zero weights): a model trained without it loads with it unchanged."""

    def __init__(self, channels: int):
        super().__init__()
        self.filter = nn.Conv2d(1, channels, 3, padding=1, bias=False)
        nn.init.normal_(self.filter.weight, std=NOISE_INIT)
        self.gate = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.gate.weight)
        nn.init.zeros_(self.gate.bias)

    def forward(self, x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        step = noise.shape[-1] // x.shape[-1]  # 1 at full resolution, 2 at half
        return x + 2 * torch.sigmoid(self.gate(x)) * self.filter(noise[..., ::step, ::step].to(x.dtype))


def composite(image: torch.Tensor, output: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """x * (1 - M) + C(x, M) * M: the known pixels kept, the hole from the network."""
    return image * (1 - hole) + output * hole


def scaled_channels(channels: int, width: float) -> int:
    """Hidden channel count at a width multiplier (at least 1)."""
    return max(1, round(channels * width))


class ConvBlock(nn.Sequential):
    """conv (or 4x4 stride-2 deconv) -> batch norm -> ReLU, with 'same' padding."""

    def __init__(self, in_channels: int, out_channels: int, kind: str, kernel: int, dilation: int, stride: int):
        if kind == "deconv":
            conv: nn.Module = nn.ConvTranspose2d(in_channels, out_channels, kernel, stride=stride, padding=1)
        else:
            padding = dilation * (kernel - 1) // 2
            conv = nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=padding, dilation=dilation)
        super().__init__(conv, nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class CompletionNetwork(nn.Module):
    """Table 2: (B, 4, H, W) RGB + hole mask -> (B, 3, H, W) RGB in [0, 1]; H, W multiples of 4."""

    def __init__(self, width: float = 1.0, noise: int = 0):
        super().__init__()
        if not width > 0:
            raise ValueError(f"width must be > 0, got {width}")
        if not (isinstance(noise, int) and 0 <= noise <= MAX_NOISE):
            raise ValueError(f"noise must be a whole number of decoder layers in 0-{MAX_NOISE}, got {noise!r}")
        self.width, self.noise = width, noise
        layers: list[nn.Module] = []
        in_channels = 4  # RGB + mask
        for kind, kernel, dilation, stride, channels in TABLE_2:
            out_channels = scaled_channels(channels, width)
            layers.append(ConvBlock(in_channels, out_channels, kind, kernel, dilation, stride))
            in_channels = out_channels
        self.blocks = nn.Sequential(*layers)
        self.output = nn.Conv2d(in_channels, 3, 3, padding=1)  # no batch norm, sigmoid
        # the last `noise` blocks' injections, in block order (absent from the state dict when noise is 0)
        self.injections = nn.ModuleList(NoiseInjection(block[0].out_channels) for block in layers[len(layers) - noise :]) if noise else None

    @property
    def input_channels(self) -> int:
        return 4 + self.noise  # RGB + mask + one noise map per noisy layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = x.shape
        if channels != self.input_channels or height % SIZE_MULTIPLE or width % SIZE_MULTIPLE:
            raise ValueError(
                f"CompletionNetwork expects (B, {self.input_channels}, H, W) with H, W multiples of {SIZE_MULTIPLE}, got {tuple(x.shape)}"
            )
        if not self.noise:
            return torch.sigmoid(self.output(self.blocks(x)))  # (B, 3, H, W)
        features, noise = x[:, :4], x[:, 4:]  # (B, 4, H, W), (B, N, H, W)
        first_noisy = len(self.blocks) - self.noise
        for index, block in enumerate(self.blocks):
            if index < first_noisy:
                features = block(features)
            else:  # conv -> batch norm -> + noise -> ReLU
                conv, norm, relu = block
                k = index - first_noisy
                features = relu(self.injections[k](norm(conv(features)), noise[:, k : k + 1]))
        return torch.sigmoid(self.output(features))  # (B, 3, H, W)


def fuse_batchnorm(network: CompletionNetwork) -> nn.Module:
    """An inference copy with each batch norm folded into its conv (exact in conv -> BN -> ReLU order).

    The network must be in eval mode (running statistics are folded). Returns a new module; the
    argument is not changed.
    """
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    import copy

    if network.training:
        raise ValueError("fuse_batchnorm needs a network in eval mode")
    layers: list[nn.Module] = []
    noisy: list[nn.Module] = []  # the noisy blocks' folded convs, their ReLU applied after the noise
    first_noisy = len(network.blocks) - network.noise
    for index, block in enumerate(network.blocks):
        conv, norm, _ = block
        fused = fuse_conv_bn_eval(conv, norm, transpose=isinstance(conv, nn.ConvTranspose2d))
        if index < first_noisy:
            layers += [fused, nn.ReLU(inplace=True)]
        else:
            noisy.append(nn.Sequential(fused))
    injections = copy.deepcopy(network.injections) if network.noise else None
    return FusedCompletionNetwork(nn.Sequential(*layers), network.output, nn.ModuleList(noisy) if noisy else None, injections).eval()


def subpixel_convolution(deconv: nn.ConvTranspose2d) -> nn.Conv2d:
    """The 3x3 convolution (padding 1) to 4x the channels that, followed by `nn.PixelShuffle(2)`,
    equals a 4x4 stride-2 padding-1 transposed convolution exactly (up to float rounding).

    Output pixel 2m + r along an axis takes input m + d through kernel tap k = 2(m - i) + r + 1:
    phase r = 0 uses taps 3 and 1 (inputs m - 1, m), phase r = 1 taps 2 and 0 (inputs m, m + 1);
    the 3x3 kernel of each of the 4 phases holds those taps and zeros. It costs 9/4 of the
    transposed convolution's multiply-adds, but runs as an ordinary convolution, which ONNX Runtime
    quantizes to int8 (it runs ConvTranspose in fp32, at a fraction of the int8 convolutions' speed).
    """
    in_channels, out_channels, kernel_h, kernel_w = deconv.weight.shape
    if (kernel_h, kernel_w) != (4, 4) or tuple(deconv.stride) != (2, 2) or tuple(deconv.padding) != (1, 1) \
            or tuple(deconv.dilation) != (1, 1) or tuple(deconv.output_padding) != (0, 0) or deconv.groups != 1:
        raise ValueError("subpixel_convolution needs a 4x4, stride-2, padding-1 transposed convolution")
    taps = {0: {-1: 3, 0: 1}, 1: {0: 2, 1: 0}}  # phase -> input offset -> kernel index
    weight = deconv.weight.detach()  # (in, out, 4, 4)
    kernel = weight.new_zeros(out_channels, 2, 2, in_channels, 3, 3)  # (out, phase y, phase x, in, 3, 3)
    for phase_y in (0, 1):
        for phase_x in (0, 1):
            for offset_y, tap_y in taps[phase_y].items():
                for offset_x, tap_x in taps[phase_x].items():
                    kernel[:, phase_y, phase_x, :, offset_y + 1, offset_x + 1] = weight[:, :, tap_y, tap_x].T
    conv = nn.Conv2d(in_channels, 4 * out_channels, 3, padding=1, bias=deconv.bias is not None)
    conv.weight.data = kernel.reshape(4 * out_channels, in_channels, 3, 3)  # channel c * 4 + phase: PixelShuffle's order
    if deconv.bias is not None:
        conv.bias.data = deconv.bias.detach().repeat_interleave(4)
    return conv.to(weight.device)


def subpixel_upsampling(network: "FusedCompletionNetwork") -> "FusedCompletionNetwork":
    """A copy of a folded network in which each deconv -> ReLU is conv -> ReLU -> pixel shuffle
    (`subpixel_convolution`; ReLU and the shuffle commute, so the ReLU stays fused with its conv).
    Used for the ONNX graph."""
    layers: list[nn.Module] = []
    modules = list(network.body)
    for index, module in enumerate(modules):
        if isinstance(module, nn.ConvTranspose2d):
            if index + 1 >= len(modules) or not isinstance(modules[index + 1], nn.ReLU):
                raise ValueError("subpixel_upsampling expects each transposed convolution to be followed by a ReLU")
            layers += [subpixel_convolution(module), nn.ReLU(inplace=True), nn.PixelShuffle(2)]
        elif isinstance(module, nn.ReLU) and layers and isinstance(layers[-1], nn.PixelShuffle):
            continue  # already placed before the shuffle
        else:
            layers.append(module)
    noisy = None
    if network.noisy is not None:  # pre-activation layers: deconv -> conv + pixel shuffle (the shuffle is a permutation)
        noisy = nn.ModuleList(
            nn.Sequential(subpixel_convolution(layer[0]), nn.PixelShuffle(2)) if isinstance(layer[0], nn.ConvTranspose2d) else layer
            for layer in network.noisy
        )
    return FusedCompletionNetwork(nn.Sequential(*layers), network.output, noisy, network.injections).eval()


class FusedCompletionNetwork(nn.Module):
    """A `CompletionNetwork` with batch norm folded away (inference only). For a network with noise
    layers, `noisy` holds their folded convs (before the ReLU) and `injections` their noise filters."""

    def __init__(self, body: nn.Sequential, output: nn.Conv2d, noisy: nn.ModuleList | None = None,
                 injections: nn.ModuleList | None = None):
        super().__init__()
        self.body = body
        self.output = output
        self.noisy = noisy
        self.injections = injections

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.noisy is None:
            return torch.sigmoid(self.output(self.body(x)))  # (B, 3, H, W)
        features = self.body(x[:, :4])
        for k, (layer, injection) in enumerate(zip(self.noisy, self.injections)):
            features = torch.relu(injection(layer(features), x[:, 4 + k : 5 + k]))
        return torch.sigmoid(self.output(features))  # (B, 3, H, W)
