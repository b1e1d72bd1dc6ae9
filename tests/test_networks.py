"""Tables 2 and 3: parameter counts and output shapes, for the paper's and the face setting."""

import pytest
import torch
from torch import nn

from glcic.models.discriminators import DISCRIMINATOR_PRESETS, DiscriminatorConfig
from glcic.models import CompletionNetwork, ContextDiscriminator, GlobalDiscriminator, LocalDiscriminator, fuse_batchnorm
from glcic.models.completion import subpixel_convolution, subpixel_upsampling


def parameters(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def conv_bn(in_channels: int, out_channels: int, kernel: int) -> int:
    return in_channels * out_channels * kernel * kernel + out_channels + 2 * out_channels


def discriminator_parameters(channels: list[int], fc_inputs: int) -> int:
    """Parameters of a Table 3 discriminator, counted by hand from the table."""
    total, previous = 0, 3
    for out in channels:
        total += conv_bn(previous, out, 5)
        previous = out
    return total + fc_inputs * 1024 + 1024


def test_completion_network_has_the_papers_parameter_count():
    assert parameters(CompletionNetwork()) == 6_072_131


@pytest.mark.parametrize("width", [0.125, 0.5])
def test_width_multiplier_shrinks_the_network(width):
    smaller = parameters(CompletionNetwork(width=width))
    assert smaller < parameters(CompletionNetwork())
    assert abs(smaller / 6_072_131 - width**2) < 0.05  # most parameters are in 256x256 convs


@pytest.mark.parametrize("size", [(8, 8), (36, 52), (128, 96)])
def test_completion_network_keeps_the_input_size(size):
    network = CompletionNetwork(width=0.125).eval()
    output = network(torch.rand(2, 4, *size))
    assert output.shape == (2, 3, *size)
    assert 0 <= output.min() and output.max() <= 1  # sigmoid


def test_completion_network_refuses_sizes_not_multiple_of_4():
    with pytest.raises(ValueError, match="multiples of 4"):
        CompletionNetwork(width=0.125)(torch.rand(1, 4, 30, 32))


def test_completion_network_layer_order_is_conv_bn_relu():
    block = CompletionNetwork(width=0.125).blocks[0]
    assert [type(m).__name__ for m in block] == ["Conv2d", "BatchNorm2d", "ReLU"]


def test_batchnorm_folding_is_exact():
    torch.manual_seed(0)
    network = CompletionNetwork(width=0.25)
    network.train()
    network(torch.rand(4, 4, 32, 32))  # populate running statistics
    network.eval()
    x = torch.rand(2, 4, 40, 24)
    torch.testing.assert_close(fuse_batchnorm(network)(x), network(x), atol=1e-5, rtol=1e-4)


def test_subpixel_convolution_equals_the_transposed_convolution():
    torch.manual_seed(0)
    deconv = nn.ConvTranspose2d(6, 5, 4, stride=2, padding=1)
    x = torch.randn(2, 6, 7, 10)  # odd sizes: every phase meets the border
    torch.testing.assert_close(nn.PixelShuffle(2)(subpixel_convolution(deconv)(x)), deconv(x), atol=1e-5, rtol=1e-4)
    with pytest.raises(ValueError, match="4x4, stride-2"):
        subpixel_convolution(nn.ConvTranspose2d(6, 5, 3, stride=2, padding=1))


def test_subpixel_upsampling_keeps_the_network_and_has_no_transposed_convolution():
    torch.manual_seed(1)
    network = CompletionNetwork(width=0.25)
    network.train()
    network(torch.rand(4, 4, 32, 32))
    network.eval()
    rewritten = subpixel_upsampling(fuse_batchnorm(network))
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in rewritten.modules())
    assert sum(isinstance(m, nn.PixelShuffle) for m in rewritten.modules()) == 2
    x = torch.rand(2, 4, 36, 28)
    torch.testing.assert_close(rewritten(x), network(x), atol=1e-5, rtol=1e-4)


# (setting, global side, local side, global conv channels, local conv channels, global FC in, local FC in)
SETTINGS = [
    ("paper", 256, 128, [64, 128, 256, 512, 512, 512], [64, 128, 256, 512, 512], 512 * 4 * 4, 512 * 4 * 4),
    ("faces", 160, 96, [64, 128, 256, 512, 512], [64, 128, 256, 512, 512], 512 * 5 * 5, 512 * 3 * 3),
]


@pytest.mark.parametrize("setting, global_size, local_size, global_channels, local_channels, global_fc, local_fc", SETTINGS)
def test_discriminators_follow_table_3(setting, global_size, local_size, global_channels, local_channels, global_fc, local_fc):
    config = DISCRIMINATOR_PRESETS[setting]
    assert (config.global_size, config.local_size) == (global_size, local_size)
    discriminator = ContextDiscriminator.from_config(config)
    assert discriminator.global_discriminator.convs == len(global_channels)
    assert discriminator.local_discriminator.convs == len(local_channels)
    assert discriminator.global_discriminator.fc_inputs == global_fc
    assert discriminator.local_discriminator.fc_inputs == local_fc
    assert parameters(discriminator.global_discriminator) == discriminator_parameters(global_channels, global_fc)
    assert parameters(discriminator.local_discriminator) == discriminator_parameters(local_channels, local_fc)
    expected = discriminator_parameters(global_channels, global_fc) + discriminator_parameters(local_channels, local_fc)
    assert parameters(discriminator) == expected + 2048 + 1  # concatenation -> FC 1

    discriminator.eval()
    images, patches = torch.rand(3, 3, global_size, global_size), torch.rand(3, 3, local_size, local_size)
    probability = discriminator(images, patches)
    assert probability.shape == (3, 1)
    assert ((probability > 0) & (probability < 1)).all()
    assert discriminator.global_discriminator(images).shape == (3, 1024)
    assert discriminator.local_discriminator(patches).shape == (3, 1024)


def test_faces_global_discriminator_has_one_conv_fewer():
    assert GlobalDiscriminator(160).convs == GlobalDiscriminator(256).convs - 1
    assert LocalDiscriminator(96).convs == LocalDiscriminator(128).convs


@pytest.mark.parametrize("use_global, use_local, features", [(True, False, 1024), (False, True, 1024), (True, True, 2048)])
def test_ablation_switches_drop_a_branch(use_global, use_local, features):
    discriminator = ContextDiscriminator.from_config(DiscriminatorConfig(use_global=use_global, use_local=use_local, width=0.125)).eval()
    assert (discriminator.global_discriminator is not None) == use_global
    assert (discriminator.local_discriminator is not None) == use_local
    assert discriminator.fc.in_features == features
    images = torch.rand(2, 3, 256, 256) if use_global else None
    patches = torch.rand(2, 3, 128, 128) if use_local else None
    assert discriminator(images, patches).shape == (2, 1)


def test_context_discriminator_needs_a_branch():
    with pytest.raises(ValueError, match="at least one"):
        ContextDiscriminator(use_global=False, use_local=False)


def test_discriminator_refuses_wrong_input_size():
    with pytest.raises(ValueError, match="expects"):
        LocalDiscriminator(128, width=0.125)(torch.rand(1, 3, 96, 96))
