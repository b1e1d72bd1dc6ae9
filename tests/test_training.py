"""Training (Algorithm 1): phases, losses, data, checkpoints, resume, signals, export, fine-tuning.

Everything runs the real loop on real image files made here, with tiny networks and 48 px crops.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from glcic.errors import GlcicError

from conftest import scene
from glcic.image_io import write_image
from glcic.training import TrainConfig, export_model, preset, train
from glcic.training.checkpoint import load_checkpoint

TINY = dict(
    image_size=48, resize_min=48, resize_max=64, hole_min=12, hole_max=20, local_size=24, global_size=48,
    width=0.125, discriminator_width=0.125, batch_size=2, workers=0, sample_count=2,
    completion_iterations=2, discriminator_iterations=2, total_iterations=6,
    log_every=1, sample_every=3, checkpoint_every=3, preset="cpu",
)


def make_photos(folder: Path, count: int = 8) -> Path:
    """`count` photo-like images in a nested folder, in three formats, plus files to be skipped."""
    (folder / "nested" / "deeper").mkdir(parents=True)
    for i in range(count):
        place = folder / ("nested/deeper" if i % 3 == 2 else "nested" if i % 3 == 1 else "")
        write_image(place / f"photo{i}{['.png', '.jpg', '.webp'][i % 3]}", scene(60 + 5 * i, 80 - 3 * i, seed=i))
    (folder / "notes.txt").write_text("not an image")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    write_image(folder / "tiny.png", scene(12, 16))
    return folder


@pytest.fixture(scope="session")
def photos(tmp_path_factory):
    return make_photos(tmp_path_factory.mktemp("photos"))


def tiny_config(data: Path, **overrides) -> TrainConfig:
    return TrainConfig(data=str(data), **{**TINY, **overrides})


def metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def glcic(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "glcic", *map(str, args)], capture_output=True, text=True, timeout=300, **kwargs)


def cli_config_args(data: Path, drop: tuple[str, ...] = (), **overrides) -> list[str]:
    values = {**TINY, **overrides}
    for key in ("preset", *drop):
        values.pop(key)
    args = ["--data", str(data), "--preset", "cpu", "--no-progress"]
    for key, value in values.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    return args


# --- phases ---------------------------------------------------------------------------------------


def test_every_phase_runs_and_switches_at_the_configured_iterations(photos, tmp_path):
    run = tmp_path / "run"
    result = train(tiny_config(photos, completion_iterations=2, discriminator_iterations=3, total_iterations=7), run, progress=False)
    assert result.iteration == 7 and result.stopped_by is None
    records = metrics(run)
    assert [r["iteration"] for r in records] == list(range(1, 8))
    assert [r["phase"] for r in records] == ["completion"] * 2 + ["discriminator"] * 3 + ["joint"] * 2
    assert set(records[0]) >= {"mse"} and "discriminator" not in records[0]
    assert set(records[2]) >= {"discriminator", "real_score", "fake_score"} and "mse" not in records[2]
    assert set(records[-1]) >= {"mse", "adversarial", "discriminator"}
    assert all(np.isfinite(r[k]) for r in records for k in ("mse", "discriminator", "adversarial") if k in r)
    saved = json.loads((run / "config.json").read_text())
    assert saved["config"]["total_iterations"] == 7 and saved["resolved"]["global_batch_size"] == 2
    assert saved["resolved"]["training_images"] == 8
    assert saved["resolved"]["skipped_files"] == {"unreadable": 1, "too small": 1}
    assert len(saved["config"]["mean_pixel"]) == 3
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["iteration_0000003.png", "iteration_0000006.png", "iteration_0000007.png"]
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))
    log = (run / "log.txt").read_text()
    assert "skipped unreadable image" in log and "skipped too small image" in log
    assert "iteration 2: phase discriminator" in log and "iteration 5: phase joint" in log


def test_sample_sheet_shows_input_completion_and_original(photos, tmp_path):
    from glcic.image_io import read_image

    run = tmp_path / "run"
    train(tiny_config(photos, total_iterations=3, completion_iterations=3, discriminator_iterations=0, sample_count=3), run, progress=False)
    sheet = read_image(run / "samples" / "iteration_0000003.png")
    assert sheet.shape == (3 * 48, 3 * 48, 3)  # 3 rows of input | completion | original
    first_input, original = sheet[:48, :48].astype(int), sheet[:48, 96:].astype(int)
    outside = (first_input != 255).any(axis=2)  # the hole is shown in white
    assert (first_input[outside] == original[outside]).all()
    assert (first_input == 255).all(axis=2).sum() >= 12 * 12  # the hole is there


def test_discriminator_phase_keeps_the_completion_network_fixed(photos, tmp_path):
    run = tmp_path / "run"
    config = tiny_config(photos, completion_iterations=2, discriminator_iterations=3, total_iterations=6, checkpoint_every=100)
    train(config, run, stop_after=2, progress=False)
    before = load_checkpoint(run)
    train(None, run, resume=True, stop_after=3, progress=False)
    after = load_checkpoint(run)
    assert after["iteration"] == 5 and after["phase"] == "discriminator"
    weights = [k for k in before["completion"] if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    assert all(torch.equal(before["completion"][k], after["completion"][k]) for k in weights)
    changed = [k for k in before["discriminator"] if not torch.equal(before["discriminator"][k], after["discriminator"][k])]
    assert any(k.endswith("weight") for k in changed)


def test_completion_phase_does_not_touch_the_discriminators(photos, tmp_path):
    from glcic.models.discriminators import ContextDiscriminator, DiscriminatorConfig
    from glcic.models.completion import CompletionNetwork

    run = tmp_path / "run"
    config = tiny_config(photos, completion_iterations=3, total_iterations=6, checkpoint_every=100)
    train(config, run, stop_after=3, progress=False)
    torch.manual_seed(config.seed)  # the loop's construction order: completion, then discriminators
    CompletionNetwork(width=config.width)
    fresh = ContextDiscriminator.from_config(DiscriminatorConfig(config.global_size, config.local_size, config.discriminator_width)).state_dict()
    saved = load_checkpoint(run)["discriminator"]
    assert all(torch.equal(fresh[k], saved[k]) for k in fresh)


@pytest.mark.parametrize("choice, branches", [
    ("both", {"global_discriminator", "local_discriminator"}),
    ("global", {"global_discriminator"}),
    ("local", {"local_discriminator"}),
    ("none", None),
])
def test_ablation_switches_choose_the_discriminators(photos, tmp_path, choice, branches):
    run = tmp_path / "run"
    train(tiny_config(photos, discriminators=choice), run, progress=False)
    state = load_checkpoint(run)
    if branches is None:
        assert state["discriminator"] is None and state["discriminator_optimizer"] is None
        assert {r["phase"] for r in metrics(run)} == {"completion"}  # weighted MSE only, all T_train
    else:
        assert {k.split(".")[0] for k in state["discriminator"]} == branches | {"fc"}
        assert {r["phase"] for r in metrics(run)} == {"completion", "discriminator", "joint"}


# --- no gradient leaks ----------------------------------------------------------------------------


def _networks_and_batch(photos, **overrides):
    from torch.utils.data import default_collate

    from glcic.data import TrainingImages, scan_images
    from glcic.training import distributed
    from glcic.training.loop import _build_networks
    from glcic.training.phases import Batch

    config = tiny_config(photos, mean_pixel=(0.5, 0.5, 0.5), batch_size=3, **overrides)
    paths, _ = scan_images(config.data, config.image_size // 2)
    networks = _build_networks(config, distributed.World(), None)
    dataset = TrainingImages(paths, config.data_config(), seed=0)
    batch = Batch.from_loader(default_collate([dataset[(0, i)] for i in range(3)]), torch.device("cpu"))
    return networks, batch


def _parameters(module):
    return [p.detach().clone() for p in module.parameters()]


def _same(first, second):
    return all(torch.equal(a, b) for a, b in zip(first, second))


@pytest.mark.parametrize("balance", [False, True])
def test_no_gradient_leaks_between_the_networks(photos, balance):
    from glcic.training.phases import complete_batch, completion_update, discriminator_update

    cpu = torch.device("cpu")
    networks, batch = _networks_and_batch(photos, balance_gradients=balance)
    start = copy.deepcopy(networks)

    # a discriminator update is the same whether or not a completion-network update ran before it
    alone = copy.deepcopy(start)
    _, composite = complete_batch(alone.completion, batch, alone)
    discriminator_update(alone, batch, composite, cpu)
    after_completion = copy.deepcopy(start)
    output, composite_with_graph = complete_batch(after_completion.completion, batch, after_completion)
    completion_update(after_completion, batch, output, composite_with_graph, cpu)
    assert all(p.grad is None for p in after_completion.discriminator.parameters())
    discriminator_update(after_completion, batch, composite.detach(), cpu)
    assert _same(_parameters(alone.discriminator), _parameters(after_completion.discriminator))
    assert not _same(_parameters(start.discriminator), _parameters(alone.discriminator))

    # and the converse: a completion update is the same whether or not a discriminator update ran before
    alone = copy.deepcopy(start)
    output, composite = complete_batch(alone.completion, batch, alone)
    completion_update(alone, batch, output, composite, cpu)
    after_discriminator = copy.deepcopy(start)
    output, composite = complete_batch(after_discriminator.completion, batch, after_discriminator)
    discriminator_update(after_discriminator, batch, composite, cpu)  # composite still has its graph
    assert all(p.grad is None for p in after_discriminator.completion.parameters())
    after_discriminator.discriminator.load_state_dict(start.discriminator.state_dict())  # same D for both
    output, composite = complete_batch(after_discriminator.completion, batch, after_discriminator)
    completion_update(after_discriminator, batch, output, composite, cpu)
    assert _same(_parameters(alone.completion), _parameters(after_discriminator.completion))
    assert not _same(_parameters(start.completion), _parameters(alone.completion))


def test_discriminators_see_the_composite_and_patches_centred_on_each_hole(photos):
    from glcic.masks import hole_box, local_patch_box
    from glcic.training.phases import complete_batch, local_patches

    networks, batch = _networks_and_batch(photos)
    output, composite = complete_batch(networks.completion, batch, networks)
    outside = batch.hole == 0
    assert torch.equal(composite.expand_as(batch.image)[outside.expand_as(batch.image)], batch.image[outside.expand_as(batch.image)])
    inside = (batch.hole == 1).expand_as(output)
    assert torch.equal(composite[inside], output[inside])
    patches = local_patches(composite, batch.hole_patch, 24)  # (B, 3, 24, 24)
    for i in range(3):
        box = local_patch_box(hole_box(batch.hole[i, 0].numpy() > 0), 24, 48, 48)
        assert list(batch.hole_patch[i]) == [box.top, box.left]
        assert torch.equal(patches[i], composite[i, :, box.top : box.top + 24, box.left : box.left + 24])
    assert len({tuple(corner) for corner in batch.hole_patch}) > 1  # each sample has its own patch


# --- losses ---------------------------------------------------------------------------------------


def test_the_grid_prior_sees_a_pattern_locked_to_the_pixel_grid_and_not_texture_or_contrast():
    from glcic.losses import grid_prior

    image = torch.from_numpy(np.stack([scene(128, 128, seed) for seed in range(4)])).permute(0, 3, 1, 2).float() / 255
    hole = torch.zeros(4, 1, 128, 128)
    hole[:, :, 32:96, 24:88] = 1
    rows, cols = torch.meshgrid(torch.arange(128), torch.arange(128), indexing="ij")
    blocks = ((rows // 4 + cols // 4) % 2 * 2 - 1).float() * 4 / 255  # the 8 px checkerboard of section 3
    photo, patterned = grid_prior(image, hole).item(), grid_prior((image + blocks).clamp(0, 1), hole).item()
    assert patterned > 3 * photo
    assert grid_prior(image * 0.5, hole).item() == pytest.approx(photo, rel=0.05)  # a share, not an amount of detail
    softer = image.clone().requires_grad_(True)
    grid_prior(softer, hole).backward()
    assert softer.grad[:, :, :16].abs().max() == 0  # the hole only
    noise = torch.from_numpy(np.random.default_rng(0).normal(0.5, 0.1, (4, 3, 128, 128))).float()
    assert grid_prior(noise, hole).item() < 0.02  # texture with no pattern: nothing beyond sampling
    scale = torch.ones(1, requires_grad=True)  # and no reward for blurring it: no pull on its contrast
    grid_prior(0.5 + (noise - 0.5) * scale, hole).backward()
    assert abs(scale.grad.item()) < 0.01


def test_the_grid_prior_trains_in_the_joint_phase_only_and_is_logged(photos, tmp_path):
    train(tiny_config(photos, grid_weight=0.1, grid_tile=16), tmp_path / "run", progress=False)
    records = metrics(tmp_path / "run")
    assert all(("grid" in r) == (r["phase"] == "joint") for r in records) and any(r["phase"] == "joint" for r in records)
    assert all(np.isfinite(r["grid"]) and r["grid"] >= 0 for r in records if "grid" in r)


def test_the_tiled_grid_prior_sees_blocks_whose_polarity_changes_across_the_hole():
    from glcic.losses import grid_prior

    rng = np.random.default_rng(3)
    texture = torch.from_numpy(rng.uniform(0.3, 0.7, (2, 3, 64, 64))).float()
    hole = torch.ones(2, 1, 64, 64)
    rows, columns = torch.meshgrid(torch.arange(64), torch.arange(64), indexing="ij")
    blocks = ((rows // 4 + columns // 4) % 2).float() * 2 - 1  # 8 px checkerboard ...
    polarity = torch.where((rows // 32 + columns // 32) % 2 == 0, 1.0, -1.0)  # ... flipped in every other 32 px square
    patterned = texture * 0.2 + 0.4 + blocks * polarity * 0.05
    assert grid_prior(patterned, hole) < 0.05  # over the whole hole the squares cancel
    assert grid_prior(patterned, hole, tile=32) > 0.5
    assert grid_prior(texture, hole, tile=32) < 0.05
    with pytest.raises(ValueError, match="multiple of its period"):
        grid_prior(texture, hole, tile=12)
    with pytest.raises(ValueError, match="grid_tile"):
        tiny_config(Path("."), grid_tile=12)


def test_the_grid_prior_of_period_16_sees_the_checkerboard_of_8_px_squares_that_period_8_misses():
    from glcic.losses import grid_prior

    rng = np.random.default_rng(4)
    texture = torch.from_numpy(rng.uniform(0.3, 0.7, (2, 3, 64, 64))).float() * 0.2 + 0.4
    hole = torch.ones(2, 1, 64, 64)
    rows, columns = torch.meshgrid(torch.arange(64), torch.arange(64), indexing="ij")
    squares = ((rows // 8 + columns // 8) % 2).float() * 2 - 1  # what the joint phase grows on the rock stroke
    patterned = texture + squares * 0.05
    assert grid_prior(patterned, hole) < 0.05 and grid_prior(patterned, hole, tile=32) < 0.05  # modulo 8 it cancels
    assert grid_prior(patterned, hole, period=16) > 0.3 and grid_prior(patterned, hole, tile=32, period=16) > 0.3
    assert grid_prior(texture, hole, period=16) < 0.05 and grid_prior(texture, hole, tile=32, period=16) < 0.05
    with pytest.raises(ValueError, match="period"):
        grid_prior(texture, hole, period=12)
    with pytest.raises(ValueError, match="multiple of grid_period"):
        tiny_config(Path("."), grid_period=16, grid_tile=24)
    with pytest.raises(ValueError, match="grid_period must be 8 or 16"):
        tiny_config(Path("."), grid_period=4)


def test_feature_matching_is_zero_for_the_original_and_grows_as_the_fill_is_blurred():
    from glcic.losses import feature_matching, low_pass
    from glcic.models.discriminators import LocalDiscriminator

    torch.manual_seed(0)
    discriminator = LocalDiscriminator(64, width=0.25).eval()
    texture = torch.from_numpy(np.random.default_rng(1).uniform(0, 1, (4, 3, 64, 64))).float()
    real = discriminator.feature_maps(texture)
    assert len(real) == discriminator.convs
    assert feature_matching(discriminator.feature_maps(texture), real).item() == 0
    distances = [feature_matching(discriminator.feature_maps(low_pass(texture, sigma)), real).item() for sigma in (0.5, 1, 2)]
    assert 0 < distances[0] < distances[1] < distances[2]


def test_low_pass_keeps_the_mean_and_removes_fine_detail():
    from glcic.losses import low_pass

    noise = torch.from_numpy(np.random.default_rng(2).uniform(0, 1, (2, 3, 32, 32))).float()
    assert torch.equal(low_pass(noise, 0), noise)
    blurred = low_pass(noise, 2.0)
    assert blurred.shape == noise.shape
    assert blurred.mean().item() == pytest.approx(noise.mean().item(), abs=0.01)
    assert blurred.std().item() < noise.std().item() / 3


def test_feature_matching_and_the_blurred_reconstruction_train_in_the_joint_phase(photos, tmp_path):
    train(tiny_config(photos, feature_matching=0.5, reconstruction_blur=1.5), tmp_path / "run", progress=False)
    records = metrics(tmp_path / "run")
    joint = [r for r in records if r["phase"] == "joint"]
    assert joint and all(np.isfinite(r["feature_matching"]) and r["feature_matching"] >= 0 for r in joint)
    assert not any("feature_matching" in r for r in records if r["phase"] != "joint")


def test_weighted_mse_is_normalised_by_the_hole_area():
    from glcic.losses import weighted_mse

    target = torch.zeros(1, 3, 32, 32)
    prediction = torch.full_like(target, 0.5)  # error 0.5 everywhere: inside and outside the hole
    small, large = torch.zeros(1, 1, 32, 32), torch.zeros(1, 1, 32, 32)
    small[..., 4:8, 4:8] = 1
    large[..., 2:30, 2:30] = 1
    assert weighted_mse(prediction, target, small).item() == pytest.approx(0.25)
    assert weighted_mse(prediction, target, large).item() == pytest.approx(0.25)
    prediction_outside_only = target + (1 - small) * 0.5
    assert weighted_mse(prediction_outside_only, target, small).item() == 0.0


def test_weighted_l1_is_the_mean_absolute_error_in_the_hole():
    from glcic.losses import weighted_l1

    target = torch.zeros(2, 3, 16, 16)
    prediction = torch.full_like(target, -0.25)
    hole = torch.zeros(2, 1, 16, 16)
    hole[0, :, 2:6, 2:6] = 1
    hole[1, :, 0:16, 0:8] = 1
    assert weighted_l1(prediction, target, hole).item() == pytest.approx(0.25)
    assert weighted_l1(target + (1 - hole) * 3.0, target, hole).item() == 0.0


def test_l1_reconstruction_is_what_the_completion_network_trains_on(photos, tmp_path):
    """--reconstruction-loss l1 logs and steps on the hole's L1 in phase 1 and in the joint phase."""
    run = tmp_path / "run"
    train(tiny_config(photos, completion_iterations=2, discriminator_iterations=1, total_iterations=4, reconstruction_loss="l1"),
          run, progress=False)
    records = metrics(run)
    assert "l1" in records[0] and "mse" not in records[0] and {"l1", "adversarial"} <= set(records[-1])
    assert json.loads((run / "config.json").read_text())["config"]["reconstruction_loss"] == "l1"


