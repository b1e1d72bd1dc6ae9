"""Evaluation: metrics on known cases, reproducible mask sets, every method, the written results."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import scene
from glcic.errors import GlcicError
from glcic.evaluation import evaluate, list_methods, list_protocols
from glcic.evaluation.judge import JudgeSettings
from glcic.evaluation.baselines import Context, Method, _METHODS, get_method, run_method, unavailable_reason
from glcic.evaluation.metrics import _METRICS, get_metric, register_metric
from glcic.evaluation.protocols import get_protocol, load_mask_set, make_mask_set
from glcic.image_io import write_image


def test_metrics_of_identical_images():
    image, hole = scene(64, 64), np.zeros((64, 64), bool)
    hole[10:30, 10:30] = True
    assert get_metric("hole_l1")(image, image, hole) == 0.0
    assert get_metric("psnr")(image, image, hole) == float("inf")
    assert get_metric("ssim")(image, image, hole) == pytest.approx(1.0)


def test_metrics_of_a_known_constant_error():
    truth = np.full((64, 64, 3), 100, np.uint8)
    hole = np.zeros((64, 64), bool)
    hole[0:16, 0:64] = True  # a quarter of the image
    completed = truth.copy()
    completed[hole] = 110  # 10 grey levels off in every channel, inside the hole only
    assert get_metric("hole_l1")(truth, completed, hole) == pytest.approx(10 / 255 * 100)
    mse = 100 * 0.25
    assert get_metric("psnr")(truth, completed, hole) == pytest.approx(10 * np.log10(255**2 / mse))
    assert get_metric("ssim")(truth, completed, hole) < 1.0


@pytest.mark.parametrize("name", list_protocols())
def test_mask_sets_are_reproducible_from_the_seed(name):
    protocol = get_protocol(name)
    shapes = [(protocol.image_size,) * 2 if protocol.image_size else (1600, 2400)] * 6
    first, again, other = make_mask_set(protocol, shapes, seed=1), make_mask_set(protocol, shapes, seed=1), make_mask_set(protocol, shapes, seed=2)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    for hole, shape in zip(first, shapes):
        assert hole.shape == shape and hole.dtype == bool and hole.any() and not hole.all()
    if name != "center":  # the centre hole is the same for every seed by definition
        assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_protocol_hole_bounds():
    for hole in make_mask_set(get_protocol("square"), [(256, 256)] * 30, seed=0):
        rows, cols = np.nonzero(hole)
        assert 108 <= np.ptp(rows) + 1 <= 128 and 108 <= np.ptp(cols) + 1 <= 128
        assert rows.min() >= 20 and cols.min() >= 20 and rows.max() < 236 and cols.max() < 236
    for hole in make_mask_set(get_protocol("paper"), [(256, 256)] * 30, seed=0):
        rows, cols = np.nonzero(hole)
        assert 96 <= np.ptp(rows) + 1 <= 128 and 96 <= np.ptp(cols) + 1 <= 128
    center = make_mask_set(get_protocol("center"), [(128, 128)], seed=0)[0]
    for hole in make_mask_set(get_protocol("large"), [(1600, 2560)] * 20, seed=0):
        rows, cols = np.nonzero(hole)
        assert 64 <= max(np.ptp(rows), np.ptp(cols)) + 1 <= 256
    assert center[32:96, 32:96].all() and center.sum() == 64 * 64


@pytest.mark.parametrize("name", list_methods())
def test_every_method_completes_and_leaves_the_outside_untouched(name, model):
    method = get_method(name)
    context = Context(model=model, seed=0)
    reason = unavailable_reason(method, context)
    if reason:
        pytest.skip(reason)
    image, hole = scene(64, 80, seed=3), np.zeros((64, 80), bool)
    hole[20:40, 25:50] = True
    completed = run_method(method, image, hole, context)
    assert completed.shape == image.shape and completed.dtype == np.uint8
    assert np.array_equal(completed[~hole], image[~hole])
    assert not np.array_equal(completed[hole], np.full_like(completed[hole], 255))  # something was filled in


def test_missing_packages_and_models_are_reported_not_raised():
    method = Method("imaginary", lambda image, hole, context: image, requires=("no_such_package_glcic",))
    assert "no_such_package_glcic is not installed" in unavailable_reason(method, Context())
    assert unavailable_reason(get_method("glcic"), Context()) == "no --model given"


@pytest.fixture
def folder(tmp_path):
    data = tmp_path / "photos"
    (data / "sub").mkdir(parents=True)
    for index in range(3):
        write_image(data / ("sub" if index else "") / f"p{index}.png", scene(150 + 10 * index, 200, seed=index))
    return data


def test_evaluate_writes_results_table_and_sheet_and_reuses_masks(folder, tmp_path, model):
    _METHODS["imaginary"] = Method("imaginary", lambda image, hole, context: image, requires=("no_such_package_glcic",))
    try:
        methods = ["glcic_raw", "telea", "mean_fill", "imaginary"]
        first = evaluate(folder, tmp_path / "first", model=model, protocol="center", seed=5, methods=methods, progress=False, judge=None)
    finally:
        del _METHODS["imaginary"]
    out = tmp_path / "first"
    assert first.skipped == {"imaginary": "package no_such_package_glcic is not installed"}
    with open(out / "results.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3 * 3 and {r["method"] for r in rows} == {"glcic_raw", "telea", "mean_fill"}
    assert {r["image"] for r in rows} == {"p0.png", "sub/p1.png", "sub/p2.png"}
    summary = (out / "summary.md").read_text()
    assert "| telea |" in summary and "Skipped `imaginary`" in summary and "hole L1 x100" in summary
    assert json.loads((out / "summary.json").read_text())["means"]["telea"]["psnr"] > 10
    from glcic.image_io import read_image

    assert read_image(out / "comparison.png").shape == (28 + 3 * 128, 5 * 128, 3)  # input, 3 methods, original
    manifest, holes = load_mask_set(out / "masks")
    assert manifest["protocol"] == "center" and manifest["seed"] == 5 and len(holes) == 3

    again = evaluate(folder, tmp_path / "again", masks=out / "masks", methods=["telea"], progress=False, judge=None)
    assert again.protocol.name == "center" and again.seed == 5
    assert again.means["telea"]["hole_l1"] == pytest.approx(first.means["telea"]["hole_l1"])
    with pytest.raises(GlcicError, match="not empty"):
        evaluate(folder, out, methods=["telea"], progress=False, judge=None)


@pytest.mark.parametrize("higher", [True, False])
def test_a_registered_metric_reports_with_its_own_direction(folder, tmp_path, higher):
    """The registry carries each metric's direction and heading; the report marks the best by it."""
    register_metric("hole_mean", higher_is_better=higher, title="hole mean")(
        lambda truth, completed, hole: float(completed[hole].mean()))
    try:
        result = evaluate(folder, tmp_path / "out", protocol="center", methods=["telea", "mean_fill"], progress=False, judge=None)
    finally:
        del _METRICS["hole_mean"]
    means = {name: result.means[name]["hole_mean"] for name in ("telea", "mean_fill")}
    best = (max if higher else min)(means, key=means.get)
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert f"hole mean ({'higher' if higher else 'lower'} is better)" in summary
    row = next(line for line in summary.splitlines() if line.startswith(f"| {best} |"))
    assert f"**{means[best]:.3f}**" in row


