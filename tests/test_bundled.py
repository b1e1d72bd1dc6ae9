"""The models that ship with glcic, their cards, their names, and the README's first command (`make demo`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from glcic.image_io import read_image, list_images
from glcic.model_file import BUNDLED_MODELS, DEFAULT_MODEL, model_source, read_model_file

ROOT = Path(__file__).resolve().parent.parent
PHASES = {"accurate": ("completion",), "realistic": ("joint",)}  # a realistic one is trained against the discriminators


@pytest.mark.parametrize("name", sorted(BUNDLED_MODELS))
def test_each_bundled_model_is_small_trained_as_its_name_says_and_has_a_card(name):
    path = BUNDLED_MODELS[name]
    if not path.is_file():
        pytest.skip(f"bundled model {name} is not in this tree")
    assert path.stat().st_size <= 25 * 2**20
    tensors, config = read_model_file(path)
    notes = config.notes
    assert notes["trained_with"] == "glcic train" and notes["phase"] in PHASES[name]
    assert notes["images_seen"] >= notes["iteration"] * notes["batch_size"]  # cumulative over fine-tuning runs
    assert config.hole_sampler == "mixed"  # rectangles, strokes and blobs
    assert (path.parent / f"MODEL_CARD_{name}.md").is_file()


def test_models_are_found_by_name_and_files_by_path(tmp_path):
    assert model_source(None) == BUNDLED_MODELS[DEFAULT_MODEL] and BUNDLED_MODELS[DEFAULT_MODEL].is_file()
    assert model_source("accurate") == BUNDLED_MODELS["accurate"]
    assert model_source(str(tmp_path / "accurate")) == tmp_path / "accurate"  # a path, not a name


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
