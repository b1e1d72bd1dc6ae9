"""The `glcic` command: subcommands over the library, holding no model logic of their own."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from glcic.errors import GlcicError

EXAMPLES = """examples:
  glcic complete photo.jpg --mask mask.png -o out.png --model model.safetensors
  glcic complete photos/ --mask masks/ -o completed/ --model model.safetensors --precision bf16 --channels-last
  glcic complete big.jpg --mask big_mask.png -o out.png --model model.safetensors --max-side 1024
  glcic info model.safetensors
"""

NO_MODEL = (
    "no model given: pass --model PATH (a .safetensors model file made by `glcic export`); "
    "this version of glcic does not bundle a trained model yet"
)


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _threshold(text: str) -> float:
    value = float(text)
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from glcic import __version__
    from glcic.image_io import DEFAULT_MAX_PIXELS, IMAGE_SUFFIXES
    from glcic.inference.complete import PRECISIONS

    parser = argparse.ArgumentParser(
        prog="glcic",
        description="Globally and Locally Consistent Image Completion (SIGGRAPH 2017).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"glcic {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    formatter = argparse.ArgumentDefaultsHelpFormatter

    complete = commands.add_parser(
        "complete",
        help="fill the holes of an image (or a folder of images) given by a mask",
        description="Fill the hole of IMAGE marked by MASK (white = hole: a value >= 0.2 in [0, 1], the "
        "authors' format) and write the result to OUT. With folders, masks are matched to images by "
        "file name without extension, and OUT is a folder.",
        epilog=EXAMPLES,
        formatter_class=formatter,
    )
    complete.add_argument("image", type=Path, help="image file, or a folder of images")
    complete.add_argument("--mask", type=Path, required=True, help="mask file, or a folder of masks")
    complete.add_argument("-o", "--output", type=Path, required=True, help="output file, or folder")
    complete.add_argument("--model", type=Path, default=None, help="model file (.safetensors)")
    complete.add_argument("--no-postprocess", action="store_true", help="skip fast marching + Poisson blending")
    complete.add_argument("--max-side", type=_positive_int, default=None, help="downscale so the longer side is at most this for the network")
    complete.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    complete.add_argument("--precision", choices=sorted(PRECISIONS), default="fp32", help="network precision (bf16 uses autocast)")
    complete.add_argument("--channels-last", action="store_true", help="channels_last memory format (faster in fp32 and bf16; see the README's benchmarks)")
    complete.add_argument("--invert-mask", action="store_true", help="black = hole instead of white = hole")
    complete.add_argument("--threshold", type=_threshold, default=0.2, help="mask value (in [0, 1]) from which a pixel is hole")
    complete.add_argument("--max-pixels", type=_positive_int, default=DEFAULT_MAX_PIXELS, help="refuse larger images (decompression bombs)")
    complete.add_argument("--suffix", choices=IMAGE_SUFFIXES, default=None, help="output format for folders; None keeps each input's own")
    complete.set_defaults(run=run_complete)

    info = commands.add_parser("info", help="print a model file's configuration", formatter_class=formatter)
    info.add_argument("model", type=Path, help="model file (.safetensors)")
    info.set_defaults(run=run_info)
    return parser


def _complete_options(args) -> dict:
    return dict(
        postprocess=not args.no_postprocess,
        max_side=args.max_side,
        precision=args.precision,
        threshold=args.threshold,
        invert_mask=args.invert_mask,
    )


def _complete_one(model, image_path: Path, mask_path: Path, output: Path, args) -> None:
    """Read, complete and write one image; the caller has checked `output` with `check_output_path`."""
    from glcic.image_io import read_image, write_image
    from glcic.inference.complete import complete

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        image = read_image(image_path, args.max_pixels)
        mask = read_image(mask_path, args.max_pixels, what="mask")
        completed = complete(model, image, mask, **_complete_options(args))
        write_image(output, completed)
    for warning in caught:
        print(f"glcic: warning: {image_path.name}: {warning.message}", file=sys.stderr)


def _load(args):
    from glcic.inference.complete import resolve_device
    from glcic.model_file import load_model

    if args.model is None:
        raise GlcicError(NO_MODEL)
    return load_model(args.model, resolve_device(args.device), args.channels_last)


def _match_folders(images_dir: Path, masks_dir: Path) -> list[tuple[Path, Path]]:
    from glcic.image_io import list_images

    if not masks_dir.is_dir():
        raise GlcicError(f"IMAGE is a folder, so --mask must be a folder too: {masks_dir}")
    images, masks = list_images(images_dir), list_images(masks_dir)
    if not images:
        raise GlcicError(f"no images in {images_dir}")
    by_stem: dict[str, Path] = {}
    for mask in masks:
        if mask.stem in by_stem:
            raise GlcicError(f"two masks for the name {mask.stem!r}: {by_stem[mask.stem].name} and {mask.name}")
        by_stem[mask.stem] = mask
    unmatched = [image.name for image in images if image.stem not in by_stem]
    if unmatched:
        raise GlcicError(f"no mask in {masks_dir} for {len(unmatched)} image(s): {', '.join(unmatched[:10])}")
    return [(image, by_stem[image.stem]) for image in images]


def run_complete(args) -> int:
    if not args.image.is_dir():
        if args.mask.is_dir():
            raise GlcicError(f"IMAGE is a file, so --mask must be a file too, not the folder {args.mask}")
        from glcic.image_io import check_output_path

        check_output_path(args.output, inputs=(args.image, args.mask))  # before the model loads
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
    from glcic.model_file import read_model_file

    tensors, config = read_model_file(args.model)
    parameters = sum(t.numel() for name, t in tensors.items() if not name.endswith("num_batches_tracked"))
    print(config.to_json())
    print(f"tensors: {len(tensors)}, values: {parameters:,}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except GlcicError as error:
        print(f"glcic: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("glcic: interrupted", file=sys.stderr)
        return 130