def test_adversarial_losses():
    from glcic.losses import adversarial_loss, discriminator_loss

    logits = torch.tensor([[0.0]])
    assert discriminator_loss(logits, logits).item() == pytest.approx(2 * np.log(2))
    assert adversarial_loss(logits, "non_saturating").item() == pytest.approx(np.log(2))
    assert adversarial_loss(logits, "saturating").item() == pytest.approx(-np.log(2))
    confident_fake = torch.tensor([[-10.0]])
    assert discriminator_loss(torch.tensor([[10.0]]), confident_fake).item() < 1e-3
    with pytest.raises(ValueError, match="non_saturating"):
        adversarial_loss(logits, "wasserstein")


def test_the_relativistic_losses_score_each_real_image_against_its_own_completion():
    from glcic.losses import adversarial_loss, discriminator_loss

    real, fake = torch.tensor([[3.0], [0.0]]), torch.tensor([[3.0], [-4.0]])
    # pair 0 is tied whatever the absolute level; pair 1 is won by the real image by a margin of 4
    assert discriminator_loss(real, fake, "relativistic").item() == pytest.approx((np.log(2) + np.log1p(np.exp(-4))) / 2, rel=1e-5)
    assert adversarial_loss(fake, "relativistic", real).item() == pytest.approx((np.log(2) + np.log1p(np.exp(4))) / 2, rel=1e-5)
    # the same completions against real images the discriminator likes less cost the completion network less
    assert adversarial_loss(fake, "relativistic", real - 2).item() < adversarial_loss(fake, "relativistic", real).item()
    fake = fake.clone().requires_grad_(True)
    adversarial_loss(fake, "relativistic", real.clone().requires_grad_(True)).backward()
    assert (fake.grad < 0).all()  # raising a completion's score lowers the loss
    with pytest.raises(ValueError, match="real images' logits"):
        adversarial_loss(fake, "relativistic")


