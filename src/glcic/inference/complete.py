"""Completion of a user's image with a user's mask (section 3 and 3.3 of the paper).

`complete()` is the one function that the CLI, the web page and the evaluation all call:

1. the hole is filled with the model's mean pixel and the mask appended as a fourth channel;
2. the sides are padded to a multiple of 4, the network runs, and the padding is cropped off;
3. the output is composited: every pixel outside the hole is the input's, bit for bit;
4. optionally, the paper's post-processing (fast marching + Poisson blending, per hole) removes
   colour seams; it changes only the hole and a few pixels around it.

Any number of holes of any shape, images from 8 px to (at least) 4096 px per side, grey, RGB, RGBA
(alpha kept as is), 8 or 16 bits, as PIL images or numpy arrays; the result has the input's type,
shape and dtype. `max_side` downscales large inputs for the network (as the authors' release did)
and pastes the upscaled completion into the full-resolution image.
"""

from __future__ import annotations

import warnings
from contextlib import nullcontext

import numpy as np
import torch

from glcic.errors import GlcicError, MaskError
from glcic.image_io import MIN_SIDE
from glcic.inference.postprocess import DEFAULT_MARGIN, poisson_blend
from glcic.model_file import CompletionModel
from glcic.models.completion import SIZE_MULTIPLE
from glcic.pixels import DEFAULT_MASK_THRESHOLD, as_array, hole_from_mask, merge_rgb, split_rgb

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


class EmptyMaskWarning(UserWarning):
    """The mask has no hole pixels; the image is returned unchanged."""


def resolve_device(device: str | torch.device | None) -> torch.device:
    """'auto' picks CUDA when available, else CPU; an unavailable device is an error."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise GlcicError(f"unknown device {device!r}; use cpu, cuda, cuda:N or auto") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise GlcicError("device cuda was asked for, but CUDA is not available on this machine")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise GlcicError("device mps was asked for, but MPS is not available on this machine")
    return device


def _autocast(device: torch.device, precision: str):
    if precision not in PRECISIONS:
        raise GlcicError(f"unknown precision {precision!r}; choose one of {sorted(PRECISIONS)}")
    dtype = PRECISIONS[precision]
    if dtype is None:
        return nullcontext()
    if dtype == torch.float16 and device.type == "cpu":
        raise GlcicError("fp16 is for GPUs; on the CPU use bf16")
    return torch.autocast(device.type, dtype=dtype)


def predict(
    model: CompletionModel,
    rgb: np.ndarray,
    hole: np.ndarray,
    precision: str = "fp32",
) -> np.ndarray:
    """The network's raw output: (H, W, 3) float32 in [0, 1] for rgb (H, W, 3) float32, hole (H, W) bool."""
    height, width = hole.shape
    mean = np.asarray(model.config.mean_pixel, dtype=np.float32)
    filled = np.where(hole[:, :, None], mean, rgb)  # (H, W, 3): hole filled with the mean pixel
    x = np.concatenate([filled, hole[:, :, None].astype(np.float32)], axis=2)  # (H, W, 4): RGB + mask
    pad_bottom, pad_right = -height % SIZE_MULTIPLE, -width % SIZE_MULTIPLE
    x = np.pad(x, ((0, pad_bottom), (0, pad_right), (0, 0)), mode="edge")  # sides to a multiple of 4
    tensor = torch.from_numpy(x).permute(2, 0, 1)[None].to(model.device)  # (1, 4, H', W')
    if model.channels_last:
        tensor = tensor.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode(), _autocast(model.device, precision):
        output = model.network(tensor)  # (1, 3, H', W')
    output = output[0, :, :height, :width].float().permute(1, 2, 0)  # (H, W, 3): padding cropped off
    return output.cpu().numpy()


