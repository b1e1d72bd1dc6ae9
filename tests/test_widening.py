"""`glcic widen`: a wider network that computes what the narrow one does, and then trains on."""

import numpy as np
import pytest
import torch

from glcic.config import ModelConfig
from glcic.errors import GlcicError
from glcic.model_file import load_network, save_model
from glcic.training.widening import widen_model, widen_network

from conftest import TINY_WIDTH, tiny_network

WIDE = TINY_WIDTH * 2.5


def _inputs(seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    image = torch.rand(2, 3, 48, 64, generator=generator)
    hole = torch.zeros(2, 1, 48, 64)
    hole[:, :, 10:30, 20:40] = 1
    return torch.cat([image * (1 - hole) + 0.45 * hole, hole], 1)


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_without_noise_the_wider_network_computes_the_same(mode):
    narrow = tiny_network(3)
    wide = widen_network(narrow.eval(), WIDE, np.random.default_rng(0), noise=0.0)
    assert wide.blocks[0][0].out_channels > narrow.blocks[0][0].out_channels  # really wider
    for network in (narrow, wide):
        network.train(mode == "train")  # batch statistics: copies of a channel have the same ones
    with torch.no_grad():
        torch.testing.assert_close(wide(_inputs()), narrow(_inputs()), atol=2e-5, rtol=0)


def test_the_noise_sets_the_copies_apart_and_keeps_the_function_close():
    narrow = tiny_network(3).eval()
    wide = widen_network(narrow, WIDE, np.random.default_rng(0)).eval()
    exact = widen_network(narrow, WIDE, np.random.default_rng(0), noise=0.0).eval()
    with torch.no_grad():
        difference = (wide(_inputs()) - narrow(_inputs())).abs().mean().item()
    assert 0 < difference < 0.01
    assert not torch.equal(wide.blocks[3][0].weight, exact.blocks[3][0].weight)


def test_widen_writes_a_model_file_that_fine_tuning_reads(tmp_path):
    source = tmp_path / "narrow.safetensors"
    save_model(source, tiny_network(1), ModelConfig(width=TINY_WIDTH, notes={"iteration": 500}))
    config = widen_model(source, WIDE, tmp_path / "wide.safetensors", seed=2)
    network, read = load_network(tmp_path / "wide.safetensors")
    assert read.width == WIDE == config.width and network.width == WIDE
    assert read.notes["widened_from"]["width"] == TINY_WIDTH and read.notes["iteration"] == 500


def test_a_model_is_never_narrowed():
    with pytest.raises(GlcicError, match="only be widened"):
        widen_network(tiny_network(0), TINY_WIDTH / 2, np.random.default_rng(0))


def test_the_command_widens_and_refuses_to_overwrite(tmp_path, capsys):
    from glcic.cli import main

    source = tmp_path / "narrow.safetensors"
    save_model(source, tiny_network(1), ModelConfig(width=TINY_WIDTH))
    output = tmp_path / "wide.safetensors"
    assert main(["widen", str(source), "--width", str(WIDE), "-o", str(output)]) == 0
    assert load_network(output)[1].width == WIDE
    before = output.read_bytes()
    assert main(["widen", str(source), "--width", str(WIDE), "-o", str(output)]) == 1
    assert "exists" in capsys.readouterr().err and output.read_bytes() == before
