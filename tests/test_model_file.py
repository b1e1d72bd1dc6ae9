"""Model files: safetensors + JSON config, loaded in one call, never unpickled."""

import json
import pickle

import numpy as np
import pytest
import torch

import glcic
from glcic.config import MODEL_FORMAT_VERSION, ModelConfig
from glcic.errors import ModelFileError
from glcic.model_file import CONFIG_KEY, load_network, read_model_file, save_model

from conftest import TINY_WIDTH, tiny_network


def test_round_trip_keeps_weights_and_config(tmp_path):
    network = tiny_network(seed=3)
    config = ModelConfig(width=TINY_WIDTH, mean_pixel=(0.1, 0.2, 0.3), image_size=160, hole_min=48, hole_max=96, notes={"data": "test"})
    save_model(tmp_path / "m.safetensors", network, config)
    loaded, loaded_config = load_network(tmp_path / "m.safetensors")
    assert loaded_config == config
    for name, tensor in network.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[name], tensor, rtol=0, atol=0)


def test_loaded_model_predicts_like_the_saved_network(tmp_path):
    network = tiny_network(seed=4)
    save_model(tmp_path / "m.safetensors", network, ModelConfig(width=TINY_WIDTH))
    model = glcic.load_model(tmp_path / "m.safetensors")
    x = torch.rand(1, 4, 32, 48)
    with torch.no_grad():
        torch.testing.assert_close(model.network(x), network(x), atol=1e-5, rtol=1e-4)


def test_float16_storage_halves_the_file_and_loads_as_float32(tmp_path):
    network = tiny_network()
    save_model(tmp_path / "fp32.safetensors", network, ModelConfig(width=TINY_WIDTH))
    save_model(tmp_path / "fp16.safetensors", network, ModelConfig(width=TINY_WIDTH), dtype=torch.float16)
    ratio = (tmp_path / "fp16.safetensors").stat().st_size / (tmp_path / "fp32.safetensors").stat().st_size
    assert 0.45 < ratio < 0.6
    loaded, _ = load_network(tmp_path / "fp16.safetensors")
    assert all(t.dtype == torch.float32 for t in loaded.state_dict().values() if t.is_floating_point())


def test_config_is_readable_by_any_safetensors_reader(model_path):
    from safetensors import safe_open

    with safe_open(str(model_path), framework="pt") as handle:
        config = json.loads(handle.metadata()[CONFIG_KEY])
    assert config["architecture"] == "CompletionNetwork"
    assert config["format_version"] == MODEL_FORMAT_VERSION
    assert config["mean_pixel"] == [0.45, 0.42, 0.39]


def test_pickled_checkpoint_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "model.pt"
    torch.save(tiny_network().state_dict(), path)
    with pytest.raises(ModelFileError, match="never unpickles"):
        glcic.load_model(path)


def test_raw_pickle_that_would_run_code_is_refused(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    path = tmp_path / "model.safetensors"
    path.write_bytes(pickle.dumps(Exploit(), protocol=4))
    with pytest.raises(ModelFileError):
        glcic.load_model(path)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("content", [b"", b"hello, not a model", b"\x89PNG\r\n\x1a\n" + bytes(100)])
def test_non_model_files_get_a_clear_error(tmp_path, content):
    path = tmp_path / "model.safetensors"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match="not a safetensors model file"):
        glcic.load_model(path)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ModelFileError, match="not found.*nope.safetensors"):
        glcic.load_model(tmp_path / "nope.safetensors")


def test_safetensors_without_glcic_config_is_refused(tmp_path):
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(2)}, tmp_path / "other.safetensors")
    with pytest.raises(ModelFileError, match="not a glcic model"):
        glcic.load_model(tmp_path / "other.safetensors")


def test_weights_of_another_width_are_refused(tmp_path):
    from safetensors.torch import save

    tensors = {k: v.contiguous() for k, v in tiny_network().state_dict().items()}
    metadata = {CONFIG_KEY: ModelConfig(width=0.25).to_json()}
    (tmp_path / "m.safetensors").write_bytes(save(tensors, metadata=metadata))
    with pytest.raises(ModelFileError, match="shapes do not match"):
        glcic.load_model(tmp_path / "m.safetensors")


