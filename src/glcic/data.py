"""The paper's training data pipeline (section 3.4): image folder, random resize and crop, holes.

Every photo under a folder (searched recursively) is a training image. Each time one is drawn, its
smallest edge is resized to a random value in [resize_min, resize_max] (paper: [256, 384]), a random
image_size x image_size crop is taken (paper: 256), and one hole is drawn for it (paper: a rectangle
with sides in [96, 128]). The sample also carries its local discriminator boxes: one centred on its
own hole (M_c; with `local_box="pixel"`, when the hole does not fit in it, on one of its pixels
drawn at random) and one placed at random for the real image (M_d).

Randomness: a sample is a pure function of (seed, epoch, index), so it does not depend on which
worker made it, and a resumed run sees exactly the samples an uninterrupted run would have seen.
`EpochSampler` is a `DistributedSampler` (one shard per process under torchrun) that can start
mid-epoch, which is how a resumed run skips the batches it already trained on.

Unreadable or tiny images are skipped, never a crash: the scan drops files whose header cannot be
read or whose smaller side is under half the crop; a file that fails to decode later is replaced by
the next image, and every replacement is counted in the sample (`skipped`) and logged.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, DistributedSampler

from glcic.image_io import list_images, read_photo, resize_short_side
from glcic.masks import hole_box, local_patch_box, make_hole_sampler, mixed_weights, pixel_patch_box, random_patch_box


@dataclass(frozen=True)
class DataConfig:
    """What the pipeline needs to make a sample (`TrainConfig.data_config()` gives a run's)."""

    image_size: int  # training crop side
    resize_min: int  # the smallest edge is resized to a random value in [resize_min, resize_max]
    resize_max: int
    hole_sampler: str  # a name from glcic.masks
    hole_min: int
    hole_max: int
    local_size: int  # the local discriminator's box, centred on the hole
    local_box: str = "hole"  # "hole": centred on the hole's box (the paper); "pixel": see masks.pixel_patch_box
    augment: bool = False  # mirror images and jitter colours mildly
    stroke_share: float = 0.4  # the `mixed` sampler's share of brush strokes

    def hole_sampler_instance(self):
        """The configured hole sampler with this config's hole sizes."""
        if self.hole_sampler == "mixed":
            return make_hole_sampler("mixed", hole_min=self.hole_min, hole_max=self.hole_max, weights=mixed_weights(self.stroke_share))
        return make_hole_sampler(self.hole_sampler, hole_min=self.hole_min, hole_max=self.hole_max)


def image_size_of(path: Path) -> tuple[int, int] | None:
    """(height, width) from the file header after EXIF rotation, or None when it cannot be read."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as image:
                width, height = image.size
                orientation = image.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 - any unreadable header means "skip this file"
        return None
    return (width, height) if orientation in (5, 6, 7, 8) else (height, width)


def scan_images(root: str | os.PathLike, min_side: int) -> tuple[list[Path], dict[str, list[str]]]:
    """Usable images under `root` and the skipped ones by reason ("unreadable", "too small")."""
    usable, skipped = [], {"unreadable": [], "too small": []}
    for path in list_images(root, recursive=True):
        size = image_size_of(path)
        if size is None:
            skipped["unreadable"].append(str(path))
        elif min(size) < min_side:
            skipped["too small"].append(str(path))
        else:
            usable.append(path)
    return usable, skipped


class TrainingImages(Dataset):
    """Photos under a folder, served as the paper's training samples.

    Indexed by `(epoch, index)` pairs (see `EpochSampler`). A sample is a dict of tensors:
    `image` (3, S, S) uint8, `hole` (1, S, S) uint8 (1 = hole, M_c), `hole_patch` (top, left) of the
    local box centred on the hole, `real_patch` (top, left) of the random local box for the real
    image (M_d), `index` of the image used, `skipped` how many unreadable files were passed over.
    """

    def __init__(self, paths: list[Path], config: DataConfig, seed: int):
        if not isinstance(config, DataConfig):
            raise TypeError(f"TrainingImages needs a DataConfig, got {type(config).__name__}")
        if not paths:
            raise ValueError("no usable training images")
        self.paths = list(paths)
        self.config = config
        self.seed = seed
        self.hole_sampler = config.hole_sampler_instance()

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, key: tuple[int, int]) -> dict[str, torch.Tensor]:
        epoch, index = key
        rng = np.random.default_rng([self.seed, epoch, index])  # a pure function of (seed, epoch, index)
        size = self.config.image_size
        short_side = int(rng.integers(self.config.resize_min, self.config.resize_max + 1))
        for skipped in range(len(self.paths)):
            path = self.paths[(index + skipped) % len(self.paths)]
            try:
                photo = read_photo(path, short_side)
                break
            except Exception:  # noqa: BLE001 - a file that does not decode is replaced by the next one
                continue
        else:
            raise RuntimeError("none of the training images could be decoded")
        photo = resize_short_side(photo, short_side)
        top = int(rng.integers(0, photo.shape[0] - size + 1))
        left = int(rng.integers(0, photo.shape[1] - size + 1))
        crop = photo[top : top + size, left : left + size]  # (S, S, 3)
        if self.config.augment:
            crop = augment(crop, rng)
        crop = np.ascontiguousarray(crop)
        hole = self.hole_sampler(size, size, rng)  # (S, S) bool: M_c
        real_patch = random_patch_box(self.config.local_size, size, size, rng)  # M_d
        if self.config.local_box == "pixel":
            hole_patch = pixel_patch_box(hole, self.config.local_size, rng)
        else:
            hole_patch = local_patch_box(hole_box(hole), self.config.local_size, size, size)
        return {
            "image": torch.from_numpy(crop).permute(2, 0, 1).contiguous(),  # (3, S, S) uint8
            "hole": torch.from_numpy(hole[None].astype(np.uint8)),  # (1, S, S)
            "hole_patch": torch.tensor([hole_patch.top, hole_patch.left]),
            "real_patch": torch.tensor([real_patch.top, real_patch.left]),
            "index": torch.tensor((index + skipped) % len(self.paths)),
            "skipped": torch.tensor(skipped),
        }


def augment(crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A mirror image half of the time, and a mild colour jitter: brightness and contrast within
    +-8 %, saturation within +-10 %. (S, S, 3) uint8 -> (S, S, 3) uint8."""
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    brightness, contrast, saturation = rng.uniform(0.92, 1.08), rng.uniform(0.92, 1.08), rng.uniform(0.9, 1.1)
    values = crop.astype(np.float32)
    grey = values.mean(axis=2, keepdims=True)  # (S, S, 1)
    values = grey + (values - grey) * saturation
    values = (values - values.mean()) * contrast + values.mean() * brightness
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


class EpochSampler(DistributedSampler):
    """`DistributedSampler` yielding `(epoch, index)` and able to start `start` samples into the epoch.

    Each process gets its own shard of a permutation that depends on (seed, epoch) only; with one
    process the shard is the whole permutation. Call `set_position(epoch, start)` before each epoch.
    """

    def __init__(self, dataset: Dataset, num_replicas: int, rank: int, seed: int):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed, drop_last=True)
        self.start = 0

    def set_position(self, epoch: int, start: int) -> None:
        self.set_epoch(epoch)
        self.start = start

    def __iter__(self):
        for position, index in enumerate(super().__iter__()):
            if position >= self.start:
                yield (self.epoch, index)

    def __len__(self) -> int:
        return self.num_samples - self.start


