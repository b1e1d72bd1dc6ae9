"""The per-square detail term (`--detail-weight`, glcic.local_detail): it asks for the original's
amount of fine detail square by square, so a blur, grain in a smooth region and colour speckle are
all far from the original, each where it is wrong."""

import numpy as np
import pytest
import torch

from glcic.local_detail import TILE, detail_loss, detail_map
from glcic.losses import low_pass


@pytest.fixture(scope="module")
def photo():
    """A 128 px crop of an example photo, left half replaced by its own mean colour (smooth), with
    a 64 px hole across both halves."""
    from pathlib import Path

    from glcic.image_io import read_image

    path = sorted(Path(__file__).parents[1].glob("examples/images/*.jpg"))[0]
    image = torch.from_numpy(np.ascontiguousarray(read_image(path)[:128, :128, :3])).permute(2, 0, 1)[None].float() / 255
    image[..., :64] = image[..., :64].mean(dim=(2, 3), keepdim=True)
    hole = torch.zeros(1, 1, 128, 128)
    hole[..., 32:96, 32:96] = 1
    return image, hole


def grain(shape, seed, amplitude=0.04):
    return amplitude * torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def test_the_original_scores_zero_and_a_blur_does_not(photo):
    image, hole = photo
    assert detail_loss(image, image, hole).item() == 0
    blurred = [detail_loss(low_pass(image, sigma), image, hole).item() for sigma in (1, 2, 4)]
    assert 0 < blurred[0] < blurred[1] < blurred[2]


def test_grain_is_counted_where_the_original_is_smooth(photo):
    """The same grain costs more in the smooth half than in the textured half: the term is per square."""
    image, hole = photo
    noise = grain((1, 1, 128, 128), 0)
    smooth_half, textured_half = torch.zeros_like(hole), torch.zeros_like(hole)
    smooth_half[..., :64], textured_half[..., 64:] = 1, 1
    blur = low_pass(image, 4)
    on_smooth = detail_loss(image + noise * smooth_half, image, hole).item()
    on_textured = detail_loss(blur + noise * textured_half, image, hole).item()
    blur_only = detail_loss(blur, image, hole).item()
    assert on_smooth > 0.002  # the original's smooth half has no detail: the grain is all error
    assert on_textured < blur_only  # the textured half wants detail: grain there brings the fill closer


def test_colour_speckle_costs_more_than_grey_grain_of_the_same_size(photo):
    image, hole = photo
    blur = low_pass(image, 4)
    grey = detail_loss(blur + grain((1, 1, 128, 128), 1), image, hole).item()
    colour = detail_loss(blur + grain((1, 3, 128, 128), 1), image, hole).item()
    assert colour > grey


def test_only_squares_that_are_mostly_hole_count(photo):
    image, hole = photo
    _, coverage = detail_map(image, hole)
    assert coverage.shape[-2:] == (128 // TILE, 128 // TILE)
    outside = torch.ones_like(hole)
    outside[..., 24:104, 24:104] = 0  # away from the hole by more than the blur's reach (3 sigma)
    assert detail_loss(image + grain(image.shape, 2) * outside, image, hole).item() == 0


def test_the_gradient_reaches_the_fill_and_not_the_original(photo):
    image, hole = photo
    fill, original = low_pass(image, 3).requires_grad_(True), image.clone().requires_grad_(True)
    detail_loss(fill, original, hole).backward()
    assert fill.grad.abs().sum() > 0 and original.grad is None