def test_newer_format_version_asks_for_an_upgrade(tmp_path):
    from safetensors.torch import save

    config = json.loads(ModelConfig(width=TINY_WIDTH).to_json())
    config["format_version"] = MODEL_FORMAT_VERSION + 1
    tensors = {k: v.contiguous() for k, v in tiny_network().state_dict().items()}
    (tmp_path / "m.safetensors").write_bytes(save(tensors, metadata={CONFIG_KEY: json.dumps(config)}))
    with pytest.raises(ModelFileError, match="upgrade glcic"):
        read_model_file(tmp_path / "m.safetensors")


def test_save_refuses_a_config_of_another_width(tmp_path):
    with pytest.raises(ValueError, match="width"):
        save_model(tmp_path / "m.safetensors", tiny_network(), ModelConfig(width=0.5))


@pytest.mark.parametrize("bad", [dict(mean_pixel=(0.5, 0.5)), dict(mean_pixel=(0, 2, 0)), dict(width=0), dict(hole_min=50, hole_max=10)])
def test_invalid_configs_are_refused(bad):
    with pytest.raises(ValueError):
        ModelConfig(**bad)


def test_saving_replaces_an_existing_file_only_when_complete(tmp_path):
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"old")
    save_model(path, tiny_network(), ModelConfig(width=TINY_WIDTH))
    assert read_model_file(path)[1].width == TINY_WIDTH
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]  # no temporary file left


def _write_raw(path, network, config):
    """A model file written without save_model's checks, as another program might write it."""
    from safetensors.torch import save

    from glcic.model_file import CONFIG_KEY

    tensors = {name: t.detach().contiguous() for name, t in network.state_dict().items()}
    path.write_bytes(save(tensors, metadata={CONFIG_KEY: config.to_json()}))


@pytest.mark.parametrize("damage, message", [
    (lambda n: n.blocks[3][0].weight.view(-1).__setitem__(0, float("nan")), "NaN or infinite weights"),
    (lambda n: n.blocks[3][1].running_var.__setitem__(0, -1.0), "negative batch-norm running variance"),
    (lambda n: n.blocks[3][0].weight.mul_(1e30), "overflow"),
])
def test_broken_weights_are_refused_at_load_by_save_and_by_info(tmp_path, damage, message):
    import subprocess
    import sys

    network = tiny_network()
    with torch.no_grad():
        damage(network)
    with pytest.raises(ModelFileError, match=message):
        save_model(tmp_path / "never.safetensors", network, ModelConfig(width=0.125))
    assert not (tmp_path / "never.safetensors").exists()
    path = tmp_path / "broken.safetensors"
    _write_raw(path, network, ModelConfig(width=0.125))
    with pytest.raises(ModelFileError, match=message):
        glcic.load_model(path)
    result = subprocess.run([sys.executable, "-m", "glcic", "info", str(path)], capture_output=True, text=True)
    assert result.returncode == 1 and "broken" in result.stderr and message.split()[0] in result.stderr


def test_a_network_whose_output_is_not_finite_never_fills_a_hole():
    import numpy as np

    model = glcic.load_model(None)
    with torch.no_grad():
        model.network.output.bias.fill_(float("nan"))  # a model that passed the checks but computes NaN
    image = np.full((64, 64, 3), 120, np.uint8)
    mask = np.zeros((64, 64), np.uint8)
    mask[20:40, 20:40] = 255
    with pytest.raises(ModelFileError, match="NaN or infinite values"):
        glcic.complete(model, image, mask)


@pytest.mark.parametrize("config_text, message", [
    ('{"width": 1e9, "format_version": 2}', "width must be a number in"),
    ('{"width": true, "format_version": 2}', "width must be a number in"),
    ("[" * 100000 + "]" * 100000, "nested too deeply"),
    ('{"hole_min": 1.5, "format_version": 2}', "hole_min"),
])
def test_metadata_is_validated_before_the_network_is_built(tmp_path, config_text, message):
    from safetensors.torch import save

    path = tmp_path / "bad.safetensors"
    path.write_bytes(save({"x": torch.zeros(1)}, metadata={"glcic.config": config_text}))
    with pytest.raises(ModelFileError, match=message):
        glcic.load_model(path)


def test_integer_weights_are_refused(tmp_path):
    from safetensors.torch import save

    tensors = {name: (t.to(torch.int32) if t.is_floating_point() else t) for name, t in tiny_network().state_dict().items()}
    path = tmp_path / "int.safetensors"
    path.write_bytes(save(tensors, metadata={"glcic.config": ModelConfig(width=0.125).to_json()}))
    with pytest.raises(ModelFileError, match="must be floating point"):
        glcic.load_model(path)