def compute_mean_pixel(paths: list[Path], limit: int = 2000, side: int = 64) -> tuple[float, float, float]:
    """The training set's mean RGB in [0, 1]: each of up to `limit` evenly spaced images, shrunk so
    its short side is `side`, weighs the same."""
    chosen = [paths[int(i)] for i in np.linspace(0, len(paths) - 1, min(limit, len(paths)))] if paths else []
    means = []
    for path in dict.fromkeys(chosen):
        try:
            means.append(resize_short_side(read_photo(path, side), side).reshape(-1, 3).mean(axis=0) / 255.0)
        except Exception:  # noqa: BLE001 - unreadable files are skipped here as everywhere
            continue
    if not means:
        raise ValueError("cannot compute the mean pixel: no training image could be decoded")
    return tuple(round(float(v), 6) for v in np.mean(means, axis=0))


def validation_batch(paths: list[Path], config: DataConfig, count: int, seed: int) -> dict[str, torch.Tensor]:
    """Fixed images and holes for sample sheets: `count` evenly spaced images, short side resized to
    the crop size and centre-cropped, with holes drawn from `seed`."""
    size = config.image_size
    rng = np.random.default_rng([seed, 2**31 - 1])
    sampler = config.hole_sampler_instance()
    images, holes = [], []
    for i in np.linspace(0, len(paths) - 1, min(count, len(paths))).astype(int):
        try:
            photo = resize_short_side(read_photo(paths[i], size), size)
        except Exception:  # noqa: BLE001
            continue
        top, left = (photo.shape[0] - size) // 2, (photo.shape[1] - size) // 2
        images.append(torch.from_numpy(np.ascontiguousarray(photo[top : top + size, left : left + size])).permute(2, 0, 1))
        holes.append(torch.from_numpy(sampler(size, size, rng)[None].astype(np.uint8)))
    if not images:
        return {}
    return {"image": torch.stack(images), "hole": torch.stack(holes)}  # (N, 3, S, S), (N, 1, S, S)
