"""Noise layers (`--noise`, not the paper's): the network, its files, reproducible completion, training."""

import numpy as np
import pytest
import torch

import glcic
from glcic.config import ModelConfig
from glcic.errors import ModelFileError
from glcic.inference.complete import predict, predict_windows
from glcic.inference.noise import position_noise
from glcic.inference.regions import plan_windows
from glcic.model_file import load_network, read_model_file, save_model
from glcic.models.completion import CompletionNetwork, fuse_batchnorm, network_reach, subpixel_upsampling
from glcic.pixels import split_rgb

from conftest import box_mask, scene, tiny_network


def test_position_noise_is_standard_normal_and_a_function_of_the_pixel_alone():
    maps = position_noise(3, np.arange(-8, 200), np.arange(-8, 300), seed=5)  # (3, 208, 308)
    assert maps.shape == (3, 208, 308) and maps.dtype == np.float32
    assert abs(maps.mean()) < 0.02 and abs(maps.std() - 1) < 0.02
    assert abs(np.corrcoef(maps[0].ravel(), maps[1].ravel())[0, 1]) < 0.02  # layers independent
    assert abs(np.corrcoef(maps[0, :, :-1].ravel(), maps[0, :, 1:].ravel())[0, 1]) < 0.02  # neighbours independent
    crop = position_noise(3, np.arange(40, 60), np.arange(100, 130), seed=5)
    np.testing.assert_array_equal(crop, maps[:, 48:68, 108:138])  # a window reads the same values
    assert not np.array_equal(position_noise(3, np.arange(40, 60), np.arange(100, 130), seed=6), crop)


def noisy_network(seed: int = 0, noise: int = 4, strength: float = 0.3) -> CompletionNetwork:
    """The bundled model's trained weights with noise layers of visible strength."""
    trained, _ = load_network(glcic.model_file.bundled_model_path())
    torch.manual_seed(seed)
    network = CompletionNetwork(trained.width, noise=noise)
    missing, unexpected = network.load_state_dict(trained.state_dict(), strict=False)
    assert not unexpected and all(name.startswith("injections.") for name in missing)
    with torch.no_grad():
        for injection in network.injections:
            injection.filter.weight.normal_(0, strength)
            injection.gate.weight.normal_(0, 0.1)  # a gate that varies with the features
    return network.eval()


@pytest.fixture(scope="module")
def noisy_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("noisy") / "noisy.safetensors"
    config = read_model_file(glcic.model_file.bundled_model_path())[1]
    save_model(path, noisy_network(), ModelConfig(width=config.width, noise=4, mean_pixel=config.mean_pixel, hole_min=config.hole_min,
                                                  hole_max=config.hole_max, image_size=config.image_size))
    return path


@pytest.fixture(scope="module")
def noisy(noisy_path):
    return glcic.load_model(noisy_path)


def test_without_noise_the_network_is_table_2_and_noise_adds_only_the_filters_and_gates():
    plain, noisy_ = CompletionNetwork(0.25), CompletionNetwork(0.25, noise=2)
    assert not any(name.startswith("injections") for name in plain.state_dict())
    extra = set(noisy_.state_dict()) - set(plain.state_dict())
    assert extra == {f"injections.{k}.{name}" for k in (0, 1) for name in ("filter.weight", "gate.weight", "gate.bias")}
    assert noisy_.input_channels == 6
    with pytest.raises(ValueError, match="noise must be"):
        CompletionNetwork(0.25, noise=5)
    with pytest.raises(ValueError, match=r"\(B, 6, H, W\)"):
        noisy_(torch.zeros(1, 4, 32, 32))


def test_noise_changes_the_output_and_zero_filters_give_the_plain_network():
    network = noisy_network()
    x = torch.rand(1, 4, 64, 64)
    noise = torch.randn(1, 4, 64, 64)
    with torch.no_grad():
        assert (network(torch.cat([x, noise], 1)) - network(torch.cat([x, -noise], 1))).abs().max() > 0.01
        for injection in network.injections:
            injection.filter.weight.zero_()
        plain, _ = load_network(glcic.model_file.bundled_model_path())
        torch.testing.assert_close(network(torch.cat([x, noise], 1)), plain.eval()(x), atol=1e-6, rtol=0)


