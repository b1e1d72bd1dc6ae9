"""Realism measures: the detail ratio and the realism judge (a classifier two-sample test)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import box_mask, scene
from glcic.evaluation.judge import JudgeSettings, judge_values, pair_patches
from glcic.evaluation.metrics import detail


def textured(seed: int, size: int = 96) -> np.ndarray:
    """A photo-like scene with strong fine texture everywhere (so a flat fill is plain to see)."""
    rng = np.random.default_rng(seed)
    image = scene(size, size, seed).astype(np.float32)
    image += rng.normal(0, 25, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def test_detail_ratio_is_one_for_the_photo_and_low_for_a_flat_fill():
    image = textured(0)
    hole = box_mask(96, 96, (24, 24, 48, 48))
    assert detail(image, image, hole) == pytest.approx(1.0)
    flat = image.copy()
    flat[hole] = image[hole].mean(axis=0).astype(np.uint8)
    assert detail(image, flat, hole) < 0.3  # only the hole's edge has any gradient left
    noisy = image.copy()
    noisy[hole] = np.random.default_rng(1).integers(0, 256, (int(hole.sum()), 3), dtype=np.uint8)
    assert detail(image, noisy, hole) > 1.5  # noise has more "detail" than the photo: the ratio says so


def test_detail_ratio_of_a_flat_original_is_not_divided_by_zero():
    grey = np.full((32, 32, 3), 128, np.uint8)
    assert detail(grey, grey, box_mask(32, 32, (8, 8, 16, 16))) == 0.0


def _pairs(count: int, fill):
    truths, completions, holes, photos = [], [], [], []
    for index in range(count):
        truth = textured(index)
        hole = box_mask(96, 96, (20 + index % 8, 24, 48, 44))
        truths.append(truth)
        completions.append(fill(truth, hole))
        holes.append(hole)
        photos.append(index % 4)  # four "photos", two folds
    real = np.stack([pair_patches(t, h, i) for i, (t, h) in enumerate(zip(truths, holes))])
    fake = np.stack([pair_patches(c, h, i) for i, (c, h) in enumerate(zip(completions, holes))])
    return real, fake, photos


def mean_fill(truth, hole):
    completed = truth.copy()
    completed[hole] = truth[~hole].mean(axis=0).astype(np.uint8)
    return completed


def test_the_judge_tells_a_mean_fill_from_the_photo():
    real, fake, photos = _pairs(24, mean_fill)
    values = judge_values(real, fake, photos, JudgeSettings(steps=60, ensemble=1, repeats=1))
    assert values.shape == (1, 24) and set(np.unique(values)) <= {0.0, 0.5, 1.0}
    assert values.mean() >= 0.95


def test_the_judge_cannot_tell_the_photo_from_itself():
    real, fake, photos = _pairs(24, lambda truth, hole: truth.copy())
    values = judge_values(real, fake, photos, JudgeSettings(steps=60, ensemble=1, repeats=2))
    assert values.shape == (2, 24) and np.all(values == 0.5)  # every pair a tie in every repeat: indistinguishable


def test_the_judge_is_seeded_and_scores_only_photos_it_did_not_train_on():
    real, fake, photos = _pairs(16, mean_fill)
    first = judge_values(real, fake, photos, JudgeSettings(steps=20, seed=3, ensemble=2, repeats=1))
    assert np.array_equal(first, judge_values(real, fake, photos, JudgeSettings(steps=20, seed=3, ensemble=2, repeats=1)))
    with pytest.raises(ValueError, match="at least two photos"):
        judge_values(real, fake, [0] * 16, JudgeSettings(steps=5, ensemble=1))


def test_the_judge_gives_the_same_verdicts_whatever_torch_thread_count_it_is_called_with():
    import cv2
    import torch

    def soft(truth, hole):  # a fill the judge is unsure of, so that float noise could flip verdicts
        completed = truth.copy()
        completed[hole] = cv2.GaussianBlur(truth, (0, 0), 0.8)[hole]
        return completed

    real, fake, photos = _pairs(16, soft)
    threads = torch.get_num_threads()
    verdicts = []
    try:
        for count in (1, 2):
            torch.set_num_threads(count)
            verdicts.append(judge_values(real, fake, photos, JudgeSettings(steps=40, ensemble=1, repeats=1)))
            assert torch.get_num_threads() == count  # put back as it was
    finally:
        torch.set_num_threads(threads)
    assert np.array_equal(verdicts[0], verdicts[1])


def test_the_patches_of_a_pair_sit_on_its_hole_at_the_same_places_for_every_completion():
    truth = textured(0)
    hole = box_mask(96, 96, (40, 40, 10, 10))
    patches = pair_patches(truth, hole, 5)
    again = pair_patches(mean_fill(truth, hole), hole, 5)
    assert patches.shape == (8, 4, 32, 32)
    assert np.array_equal(patches[:, 3], again[:, 3])  # the same hole channel: the same places
    assert (patches[:, 3].reshape(8, -1).max(axis=1) == 1).all()  # each patch holds part of the hole


@pytest.mark.parametrize("seed", range(4))
def test_the_block_index_sees_the_checkerboard_of_8_px_squares_that_the_grid_index_misses(seed):
    from glcic.evaluation.metrics import blocks, grid

    image = textured(seed)
    hole = box_mask(96, 96, (16, 16, 64, 64))
    squares = image.astype(np.int16)  # what the joint phase grows on the rock stroke: 8 px squares, light and dark
    squares += ((np.add.outer(np.arange(96) // 8, np.arange(96) // 8) % 2) * 2 - 1)[:, :, None].astype(np.int16) * 12
    squares = np.clip(squares, 0, 255).astype(np.uint8)
    assert grid(image, squares, hole) < 0.2  # modulo 8, rows r and r + 8 cancel
    assert blocks(image, squares, hole) > max(0.45, 2 * blocks(image, image, hole))


def test_the_grid_index_sees_stripes_locked_to_the_pixel_grid_and_not_texture():
    from glcic.evaluation.metrics import grid

    image = textured(2)
    hole = box_mask(96, 96, (16, 16, 64, 64))
    striped = image.copy()
    striped[:, ::2] = (striped[:, ::2] * 0.6).astype(np.uint8)  # every other column darker: the joint phase's stripes
    checker = image.copy()
    checker[(np.add.outer(np.arange(96), np.arange(96)) % 2).astype(bool)] //= 2
    blocks = image.astype(np.int16)  # the 8 px checkerboard of 4 px blocks a joint phase grew at quarter resolution
    blocks += ((np.add.outer(np.arange(96) // 4, np.arange(96) // 4) % 2) * 2 - 1)[:, :, None].astype(np.int16) * 12  # under the texture: 15 grey levels
    blocks = np.clip(blocks, 0, 255).astype(np.uint8)
    assert grid(image, image, hole) < 0.2
    assert grid(image, striped, hole) > 0.5 and grid(image, checker, hole) > 0.5 and grid(image, blocks, hole) > 0.5


def test_the_judges_repeats_are_other_seeds_and_run_in_parallel_with_the_same_bits():
    def grain(truth, hole):  # a fill the judge is unsure of: repeats from other seeds disagree on some pairs
        completed = truth.astype(np.float32)
        completed[hole] += np.random.default_rng(int(truth[0, 0, 0])).normal(0, 4, completed[hole].shape)
        return np.clip(completed, 0, 255).astype(np.uint8)

    real, fake, photos = _pairs(16, grain)
    settings = JudgeSettings(steps=40, ensemble=2, repeats=3)
    alone = judge_values(real, fake, photos, settings, workers=1)
    assert alone.shape == (3, 16)
    assert np.array_equal(alone, judge_values(real, fake, photos, settings, workers=3))  # jobs in threads at once: same bits
    once = judge_values(real, fake, photos, JudgeSettings(steps=40, ensemble=2, repeats=1), workers=2)
    assert np.array_equal(once[0], alone[0])  # repeat 0 is the judge of one repeat (and of versions before repeats)
    assert not np.array_equal(alone[0], alone[1]) and not np.array_equal(alone[0], alone[2])  # the others are other seeds
