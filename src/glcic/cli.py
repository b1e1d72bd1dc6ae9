"""The `glcic` command: subcommands over the library, holding no model logic of their own."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from glcic.config import BUNDLED_MODELS, DEFAULT_MODEL
from glcic.errors import GlcicError

MODEL_HELP = (f"a bundled model by name ({', '.join(BUNDLED_MODELS)}) or a model file (.safetensors); "
              f"default: {DEFAULT_MODEL}")

EXAMPLES = """examples:
  glcic complete photo.jpg --mask mask.png -o out.png                 # the default bundled model
  glcic complete photo.jpg --mask mask.png -o out.png --model accurate
  glcic complete photo.jpg --mask mask.png -o out.png --model model.safetensors
  glcic complete photos/ --mask masks/ -o completed/ --device cuda --precision bf16
  glcic complete big.jpg --mask big_mask.png -o out.png
"""

COMMANDS_EXAMPLES = """examples:
  glcic complete photo.jpg --mask mask.png -o out.png --model accurate
  glcic info accurate
  glcic serve
  glcic train --data photos/ --run-dir runs/cpu --preset cpu
  glcic train --resume runs/cpu
  glcic export runs/cpu -o model.safetensors
  glcic evaluate --data photos/ --model model.safetensors -o eval/ --protocol paper
  glcic bench --model model.safetensors
"""

TRAIN_EXAMPLES = """examples:
  glcic train --data photos/ --run-dir runs/first --preset cpu --dry-run
  glcic train --data photos/ --run-dir runs/first --preset cpu
  glcic train --resume runs/first                      # after Ctrl-C, SIGTERM or a crash
  glcic train --resume runs/first --total-iterations 60000
  glcic train --data facades/ --run-dir runs/facades --fine-tune model.safetensors
  torchrun --nproc-per-node 4 -m glcic train --data photos/ --run-dir runs/ddp --preset paper --device cuda
