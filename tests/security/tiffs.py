"""Hand-made hostile TIFFs: little-endian classic TIFF, one 8-bit band, written byte by byte so that headers can
claim what the data does not hold."""

import struct
import zlib
from pathlib import Path

SHORT, LONG = 3, 4


def _ifd(entries: list[tuple[int, int, list[int]]], offset: int) -> tuple[bytes, bytes]:
    """The IFD bytes at ``offset`` and the out-of-line value arrays that follow it."""
    entries = sorted(entries)
    size = 2 + 12 * len(entries) + 4
    extra = b""
    body = struct.pack("<H", len(entries))
    for tag, kind, values in entries:
        fmt = "H" if kind == SHORT else "I"
        packed = struct.pack(f"<{len(values)}{fmt}", *values)
        if len(packed) <= 4:
            body += struct.pack("<HHI", tag, kind, len(values)) + packed.ljust(4, b"\0")
        else:
            body += struct.pack("<HHII", tag, kind, len(values), offset + size + len(extra))
            extra += packed
    return body + struct.pack("<I", 0), extra


def hostile_tiff(
    path: Path, *, width: int, height: int, tile: int | None = None, data: bytes = b"\0" * 64
) -> Path:
    """A TIFF claiming ``width`` x ``height``: one strip holding ``data`` (uncompressed) or, with ``tile``, every
    tile pointing at the same deflated tile of zeros (a decompression bomb)."""
    header = b"II*\x00" + struct.pack("<I", 8)
    if tile:
        data = zlib.compress(b"\0" * tile * tile, 9)
        count = -(-width // tile) * -(-height // tile)
        layout = [(322, LONG, [tile]), (323, LONG, [tile]), (325, LONG, [len(data)] * count)]
        offsets_tag, compression = 324, 8
    else:
        count = 1
        layout = [(278, LONG, [height]), (279, LONG, [len(data)])]
        offsets_tag, compression = 273, 1
    base = [
        (256, LONG, [width]), (257, LONG, [height]), (258, SHORT, [8]), (259, SHORT, [compression]),
        (262, SHORT, [1]), (277, SHORT, [1]), (284, SHORT, [1]), *layout,
    ]  # fmt: skip
    # The data goes after the IFD; its offset depends on the IFD size, which does not depend on the offset.
    probe, probe_extra = _ifd([*base, (offsets_tag, LONG, [0] * count)], 8)
    data_at = 8 + len(probe) + len(probe_extra)
    ifd, extra = _ifd([*base, (offsets_tag, LONG, [data_at] * count)], 8)
    path.write_bytes(header + ifd + extra + data)
    return path
