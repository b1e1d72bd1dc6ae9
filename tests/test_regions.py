"""Hole-centred windows: their scale, their boxes, and exactness at full resolution with trained weights."""

import numpy as np
import pytest

from glcic.inference.complete import predict, predict_windows
from glcic.inference.regions import CONTEXT, hole_depths, label_holes, plan_windows, working_scale
from glcic.models.completion import network_reach
from glcic.pixels import split_rgb

from conftest import box_mask, scene


def test_reach_comes_from_the_layer_list():
    assert network_reach() == 153  # Table 2; measured 151-153 by perturbing single input pixels


@pytest.mark.parametrize("depth, trained, expected", [(5, 32, 1.0), (32, 32, 1.0), (64, 32, 0.5), (45, 32, 2 ** -0.5), (33, 32, 2 ** -0.25)])
def test_working_scale_in_quarter_octaves_never_above_one(depth, trained, expected):
    assert working_scale(depth, trained) == pytest.approx(expected)
    assert working_scale(depth, trained) * depth <= trained + 1e-9 or working_scale(depth, trained) == 1.0


def test_depth_is_the_distance_to_the_nearest_known_pixel():
    hole = box_mask(200, 300, (50, 50, 41, 101), (10, 250, 3, 40))
    count, labels, _ = label_holes(hole)
    depths = sorted(hole_depths(hole, labels, count))
    assert depths[0] == pytest.approx(2, abs=0.01)  # a 3 px wide stroke
    assert depths[1] == pytest.approx(21, abs=0.01)  # 41 px high box: 21 px from its middle row to the outside


@pytest.mark.parametrize("native, margin", [(True, 153), (False, CONTEXT)])
def test_windows_are_aligned_cover_their_margin_and_stay_inside_the_image(native, margin):
    """native: the whole reach around each hole; otherwise CONTEXT px (at the working scale)."""
    hole = box_mask(1000, 1200, (500, 600, 30, 30), (0, 0, 20, 20), (980, 1190, 20, 10))
    windows, _ = plan_windows(hole, working_depth=32, reach=153, native=native)
    assert len(windows) == 3 and all(w.scale == 1.0 for w in windows)
    for window in windows:
        box = window.box
        assert box.top % 4 == 0 and box.left % 4 == 0
        assert box.top >= 0 and box.left >= 0 and box.top + box.height <= 1000 and box.left + box.width <= 1200
    middle = next(w for w in windows if w.box.top > 0 and w.box.top + w.box.height < 1000)
    assert 500 - margin - 4 < middle.box.top <= 500 - margin and 530 + margin <= middle.box.top + middle.box.height < 530 + margin + 4


def _overlap(a, b):
    return a.top < b.top + b.height and b.top < a.top + a.height and a.left < b.left + b.width and b.left < a.left + a.width


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("native", [False, True])
def test_windows_merge_until_no_two_of_one_scale_overlap_and_no_further(seed, native):
    """Against the definition, on random boxes and specks: every hole is completed by exactly one
    window, no two windows of one scale overlap, and each window's holes cannot be split into two
    sets whose windows would not overlap (the merge takes the finest partition that has no overlap)."""
    from glcic.inference.regions import _with_box, Window

    rng = np.random.default_rng(seed)
    hole = np.zeros((int(rng.integers(200, 500)), int(rng.integers(200, 500))), bool)
    for _ in range(8):
        top, left = rng.integers(0, hole.shape[0]), rng.integers(0, hole.shape[1])
        hole[top : top + rng.integers(1, 90), left : left + rng.integers(1, 90)] = True
    hole |= rng.random(hole.shape) < 0.0005  # specks: many one-pixel holes
    windows, labels = plan_windows(hole, working_depth=16, reach=153, native=native)
    count = label_holes(hole)[0]
    assert sorted(label for w in windows for label in w.labels) == list(range(1, count))
    for i, a in enumerate(windows):
        assert not any(a.scale == b.scale and _overlap(a.box, b.box) for b in windows[i + 1 :])
    # finest: replay the merge pair by pair from single holes, the slow way, and compare
    _, _, stats = label_holes(hole)
    extents = {k: (int(stats[k, 1]), int(stats[k, 0]), int(stats[k, 1] + stats[k, 3]), int(stats[k, 0] + stats[k, 2])) for k in range(1, count)}
    margin = 153 if native else CONTEXT
    slow = [_with_box(Window(w.box, s, (k,)), extents, margin, *hole.shape, None)
            for k in range(1, count) for w in [windows[0]] for s in [next(x.scale for x in windows if k in x.labels)]]
    merged = True
    while merged:
        merged = False
        for i in range(len(slow)):
            j = next((j for j in range(i + 1, len(slow)) if slow[i].scale == slow[j].scale and _overlap(slow[i].box, slow[j].box)), None)
            if j is not None:
                slow[i] = _with_box(Window(slow[i].box, slow[i].scale, slow[i].labels + slow[j].labels), extents, margin, *hole.shape, None)
                del slow[j]
                merged = True
                break
    assert sorted((w.box, w.scale, sorted(w.labels)) for w in windows) == sorted((w.box, w.scale, sorted(w.labels)) for w in slow)