"""

def _value_parser(kind: str):
    """An argparse type for one of glcic.values.VALUE_KINDS."""
    from glcic.values import parse_value

    def parse(text: str):
        try:
            return parse_value(text, kind)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


_positive_int, _natural_int, _side = _value_parser("positive_int"), _value_parser("natural_int"), _value_parser("side")
_width, _fraction = _value_parser("width"), _value_parser("fraction")
_threshold, _quality, _port, _megabytes = (_value_parser(kind) for kind in ("threshold", "quality", "port", "megabytes"))


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Examples keep their line breaks; each option's default is shown once, and only when it says something."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text.lower() or action.default in (None, False, argparse.SUPPRESS) or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """Usage errors in one line that names the problem and where the help is (not the whole usage)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from glcic import __version__
    from glcic.image_io import DEFAULT_MAX_PIXELS, IMAGE_SUFFIXES
    from glcic.devices import BACKENDS, PRECISIONS

    parser = Parser(
        prog="glcic",
        description="Globally and Locally Consistent Image Completion (SIGGRAPH 2017).",
        epilog=COMMANDS_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"glcic {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    formatter = HelpFormatter

    complete = commands.add_parser(
        "complete",
        help="fill the holes of an image (or a folder of images) given by a mask",
        description="Fill the hole of IMAGE marked by MASK (white = hole: a value >= 0.2 in [0, 1], the "
        "authors' format) and write the result to OUTPUT. With folders, masks are matched to images by "
        "file name without extension, and OUTPUT is a folder.",
        epilog=EXAMPLES,
        formatter_class=formatter,
    )
    complete.add_argument("image", type=Path, help="image file, or a folder of images")
    complete.add_argument("--mask", type=Path, required=True, help="mask file, or a folder of masks")
    complete.add_argument("-o", "--output", required=True, help="output file, or folder (for one image, DIR/ writes DIR/NAME.EXT)")
    complete.add_argument("--model", default=None, help=MODEL_HELP + " (.onnx with --backend onnx)")
    complete.add_argument("--no-postprocess", action="store_true", help="skip Poisson blending (it changes only the hole)")
    complete.add_argument("--max-side", type=_side, default=None, help="no hole's context window runs through the network larger than this")
    complete.add_argument("--native", action="store_true", help="every hole at full resolution, even holes deeper than the model's training holes")
    complete.add_argument("--no-flip", action="store_true", help="run the network once: by default a window at full resolution also runs mirrored left to right and the two outputs are averaged (twice the network's time there, a lower hole error)")
    complete.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    complete.add_argument("--backend", choices=BACKENDS, default="torch", help="torch, or onnx (onnxruntime; pip install glcic[onnx])")
    complete.add_argument("--precision", choices=PRECISIONS, default="auto", help="auto: bf16 on GPUs and CPUs with AMX or AVX512-BF16, else fp32; int8 with --backend onnx")
    complete.add_argument("--invert-mask", action="store_true", help="black = hole instead of white = hole")
    complete.add_argument("--threshold", type=_threshold, default=0.2, help="mask value (in [0, 1]) from which a pixel is hole")
    complete.add_argument("--max-pixels", type=_positive_int, default=DEFAULT_MAX_PIXELS, help="refuse larger images (decompression bombs)")
    complete.add_argument("--quality", type=_quality, default=95, help="JPEG / WebP quality (JPEG with 4:4:4 chroma)")
    complete.add_argument("--suffix", choices=IMAGE_SUFFIXES, default=None, help="output format for folders (default: each input's own)")
    complete.set_defaults(handler=run_complete)

    info = commands.add_parser("info", help="print a model's configuration and how it was trained", formatter_class=formatter)
    info.add_argument("model", nargs="?", default=None, help=MODEL_HELP)
    info.set_defaults(handler=run_info)
    _add_train_parser(commands)
    export = commands.add_parser("export", help="write a training run's completion network as a model file", formatter_class=formatter)
    export.add_argument("run_dir", type=Path, metavar="RUN", help="training run folder")
    export.add_argument("-o", "--output", type=Path, required=True, help="model file to write (.safetensors)")
    export.add_argument("--fp16", action="store_true", help="store weights as float16 (half the size)")
    export.add_argument("--working-short-side", type=_value_parser("working_short_side"), help="recorded in the model config (default: the middle "
                        "of the training resize range); completion itself scales each hole's window by the hole's depth")
    export.set_defaults(handler=run_export)
    average = commands.add_parser("average", help="the mean of several model files' weights (stochastic weight averaging)",
                                  formatter_class=formatter)
    average.add_argument("models", type=Path, nargs="+", metavar="MODEL", help="model files of one architecture (.safetensors), "
                         "e.g. a run's last snapshots")
    average.add_argument("-o", "--output", type=Path, required=True, help="model file to write (.safetensors)")
    average.add_argument("--fp16", action="store_true", help="store weights as float16 (half the size)")
    average.set_defaults(handler=run_average)
    widen = commands.add_parser("widen", help="the same network with more channels (Net2WiderNet), to train on from where it is",
                                formatter_class=formatter)
    widen.add_argument("model", nargs="?", default=None, metavar="MODEL", help=MODEL_HELP)
    widen.add_argument("--width", type=_width, required=True, help="the new width multiplier (1 = Table 2), at least the model's")
    widen.add_argument("-o", "--output", type=Path, required=True, help="new model file (.safetensors)")
    widen.add_argument("--seed", type=_natural_int, default=0, help="chooses the copied channels, their shares and the noise")
    widen.add_argument("--noise", type=_fraction, default=0.01, help="noise on the copies' weights, a fraction of each layer's spread in [0, 1] (0: exactly the same function)")
    widen.set_defaults(handler=run_widen)
    onnx = commands.add_parser("export-onnx", help="write a model file as an ONNX graph (fp32, or int8 calibrated on photos)",
                               formatter_class=formatter)
    onnx.add_argument("model", nargs="?", default=None, metavar="MODEL", help=MODEL_HELP)
    onnx.add_argument("-o", "--output", type=Path, required=True, help="new .onnx file")
    onnx.add_argument("--int8", action="store_true", help="static int8 quantization (QDQ, per-channel), calibrated on --calibration-data")
    onnx.add_argument("--calibration-data", type=Path, help="folder of photos for the int8 calibration")
    onnx.set_defaults(handler=run_export_onnx)
    serve = commands.add_parser("serve", help="a local web page to paint holes and complete them, and its HTTP API",
                                description="Serve the page and the HTTP API (see /docs) on this machine. Everything is "
                                "served by the package: no CDN, no telemetry.", formatter_class=formatter)
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0 makes it reachable from other machines)")
    serve.add_argument("--port", type=_port, default=7860, help="port")
    serve.add_argument("--model", default=None, help=MODEL_HELP + " (.onnx with --backend onnx); with no --model the page "
                       "offers every bundled model")
    serve.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    serve.add_argument("--backend", choices=BACKENDS, default="torch", help="torch or onnx")
    serve.add_argument("--precision", choices=PRECISIONS, default="auto", help="see glcic complete")
    serve.add_argument("--max-upload-mb", type=_megabytes, default=20.0, help="refuse larger uploads (413)")
    serve.add_argument("--max-pixels", type=_positive_int, default=50_000_000, help="refuse larger images (413), checked before decoding")
    serve.add_argument("--workers", type=_positive_int, default=1, help="completions running at once")
    serve.add_argument("--queue-size", type=_natural_int, default=4, help="requests that may wait; more get 503 with Retry-After")
    serve.add_argument("--open", action="store_true", help="open the page in the default browser")
    serve.set_defaults(handler=run_serve)
    _add_evaluation_parsers(commands, formatter)
    return parser


