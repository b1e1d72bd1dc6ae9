"""Reading and writing files: EXIF orientation, 16 bits, bombs, corrupt files, atomic writes."""

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from glcic.errors import ImageError
from glcic.image_io import check_output_path, read_image, write_image

from conftest import scene


def png_with_header_size(width: int, height: int) -> bytes:
    """A tiny file whose PNG header claims a huge image: a decompression bomb's calling card."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(tmp_path, orientation):
    from PIL import ImageOps

    pixels = scene(24, 40)
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = orientation
    image.save(tmp_path / "photo.png", exif=exif)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / "photo.png")))
    np.testing.assert_array_equal(read_image(tmp_path / "photo.png"), expected)
    if orientation >= 5:
        assert read_image(tmp_path / "photo.png").shape == (40, 24, 3)


def test_sixteen_bit_colour_png_keeps_sixteen_bits(tmp_path):
    pixels = (np.random.default_rng(0).random((20, 30, 3)) * 65535).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "deep.png"), pixels[:, :, ::-1])  # OpenCV writes BGR
    loaded = read_image(tmp_path / "deep.png")
    assert loaded.dtype == np.uint16
    np.testing.assert_array_equal(loaded, pixels)


@pytest.mark.parametrize("mode, shape", [("L", (20, 30)), ("LA", (20, 30, 2)), ("RGBA", (20, 30, 4)), ("P", (20, 30, 3)), ("1", (20, 30))])
def test_modes_become_supported_layouts(tmp_path, mode, shape):
    Image.fromarray(scene(20, 30)).convert(mode).save(tmp_path / "x.png")
    assert read_image(tmp_path / "x.png").shape == shape


@pytest.mark.parametrize("side", [10000, 60000])  # over our limit; over PIL's own limit too
def test_decompression_bomb_is_refused_before_decoding(tmp_path, side):
    (tmp_path / "bomb.png").write_bytes(png_with_header_size(side, side))
    with pytest.raises(ImageError, match="decompression bomb"):
        read_image(tmp_path / "bomb.png")


def test_pixel_limit_is_configurable(tmp_path):
    Image.fromarray(scene(64, 64)).save(tmp_path / "x.png")
    with pytest.raises(ImageError, match="4,096 pixels, over the limit of 1,000"):
        read_image(tmp_path / "x.png", max_pixels=1000)


def test_truncated_image_is_refused(tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(scene(64, 64)).save(buffer, "PNG")
    (tmp_path / "cut.png").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(ImageError, match="corrupt or truncated"):
        read_image(tmp_path / "cut.png")


@pytest.mark.parametrize("content", [b"", b"just some text", bytes(range(256))])
def test_non_images_are_refused(tmp_path, content):
    (tmp_path / "x.png").write_bytes(content)
    with pytest.raises(ImageError, match="not an image file"):
        read_image(tmp_path / "x.png")


def test_missing_and_folder_paths_are_named(tmp_path):
    with pytest.raises(ImageError, match="not found"):
        read_image(tmp_path / "missing.png")
    with pytest.raises(ImageError, match="not a file"):
        read_image(tmp_path)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("channels", [None, 3, 4])
def test_lossless_write_read_round_trip(tmp_path, suffix, dtype, channels):
    rng = np.random.default_rng(1)
    shape = (12, 17) if channels is None else (12, 17, channels)
    pixels = rng.integers(0, np.iinfo(dtype).max, shape, endpoint=True).astype(dtype)
    write_image(tmp_path / f"x{suffix}", pixels)
    np.testing.assert_array_equal(read_image(tmp_path / f"x{suffix}"), pixels)


def test_jpeg_with_alpha_warns_and_drops_it(tmp_path):
    with pytest.warns(UserWarning, match="alpha"):
        write_image(tmp_path / "x.jpg", np.zeros((8, 8, 4), np.uint8))
    assert read_image(tmp_path / "x.jpg").shape == (8, 8, 3)


def test_output_checks(tmp_path):
    with pytest.raises(ImageError, match="output folder does not exist"):
        check_output_path(tmp_path / "missing" / "out.png")
    with pytest.raises(ImageError, match="unsupported extension"):
        check_output_path(tmp_path / "out.gif2")
    source = tmp_path / "in.png"
    Image.fromarray(scene(8, 8)).save(source)
    with pytest.raises(ImageError, match="refusing to overwrite"):
        check_output_path(source, inputs=(source,))


def test_jpeg_and_webp_outputs_keep_the_colour_profile_and_exif_with_orientation_reset(tmp_path):
    from PIL import Image, ImageCms

    from glcic.image_io import read_metadata, write_image

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated
    exif[0x010F] = "ACME camera"  # Make
    source = tmp_path / "source.jpg"
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(source, icc_profile=profile, exif=exif.tobytes())
    metadata = read_metadata(source)
    for suffix in (".jpg", ".webp"):
        target = tmp_path / f"out{suffix}"
        write_image(target, np.full((30, 20, 3), 128, np.uint8), metadata)
        with Image.open(target) as written:
            assert written.info.get("icc_profile") == profile
            assert written.getexif()[0x0112] == 1 and written.getexif()[0x010F] == "ACME camera"
            if suffix == ".jpg":
                from PIL import JpegImagePlugin

                assert JpegImagePlugin.get_sampling(written) == 0  # 4:4:4


def _encoded(fmt: str, **options) -> bytearray:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(scene(120, 160)).save(buffer, fmt, **options)
    return bytearray(buffer.getvalue())


def _damaged_files() -> dict[str, bytes]:
    png = _encoded("PNG")
    bad_crc = png.copy()
    idat = bad_crc.find(b"IDAT")
    length = int.from_bytes(bad_crc[idat - 4: idat], "big")
    bad_crc[idat + 4 + length] ^= 0xFF  # the IDAT's CRC only: the pixel data itself is intact
    jpeg = _encoded("JPEG", quality=90)
    marker = jpeg.copy()
    marker[len(marker) // 2: len(marker) // 2 + 2] = b"\xff\xd0"  # a restart marker in the middle of the scan
    tiff = _encoded("TIFF", compression="tiff_adobe_deflate")
    for index in range(200, 260):
        tiff[index] ^= 0x33
    return {"png-crc": bytes(bad_crc), "png-no-iend": bytes(png[:-12]), "jpeg-marker": bytes(marker), "tiff-deflate": bytes(tiff)}


@pytest.mark.parametrize("kind", ["png-crc", "png-no-iend", "jpeg-marker", "tiff-deflate"])
def test_damage_a_decoder_detects_is_refused_in_one_line(tmp_path, kind):
    import subprocess
    import sys

    from glcic.image_io import decode_image

    data = _damaged_files()[kind]
    with pytest.raises(ImageError, match="corrupt|truncated"):
        decode_image(data, "photo")
    suffix = {"png": ".png", "jpeg": ".jpg", "tiff": ".tif"}[kind.split("-")[0]]
    (tmp_path / f"photo{suffix}").write_bytes(data)
    Image.fromarray(np.full((120, 160), 255, np.uint8)).save(tmp_path / "mask.png")
    result = subprocess.run([sys.executable, "-m", "glcic", "complete", tmp_path / f"photo{suffix}", "--mask", tmp_path / "mask.png",
                             "-o", tmp_path / "out.png"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1, result.stderr  # no decoder line before ours
    assert "corrupt" in result.stderr or "truncated" in result.stderr
    assert not (tmp_path / "out.png").exists()


def test_no_photo_of_the_examples_or_the_data_set_is_refused():
    """The strict checks refuse damage, not photos: the examples, their masks, scikit-image's photos
    of the data set, and (where `make photos` has built it) every photo of the data set."""
    import importlib.util
    from pathlib import Path

    import skimage

    from glcic.image_io import read_image

    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location("build_photos", root / "scripts" / "build_photos.py")
    build_photos = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_photos)
    photos = sorted((root / "examples" / "images").iterdir()) + sorted((root / "examples" / "masks").iterdir())
    photos += [Path(skimage.__file__).parent / "data" / name for name in build_photos.SKIMAGE_PHOTOS]
    built = root / "data" / "photos"
    if built.is_dir():
        photos += sorted(p for p in built.rglob("*") if p.suffix.lower() in (".jpg", ".png"))
    assert len(photos) >= 11
    for path in photos:
        read_image(path)  # raises on any refusal


def test_temporaries_left_by_a_killed_process_are_removed_and_a_live_ones_kept(tmp_path):
    import os

    dead = tmp_path / ".glcic-2147483646-abcd1234.tmp"  # no such process
    alive = tmp_path / f".glcic-{os.getpid()}-abcd1234.tmp"  # this one: still writing
    dead.write_bytes(b"half an image")
    alive.write_bytes(b"being written")
    write_image(tmp_path / "out.png", scene(16, 16))
    assert not dead.exists() and alive.exists() and (tmp_path / "out.png").is_file()