# --- data -----------------------------------------------------------------------------------------


def test_data_folder_is_searched_recursively_and_bad_files_are_skipped(photos):
    from glcic.data import scan_images
    from glcic.image_io import list_images

    found = list_images(photos, recursive=True)
    assert {p.suffix for p in found} == {".png", ".jpg", ".webp"} and any("deeper" in str(p) for p in found)
    usable, skipped = scan_images(photos, min_side=24)
    assert len(usable) == 8
    assert [Path(p).name for p in skipped["unreadable"]] == ["broken.jpg"]
    assert [Path(p).name for p in skipped["too small"]] == ["tiny.png"]


def test_samples_follow_the_paper_and_depend_only_on_seed_epoch_and_index(photos):
    from glcic.data import TrainingImages, scan_images

    config = tiny_config(photos)
    paths, _ = scan_images(photos, 24)
    dataset = TrainingImages(paths, config.data_config(), seed=3)
    first, again, other_epoch = dataset[(0, 5)], dataset[(0, 5)], dataset[(1, 5)]
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not torch.equal(first["image"], other_epoch["image"]) or not torch.equal(first["hole"], other_epoch["hole"])
    for epoch in range(3):
        for index in range(len(dataset)):
            sample = dataset[(epoch, index)]
            assert sample["image"].shape == (3, 48, 48) and sample["image"].dtype == torch.uint8
            rows, cols = np.nonzero(sample["hole"][0].numpy())
            height, width = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
            assert 12 <= height <= 20 and 12 <= width <= 20 and len(rows) == height * width
            top, left = sample["hole_patch"].tolist()
            assert 0 <= top <= 24 and 0 <= left <= 24
            assert top <= rows.min() and rows.max() < top + 24 and left <= cols.min() and cols.max() < left + 24
            real_top, real_left = sample["real_patch"].tolist()
            assert 0 <= real_top <= 24 and 0 <= real_left <= 24