def test_a_deep_hole_gets_its_context_at_the_working_scale():
    hole = box_mask(1600, 2560, (700, 1200, 200, 200))
    (window,), _ = plan_windows(hole, working_depth=32, reach=153)
    assert window.scale < 0.35
    assert window.box.height * window.scale == pytest.approx(200 * window.scale + 2 * CONTEXT, abs=4)


def test_overlapping_windows_of_one_scale_merge_and_deep_holes_get_their_own_scale():
    hole = box_mask(600, 800, (100, 100, 10, 10), (100, 200, 10, 10), (300, 400, 200, 200))
    windows, labels = plan_windows(hole, working_depth=32, reach=153)
    scales = sorted(w.scale for w in windows)
    assert len(windows) == 2 and scales[1] == 1.0 and scales[0] < 0.5
    assert sorted(len(w.labels) for w in windows) == [1, 2]
    native, _ = plan_windows(hole, working_depth=32, reach=153, native=True)
    assert all(w.scale == 1.0 for w in native)


@pytest.mark.parametrize("boxes", [
    [(300, 380, 60, 80)],  # middle
    [(0, 0, 50, 70)],  # top-left corner
    [(462, 700, 50, 60)],  # bottom-right corner (the image is not a multiple of 4)
    [(200, 0, 40, 30), (0, 400, 30, 50), (230, 733, 40, 27)],  # on three edges
])
def test_full_resolution_windows_reproduce_the_whole_image_run(bundled, boxes):
    image = split_rgb(scene(513, 761, seed=3))
    hole = box_mask(513, 761, *boxes)
    windows, labels = plan_windows(hole, working_depth=None, reach=network_reach(), native=True)
    assert all(w.box.height * w.box.width < 513 * 761 for w in windows)  # really crops
    windowed = predict_windows(bundled, image, hole, windows, labels)
    whole = predict(bundled, image, hole)
    assert np.abs(windowed[hole] - whole[hole]).max() < 1e-5


def test_complete_works_inside_the_windows_only_and_matches_the_whole_image_run(bundled):
    import glcic

    image = scene(600, 900, seed=4)
    hole = box_mask(600, 900, (280, 430, 40, 30), (10, 860, 20, 30))  # a middle hole and one at an edge
    # one network run each: a mirrored window sits on the network's 4 px grid differently from the mirrored photo
    result = glcic.complete(bundled, image, hole, native=True, postprocess=False, flip_average=False)
    whole = np.rint(predict(bundled, split_rgb(image), hole) * 255)
    assert np.abs(result[hole].astype(float) - whole[hole]).max() <= 1  # rounding of values within 1e-5
    np.testing.assert_array_equal(result[~hole], image[~hole])
