"""The `glcic` subcommands: each reads its parsed options, calls the library and prints what it did.
No model logic lives here (glcic.inference, glcic.training, glcic.evaluation hold it)."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

from glcic.errors import GlcicError


def _complete_options(args) -> dict:
    return dict(
        postprocess=not args.no_postprocess,
        max_side=args.max_side,
        native=args.native,
        flip_average=False if args.no_flip else None,  # None: the model's choice (off for noise layers)
        threshold=args.threshold,
        invert_mask=args.invert_mask,
        texture=args.texture,
        seed=args.seed,
        noise_scale=args.noise_scale,
    )


def _complete_one(model, image_path: Path, mask_path: Path, output: Path, args) -> None:
    """Read, complete and write one image; the caller has checked `output` with `check_output_path`."""
    from glcic.image_io import read_image, read_metadata, write_image
    from glcic.inference.complete import complete

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        image = read_image(image_path, args.max_pixels)
        mask = read_image(mask_path, args.max_pixels, what="mask")
        with _window_progress(image_path.name, getattr(args, "single_image", False)) as progress:
            completed = complete(model, image, mask, progress=progress, **_complete_options(args))
        write_image(output, completed, read_metadata(image_path), args.quality)
    for warning in caught:
        print(f"glcic: warning: {image_path.name}: {warning.message}", file=sys.stderr)


class _window_progress:
    """A progress bar over a single image's hole windows, on a terminal, when there are several."""

    def __init__(self, name: str, enabled: bool):
        self.name, self.enabled, self.bar = name, enabled and sys.stderr.isatty(), None

    def __enter__(self):
        return self if self.enabled else None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None and total > 1:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=f"completing {self.name}", unit="window", leave=False)
        if self.bar is not None:
            self.bar.update(done)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()


def _load(args):
    from glcic.inference.model import load_model

    return load_model(args.model, device=args.device, backend=args.backend, precision=args.precision)  # None: the bundled model


def _resolve_texture(args) -> None:
    """--texture unset: on where PatchMatch is installed (the fills a person would rather have), else
    the network's fill alone, said in one line."""
    if args.texture is None:
        from glcic.inference.texture import texture_problem

        problem = texture_problem()
        args.texture = problem is None
        if problem:
            print(f"glcic: note: completing without the photo's texture ({problem}); --no-texture silences this",
                  file=sys.stderr)


def run_complete(args) -> int:
    from glcic.inference.folders import file_output, folder_outputs, pair_folders

    _resolve_texture(args)
    if not args.image.is_dir():
        output = file_output(args.image, args.mask, args.output, args.suffix)  # checked before the model loads
        args.single_image = True
        _complete_one(_load(args), args.image, args.mask, output, args)
        print(f"wrote {output}", file=sys.stderr)
        return 0

    from tqdm import tqdm

    from glcic.image_io import check_output_path

    pairs = pair_folders(args.image, args.mask)
    output = Path(args.output)
    targets = folder_outputs(pairs, (args.image, args.mask), output, args.suffix)
    output.mkdir(exist_ok=True)
    model = _load(args)
    failures = []
    for (image_path, mask_path), target in tqdm(list(zip(pairs, targets)), desc="completing", unit="image", disable=None):
        try:
            check_output_path(target, inputs=(image_path, mask_path))
            _complete_one(model, image_path, mask_path, target, args)
        except GlcicError as error:
            failures.append(f"{image_path.name}: {error}")
    for failure in failures:
        print(f"glcic: error: {failure}", file=sys.stderr)
    print(f"completed {len(pairs) - len(failures)} of {len(pairs)} images into {output}", file=sys.stderr)
    return 1 if failures else 0


def run_info(args) -> int:
    from glcic.model_file import check_tensors, model_source, read_model_file

    source = model_source(args.model)
    print(f"glcic: {source}", file=sys.stderr)
    tensors, config = read_model_file(source)
    parameters = sum(t.numel() for name, t in tensors.items() if not name.endswith("num_batches_tracked"))
    print(config.to_json())
    print(f"tensors: {len(tensors)}, values: {parameters:,}")
    broken = check_tensors(tensors)
    if broken:
        print(f"glcic: error: this model is broken: it {broken}; glcic refuses to load it", file=sys.stderr)
        return 1
    return 0