def _add_evaluation_parsers(commands, formatter) -> None:
    from glcic.evaluation import list_methods, list_protocols
    from glcic.evaluation.baselines import default_methods

    evaluate = commands.add_parser(
        "evaluate", formatter_class=formatter,
        help="compare the model with classical methods on a folder of images, with saved masks",
        description="Complete every image with every method, on holes made from --seed (or reused with "
        "--masks), and write results.csv, summary.md, summary.json, comparison.png and the mask set to OUT.",
    )
    evaluate.add_argument("--data", type=Path, required=True, help="folder of ground-truth images (searched recursively)")
    evaluate.add_argument("-o", "--output", type=Path, required=True, help="new (or empty) output folder")
    evaluate.add_argument("--model", default=None, help=MODEL_HELP)
    evaluate.add_argument("--no-model", action="store_true", help="classical methods only: skip the glcic methods")
    evaluate.add_argument("--protocol", choices=list_protocols(), default="paper", help="mask protocol")
    evaluate.add_argument("--seed", type=_natural_int, default=0, help="seed of the mask set")
    evaluate.add_argument("--masks", type=Path, help="reuse the mask set saved in this folder (OUT/masks of an earlier run)")
    evaluate.add_argument("--methods", default=",".join(default_methods()), help="comma-separated methods, from "
                          + ", ".join(list_methods()))
    evaluate.add_argument("--limit", type=_positive_int, help="use only the first N images")
    evaluate.add_argument("--per-image", type=_value_parser("per_image"), default=1, help="(crop, hole) pairs per image: the centre crop, then random crops at random scales")
    evaluate.add_argument("--sheet-images", type=_natural_int, default=4, help="images in comparison.png")
    evaluate.add_argument("--no-judge", action="store_true", help="skip the realism judge (small CNNs trained per method: "
                          "about a minute each on 2 cores)")
    evaluate.add_argument("--judge-steps", type=_positive_int, default=300, help="training steps of each judge")
    evaluate.add_argument("--judge-ensemble", type=_positive_int, default=4, help="judges per fold, their verdicts averaged")
    evaluate.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    evaluate.add_argument("--no-progress", action="store_true", help="no progress bars")
    evaluate.set_defaults(handler=run_evaluate)

    bench = commands.add_parser(
        "bench", formatter_class=formatter,
        help="the paper's Table 4 on this machine: completion time at 512, 768, 1024 px",
        description="Time completion (without post-processing) for each available device and precision, "
        "with GFLOP/s, as a Markdown table next to the paper's numbers. Without --model, a full-width "
        "network with random weights (time does not depend on weights).",
    )
    bench.add_argument("--model", type=Path, help="model file (default: random full-width network)")
    bench.add_argument("--sizes", type=_value_parser("bench_size"), nargs="+", default=[512, 768, 1024], help="square image sides")
    bench.add_argument("--devices", nargs="+", help="default: cpu, and cuda when available")
    bench.add_argument("--emulated", action="store_true", help="also time bf16 on a CPU without bf16 instructions (emulated: tens of times slower)")
    bench.add_argument("--repeats", type=_positive_int, default=3, help="timed runs per cell (after one warm-up)")
    bench.add_argument("--width", type=_width, default=1.0, help="width of the random network")
    bench.add_argument("-o", "--output", type=Path, help="also write the table to this new Markdown file")
    bench.add_argument("--json", type=Path, help="also write the rows {device, backend, precision, size, seconds, gflops_per_s, reference} to this new JSON file")
    bench.set_defaults(handler=run_bench)


