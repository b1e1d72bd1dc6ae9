"""The one completion function: any size, any holes, any layout; known pixels untouched."""

import warnings

import numpy as np
import pytest
from PIL import Image

import glcic
from glcic.errors import GlcicError, MaskError
from glcic.inference.complete import EmptyMaskWarning, predict
from glcic.pixels import split_rgb

from conftest import box_mask, scene


def outside_unchanged(result: np.ndarray, image: np.ndarray, region: np.ndarray) -> bool:
    return np.array_equal(result[~region], image[~region])


@pytest.mark.parametrize("postprocess", [False, True])
@pytest.mark.parametrize("size", [(8, 8), (37, 53), (96, 128), (130, 47)])
def test_pixels_outside_the_hole_are_the_input_bit_for_bit(model, postprocess, size):
    image = scene(*size)
    height, width = size
    hole = box_mask(height, width, (height // 4, width // 4, max(1, height // 3), max(1, width // 3)))
    result = glcic.complete(model, image, hole, postprocess=postprocess)
    assert result.shape == image.shape and result.dtype == image.dtype
    assert outside_unchanged(result, image, hole)
    assert not np.array_equal(result[hole], image[hole])  # the hole was filled


def test_result_is_the_network_output_inside_the_hole(model, photo):
    hole = box_mask(96, 128, (20, 30, 40, 50))
    result = glcic.complete(model, photo, hole, postprocess=False)
    expected = np.rint(predict(model, split_rgb(photo), hole, flip_average=True) * 255).astype(np.uint8)  # the whole image, no windows
    np.testing.assert_array_equal(result[hole], expected[hole])


def test_the_network_sees_the_image_border_replicated_around_it(model, photo, monkeypatch):
    """Its output is poor within a few pixels of its own input's border: every input gets BORDER px
    of edge-replicated pixels on each side (and the hole with them), cropped off the output."""
    from glcic.inference.complete import BORDER
    from glcic.models.completion import network_reach

    seen = []
    run = model.run
    monkeypatch.setattr(model, "run", lambda inputs: seen.append(inputs) or run(inputs))
    hole = box_mask(96, 128, (0, 0, 20, 30))  # at the top-left corner
    output = predict(model, split_rgb(photo), hole)
    (inputs,) = seen
    assert BORDER > 0 and BORDER % 4 == 0 and inputs.shape == (1, 4, 96 + 2 * BORDER, 128 + 2 * BORDER)
    np.testing.assert_array_equal(inputs[0, 3, :BORDER + 20, :BORDER + 30], 1)  # the corner hole reaches into the border
    np.testing.assert_allclose(inputs[0, :3, BORDER + 50, :BORDER], np.repeat(inputs[0, :3, BORDER + 50, BORDER : BORDER + 1], BORDER, 1))
    assert output.shape == (96, 128, 3)
    seen.clear()  # a window inside the image, away from its sides, runs as it is
    big, middle = scene(400, 400), box_mask(400, 400, (190, 190, 12, 12))
    glcic.complete(model, big, middle, native=True, postprocess=False)
    (inputs,) = seen
    assert inputs.shape[2] < 400 and inputs.shape[2:] == (12 + 2 * network_reach() + 2, 12 + 2 * network_reach() + 2)


@pytest.mark.parametrize("width", [128, 130])
def test_flip_average_is_the_mean_of_the_image_and_its_mirror(bundled, width):
    model = bundled
    image, hole = split_rgb(scene(96, width)), box_mask(96, width, (20, 30, 40, 50))
    both = predict(model, image, hole, flip_average=True)
    once = predict(model, image, hole)
    mirrored = predict(model, np.ascontiguousarray(image[:, ::-1]), np.ascontiguousarray(hole[:, ::-1]))[:, ::-1]
    if width % 4 == 0:  # else the mirrored run's edge padding sits on the other side
        np.testing.assert_allclose(both, (once + mirrored) / 2, atol=1e-5)
    assert np.abs(both - once)[hole].mean() > 0.5 / 255  # the mirror changed the fill


def test_a_mirrored_photo_gets_the_mirrored_fill(bundled, photo):
    model = bundled
    hole = box_mask(96, 128, (20, 30, 40, 50))
    mirror = lambda a: np.ascontiguousarray(a[:, ::-1])  # noqa: E731
    # native: one whole-image window for both (brought-down windows sit on a grid that does not mirror)
    fill = glcic.complete(model, photo, hole, native=True)
    np.testing.assert_array_equal(mirror(glcic.complete(model, mirror(photo), mirror(hole), native=True)), fill)
    once = glcic.complete(model, photo, hole, native=True, flip_average=False).astype(int)
    assert np.abs(once - mirror(glcic.complete(model, mirror(photo), mirror(hole), native=True, flip_average=False))).max() > 5


def test_hole_content_does_not_matter(model, photo):
    hole = box_mask(96, 128, (20, 30, 40, 50))
    scribbled = photo.copy()
    scribbled[hole] = 255
    first = glcic.complete(model, photo, hole)
    second = glcic.complete(model, scribbled, hole)
    np.testing.assert_array_equal(first[hole], second[hole])


def test_many_holes_of_any_shape(model, photo):
    from glcic.masks import make_hole_sampler

    hole = make_hole_sampler("free_form")(96, 128, np.random.default_rng(2))
    hole |= box_mask(96, 128, (0, 0, 10, 10), (86, 118, 10, 10), (40, 60, 1, 1))
    result = glcic.complete(model, photo, hole)
    assert outside_unchanged(result, photo, hole)


@pytest.mark.parametrize("shape", [(4096, 24), (24, 4096)])
def test_4096_px_sides(model, shape):
    image = scene(*shape)
    hole = box_mask(*shape, (4, 4, 12, 12), (shape[0] - 16, shape[1] - 16, 12, 12))
    result = glcic.complete(model, image, hole)
    assert result.shape == image.shape
    assert outside_unchanged(result, image, hole)


def test_4096_by_4096_with_holes_at_corners_and_border(model):
    image = np.random.default_rng(0).integers(0, 256, (4096, 4096, 3), dtype=np.uint8)
    hole = box_mask(4096, 4096, (0, 0, 200, 300), (3900, 3950, 196, 146), (2000, 0, 150, 400), (1000, 1000, 300, 300))
    result = glcic.complete(model, image, hole)
    assert outside_unchanged(result, image, hole)


def test_max_side_downscales_for_the_network_and_keeps_full_resolution(model):
    image = scene(200, 120)
    hole = box_mask(200, 120, (50, 30, 40, 40))
    result = glcic.complete(model, image, hole, max_side=64, postprocess=False)
    assert result.shape == image.shape
    assert outside_unchanged(result, image, hole)
    full = glcic.complete(model, image, hole, postprocess=False)
    assert not np.array_equal(result[hole], full[hole])  # it really ran at the lower resolution


def test_grey_image(model):
    grey = scene(40, 56)[:, :, 1]
    hole = box_mask(40, 56, (10, 10, 15, 20))
    result = glcic.complete(model, grey, hole)
    assert result.shape == grey.shape and result.dtype == np.uint8
    assert outside_unchanged(result, grey, hole)


def test_rgba_keeps_alpha_everywhere(model):
    rgba = np.dstack([scene(40, 56), np.random.default_rng(0).integers(0, 256, (40, 56), dtype=np.uint8)])
    hole = box_mask(40, 56, (10, 10, 15, 20))
    result = glcic.complete(model, rgba, hole)
    np.testing.assert_array_equal(result[:, :, 3], rgba[:, :, 3])
    assert outside_unchanged(result, rgba, hole)


def test_sixteen_bit_stays_sixteen_bit(model):
    deep = scene(40, 56).astype(np.uint16) * 257 + np.uint16(100)
    hole = box_mask(40, 56, (10, 10, 15, 20))
    result = glcic.complete(model, deep, hole)
    assert result.dtype == np.uint16
    assert outside_unchanged(result, deep, hole)
    assert len(np.unique(result[hole] % 257)) > 1  # hole values use the 16-bit range, not 8-bit steps


def test_float_image_in_float_out(model):
    image = scene(32, 32).astype(np.float32) / 255
    hole = box_mask(32, 32, (8, 8, 12, 12))
    result = glcic.complete(model, image, hole, postprocess=False)
    assert result.dtype == np.float32
    assert outside_unchanged(result, image, hole)


def test_pil_in_pil_out(model, photo):
    mask = Image.fromarray(box_mask(96, 128, (20, 30, 40, 50)).astype(np.uint8) * 255)
    result = glcic.complete(model, Image.fromarray(photo), mask)
    assert isinstance(result, Image.Image) and result.size == (128, 96) and result.mode == "RGB"


@pytest.mark.parametrize("value, is_hole", [(255, True), (52, True), (51, True), (50, False), (0, False)])
def test_mask_threshold_of_the_authors_release(model, photo, value, is_hole):
    mask = np.zeros((96, 128), np.uint8)
    mask[20:40, 30:60] = value
    mask[70:80, 100:120] = 255  # a second hole, so the mask is never empty
    result = glcic.complete(model, photo, mask, postprocess=False)
    assert np.array_equal(result[20:40, 30:60], photo[20:40, 30:60]) != is_hole


def test_inverted_mask(model, photo):
    mask = np.full((96, 128), 255, np.uint8)
    mask[20:40, 30:60] = 0  # black = hole with invert_mask
    result = glcic.complete(model, photo, mask, invert_mask=True, postprocess=False)
    hole = mask == 0
    assert outside_unchanged(result, photo, hole) and not np.array_equal(result[hole], photo[hole])


def test_mask_painted_on_a_transparent_layer(model, photo):
    layer = np.zeros((96, 128, 4), np.uint8)
    layer[..., :3] = 255  # white everywhere, but only opaque where painted
    layer[20:40, 30:60, 3] = 255
    result = glcic.complete(model, photo, layer, postprocess=False)
    hole = box_mask(96, 128, (20, 30, 20, 30))
    assert outside_unchanged(result, photo, hole)


def test_bf16_agrees_with_fp32(model_path, photo):
    reference_model = glcic.load_model(model_path, precision="fp32")
    bf16_model = glcic.load_model(model_path, precision="bf16")
    hole = box_mask(96, 128, (20, 30, 40, 50))
    reference = glcic.complete(reference_model, photo, hole, postprocess=False).astype(int)
    result = glcic.complete(bf16_model, photo, hole, postprocess=False)
    assert bf16_model.precision == "bf16" and reference_model.precision == "fp32"
    assert outside_unchanged(result, photo, hole)
    assert np.abs(result.astype(int) - reference)[hole].mean() < 3  # grey levels


def test_auto_precision_follows_the_cpu(model_path):
    from glcic.devices import cpu_bf16_flags

    assert glcic.load_model(model_path, precision="auto").precision == ("bf16" if cpu_bf16_flags() else "fp32")


def test_empty_mask_returns_the_image_with_a_warning(model, photo):
    with pytest.warns(EmptyMaskWarning):
        result = glcic.complete(model, photo, np.zeros((96, 128), bool))
    np.testing.assert_array_equal(result, photo)


def test_errors_name_the_problem(model, photo):
    with pytest.raises(MaskError, match="mask is 64x96 px but the image is 128x96"):
        glcic.complete(model, photo, np.ones((96, 64), bool))
    with pytest.raises(MaskError, match="covers the whole image"):
        glcic.complete(model, photo, np.ones((96, 128), bool))
    with pytest.raises(GlcicError, match="at least 8 px"):
        glcic.complete(model, photo[:7, :7], box_mask(7, 7, (2, 2, 2, 2)))
    with pytest.raises(GlcicError, match="fp16 is for GPUs"):
        glcic.load_model(precision="fp16")
    with pytest.raises(GlcicError, match="unknown precision"):
        glcic.load_model(precision="int4")
    with pytest.raises(GlcicError, match="int8 runs through the ONNX backend"):
        glcic.load_model(precision="int8")
    with pytest.raises(GlcicError, match="float images must hold finite values"):
        glcic.complete(model, np.full((16, 16, 3), 2.0), box_mask(16, 16, (2, 2, 4, 4)))
    with pytest.raises(GlcicError, match="shape"):
        glcic.complete(model, np.zeros((16, 16, 5), np.uint8), box_mask(16, 16, (2, 2, 4, 4)))


def test_unavailable_device_is_an_error(model, photo):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(GlcicError, match="CUDA is not available"):
        glcic.load_model(device="cuda")


def test_completion_is_deterministic(model, photo):
    hole = box_mask(96, 128, (20, 30, 40, 50))
    np.testing.assert_array_equal(glcic.complete(model, photo, hole), glcic.complete(model, photo, hole))


def test_holes_deeper_than_the_training_holes_run_downscaled_unless_native(tmp_path):
    from conftest import tiny_network
    from glcic.config import ModelConfig
    from glcic.inference.model import load_model
    from glcic.model_file import save_model

    image = scene(192, 256)
    deep, shallow = box_mask(192, 256, (40, 40, 80, 100)), box_mask(192, 256, (150, 200, 6, 30))
    path = tmp_path / "m.safetensors"
    save_model(path, tiny_network(), ModelConfig(width=0.125, hole_min=8, hole_max=16))  # trained depth 8 px
    model = load_model(path)
    both = deep | shallow
    values = split_rgb(image)  # float in, float out: no rounding hides a difference
    windowed = glcic.complete(model, values, both, postprocess=False)
    native = glcic.complete(model, values, both, postprocess=False, native=True)
    whole = predict(model, values, both, flip_average=True)
    np.testing.assert_allclose(native[both], whole[both], atol=1e-5)  # native: exactly the whole-image run
    np.testing.assert_allclose(windowed[shallow], whole[shallow], atol=1e-5)  # a shallow hole keeps full resolution
    assert np.abs(windowed[deep] - whole[deep]).max() > 1e-4  # the deep one ran brought down
    once = glcic.complete(model, values, both, postprocess=False, flip_average=False)
    np.testing.assert_array_equal(once[deep], windowed[deep])  # and once: the flip is for full-resolution windows
    assert np.abs(once[shallow] - windowed[shallow]).max() > 1e-4
    assert outside_unchanged(windowed, values, both)


def test_a_mask_covering_most_of_the_image_warns_that_it_may_be_inverted(model, photo):
    from glcic.inference.complete import LargeMaskWarning

    hole = np.ones((96, 128), bool)
    hole[10:30, 10:40] = False
    with pytest.warns(LargeMaskWarning, match="--invert-mask"):
        glcic.complete(model, photo, hole, postprocess=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        glcic.complete(model, photo, ~hole, postprocess=False)  # the same mask inverted: no warning


def test_an_animated_image_warns_that_only_its_first_frame_is_used(tmp_path):
    from glcic.image_io import read_image

    frames = [Image.fromarray(scene(32, 32, seed=seed)) for seed in range(3)]
    frames[0].save(tmp_path / "anim.webp", save_all=True, append_images=frames[1:], lossless=True)
    with pytest.warns(UserWarning, match="3 frames; only the first is used"):
        first = read_image(tmp_path / "anim.webp")
    np.testing.assert_array_equal(first, scene(32, 32, seed=0))


def test_progress_is_reported_window_by_window(model):
    image = scene(900, 1400)
    hole = box_mask(900, 1400, (10, 10, 8, 8), (850, 1350, 8, 8), (450, 700, 6, 6))  # three windows that do not overlap
    calls = []
    glcic.complete(model, image, hole, postprocess=False, progress=lambda done, total: calls.append((done, total)))
    assert calls and all(total == calls[0][1] for _, total in calls) and sum(done for done, _ in calls) == calls[0][1] >= 2


def test_native_on_a_hole_deeper_than_the_training_holes_warns_and_says_what_to_do(model):
    import warnings

    from glcic.inference.complete import DeepHoleWarning

    image = scene(320, 320)
    deep = box_mask(320, 320, (40, 40, 240, 240))  # 120 px deep; the model trained on holes up to 128 px (64 deep)
    with pytest.warns(DeepHoleWarning, match="native"):
        glcic.complete(model, image, deep, native=True, postprocess=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeepHoleWarning)
        glcic.complete(model, image, deep, postprocess=False)  # brought down: no warning
        glcic.complete(model, image, box_mask(320, 320, (100, 100, 60, 60)), native=True, postprocess=False)  # shallow enough
