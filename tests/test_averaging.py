"""`glcic average`: the mean of model files' weights, written as a model file."""

import subprocess
import sys

import pytest
import torch

from glcic.config import ModelConfig
from glcic.errors import GlcicError
from glcic.model_file import load_network, save_model
from glcic.models.completion import CompletionNetwork
from glcic.training.averaging import average_models

from conftest import TINY_WIDTH, tiny_network


def _save(path, seed, iteration):
    save_model(path, tiny_network(seed), ModelConfig(width=TINY_WIDTH, notes={"iteration": iteration}))
    return path


def test_the_average_is_the_mean_of_every_weight_and_statistic(tmp_path):
    paths = [_save(tmp_path / f"{i}.safetensors", seed=i, iteration=1000 * (i + 1)) for i in range(3)]
    config = average_models(paths, tmp_path / "mean.safetensors")
    averaged = load_network(tmp_path / "mean.safetensors")[0].state_dict()
    states = [load_network(path)[0].state_dict() for path in paths]
    for name, tensor in averaged.items():
        if tensor.is_floating_point():
            torch.testing.assert_close(tensor, sum(state[name] for state in states) / 3)
    assert not torch.equal(averaged["blocks.0.0.weight"], states[0]["blocks.0.0.weight"])  # really mixed
    assert config.notes["iteration"] == 3000 and config.notes["averaged_from"] == ["0.safetensors", "1.safetensors", "2.safetensors"]


def test_models_of_different_widths_are_refused(tmp_path):
    first = _save(tmp_path / "a.safetensors", seed=0, iteration=1)
    other = tmp_path / "b.safetensors"
    save_model(other, CompletionNetwork(width=0.25), ModelConfig(width=0.25))
    with pytest.raises(GlcicError, match="different widths"):
        average_models([first, other], tmp_path / "mean.safetensors")
    assert not (tmp_path / "mean.safetensors").exists()


def test_cli_writes_the_average_and_refuses_a_missing_file_in_one_line(tmp_path):
    paths = [_save(tmp_path / f"{i}.safetensors", seed=i, iteration=i) for i in range(2)]
    output = tmp_path / "mean.safetensors"
    done = subprocess.run([sys.executable, "-m", "glcic", "average", *map(str, paths), "-o", str(output), "--fp16"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert load_network(output)[0].blocks[0][0].weight.dtype == torch.float32 and output.stat().st_size < paths[0].stat().st_size
    missing = subprocess.run([sys.executable, "-m", "glcic", "average", str(paths[0]), str(tmp_path / "nope.safetensors"),
                              "-o", str(tmp_path / "other.safetensors")], capture_output=True, text=True, timeout=120)
    assert missing.returncode != 0 and len(missing.stderr.strip().splitlines()) == 1 and "not found" in missing.stderr
    assert not (tmp_path / "other.safetensors").exists()
    before = paths[0].read_bytes()
    onto_input = subprocess.run([sys.executable, "-m", "glcic", "average", *map(str, paths), "-o", str(paths[0])],
                                capture_output=True, text=True, timeout=120)
    assert onto_input.returncode != 0 and "exists" in onto_input.stderr and paths[0].read_bytes() == before
