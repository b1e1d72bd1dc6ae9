"""The paper's post-processing: Poisson blending inside each hole, also at the image border.

A completion whose colours are off by a constant but whose gradients are right must come back as the
true image, up to the gradients across the hole's edge (the blend does not read the prediction
outside the hole): it keeps the prediction's gradients and takes its colours from the hole's own
surroundings. Pixels outside the hole never change.
"""

import numpy as np
import pytest

from glcic.inference.postprocess import poisson_blend

from conftest import box_mask

HEIGHT, WIDTH = 120, 160
OFFSET = np.array([0.15, -0.1, 0.1], np.float32)


def textured_truth() -> np.ndarray:
    rows, cols = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    return np.stack(
        [0.3 + 0.4 * cols / WIDTH, 0.2 + 0.5 * rows / HEIGHT, 0.5 + 0.2 * np.sin(cols / 7) * np.cos(rows / 5)], axis=2
    ).astype(np.float32)


HOLES = {
    "two far apart": [(30, 40, 30, 40), (70, 100, 30, 40)],
    "three small": [(10, 10, 6, 9), (50, 70, 11, 5), (90, 130, 8, 8)],
    "odd sized": [(33, 41, 27, 39)],
    "top-left corner": [(0, 0, 40, 50)],
    "right edge": [(50, 130, 30, 30)],
    "bottom edge": [(100, 60, 20, 40)],
    "tall from the top": [(0, 20, 110, 30)],
    "corner and interior": [(0, 120, 25, 40), (60, 30, 20, 20)],
    "one px inside each edge": [(1, 1, 20, 20), (HEIGHT - 21, WIDTH - 21, 20, 20)],
    "margin px from the edge": [(4, 60, 20, 20), (50, WIDTH - 24, 20, 20)],
}


@pytest.mark.parametrize("name", HOLES)
def test_blend_recovers_the_true_colours(name):
    truth = textured_truth()
    hole = box_mask(HEIGHT, WIDTH, *HOLES[name])
    prediction = np.clip(truth + OFFSET, 0, 1)
    blended = poisson_blend(truth, hole, prediction)
    naive_error = np.abs(prediction - truth)[hole].mean() * 255
    error = np.abs(blended - truth)[hole].mean() * 255
    assert naive_error > 25
    assert error < 2.0, f"{name}: mean error {error:.3f} grey levels in the hole"  # off only by the edge's own steps


def test_blend_does_not_read_the_prediction_outside_the_hole():
    """The network's output on known pixels is never trained: whatever it is, the blend is the same."""
    truth = textured_truth()
    hole = box_mask(HEIGHT, WIDTH, *HOLES["corner and interior"])
    prediction = np.clip(truth + OFFSET, 0, 1)
    garbage = np.where(hole[:, :, None], prediction, np.random.default_rng(0).random(truth.shape, np.float32))
    np.testing.assert_array_equal(poisson_blend(truth, hole, garbage), poisson_blend(truth, hole, prediction))


def test_a_flat_prediction_with_a_stray_outline_leaves_no_outline():
    """A prediction that is flat inside the hole but off on the pixels around it (as an untrained
    output can be) gives a flat fill: the step across the edge is not carried into the hole."""
    image = np.full((HEIGHT, WIDTH, 3), 0.4, np.float32)
    hole = box_mask(HEIGHT, WIDTH, (40, 50, 8, 60))  # a stroke-like bar
    prediction = np.where(hole[:, :, None], 0.42, 0.3).astype(np.float32).repeat(3, axis=2)
    blended = poisson_blend(image, hole, prediction)
    np.testing.assert_allclose(blended[hole], 0.4, atol=1e-5)


def test_full_width_hole_is_blended_without_failing():
    truth = textured_truth()
    hole = box_mask(HEIGHT, WIDTH, (40, 0, 30, WIDTH))
    blended = poisson_blend(truth, hole, np.clip(truth + OFFSET, 0, 1))
    assert np.abs(blended - truth)[hole].mean() * 255 < 2.0


def test_blend_changes_only_the_hole():
    rng = np.random.default_rng(0)
    image = rng.random((HEIGHT, WIDTH, 3)).astype(np.float32)
    prediction = rng.random((HEIGHT, WIDTH, 3)).astype(np.float32)
    hole = box_mask(HEIGHT, WIDTH, (20, 20, 30, 30), (0, 100, 15, 60))
    blended = poisson_blend(image, hole, prediction)
    np.testing.assert_array_equal(blended[~hole], image[~hole])
    assert not np.allclose(blended[hole], prediction[hole])  # the hole was blended, not copied


def test_blend_meets_the_known_pixels_smoothly():
    """A flat prediction in a hole of a flat image of another colour comes back as that colour."""
    image = np.full((HEIGHT, WIDTH, 3), 0.3, np.float32)
    hole = box_mask(HEIGHT, WIDTH, (30, 30, 40, 60))
    blended = poisson_blend(image, hole, np.full_like(image, 0.8))
    np.testing.assert_allclose(blended[hole], 0.3, atol=1e-5)


def test_blend_without_hole_is_the_image():
    image = textured_truth()
    blended = poisson_blend(image, np.zeros((HEIGHT, WIDTH), bool), image * 0)
    np.testing.assert_array_equal(blended, image)


@pytest.mark.parametrize("shape", ["rectangle", "ellipse", "corner"])
def test_big_holes_solved_on_two_levels_match_the_one_level_solve(shape, monkeypatch):
    """Holes over EXACT_PIXELS go through a coarse grid and an exact edge band: within a fraction of a
    grey level of the direct solve, and still exact at the edge and outside."""
    import cv2

    from glcic.inference import postprocess

    rows, cols = np.mgrid[0:320, 0:360].astype(np.float32)
    truth = np.stack([0.4 + 0.3 * np.sin(cols / 9) * np.cos(rows / 13), 0.3 + 0.4 * rows / 320, 0.5 + 0.2 * np.sin((rows + cols) / 5)], 2)
    hole = np.zeros((320, 360), np.uint8)
    if shape == "rectangle":
        hole[70:250, 90:280] = 1
    elif shape == "ellipse":
        cv2.ellipse(hole, (180, 160), (140, 90), 30, 0, 360, 1, -1)
    else:
        hole[:200, :210] = 1
    hole = hole.astype(bool)
    assert hole.sum() > postprocess.EXACT_PIXELS
    prediction = np.clip(cv2.GaussianBlur(truth, (0, 0), 4) + OFFSET, 0, 1)
    two_level = poisson_blend(truth, hole, prediction)
    monkeypatch.setattr(postprocess, "EXACT_PIXELS", 10**9)
    exact = poisson_blend(truth, hole, prediction)
    error = np.abs(two_level - exact)[hole] * 255
    assert error.mean() < 0.15 and error.max() < 2.0, (error.mean(), error.max())
    np.testing.assert_array_equal(two_level[~hole], truth[~hole])
    naive = np.abs(prediction - exact)[hole].mean() * 255
    assert naive > 20  # the blend did real work
