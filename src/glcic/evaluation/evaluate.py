"""`glcic evaluate`: every method on the same images and the same saved holes, with numbers and pictures.

Writes into a new (or empty) output folder:

    masks/                  the mask set (PNG, white = hole) and maskset.json: reusable with --masks
    results.csv             one row per image and method: hole_l1, psnr, ssim, seconds
    summary.md              the mean of each metric per method, as a Markdown table
    summary.json            the same, for programs
    comparison.png          input with hole | each method | original, for the first few images
"""

from __future__ import annotations

import csv
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from glcic.errors import GlcicError
from glcic.evaluation.baselines import Context, get_method, list_methods, run_method, unavailable_reason
from glcic.evaluation.metrics import HIGHER_IS_BETTER, compute_all, list_metrics
from glcic.evaluation.protocols import Protocol, get_protocol, load_mask_set, make_mask_set, prepare_image, save_mask_set

METRIC_TITLES = {"hole_l1": "hole L1 x100 (lower is better)", "psnr": "PSNR dB (higher)", "ssim": "SSIM (higher)"}


@dataclass
class Evaluation:
    protocol: Protocol
    seed: int
    images: list[str]
    means: dict[str, dict[str, float]]  # method -> metric (and "seconds") -> mean
    skipped: dict[str, str]  # method -> reason
    output: Path


def check_output_folder(output: Path) -> None:
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise GlcicError(f"output folder {output} already exists and is not empty; choose a new one (its results are kept)")
    if any(parent.exists() and not parent.is_dir() for parent in output.parents):
        raise GlcicError(f"cannot make output folder {output}: a part of its path is a file")


def _load_images(data: Path, limit: int | None, size: int) -> tuple[list[str], list[np.ndarray], list[str]]:
    """Readable images under `data`, each resized and centre-cropped to `size` as it is read."""
    from glcic.data import find_images, load_rgb

    if not data.is_dir():
        raise GlcicError(f"evaluation data folder not found: {data}")
    names, images, unreadable = [], [], []
    for path in find_images(data):
        if limit is not None and len(images) >= limit:
            break
        try:
            images.append(prepare_image(load_rgb(path), size))
            names.append(path.relative_to(data).as_posix())
        except Exception:  # noqa: BLE001 - reported, not fatal
            unreadable.append(path.relative_to(data).as_posix())
    if not images:
        raise GlcicError(f"no readable images in {data}")
    return names, images, unreadable


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
    sheet_images: int = 4,
    progress: bool = True,
) -> Evaluation:
    from tqdm import tqdm

    data, output = Path(data), Path(output)
    check_output_folder(output)
    chosen = [get_method(name) for name in (methods or list_methods())]
    manifest, holes = load_mask_set(masks) if masks is not None else (None, None)
    spec = get_protocol(manifest["protocol"] if manifest else protocol)
    names, images, unreadable = _load_images(data, limit, spec.image_size)
    if manifest is not None:
        saved_names = [entry["image"] for entry in manifest["masks"]]
        if saved_names[: len(names)] != names:
            raise GlcicError(f"mask set {masks} was made for other images ({saved_names[:3]}...) than {data} ({names[:3]}...)")
        seed, holes = manifest["seed"], holes[: len(names)]
    else:
        holes = make_mask_set(spec, len(names), seed)
    output.mkdir(parents=True, exist_ok=True)  # like a training run folder
    save_mask_set(output / "masks", spec, seed, names, holes)

    context = Context(model=model, seed=seed)
    skipped = {m.name: reason for m in chosen if (reason := unavailable_reason(m, context))}
    runnable = [m for m in chosen if m.name not in skipped]
    rows, completions = [], {m.name: [] for m in runnable}
    for method in runnable:
        for name, image, hole in tqdm(list(zip(names, images, holes)), desc=method.name, unit="image", disable=not progress or None):
            start = time.perf_counter()
            completed = run_method(method, image, hole, context)
            seconds = time.perf_counter() - start
            rows.append({"image": name, "method": method.name, **compute_all(image, completed, hole), "seconds": seconds})
            if len(completions[method.name]) < sheet_images:
                completions[method.name].append(completed)

    metric_names = list_metrics()
    with open(output / "results.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["image", "method", *metric_names, "seconds"])
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    means = {
        method.name: {key: float(np.mean([r[key] for r in rows if r["method"] == method.name])) for key in (*metric_names, "seconds")}
        for method in runnable
    }
    result = Evaluation(spec, seed, names, means, skipped, output)
    (output / "summary.md").write_text(summary_markdown(result, data, unreadable))
    (output / "summary.json").write_text(json.dumps({
        "protocol": spec.name, "image_size": spec.image_size, "seed": seed, "images": len(names), "data": str(data),
        "means": means, "skipped": skipped, "unreadable": unreadable,
    }, indent=2) + "\n")
    if runnable and sheet_images:
        write_comparison_sheet(output / "comparison.png", images[:sheet_images], holes[:sheet_images], completions)
    return result


def summary_markdown(result: Evaluation, data: Path, unreadable: list[str]) -> str:
    metric_names = list_metrics()
    lines = [
        f"Protocol `{result.protocol.name}` ({result.protocol.description}), seed {result.seed}, "
        f"{len(result.images)} images from `{data}`. Mean per method; outside the hole every method's output is the input.",
        "",
        "| method | " + " | ".join(METRIC_TITLES[m] for m in metric_names) + " | seconds / image |",
        "|---" * (len(metric_names) + 2) + "|",
    ]
    best = {}
    for metric in metric_names:
        values = {name: means[metric] for name, means in result.means.items()}
        if values:
            best[metric] = (max if HIGHER_IS_BETTER[metric] else min)(values, key=values.get)
    for name, means in result.means.items():
        cells = []
        for metric in metric_names:
            text = f"{means[metric]:.3f}" if metric != "ssim" else f"{means[metric]:.4f}"
            cells.append(f"**{text}**" if best.get(metric) == name else text)
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {means['seconds']:.3f} |")
    for name, reason in result.skipped.items():
        lines.append(f"\nSkipped `{name}`: {reason}.")
    if unreadable:
        lines.append(f"\nUnreadable images skipped: {', '.join(unreadable)}.")
    return "\n".join(lines) + "\n"


def write_comparison_sheet(path: Path, images: list[np.ndarray], holes: list[np.ndarray], completions: dict[str, list[np.ndarray]]) -> None:
    """Rows of input with the hole in white | each method | original, under a header of names."""
    import cv2

    from glcic.image_io import write_image

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