def _predict_at_most(model: CompletionModel, rgb: np.ndarray, hole: np.ndarray, max_side: int | None, precision: str, native: bool = False):
    """`predict`, on a copy downscaled so that its longer side is at most `max_side` and (unless
    `native`) its short side at most the model's working short side; upscaled back."""
    import cv2

    height, width = hole.shape
    factor = 1.0
    if max_side is not None:
        factor = min(factor, max_side / max(height, width))
    working = model.config.working_short_side
    if working is not None and not native:
        factor = min(factor, working / min(height, width))
    if factor >= 1.0:
        return predict(model, rgb, hole, precision)
    small = (max(MIN_SIDE, round(width * factor)), max(MIN_SIDE, round(height * factor)))  # (w, h) for OpenCV
    small_rgb = cv2.resize(rgb, small, interpolation=cv2.INTER_AREA)
    small_hole = cv2.resize(hole.astype(np.float32), small, interpolation=cv2.INTER_AREA) > 0  # any coverage = hole
    output = predict(model, small_rgb, small_hole, precision)
    return np.clip(cv2.resize(output, (width, height), interpolation=cv2.INTER_CUBIC), 0.0, 1.0)


def complete(
    model: CompletionModel,
    image,
    mask,
    *,
    postprocess: bool = True,
    max_side: int | None = None,
    native: bool = False,
    device: str | torch.device | None = None,
    precision: str = "fp32",
    channels_last: bool | None = None,
    threshold: float = DEFAULT_MASK_THRESHOLD,
    invert_mask: bool = False,
    margin: int = DEFAULT_MARGIN,
):
    """Complete the hole of `image` given by `mask`; returns the completed image in the input's type.

    image: PIL image or numpy array ((H, W) grey, (H, W, 2|3|4), uint8/uint16/float in [0, 1], RGB order).
    mask: PIL image or array of the same height and width; values >= `threshold` (after scaling to
        [0, 1]) are hole, as in the authors' release (white = hole); `invert_mask` flips that. A bool
        array is used as is (True = hole).
    postprocess: the paper's fast marching + Poisson blending (changes the hole and `margin` px around it).
    max_side: run the network on a copy whose longer side is at most this many pixels.
    native: ignore the model's working scale (`config.working_short_side`: images whose short side is
        larger run on a copy downscaled to it, the scale the model was trained at) and run at full size.
    device / precision / channels_last: where and how the network runs ("fp32", "bf16", "fp16" on GPU);
        None keeps the model's current device and memory format.
    """
    array = as_array(image)
    hole = hole_from_mask(mask, threshold, invert_mask)
    height, width = array.shape[:2]
    if hole.shape != (height, width):
        raise MaskError(f"mask is {hole.shape[1]}x{hole.shape[0]} px but the image is {width}x{height} px; they must match")
    if min(height, width) < MIN_SIDE:
        raise GlcicError(f"image is {width}x{height} px; each side must be at least {MIN_SIDE} px")
    if max_side is not None and max_side < MIN_SIDE:
        raise GlcicError(f"max_side must be at least {MIN_SIDE} px, got {max_side}")
    if not hole.any():
        warnings.warn("the mask has no hole pixels; returning the image unchanged", EmptyMaskWarning, stacklevel=2)
        return _like_input(image, array.copy())
    if hole.all():
        raise MaskError("the mask covers the whole image; there is nothing to complete the hole from")
    if device is not None or channels_last is not None:
        model.to(resolve_device(device) if device is not None else model.device, channels_last)

    rgb = split_rgb(array)  # (H, W, 3) float32 in [0, 1]
    prediction = _predict_at_most(model, rgb, hole, max_side, precision, native)  # (H, W, 3)
    if postprocess:
        completed, region = poisson_blend(rgb, hole, prediction, margin)
    else:
        completed, region = prediction, hole
    return _like_input(image, merge_rgb(array, completed, region))


def _like_input(image, array: np.ndarray):
    """`array` as the same kind of object the user passed in (PIL image or numpy array)."""
    if isinstance(image, np.ndarray):
        return array.reshape(image.shape) if array.size == image.size else array
    from PIL import Image

    if array.dtype == np.uint16:
        return Image.fromarray(array) if array.ndim == 2 else Image.fromarray(np.rint(array / 257.0).astype(np.uint8))
    return Image.fromarray(array)
