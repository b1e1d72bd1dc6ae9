"""The `glcic` command: real files, real exit codes, clear errors, and no half-written output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from glcic.cli import main
from glcic.image_io import read_image

from conftest import box_mask, scene
from test_image_io import png_with_header_size


def save(path: Path, array: np.ndarray, **kwargs) -> Path:
    Image.fromarray(array).save(path, **kwargs)
    return path


@pytest.fixture
def files(tmp_path):
    """A photo, its mask (authors' format: white = hole) and the hole as a bool array."""
    hole = box_mask(96, 128, (20, 30, 40, 50), (0, 100, 20, 28))
    image = save(tmp_path / "photo.png", scene(96, 128))
    mask = save(tmp_path / "mask.png", hole.astype(np.uint8) * 255)
    return image, mask, hole


def run(*argv) -> int:
    return main([str(a) for a in argv])


def test_complete_writes_the_completion(files, model_path, tmp_path):
    image, mask, hole = files
    assert run("complete", image, "--mask", mask, "-o", tmp_path / "out.png", "--model", model_path) == 0
    result, original = read_image(tmp_path / "out.png"), read_image(image)
    np.testing.assert_array_equal(result[~hole], original[~hole])
    assert not np.array_equal(result[hole], original[hole])


def test_no_postprocess_changes_only_the_hole(files, model_path, tmp_path):
    image, mask, hole = files
    assert run("complete", image, "--mask", mask, "-o", tmp_path / "out.png", "--model", model_path, "--no-postprocess") == 0
    result, original = read_image(tmp_path / "out.png"), read_image(image)
    np.testing.assert_array_equal(result[~hole], original[~hole])


def test_no_flip_runs_the_network_once(files, model_path, tmp_path):
    import glcic

    image, mask, hole = files
    common = ["--mask", mask, "--model", model_path, "--precision", "fp32", "--no-texture"]
    assert run("complete", image, *common, "-o", tmp_path / "once.png", "--no-flip") == 0
    assert run("complete", image, *common, "-o", tmp_path / "twice.png") == 0
    model = glcic.load_model(model_path)
    once = glcic.complete(model, read_image(image), hole, flip_average=False)
    np.testing.assert_array_equal(read_image(tmp_path / "once.png"), once)
    np.testing.assert_array_equal(read_image(tmp_path / "twice.png"), glcic.complete(model, read_image(image), hole))
    assert not np.array_equal(once, read_image(tmp_path / "twice.png"))


def test_all_options_together(files, model_path, tmp_path):
    image, mask, _ = files
    inverted = save(tmp_path / "inverted.png", 255 - read_image(mask))
    argv = ["complete", image, "--mask", inverted, "-o", tmp_path / "out.png", "--model", model_path, "--invert-mask",
            "--max-side", "64", "--precision", "bf16", "--device", "cpu", "--threshold", "0.5", "--no-flip"]
    assert run(*argv) == 0
    assert read_image(tmp_path / "out.png").shape == (96, 128, 3)


def test_exif_rotated_photo_with_a_mask_drawn_on_the_upright_view(model_path, tmp_path):
    stored = scene(64, 96)  # stored landscape, displayed portrait (orientation 6: rotate 90 degrees clockwise)
    exif = Image.new("RGB", (1, 1)).getexif()
    exif[0x0112] = 6
    save(tmp_path / "photo.jpg", stored, exif=exif, quality=95)
    upright_hole = box_mask(96, 64, (60, 10, 20, 30))  # drawn on the 64 x 96 portrait the user sees
    save(tmp_path / "mask.png", upright_hole.astype(np.uint8) * 255)
    assert run("complete", tmp_path / "photo.jpg", "--mask", tmp_path / "mask.png", "-o", tmp_path / "out.png",
               "--model", model_path, "--no-postprocess") == 0
    result, upright = read_image(tmp_path / "out.png"), read_image(tmp_path / "photo.jpg")
    assert result.shape == (96, 64, 3)
    np.testing.assert_array_equal(result[~upright_hole], upright[~upright_hole])


def test_sixteen_bit_png_in_sixteen_bit_png_out(model_path, tmp_path):
    import cv2

    deep = scene(48, 64).astype(np.uint16) * 257
    cv2.imwrite(str(tmp_path / "deep.png"), deep[:, :, ::-1])
    hole = box_mask(48, 64, (10, 10, 20, 20))
    save(tmp_path / "mask.png", hole.astype(np.uint8) * 255)
    assert run("complete", tmp_path / "deep.png", "--mask", tmp_path / "mask.png", "-o", tmp_path / "out.png", "--model", model_path) == 0
    result = read_image(tmp_path / "out.png")
    assert result.dtype == np.uint16
    np.testing.assert_array_equal(result[~hole], deep[~hole])


def test_folder_of_images_with_masks_matched_by_name(model_path, tmp_path):
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir(), masks.mkdir()
    for index, name in enumerate(["a", "b", "c"]):
        save(images / f"{name}.{'jpg' if name == 'b' else 'png'}", scene(40 + index * 8, 56, seed=index))
        save(masks / f"{name}.png", box_mask(40 + index * 8, 56, (5, 5, 10, 10)).astype(np.uint8) * 255)
    assert run("complete", images, "--mask", masks, "-o", tmp_path / "out", "--model", model_path) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.jpg", "c.png"]
    assert run("complete", images, "--mask", masks, "-o", tmp_path / "as_png", "--model", model_path, "--suffix", ".png") == 0
    assert sorted(p.name for p in (tmp_path / "as_png").iterdir()) == ["a.png", "b.png", "c.png"]


def test_folder_with_an_unmatched_image_stops_before_any_work(model_path, tmp_path, capsys):
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir(), masks.mkdir()
    save(images / "a.png", scene(32, 32))
    save(images / "orphan.png", scene(32, 32))
    save(masks / "a.png", box_mask(32, 32, (5, 5, 10, 10)).astype(np.uint8) * 255)
    assert run("complete", images, "--mask", masks, "-o", tmp_path / "out", "--model", model_path) == 1
    assert "no mask" in capsys.readouterr().err and "orphan.png" in capsys.readouterr().err + "orphan.png"
    assert not (tmp_path / "out").exists()


def test_folder_goes_on_past_a_corrupt_image_and_reports_it(model_path, tmp_path, capsys):
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir(), masks.mkdir()
    save(images / "good.png", scene(32, 32))
    (images / "bad.png").write_bytes(b"not an image")
    for name in ("good", "bad"):
        save(masks / f"{name}.png", box_mask(32, 32, (5, 5, 10, 10)).astype(np.uint8) * 255)
    assert run("complete", images, "--mask", masks, "-o", tmp_path / "out", "--model", model_path) == 1
    assert "bad.png" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["good.png"]


def test_without_model_the_bundled_model_completes(files, tmp_path):
    from glcic.image_io import read_image

    image, mask, hole = files
    assert run("complete", image, "--mask", mask, "-o", tmp_path / "out.png") == 0
    import cv2

    original = read_image(image)
    completed = read_image(tmp_path / "out.png")
    near_hole = cv2.dilate(hole.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0  # blending may touch 4 px around it
    assert completed.shape == original.shape and (completed[~near_hole] == original[~near_hole]).all()
    assert not (completed[hole] == original[hole]).all()


def test_a_missing_bundled_model_is_explained(files, tmp_path, capsys, monkeypatch):
    import glcic.model_file

    monkeypatch.setitem(glcic.model_file.BUNDLED_MODELS, glcic.model_file.DEFAULT_MODEL, tmp_path / "gone.safetensors")
    image, mask, _ = files
    assert run("complete", image, "--mask", mask, "-o", tmp_path / "out.png") == 1
    err = capsys.readouterr().err
    assert "bundled model 'accurate' is missing" in err and "--model" in err
    assert not (tmp_path / "out.png").exists()


def bad_inputs(tmp_path: Path, image: Path, mask: Path, model_path: Path) -> dict[str, tuple[list, str]]:
    """name -> (arguments after `complete`, expected words in the error)."""
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(image.read_bytes()[:300])
    text = tmp_path / "text.png"
    text.write_text("hello")
    small = save(tmp_path / "small.png", scene(7, 7))
    small_mask = save(tmp_path / "small_mask.png", np.full((7, 7), 255, np.uint8))
    wrong_size = save(tmp_path / "wrong_size.png", np.full((50, 50), 255, np.uint8))
    all_hole = save(tmp_path / "all_hole.png", np.full((96, 128), 255, np.uint8))
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_with_header_size(20000, 20000))
    pickle_model = tmp_path / "model.pt"
    import torch

    torch.save({"a": torch.zeros(1)}, pickle_model)
    out = tmp_path / "out.png"
    model = ["--model", model_path]
    return {
        "missing image": ([tmp_path / "nope.png", "--mask", mask, "-o", out, *model], "image not found"),
        "missing mask": ([image, "--mask", tmp_path / "nope.png", "-o", out, *model], "mask not found"),
        "text as image": ([text, "--mask", mask, "-o", out, *model], "not an image file"),
        "truncated image": ([truncated, "--mask", mask, "-o", out, *model], "corrupt or truncated"),
        "mask of another size": ([image, "--mask", wrong_size, "-o", out, *model], "must match"),
        "all-hole mask": ([image, "--mask", all_hole, "-o", out, *model], "covers the whole image"),
        "image too small": ([small, "--mask", small_mask, "-o", out, *model], "at least 8 px"),
        "decompression bomb": ([bomb, "--mask", mask, "-o", out, *model], "decompression bomb"),
        "missing output folder": ([image, "--mask", mask, "-o", tmp_path / "no" / "out.png", *model], "output folder does not exist"),
        "unknown output format": ([image, "--mask", mask, "-o", tmp_path / "out.xyz", *model], "unsupported extension"),
        "output is the input": ([image, "--mask", mask, "-o", image, *model], "refusing to overwrite"),
        "pickled model": ([image, "--mask", mask, "-o", out, "--model", pickle_model], "never unpickles"),
        "missing model file": ([image, "--mask", mask, "-o", out, "--model", tmp_path / "none.safetensors"], "model file not found"),
        "folder mask for a file": ([image, "--mask", tmp_path, "-o", out, *model], "must be a file too"),
    }


CASES = ["missing image", "missing mask", "text as image", "truncated image", "mask of another size", "all-hole mask",
         "image too small", "decompression bomb", "missing output folder", "unknown output format", "output is the input",
         "pickled model", "missing model file", "folder mask for a file"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_gets_a_clear_error_and_leaves_no_output(files, model_path, tmp_path, capsys, case):
    image, mask, _ = files
    argv, words = bad_inputs(tmp_path, image, mask, model_path)[case]
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert run("complete", *argv) == 1
    error = capsys.readouterr().err
    assert error.startswith("glcic: error: ") and words in error, error
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before  # nothing written, nothing changed, no temporary file left


def test_failure_leaves_an_existing_output_untouched(files, model_path, tmp_path):
    image, _, _ = files
    out = tmp_path / "out.png"
    out.write_bytes(b"the user's earlier result")
    wrong_size = save(tmp_path / "wrong.png", np.full((10, 10), 255, np.uint8))
    assert run("complete", image, "--mask", wrong_size, "-o", out, "--model", model_path) == 1
    assert out.read_bytes() == b"the user's earlier result"


def test_success_replaces_an_existing_output(files, model_path, tmp_path):
    image, mask, _ = files
    out = tmp_path / "out.png"
    out.write_bytes(b"old")
    assert run("complete", image, "--mask", mask, "-o", out, "--model", model_path) == 0
    assert read_image(out).shape == (96, 128, 3)
    assert not list(tmp_path.glob(".*.tmp"))


def test_empty_mask_copies_the_image_with_a_warning(files, model_path, tmp_path, capsys):
    image, _, _ = files
    empty = save(tmp_path / "empty.png", np.zeros((96, 128), np.uint8))
    assert run("complete", image, "--mask", empty, "-o", tmp_path / "out.png", "--model", model_path) == 0
    assert "glcic: warning: photo.png: the mask has no hole pixels" in capsys.readouterr().err
    np.testing.assert_array_equal(read_image(tmp_path / "out.png"), read_image(image))


@pytest.mark.parametrize("argv", [["complete", "x.png", "--mask", "m.png", "-o", "o.png", "--max-side", "0"],
                                  ["complete", "x.png", "--mask", "m.png", "-o", "o.png", "--threshold", "1.5"],
                                  ["complete", "x.png", "--mask", "m.png", "-o", "o.png", "--precision", "int4"],
                                  ["complete", "x.png", "-o", "o.png"],
                                  ["train", "--data", "d", "--run-dir", "r", "--width", "-1"],
                                  ["train", "--data", "d", "--run-dir", "r", "--hole-sampler", "ellipse"],
                                  ["train", "--data", "d", "--run-dir", "r", "--stroke-share", "1.5"],
                                  ["nonsense"]])
def test_invalid_options_are_usage_errors(argv, capsys):
    """One line that names the problem and where the help is; no usage block before it."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and " error: " in err and "--help)" in err


def test_train_options_come_from_the_config_fields():
    """Every TrainConfig field with help is an option of `glcic train`, with its kind and choices."""
    from glcic.cli import build_parser
    from glcic.training.config import command_line_fields

    train = build_parser()._subparsers._group_actions[0].choices["train"]
    actions = {action.dest: action for action in train._actions}
    for item in command_line_fields():
        assert item.name in actions and actions[item.name].help == item.metadata["help"]
    assert actions["hole_sampler"].choices == ["blob", "center", "free_form", "mixed", "rectangle", "square"]
    assert actions["optimizer"].choices == ["adadelta", "adam"]
    assert {"augment", "balance_gradients", "learning_rate", "snapshot_every"} <= set(actions)


def test_info_prints_the_config(model_path, capsys):
    assert run("info", model_path) == 0
    assert '"mean_pixel"' in capsys.readouterr().out


def test_console_script_end_to_end(files, model_path, tmp_path):
    """The installed `glcic` command, in a process of its own."""
    image, mask, _ = files
    script = Path(sys.executable).parent / "glcic"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "glcic"]
    done = subprocess.run([*command, "complete", image, "--mask", mask, "-o", tmp_path / "out.png", "--model", model_path],
                          capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "error::DeprecationWarning"})
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out.png").exists()
    failed = subprocess.run([*command, "complete", tmp_path / "nope.png", "--mask", mask, "-o", tmp_path / "o2.png", "--model", model_path],
                            capture_output=True, text=True)
    assert failed.returncode == 1 and "image not found" in failed.stderr and "Traceback" not in failed.stderr


def test_help_and_usage_errors_do_not_load_torch():
    code = ("import sys, glcic.cli\n"
            "for argv in (['--help'], ['complete', '--help'], ['train', '--help'], ['serve', '--help'], ['complete']):\n"
            "    try:\n"
            "        glcic.cli.main(argv)\n"
            "    except SystemExit:\n"
            "        pass\n"
            "print('torch' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip().splitlines()[-1] == "False", result.stderr


def test_help_examples_keep_their_line_breaks():
    result = subprocess.run([sys.executable, "-m", "glcic", "complete", "--help"], capture_output=True, text=True, timeout=60)
    assert "\n  glcic complete photo.jpg --mask mask.png -o out.png  " in result.stdout


def test_a_name_too_long_to_write_is_one_line(files, model_path, tmp_path, capsys):
    image, mask, _ = files
    output = tmp_path / ("x" * 252 + ".png")  # legal for nothing: 256 characters
    assert run("complete", image, "--mask", mask, "-o", output, "--model", model_path) == 1
    error = capsys.readouterr().err
    assert error.startswith("glcic: error:") and "name too long" in error.lower() and "Traceback" not in error
    assert not any(path.name.endswith(".tmp") for path in tmp_path.iterdir())


def test_one_image_into_a_folder(files, model_path, tmp_path):
    image, mask, _ = files
    folder = tmp_path / "out"
    folder.mkdir()
    assert run("complete", image, "--mask", mask, "-o", f"{folder}/", "--model", model_path) == 0
    assert (folder / "photo.png").is_file()
    assert run("complete", image, "--mask", mask, "-o", f"{tmp_path / 'missing'}/", "--model", model_path) == 1


def test_two_inputs_for_one_output_are_refused_before_any_work(tmp_path, model_path, capsys):
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    for suffix in (".png", ".jpg"):
        save(images / f"x{suffix}", scene(40, 48))
    save(masks / "x.png", box_mask(40, 48, (5, 5, 10, 10)).astype(np.uint8) * 255)
    assert run("complete", images, "--mask", masks, "-o", tmp_path / "out", "--suffix", ".png", "--model", model_path) == 1
    assert "would both be written" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_the_authors_naming_in_one_folder(tmp_path, model_path):
    folder = tmp_path / "shots"
    folder.mkdir()
    for name in ("a", "b"):
        save(folder / f"{name}.png", scene(40, 48, seed=len(name)))
        save(folder / f"{name}_mask.png", box_mask(40, 48, (5, 5, 10, 10)).astype(np.uint8) * 255)
    out = tmp_path / "out"
    assert run("complete", folder, "--mask", folder, "-o", out, "--model", model_path) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png"]  # the _mask files are not images


@pytest.mark.parametrize("arguments, words", [
    (["serve", "--max-upload-mb", "inf"], "--max-upload-mb"),
    (["serve", "--max-upload-mb", "1e308"], "--max-upload-mb"),
    (["bench", "--sizes", "1"], "--sizes"),
    (["bench", "--sizes", "3"], "--sizes"),
    (["bench", "--sizes", "1e23"], "--sizes"),
    (["bench", "--width", "inf"], "--width"),
    (["widen", "--width", "inf", "-o", "w.safetensors"], "--width"),
    (["widen", "--width", "4.5", "-o", "w.safetensors"], "--width"),
    (["widen", "--width", "1", "--seed", "-1", "-o", "w.safetensors"], "--seed"),
    (["widen", "--width", "1", "--noise", "1e30", "-o", "w.safetensors"], "--noise"),
    (["widen", "--width", "1", "--noise", "nan", "-o", "w.safetensors"], "--noise"),
    (["evaluate", "--data", ".", "-o", "e", "--per-image", "1e23"], "--per-image"),
    (["evaluate", "--data", ".", "-o", "e", "--methods", ","], "--methods"),
    (["bench", "--devices", "nope", "--sizes", "16"], "unknown device"),
    (["bench", "-o", "missing/x.md", "--sizes", "16"], "does not exist"),
    (["complete", "a.png", "--mask", "m.png", "-o", "o.png", "--model", "x.onnx"], "--backend onnx"),
])
def test_bad_option_values_get_one_line_and_no_traceback(tmp_path, arguments, words):
    import subprocess
    import sys

    if "x.onnx" in arguments:
        save(tmp_path / "a.png", scene(32, 32))
        save(tmp_path / "m.png", np.full((32, 32), 255, np.uint8))
        (tmp_path / "x.onnx").write_bytes(b"\x08\x07" + b"\x00" * 64)
    result = subprocess.run([sys.executable, "-m", "glcic", *arguments], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode in (1, 2) and "Traceback" not in result.stderr, result.stderr
    assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p for p in ("a.png", "m.png", "x.onnx") if (tmp_path / p).exists())


def test_export_onnx_never_overwrites(tmp_path, model_path):
    (tmp_path / "m.onnx").write_bytes(b"mine")
    assert run("export-onnx", model_path, "-o", tmp_path / "m.onnx") == 1
    assert (tmp_path / "m.onnx").read_bytes() == b"mine"


def test_info_without_a_model_describes_the_default_bundled_model(capsys):
    from glcic.model_file import DEFAULT_MODEL

    assert run("info") == 0
    captured = capsys.readouterr()
    assert f"glcic-{DEFAULT_MODEL}.safetensors" in captured.err and '"width"' in captured.out


def test_folder_pairing_and_output_checks_are_library_code(tmp_path):
    from glcic.errors import GlcicError
    from glcic.inference.folders import folder_outputs, pair_folders

    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir(), masks.mkdir()
    for name in ("a.png", "b.jpg", "b_mask.png"):  # b_mask beside b: the authors' naming, never an image
        (images / name).write_bytes(b"")
    for name in ("a.png", "b_mask.png"):
        (masks / name).write_bytes(b"")
    pairs = pair_folders(images, masks)
    assert [(i.name, m.name) for i, m in pairs] == [("a.png", "a.png"), ("b.jpg", "b_mask.png")]
    with pytest.raises(GlcicError, match="no mask in .* for 1 image"):  # in a shared folder only NAME_mask files are masks
        pair_folders(images, images)
    assert [t.name for t in folder_outputs(pairs, (images, masks), tmp_path / "out", ".webp")] == ["a.webp", "b.webp"]
    (images / "a.jpg").write_bytes(b"")
    (masks / "a_mask.jpg").write_bytes(b"")
    with pytest.raises(GlcicError, match="two masks for the name 'a'"):
        pair_folders(images, masks)
    (masks / "a_mask.jpg").unlink()
    with pytest.raises(GlcicError, match="would both be written"):
        folder_outputs(pair_folders(images, masks), (images, masks), tmp_path / "out", ".png")
    with pytest.raises(GlcicError, match="is an input folder"):
        folder_outputs(pairs, (images, masks), masks)


def test_texture_and_its_seed_reach_complete(files, model_path, tmp_path):
    pytest.importorskip("patchmatch")
    import glcic

    image, mask, hole = files
    common = ["--mask", mask, "--model", model_path, "--precision", "fp32"]  # auto is bf16 on some CPUs; the API's default is fp32
    assert run("complete", image, *common, "-o", tmp_path / "textured.png", "--texture", "--seed", "5") == 0
    model = glcic.load_model(model_path)
    expected = glcic.complete(model, read_image(image), hole, texture=True, seed=5)
    np.testing.assert_array_equal(read_image(tmp_path / "textured.png"), expected)
    assert not np.array_equal(expected, glcic.complete(model, read_image(image), hole))


def test_the_command_line_adds_texture_by_default_where_patchmatch_is_installed(files, model_path, tmp_path, monkeypatch, capsys):
    pytest.importorskip("patchmatch")
    import glcic
    import glcic.inference.texture as texture

    image, mask, hole = files
    common = ["--mask", mask, "--model", model_path, "--precision", "fp32"]
    model = glcic.load_model(model_path)
    assert run("complete", image, *common, "-o", tmp_path / "default.png") == 0
    np.testing.assert_array_equal(read_image(tmp_path / "default.png"), glcic.complete(model, read_image(image), hole, texture=True, seed=0))
    assert run("complete", image, *common, "-o", tmp_path / "network.png", "--no-texture") == 0
    network = glcic.complete(model, read_image(image), hole)  # the library's default: the network's fill alone
    np.testing.assert_array_equal(read_image(tmp_path / "network.png"), network)
    assert "note" not in capsys.readouterr().err
    # without PatchMatch: the default falls back to the network's fill, in one line; asking for texture is an error
    monkeypatch.setattr(texture, "texture_problem", lambda: "texture synthesis needs the pypatchmatch package")
    assert run("complete", image, *common, "-o", tmp_path / "fallback.png") == 0
    np.testing.assert_array_equal(read_image(tmp_path / "fallback.png"), network)
    notes = [line for line in capsys.readouterr().err.splitlines() if "note" in line]
    assert len(notes) == 1 and "without the photo's texture" in notes[0] and "pypatchmatch" in notes[0]
    monkeypatch.setattr(texture, "_patch_match", lambda: (_ for _ in ()).throw(glcic.GlcicError("needs pypatchmatch")))
    assert run("complete", image, *common, "-o", tmp_path / "asked.png", "--texture") == 1
    assert not (tmp_path / "asked.png").exists()
