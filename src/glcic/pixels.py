"""Conversions between what users hand us (PIL images, numpy arrays of any common layout) and the
float RGB in [0, 1] that the network sees, and back, without touching pixels we do not change.

Supported layouts (numpy, RGB order): (H, W) grey, (H, W, 1) grey, (H, W, 2) grey + alpha,
(H, W, 3) RGB, (H, W, 4) RGBA; dtype uint8, uint16, or float32/float64 in [0, 1].
"""

from __future__ import annotations

import numpy as np

from glcic.errors import ImageError, MaskError

LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601, as PIL's "L" conversion
DEFAULT_MASK_THRESHOLD = 0.2  # the authors' release: a mask value >= 0.2 (in [0, 1]) is hole


def pil_to_array(image) -> np.ndarray:
    """A PIL image as a numpy array in one of the supported layouts (palette, CMYK, ... become RGB[A])."""
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return np.asarray(image, dtype=np.uint16)
    if mode == "I":
        values = np.asarray(image)
        if values.min() < 0 or values.max() > 65535:
            raise ImageError("32-bit integer images are supported only with values in [0, 65535]")
        return values.astype(np.uint16)
    if mode == "F":
        raise ImageError("floating-point (mode F) images are not supported; convert to 8 or 16 bit")
    if mode in ("P", "PA"):
        image = image.convert("RGBA" if mode == "PA" or "transparency" in image.info else "RGB")
    elif mode == "1":
        image = image.convert("L")
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in mode else "RGB")
    return np.asarray(image)


def as_array(image) -> np.ndarray:
    """Validate a PIL image or numpy array and return it as a numpy array (no copy when possible)."""
    if hasattr(image, "mode") and hasattr(image, "size"):
        image = pil_to_array(image)
    if not isinstance(image, np.ndarray):
        raise ImageError(f"expected a PIL image or a numpy array, got {type(image).__name__}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (2, 3, 4))):
        raise ImageError(f"image array must be (H, W) or (H, W, C) with C in 1-4, got shape {image.shape}")
    if image.dtype not in (np.uint8, np.uint16, np.float32, np.float64):
        raise ImageError(f"image dtype must be uint8, uint16, float32 or float64, got {image.dtype}")
    if image.dtype.kind == "f" and not (np.isfinite(image).all() and image.min() >= 0 and image.max() <= 1):
        raise ImageError("float images must hold finite values in [0, 1]")
    return image


def scale(array: np.ndarray) -> float:
    """The value of full intensity for an array's dtype."""
    return {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(array.dtype, 1.0)


def split_rgb(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) float32 RGB in [0, 1] from any supported layout (alpha dropped, grey repeated)."""
    values = image.astype(np.float32) / scale(image)
    if values.ndim == 2:
        return np.repeat(values[:, :, None], 3, axis=2)
    if values.shape[2] == 2:
        return np.repeat(values[:, :, :1], 3, axis=2)
    return np.ascontiguousarray(values[:, :, :3])


def merge_rgb(original: np.ndarray, rgb: np.ndarray, region: np.ndarray) -> np.ndarray:
    """`original` with the pixels of `region` replaced by `rgb` (float, [0, 1]), in the original's layout.

    Pixels outside `region` and the alpha channel are copied bit for bit; grey images get the luma
    of `rgb`.
    """
    out = original.copy()
    new = np.clip(rgb[region], 0.0, 1.0)  # (N, 3)
    grey = original.ndim == 2 or original.shape[2] == 2
    if grey:
        new = new @ LUMA  # (N,)
    if original.dtype.kind != "f":
        new = np.rint(new * scale(original))
    new = new.astype(original.dtype)
    if original.ndim == 2:
        out[region] = new
    elif grey:
        out[region, 0] = new
    else:
        out[region, :3] = new
    return out


def mask_values(mask) -> np.ndarray:
    """A mask (PIL image or array, any supported layout, or bool) as float32 (H, W) values in [0, 1].

    Colour masks are reduced to their luma; a mask with alpha counts transparent pixels as 0
    (not hole), so strokes painted on a transparent layer work.
    """
    if isinstance(mask, np.ndarray) and mask.dtype == bool:
        if mask.ndim == 3 and mask.shape[2] == 1:
            mask = mask[:, :, 0]
        if mask.ndim != 2:
            raise MaskError(f"a boolean mask must be (H, W), got shape {mask.shape}")
        return mask.astype(np.float32)
    try:
        mask = as_array(mask)
    except ImageError as error:
        raise MaskError(f"unusable mask: {error}") from None
    values = mask.astype(np.float32) / scale(mask)
    if values.ndim == 2:
        return values
    alpha = values[:, :, -1] if values.shape[2] in (2, 4) else 1.0
    colour = values[:, :, 0] if values.shape[2] <= 2 else values[:, :, :3] @ LUMA
    return colour * alpha


def hole_from_mask(mask, threshold: float = DEFAULT_MASK_THRESHOLD, invert: bool = False) -> np.ndarray:
    """Boolean (H, W) hole (True = pixel to complete): mask value >= threshold, or < threshold if inverted."""
    if not 0.0 < threshold <= 1.0:
        raise MaskError(f"mask threshold must be in (0, 1], got {threshold}")
    values = mask_values(mask)
    return values < threshold if invert else values >= threshold
