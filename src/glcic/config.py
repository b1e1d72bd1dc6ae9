"""Frozen configuration dataclasses, saved as JSON with every model file.

`ModelConfig` describes an inference model: the completion network's architecture and width, and
what it was trained with (mean pixel, resolution, holes). The context discriminators' sizes live with
them, in `glcic.models.discriminators.DiscriminatorConfig`.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ASSETS = Path(__file__).parent / "assets"
# The models that ship with glcic, by name (each has its card, assets/MODEL_CARD_NAME.md). `accurate`
# has the smallest hole error (reconstruction loss only, the paper's "weighted MSE only" ablation).
# A model trained against the context discriminators joins it as `realistic` once one passes the
# checks of docs/adversarial.md; the first candidate did not (a grid at 100 %).
BUNDLED_MODELS = {"accurate": ASSETS / "glcic-accurate.safetensors"}
DEFAULT_MODEL = "accurate"  # what --model defaults to; the README says why


def installed_models() -> list[str]:
    """The bundled models this installation holds, the default first (what `glcic serve` offers)."""
    return [DEFAULT_MODEL, *(name for name, path in BUNDLED_MODELS.items() if name != DEFAULT_MODEL and path.is_file())]


CONFIG_KEY = "glcic.config"  # where a model file (.safetensors or .onnx) holds its ModelConfig as JSON
MAX_SIDE = 16384  # px: no image side, crop or hole of a model or of a run is larger (glcic.values uses it too)
MAX_NOISE_SCALE = 2.0  # a model's noise at twice its trained strength is already all grain (glcic.values uses it too)
MAX_WIDTH = 4.0  # a width multiplier beyond this is not a model anyone trained: refused before building it
MODEL_FORMAT_VERSION = 3  # bump when a model file changes in a way old readers cannot load (3: `noise`)
# Keys that files of an earlier glcic hold and this one no longer uses (read and dropped):
# working_short_side (format 2) recorded the training resize range's middle; completion never used it.
DROPPED_KEYS = ("working_short_side",)


def checked_mean_pixel(value) -> tuple[float, float, float]:
    """A mean pixel as 3 floats in [0, 1] (the hole's fill), or ValueError: for models, runs and samplers."""
    try:
        mean = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        mean = ()
    if len(mean) != 3 or not all(0.0 <= v <= 1.0 for v in mean):
        raise ValueError(f"mean_pixel must be 3 values in [0, 1], got {str(value)[:60]}")
    return mean


def check_hole_range(hole_min, hole_max, largest: int = MAX_SIDE, largest_name: str | None = None) -> None:
    """Hole sides: integers with 0 < hole_min <= hole_max <= largest, or ValueError naming the values."""
    if not (isinstance(hole_min, int) and isinstance(hole_max, int) and not isinstance(hole_min, bool)
            and 0 < hole_min <= hole_max <= largest):
        raise ValueError(f"need integers 0 < hole_min <= hole_max <= {largest_name or largest}, "
                         f"got {str(hole_min)[:20]}, {str(hole_max)[:20]}")


@dataclass(frozen=True)
class ModelConfig:
    architecture: str = "CompletionNetwork"  # the only one so far; kept so files say what they hold
    width: float = 1.0  # channel multiplier; 1.0 is Table 2 (6,072,131 parameters)
    noise: int = 0  # decoder layers with a noise input (glcic.models.completion.NoiseInjection); 0 is Table 2
    noise_scale: float = 1.0  # completion multiplies the noise maps by this (trained at 1; less is a fainter grain, 0 none)
    mean_pixel: tuple[float, float, float] = (0.5, 0.5, 0.5)  # RGB in [0, 1]; holes are filled with it
    image_size: int = 256  # training crop side (paper: 256)
    hole_sampler: str = "rectangle"  # holes seen in training (see glcic.masks)
    hole_min: int = 96  # hole side range in training, px (paper: 96-128)
    hole_max: int = 128
    format_version: int = MODEL_FORMAT_VERSION
    notes: dict[str, Any] = field(default_factory=dict)  # free-form provenance: data, iterations, ...

    def __post_init__(self):
        if self.architecture != "CompletionNetwork":
            raise ValueError(f"unknown architecture {self.architecture!r}; expected 'CompletionNetwork'")
        if not (isinstance(self.width, (int, float)) and not isinstance(self.width, bool) and 0 < self.width <= MAX_WIDTH):
            raise ValueError(f"width must be a number in (0, {MAX_WIDTH}], got {self.width!r}")
        if not (isinstance(self.noise, int) and not isinstance(self.noise, bool) and 0 <= self.noise <= 4):
            raise ValueError(f"noise must be a whole number of decoder layers in 0-4, got {str(self.noise)[:20]}")
        if not (isinstance(self.noise_scale, (int, float)) and not isinstance(self.noise_scale, bool)
                and 0 <= self.noise_scale <= MAX_NOISE_SCALE):
            raise ValueError(f"noise scale must be a number in [0, {MAX_NOISE_SCALE:g}], got {str(self.noise_scale)[:20]}")
        object.__setattr__(self, "mean_pixel", checked_mean_pixel(self.mean_pixel))
        check_hole_range(self.hole_min, self.hole_max)
        if not (isinstance(self.image_size, int) and 0 < self.image_size <= MAX_SIDE):
            raise ValueError(f"image_size must be an integer in 1-{MAX_SIDE}, got {str(self.image_size)[:20]}")
        if not isinstance(self.notes, dict):
            raise ValueError("notes must be a JSON object")

    @classmethod
    def from_metadata(cls, metadata: dict, source, kind: str) -> "ModelConfig":
        """The config a model file (`kind`: safetensors or ONNX) holds under CONFIG_KEY, or a
        ModelFileError that names the file."""
        from glcic.errors import ModelFileError

        if CONFIG_KEY not in metadata:
            raise ModelFileError(f"{source} is a{'n' if kind[0] in 'AEIOU' else ''} {kind} file but not a glcic model (no {CONFIG_KEY!r} metadata)")
        try:
            return cls.from_json(metadata[CONFIG_KEY])
        except (ValueError, TypeError) as error:
            raise ModelFileError(f"{source} has an invalid model config: {error}") from None

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "ModelConfig":
        try:
            data = json.loads(text)
        except RecursionError:
            raise ValueError("model config is nested too deeply") from None
        if not isinstance(data, dict):
            raise ValueError("model config must be a JSON object")
        version = data.get("format_version")
        if not isinstance(version, int) or version > MODEL_FORMAT_VERSION:
            raise ValueError(
                f"model format version {version!r} is not supported by this glcic "
                f"(it reads versions up to {MODEL_FORMAT_VERSION}); upgrade glcic"
            )
        data = {key: value for key, value in data.items() if key not in DROPPED_KEYS}
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown model config keys {unknown}; known: {sorted(known)}")
        return cls(**data)
