"""`glcic evaluate`: every method on the same images and the same saved holes, with numbers and pictures.

Writes into a new (or empty) output folder:

    masks/                  the mask set (PNG, white = hole) and maskset.json: reusable with --masks
    results.csv             one row per image and method: hole_l1, psnr, ssim, detail, judge, seconds
    summary.md              the mean of each metric per method, as a Markdown table
    summary.json            the same, for programs
    comparison.png          input with hole | each method | original, for the first few images
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from glcic.errors import GlcicError
from glcic.evaluation.baselines import Context, default_methods, get_method, run_method, unavailable_reason
from glcic.evaluation.judge import JudgeSettings
from glcic.evaluation.metrics import compute_all, higher_is_better, metric_title, pair_metrics
from glcic.evaluation.protocols import Protocol, get_protocol, load_mask_set, make_mask_set, save_mask_set

@dataclass
class Evaluation:
    protocol: Protocol
    seed: int
    images: list[str]
    means: dict[str, dict[str, float]]  # method -> metric (and "seconds") -> mean
    skipped: dict[str, str]  # method -> reason
    output: Path
    intervals: dict[str, dict[str, list[float]]] | None = None  # method -> metric -> [low, high], 95 % bootstrap
    differences: dict[str, dict[str, dict[str, list[float]]]] | None = None  # "a - b" -> metric -> {mean, low, high}
    metrics: list[str] | None = None  # the metrics reported (the judge only where it ran)
    notes: list[str] | None = None  # what a reader must know about these numbers (few pairs, judge not run)
    judge_repeats: dict[str, list[float]] | None = None  # method -> the judge's accuracy in each of its repeats


FEW_PAIRS = 30  # below this many pairs, intervals are too wide to tell methods apart: the summary says so


BOOTSTRAP_RESAMPLES = 2000


def confidence_intervals(rows: list[dict], methods: list[str], metrics: list[str], seed: int,
                         repeated: dict[str, np.ndarray] | None = None):
    """95 % percentile-bootstrap intervals of each method's mean, and of the paired difference
    between each glcic method and every other method (the same pairs resampled for both), from
    BOOTSTRAP_RESAMPLES resamples of the (image, hole) pairs drawn from default_rng([seed, 95]).

    `repeated`: method -> (repeats, pairs) values of the judge, trained `repeats` times. With two
    repeats or more, each resample also draws the repeats (with replacement, apart for each method:
    their training is independent), so that the judge's interval covers its own training noise,
    not only the pairs'."""
    values = {(r["method"], metric): [] for r in rows for metric in metrics}
    for row in rows:
        for metric in metrics:
            values[(row["method"], metric)].append(row[metric])
    count = len(values[(methods[0], metrics[0])]) if methods else 0
    if count == 0:
        return {}, {}
    resamples = np.random.default_rng([seed, 95]).integers(0, count, size=(BOOTSTRAP_RESAMPLES, count))  # (B, N)
    repeat_rng = np.random.default_rng([seed, 96])

    def samples(method: str, metric: str) -> np.ndarray:
        """The pairs' values, (N,), or for a repeated judge each resample's, (B, N): the mean over the
        repeats it draws."""
        table = (repeated or {}).get(method) if metric == "judge" else None
        if table is None or len(table) < 2:
            return np.asarray(values[(method, metric)], float)
        drawn = repeat_rng.integers(0, len(table), size=(BOOTSTRAP_RESAMPLES, len(table)))  # (B, R)
        return table[drawn].mean(axis=1)  # (B, N)

    def interval(per_pair: np.ndarray) -> list[float]:
        finite = np.where(np.isfinite(per_pair), per_pair, np.nan)  # PSNR is inf on a perfect fill
        picked = finite[resamples] if finite.ndim == 1 else np.take_along_axis(finite, resamples, axis=1)
        means = np.nanmean(picked, axis=1)  # (B,)
        return [round(float(np.nanpercentile(means, 2.5)), 5), round(float(np.nanpercentile(means, 97.5)), 5)]

    drawn = {(m, metric): samples(m, metric) for m in methods for metric in metrics}
    intervals = {m: {metric: interval(drawn[(m, metric)]) for metric in metrics} for m in methods}
    differences = {}
    for ours in (m for m in methods if m.startswith("glcic")):
        for other in (m for m in methods if m != ours):
            entry = {}
            for metric in metrics:
                delta = np.asarray(values[(ours, metric)], float) - np.asarray(values[(other, metric)], float)
                low, high = interval(drawn[(ours, metric)] - drawn[(other, metric)])
                entry[metric] = {"mean": round(float(np.nanmean(np.where(np.isfinite(delta), delta, np.nan))), 5), "low": low, "high": high}
            differences[f"{ours} - {other}"] = entry
    return intervals, differences