def test_a_closed_gate_keeps_the_grain_out_and_a_fresh_gate_passes_it_unchanged():
    network = noisy_network()
    x, noise = torch.rand(1, 4, 64, 64), torch.randn(1, 4, 64, 64)
    plain, _ = load_network(glcic.model_file.bundled_model_path())
    with torch.no_grad():
        fresh = CompletionNetwork(network.width, noise=4).injections[0].gate  # zero weights: 2 * sigmoid(0) = 1
        features = torch.randn(1, network.injections[0].filter.out_channels, 8, 8)
        assert torch.equal(2 * torch.sigmoid(fresh(features)), torch.ones_like(features))
        for injection in network.injections:
            injection.gate.bias.fill_(-40.0)  # 2 * sigmoid(-40): no grain anywhere
        torch.testing.assert_close(network(torch.cat([x, noise], 1)), plain.eval()(x), atol=1e-6, rtol=0)


def test_folding_and_subpixel_upsampling_keep_a_noisy_network_exact():
    network = noisy_network()
    x = torch.cat([torch.rand(2, 4, 48, 56), torch.randn(2, 4, 48, 56)], 1)
    with torch.no_grad():
        expected = network(x)
        torch.testing.assert_close(fuse_batchnorm(network)(x), expected, atol=1e-5, rtol=0)
        torch.testing.assert_close(subpixel_upsampling(fuse_batchnorm(network))(x), expected, atol=1e-5, rtol=0)


def test_model_file_keeps_the_noise_layers_and_refuses_a_mismatch(noisy_path, tmp_path):
    network, config = load_network(noisy_path)
    assert config.noise == 4 and network.noise == 4
    with pytest.raises(ValueError, match="noise layers"):
        save_model(tmp_path / "x.safetensors", network, ModelConfig(width=config.width, noise=2))
    tensors, _ = read_model_file(noisy_path)
    from safetensors.torch import save_file

    save_file({k: v for k, v in tensors.items() if not k.startswith("injections")}, tmp_path / "cut.safetensors",
              metadata={"glcic.config": config.to_json()})
    with pytest.raises(ModelFileError, match="noise layers"):
        load_network(tmp_path / "cut.safetensors")


@pytest.mark.parametrize("boxes", [[(300, 380, 60, 80)], [(0, 0, 50, 70), (230, 733, 40, 27)]])
def test_windows_reproduce_the_whole_image_run_with_noise(noisy, boxes):
    image = split_rgb(scene(513, 761, seed=3))
    hole = box_mask(513, 761, *boxes)
    windows, labels = plan_windows(hole, working_depth=None, reach=network_reach(), native=True)
    assert all(w.box.height * w.box.width < 513 * 761 for w in windows)
    windowed = predict_windows(noisy, image, hole, windows, labels, seed=3)
    whole = predict(noisy, image, hole, seed=3)
    assert np.abs(windowed[hole] - whole[hole]).max() < 1e-5


def test_a_seed_gives_one_fill_and_another_seed_another(noisy):
    image = scene(200, 240, seed=1)
    hole = box_mask(200, 240, (60, 80, 50, 70))
    first, again = (glcic.complete(noisy, image, hole, seed=7) for _ in range(2))
    np.testing.assert_array_equal(first, again)
    other = glcic.complete(noisy, image, hole, seed=8)
    assert np.abs(other[hole].astype(int) - first[hole]).mean() > 1
    np.testing.assert_array_equal(other[~hole], image[~hole])


