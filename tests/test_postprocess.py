"""The paper's post-processing: Poisson blending inside each hole, also at the image border.

A completion whose colours are off by a constant but whose gradients are right must come back as the
true image: the blend keeps the prediction's gradients and takes its colours from the hole's own
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
    assert error < 0.01, f"{name}: mean error {error:.3f} grey levels in the hole"  # exact up to float rounding


def test_full_width_hole_is_blended_without_failing():
    truth = textured_truth()
    hole = box_mask(HEIGHT, WIDTH, (40, 0, 30, WIDTH))
    blended = poisson_blend(truth, hole, np.clip(truth + OFFSET, 0, 1))
    assert np.abs(blended - truth)[hole].mean() * 255 < 0.01


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