def _given_train_options(args) -> dict:
    """The TrainConfig fields set on the command line (options and flags left out are None)."""
    from glcic.training.config import command_line_fields

    names = [item.name for item in command_line_fields()]
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def _train_config(args):
    """The preset, with the options given on the command line (and --fine-tune's implications)."""
    from glcic.training.config import preset

    overrides = _given_train_options(args)
    overrides["data"] = str(args.data)
    if args.validation_data is not None:
        overrides["validation_data"] = str(args.validation_data)
    if args.fine_tune is not None:
        overrides["fine_tune_from"] = args.fine_tune  # the preset's rule: the model's width, T_C = 0
    try:
        return preset(args.preset, **overrides)
    except (ValueError, TypeError) as error:
        raise GlcicError(f"invalid training configuration: {error}") from None


def run_train(args) -> int:
    import json
    import os

    from glcic.training import train
    from glcic.training.loop import resolved_run

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if args.resume is not None:
        if args.run_dir is not None or args.data is not None or args.fine_tune is not None:
            raise GlcicError("--resume RUN continues a run as it was configured; do not combine it with --run-dir, --data or --fine-tune")
        overrides = _given_train_options(args)
        if args.dry_run:
            from glcic.training.checkpoint import load_checkpoint
            from glcic.training.loop import resumed_config

            state = load_checkpoint(args.resume)
            config = resumed_config(state["config"], overrides, state["iteration"])
            print(json.dumps({"config": config.to_dict(), "iteration": state["iteration"], **resolved_run(config, world)}, indent=2))
            return 0
        result = train(None, args.resume, resume=True, device=args.device, stop_after=args.stop_after,
                       progress=not args.no_progress, overrides=overrides)
    else:
        if args.data is None or args.run_dir is None:
            raise GlcicError("glcic train needs --data DIR and --run-dir RUN (or --resume RUN)")
        config = _train_config(args)
        if args.dry_run:
            print(json.dumps({"config": config.to_dict(), **resolved_run(config, world)}, indent=2))
            return 0
        result = train(config, args.run_dir, device=args.device, stop_after=args.stop_after, progress=not args.no_progress)

    if os.environ.get("RANK", "0") != "0":  # under torchrun, rank 0 speaks for all
        return 130 if result.stopped_by == "SIGINT" else 143 if result.stopped_by == "SIGTERM" else 0
    if result.stopped_by in ("SIGINT", "SIGTERM"):
        print(f"glcic: stopped by {result.stopped_by} at iteration {result.iteration}; checkpoint saved. "
              f"Continue with: glcic train --resume {result.run_dir}", file=sys.stderr)
        return 130 if result.stopped_by == "SIGINT" else 143
    print(f"{'stopped' if result.stopped_by else 'finished'} at iteration {result.iteration}: {result.run_dir}", file=sys.stderr)
    return 0


def _check_model_output(path: Path, suffix: str, what: str) -> None:
    """A model file to write: the right extension, in a folder that exists (checked before any work)."""
    if path.suffix != suffix:
        raise GlcicError(f"{what} name must end in {suffix}, got {path}")
    if not path.parent.is_dir():
        raise GlcicError(f"output folder does not exist: {path.parent}")


def run_export(args) -> int:
    import torch

    from glcic.training import export_model

    _check_model_output(args.output, ".safetensors", "model file")
    config = export_model(args.run_dir, args.output, torch.float16 if args.fp16 else torch.float32)
    print(f"wrote {args.output} (iteration {config.notes['iteration']}, {config.notes['phase']} phase)", file=sys.stderr)
    return 0


def run_average(args) -> int:
    import torch

    from glcic.training.averaging import average_models

    _check_model_output(args.output, ".safetensors", "model file")
    if args.output.exists():  # it may be one of the snapshots being averaged
        raise GlcicError(f"{args.output} exists; choose a new file name")
    config = average_models(args.models, args.output, torch.float16 if args.fp16 else torch.float32)
    print(f"wrote {args.output}: the mean of {len(args.models)} models (last: iteration {config.notes.get('iteration')})", file=sys.stderr)
    return 0


def run_widen(args) -> int:
    from glcic.model_file import model_source
    from glcic.training.widening import widen_model

    _check_model_output(args.output, ".safetensors", "model file")
    if args.output.exists():
        raise GlcicError(f"{args.output} exists; choose a new file name")
    source = model_source(args.model)
    config = widen_model(source, args.width, args.output, seed=args.seed, noise=args.noise)
    print(f"wrote {args.output}: {source} at width {config.width}; train on it with glcic train --fine-tune {args.output} --width {config.width}",
          file=sys.stderr)
    return 0


