"""Seeded fuzzing of the image decoder: mutated PNG, JPEG, WebP and TIFF files are either decoded or
refused with an ImageError, never another exception; PNGs whose compressed data is damaged behind
valid chunk checksums are refused, not completed with black rows."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from glcic.errors import ImageError
from glcic.image_io import decode_image

from conftest import scene

FORMATS = {"PNG": {}, "JPEG": {"quality": 90}, "WEBP": {"quality": 80}, "TIFF": {"compression": "tiff_deflate"}}
MUTANTS_PER_FORMAT = 75


def encoded(fmt: str, seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(scene(48, 64, seed=seed)).save(buffer, fmt, **FORMATS[fmt])
    return buffer.getvalue()


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    data = bytearray(data)
    kind = rng.integers(3)
    if kind == 0:  # flip a few bytes past the signature
        for position in rng.integers(8, len(data), size=int(rng.integers(1, 9))):
            data[position] ^= int(rng.integers(1, 256))
    elif kind == 1:  # truncate
        del data[int(rng.integers(8, len(data))):]
    else:  # overwrite a run with random bytes
        start = int(rng.integers(8, len(data) - 1))
        length = int(rng.integers(1, min(64, len(data) - start) + 1))
        data[start : start + length] = rng.integers(0, 256, size=length, dtype=np.uint8).tobytes()
    return bytes(data)


def damaged_idat_with_valid_crc(data: bytes, rng: np.random.Generator) -> bytes:
    """Flip bytes inside the PNG's compressed pixel data, then recompute the chunk's CRC."""
    data = bytearray(data)
    at = data.find(b"IDAT")
    length = struct.unpack(">I", data[at - 4 : at])[0]
    start = at + 4
    for position in rng.integers(start + 2, start + length - 4, size=int(rng.integers(1, 6))):
        data[position] ^= int(rng.integers(1, 256))
    data[start + length : start + length + 4] = struct.pack(">I", zlib.crc32(bytes(data[at : start + length])) & 0xFFFFFFFF)
    return bytes(data)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_mutated_files_are_decoded_or_refused_cleanly(fmt):
    rng = np.random.default_rng([7, list(FORMATS).index(fmt)])
    sources = [encoded(fmt, seed) for seed in range(3)]
    outcomes = {"decoded": 0, "refused": 0}
    for index in range(MUTANTS_PER_FORMAT):
        data = mutate(sources[index % 3], rng)
        try:
            array = decode_image(data, "fuzzed")
        except ImageError:
            outcomes["refused"] += 1
            continue
        assert array.ndim in (2, 3) and array.size > 0
        outcomes["decoded"] += 1
    assert outcomes["refused"] > 0  # the mutations really break files


def test_damaged_png_pixel_data_behind_valid_checksums_is_refused():
    rng = np.random.default_rng(11)
    originals = [(encoded("PNG", seed), scene(48, 64, seed=seed)) for seed in range(3)]
    accepted_with_other_pixels = 0
    for index in range(60):
        data, pixels = originals[index % 3]
        try:
            array = decode_image(damaged_idat_with_valid_crc(data, rng), "fuzzed.png")
        except ImageError:
            continue
        accepted_with_other_pixels += not np.array_equal(array, pixels)
    assert accepted_with_other_pixels == 0


def test_training_and_evaluation_read_photos_with_the_same_checks(tmp_path):
    """Photos for training and evaluation go through image_io too: a damaged PNG is refused there,
    a grey or RGBA file becomes 8-bit RGB, a JPEG decoded at reduced scale keeps both sides."""
    from glcic.image_io import read_photo

    rng = np.random.default_rng(3)
    damaged = tmp_path / "damaged.png"
    while True:  # a damage the decoder alone would pass
        data = damaged_idat_with_valid_crc(encoded("PNG", 0), rng)
        try:
            Image.open(io.BytesIO(data)).load()
            break
        except Exception:  # noqa: BLE001
            continue
    damaged.write_bytes(data)
    with pytest.raises(ImageError, match="damaged.png"):
        read_photo(damaged)
    grey = tmp_path / "grey.png"
    Image.fromarray(scene(48, 64)[..., 0]).save(grey)
    rgba = tmp_path / "rgba.png"
    Image.fromarray(np.dstack([scene(48, 64), np.full((48, 64), 9, np.uint8)])).save(rgba)
    for path in (grey, rgba):
        photo = read_photo(path)
        assert photo.shape == (48, 64, 3) and photo.dtype == np.uint8
    big = tmp_path / "big.jpg"
    Image.fromarray(np.repeat(np.repeat(scene(60, 90), 8, axis=0), 8, axis=1)).save(big, quality=90)
    reduced = read_photo(big, short_side=100)
    assert reduced.shape == (120, 180, 3)  # 480x720 decoded at 1/4: both sides still >= 100
