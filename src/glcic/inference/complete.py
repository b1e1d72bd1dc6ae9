"""Completion of a user's image with a user's mask (sections 3 and 3.3 of the paper).

`complete()` is the one function that the CLI, the web page and the evaluation all call. It has no
side effects on the model (where and how the network runs is fixed by `load_model`):

1. each hole gets a context window, at full resolution or, for holes deeper than the model's
   training holes, brought down to the model's working depth (glcic.inference.regions);
2. in each window the hole is filled with the model's mean pixel and the mask appended as a fourth
   channel; windows of one size run as one batch; each window's output is upscaled to full
   resolution where it was brought down, and only its own holes' pixels are kept;
   by default each window at full resolution also runs mirrored left to right, and the two outputs
   (the mirrored one mirrored back) are averaged: a test-time flip, which lowers the hole error of
   thin holes for twice the network's time; windows brought down run once, since there it did not
   change the fills (docs/diagnosis.md, section 8, has the measurements). A window
   that touches a side of the image gets `BORDER` px of edge-replicated pixels around it;
3. optionally, the paper's Poisson blending removes colour seams (glcic.inference.postprocess);
   optionally (`texture=True`, not the paper's), each hole then takes the fine detail of PatchMatch's
   fill from its window on top of the network's coarse fill (glcic.inference.texture);
4. the result is composited: every pixel outside the hole is the input's, bit for bit, with or
   without post-processing.

Any number of holes of any shape, images from 8 px to (at least) 8192 px per side, grey, RGB, RGBA
(alpha kept as is), 8 or 16 bits, as PIL images or numpy arrays; the result has the input's type,
shape and dtype.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from glcic.errors import GlcicError, MaskError
from glcic.image_io import MIN_SIDE
from glcic.inference.postprocess import blended_hole
from glcic.inference.texture import check_texture, textured_hole
from glcic.inference.regions import Window, plan_completion
from glcic.inference.model import CompletionModel
from glcic.models.completion import SIZE_MULTIPLE, network_input, network_reach
from glcic.pixels import DEFAULT_MASK_THRESHOLD, as_array, hole_from_mask, merge_rgb, split_rgb

BATCH_PIXELS = 2**22  # network input pixels per batch (about 4 Mpx), to bound memory
# Edge-replicated pixels around a network input that reaches a side of the image (a multiple of 4, so
# windows keep the network's grid): the network's output is poor within a few pixels of its own
# border, which a hole at the image's border otherwise sits on (docs/diagnosis.md, section 8).
BORDER = 8


class EmptyMaskWarning(UserWarning):
    """The mask has no hole pixels; the image is returned unchanged."""


class LargeMaskWarning(UserWarning):
    """The hole covers most of the image: the mask may be inverted."""


LARGE_MASK_FRACTION = 0.6


def working_depth(model: CompletionModel) -> float:
    """How deep a hole may be at the scale the network runs it: a quarter of the largest training
    hole side (16 px for the bundled model), half the depth of the deepest training holes. Most
    training holes are smaller than the largest, and on the validation photos (big photos and 256 px
    crops, rectangles and strokes) holes brought down to this depth came out as good or better than
    at the deepest training depth: +1.1 dB hole PSNR and -0.28 hole L1 on the big photos."""
    return model.config.hole_max / 4


class DeepHoleWarning(UserWarning):
    """native=True on a hole deeper than any the model was trained on."""


def _warn_if_deeper_than_trained(model: CompletionModel, hole: np.ndarray) -> None:
    """native=True runs every hole at full resolution: a hole deeper than the deepest training holes
    (half the largest training hole side) is out of what the network learned, and its fill turns to
    colour noise; say so, and what to do instead."""
    from glcic.inference.regions import hole_depths, label_holes

    count, labels, _ = label_holes(hole)
    deepest, trained = float(max(hole_depths(hole, labels, count))), model.config.hole_max / 2
    if deepest > trained:
        warnings.warn(f"a hole is {deepest:.0f} px deep, deeper than any the model was trained on ({trained:.0f} px): with native "
                      "scale its fill will be poor (colour noise, fringes); leave native off to bring it down to the model's scale",
                      DeepHoleWarning, stacklevel=3)


def predict(model: CompletionModel, rgb: np.ndarray, hole: np.ndarray, flip_average: bool = False, seed: int = 0,
            noise_scale: float | None = None) -> np.ndarray:
    """The network's raw output on a whole image, no windows: (H, W, 3) float32 in [0, 1] for rgb
    (H, W, 3) float32 and hole (H, W) bool. `seed`, `noise_scale`: the noise of a model with noise layers."""
    return _run_batch(model, [rgb], [hole], flip_average, seed=seed, noise_scale=noise_scale)[0]


def _run_batch(model: CompletionModel, rgbs: list[np.ndarray], holes: list[np.ndarray], flip_average: bool = False,
               border: int = BORDER, origins: list[tuple[int, int]] | None = None, seed: int = 0,
               noise_scale: float | None = None) -> list[np.ndarray]:
    """The network on same-sized images: each padded (edge) by `border` px on every side and to a
    multiple of 4, mean-filled, masked. With `flip_average`, each image also runs mirrored left to
    right (in the same batch), and the mean of the two outputs is returned. A model with noise
    layers gets the noise of each pixel's place in the image (`origins`: each image's top-left
    pixel there; glcic.inference.noise), from `seed`, times `noise_scale` (None: the model's own)."""
    height, width = holes[0].shape
    pad = ((border, border + (-height % SIZE_MULTIPLE)), (border, border + (-width % SIZE_MULTIPLE)))
    mean = torch.tensor(model.config.mean_pixel, dtype=torch.float32).view(1, 3, 1, 1)
    image = torch.from_numpy(np.stack([np.pad(rgb, pad + ((0, 0),), mode="edge") for rgb in rgbs])).permute(0, 3, 1, 2)  # (B, 3, H', W')
    hole = torch.from_numpy(np.stack([np.pad(h, pad, mode="edge") for h in holes])[:, None].astype(np.float32))  # (B, 1, H', W')
    noise = None
    if model.config.noise:
        from glcic.inference.noise import position_noise

        rows, columns = np.arange(hole.shape[2]) - border, np.arange(hole.shape[3]) - border
        scale = model.config.noise_scale if noise_scale is None else noise_scale
        noise = torch.from_numpy(np.stack([position_noise(model.config.noise, top + rows, left + columns, seed) * np.float32(scale)
                                           for top, left in origins or [(0, 0)] * len(rgbs)]))  # (B, N, H', W')
    inputs = network_input(image, hole, mean, noise)  # (B, 4 + N, H', W')
    if flip_average:  # mirrored back, the second half lines up with the first, padding included
        output = model.run(torch.cat([inputs, inputs.flip(3)]).numpy())  # (2B, 3, H', W')
        output = (output[: len(rgbs)] + output[len(rgbs) :, :, :, ::-1]) / 2
    else:
        output = model.run(inputs.numpy())  # (B, 3, H', W')
    inside = (slice(None), slice(border, border + height), slice(border, border + width))
    return [np.ascontiguousarray(o[inside].transpose(1, 2, 0)) for o in output]  # (H, W, 3) each


def _window_inputs(rgb: np.ndarray, hole: np.ndarray, window: Window, size: tuple[int, int]):
    """The window's pixels and hole, resized to `size` (h, w) when it runs below full resolution."""
    import cv2

    rows, cols = window.box.slices()
    window_rgb, window_hole = rgb[rows, cols], hole[rows, cols]
    if (window.box.height, window.box.width) == size:
        return window_rgb, window_hole
    small = (size[1], size[0])  # (w, h) for OpenCV
    small_hole = cv2.resize(window_hole.astype(np.float32), small, interpolation=cv2.INTER_AREA) > 0  # any coverage = hole
    return cv2.resize(window_rgb, small, interpolation=cv2.INTER_AREA), small_hole


def _working_size(window: Window) -> tuple[int, int]:
    if window.scale >= 1.0:
        return window.box.height, window.box.width
    return (max(MIN_SIDE, round(window.box.height * window.scale)), max(MIN_SIDE, round(window.box.width * window.scale)))


def predict_windows(model: CompletionModel, rgb: np.ndarray, hole: np.ndarray, windows: list[Window],
                    labels: np.ndarray, progress=None, flip_average: bool = False, origin: tuple[int, int] = (0, 0),
                    seed: int = 0, noise_scale: float | None = None) -> np.ndarray:
    """The network's completion of every hole, window by window (glcic.inference.regions).

    Windows that touch no side of the image (`inner`) run without the border. `origin`: where `rgb`
    sits in the image (its noise, for a model with noise layers). Returns the (H, W, 3) prediction,
    defined inside the hole, zero elsewhere."""
    import cv2

    prediction = np.zeros_like(rgb)
    by_size: dict[tuple[tuple[int, int], bool, int], list[Window]] = {}
    for window in windows:  # the flip only for windows at full resolution (see `complete`)
        key = (_working_size(window), flip_average and window.scale >= 1.0, 0 if window.inner else BORDER)
        by_size.setdefault(key, []).append(window)
    for (size, flip, border), group in by_size.items():
        per_batch = max(1, BATCH_PIXELS // (size[0] * size[1] * (2 if flip else 1)))
        for start in range(0, len(group), per_batch):
            chunk = group[start : start + per_batch]
            inputs = [_window_inputs(rgb, hole, window, size) for window in chunk]
            origins = [(origin[0] + window.box.top, origin[1] + window.box.left) for window in chunk]
            outputs = _run_batch(model, [i[0] for i in inputs], [i[1] for i in inputs], flip, border, origins, seed, noise_scale)
            if progress is not None:
                progress(len(chunk), len(windows))
            for window, output in zip(chunk, outputs):
                if output.shape[:2] != (window.box.height, window.box.width):
                    output = np.clip(cv2.resize(output, (window.box.width, window.box.height), interpolation=cv2.INTER_CUBIC), 0, 1)
                own = window.own_holes(labels)
                prediction[window.box.slices()][own] = output[own]
    return prediction


def complete(
    model: CompletionModel,
    image,
    mask,
    *,
    postprocess: bool = True,
    native: bool = False,
    flip_average: bool | None = None,
    max_side: int | None = None,
    threshold: float = DEFAULT_MASK_THRESHOLD,
    invert_mask: bool = False,
    texture: bool = False,
    seed: int = 0,
    noise_scale: float | None = None,
    progress=None,
):
    """Complete the hole of `image` given by `mask`; returns the completed image in the input's type.

    image: PIL image or numpy array ((H, W) grey, (H, W, 2|3|4), uint8/uint16/float in [0, 1], RGB order).
    mask: PIL image or array of the same height and width; values >= `threshold` (after scaling to
        [0, 1]) are hole, as in the authors' release (white = hole); `invert_mask` flips that. A bool
        array is used as is (True = hole).
    postprocess: the paper's Poisson blending, inside the hole only.
    native: every hole at full resolution, however deep (by default, holes deeper than the model's
        training holes run on a copy of their window brought down to the model's working depth).
    flip_average: for windows at full resolution, average the network's output with its output on
        the window mirrored left to right (twice the network's time, a lower hole error); False runs
        the network once everywhere; None (the default): on for a model without noise layers, off
        for one with them (averaging two textures washes them out).
    max_side: no window runs through the network larger than this on its longer side.
    texture: add the photo's own fine texture to each hole: PatchMatch's detail finer than 4 px on
        the network's fill (glcic.inference.texture; needs the pypatchmatch package).
    seed: seeds `texture` and the noise of a model with noise layers: the same seed, the same fill.
    noise_scale: for a model with noise layers, the noise's strength: 1 as trained, 0 none (the
        fill without grain); None: the model's own (`glcic info MODEL`).
    progress: called as progress(windows_done_now, windows_in_all) after each batch of windows.
    """
    array = as_array(image)
    hole = hole_from_mask(mask, threshold, invert_mask)
    height, width = array.shape[:2]
    if hole.shape != (height, width):
        raise MaskError(f"mask is {hole.shape[1]}x{hole.shape[0]} px but the image is {width}x{height} px; they must match")
    if min(height, width) < MIN_SIDE:
        raise GlcicError(f"image is {width}x{height} px; each side must be at least {MIN_SIDE} px")
    if noise_scale is not None:
        from glcic.values import check_value

        try:
            check_value("noise scale", noise_scale, "noise_scale")
        except ValueError as error:
            raise GlcicError(str(error)) from None
    if max_side is not None and max_side < MIN_SIDE:
        raise GlcicError(f"max_side must be at least {MIN_SIDE} px, got {max_side}")
    if not hole.any():
        warnings.warn("the mask has no hole pixels; returning the image unchanged", EmptyMaskWarning, stacklevel=2)
        return _like_input(image, array.copy())
    if hole.all():
        raise MaskError("the mask covers the whole image; there is nothing to complete the hole from")
    if hole.mean() > LARGE_MASK_FRACTION:
        warnings.warn(f"the hole covers {hole.mean():.0%} of the image; if white marks what to keep, the mask is inverted: "
                      "use --invert-mask (invert_mask=True)", LargeMaskWarning, stacklevel=2)

    if native:
        _warn_if_deeper_than_trained(model, hole)
    if texture:
        check_texture()  # before the network's time is spent

    plan = plan_completion(hole, None if native else working_depth(model), network_reach(), native, max_side)
    union = plan.union.slices()
    rgb, union_hole = split_rgb(array[union]), hole[union]  # (h, w, 3) float32 in [0, 1]; (h, w)
    if flip_average is None:
        flip_average = not model.config.noise
    completed = predict_windows(model, rgb, union_hole, plan.windows, plan.labels, progress, flip_average,
                                (plan.union.top, plan.union.left), seed, noise_scale)
    for window in plan.windows if postprocess or texture else ():  # one window's holes never touch another's
        box, own = window.box.slices(), window.own_holes(plan.labels)
        if postprocess:
            completed[box][own] = blended_hole(rgb[box], own, completed[box])
        if texture:
            filled = np.where(union_hole[box][..., None], completed[box], rgb[box])  # every hole of the box filled
            completed[box][own] = textured_hole(filled, own, seed)
    result = array.copy()
    result[union] = merge_rgb(array[union], completed, union_hole)
    return _like_input(image, result)


def _like_input(image, array: np.ndarray):
    """`array` as the same kind of object the user passed in (PIL image or numpy array)."""
    if isinstance(image, np.ndarray):
        return array.reshape(image.shape) if array.size == image.size else array
    from PIL import Image

    if array.dtype == np.uint16:
        return Image.fromarray(array) if array.ndim == 2 else Image.fromarray(np.rint(array / 257.0).astype(np.uint8))
    return Image.fromarray(array)