def run_serve(args) -> int:
    import importlib.util

    missing = [name for name in ("fastapi", "uvicorn", "multipart") if importlib.util.find_spec(name) is None]
    if missing:
        raise GlcicError(f"glcic serve needs the web extra ({', '.join(missing)} missing): pip install 'glcic[web]'")
    import uvicorn

    from glcic.inference.model import load_model
    from glcic.web.app import Limits, create_app

    import socket

    try:  # uvicorn logs a failed bind and exits; say it in one line instead, before loading the model
        with socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((args.host, args.port))
    except OSError as error:
        raise GlcicError(f"cannot serve on {args.host}:{args.port}: {error.strerror or error}") from None
    from glcic.config import installed_models

    names = installed_models() if args.model is None else [args.model]  # with several, the page offers the choice
    model = {str(name): load_model(name, device=args.device, backend=args.backend, precision=args.precision) for name in names}
    limits = Limits(round(args.max_upload_mb * 2**20), args.max_pixels, args.workers, args.queue_size)
    app = create_app(model, limits)
    host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{'127.0.0.1' if args.host in ('0.0.0.0', '::') else host}:{args.port}/"
    print(f"glcic: serving on {url} (API docs at {url}docs); Ctrl-C stops", file=sys.stderr, flush=True)
    if args.open:
        import threading
        import webbrowser

        threading.Timer(1.0, webbrowser.open, (url,)).start()
    from glcic.web.protocol import JsonErrorH11Protocol

    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", http=JsonErrorH11Protocol)
    return 0


def run_export_onnx(args) -> int:
    from glcic.onnx_backend import export_onnx

    _check_model_output(args.output, ".onnx", "ONNX file")
    if args.output.exists():
        raise GlcicError(f"{args.output} exists; choose a new file name")
    from glcic.model_file import load_network, model_source
    from glcic.onnx_backend import calibration_photos

    photos = calibration_photos(args.calibration_data) if args.int8 else None
    export_onnx(*load_network(model_source(args.model)), args.output, args.int8, photos)
    print(f"wrote {args.output}{' (int8)' if args.int8 else ''}", file=sys.stderr)
    return 0


def run_evaluate(args) -> int:
    from glcic.evaluation import evaluate
    from glcic.evaluation.evaluate import check_output_folder

    check_output_folder(args.output)  # before the model loads
    model = None
    if not args.no_model:
        from glcic.inference.model import load_model

        model = load_model(args.model, device=args.device)  # None: the bundled model
    from glcic.evaluation import list_methods
    from glcic.evaluation.judge import JudgeSettings

    methods = [name.strip() for name in args.methods.split(",") if name.strip()]
    if not methods:
        raise GlcicError(f"--methods names no method; choose from {', '.join(list_methods())}")
    judge = None if args.no_judge else JudgeSettings(steps=args.judge_steps, seed=args.seed, ensemble=args.judge_ensemble,
                                                        repeats=args.judge_repeats)
    result = evaluate(args.data, args.output, model=model, protocol=args.protocol, seed=args.seed, masks=args.masks,
                      methods=methods, limit=args.limit, per_image=args.per_image, sheet_images=args.sheet_images,
                      progress=not args.no_progress, judge=judge)
    print((args.output / "summary.md").read_text())
    for name, reason in result.skipped.items():
        print(f"glcic: note: skipped {name}: {reason}", file=sys.stderr)
    return 0


def run_bench(args) -> int:
    import json

    from glcic.evaluation.timing import bench_rows, table4
    from glcic.utils import write_atomic

    from glcic.devices import resolve_device

    for path in (args.output, args.json):
        if path is not None and path.exists():
            raise GlcicError(f"{path} exists; choose a new file name")
        if path is not None and not path.parent.is_dir():
            raise GlcicError(f"cannot write {path}: folder {path.parent} does not exist")
    for device in args.devices or []:
        resolve_device(device)  # an unknown or missing device is refused before anything is timed
    width = args.width
    if args.model is not None:
        from glcic.model_file import model_source, read_model_file

        args.model = model_source(args.model)
        width = read_model_file(args.model)[1].width
    rows = bench_rows(args.model, args.sizes, args.devices, args.repeats, width, progress=lambda line: print(line, file=sys.stderr),
                      emulated=args.emulated)
    table = table4(rows, width)
    print(table)
    if args.output is not None:
        write_atomic(args.output, table.encode())
    if args.json is not None:
        write_atomic(args.json, (json.dumps(rows, indent=2) + "\n").encode())
    return 0