def _add_train_parser(commands) -> None:
    from glcic.training.config import command_line_fields, list_presets

    train = commands.add_parser(
        "train",
        help="train a completion model from a folder of photos (Algorithm 1)",
        description="Train the completion network and the context discriminators in the paper's three "
        "phases. Options left out take the preset's value; --dry-run prints the resolved configuration.",
        epilog=TRAIN_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    train.add_argument("--data", type=Path, help="folder of training photos (searched recursively)")
    train.add_argument("--validation-data", type=Path, help="folder of the sample sheets' images (default: from --data)")
    train.add_argument("--run-dir", dest="run_dir", type=Path, metavar="RUN", help="new run folder (config, logs, samples, checkpoint)")
    train.add_argument("--resume", type=Path, metavar="RUN", help="continue the run in this folder from its checkpoint")
    train.add_argument("--preset", default="paper", choices=list_presets(), help="starting configuration (default: paper)")
    train.add_argument("--fine-tune", metavar="MODEL", help="start the completion network from a model (a bundled model's name, "
                       "e.g. accurate, or a file); T_C defaults to 0 (section 4.5)")
    train.add_argument("--device", default="cpu", help="cpu, cuda or auto (default: cpu)")
    train.add_argument("--stop-after", type=_positive_int, help="checkpoint and stop after this many iterations of this call")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.add_argument("--dry-run", action="store_true", help="print the resolved configuration and exit")
    for item in command_line_fields():  # help, kinds and choices are written once, on TrainConfig's fields
        option, meta = "--" + item.name.replace("_", "-"), item.metadata
        if isinstance(item.default, bool):
            train.add_argument(option, dest=item.name, action=argparse.BooleanOptionalAction, default=None, help=meta["help"])
            continue
        choices = meta["choices"]
        train.add_argument(option, dest=item.name, default=None, help=meta["help"],
                           type=_value_parser(meta["kind"]) if meta["kind"] else str,
                           choices=list(choices() if callable(choices) else choices) if choices else None)
    train.set_defaults(handler=run_train)


def _complete_options(args) -> dict:
    return dict(
        postprocess=not args.no_postprocess,
        max_side=args.max_side,
        native=args.native,
        flip_average=not args.no_flip,
        threshold=args.threshold,
        invert_mask=args.invert_mask,
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
    from glcic.model_file import load_model

    return load_model(args.model, device=args.device, backend=args.backend, precision=args.precision)  # None: the bundled model


MASK_SUFFIX = "_mask"  # the authors' naming: NAME_mask.EXT beside NAME.EXT


def _match_folders(images_dir: Path, masks_dir: Path) -> list[tuple[Path, Path]]:
    """(image, mask) pairs: masks named like the image (NAME.EXT in the mask folder) or, the authors'
    naming, NAME_mask.EXT; files ending in _mask are never taken as images."""
    from glcic.image_io import list_images

    if not masks_dir.is_dir():
        raise GlcicError(f"IMAGE is a folder, so --mask must be a folder too: {masks_dir}")
    same_folder = images_dir.resolve() == masks_dir.resolve()
    images = [p for p in list_images(images_dir) if not p.stem.endswith(MASK_SUFFIX)]
    masks = list_images(masks_dir)
    if not images:
        raise GlcicError(f"no images in {images_dir}")
    by_stem: dict[str, Path] = {}
    for mask in masks:
        if mask.stem.endswith(MASK_SUFFIX):
            stem = mask.stem[: -len(MASK_SUFFIX)]
        elif same_folder:
            continue  # in a shared folder only NAME_mask files are masks
        else:
            stem = mask.stem
        if stem in by_stem:
            raise GlcicError(f"two masks for the name {stem!r}: {by_stem[stem].name} and {mask.name}")
        by_stem[stem] = mask
    unmatched = [image.name for image in images if image.stem not in by_stem]
    if unmatched:
        raise GlcicError(f"no mask in {masks_dir} for {len(unmatched)} image(s): {', '.join(unmatched[:10])}")
    return [(image, by_stem[image.stem]) for image in images]


def run_complete(args) -> int:
    into_folder = args.output.endswith(("/", "\\"))
    args.output = Path(args.output)
    if not args.image.is_dir():
        if args.mask.is_dir():
            raise GlcicError(f"IMAGE is a file, so --mask must be a file too, not the folder {args.mask}")
        from glcic.image_io import check_output_path

        if args.output.is_dir() or into_folder:  # -o DIR/: into that folder, under the image's name
            if not args.output.is_dir():
                raise GlcicError(f"output folder does not exist: {args.output}")
            args.output = args.output / (args.image.stem + (args.suffix or args.image.suffix))
        check_output_path(args.output, inputs=(args.image, args.mask))  # before the model loads
        args.single_image = True
        _complete_one(_load(args), args.image, args.mask, args.output, args)
        print(f"wrote {args.output}", file=sys.stderr)
        return 0

    from tqdm import tqdm

    from glcic.image_io import check_output_path

    pairs = _match_folders(args.image, args.mask)
    output = args.output
    if output.exists() and not output.is_dir():
        raise GlcicError(f"IMAGE is a folder, so -o must be a folder, but {output} is a file")
    for source in (args.image, args.mask):
        if output.exists() and output.resolve() == source.resolve():
            raise GlcicError(f"output folder {output} is an input folder; choose another")
    if not output.parent.is_dir():
        raise GlcicError(f"output folder's parent does not exist: {output.parent}")
    targets = {}
    for image_path, _ in pairs:  # x.png and x.jpg with --suffix .png would write one file twice
        target = (image_path.stem + (args.suffix or image_path.suffix)).lower()
        if target in targets:
            raise GlcicError(f"{targets[target]} and {image_path.name} would both be written to {output / target}; "
                             "rename one, or drop --suffix")
        targets[target] = image_path.name
    output.mkdir(exist_ok=True)
    model = _load(args)
    failures = []
    for image_path, mask_path in tqdm(pairs, desc="completing", unit="image", disable=None):
        target = output / (image_path.stem + (args.suffix or image_path.suffix))
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
        from glcic.model_file import model_source, read_model_file

        source = model_source(args.fine_tune)
        model_config = read_model_file(source)[1]
        overrides["fine_tune_from"] = str(source)
        overrides.setdefault("width", model_config.width)
        overrides.setdefault("completion_iterations", 0)  # section 4.5: D from scratch first, then both
    try:
        return preset(args.preset, **overrides)
    except (ValueError, TypeError) as error:
        raise GlcicError(f"invalid training configuration: {error}") from None


def run_train(args) -> int:
    import json

    from glcic.training import train

    if args.resume is not None:
        if args.run_dir is not None or args.data is not None or args.fine_tune is not None:
            raise GlcicError("--resume RUN continues a run as it was configured; do not combine it with --run-dir, --data or --fine-tune")
        overrides = _given_train_options(args)
        if args.dry_run:
            from glcic.training.checkpoint import load_checkpoint
            from glcic.training.loop import resumed_config

            state = load_checkpoint(args.resume)
            print(json.dumps({"config": resumed_config(state["config"], overrides).to_dict(), "iteration": state["iteration"]}, indent=2))
            return 0
        result = train(None, args.resume, resume=True, device=args.device, stop_after=args.stop_after,
                       progress=not args.no_progress, overrides=overrides)
    else:
        if args.data is None or args.run_dir is None:
            raise GlcicError("glcic train needs --data DIR and --run-dir RUN (or --resume RUN)")
        config = _train_config(args)
        if args.dry_run:
            import os

            world = int(os.environ.get("WORLD_SIZE", "1"))
            from glcic.training.phases import training_phases

            print(json.dumps({
                "config": config.to_dict(),
                "world_size": world,
                "per_process_batch_size": config.batch_size,
                "global_batch_size": config.batch_size * world,
                "phases": [vars(phase) for phase in training_phases(config)],
                "mean_pixel": config.mean_pixel or "computed from the training set at start",
            }, indent=2))
            return 0
        result = train(config, args.run_dir, device=args.device, stop_after=args.stop_after, progress=not args.no_progress)
    import os

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
    config = export_model(args.run_dir, args.output, torch.float16 if args.fp16 else torch.float32, args.working_short_side)
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

    from glcic.model_file import load_model
    from glcic.web.app import Limits, create_app

    import socket

    try:  # uvicorn logs a failed bind and exits; say it in one line instead, before loading the model
        with socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((args.host, args.port))
    except OSError as error:
        raise GlcicError(f"cannot serve on {args.host}:{args.port}: {error.strerror or error}") from None
    if args.model is None:  # every bundled model installed, the default first; the page offers the choice
        names = [DEFAULT_MODEL, *(name for name in BUNDLED_MODELS if name != DEFAULT_MODEL and BUNDLED_MODELS[name].is_file())]
    else:
        names = [args.model]
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
    photos = None
    if args.int8:
        from glcic.data import find_images
        from glcic.image_io import read_photo

        if args.calibration_data is None or not args.calibration_data.is_dir():
            raise GlcicError("--int8 needs --calibration-data DIR, a folder of photos")
        photos = [read_photo(path, 512) for path in find_images(args.calibration_data)[:16]]
    export_onnx(args.model, args.output, args.int8, photos)
    print(f"wrote {args.output}{' (int8)' if args.int8 else ''}", file=sys.stderr)
    return 0


def run_evaluate(args) -> int:
    from glcic.evaluation import evaluate
    from glcic.evaluation.evaluate import check_output_folder

    check_output_folder(args.output)  # before the model loads
    model = None
    if not args.no_model:
        from glcic.model_file import load_model

        model = load_model(args.model, device=args.device)  # None: the bundled model
    from glcic.evaluation import list_methods
    from glcic.evaluation.judge import JudgeSettings

    methods = [name.strip() for name in args.methods.split(",") if name.strip()]
    if not methods:
        raise GlcicError(f"--methods names no method; choose from {', '.join(list_methods())}")
    judge = None if args.no_judge else JudgeSettings(steps=args.judge_steps, seed=args.seed, ensemble=args.judge_ensemble)
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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except GlcicError as error:
        print(f"glcic: error: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # the one place every command's file-system errors end up
        where = f" {error.filename}" if error.filename else ""
        print(f"glcic: error:{where}: {error.strerror or error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("glcic: interrupted", file=sys.stderr)
        return 130
