"""The `glcic` command line: every subcommand's options and help (argparse only; the handlers are in
glcic.cli.commands)."""

from __future__ import annotations

import argparse
from pathlib import Path

import glcic.cli.commands as handlers
from glcic.config import BUNDLED_MODELS, DEFAULT_MODEL

MODEL_HELP = (f"a bundled model by name ({', '.join(BUNDLED_MODELS)}) or a model file (.safetensors); "
              f"default: {DEFAULT_MODEL}")

EXAMPLES = """examples:
  glcic complete photo.jpg --mask mask.png -o out.png                 # the default bundled model, with the photo's texture
  glcic complete photo.jpg --mask mask.png -o out.png --no-texture    # the network's fill alone (the paper's method)
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
_width, _fraction, _noise_scale = _value_parser("width"), _value_parser("fraction"), _value_parser("noise_scale")
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
    complete.add_argument("--texture", action=argparse.BooleanOptionalAction, default=None,
                          help="add the photo's own fine texture to the fill: PatchMatch's detail finer than 4 px on the network's "
                               "colours (sharper, a higher hole error; needs pypatchmatch). Default: on where pypatchmatch is "
                               "installed; --no-texture gives the network's fill alone, the paper's method")
    complete.add_argument("--seed", type=_natural_int, default=0, help="seed of --texture's patch search and of the noise of a model with noise layers")
    complete.add_argument("--noise-scale", type=_noise_scale, default=None, help="a model with noise layers: the grain's strength, 0-2 (1: as trained; default: the model's own)")
    complete.add_argument("--no-flip", action="store_true", help="run the network once: by default a window at full resolution also runs mirrored left to right and the two outputs are averaged (twice the network's time there, a lower hole error)")
    complete.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    complete.add_argument("--backend", choices=BACKENDS, default="torch", help="torch, or onnx (onnxruntime; pip install glcic[onnx])")
    complete.add_argument("--precision", choices=PRECISIONS, default="auto", help="auto: bf16 on GPUs and CPUs with AMX or AVX512-BF16, else fp32; int8 with --backend onnx")
    complete.add_argument("--invert-mask", action="store_true", help="black = hole instead of white = hole")
    complete.add_argument("--threshold", type=_threshold, default=0.2, help="mask value (in [0, 1]) from which a pixel is hole")
    complete.add_argument("--max-pixels", type=_positive_int, default=DEFAULT_MAX_PIXELS, help="refuse larger images (decompression bombs)")
    complete.add_argument("--quality", type=_quality, default=95, help="JPEG / WebP quality (JPEG with 4:4:4 chroma)")
    complete.add_argument("--suffix", choices=IMAGE_SUFFIXES, default=None, help="output format for folders (default: each input's own)")
    complete.set_defaults(handler=handlers.run_complete)

    info = commands.add_parser("info", help="print a model's configuration and how it was trained", formatter_class=formatter)
    info.add_argument("model", nargs="?", default=None, help=MODEL_HELP)
    info.set_defaults(handler=handlers.run_info)
    _add_train_parser(commands)
    export = commands.add_parser("export", help="write a training run's completion network as a model file", formatter_class=formatter)
    export.add_argument("run_dir", type=Path, metavar="RUN", help="training run folder")
    export.add_argument("-o", "--output", type=Path, required=True, help="model file to write (.safetensors)")
    export.add_argument("--fp16", action="store_true", help="store weights as float16 (half the size)")
    export.set_defaults(handler=handlers.run_export)
    average = commands.add_parser("average", help="the mean of several model files' weights (stochastic weight averaging)",
                                  formatter_class=formatter)
    average.add_argument("models", type=Path, nargs="+", metavar="MODEL", help="model files of one architecture (.safetensors), "
                         "e.g. a run's last snapshots")
    average.add_argument("-o", "--output", type=Path, required=True, help="model file to write (.safetensors)")
    average.add_argument("--fp16", action="store_true", help="store weights as float16 (half the size)")
    average.set_defaults(handler=handlers.run_average)
    widen = commands.add_parser("widen", help="the same network with more channels (Net2WiderNet), to train on from where it is",
                                formatter_class=formatter)
    widen.add_argument("model", nargs="?", default=None, metavar="MODEL", help=MODEL_HELP)
    widen.add_argument("--width", type=_width, required=True, help="the new width multiplier (1 = Table 2), at least the model's")
    widen.add_argument("-o", "--output", type=Path, required=True, help="new model file (.safetensors)")
    widen.add_argument("--seed", type=_natural_int, default=0, help="chooses the copied channels, their shares and the noise")
    widen.add_argument("--noise", type=_fraction, default=0.01, help="noise on the copies' weights, a fraction of each layer's spread in [0, 1] (0: exactly the same function)")
    widen.set_defaults(handler=handlers.run_widen)
    onnx = commands.add_parser("export-onnx", help="write a model file as an ONNX graph (fp32, or int8 calibrated on photos)",
                               formatter_class=formatter)
    onnx.add_argument("model", nargs="?", default=None, metavar="MODEL", help=MODEL_HELP)
    onnx.add_argument("-o", "--output", type=Path, required=True, help="new .onnx file")
    onnx.add_argument("--int8", action="store_true", help="static int8 quantization (QDQ, per-channel), calibrated on --calibration-data")
    onnx.add_argument("--calibration-data", type=Path, help="folder of photos for the int8 calibration")
    onnx.set_defaults(handler=handlers.run_export_onnx)
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
    serve.set_defaults(handler=handlers.run_serve)
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
                          "a minute or two a method on 2 cores)")
    evaluate.add_argument("--judge-steps", type=_positive_int, default=300, help="training steps of each judge")
    evaluate.add_argument("--judge-ensemble", type=_positive_int, default=4, help="judges per fold, their verdicts averaged")
    evaluate.add_argument("--judge-repeats", type=_positive_int, default=2,
                          help="the whole judge trained this many times from other seeds; with 2 or more its intervals cover its "
                               "own training noise (the judge networks run one per core at once)")
    evaluate.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    evaluate.add_argument("--no-progress", action="store_true", help="no progress bars")
    evaluate.set_defaults(handler=handlers.run_evaluate)

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
    bench.set_defaults(handler=handlers.run_bench)


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
    train.set_defaults(handler=handlers.run_train)
