"""Training configuration (section 3.4, Algorithm 1) and its named presets.

`TrainConfig` is frozen and saved as `config.json` in every run folder before the first step; a
resumed run reads it back, so a run folder always says how it was made. Presets:

- `paper`: the general model of section 3.4: 256 px crops, holes 96-128, local 128, global 256,
  batch 96, T_C = 90,000, T_D = 10,000, T_train = 500,000, ADADELTA.
- `faces`: section 4.5: 160 px crops, holes 48-96, local 96, global 160 (one conv fewer).
- `center`: section 4.1.2: 128 px images with the 64 px centre square missing.
- `cpu`: sized from measurements on a 2-core CPU (see the README's training table): half width,
  128 px crops, holes 48-64 (the paper's hole-to-crop ratio), local 64, global 128, batch 8,
  T_C / T_D / T_train = 6k / 1k / 10k (about 2.5 hours in fp32 on 2 cores).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

TRAIN_FORMAT_VERSION = 1  # of config.json and of training checkpoints
OPTIMIZERS = ("adadelta", "adam")
GENERATOR_LOSSES = ("non_saturating", "saturating")
PRECISIONS = ("auto", "fp32", "bf16")  # auto: bf16 on GPUs and AMX CPUs, fp32 elsewhere (glcic.devices)
DISCRIMINATOR_CHOICES = ("both", "global", "local", "none")  # Fig. 6 ablation


@dataclass(frozen=True)
class TrainConfig:
    # data (section 3.4)
    data: str = ""  # folder of training photos, searched recursively
    validation_data: str | None = None  # folder of the fixed sample-sheet images; None: from `data`
    image_size: int = 256  # training crop side
    resize_min: int = 256  # the smallest edge is resized to a random value in [resize_min, resize_max]
    resize_max: int = 384
    hole_sampler: str = "rectangle"  # see glcic.masks; "center" for section 4.1.2
    hole_min: int = 96  # hole width and height drawn independently in [hole_min, hole_max]
    hole_max: int = 128
    mean_pixel: tuple[float, float, float] | None = None  # None: computed from the training set at start
    augment: bool = False  # mirror images and jitter colours mildly (glcic.data.augment); the paper does not
    # networks (Tables 2 and 3)
    width: float = 1.0  # completion network channel multiplier (1.0 = Table 2)
    discriminator_width: float = 1.0  # context discriminators' channel multiplier
    local_size: int = 128  # local discriminator input, centred on each sample's hole
    global_size: int = 256  # the whole image is resized to this for the global discriminator
    discriminators: str = "both"  # Fig. 6 ablation: both, global, local, none (weighted MSE only)
    # Algorithm 1
    completion_iterations: int = 90_000  # T_C: completion network alone, weighted MSE
    discriminator_iterations: int = 10_000  # T_D: discriminators alone, completion network fixed
    total_iterations: int = 500_000  # T_train: the joint phase runs until this iteration
    batch_size: int = 96  # per process; the global batch is batch_size x world size
    alpha: float = 0.0004  # weight of the adversarial loss in the joint objective
    generator_loss: str = "non_saturating"  # -log D(C(x)); "saturating" is log(1 - D(C(x))), Eq. 3 literally
    balance_gradients: bool = False  # scale the adversarial term so its gradient norm matches the MSE's
    balance_ratio: float = 1.0  # target |grad adversarial| / |grad MSE| when balancing
    optimizer: str = "adadelta"  # the paper's; "adam" as an option
    learning_rate: float = 1.0  # ADADELTA's default; use about 2e-4 for Adam
    # runtime
    seed: int = 0
    workers: int = 2  # data-loader worker processes per training process
    precision: str = "fp32"  # bf16: autocast (fast with AMX or on GPU; emulated and slow without)
    channels_last: bool = False
    sync_batchnorm: bool = False  # batch statistics over the global batch under torchrun
    checkpoint_every: int = 500  # iterations between checkpoints (also written on SIGINT/SIGTERM)
    sample_every: int = 500  # iterations between sample sheets
    snapshot_every: int = 0  # iterations between model files kept in RUN/snapshots (0: none), to choose on validation
    log_every: int = 10  # iterations between metrics.jsonl / TensorBoard records
    sample_count: int = 4  # fixed validation images in each sample sheet
    fine_tune_from: str | None = None  # model file: the completion network starts from it (section 4.5)
    preset: str = "paper"  # the preset these values started from (informational)
    format_version: int = TRAIN_FORMAT_VERSION

    def __post_init__(self):
        _positive = ("image_size", "resize_min", "resize_max", "hole_min", "hole_max", "local_size",
                     "global_size", "batch_size", "checkpoint_every", "sample_every", "log_every")
        for name in _positive:
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("completion_iterations", "discriminator_iterations", "workers", "sample_count", "seed", "snapshot_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
        if self.image_size % 4:
            raise ValueError(f"image_size must be a multiple of 4 (the network downsamples twice), got {self.image_size}")
        if not self.image_size <= self.resize_min <= self.resize_max:
            raise ValueError(f"need image_size <= resize_min <= resize_max, got {self.image_size}, {self.resize_min}, {self.resize_max}")
        if not 0 < self.hole_min <= self.hole_max <= self.image_size:
            raise ValueError(f"need 0 < hole_min <= hole_max <= image_size, got {self.hole_min}, {self.hole_max}, {self.image_size}")
        from glcic.config import MAX_FEATURE_SIDE

        for name, used in (("local_size", self.discriminators in ("both", "local")), ("global_size", self.discriminators in ("both", "global"))):
            if used and getattr(self, name) <= MAX_FEATURE_SIDE:
                raise ValueError(f"{name} must be larger than {MAX_FEATURE_SIDE} px (each context discriminator halves its "
                                 f"input until it is at most {MAX_FEATURE_SIDE} px), got {getattr(self, name)}")
        if self.local_size > self.image_size:
            raise ValueError(f"local_size {self.local_size} is larger than image_size {self.image_size}")
        if self.total_iterations < self.completion_iterations + self.discriminator_iterations:
            raise ValueError(
                f"total_iterations ({self.total_iterations}) must be at least completion_iterations + "
                f"discriminator_iterations ({self.completion_iterations} + {self.discriminator_iterations})"
            )
        for name, choices in (("optimizer", OPTIMIZERS), ("generator_loss", GENERATOR_LOSSES),
                              ("precision", PRECISIONS), ("discriminators", DISCRIMINATOR_CHOICES)):
            if getattr(self, name) not in choices:
                raise ValueError(f"{name} must be one of {list(choices)}, got {getattr(self, name)!r}")
        for name in ("width", "discriminator_width", "learning_rate", "balance_ratio"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        if self.alpha < 0:
            raise ValueError(f"alpha must be >= 0, got {self.alpha}")
        if self.mean_pixel is not None:
            mean = tuple(float(v) for v in self.mean_pixel)
            if len(mean) != 3 or not all(0 <= v <= 1 for v in mean):
                raise ValueError(f"mean_pixel must be 3 values in [0, 1], got {self.mean_pixel!r}")
            object.__setattr__(self, "mean_pixel", mean)
        from glcic.masks import list_hole_samplers

        if self.hole_sampler not in list_hole_samplers():
            raise ValueError(f"unknown hole sampler {self.hole_sampler!r}; choose one of {list_hole_samplers()}")

    @property
    def use_global(self) -> bool:
        return self.discriminators in ("both", "global")

    @property
    def use_local(self) -> bool:
        return self.discriminators in ("both", "local")

    @property
    def adversarial(self) -> bool:
        return self.discriminators != "none"

    def data_config(self):
        """The data pipeline's part of this config (a `glcic.data.DataConfig`)."""
        from glcic.data import DataConfig

        return DataConfig(self.image_size, self.resize_min, self.resize_max, self.hole_sampler, self.hole_min,
                          self.hole_max, self.local_size, self.augment)

    def replace(self, **changes) -> "TrainConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        version = data.get("format_version")
        if not isinstance(version, int) or version > TRAIN_FORMAT_VERSION:
            raise ValueError(f"training config version {version!r} is newer than this glcic reads ({TRAIN_FORMAT_VERSION})")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown training config keys {unknown}")
        if data.get("mean_pixel") is not None:
            data = {**data, "mean_pixel": tuple(data["mean_pixel"])}
        return cls(**data)


PRESETS: dict[str, TrainConfig] = {
    "paper": TrainConfig(preset="paper"),
    "faces": TrainConfig(
        preset="faces", image_size=160, resize_min=160, resize_max=240, hole_min=48, hole_max=96,
        local_size=96, global_size=160,
    ),
    "center": TrainConfig(
        preset="center", image_size=128, resize_min=128, resize_max=192, hole_sampler="center",
        hole_min=64, hole_max=64, local_size=64, global_size=128,
    ),
    "cpu": TrainConfig(
        preset="cpu", image_size=128, resize_min=128, resize_max=192, hole_min=48, hole_max=64,
        local_size=64, global_size=128, width=0.5, discriminator_width=0.5, batch_size=8,
        completion_iterations=6_000, discriminator_iterations=1_000, total_iterations=10_000,
        checkpoint_every=250, sample_every=500,
    ),
}


def list_presets() -> list[str]:
    return list(PRESETS)


def preset(name: str, **overrides) -> TrainConfig:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {list_presets()}")
    return PRESETS[name].replace(**overrides)