def test_noise_scale_sets_the_grain_strength_and_a_model_file_carries_its_own(noisy, noisy_path, tmp_path):
    import dataclasses

    from glcic.cli import main
    from glcic.errors import GlcicError
    from glcic.image_io import read_image, write_image

    image, hole = scene(160, 200, seed=5), box_mask(160, 200, (50, 60, 40, 50))
    none = glcic.complete(noisy, image, hole, seed=1, noise_scale=0.0)
    np.testing.assert_array_equal(glcic.complete(noisy, image, hole, seed=2, noise_scale=0.0), none)  # no noise: no seed
    full, half = (glcic.complete(noisy, image, hole, seed=1, noise_scale=s).astype(int) for s in (1.0, 0.5))
    assert 0 < np.abs(half - none)[hole].mean() < np.abs(full - none)[hole].mean()
    for bad in (-0.1, 2.5, float("nan")):
        with pytest.raises(GlcicError, match="noise scale must be"):
            glcic.complete(noisy, image, hole, noise_scale=bad)
    network, config = load_network(noisy_path)
    save_model(tmp_path / "quiet.safetensors", network, dataclasses.replace(config, noise_scale=0.0))
    quiet = glcic.load_model(tmp_path / "quiet.safetensors")
    assert quiet.config.noise_scale == 0.0
    np.testing.assert_array_equal(glcic.complete(quiet, image, hole, seed=1), none)
    write_image(tmp_path / "in.png", image), write_image(tmp_path / "mask.png", hole.astype(np.uint8) * 255)
    common = [str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"), "--model", str(noisy_path), "--precision", "fp32",
              "--no-texture"]
    assert main(["complete", *common, "-o", str(tmp_path / "out.png"), "--noise-scale", "0", "--seed", "1"]) == 0
    np.testing.assert_array_equal(read_image(tmp_path / "out.png"), none)
    with pytest.raises(SystemExit) as exit_:
        main(["complete", *common, "-o", str(tmp_path / "bad.png"), "--noise-scale", "3"])
    assert exit_.value.code == 2 and not (tmp_path / "bad.png").exists()


def test_flip_averaging_is_off_by_default_for_a_noisy_model_only(noisy, monkeypatch):
    import glcic.inference.complete as completion

    seen = []
    original = completion.predict_windows
    monkeypatch.setattr(completion, "predict_windows", lambda *a, **k: seen.append(a[6]) or original(*a, **k))
    image, hole = scene(96, 128), box_mask(96, 128, (30, 40, 20, 30))
    glcic.complete(noisy, image, hole)
    glcic.complete(glcic.load_model(), image, hole)
    glcic.complete(noisy, image, hole, flip_average=True)
    assert seen == [False, True, True]


def test_onnx_runs_a_noisy_model_like_torch(noisy, noisy_path):
    pytest.importorskip("onnxruntime")
    image, hole = scene(160, 200, seed=2), box_mask(160, 200, (50, 60, 40, 50))
    onnx_model = glcic.load_model(noisy_path, backend="onnx")
    expected = glcic.complete(noisy, image, hole, postprocess=False, seed=4).astype(int)
    assert np.abs(glcic.complete(onnx_model, image, hole, postprocess=False, seed=4).astype(int) - expected).max() <= 1


def test_a_plain_model_fine_tunes_into_a_noisy_one_with_a_frozen_encoder_and_resumes_exactly(tmp_path):
    from glcic.training import TrainConfig, train
    from glcic.training.checkpoint import load_checkpoint
    from glcic.training.export import export_model

    from test_training import TINY, make_photos

    photos = make_photos(tmp_path / "photos")
    start = tmp_path / "plain.safetensors"
    save_model(start, tiny_network(), ModelConfig(width=TINY["width"], mean_pixel=(0.45, 0.42, 0.39)))
    config = TrainConfig(data=str(photos), **{**TINY, "completion_iterations": 0, "total_iterations": 6, "checkpoint_every": 100},
                         noise=2, fine_tune_from=str(start), reconstruction_blur=1.0, frozen_blocks=12)
    straight, interrupted = tmp_path / "straight", tmp_path / "interrupted"
    train(config, straight, progress=False)
    train(config, interrupted, stop_after=3, progress=False)
    train(None, interrupted, resume=True, progress=False)
    a, b = load_checkpoint(straight), load_checkpoint(interrupted)
    assert all(torch.equal(a["completion"][k], b["completion"][k]) for k in a["completion"])
    torch.manual_seed(config.seed)
    initial = CompletionNetwork(TINY["width"], noise=2).state_dict()["injections.0.filter.weight"]
    assert not torch.equal(a["completion"]["injections.0.filter.weight"], initial)  # the noise filters train
    plain = tiny_network().state_dict()
    for name, value in a["completion"].items():  # the first 12 layers keep their weights, the decoder trains
        if name.endswith("weight") and name.startswith("blocks."):
            assert torch.equal(value, plain[name]) == (int(name.split(".")[1]) < 12), name
    exported = export_model(straight, tmp_path / "noisy.safetensors")
    assert exported.noise == 2
    model = glcic.load_model(tmp_path / "noisy.safetensors")
    image, hole = scene(64, 80), box_mask(64, 80, (20, 20, 16, 24))
    np.testing.assert_array_equal(glcic.complete(model, image, hole)[~hole], image[~hole])
