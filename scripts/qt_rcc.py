"""Read files out of a Qt binary resource (`.rcc`), as GCompris ships its photos.

Format (Qt's rcc, versions 1-3): a 'qres' header (version, tree / data / names offsets, and in v3
flags); a tree of 14-byte (v1) or 22-byte (v2+) nodes: name offset, flags, then for a directory the
child count and first child, for a file the locale and data offset (v2+ adds an 8-byte
modification time); names are a 2-byte length, a 4-byte hash and UTF-16BE text; data is a 4-byte
length and the bytes, zlib-compressed with a 4-byte size prefix (flag 1) or zstd (flag 4).
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

DIRECTORY, COMPRESSED, COMPRESSED_ZSTD = 0x02, 0x01, 0x04


def read_rcc(path: str | Path) -> dict[str, bytes]:
    """Every file in the resource as {"dir/name.ext": bytes}."""
    blob = Path(path).read_bytes()
    if blob[:4] != b"qres":
        raise ValueError(f"{path} is not a Qt resource file")
    version, tree, data, names = struct.unpack(">IIII", blob[4:20])
    node_size = 14 if version == 1 else 22

    def name_at(offset: int) -> str:
        (length,) = struct.unpack(">H", blob[names + offset : names + offset + 2])
        start = names + offset + 6
        return blob[start : start + 2 * length].decode("utf-16-be")

    files: dict[str, bytes] = {}

    def walk(node: int, prefix: str) -> None:
        base = tree + node * node_size
        name_offset, flags = struct.unpack(">IH", blob[base : base + 6])
        name = name_at(name_offset) if node else ""
        path_here = f"{prefix}/{name}" if prefix else name
        if flags & DIRECTORY:
            count, first = struct.unpack(">II", blob[base + 6 : base + 14])
            for child in range(first, first + count):
                walk(child, path_here)
            return
        (offset,) = struct.unpack(">I", blob[base + 10 : base + 14])
        (length,) = struct.unpack(">I", blob[data + offset : data + offset + 4])
        payload = blob[data + offset + 4 : data + offset + 4 + length]
        if flags & COMPRESSED:
            payload = zlib.decompress(payload[4:])
        elif flags & COMPRESSED_ZSTD:
            import zstandard

            payload = zstandard.ZstdDecompressor().decompress(payload)
        files[path_here] = payload

    walk(0, "")
    return files
