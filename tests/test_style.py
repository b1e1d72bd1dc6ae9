"""The texture statistics term (`--style-weight`, glcic.style): what it rewards and what it does not."""

import numpy as np
import pytest
import torch

from glcic.losses import low_pass
from glcic.style import filter_bank, style_loss


@pytest.fixture(scope="module")
def textured():
    """Sixteen 64 px crops of the repository's example photos, with a 32 px square hole in each."""
    from glcic.image_io import read_image
    from pathlib import Path

    crops = []
    for path in sorted(Path(__file__).parents[1].glob("examples/images/*.jpg"))[:4]:
        image = read_image(path)
        height, width = image.shape[:2]
        for k in range(4):
            top, left = (height - 64) * (k + 1) // 5, (width - 64) * (4 - k) // 5
            crops.append(image[top : top + 64, left : left + 64, :3])
    images = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 255
    hole = torch.zeros(len(images), 1, 64, 64)
    hole[..., 16:48, 16:48] = 1
    return images, hole


def fill(images, hole, content):
    return images * (1 - hole) + content * hole


def test_the_bank_is_fixed_and_leaves_the_global_random_stream_alone():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    first, second = filter_bank(), filter_bank()
    assert torch.equal(torch.rand(3), expected)
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))
    assert all(bank.sum(dim=(1, 2, 3)).abs().max() < 1e-5 for bank in first)  # zero mean: flat colour gives nothing


def test_the_original_scores_zero_and_blur_grows_the_distance(textured):
    images, hole = textured
    banks = filter_bank()
    assert style_loss(images, images, hole, banks).item() == 0
    blurred = [style_loss(fill(images, hole, low_pass(images, sigma)), images, hole, banks).item() for sigma in (1, 2, 4)]
    assert 0 < blurred[0] < blurred[1] < blurred[2]
    mean = (images * hole).sum(dim=(2, 3), keepdim=True) / hole.sum(dim=(2, 3), keepdim=True)
    assert style_loss(fill(images, hole, mean.expand_as(images)), images, hole, banks).item() > blurred[2]


def test_the_same_texture_moved_is_nearer_than_a_blur_and_a_grid_is_farther(textured):
    images, hole = textured
    banks = filter_bank()
    blur = fill(images, hole, low_pass(images, 2))
    moved = fill(images, hole, torch.roll(images, (3, 2), dims=(2, 3)))
    rows, columns = torch.meshgrid(torch.arange(64), torch.arange(64), indexing="ij")
    checkerboard = ((rows // 4 + columns // 4) % 2).float() * 2 - 1  # period 8 px, the joint phase's own
    gridded = fill(images, hole, low_pass(images, 2) + checkerboard * 8 / 255)
    distance = lambda candidate: style_loss(candidate, images, hole, banks).item()  # noqa: E731
    assert distance(moved) < distance(blur) < distance(gridded)


def test_the_gradient_reaches_the_fill_only_where_the_region_is(textured):
    images, hole = textured
    candidate = low_pass(images, 2).requires_grad_(True)
    style_loss(fill(images, hole, candidate), images, hole, filter_bank()).backward()
    outside = candidate.grad * (1 - hole)
    assert candidate.grad.abs().sum() > 0 and outside.abs().sum() == 0
