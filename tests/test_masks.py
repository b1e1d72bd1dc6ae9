"""Hole samplers (a registry, each deterministic for a seed) and the local-patch box."""

import numpy as np
import pytest

from glcic.masks import Box, hole_box, list_hole_samplers, local_patch_box, make_hole_sampler, pixel_patch_box, random_patch_box

SIZES = [(256, 256), (128, 128), (160, 200), (300, 180)]


def test_registry_lists_the_samplers():
    assert list_hole_samplers() == ["blob", "center", "free_form", "mixed", "rectangle", "square"]


def test_unknown_sampler_names_the_valid_ones():
    with pytest.raises(ValueError, match="blob.*center.*free_form.*mixed.*rectangle"):
        make_hole_sampler("ellipse")


@pytest.mark.parametrize("name", list_hole_samplers())
@pytest.mark.parametrize("size", SIZES)
def test_sampler_gives_a_nonempty_bool_mask_of_the_image_size(name, size):
    if name == "square" and min(size) < 168:  # 128 px plus a 20 px margin each side does not fit: a clear error
        with pytest.raises(ValueError, match="needs an image of at least 168x168"):
            make_hole_sampler(name)(*size, np.random.default_rng(1))
        return
    mask = make_hole_sampler(name)(*size, np.random.default_rng(1))
    assert mask.shape == size and mask.dtype == bool
    assert mask.any() and not mask.all()


@pytest.mark.parametrize("name", list_hole_samplers())
def test_sampler_is_deterministic_for_a_seed(name):
    sampler = make_hole_sampler(name)
    first = sampler(256, 256, np.random.default_rng(7))
    again = sampler(256, 256, np.random.default_rng(7))
    np.testing.assert_array_equal(first, again)
    if name != "center":  # the centre square is the same for every seed, by definition
        others = [sampler(256, 256, np.random.default_rng(seed)) for seed in range(8, 12)]
        assert any(not np.array_equal(first, other) for other in others)


@pytest.mark.parametrize("name", list_hole_samplers())
def test_sampler_does_not_touch_global_random_state(name):
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    make_hole_sampler(name)(200, 200, np.random.default_rng(0))
    np.testing.assert_array_equal(np.random.get_state()[1], before)


@pytest.mark.parametrize("hole_min, hole_max", [(96, 128), (48, 96), (10, 10)])
def test_rectangle_sides_are_drawn_in_range(hole_min, hole_max):
    sampler = make_hole_sampler("rectangle", hole_min=hole_min, hole_max=hole_max)
    rng = np.random.default_rng(3)
    heights, widths = set(), set()
    for _ in range(200):
        box = hole_box(sampler(256, 256, rng))
        assert hole_min <= box.height <= hole_max and hole_min <= box.width <= hole_max
        heights.add(box.height)
        widths.add(box.width)
    if hole_max > hole_min:  # width and height drawn independently: not always square
        assert len(heights) > 5 and len(widths) > 5


def test_rectangle_refuses_an_image_smaller_than_the_hole():
    with pytest.raises(ValueError, match="at least 128x128"):
        make_hole_sampler("rectangle")(100, 300, np.random.default_rng(0))


def test_center_hole_is_the_64px_centre_of_128px_images():
    mask = make_hole_sampler("center")(128, 128, np.random.default_rng(0))
    assert hole_box(mask) == Box(32, 32, 64, 64)
    assert mask.sum() == 64 * 64


def test_free_form_strokes_cover_a_plausible_fraction():
    sampler = make_hole_sampler("free_form")
    rng = np.random.default_rng(0)
    coverage = [sampler(256, 256, rng).mean() for _ in range(50)]
    assert 0.01 < np.mean(coverage) < 0.5


@pytest.mark.parametrize("seed", range(20))
def test_local_patch_box_is_centred_on_the_hole_and_inside_the_image(seed):
    rng = np.random.default_rng(seed)
    height, width = int(rng.integers(128, 400)), int(rng.integers(128, 400))
    hole = hole_box(make_hole_sampler("rectangle", hole_min=20, hole_max=100)(height, width, rng))
    box = local_patch_box(hole, 128, height, width)
    assert box.height == box.width == 128
    assert 0 <= box.top <= height - 128 and 0 <= box.left <= width - 128
    center_y, center_x = hole.top + hole.height / 2, hole.left + hole.width / 2
    unclamped_top, unclamped_left = round(center_y - 64), round(center_x - 64)
    if 0 <= unclamped_top <= height - 128:
        assert box.top == unclamped_top
    if 0 <= unclamped_left <= width - 128:
        assert box.left == unclamped_left
    # the whole hole fits in the patch, since it is smaller than the patch
    assert box.top <= hole.top and hole.top + hole.height <= box.top + 128
    assert box.left <= hole.left and hole.left + hole.width <= box.left + 128


