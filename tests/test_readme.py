"""The README's examples run as written: its Python, the training quick-start, and the Python of docs/."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from conftest import box_mask, scene

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def blocks(path: Path, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", path.read_text(), flags=re.S)


def test_readme_and_docs_python_examples_run(model_path, tmp_path):
    shutil.copy(model_path, tmp_path / "model.safetensors")
    Image.fromarray(scene(96, 128)).save(tmp_path / "photo.jpg", quality=95)
    Image.fromarray(box_mask(96, 128, (20, 30, 40, 50)).astype(np.uint8) * 255).save(tmp_path / "mask.png")
    (tmp_path / "photos").mkdir()
    for index in range(4):
        Image.fromarray(scene(140, 180, seed=index)).save(tmp_path / "photos" / f"{index}.jpg", quality=90)
    found = blocks(README, "python") + blocks(ROOT / "docs" / "usage.md", "python") + blocks(ROOT / "docs" / "training.md", "python")
    assert len(found) >= 3
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        for block in found:
            exec(compile(block, str(README), "exec"), {})
    finally:
        os.chdir(cwd)
    assert Image.open(tmp_path / "completed.png").size == (128, 96)
    assert (tmp_path / "python.safetensors").is_file()


def test_the_training_quick_start_works_as_pasted(tmp_path):
    text = README.read_text()
    section = text[text.index("## Training quick-start"):]
    script = re.findall(r"```bash\n(.*?)```", section, flags=re.S)[0]
    script = script.replace("/tmp/", f"{tmp_path}/").replace(".venv/bin/glcic", f"{sys.executable} -m glcic")  # in this order: the
    # interpreter's own path may lie under /tmp
    result = subprocess.run(["bash", "-e", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "stopped at iteration 5" in result.stderr and "finished at iteration 8" in result.stderr
    assert (tmp_path / "quick.safetensors").is_file() and (tmp_path / "coffee.png").is_file()
