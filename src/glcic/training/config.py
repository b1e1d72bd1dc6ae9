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
from dataclasses import dataclass, field
from typing import Any

from glcic.config import check_hole_range, checked_mean_pixel
from glcic.devices import TRAINING_PRECISIONS as PRECISIONS
from glcic.models.discriminator_config import NORMS
from glcic.values import VALUE_KINDS, check_value, parse_value  # noqa: F401 - parse_value re-exported

TRAIN_FORMAT_VERSION = 1  # of config.json and of training checkpoints
OPTIMIZERS = ("adadelta", "adam")
GENERATOR_LOSSES = ("non_saturating", "saturating", "relativistic")
RECONSTRUCTION_LOSSES = ("mse", "l1")  # glcic.losses.RECONSTRUCTION_LOSSES (not imported here: it loads torch)
DISCRIMINATOR_CHOICES = ("both", "global", "local", "none")  # Fig. 6 ablation
DISCRIMINATOR_BATCHES = ("separate", "mixed")
LOCAL_BOXES = ("hole", "pixel")
GRID_PERIODS = (8, 16)  # glcic.losses.GRID_PERIODS (not imported here: it loads torch)


def _hole_sampler_names() -> list[str]:
    from glcic.masks import list_hole_samplers

    return list_hole_samplers()


def option(default, help: str, kind: str | None = None, choices=None):
    """A TrainConfig field that `glcic train` offers as --NAME (booleans as --NAME / --no-NAME):
    `kind` names an entry of VALUE_KINDS, `choices` a tuple or a function giving one."""
    return field(default=default, metadata={"help": help, "kind": kind, "choices": choices})


def command_line_fields() -> list[dataclasses.Field]:
    """TrainConfig's fields that `glcic train` offers as options, in declaration order."""
    return [f for f in dataclasses.fields(TrainConfig) if "help" in f.metadata]