def test_evaluate_and_bench_commands(folder, tmp_path, model_path):
    out = tmp_path / "nested" / "eval"  # missing parents are made, as for training runs
    result = subprocess.run([sys.executable, "-m", "glcic", "evaluate", "--data", folder, "-o", out, "--model", model_path,
                             "--protocol", "square", "--methods", "glcic,navier_stokes", "--no-progress", "--no-judge"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "| glcic |" in result.stdout and "| navier_stokes |" in result.stdout
    result = subprocess.run([sys.executable, "-m", "glcic", "evaluate", "--data", folder, "-o", out, "--methods", "telea"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and "not empty" in result.stderr
    table = tmp_path / "table4.md"
    rows_file = tmp_path / "bench.json"
    result = subprocess.run([sys.executable, "-m", "glcic", "bench", "--sizes", "64", "96", "--repeats", "1", "--width", "0.125",
                             "-o", table, "--json", rows_file], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = table.read_text().splitlines()
    from glcic.devices import cpu_has_fast_bf16

    assert lines[2].startswith("| size | cpu reference | cpu torch fp32 |")
    assert ("cpu torch bf16" in lines[2]) == cpu_has_fast_bf16()  # emulated bf16 is left out unless asked
    assert lines[4].startswith("| 64 | ") and lines[5].startswith("| 96 | ") and "(1.00x)" in lines[4]
    rows = json.loads(rows_file.read_text())
    assert {tuple(sorted(row)) for row in rows} == {("backend", "device", "gflops_per_s", "peak_gflops_per_s", "peak_share",
                                                     "precision", "reference", "seconds", "size")}
    assert sum(row["reference"] for row in rows) == 2 and {row["size"] for row in rows} == {64, 96}
    for row in rows:  # the share is the row's speed over the measured peak of its precision
        assert row["peak_gflops_per_s"] > 0 and row["peak_share"] == pytest.approx(row["gflops_per_s"] / row["peak_gflops_per_s"], abs=2e-3)
    fastest = min((row for row in rows if row["size"] == 96 and not row["reference"]), key=lambda row: row["seconds"])
    assert f"96 px: cpu {fastest['backend']} {fastest['precision']}" in table.read_text()
    assert "share of the measured peak" in table.read_text()


def test_several_pairs_per_image_with_intervals_and_paired_differences(folder, tmp_path, model):
    result = evaluate(folder, tmp_path / "out", model=model, protocol="paper", per_image=4, methods=["glcic", "telea"],
                      sheet_images=2, progress=False, judge=JudgeSettings(steps=10, ensemble=1, repeats=2))
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    for method in ("glcic", "telea"):  # the judge's number is the mean of its repeats
        assert len(summary["judge_repeats"][method]) == 2
        assert summary["means"][method]["judge"] == pytest.approx(np.mean(summary["judge_repeats"][method]), abs=1e-4)
    assert summary["pairs"] == 12 and summary["images"] == 3 and len(result.images) == 12
    assert len(set(result.images)) == 12  # distinct crops, named photo#k
    for method, intervals in summary["intervals_95"].items():
        for metric, (low, high) in intervals.items():
            assert low <= summary["means"][method][metric] <= high
    difference = summary["differences_95"]["glcic - telea"]["hole_l1"]
    assert difference["low"] <= difference["mean"] <= difference["high"]
    again = evaluate(folder, tmp_path / "again", model=model, masks=tmp_path / "out" / "masks", methods=["telea"], progress=False, judge=None)
    for metric in ("hole_l1", "psnr", "ssim"):  # the saved set (crops and holes) is reused exactly
        assert again.means["telea"][metric] == result.means["telea"][metric]
    summary_text = (tmp_path / "out" / "summary.md").read_text()
    assert "Paired differences" in summary_text and "judge accuracy" in summary_text and "trained 2 times" in summary_text
    assert "Only 12 pairs" in summary_text  # too few to tell methods apart, and the summary says so
    assert set(summary["means"]["telea"]) >= {"hole_l1", "psnr", "ssim", "detail", "judge"}


def test_large_protocol_uses_full_resolution_photos_only(tmp_path, model):
    data = tmp_path / "big"
    data.mkdir()
    write_image(data / "big.png", scene(1000, 1700, seed=1))
    write_image(data / "small.png", scene(300, 400, seed=2))  # under 1600 px: not used
    result = evaluate(data, tmp_path / "out", model=model, protocol="large", per_image=2, methods=["glcic", "glcic_whole", "telea"],
                      progress=False, judge=None)
    assert result.images == ["big.png#0", "big.png#1"]
    assert (tmp_path / "out" / "comparison.png").is_file()


@pytest.mark.parametrize("change, message", [
    (lambda m: m["masks"][0].update(mask="../../etc/passwd.png"), "not a file name inside"),
    (lambda m: m.update(protocol="nope"), "unknown protocol"),
    (lambda m: m.update(seed="zero"), "seed must be"),
    (lambda m: m.update(masks=[]), "non-empty list"),
])
def test_a_tampered_mask_set_is_refused_with_a_clear_error(folder, tmp_path, change, message):
    evaluate(folder, tmp_path / "first", protocol="paper", methods=["mean_fill"], progress=False, judge=None)
    manifest_path = tmp_path / "first" / "masks" / "maskset.json"
    manifest = json.loads(manifest_path.read_text())
    change(manifest)
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(GlcicError, match=message):
        evaluate(folder, tmp_path / "second", masks=tmp_path / "first" / "masks", methods=["mean_fill"], progress=False, judge=None)
    assert not (tmp_path / "second").exists()


def test_a_failed_run_leaves_no_partial_folder(folder, tmp_path):
    from glcic.evaluation.baselines import _METHODS, register_method

    @register_method("broken_for_test")
    def broken(image, hole, context):
        raise RuntimeError("boom")

    try:
        with pytest.raises(RuntimeError, match="boom"):
            evaluate(folder, tmp_path / "out", methods=["mean_fill", "broken_for_test"], progress=False, judge=None)
    finally:
        del _METHODS["broken_for_test"]
    assert not (tmp_path / "out").exists()


def test_a_symlink_loop_neither_hangs_nor_multiplies_files(folder):
    import os

    from glcic.image_io import list_images

    before = list_images(folder, recursive=True)
    os.symlink(folder, folder / "sub" / "loop")
    os.symlink(folder / "sub", folder / "again")
    assert list_images(folder, recursive=True) == before


def test_the_judges_interval_covers_its_repeats_disagreeing_not_only_the_pairs():
    from glcic.evaluation.evaluate import confidence_intervals

    pairs = 60
    # repeat 0 says "right" on every pair and repeat 1 "wrong": every pair's mean is 0.5, so the pairs
    # alone give an interval of zero width; the repeats' disagreement must widen it
    repeated = {"glcic": np.stack([np.ones(pairs), np.zeros(pairs)]), "telea": np.stack([np.ones(pairs), np.ones(pairs)])}
    rows = [{"method": method, "image": str(i), "judge": float(repeated[method][:, i].mean())} for method in repeated for i in range(pairs)]
    pairs_only, _ = confidence_intervals(rows, ["glcic", "telea"], ["judge"], seed=0)
    assert pairs_only["glcic"]["judge"] == [0.5, 0.5]
    intervals, differences = confidence_intervals(rows, ["glcic", "telea"], ["judge"], seed=0, repeated=repeated)
    low, high = intervals["glcic"]["judge"]
    assert low <= 0.0 + 1e-9 and high >= 1.0 - 1e-9  # either repeat alone is possible
    assert intervals["telea"]["judge"] == [1.0, 1.0]  # repeats that agree add nothing
    difference = differences["glcic - telea"]["judge"]
    assert difference["mean"] == pytest.approx(-0.5) and difference["low"] <= -1.0 + 1e-9 and difference["high"] >= -1e-9