def check_output_folder(output: Path) -> None:
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise GlcicError(f"output folder {output} already exists and is not empty; choose a new one (its results are kept)")
    if any(parent.exists() and not parent.is_dir() for parent in output.parents):
        raise GlcicError(f"cannot make output folder {output}: a part of its path is a file")


def _load_images(data: Path, limit: int | None, protocol: Protocol) -> tuple[list[str], list[np.ndarray], list[str]]:
    """Readable images under `data`, each resized as it is read so that its short side is 2 x the
    protocol's size at most (room for the crops of `crop_pairs`); full-resolution protocols keep
    them as they are and pass over those under the protocol's size."""
    from glcic.image_io import list_images
    from glcic.image_io import read_photo, resize_short_side

    if not data.is_dir():
        raise GlcicError(f"evaluation data folder not found: {data}")
    size = protocol.image_size
    names, images, unreadable = [], [], []
    for path in list_images(data, recursive=True):
        if limit is not None and len(images) >= limit:
            break
        try:
            photo = read_photo(path, None if size is None else 2 * size)
        except Exception:  # noqa: BLE001 - reported, not fatal
            unreadable.append(path.relative_to(data).as_posix())
            continue
        if size is None:
            if max(photo.shape[:2]) < protocol.min_long_side:
                continue
        elif min(photo.shape[:2]) > 2 * size:
            photo = resize_short_side(photo, 2 * size)
        images.append(photo)
        names.append(path.relative_to(data).as_posix())
    if not images:
        raise GlcicError(f"no readable images in {data}" + (f" with a long side of at least {protocol.min_long_side} px" if size is None else ""))
    return names, images, unreadable


def crop_pairs(names: list[str], photos: list[np.ndarray], size: int, per_image: int, seed: int):
    """`per_image` square crops of each photo: the first is the centre square of the photo resized to
    `size` (the paper's protocol); the others come from the photo resized to a short side drawn in
    [size, 2 size], at a random place, all from default_rng([seed, image, crop])."""
    from glcic.image_io import center_square, resize_short_side

    pair_names, crops = [], []
    for index, (name, photo) in enumerate(zip(names, photos)):
        for crop in range(per_image):
            if size is None:  # full resolution: the photo itself, with another hole each time
                crops.append(photo)
            elif crop == 0:
                crops.append(center_square(photo, size))
            else:
                rng = np.random.default_rng([seed, index, crop])
                largest = max(size, min(2 * size, min(photo.shape[:2])))  # never upscaled beyond the crop size
                resized = resize_short_side(photo, int(rng.integers(size, largest + 1)))
                top = int(rng.integers(0, resized.shape[0] - size + 1))
                left = int(rng.integers(0, resized.shape[1] - size + 1))
                crops.append(np.ascontiguousarray(resized[top : top + size, left : left + size]))
            pair_names.append(name if per_image == 1 else f"{name}#{crop}")
    return pair_names, crops


def evaluate(
    data: str | os.PathLike,
    output: str | os.PathLike,
    *,
    model=None,
    protocol: str = "paper",
    seed: int = 0,
    masks: str | os.PathLike | None = None,
    methods: list[str] | None = None,
    limit: int | None = None,
    per_image: int = 1,
    sheet_images: int = 4,
    progress: bool = True,
    judge: JudgeSettings | None = JudgeSettings(),
) -> Evaluation:
    """Every method on the same (image crop, hole) pairs; `per_image` pairs per photo (see `crop_pairs`).
    Means come with 95 % bootstrap intervals, and each glcic method with its paired difference to
    every other method. `judge`: the realism judge's settings (glcic.evaluation.judge), None to
    skip it."""
    data, output = Path(data), Path(output)
    check_output_folder(output)
    chosen = [get_method(name) for name in (methods or default_methods())]
    manifest, holes = load_mask_set(masks) if masks is not None else (None, None)
    spec = get_protocol(manifest["protocol"] if manifest else protocol)
    photo_names, photos, unreadable = _load_images(data, limit, spec)
    if manifest is not None:
        seed, per_image = manifest["seed"], manifest.get("per_image", 1)
    names, images = crop_pairs(photo_names, photos, spec.image_size, per_image, seed)
    del photos
    if manifest is not None:
        saved_names = [entry["image"] for entry in manifest["masks"]]
        if saved_names[: len(names)] != names:
            raise GlcicError(f"mask set {masks} was made for other images ({saved_names[:3]}...) than {data} ({names[:3]}...)")
        holes = holes[: len(names)]
    else:
        holes = make_mask_set(spec, [image.shape[:2] for image in images], seed)
    created = not output.exists()
    output.mkdir(parents=True, exist_ok=True)  # like a training run folder
    try:
        return _evaluate_into(output, data, model, spec, seed, names, images, holes, per_image, chosen, photo_names,
                              unreadable, sheet_images, progress, judge)
    except BaseException:
        if created:  # a failed or interrupted run leaves no partial folder behind
            import shutil

            shutil.rmtree(output, ignore_errors=True)
        raise


