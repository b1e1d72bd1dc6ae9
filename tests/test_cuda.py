"""The CUDA paths: completion in fp32, bf16 and fp16 on the GPU against the CPU, and a few training
steps on the GPU in each training precision. Skipped (with the reason) where no GPU exists."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glcic
from conftest import box_mask, scene

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")


@pytest.mark.parametrize("precision, tolerance", [("fp32", 0.05), ("bf16", 1.5), ("fp16", 1.0)])
def test_bundled_model_on_the_gpu_matches_the_cpu(precision, tolerance):
    """Mean hole difference against the CPU in fp32, in grey levels."""
    image = scene(384, 512)
    hole = box_mask(384, 512, (100, 120, 90, 110), (250, 400, 30, 60))
    reference = glcic.complete(glcic.load_model(precision="fp32"), image, hole).astype(np.float64)
    model = glcic.load_model(device="cuda", precision=precision)
    assert model.device.type == "cuda" and model.precision == precision
    completed = glcic.complete(model, image, hole).astype(np.float64)
    assert np.abs(completed - reference)[hole].mean() <= tolerance
    np.testing.assert_array_equal(completed[~hole], image[~hole])


def test_auto_precision_on_the_gpu_is_bf16():
    assert glcic.load_model(device="cuda", precision="auto").precision == "bf16"


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_training_steps_on_the_gpu(tmp_path, precision):
    from test_training import make_photos, tiny_config

    from glcic.training import train

    photos = make_photos(tmp_path / "photos")
    run = tmp_path / "run"
    train(tiny_config(photos, precision=precision), run, device="cuda", progress=False)
    assert (run / "checkpoint.pt").is_file()
