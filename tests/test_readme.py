"""The README's Python examples run as written."""

import os
import re
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from conftest import box_mask, scene

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_python_examples_run(model_path, tmp_path):
    shutil.copy(model_path, tmp_path / "model.safetensors")
    Image.fromarray(scene(96, 128)).save(tmp_path / "photo.jpg", quality=95)
    Image.fromarray(box_mask(96, 128, (20, 30, 40, 50)).astype(np.uint8) * 255).save(tmp_path / "mask.png")
    (tmp_path / "photos").mkdir()
    for index in range(4):
        Image.fromarray(scene(140, 180, seed=index)).save(tmp_path / "photos" / f"{index}.jpg", quality=90)
    blocks = python_blocks()
    assert len(blocks) >= 2
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        for block in blocks:
            exec(compile(block, str(README), "exec"), {})
    finally:
        os.chdir(cwd)
    assert Image.open(tmp_path / "completed.png").size == (128, 96)
    assert (tmp_path / "python.safetensors").is_file()
