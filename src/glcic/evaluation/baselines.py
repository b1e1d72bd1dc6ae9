"""Completion methods compared by `glcic evaluate`, as a registry.

Each method maps (image (H, W, 3) uint8 RGB, hole (H, W) bool, context) to an (H, W, 3) uint8
image; `run_method` then composites it so that every pixel outside the hole is the input's. A
method whose package is not installed, or that needs a model when none was given, is reported as
skipped with the reason, never a crash.

- `glcic` / `glcic_raw`: the model, with and without the paper's post-processing (Poisson blending);
- `glcic_NAME` for each bundled model (`glcic_accurate`): that model by name, with post-processing
  (to compare bundled models in one run, on the same pairs, with paired differences);
- `glcic_texture`: the model with post-processing, then `--texture` (glcic.inference.texture:
  PatchMatch's detail finer than 4 px on the model's fill);
- `glcic_whole`: the model on the whole image brought down so that the hole is as deep as the model's
  working depth, the fill upscaled (how completion worked before hole-centred windows);
- `telea`, `navier_stokes`: OpenCV's `cv2.inpaint` (Telea 2004; Bertalmio et al. 2001), radius 5;
- `biharmonic`: scikit-image `inpaint_biharmonic`;
- `patchmatch`: PatchMatch (Barnes et al. 2009) from the `pypatchmatch` package, patch radius 3;
- `mean_fill`: the mean colour of the image's known pixels.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from glcic.utils import Registry


@dataclass
class Context:
    model: object | None = None  # a CompletionModel, for the glcic methods
    seed: int = 0  # for methods with randomness (PatchMatch)
    bundled: dict = field(default_factory=dict)  # bundled models loaded so far, by name


@dataclass(frozen=True)
class Method:
    name: str
    run: Callable[[np.ndarray, np.ndarray, Context], np.ndarray]
    requires: tuple[str, ...] = ()  # importable modules it needs
    needs_model: bool = False
    description: str = ""
    bundled: str | None = None  # the bundled model it runs, by name


_METHODS = Registry("method")


def register_method(name: str, requires: tuple[str, ...] = (), needs_model: bool = False, description: str = ""):
    def decorate(function):
        _METHODS.register(name, Method(name, function, requires, needs_model, description))
        return function

    return decorate


def list_methods() -> list[str]:
    return _METHODS.names()


def default_methods() -> list[str]:
    """What an evaluation runs unless told: every method but the named bundled models (`glcic` is the model given)."""
    return [name for name, method in _METHODS.items() if method.bundled is None]


def get_method(name: str) -> Method:
    return _METHODS.choose(name)


def unavailable_reason(method: Method, context: Context) -> str | None:
    """Why `method` cannot run here (a missing package, no model), or None."""
    missing = [module for module in method.requires if importlib.util.find_spec(module) is None]
    if missing:
        return f"package {', '.join(missing)} is not installed"
    if method.needs_model and context.model is None:
        return "no --model given"
    if method.bundled is not None:
        from glcic.config import BUNDLED_MODELS

        if not BUNDLED_MODELS[method.bundled].is_file():
            return f"the bundled model {method.bundled} is not in this installation"
    return None


def run_method(method: Method, image: np.ndarray, hole: np.ndarray, context: Context) -> np.ndarray:
    """The method's completion, composited: outside the hole, exactly the input."""
    result = np.asarray(method.run(image, hole, context))
    if result.shape != image.shape or result.dtype != np.uint8:
        raise RuntimeError(f"method {method.name} returned {result.shape} {result.dtype}, expected {image.shape} uint8")
    return np.where(hole[..., None], result, image)  # inpainted = hole * prediction + (1 - hole) * image


@register_method("glcic_whole", needs_model=True, description="the model on the whole image brought down, fill upscaled")
def _glcic_whole(image, hole, context):
    import cv2

    from glcic.inference.complete import complete, working_depth
    from glcic.inference.regions import hole_depths, label_holes

    count, labels, _ = label_holes(hole)
    factor = min(1.0, working_depth(context.model) / max(hole_depths(hole, labels, count)))
    if factor >= 1.0:
        return complete(context.model, image, hole, native=True)
    size = (max(8, round(image.shape[1] * factor)), max(8, round(image.shape[0] * factor)))
    small_hole = cv2.resize(hole.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0
    small = complete(context.model, cv2.resize(image, size, interpolation=cv2.INTER_AREA), small_hole, native=True)
    return cv2.resize(small, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_CUBIC)


@register_method("glcic", needs_model=True, description="the model with the paper's post-processing (Poisson blending)")
def _glcic(image, hole, context):
    from glcic.inference.complete import complete

    return complete(context.model, image, hole, postprocess=True)


def _bundled_method(name: str) -> None:
    def run(image, hole, context):
        from glcic.inference.complete import complete
        from glcic.inference.model import load_model

        if name not in context.bundled:
            context.bundled[name] = load_model(name)
        return complete(context.bundled[name], image, hole, postprocess=True)

    _METHODS.register(f"glcic_{name}", Method(f"glcic_{name}", run, description=f"the bundled model {name}, with post-processing",
                                              bundled=name))


def _register_bundled_methods() -> None:
    from glcic.config import BUNDLED_MODELS

    for name in BUNDLED_MODELS:
        _bundled_method(name)


_register_bundled_methods()


@register_method("glcic_texture", needs_model=True, requires=("patchmatch",),
                 description="the model with post-processing, then PatchMatch's fine detail on its fill (--texture)")
def _glcic_texture(image, hole, context):
    from glcic.inference.complete import complete

    return complete(context.model, image, hole, postprocess=True, texture=True, seed=context.seed)


@register_method("glcic_raw", needs_model=True, description="the model, no post-processing")
def _glcic_raw(image, hole, context):
    from glcic.inference.complete import complete

    return complete(context.model, image, hole, postprocess=False)


def _opencv(image, hole, flag):
    import cv2

    mask = hole.astype(np.uint8) * 255
    return cv2.cvtColor(cv2.inpaint(cv2.cvtColor(image, cv2.COLOR_RGB2BGR), mask, 5, flag), cv2.COLOR_BGR2RGB)


@register_method("telea", requires=("cv2",), description="OpenCV fast marching (Telea 2004)")
def _telea(image, hole, context):
    import cv2

    return _opencv(image, hole, cv2.INPAINT_TELEA)


@register_method("navier_stokes", requires=("cv2",), description="OpenCV Navier-Stokes (Bertalmio et al. 2001)")
def _navier_stokes(image, hole, context):
    import cv2

    return _opencv(image, hole, cv2.INPAINT_NS)


@register_method("biharmonic", requires=("skimage",), description="scikit-image biharmonic inpainting")
def _biharmonic(image, hole, context):
    from skimage.restoration import inpaint_biharmonic

    filled = inpaint_biharmonic(image.astype(np.float64) / 255, hole, channel_axis=-1)
    return np.clip(np.rint(filled * 255), 0, 255).astype(np.uint8)


@register_method("patchmatch", requires=("patchmatch",), description="PatchMatch (pypatchmatch), patch radius 3")
def _patchmatch(image, hole, context):
    from patchmatch import patch_match

    patch_match.set_random_seed(context.seed)
    return np.asarray(patch_match.inpaint(image, hole.astype(np.uint8), patch_size=3))


@register_method("mean_fill", description="the mean colour of the known pixels")
def _mean_fill(image, hole, context):
    result = image.copy()
    result[hole] = np.rint(image[~hole].reshape(-1, 3).mean(axis=0)).astype(np.uint8)
    return result