def _evaluate_into(output, data, model, spec, seed, names, images, holes, per_image, chosen, photo_names, unreadable,
                   sheet_images, progress, judge) -> Evaluation:
    from tqdm import tqdm

    from glcic.evaluation.judge import judge_values, pair_patches

    save_mask_set(output / "masks", spec, seed, names, holes, per_image)

    context = Context(model=model, seed=seed)
    skipped = {m.name: reason for m in chosen if (reason := unavailable_reason(m, context))}
    runnable = [m for m in chosen if m.name not in skipped]
    photos = [index // per_image for index in range(len(names))]  # crop_pairs makes per_image pairs per photo, in order
    notes = []
    if judge is not None and len(set(photos)) < 2:
        notes.append("The realism judge was not run: it needs pairs from at least two photos (it scores photos it did not train on).")
        judge = None
    if len(names) < FEW_PAIRS:
        notes.append(f"Only {len(names)} pairs: the intervals are wide, and methods this close cannot be told apart; "
                     f"use at least {FEW_PAIRS} (--per-image, more photos) before drawing conclusions.")
    real_patches = np.stack([pair_patches(image, hole, index, seed) for index, (image, hole) in enumerate(zip(images, holes))]) if judge else None
    rows, completions, repeated = [], {m.name: [] for m in runnable}, {}
    for method in runnable:
        fake_patches = []
        method_rows = []
        for index, (name, image, hole) in enumerate(tqdm(list(zip(names, images, holes)), desc=method.name, unit="image",
                                                         disable=not progress or None)):
            start = time.perf_counter()
            completed = run_method(method, image, hole, context)
            seconds = time.perf_counter() - start
            method_rows.append({"image": name, "method": method.name, **compute_all(image, completed, hole), "seconds": seconds})
            if judge:
                fake_patches.append(pair_patches(completed, hole, index, seed))
            if len(completions[method.name]) < sheet_images:
                completions[method.name].append(completed)
        if judge:
            repeated[method.name] = judge_values(real_patches, np.stack(fake_patches), photos, judge)  # (repeats, pairs)
            for row, value in zip(method_rows, repeated[method.name].mean(axis=0)):
                row["judge"] = float(value)
        rows += method_rows

    metric_names = pair_metrics() + (["judge"] if judge else [])
    with open(output / "results.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["image", "method", *metric_names, "seconds"])
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    means = {
        method.name: {key: float(np.mean([r[key] for r in rows if r["method"] == method.name])) for key in (*metric_names, "seconds")}
        for method in runnable
    }
    intervals, differences = confidence_intervals(rows, [m.name for m in runnable], metric_names, seed, repeated)
    judge_repeats = {name: [round(float(row.mean()), 5) for row in table] for name, table in repeated.items()}
    result = Evaluation(spec, seed, names, means, skipped, output, intervals, differences, metric_names, notes, judge_repeats)
    (output / "summary.md").write_text(summary_markdown(result, data, unreadable))
    (output / "summary.json").write_text(json.dumps({
        "protocol": spec.name, "image_size": spec.image_size, "seed": seed, "images": len(photo_names), "pairs": len(names),
        "per_image": per_image, "data": str(data), "metrics": metric_names, "means": means, "intervals_95": intervals,
        "differences_95": differences, "skipped": skipped, "unreadable": unreadable, "notes": notes,
        "judge": None if judge is None else dataclasses.asdict(judge), "judge_repeats": judge_repeats,
    }, indent=2) + "\n")
    if runnable and sheet_images:
        write_comparison_sheet(output / "comparison.png", images[:sheet_images], holes[:sheet_images], completions)
    return result


def summary_markdown(result: Evaluation, data: Path, unreadable: list[str]) -> str:
    metric_names = result.metrics or pair_metrics()
    lines = [
        f"Protocol `{result.protocol.name}` ({result.protocol.description}), seed {result.seed}, "
        f"{len(result.images)} (image, hole) pairs from `{data}`. Mean per method; outside the hole every method's output is the input.",
        "",
        "| method | " + " | ".join(metric_title(m) for m in metric_names) + " | seconds / image |",
        "|---" * (len(metric_names) + 2) + "|",
    ]
    best = {}
    for metric in metric_names:
        values = {name: means[metric] for name, means in result.means.items()}
        if values and higher_is_better(metric) is not None:
            best[metric] = (max if higher_is_better(metric) else min)(values, key=values.get)
    for name, means in result.means.items():
        cells = []
        for metric in metric_names:
            text = f"{means[metric]:.3f}" if metric != "ssim" else f"{means[metric]:.4f}"
            cells.append(f"**{text}**" if best.get(metric) == name else text)
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {means['seconds']:.3f} |")
    if result.intervals:
        lines += ["", "95 % bootstrap intervals of the means (resampling the pairs):", "",
                  "| method | " + " | ".join(metric_title(m) for m in metric_names) + " |", "|---" * (len(metric_names) + 1) + "|"]
        for name, metric_intervals in result.intervals.items():
            lines.append(f"| {name} | " + " | ".join(f"[{lo:.3f}, {hi:.3f}]" for lo, hi in (metric_intervals[m] for m in metric_names)) + " |")
    if result.differences:
        lines += ["", "Paired differences (first minus second, same pairs), mean [95 % interval]; ✓ marks an interval "
                  "entirely on the better side of zero:", "",
                  "| methods | " + " | ".join(metric_title(m) for m in metric_names) + " |", "|---" * (len(metric_names) + 1) + "|"]
        for name, entry in result.differences.items():
            cells = []
            for metric in metric_names:
                d = entry[metric]
                direction = higher_is_better(metric)
                better = direction is not None and (d["low"] > 0 if direction else d["high"] < 0)
                cells.append(f"{d['mean']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]{' ✓' if better else ''}")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if "judge" in metric_names:
        lines.append("\nThe judge: a small CNN trained in this run to tell each hole's patches in the original from the same "
                     "patches completed (by photo folds: every pair is scored by a judge that never saw its photo); its accuracy "
                     "at picking the completion of each pair, 0.5 = indistinguishable. Detail ratio: the hole's mean gradient "
                     "in the completion over the original's there.")
        repeats = result.judge_repeats or {}
        if any(len(accuracies) > 1 for accuracies in repeats.values()):
            lines.append("\nThe judge was trained " + str(max(map(len, repeats.values()))) + " times from other seeds; its number is "
                         "the mean, and its intervals resample these repeats as well as the pairs. Each repeat's accuracy: "
                         + "; ".join(f"{name} " + ", ".join(f"{a:.3f}" for a in accuracies) for name, accuracies in repeats.items()) + ".")
        elif repeats:
            lines.append("\nThe judge was trained once: its intervals cover the pairs, not its own training noise (another seed or "
                         "another CPU kind moved a method's accuracy by 0.05-0.1); use --judge-repeats 2 or more to compare methods.")
    for note in result.notes or []:
        lines.append(f"\n**Note:** {note}")
    for name, reason in result.skipped.items():
        lines.append(f"\nSkipped `{name}`: {reason}.")
    if unreadable:
        lines.append(f"\nUnreadable images skipped: {', '.join(unreadable)}.")
    return "\n".join(lines) + "\n"


VIEW_SIDE = 384  # px of the square shown around each hole of a full-resolution photo


def _hole_view(hole: np.ndarray, side: int) -> tuple[slice, slice]:
    """A side x side square centred on the hole's box, shifted inside the image."""
    from glcic.masks import hole_box, local_patch_box

    side = min(side, *hole.shape)
    box = local_patch_box(hole_box(hole), side, *hole.shape)
    return box.slices()


def write_comparison_sheet(path: Path, images: list[np.ndarray], holes: list[np.ndarray], completions: dict[str, list[np.ndarray]]) -> None:
    """Rows of input with the hole in white | each method | original, under a header of names."""
    import cv2

    from glcic.image_io import write_image

    if any(image.shape != images[0].shape or image.shape[0] != image.shape[1] for image in images):
        views = [_hole_view(hole, VIEW_SIDE) for hole in holes]  # full-resolution photos: a square around each hole
        images = [image[view] for image, view in zip(images, views)]
        holes = [hole[view] for hole, view in zip(holes, views)]
        completions = {name: [c[view] for c, view in zip(done, views)] for name, done in completions.items()}
    size = images[0].shape[0]
    titles = ["input", *completions, "original"]
    header = np.full((28, size * len(titles), 3), 255, np.uint8)
    scale = 0.45 if size >= 200 else 0.3
    for column, title in enumerate(titles):
        cv2.putText(header, title, (column * size + 4, 19), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)
    rows = [header]
    for index, (image, hole) in enumerate(zip(images, holes)):
        shown = image.copy()
        shown[hole] = 255
        rows.append(np.concatenate([shown, *(c[index] for c in completions.values()), image], axis=1))
    write_image(path, np.concatenate(rows, axis=0))
