"""TFRecord files without TensorFlow: record framing and its masked CRC32C checksums.

Each record is ``uint64 LE length | uint32 LE masked CRC32C(length bytes) | payload |
uint32 LE masked CRC32C(payload)``, with masked(c) = ((c >> 15 | c << 17) + 0xa282ead8) mod 2^32.

CRC32C comes from the ``crc32c`` package (hardware accelerated) or ``google-crc32c`` when one is
installed; otherwise a pure-Python table implementation is used, which is correct but reads
only about 1 MB/s (the official NB101 file would take minutes: install ``crc32c``).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Callable, Iterator, Tuple, Union

from nasbench_cli.errors import DataCorruptError

HEADER = struct.Struct("<QI")
FOOTER = struct.Struct("<I")
HEADER_SIZE, FOOTER_SIZE = HEADER.size, FOOTER.size
_MASK_DELTA = 0xA282EAD8
_POLY = 0x82F63B78  # CRC-32C (Castagnoli), reflected
CHUNK_SIZE = 1 << 24


def _table() -> Tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE = _table()


def crc32c_python(data: bytes) -> int:
    """CRC-32C of ``data`` in pure Python (fallback; slow)."""
    crc = 0xFFFFFFFF
    table = _TABLE
    for byte in bytes(data):
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _find_crc32c() -> Tuple[Callable[[bytes], int], str]:
    try:
        from crc32c import crc32c as fast

        return fast, "crc32c"
    except ImportError:
        pass
    try:
        import google_crc32c

        return google_crc32c.value, "google-crc32c"
    except ImportError:
        return crc32c_python, "pure Python (slow: pip install crc32c)"


crc32c, CRC_BACKEND = _find_crc32c()


def mask(crc: int) -> int:
    """The TFRecord masking of a CRC (so that CRCs of data containing CRCs stay strong)."""
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def masked_crc(data: bytes) -> int:
    return mask(crc32c(data))


def frame(payload: bytes) -> bytes:
    """One framed record."""
    length = struct.pack("<Q", len(payload))
    return length + FOOTER.pack(masked_crc(length)) + payload + FOOTER.pack(masked_crc(payload))


def _damaged(path: Path, offset: int, what: str) -> DataCorruptError:
    return DataCorruptError(f"{path}: record at byte offset {offset}: {what} fails its CRC check (damaged file?)")


def _truncated(path: Path, offset: int, why: str) -> DataCorruptError:
    return DataCorruptError(f"{path}: truncated record at byte offset {offset}: {why} (incomplete download?)")


def iter_records(
    path: Union[str, Path], chunk_size: int = CHUNK_SIZE, progress: Callable[[int], None] = lambda n: None
) -> Iterator[Tuple[int, memoryview]]:
    """Yield (byte offset of the record, payload) for every record, checking both CRCs.

    Reads ``chunk_size`` bytes at a time, so memory stays bounded whatever the file size;
    ``progress(n)`` is called with the number of bytes consumed after each chunk. A payload is a
    view into its chunk (no copy) and keeps that chunk alive: copy it (``bytes(payload)``) to keep
    it. DataCorruptError names the file and the record's byte offset.
    """
    path = Path(path)
    length_crcs = {}  # payload lengths repeat: cache the masked CRC of each 8-byte length field
    from nasbench_cli.untrusted import open_regular

    with open_regular(path, "NAS-Bench-101 .tfrecord") as handle:
        file_size = os.fstat(handle.fileno()).st_size
        data = b""
        base = 0  # file offset of data[0]
        while True:
            chunk = handle.read(chunk_size)
            data = data + chunk if data else chunk
            view = memoryview(data)
            size, pos = len(data), 0
            while size - pos >= HEADER_SIZE:
                length, length_crc = HEADER.unpack_from(data, pos)
                expected = length_crcs.get(length)
                if expected is None:
                    expected = masked_crc(data[pos : pos + 8])
                    if expected == length_crc:
                        length_crcs[length] = expected
                if length_crc != expected:
                    raise _damaged(path, base + pos, "length field")
                start = pos + HEADER_SIZE
                stop = start + length
                if stop + FOOTER_SIZE > size:
                    if base + stop + FOOTER_SIZE > file_size:
                        raise _truncated(path, base + pos, f"it needs {HEADER_SIZE + length + FOOTER_SIZE} bytes, "
                                                           f"the file has {file_size - base - pos} left")
                    break  # record continues in the next chunk
                payload = view[start:stop]
                crc = crc32c(payload)  # masking inlined: this runs once per record
                if FOOTER.unpack_from(data, stop)[0] != (
                    ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF
                ):
                    raise _damaged(path, base + pos, f"payload of {length} bytes")
                yield base + pos, payload
                pos = stop + FOOTER_SIZE
            progress(pos)
            base += pos
            data = data[pos:]
            if not chunk:
                if data:
                    raise _truncated(path, base, f"{len(data)} byte(s) at the end of the file do not form a "
                                                 "whole record")
                return
