"""The model that ships with glcic, its card, and the README's first command (`make demo`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from glcic.image_io import read_image, list_images
from glcic.model_file import BUNDLED_MODEL, read_model_file

ROOT = Path(__file__).resolve().parent.parent


def test_the_bundled_model_is_small_trained_and_described():
    assert BUNDLED_MODEL.is_file() and BUNDLED_MODEL.stat().st_size <= 25 * 2**20
    tensors, config = read_model_file(BUNDLED_MODEL)
    notes = config.notes
    assert notes["trained_with"] == "glcic train" and notes["phase"] in ("completion", "discriminator", "joint")
    assert notes["images_seen"] >= notes["iteration"] * notes["batch_size"]  # cumulative over fine-tuning runs
    assert config.hole_sampler == "mixed"  # rectangles, strokes and blobs
    card = (BUNDLED_MODEL.parent / "MODEL_CARD.md").read_text()
    for needed in ("build_photos.py", "glcic train", "iterations", "hardware", "wall time", "Telea", "PatchMatch",
                   "images seen", "validation.png"):
        assert needed.lower() in card.lower(), needed


def test_demo_completes_the_examples_offline(tmp_path):
    out = tmp_path / "demo"
    result = subprocess.run([sys.executable, "-m", "glcic", "complete", ROOT / "examples" / "images", "--mask",
                             ROOT / "examples" / "masks", "-o", out], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    images = list_images(ROOT / "examples" / "images")
    assert len(images) == 3 and sorted(p.name for p in out.iterdir()) == sorted(p.name for p in images)
    for image_path in images:
        image = read_image(image_path)
        hole = read_image(ROOT / "examples" / "masks" / f"{image_path.stem}.png") > 50
        completed = read_image(out / image_path.name)
        assert completed.shape == image.shape
        # outside the hole the JPEG is re-encoded, so compare loosely; inside, something new was painted
        assert np.abs(completed[~hole].astype(int) - image[~hole]).mean() < 3
        assert np.abs(completed[hole].astype(int) - 255).mean() > 30
