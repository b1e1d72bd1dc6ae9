"""Reading and writing image files safely.

Reading: the header is checked before any pixel is decoded (size limit against decompression bombs),
truncated or corrupt files are refused, EXIF orientation is applied (pixels come back upright),
16-bit PNG/TIFF keep their 16 bits (PIL decodes them to 8 bits, so OpenCV decodes those), and every
failure is an `ImageError` naming the file and the problem.

Writing: the image is encoded in memory first, then written to a temporary file beside the target
and moved over it in one step, so an existing file is only ever replaced by a complete one.
"""

from __future__ import annotations

import io
import os
import sys
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from glcic.errors import ImageError
from glcic.pixels import pil_to_array
from glcic.utils import write_atomic

DEFAULT_MAX_PIXELS = 8192 * 8192  # refuse larger images before decoding them (decompression bombs)
MIN_SIDE = 8  # smallest image side the completion accepts
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp")
_EXIF_ORIENTATION = 0x0112


def orient(array: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1-8) to an (H, W[, C]) array, as `PIL.ImageOps.exif_transpose` does."""
    swap = (1, 0) + tuple(range(2, array.ndim))
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(swap),
        6: lambda a: a.transpose(swap)[:, ::-1],
        7: lambda a: a.transpose(swap)[::-1, ::-1],
        8: lambda a: a.transpose(swap)[::-1],
    }
    op = ops.get(orientation)
    return np.ascontiguousarray(op(array)) if op else array


def _read_bytes(path: Path, what: str) -> bytes:
    if not path.exists():
        raise ImageError(f"{what} not found: {path}")
    if not path.is_file():
        raise ImageError(f"{what} is not a file: {path}")
    try:
        return path.read_bytes()
    except OSError as error:
        raise ImageError(f"cannot read {what} {path}: {error.strerror or error}") from None


def read_image(path: str | os.PathLike, max_pixels: int = DEFAULT_MAX_PIXELS, what: str = "image") -> np.ndarray:
    """Decode an image file to an upright (H, W[, C]) uint8 or uint16 array in RGB[A] order."""
    path = Path(path)
    return decode_image(_read_bytes(path, what), f"{what} {path}", max_pixels)


class TooManyPixels(ImageError):
    """The image is larger than the pixel limit (checked from its header, before decoding)."""


def read_photo(path: str | os.PathLike, short_side: int | None = None, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """A photo for training and evaluation: upright (H, W, 3) uint8 RGB, with every check of
    `read_image` (alpha dropped, grey repeated, 16 bit rounded to 8). JPEGs are decoded at a reduced
    scale when both sides stay at least `short_side` (fast; resize afterwards)."""
    from glcic.pixels import split_rgb

    path = Path(path)
    array = decode_image(_read_bytes(path, "image"), f"image {path}", max_pixels, draft=short_side)
    if array.dtype == np.uint8 and array.ndim == 3 and array.shape[2] == 3:
        return array
    return np.rint(split_rgb(array) * 255).astype(np.uint8)


def resize_short_side(image: np.ndarray, short_side: int) -> np.ndarray:
    """Resize so the shorter side is `short_side` px (area interpolation down, bicubic up)."""
    import cv2

    height, width = image.shape[:2]
    scale = short_side / min(height, width)
    size = (max(short_side, round(width * scale)), max(short_side, round(height * scale)))  # (W, H) for OpenCV
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(image, size, interpolation=interpolation)


def center_square(image: np.ndarray, size: int) -> np.ndarray:
    """Resize so the short side is `size`, then take the centre square (the paper's test crops)."""
    image = resize_short_side(image, size)
    top, left = (image.shape[0] - size) // 2, (image.shape[1] - size) // 2
    return np.ascontiguousarray(image[top : top + size, left : left + size])


def decode_image(data: bytes, name: str = "image", max_pixels: int = DEFAULT_MAX_PIXELS, draft: int | None = None) -> np.ndarray:
    """Decode encoded image bytes (`name` is how errors call it) to an upright (H, W[, C]) array;
    with `draft`, a JPEG is decoded at the smallest scale that keeps both sides >= `draft` px.

    Damage a decoder detects is refused (ImageError), never passed on as pixels: what libjpeg and
    libtiff report on their own (they print it and go on) is caught and named, and a PNG is checked
    chunk by chunk (every CRC, the IEND chunk, the whole compressed stream). Any other failure of a
    decoder on a hostile file is an ImageError too."""
    try:
        with _DecoderMessages() as messages:
            array = _decode(data, name, max_pixels, draft)
    except (ImageError, TooManyPixels):
        raise
    except Exception as error:  # noqa: BLE001 - a fuzzed file can make a decoder fail in any way
        raise ImageError(f"{name} is corrupt: the decoder failed ({type(error).__name__}: {error})") from None
    if messages.damage:
        raise ImageError(f"{name} is corrupt: {messages.damage}")
    return array


class _DecoderMessages:
    """Captures what C decoders print on the process's stderr while an image decodes (libjpeg's
    "Corrupt JPEG data", libtiff's errors), so that it is neither printed before glcic's own message
    nor ignored. One decode at a time holds stderr (a lock), so threads never see each other's lines."""

    _lock = threading.Lock()
    DAMAGE_WORDS = ("corrupt", "error", "premature end", "bad ", "invalid", "decoding", "not enough", "missing")

    def __enter__(self):
        import tempfile

        self._lock.acquire()
        self.damage = None
        try:
            sys.stderr.flush()
            self._saved = os.dup(2)
            self._file = tempfile.TemporaryFile()
            os.dup2(self._file.fileno(), 2)
        except (OSError, ValueError, AttributeError):  # no real stderr (an embedding host): decode without capturing
            self._saved = None
        return self

    def __exit__(self, *exc):
        try:
            if self._saved is not None:
                os.dup2(self._saved, 2)
                os.close(self._saved)
                self._file.seek(0)
                text = self._file.read(4096).decode("utf-8", "replace")
                self._file.close()
                lines = [line.strip() for line in text.splitlines() if line.strip()]
                damaged = [line for line in lines if any(word in line.lower() for word in self.DAMAGE_WORDS)]
                if damaged:
                    self.damage = damaged[0][:200]
        finally:
            self._lock.release()
        return False


def _decode(data: bytes, name: str, max_pixels: int, draft: int | None) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise TooManyPixels(f"{name} is too large to decode safely (decompression bomb?)") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ImageError(f"{name} is not an image file in a format glcic can read") from None
    width, height = image.size
    if width * height > max_pixels:
        raise TooManyPixels(
            f"{name} is {width}x{height} = {width * height:,} pixels, over the limit of {max_pixels:,} "
            "(a decompression bomb, or raise the limit with --max-pixels)"
        )
    if getattr(image, "n_frames", 1) > 1:
        warnings.warn(f"{name} has {image.n_frames} frames; only the first is used", stacklevel=2)
    if draft is not None and image.format == "JPEG":
        image.draft(image.mode, (draft, draft))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image.load()  # before anything else reads pixels: a decoding error must surface here, not be swallowed
        array = pil_to_array(image)
    except ImageError:
        raise
    except Exception as error:
        raise ImageError(f"{name} is corrupt or truncated: {error}") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PIL warns about malformed EXIF blocks
            orientation = int(image.getexif().get(_EXIF_ORIENTATION, 1))
    except Exception:  # a malformed EXIF block is not worth refusing the image for
        orientation = 1
    if image.format == "PNG":
        _check_png_stream(data, name)
    elif image.format == "JPEG":
        _check_jpeg_stream(data, name, width, height)
    sixteen_bit_png = image.format == "PNG" and len(data) > 24 and data[24] == 16  # IHDR bit depth
    if (sixteen_bit_png or image.format == "TIFF") and array.ndim == 3 and array.dtype == np.uint8:
        array = _decode_16bit_colour(data, array)
    return orient(array, orientation)


def _check_jpeg_stream(data: bytes, name: str, width: int, height: int) -> None:
    """Decode a JPEG's entropy-coded data once more with libjpeg-turbo in strict mode (simplejpeg):
    Pillow's decoder passes over what libjpeg reports as corrupt ("premature end of data segment",
    "extraneous bytes before marker") and fills the rest with grey. At 1/8 scale (every coefficient
    is still Huffman-decoded, which is where damage shows) it costs a fraction of the first decode."""
    try:
        import simplejpeg
    except ImportError:  # the dependency is declared; a trimmed install decodes without the second look
        return
    try:
        simplejpeg.decode_jpeg(data, strict=True, min_width=max(1, width // 8), min_height=max(1, height // 8))
    except ValueError as error:
        raise ImageError(f"{name} is corrupt: {error}") from None


def _check_png_stream(data: bytes, name: str) -> None:
    """Decompress a PNG's pixel data once more, checksum included: decoders stop reading when they
    have their rows, so damage behind valid chunk CRCs can otherwise pass as different pixels."""
    import struct
    import zlib

    position, stream, ended = 8, bytearray(), False
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        chunk = data[position + 4 : position + 8 + length]  # type and data: what the CRC covers
        crc = data[position + 8 + length : position + 12 + length]
        if len(crc) < 4 or struct.unpack(">I", crc)[0] != zlib.crc32(chunk):
            raise ImageError(f"{name} is corrupt: its {kind.decode('latin-1')!r} chunk fails its checksum (or is cut short)")
        if kind == b"IDAT":
            stream += data[position + 8 : position + 8 + length]
        elif kind == b"IEND":
            ended = True
            break
        position += 12 + length
    if not ended:
        raise ImageError(f"{name} is truncated: the PNG ends before its IEND chunk")
    try:
        decompressor, pending = zlib.decompressobj(), bytes(stream)
        while pending and not decompressor.eof:  # at most 16 MB out per call: a zlib bomb never fills memory
            decompressor.decompress(pending, 1 << 24)
            pending = decompressor.unconsumed_tail
        complete = decompressor.eof
    except zlib.error:
        complete = False
    if not complete:
        raise ImageError(f"{name} is corrupt: its compressed pixel data is damaged or incomplete")


def _decode_16bit_colour(data: bytes, decoded_by_pil: np.ndarray) -> np.ndarray:
    """OpenCV's decoding of a PNG/TIFF colour image if it has 16 bits per channel, else PIL's."""
    import cv2

    array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if array is None or array.dtype != np.uint16 or array.shape[:2] != decoded_by_pil.shape[:2] or array.ndim != 3:
        return decoded_by_pil
    return cv2.cvtColor(array, cv2.COLOR_BGRA2RGBA if array.shape[2] == 4 else cv2.COLOR_BGR2RGB)


def check_output_path(path: str | os.PathLike, inputs: tuple[str | os.PathLike, ...] = ()) -> Path:
    """Refuse an output path before any work is done: unknown format, missing folder, or an input file."""
    path = Path(path)
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise ImageError(f"output {path} has an unsupported extension; use one of {', '.join(IMAGE_SUFFIXES)}")
    if not path.parent.is_dir():
        raise ImageError(f"output folder does not exist: {path.parent}")
    if path.is_dir():
        raise ImageError(f"output {path} is a folder, expected a file name")
    for source in inputs:
        if path.exists() and Path(source).exists() and os.path.samefile(path, source):
            raise ImageError(f"output {path} is the input file {source}; refusing to overwrite it")
    return path


@dataclass(frozen=True)
class ImageMetadata:
    """What an output should carry over from its input: the colour profile and EXIF (orientation reset)."""

    icc_profile: bytes | None = None
    exif: bytes | None = None


def read_metadata(path: str | os.PathLike) -> ImageMetadata:
    """The ICC profile and EXIF block of an image file (header only), with the EXIF orientation set
    to 1, since glcic's pixels are already upright. Empty metadata for files without them."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as image:
                exif = image.getexif()
                exif_bytes = None
                if len(exif):
                    exif[_EXIF_ORIENTATION] = 1
                    exif_bytes = exif.tobytes()
                return ImageMetadata(image.info.get("icc_profile"), exif_bytes)
    except Exception:  # noqa: BLE001 - metadata is a courtesy: never a reason to fail
        return ImageMetadata()


def encode_image(array: np.ndarray, suffix: str, metadata: ImageMetadata | None = None, quality: int = 95) -> bytes:
    """Encode an (H, W[, C]) uint8/uint16 RGB[A] array in the format of `suffix`. JPEG and WebP are
    written at `quality` (JPEG with 4:4:4 chroma) and keep `metadata`'s colour profile and EXIF."""
    import cv2

    suffix = suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise ImageError(f"cannot write {suffix or 'a file without an extension'}: choose one of {', '.join(IMAGE_SUFFIXES)}")
    array = np.asarray(array)
    if array.dtype not in (np.uint8, np.uint16):
        raise ImageError(f"images are written from uint8 or uint16 arrays, got {array.dtype}")
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (1, 2, 3, 4))) or 0 in array.shape:
        raise ImageError(f"images are written from (H, W) or (H, W, 1-4) arrays, got shape {array.shape}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 3 and array.shape[2] == 2:  # grey + alpha: written as RGBA
        array = np.concatenate([np.repeat(array[:, :, :1], 3, axis=2), array[:, :, 1:]], axis=2)
    if array.dtype == np.uint16 and suffix not in (".png", ".tif", ".tiff"):
        warnings.warn(f"{suffix} cannot hold 16 bits per channel; writing 8 bits (use .png or .tif to keep 16)")
        array = np.rint(array / 257.0).astype(np.uint8)
    if array.ndim == 3 and array.shape[2] == 4 and suffix in (".jpg", ".jpeg"):
        warnings.warn("JPEG has no alpha channel; dropping it (use .png to keep transparency)")
        array = array[:, :, :3]
    if suffix in (".jpg", ".jpeg", ".webp"):
        from PIL import Image

        metadata = metadata or ImageMetadata()
        options = {"quality": quality}
        if suffix != ".webp":
            options["subsampling"] = 0  # 4:4:4: no chroma blur around the completed region
        if metadata.icc_profile:
            options["icc_profile"] = metadata.icc_profile
        if metadata.exif:
            options["exif"] = metadata.exif
        buffer = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(array)).save(buffer, "JPEG" if suffix != ".webp" else "WEBP", **options)
        return buffer.getvalue()
    if array.ndim == 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGBA2BGRA if array.shape[2] == 4 else cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(suffix, np.ascontiguousarray(array))
    if not ok:
        raise ImageError(f"could not encode the image as {suffix}")
    return encoded.tobytes()


def write_image(path: str | os.PathLike, array: np.ndarray, metadata: ImageMetadata | None = None, quality: int = 95) -> None:
    """Encode and atomically write an image; an existing file is replaced only by a complete one."""
    path = Path(path)
    write_atomic(path, encode_image(array, path.suffix, metadata, quality))


def list_images(folder: str | os.PathLike, recursive: bool = False) -> list[Path]:
    """Image files (by extension) directly in `folder`, or with `recursive` anywhere under it
    (hidden folders skipped, symlinked folders followed once), sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"folder not found: {folder}")
    if not recursive:
        return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    found, seen = [], set()
    for parent, subfolders, files in os.walk(folder, followlinks=True):
        status = os.stat(parent)
        if (status.st_dev, status.st_ino) in seen:  # a symlink loop, or a second link to a folder already read
            subfolders[:] = []
            continue
        seen.add((status.st_dev, status.st_ino))
        links_last = lambda name: (os.path.islink(os.path.join(parent, name)), name)  # noqa: E731 - real folders win
        subfolders[:] = sorted((name for name in subfolders if not name.startswith(".")), key=links_last)
        found += [Path(parent) / name for name in files if Path(name).suffix.lower() in IMAGE_SUFFIXES]
    return sorted(found)