@dataclass(frozen=True)
class TrainConfig:
    # data (section 3.4)
    data: str = ""  # folder of training photos, searched recursively (--data)
    validation_data: str | None = None  # folder of the fixed sample-sheet images; None: from `data`
    image_size: int = option(256, "training crop side, px", "side")
    resize_min: int = option(256, "smallest edge resized to a random value in [min, max]", "side")
    resize_max: int = option(384, "see --resize-min", "side")
    hole_sampler: str = option("rectangle", "hole shape (glcic.masks); center for section 4.1.2", choices=_hole_sampler_names)
    hole_min: int = option(96, "smallest hole side, px (strokes: see glcic.masks)", "side")
    hole_max: int = option(128, "largest hole side, px", "side")
    stroke_share: float = option(0.4, "with --hole-sampler mixed: the share of brush strokes (rectangles and blobs share the rest 7:5)", "fraction")
    mean_pixel: tuple[float, float, float] | None = None  # None: computed from the training set at start
    augment: bool = option(False, "mirror images and jitter colours mildly (the paper does not)")
    # networks (Tables 2 and 3)
    width: float = option(1.0, "completion network channel multiplier (1 = Table 2)", "width")
    noise: int = option(0, "decoder layers (0-4, the last ones) that take per-pixel noise through a learned filter, so that the "
                        "joint phase can draw grain (glcic.models.completion.NoiseInjection; 0: Table 2)", "natural_int")
    discriminator_width: float = option(1.0, "context discriminators' channel multiplier", "width")
    local_size: int = option(128, "local discriminator patch side, px, centred on each hole", "side")
    local_box: str = option("hole", "where the local patch goes: centred on the hole's bounding box (the paper), or, for a hole "
                            "that does not fit in it, on a hole pixel drawn at random, so that every part is judged in turn",
                            choices=LOCAL_BOXES)
    global_size: int = option(256, "side the whole image is resized to for the global discriminator, px", "side")
    frozen_blocks: int = option(0, "keep the first N layers of Table 2 fixed (12: the encoder and the dilated middle, so that "
                                "only the decoder learns, at a reach of a few px; with --noise, the fill's layout stays the "
                                "fine-tuned model's and only its grain and fine detail train)", "natural_int")
    freeze_upsampling: bool = option(False, "keep the completion network's transposed convolutions fixed (fine-tuning against "
                                     "the discriminators: they are what grows a pixel grid)")
    discriminators: str = option("both", "ablation (Fig. 6); none trains with the weighted MSE only", choices=DISCRIMINATOR_CHOICES)
    discriminator_norm: str = option("batch", "the discriminators' normalisation: the paper's batch norm, spectral norm, or none",
                                     choices=NORMS)
    discriminator_antialias: bool = option(False, "a fixed low-pass before each of the discriminators' stride-2 convs, so that "
                                           "stripes at the pixel grid's frequency cannot pass for texture")
    discriminator_batch: str = option("separate", "real and completed images through the discriminators in separate batches, "
                                      "or mixed in one (so batch norm cannot tell them apart by batch statistics)",
                                      choices=DISCRIMINATOR_BATCHES)
    discriminator_hole: bool = option(False, "the local discriminator also sees the hole mask, and real patches are the "
                                      "original's at the same place with the same mask (not the paper's)")
    discriminator_patches: bool = option(False, "with --discriminators local: the local discriminator gives a logit per 8 px cell "
                                         "of its patch, compared cell by cell (a PatchGAN; not the paper's)")
    discriminator_shift: int = option(0, "move the discriminators' real and completed images by up to this many px at random "
                                      "(0: the paper; 2-4 keeps the joint phase from growing a grid)", "natural_int")
    # Algorithm 1
    completion_iterations: int = option(90_000, "T_C: phase 1 length, completion network alone", "natural_int")
    discriminator_iterations: int = option(10_000, "T_D: phase 2 length, discriminators alone", "natural_int")
    total_iterations: int = option(500_000, "T_train: the joint phase ends here", "positive_int")
    batch_size: int = option(96, "images per process and iteration", "positive_int")
    reconstruction_loss: str = option("mse", "the hole's reconstruction term: the paper's weighted MSE, or weighted L1",
                                      choices=RECONSTRUCTION_LOSSES)
    alpha: float = option(0.0004, "adversarial loss weight", "natural_float")
    generator_loss: str = option("non_saturating", "non_saturating (-log D), saturating (log(1 - D), Eq. 3), or relativistic "
                                 "(both networks on D(x) - D(C(x)) per pair: glcic.losses)", choices=GENERATOR_LOSSES)
    gradient_penalty: float = option(0.0, "gamma of the discriminators' R1 + R2 penalty, gamma/2 x the squared norm of their "
                                     "gradient at the real and at the completed images (glcic.losses.gradient_penalty; "
                                     "0: the paper)", "natural_float")
    balance_gradients: bool = option(False, "scale the adversarial term so its gradient norm is --balance-ratio times the MSE's")
    balance_ratio: float = option(1.0, "with --balance-gradients: |grad adversarial| / |grad MSE|", "positive_float")
    grid_weight: float = option(0.0, "joint phase: weight of a penalty on fill patterns locked to the pixel grid "
                                "(glcic.losses.grid_prior; 0: the paper)", "natural_float")
    grid_tile: int = option(0, "with --grid-weight: take the grid prior in squares of this many px (a multiple of 8) "
                            "so that a pattern whose polarity changes across the hole counts (0: the whole hole)", "natural_int")
    grid_period: int = option(8, "with --grid-weight: the pattern's period, px: 8 (stripes and 8 px grids) or 16 (also the "
                              "checkerboard of 8 px squares; docs/adversarial.md, section 10)", "positive_int")
    feature_matching: float = option(0.0, "joint phase: weight of the distance between the local discriminator's features of "
                                     "each completed patch and of the original's (glcic.losses.feature_matching; 0: the paper)",
                                     "natural_float")
    style_weight: float = option(0.0, "joint phase: weight of the distance between the texture statistics of each fill and "
                                 "of the original's hole (glcic.style.style_loss; 0: the paper)", "natural_float")
    detail_weight: float = option(0.0, "joint phase: weight of the distance between the fine detail of each 8 px square of the "
                                  "fill and of the original's (glcic.local_detail; 0: the paper)", "natural_float")
    reconstruction_blur: float = option(0.0, "joint phase: compare the fill with the original after a Gaussian blur of this "
                                        "many px, leaving the finest detail to the other terms (0: the paper)", "natural_float")
    optimizer: str = option("adadelta", "the paper's ADADELTA, or Adam", choices=OPTIMIZERS)
    learning_rate: float = option(1.0, "1.0 suits ADADELTA; about 2e-4 suits Adam", "positive_float")
    discriminator_learning_rate: float = option(0.0, "the discriminators' learning rate (0: the same as --learning-rate)",
                                                "natural_float")
    # runtime
    seed: int = option(0, "seed of weights, data order, crops and holes", "natural_int")
    workers: int = option(2, "data-loader processes per training process", "natural_int")
    precision: str = option("fp32", "auto: bf16 on GPUs and on CPUs with AMX or AVX512-BF16, fp32 elsewhere", choices=PRECISIONS)
    channels_last: bool = option(False, "channels_last memory format (helps bf16; slows fp32 training on CPU)")
    sync_batchnorm: bool = option(False, "under torchrun: batch-norm statistics over the global batch")
    checkpoint_every: int = option(500, "iterations between checkpoints (also written on SIGINT/SIGTERM)", "positive_int")
    sample_every: int = option(500, "iterations between sample sheets", "positive_int")
    snapshot_every: int = option(0, "iterations between model files kept in RUN/snapshots (0: none)", "natural_int")
    log_every: int = option(10, "iterations between metrics records", "positive_int")
    sample_count: int = option(4, "validation images per sample sheet", "natural_int")
    fine_tune_from: str | None = None  # model file: the completion network starts from it (section 4.5; --fine-tune)
    preset: str = "paper"  # the preset these values started from (informational; --preset)
    format_version: int = TRAIN_FORMAT_VERSION

    def __post_init__(self):
        for item in command_line_fields():
            check_value(item.name, getattr(self, item.name), item.metadata["kind"], item.metadata["choices"])
        if self.image_size % 4:
            raise ValueError(f"image_size must be a multiple of 4 (the network downsamples twice), got {self.image_size}")
        if not self.image_size <= self.resize_min <= self.resize_max:
            raise ValueError(f"need image_size <= resize_min <= resize_max, got {self.image_size}, {self.resize_min}, {self.resize_max}")
        check_hole_range(self.hole_min, self.hole_max, self.image_size, f"image_size ({self.image_size})")
        from glcic.models.discriminator_config import MAX_FEATURE_SIDE

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
        if self.discriminator_patches and self.discriminators != "local":
            raise ValueError(f"discriminator_patches needs discriminators='local' (the patch discriminator runs alone), got {self.discriminators!r}")
        if self.frozen_blocks > 16:
            raise ValueError(f"frozen_blocks must be at most 16 (the layers of Table 2), got {self.frozen_blocks}")
        if self.noise > 4:
            raise ValueError(f"noise must be at most 4 (the decoder's layers), got {self.noise}")
        if self.grid_period not in GRID_PERIODS:
            raise ValueError(f"grid_period must be 8 or 16 px, got {self.grid_period}")
        if self.grid_tile % self.grid_period or self.grid_tile > self.image_size:
            raise ValueError(f"grid_tile must be a multiple of grid_period ({self.grid_period} px) no larger than image_size "
                             f"({self.image_size}), got {self.grid_tile}")
        if self.mean_pixel is not None:
            object.__setattr__(self, "mean_pixel", checked_mean_pixel(self.mean_pixel))

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

        return DataConfig(**{name: getattr(self, name) for name in DataConfig.__dataclass_fields__})

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
    """The preset `name` with `overrides`. With `fine_tune_from` (a model file or a bundled model's
    name), the width defaults to the model's and T_C to 0: the completion network is trained
    already, so the discriminators start from scratch against it, then both train (section 4.5)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {list_presets()}")
    if overrides.get("fine_tune_from") is not None:
        from glcic.model_file import model_source, read_model_file

        source = model_source(overrides["fine_tune_from"])
        defaults = {"width": read_model_file(source)[1].width, "completion_iterations": 0}
        overrides = {**defaults, **overrides, "fine_tune_from": str(source)}
    return PRESETS[name].replace(**overrides)
