"""Texture synthesis after the network (glcic.inference.texture): guided PatchMatch on real photos."""

import sys
from pathlib import Path

import numpy as np
import pytest

import glcic
from glcic.errors import GlcicError
from glcic.evaluation.metrics import detail
from glcic.image_io import read_image
from glcic.losses import low_pass
from glcic.inference.texture import SPLIT_SIGMA

pytest.importorskip("patchmatch")

from conftest import box_mask  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def rock():
    return read_image(ROOT / "examples" / "images" / "stream.jpg")  # 512 x 341: rock, water, foliage


def blurred(image: np.ndarray, sigma: float) -> np.ndarray:
    import torch

    return low_pass(torch.from_numpy(image.astype(np.float32)).permute(2, 0, 1)[None], sigma)[0].permute(1, 2, 0).numpy()


def test_texture_carries_the_photos_detail_into_the_hole_where_the_network_blurs(bundled, rock):
    hole = box_mask(*rock.shape[:2], (180, 280, 40, 60), (30, 40, 30, 50))
    plain = np.asarray(glcic.complete(bundled, rock, hole))
    textured = np.asarray(glcic.complete(bundled, rock, hole, texture=True))
    np.testing.assert_array_equal(textured[~hole], rock[~hole])
    assert detail(rock, textured, hole) > 1.5 * detail(rock, plain, hole)


def test_the_coarse_colours_are_the_networks_and_the_fine_detail_is_the_photos(bundled, rock):
    """Plain PatchMatch copies whatever matches the hole's border; split by scale, the result's
    coarse colours stay those of the network's fill, while its fine detail is PatchMatch's."""
    from patchmatch import patch_match

    hole = box_mask(*rock.shape[:2], (150, 250, 64, 64))
    plain = np.asarray(glcic.complete(bundled, rock, hole))
    textured = np.asarray(glcic.complete(bundled, rock, hole, texture=True))
    patch_match.set_random_seed(0)
    copied = np.asarray(patch_match.inpaint(rock, hole.astype(np.uint8), patch_size=3))
    # well above and well below the split's scale
    coarse = lambda image: blurred(image, 2 * SPLIT_SIGMA)[hole]  # noqa: E731
    fine = lambda image: (image.astype(np.float32) - blurred(image, SPLIT_SIGMA / 2))[hole]  # noqa: E731
    assert np.abs(coarse(textured) - coarse(plain)).mean() < 0.3 * np.abs(coarse(copied) - coarse(plain)).mean()
    assert np.corrcoef(fine(textured).ravel(), fine(copied).ravel())[0, 1] > 0.8


def test_texture_is_seeded(bundled, rock):
    hole = box_mask(*rock.shape[:2], (100, 200, 30, 40))
    first, again = (np.asarray(glcic.complete(bundled, rock, hole, texture=True, seed=3)) for _ in range(2))
    other = np.asarray(glcic.complete(bundled, rock, hole, texture=True, seed=4))
    np.testing.assert_array_equal(first, again)
    assert np.any(first != other)


def test_small_images_and_sixteen_bits(model):
    tiny = np.full((8, 12, 3), 90, np.uint8)
    tiny_hole = box_mask(8, 12, (2, 4, 3, 3))
    np.testing.assert_array_equal(np.asarray(glcic.complete(model, tiny, tiny_hole, texture=True))[~tiny_hole], tiny[~tiny_hole])
    deep = (np.random.default_rng(0).integers(0, 65536, (64, 80, 3))).astype(np.uint16)
    hole = box_mask(64, 80, (20, 30, 16, 16))
    result = glcic.complete(model, deep, hole, texture=True)
    assert result.dtype == np.uint16 and np.array_equal(result[~hole], deep[~hole])


def test_without_pypatchmatch_texture_is_one_clear_error(model, monkeypatch):
    monkeypatch.setitem(sys.modules, "patchmatch", None)  # import patchmatch now fails
    image = np.zeros((32, 32, 3), np.uint8)
    with pytest.raises(GlcicError, match="pypatchmatch"):
        glcic.complete(model, image, box_mask(32, 32, (8, 8, 8, 8)), texture=True)
    glcic.complete(model, image, box_mask(32, 32, (8, 8, 8, 8)))  # without texture nothing is needed


def test_the_coherence_gate_drops_detail_copied_from_a_place_unlike_the_fill():
    from glcic.inference.texture import split_by_scale

    rng = np.random.default_rng(0)
    fill = np.full((64, 96, 3), 0.5, np.float32)  # the network's fill: flat grey
    copied = np.clip(0.5 + rng.normal(0, 0.1, (64, 96, 3)), 0, 1).astype(np.float32)  # grain on the same grey...
    copied[:, 48:] = np.clip(copied[:, 48:] + np.array([0.4, -0.3, -0.3], np.float32), 0, 1)  # ...and on a red unlike it
    plain = split_by_scale(fill, copied, 4.0)
    gated = split_by_scale(fill, copied, 4.0, coherence=(0.15, 0.3))
    np.testing.assert_array_equal(split_by_scale(fill, copied, 4.0, coherence=None), plain)
    left, right = (slice(None), slice(8, 36)), (slice(None), slice(60, 88))  # away from the seam between the two
    np.testing.assert_allclose(gated[left], plain[left], atol=1e-6)  # where the copy agrees, all its detail is kept
    assert plain[right].std() > 0.05 and gated[right].std() < 0.01  # where it does not, none: the fill's coarse grey