def test_local_patch_box_is_clamped_at_the_corner():
    assert local_patch_box(Box(0, 0, 10, 10), 128, 256, 256) == Box(0, 0, 128, 128)
    assert local_patch_box(Box(250, 250, 6, 6), 128, 256, 256) == Box(128, 128, 128, 128)


def test_pixel_patch_box_keeps_a_hole_that_fits_centred_and_draws_nothing():
    mask = np.zeros((128, 128), bool)
    mask[10:60, 70:120] = True
    rng = np.random.default_rng(0)
    assert pixel_patch_box(mask, 64, rng) == local_patch_box(hole_box(mask), 64, 128, 128)
    assert rng.integers(1 << 30) == np.random.default_rng(0).integers(1 << 30)  # no draw was taken


def test_pixel_patch_box_judges_every_part_of_a_hole_larger_than_the_box():
    # two squares in opposite corners: the centred box covers neither; boxes on random hole pixels
    # hold a hole pixel every time and, over the draws, cover all of them
    mask = np.zeros((128, 128), bool)
    mask[2:18, 2:18] = mask[110:126, 110:126] = True
    centred = local_patch_box(hole_box(mask), 64, 128, 128)
    assert not mask[centred.slices()].any()
    rng = np.random.default_rng(1)
    covered = np.zeros_like(mask)
    for _ in range(40):
        box = pixel_patch_box(mask, 64, rng)
        assert box.height == box.width == 64 and 0 <= box.top <= 64 and 0 <= box.left <= 64
        assert mask[box.slices()].any()
        covered[box.slices()] = True
    assert covered[mask].all()
    again = np.random.default_rng(1)
    assert pixel_patch_box(mask, 64, again) == pixel_patch_box(mask, 64, np.random.default_rng(1))


def test_random_patch_box_is_deterministic_and_inside():
    boxes = [random_patch_box(96, 160, 200, np.random.default_rng(5)) for _ in range(2)]
    assert boxes[0] == boxes[1]
    assert 0 <= boxes[0].top <= 64 and 0 <= boxes[0].left <= 104


def test_hole_box_of_an_empty_mask_is_an_error():
    with pytest.raises(ValueError, match="no hole"):
        hole_box(np.zeros((8, 8), bool))


def test_square_holes_keep_their_margin_on_any_image_size():
    sampler = make_hole_sampler("square")
    assert "square" in list_hole_samplers() and (sampler.hole_min, sampler.hole_max, sampler.margin) == (108, 128, 20)
    rng = np.random.default_rng(0)
    for _ in range(40):
        rows, cols = np.nonzero(sampler(180, 400, rng))
        assert 108 <= np.ptp(rows) + 1 <= 128 and 108 <= np.ptp(cols) + 1 <= 128
        assert rows.min() >= 20 and cols.min() >= 20 and rows.max() < 160 and cols.max() < 380
    with pytest.raises(ValueError, match="20 px from the border"):
        sampler(160, 400, rng)  # 128 + 2 x 20 does not fit
    with pytest.raises(ValueError, match="margin"):
        make_hole_sampler("rectangle", margin=-1)


def test_stroke_share_sets_the_mixed_holes_share_of_strokes():
    from glcic.training import preset

    assert preset("cpu", hole_sampler="mixed").data_config().hole_sampler_instance().weights == pytest.approx((0.35, 0.4, 0.25))
    sampler = preset("cpu", hole_sampler="mixed", stroke_share=1.0).data_config().hole_sampler_instance()
    assert sampler.weights == pytest.approx((0.0, 1.0, 0.0))
    rng, strokes_rng = np.random.default_rng(3), np.random.default_rng(3)
    strokes_rng.choice(3, p=[0.0, 1.0, 0.0])  # what the mixed sampler draws first
    expected = make_hole_sampler("free_form", hole_min=sampler.hole_min, hole_max=sampler.hole_max)(128, 128, strokes_rng)
    np.testing.assert_array_equal(sampler(128, 128, rng), expected)  # every hole a stroke
    with pytest.raises(ValueError, match="stroke_share"):
        preset("cpu", hole_sampler="mixed", stroke_share=1.5)
