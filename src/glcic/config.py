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
MAX_SIDE = 16384  # px: no image side, crop or hole of a model or of a run is larger (glcic.values uses it too)
MAX_WIDTH = 4.0  # a width multiplier beyond this is not a model anyone trained: refused before building it
MODEL_FORMAT_VERSION = 2  # bump when a model file changes in a way old readers cannot load (2: working_short_side)


@dataclass(frozen=True)
class ModelConfig:
    architecture: str = "CompletionNetwork"  # the only one so far; kept so files say what they hold
    width: float = 1.0  # channel multiplier; 1.0 is Table 2 (6,072,131 parameters)
    mean_pixel: tuple[float, float, float] = (0.5, 0.5, 0.5)  # RGB in [0, 1]; holes are filled with it
    image_size: int = 256  # training crop side (paper: 256)
    hole_sampler: str = "rectangle"  # holes seen in training (see glcic.masks)
    hole_min: int = 96  # hole side range in training, px (paper: 96-128)
    hole_max: int = 128
    working_short_side: int | None = None  # the middle of the training resize range (informational; completion scales each hole's window by its depth against hole_max / 4)
    format_version: int = MODEL_FORMAT_VERSION
    notes: dict[str, Any] = field(default_factory=dict)  # free-form provenance: data, iterations, ...

    def __post_init__(self):
        if self.architecture != "CompletionNetwork":
            raise ValueError(f"unknown architecture {self.architecture!r}; expected 'CompletionNetwork'")
        if not (isinstance(self.width, (int, float)) and not isinstance(self.width, bool) and 0 < self.width <= MAX_WIDTH):
            raise ValueError(f"width must be a number in (0, {MAX_WIDTH}], got {self.width!r}")
        mean = tuple(float(v) for v in self.mean_pixel)
        if len(mean) != 3 or not all(0.0 <= v <= 1.0 for v in mean):
            raise ValueError(f"mean_pixel must be 3 values in [0, 1], got {self.mean_pixel!r}")
        object.__setattr__(self, "mean_pixel", mean)
        if not (isinstance(self.hole_min, int) and isinstance(self.hole_max, int) and 0 < self.hole_min <= self.hole_max <= MAX_SIDE):
            raise ValueError(f"need integers 0 < hole_min <= hole_max <= {MAX_SIDE}, got {str(self.hole_min)[:20]}, {str(self.hole_max)[:20]}")
        if not (isinstance(self.image_size, int) and 0 < self.image_size <= MAX_SIDE):
            raise ValueError(f"image_size must be an integer in 1-{MAX_SIDE}, got {str(self.image_size)[:20]}")
        if not isinstance(self.notes, dict):
            raise ValueError("notes must be a JSON object")
        if self.working_short_side is not None and not (isinstance(self.working_short_side, int) and 8 <= self.working_short_side <= MAX_SIDE):
            raise ValueError(f"working_short_side must be None or an integer >= 8, got {self.working_short_side!r}")

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
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown model config keys {unknown}; known: {sorted(known)}")
        return cls(**data)