def test_local_box_pixel_moves_the_box_only_for_holes_that_do_not_fit(photos):
    from glcic.data import TrainingImages, scan_images

    paths, _ = scan_images(photos, 24)
    config = tiny_config(photos, hole_sampler="free_form", hole_min=4, hole_max=8)
    centred = TrainingImages(paths, config.data_config(), seed=3)
    moved = TrainingImages(paths, config.replace(local_box="pixel").data_config(), seed=3)
    differ = 0
    for index in range(len(paths)):
        a, b = centred[(0, index)], moved[(0, index)]
        assert all(torch.equal(a[k], b[k]) for k in a if k != "hole_patch")  # same crop, hole and real box
        hole = b["hole"][0].numpy().astype(bool)
        top, left = b["hole_patch"].tolist()
        assert hole[top:top + 24, left:left + 24].any()
        rows, cols = np.nonzero(hole)
        if np.ptp(rows) < 24 and np.ptp(cols) < 24:
            assert torch.equal(a["hole_patch"], b["hole_patch"])
        differ += not torch.equal(a["hole_patch"], b["hole_patch"])
    assert differ  # strokes across a 48 px crop do not all fit in 24 px


def test_an_image_that_fails_to_decode_is_replaced_and_counted(tmp_path):
    from glcic.data import TrainingImages, scan_images

    folder = make_photos(tmp_path / "photos", count=4)
    good = (folder / "nested" / "photo1.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(good[: len(good) // 3])  # header fine, data cut short
    paths, _ = scan_images(folder, 24)
    position = [p.name for p in paths].index("truncated.jpg")
    sample = TrainingImages(paths, tiny_config(folder).data_config(), seed=0)[(0, position)]
    assert sample["skipped"].item() == 1 and sample["index"].item() == (position + 1) % len(paths)


def test_mean_pixel_of_the_training_set(tmp_path):
    from glcic.data import compute_mean_pixel

    for name, colour in (("red.png", (255, 0, 0)), ("blue.png", (0, 0, 255))):
        write_image(tmp_path / name, np.full((40, 60, 3), colour, np.uint8))
    assert compute_mean_pixel(sorted(tmp_path.iterdir())) == pytest.approx((0.5, 0.0, 0.5))


def test_epoch_sampler_shards_and_starts_mid_epoch():
    from glcic.data import EpochSampler

    data = list(range(10))
    whole = EpochSampler(data, 1, 0, seed=1)
    whole.set_position(2, 0)
    order = [index for _, index in whole]
    assert sorted(order) == data
    whole.set_position(2, 4)
    assert [index for _, index in whole] == order[4:] and len(whole) == 6
    shards = [EpochSampler(data, 2, rank, seed=1) for rank in range(2)]
    for shard in shards:
        shard.set_position(2, 0)
    first, second = ([index for _, index in shard] for shard in shards)
    assert not set(first) & set(second) and len(first) == len(second) == 5


# --- checkpoints, resume, signals -----------------------------------------------------------------


def test_resume_continues_exactly(photos, tmp_path):
    config = tiny_config(photos, completion_iterations=3, discriminator_iterations=2, total_iterations=8, checkpoint_every=100)
    straight, interrupted = tmp_path / "straight", tmp_path / "interrupted"
    train(config, straight, progress=False)
    first = train(config, interrupted, stop_after=4, progress=False)
    assert first.stopped_by == "stop_after" and load_checkpoint(interrupted)["iteration"] == 4
    train(None, interrupted, resume=True, progress=False, overrides={"workers": 2})  # workers do not matter
    a, b = load_checkpoint(straight), load_checkpoint(interrupted)
    assert a["iteration"] == b["iteration"] == 8
    for part in ("completion", "discriminator"):
        assert a[part].keys() == b[part].keys()
        assert all(torch.equal(a[part][k], b[part][k]) for k in a[part]), part
    for part in ("completion_optimizer", "discriminator_optimizer"):
        for key, values in a[part]["state"].items():
            assert all(torch.equal(values[k], b[part]["state"][key][k]) for k in values if torch.is_tensor(values[k]))
    assert [r["mse"] for r in metrics(straight) if "mse" in r] == [r["mse"] for r in metrics(interrupted) if "mse" in r]


def test_checkpoint_holds_the_whole_state(photos, tmp_path):
    run = tmp_path / "run"
    train(tiny_config(photos), run, stop_after=3, progress=False)
    state = load_checkpoint(run)
    assert set(state) >= {"config", "iteration", "phase", "completion", "discriminator", "completion_optimizer",
                          "discriminator_optimizer", "rng", "format_version"}
    assert state["iteration"] == 3 and state["phase"] == "discriminator"
    assert set(state["rng"]) >= {"torch", "python", "numpy"}
    assert isinstance(state["config"], TrainConfig) and state["config"].mean_pixel is not None


def test_a_new_run_never_overwrites_an_existing_one(photos, tmp_path):
    run = tmp_path / "run"
    train(tiny_config(photos, total_iterations=2, completion_iterations=2, discriminator_iterations=0), run, progress=False)
    before = (run / "checkpoint.pt").read_bytes()
    result = glcic("train", "--run-dir", run, *cli_config_args(photos))
    assert result.returncode == 1 and "already holds a training run" in result.stderr and "--resume" in result.stderr
    assert (run / "checkpoint.pt").read_bytes() == before


def _start_training(photos, run: Path, **overrides) -> subprocess.Popen:
    args = cli_config_args(photos, **{"total_iterations": 100000, "checkpoint_every": 100000, **overrides})
    return subprocess.Popen([sys.executable, "-m", "glcic", "train", "--run-dir", str(run), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_iteration(run: Path, iteration: int, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (run / "metrics.jsonl").exists() and len((run / "metrics.jsonl").read_text().splitlines()) >= iteration:
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.1)
    process.kill()
    raise AssertionError("training did not get going")


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_sigint_and_sigterm_checkpoint_then_resume(photos, tmp_path, sig, code):
    run = tmp_path / "run"
    process = _start_training(photos, run)
    _wait_for_iteration(run, 3, process)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == code, stderr
    assert "--resume" in stderr
    stopped = load_checkpoint(run)["iteration"]
    assert stopped >= 3
    assert f"stopped at iteration {stopped} by {sig.name}" in (run / "log.txt").read_text()
    result = glcic("train", "--resume", run, "--total-iterations", stopped + 2, "--no-progress")
    assert result.returncode == 0, result.stderr
    assert load_checkpoint(run)["iteration"] == stopped + 2


def test_sigterm_to_the_whole_process_group_still_checkpoints(photos, tmp_path):
    """pkill -f or a service manager signals the data-loader workers too; the run must still stop cleanly."""
    run = tmp_path / "run"
    args = cli_config_args(photos, total_iterations=100000, checkpoint_every=100000, workers=2)
    process = subprocess.Popen([sys.executable, "-m", "glcic", "train", "--run-dir", str(run), *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    _wait_for_iteration(run, 3, process)
    os.killpg(process.pid, signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr
    assert load_checkpoint(run)["iteration"] >= 3


def test_a_killed_run_resumes_from_its_last_checkpoint(photos, tmp_path):
    run = tmp_path / "run"
    process = _start_training(photos, run, checkpoint_every=2)
    _wait_for_iteration(run, 7, process)
    process.kill()  # SIGKILL: no chance to save
    process.communicate()
    saved = load_checkpoint(run)["iteration"]
    assert saved >= 6 and saved % 2 == 0  # the last complete checkpoint, even if the kill landed mid-write
    (run / ".glcic-999-deadbeef.tmp").write_bytes(b"half a checkpoint")  # as a kill during a write leaves it
    result = glcic("train", "--resume", run, "--total-iterations", saved + 3, "--no-progress")
    assert result.returncode == 0, result.stderr
    assert load_checkpoint(run)["iteration"] == saved + 3
    iterations = [record["iteration"] for record in metrics(run)]
    assert iterations == sorted(set(iterations))  # no record twice after the resume
    assert not list(run.glob(".glcic-*.tmp"))  # the orphan was removed


def test_a_run_killed_before_its_first_checkpoint_can_be_started_again(photos, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")  # what a run killed during start-up leaves
    (run / "log.txt").write_text("started\n")
    result = glcic("train", "--run-dir", run, *cli_config_args(photos, total_iterations=2, completion_iterations=2,
                                                                 discriminator_iterations=0))
    assert result.returncode == 0, result.stderr
    assert load_checkpoint(run)["iteration"] == 2


def test_a_corrupted_checkpoint_is_named_as_corrupt(photos, tmp_path):
    run = tmp_path / "run"
    train(tiny_config(photos, total_iterations=2, completion_iterations=2, discriminator_iterations=0), run, progress=False)
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    next(iter(state["completion"].values())).view(-1)[0] += 1.0  # one value changed, the checksum kept
    torch.save(state, run / "checkpoint.pt")
    with pytest.raises(GlcicError, match="corrupt"):
        load_checkpoint(run)
    result = glcic("train", "--resume", run, "--total-iterations", 4, "--no-progress")
    assert result.returncode == 1 and "corrupt" in result.stderr


def test_a_run_that_ends_nonfinite_fails_and_leaves_no_nonfinite_file(photos, tmp_path):
    """The weights can turn NaN in the last step, after its loss was finite: no checkpoint or
    snapshot holds them, and the run exits non-zero instead of "finished"."""
    from glcic.model_file import load_network

    run = tmp_path / "run"
    result = glcic("train", "--run-dir", run, *cli_config_args(
        photos, optimizer="adam", learning_rate=1e30, completion_iterations=3, discriminator_iterations=0, total_iterations=3,
        checkpoint_every=1, snapshot_every=1))
    assert result.returncode == 1 and "NaN or infinite" in result.stderr and "finished" not in result.stderr
    for snapshot in (run / "snapshots").glob("*.safetensors"):
        load_network(snapshot)  # refuses a non-finite file: every snapshot written is finite
    if (run / "checkpoint.pt").exists():
        state = load_checkpoint(run)
        assert all(torch.isfinite(t).all() for t in state["completion"].values() if t.is_floating_point())


@pytest.mark.parametrize("option, value", [("--alpha", "inf"), ("--learning-rate", "nan"), ("--width", "1000"),
                                           ("--resize-max", "1e23"), ("--seed", "1e23"), ("--discriminator-width", "inf")])
def test_float_and_size_options_must_be_finite_and_bounded(photos, tmp_path, option, value):
    result = glcic("train", "--run-dir", tmp_path / "run", *cli_config_args(photos), option, value, "--dry-run")
    assert result.returncode == 2 and option in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()


def test_nonfinite_loss_stops_and_keeps_the_last_good_checkpoint(photos, tmp_path):
    run = tmp_path / "run"
    result = glcic("train", "--run-dir", run, *cli_config_args(
        photos, optimizer="adam", learning_rate=2000, completion_iterations=20, total_iterations=40, checkpoint_every=1))
    assert result.returncode == 1
    assert "NaN or infinite" in result.stderr and "last good checkpoint" in result.stderr
    state = load_checkpoint(run)
    assert all(torch.isfinite(t).all() for t in state["completion"].values() if t.is_floating_point())
    diverged = int(result.stderr.split("at iteration ")[1].split()[0])
    assert state["iteration"] == diverged - 1


# --- CLI, presets, export, fine-tuning ------------------------------------------------------------


def test_dry_run_prints_the_resolved_configuration_and_writes_nothing(photos, tmp_path):
    run = tmp_path / "run"
    result = glcic("train", "--data", photos, "--run-dir", run, "--preset", "faces", "--alpha", "0.001", "--dry-run")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["config"]["image_size"] == 160 and shown["config"]["local_size"] == 96 and shown["config"]["alpha"] == 0.001
    assert shown["global_batch_size"] == 96 and [p["name"] for p in shown["phases"]] == ["completion", "discriminator", "joint"]
    assert not run.exists()


def test_presets():
    from glcic.models.discriminators import ContextDiscriminator, DiscriminatorConfig

    paper, faces, center, cpu = (preset(name) for name in ("paper", "faces", "center", "cpu"))
    assert (paper.image_size, paper.hole_min, paper.hole_max, paper.local_size, paper.batch_size) == (256, 96, 128, 128, 96)
    assert (paper.completion_iterations, paper.discriminator_iterations, paper.total_iterations) == (90_000, 10_000, 500_000)
    assert (paper.alpha, paper.optimizer) == (0.0004, "adadelta")
    global_convs = [ContextDiscriminator.from_config(DiscriminatorConfig(c.global_size, c.local_size)).global_discriminator.convs for c in (paper, faces)]
    assert global_convs == [6, 5]  # faces: one conv fewer in the global discriminator
    assert (faces.image_size, faces.hole_min, faces.hole_max, faces.local_size) == (160, 48, 96, 96)
    assert (center.image_size, center.hole_sampler, center.hole_max) == (128, "center", 64)
    assert cpu.width < 1 and cpu.image_size < 256
    with pytest.raises(ValueError, match="choose one of"):
        preset("imagenet")


@pytest.mark.parametrize("args, message", [
    (["--hole-max", "500"], "hole_max <= image_size"),
    (["--total-iterations", "3", "--completion-iterations", "5"], "total_iterations"),
    (["--image-size", "50"], "multiple of 4"),
    (["--local-size", "4"], "local_size must be larger than 5 px"),
    (["--global-size", "5", "--discriminators", "global"], "global_size must be larger than 5 px"),
])
def test_bad_training_options_are_refused(photos, tmp_path, args, message):
    result = glcic("train", "--data", photos, "--run-dir", tmp_path / "run", "--preset", "cpu", *args)
    assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()


def test_too_few_images_and_missing_data_are_clear_errors(photos, tmp_path):
    result = glcic("train", "--run-dir", tmp_path / "a", *cli_config_args(photos, batch_size=9))
    assert result.returncode == 1 and "8 usable images" in result.stderr
    result = glcic("train", "--run-dir", tmp_path / "b", *cli_config_args(tmp_path / "nowhere"))
    assert result.returncode == 1 and "not found" in result.stderr
    result = glcic("train", "--resume", tmp_path / "nowhere")
    assert result.returncode == 1 and "no checkpoint" in result.stderr


def test_export_then_complete(photos, tmp_path):
    from glcic.image_io import read_image
    from glcic.model_file import read_model_file

    run = tmp_path / "run"
    train(tiny_config(photos), run, progress=False)
    model = tmp_path / "model.safetensors"
    result = glcic("export", run, "-o", model)
    assert result.returncode == 0, result.stderr
    tensors, config = read_model_file(model)
    state = load_checkpoint(run)
    assert config.mean_pixel == state["config"].mean_pixel and config.width == 0.125 and config.image_size == 48
    assert config.notes["iteration"] == 6 and config.notes["phase"] == "joint"
    assert all(torch.equal(tensors[k], state["completion"][k].float()) for k in tensors if tensors[k].is_floating_point())
    image, mask = scene(70, 90, seed=7), np.zeros((70, 90), np.uint8)
    mask[20:40, 30:55] = 255
    write_image(tmp_path / "photo.png", image)
    write_image(tmp_path / "mask.png", mask)
    result = glcic("complete", tmp_path / "photo.png", "--mask", tmp_path / "mask.png", "-o", tmp_path / "out.png",
                   "--model", model, "--no-postprocess")
    assert result.returncode == 0, result.stderr
    completed = read_image(tmp_path / "out.png")
    assert (completed[mask == 0] == image[mask == 0]).all() and not (completed[mask > 0] == image[mask > 0]).all()


def test_fine_tuning_starts_from_the_model_and_trains_the_discriminators_first(photos, tmp_path):
    from glcic.model_file import read_model_file

    base = tmp_path / "base"
    train(tiny_config(photos, total_iterations=2, completion_iterations=2, discriminator_iterations=0), base, progress=False)
    model = tmp_path / "base.safetensors"
    export_model(base, model)
    run = tmp_path / "fine"
    args = cli_config_args(photos, drop=("width", "completion_iterations"), discriminator_iterations=2, total_iterations=4)
    result = glcic("train", "--run-dir", run, "--fine-tune", model, *args)
    assert result.returncode == 0, result.stderr
    phases = [r["phase"] for r in metrics(run)]
    assert phases == ["discriminator", "discriminator", "joint", "joint"]
    tensors, model_config = read_model_file(model)
    assert load_checkpoint(run)["config"].mean_pixel == model_config.mean_pixel
    train(None, run, resume=True, overrides={"total_iterations": 4}, progress=False)  # nothing left: a no-op


# --- many processes -------------------------------------------------------------------------------


def test_torchrun_two_processes_see_different_images_and_end_with_identical_weights(photos, tmp_path):
    run = tmp_path / "run"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
               "-m", "glcic", "train", "--run-dir", str(run), *cli_config_args(photos, total_iterations=6, workers=1)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((run / "summary.json").read_text())
    first, second = summary["first_batch_indices_by_rank"]
    assert len(first) == len(second) == 2 and not set(first) & set(second)
    assert summary["ranks_agree"] and len(summary["parameter_digests_by_rank"]) == 2
    resolved = json.loads((run / "config.json").read_text())["resolved"]
    assert (resolved["world_size"], resolved["per_process_batch_size"], resolved["global_batch_size"]) == (2, 2, 4)
    assert [r["phase"] for r in metrics(run)] == ["completion"] * 2 + ["discriminator"] * 2 + ["joint"] * 2
    assert load_checkpoint(run)["iteration"] == 6
    assert result.stderr.count("finished at iteration 6") == 1  # rank 0 alone reports


def test_the_data_pipeline_has_its_own_config_and_never_imports_training():
    code = ("import sys, glcic.data as d; assert 'glcic.training.config' not in sys.modules, 'imported'; "
            "c = d.DataConfig(64, 64, 96, 'mixed', 16, 32, 32, augment=True); print(type(c.hole_sampler_instance()).__name__)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "MixedHoles"
    from glcic.data import TrainingImages

    config = preset("cpu", data="x")
    with pytest.raises(TypeError, match="DataConfig"):
        TrainingImages([Path("x.png")], config, seed=0)
    assert config.data_config().hole_max == config.hole_max and config.data_config().local_size == config.local_size


def test_resume_may_move_a_phase_boundary_only_where_the_run_has_not_reached_it():
    from glcic.training.loop import resumed_config

    config = preset("cpu", data="x", completion_iterations=4, discriminator_iterations=2, total_iterations=10)
    longer = resumed_config(config, {"completion_iterations": 8, "total_iterations": 12}, iteration=4)
    assert (longer.completion_iterations, longer.total_iterations) == (8, 12)  # at the end of phase 1: extend it
    assert resumed_config(config, {"discriminator_iterations": 3}, iteration=5).discriminator_iterations == 3
    with pytest.raises(GlcicError, match="past it"):
        resumed_config(config, {"completion_iterations": 8, "total_iterations": 12}, iteration=5)
    with pytest.raises(GlcicError, match="past it"):
        resumed_config(config, {"discriminator_iterations": 1}, iteration=6)
    with pytest.raises(GlcicError, match="cannot change"):
        resumed_config(config, {"learning_rate": 0.5}, iteration=0)


def test_validation_photos_that_cannot_be_read_are_logged(photos, tmp_path):
    broken = tmp_path / "validation"
    broken.mkdir()
    for index in range(2):
        (broken / f"v{index}.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)  # a PNG signature, nothing after it
    run = tmp_path / "run"
    train(tiny_config(photos, validation_data=str(broken), completion_iterations=2, discriminator_iterations=0, total_iterations=2),
          run, progress=False)
    assert "no validation image could be read" in (run / "log.txt").read_text()
    assert not list((run / "samples").iterdir())


def test_fine_tuning_is_a_preset_rule_the_python_api_shares(tmp_path):
    from glcic.model_file import bundled_model_path, read_model_file

    tuned = preset("cpu", fine_tune_from="accurate")  # a bundled model's name, as --fine-tune takes it
    assert tuned.fine_tune_from == str(bundled_model_path("accurate"))
    assert tuned.width == read_model_file(bundled_model_path("accurate"))[1].width and tuned.completion_iterations == 0
    kept = preset("cpu", fine_tune_from="accurate", completion_iterations=5, total_iterations=preset("cpu").total_iterations)
    assert kept.completion_iterations == 5  # given values win over the rule
    assert preset("cpu").completion_iterations > 0


def test_the_dry_run_shows_what_the_run_writes_into_its_config(photos, tmp_path):
    from glcic.training.loop import resolved_run

    run = tmp_path / "run"
    args = ("--run-dir", run, *cli_config_args(photos))
    shown = json.loads(glcic("train", *args, "--dry-run").stdout)
    assert shown == {"config": shown["config"], **resolved_run(TrainConfig.from_dict(shown["config"]), 1)}
    assert glcic("train", *args).returncode == 0
    written = json.loads((run / "config.json").read_text())
    for key in ("world_size", "per_process_batch_size", "global_batch_size", "phases"):
        assert written["resolved"][key] == shown[key], key


@pytest.mark.parametrize(("option", "logged"), [("style_weight", "style"), ("detail_weight", "detail")])
def test_the_texture_terms_train_in_the_joint_phase_only_and_are_logged(photos, tmp_path, option, logged):
    train(tiny_config(photos, **{option: 0.2}), tmp_path / "run", progress=False)
    records = metrics(tmp_path / "run")
    joint = [r for r in records if r["phase"] == "joint"]
    assert joint and all(np.isfinite(r[logged]) and r[logged] > 0 for r in joint)
    assert not any(logged in r for r in records if r["phase"] != "joint")


@pytest.mark.parametrize("batching", ["separate", "mixed"])
def test_a_discriminator_that_sees_the_hole_judges_each_real_patch_at_its_own_hole(batching):
    from glcic.models.discriminators import ContextDiscriminator, DiscriminatorConfig
    from glcic.training.phases import Batch, real_and_fake_logits

    config = tiny_config(Path("."), discriminator_hole=True, discriminator_batch=batching)
    discriminator = ContextDiscriminator.from_config(DiscriminatorConfig(
        config.global_size, config.local_size, config.discriminator_width, hole_channel=True)).eval()
    assert discriminator.local_discriminator.features[0].in_channels == 4
    torch.manual_seed(0)
    image = torch.rand(2, 3, 48, 48)
    hole = torch.zeros(2, 1, 48, 48)
    hole[0, :, 10:26, 12:30] = 1
    hole[1, :, 20:40, 5:20] = 1
    batch = Batch(image, hole, hole_patch=[[6, 9], [18, 0]], real_patch=[[0, 0], [24, 24]])
    with torch.no_grad():
        real, fake = real_and_fake_logits(discriminator, batch, image.clone(), config)
        assert torch.allclose(real, fake)  # the same place, the same mask: only the hole's content could differ
        other = image.clone()
        other[hole.expand_as(other).bool()] = 0.5
        real, fake = real_and_fake_logits(discriminator, batch, other, config)
        assert not torch.allclose(real, fake)


def test_a_relativistic_joint_phase_trains_and_logs_the_discriminators_paired_accuracy(photos, tmp_path):
    config = tiny_config(photos, discriminator_hole=True, discriminator_batch="separate", generator_loss="relativistic",
                         completion_iterations=2, discriminator_iterations=2, total_iterations=6, checkpoint_every=100)
    train(config, tmp_path / "run", progress=False)
    records = metrics(tmp_path / "run")
    joint = [r for r in records if r["phase"] == "joint"]
    assert joint and all(np.isfinite(r["adversarial"]) and 0 <= r["paired_accuracy"] <= 1 for r in joint)
    assert all("paired_accuracy" in r for r in records if r["phase"] == "discriminator")


def test_a_patch_discriminator_scores_each_cell_where_it_is():
    from glcic.models.discriminators import ContextDiscriminator, DiscriminatorConfig

    discriminator = ContextDiscriminator.from_config(DiscriminatorConfig(
        64, 64, 0.25, use_global=False, hole_channel=True, patches=True)).eval()
    assert discriminator.fc is None  # no unused layers (DistributedDataParallel would refuse them)
    torch.manual_seed(0)
    patch = torch.rand(1, 4, 64, 64)
    with torch.no_grad():
        logits = discriminator(None, patch, return_logits=True)
        assert logits.shape == (1, 64)  # 8 x 8 cells
        changed = patch.clone()
        changed[:, :3, 48:, 48:] = 0.5  # the bottom-right corner only
        moved = (discriminator(None, changed, return_logits=True) != logits).view(8, 8)
    assert moved[-1, -1] and not moved[0, 0] and not moved[:3, :3].any()  # the far cells do not see it
    with pytest.raises(ValueError, match="alone"):
        ContextDiscriminator(64, 64, 0.25, use_global=True, patches=True)
    with pytest.raises(ValueError, match="discriminator_patches"):
        tiny_config(Path("."), discriminator_patches=True)  # with both discriminators


def test_a_relativistic_patch_discriminator_trains_and_resumes_exactly(photos, tmp_path):
    config = tiny_config(photos, discriminators="local", discriminator_patches=True, discriminator_hole=True,
                         discriminator_batch="mixed", generator_loss="relativistic",
                         completion_iterations=2, discriminator_iterations=2, total_iterations=7, checkpoint_every=100)
    straight, interrupted = tmp_path / "straight", tmp_path / "interrupted"
    train(config, straight, progress=False)
    joint = [r for r in metrics(straight) if r["phase"] == "joint"]
    assert joint and all(np.isfinite(r["adversarial"]) and 0 <= r["paired_accuracy"] <= 1 for r in joint)
    train(config, interrupted, stop_after=5, progress=False)
    train(None, interrupted, resume=True, progress=False)
    a, b = load_checkpoint(straight), load_checkpoint(interrupted)
    assert a["discriminator"]["local_discriminator.fc.weight"].shape[0] == 1 and a["discriminator"]["local_discriminator.fc.weight"].dim() == 4
    assert all(torch.equal(a[part][k], b[part][k]) for part in ("completion", "discriminator") for k in a[part])


def test_paired_accuracy_counts_only_pairs_scored_differently():
    from glcic.training.phases import paired_accuracy

    real, fake = torch.tensor([[2.0, 0.0, 1.0, 5.0]]), torch.tensor([[1.0, 0.0, 3.0, 5.0]])
    assert paired_accuracy(real, fake) == pytest.approx(0.5)  # one right, one wrong, two cells that see no hole


def test_a_discriminator_that_sees_the_hole_trains_and_resumes_exactly_with_random_shifts(photos, tmp_path):
    config = tiny_config(photos, discriminator_hole=True, discriminator_batch="mixed", feature_matching=0.1, discriminator_shift=2,
                         completion_iterations=3, total_iterations=8, checkpoint_every=100)
    straight, interrupted = tmp_path / "straight", tmp_path / "interrupted"
    train(config, straight, progress=False)
    assert any(r["phase"] == "joint" and np.isfinite(r["adversarial"]) for r in metrics(straight))
    train(config, interrupted, stop_after=6, progress=False)
    train(None, interrupted, resume=True, progress=False)
    a, b = load_checkpoint(straight), load_checkpoint(interrupted)
    assert a["discriminator"]["local_discriminator.features.0.weight"].shape[1] == 4
    assert all(torch.equal(a[part][k], b[part][k]) for part in ("completion", "discriminator") for k in a[part])


def test_the_gradient_penalty_is_the_squared_norm_of_the_discriminators_input_gradient():
    from glcic.losses import gradient_penalty

    weights = torch.tensor([[1.0, -2.0], [0.5, 3.0]])  # a linear discriminator: its gradient is these weights
    images = torch.rand(2, 1, 2, 2, requires_grad=True)
    logits = (images * weights).flatten(1).sum(dim=1, keepdim=True)
    assert gradient_penalty(logits, images).item() == pytest.approx(1 + 4 + 0.25 + 9)
    scale = torch.tensor(2.0, requires_grad=True)  # the penalty can itself be minimised: 4 x 14.25 in scale^2
    (gradient,) = torch.autograd.grad(gradient_penalty(scale * logits, images), scale)
    assert gradient.item() == pytest.approx(2 * 2 * 14.25)


@pytest.mark.parametrize("batching", ["separate", "mixed"])
def test_the_gradient_penalty_reaches_the_discriminators_weights_and_nothing_else(photos, batching):
    from glcic.models.discriminators import ContextDiscriminator, DiscriminatorConfig
    from glcic.training.phases import Batch, Networks, discriminator_update

    grads = {}
    for weight in (0.0, 10.0):
        config = tiny_config(photos, discriminator_hole=True, discriminator_batch=batching, generator_loss="relativistic",
                             gradient_penalty=weight)
        torch.manual_seed(0)
        discriminator = ContextDiscriminator.from_config(DiscriminatorConfig(
            config.global_size, config.local_size, config.discriminator_width, hole_channel=True))
        optimizer = torch.optim.SGD(discriminator.parameters(), lr=0.0)  # keeps the gradients, moves nothing
        networks = Networks(torch.nn.Identity(), discriminator, None, optimizer, config, torch.zeros(1, 3, 1, 1))
        image, hole = torch.rand(2, 3, 48, 48), torch.zeros(2, 1, 48, 48)
        hole[:, :, 10:30, 10:30] = 1
        completed = torch.rand(2, 3, 48, 48, requires_grad=True)  # stands for the completion network's output
        stats = discriminator_update(networks, Batch(image, hole, [[0, 0], [20, 20]], [[4, 4], [8, 8]]), completed, torch.device("cpu"))
        assert completed.grad is None and not image.requires_grad  # no gradient leaves the discriminators
        assert ("r1" in stats and stats["r1"] > 0 and stats["r2"] > 0) == bool(weight)
        grads[weight] = torch.cat([p.grad.flatten() for p in discriminator.parameters() if p.grad is not None])
    assert not torch.allclose(grads[0.0], grads[10.0])


def test_a_joint_phase_with_the_gradient_penalty_logs_it_and_resumes_exactly(photos, tmp_path):
    config = tiny_config(photos, discriminators="local", discriminator_hole=True, discriminator_batch="mixed",
                         generator_loss="relativistic", gradient_penalty=1.0, total_iterations=7, checkpoint_every=100)
    straight, interrupted = tmp_path / "straight", tmp_path / "interrupted"
    train(config, straight, progress=False)
    adversarial = [r for r in metrics(straight) if r["phase"] != "completion"]
    assert adversarial and all(np.isfinite(r["r1"]) and np.isfinite(r["r2"]) for r in adversarial)
    train(config, interrupted, stop_after=5, progress=False)
    train(None, interrupted, resume=True, progress=False)
    a, b = load_checkpoint(straight), load_checkpoint(interrupted)
    assert all(torch.equal(a[part][k], b[part][k]) for part in ("completion", "discriminator") for k in a[part])
