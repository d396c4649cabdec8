"""Walking the record batches of a segment file with few system calls.

The log file is a plain concatenation of v2 record batches (see :mod:`protocol.records`).  These
generators read it in chunks with ``pread`` (no shared file position, so they are safe next to
appends and ``sendfile``) and yield ``(position, header)`` or ``(position, header, bytes)``.

``strict=False`` (reads of data that recovery already validated): a batch that runs past ``end``
ends the iteration quietly.  ``strict=True`` (recovery): any framing problem — fewer bytes than a
header, a length past ``end``, a bad magic or length, and with ``verify`` a CRC mismatch — raises
:class:`~protocol.records.CorruptRecordError` whose ``position`` attribute is the byte where the
valid prefix ends.
"""

from __future__ import annotations

from collections.abc import Iterator

from protocol.errors import DecodeError
from protocol.records import (
    HEADER_SIZE,
    LOG_OVERHEAD,
    BatchHeader,
    CorruptRecordError,
    read_batch_header,
    verify_crc,
)
from storage.file_slice import SegmentFile

__all__ = ["SCAN_CHUNK", "BatchScanError", "iter_file_batches", "iter_file_headers"]

SCAN_CHUNK = 64 * 1024
DATA_CHUNK = 1024 * 1024


class BatchScanError(CorruptRecordError):
    """A strict scan found the end of the valid prefix at ``position``."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


def _fail(strict: bool, message: str, position: int) -> None:
    if strict:
        raise BatchScanError(message, position)


def iter_file_headers(
    file: SegmentFile, start: int, end: int, *, strict: bool = False
) -> Iterator[tuple[int, BatchHeader]]:
    """Yield ``(position, header)`` of each batch in ``[start, end)`` (headers only)."""
    pos = start
    buf = b""
    buf_start = start
    want = SCAN_CHUNK
    while pos < end:
        rel = pos - buf_start
        if rel < 0 or rel + HEADER_SIZE > len(buf):
            buf = file.pread(min(want, end - pos), pos)
            buf_start = pos
            rel = 0
            if len(buf) < HEADER_SIZE:
                _fail(strict, f"truncated batch header at byte {pos}: {len(buf)} bytes left", pos)
                return
        try:
            header = read_batch_header(buf, rel)
        except DecodeError as exc:
            if strict:
                raise BatchScanError(f"at byte {pos}: {exc}", pos) from exc
            raise
        size = header.size
        if pos + size > end:
            _fail(strict, f"truncated batch at byte {pos}: size {size} but only {end - pos} bytes left", pos)
            return
        yield pos, header
        pos += size
        want = HEADER_SIZE if size > SCAN_CHUNK else SCAN_CHUNK


def iter_file_batches(
    file: SegmentFile, start: int, end: int, *, strict: bool = False, verify: bool = False
) -> Iterator[tuple[int, BatchHeader, memoryview]]:
    """Yield ``(position, header, batch bytes)`` of each batch in ``[start, end)``.

    The memoryview is only valid until the next iteration step's data is requested (it points
    into a chunk buffer); copy it to keep it.  With ``verify`` each CRC is checked.
    """
    pos = start
    buf = memoryview(b"")
    buf_start = start
    while pos < end:
        rel = pos - buf_start
        remaining_in_buf = len(buf) - rel
        if rel < 0 or remaining_in_buf < LOG_OVERHEAD or remaining_in_buf < HEADER_SIZE:
            buf = memoryview(file.pread(min(DATA_CHUNK, end - pos), pos))
            buf_start = pos
            rel = 0
            if len(buf) < HEADER_SIZE:
                _fail(strict, f"truncated batch header at byte {pos}: {len(buf)} bytes left", pos)
                return
        try:
            header = read_batch_header(buf, rel)
        except DecodeError as exc:
            if strict:
                raise BatchScanError(f"at byte {pos}: {exc}", pos) from exc
            raise
        size = header.size
        if pos + size > end:
            _fail(strict, f"truncated batch at byte {pos}: size {size} but only {end - pos} bytes left", pos)
            return
        if rel + size > len(buf):
            if size <= DATA_CHUNK:
                # refill the chunk from this batch on, so the following batches come from memory
                buf = memoryview(file.pread(min(DATA_CHUNK, end - pos), pos))
                buf_start = pos
                rel = 0
            else:
                buf = memoryview(file.pread(size, pos))
                buf_start = pos
                rel = 0
            if len(buf) < size:
                _fail(strict, f"short read of the batch at byte {pos}", pos)
                return
            view = buf[:size]
        else:
            view = buf[rel : rel + size]
        if verify:
            try:
                verify_crc(view, 0, header)
            except DecodeError as exc:
                if strict:
                    raise BatchScanError(f"at byte {pos}: {exc}", pos) from exc
                raise
        yield pos, header, view
        pos += size
