"""Compression codecs for Kafka RecordBatch v2 payloads, via ``cramjam``.

The codec id is the low three bits of the batch ``attributes`` field:

=====  ========  ============================================================================
id     codec     wire format (what Kafka's Java client writes and what we accept)
=====  ========  ============================================================================
0      none      the record bytes as they are
1      gzip      RFC 1952 gzip; several concatenated members are accepted when decoding
2      snappy    *xerial* snappy-java framing (``\\x82SNAPPY\\x00``, int32 version, int32
                 compat, then blocks each prefixed by a big-endian int32 length, each block a
                 raw snappy block of at most 32 KiB input).  Decoding also accepts a plain raw
                 snappy block (librdkafka and some other clients write that).
3      lz4       LZ4 *frame* format with independent blocks (Java's ``Lz4BlockInputStream``
                 rejects linked blocks); concatenated frames are accepted when decoding
4      zstd      Zstandard frame(s)
=====  ========  ============================================================================

Errors: garbage input never leaks a ``cramjam`` exception; it surfaces as
:class:`protocol.records.InvalidRecordError` (a :class:`protocol.errors.DecodeError`), which the
broker maps to Kafka's ``INVALID_RECORD``.  By the time a payload is decompressed its batch CRC has
normally been checked, so a payload that does not decompress is invalid content rather than
transport corruption.  An unknown codec id (5-7) is an ``InvalidRecordError`` as well.

Decompression bombs: every ``decompress`` call is bounded by ``max_size`` (default
:data:`DEFAULT_MAX_DECOMPRESSED_SIZE`, 256 MiB).  ``cramjam`` has no bounded streaming decoder, so
for gzip, lz4 and zstd we decompress *into a preallocated buffer*: ``cramjam`` fails with "failed
to write whole buffer" when the output does not fit, and we retry with a buffer four times larger
up to ``max_size + 1`` bytes; a payload that does not fit in that is rejected.  Peak memory is
about twice ``max_size`` (the work buffer plus the returned copy), and the work wasted on retries
is at most a third of the final decompression.  The first guess is the gzip ISIZE trailer when
deflate could really produce it (at most ~1032 times the input; the trailer is attacker-controlled),
otherwise eight times the compressed size (at least 64 KiB).  For snappy the exact uncompressed
length of every raw block is read from its header before it is decompressed, so the bound is
checked up front.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import NoReturn

import cramjam

__all__ = [
    "CODEC_GZIP",
    "CODEC_LZ4",
    "CODEC_NAMES",
    "CODEC_NONE",
    "CODEC_SNAPPY",
    "CODEC_ZSTD",
    "DEFAULT_MAX_DECOMPRESSED_SIZE",
    "XERIAL_BLOCK_SIZE",
    "XERIAL_HEADER",
    "XERIAL_MAGIC",
    "compress",
    "decompress",
    "snappy_decompress",
    "xerial_snappy_compress",
]

Buffer = bytes | bytearray | memoryview

CODEC_NONE = 0
CODEC_GZIP = 1
CODEC_SNAPPY = 2
CODEC_LZ4 = 3
CODEC_ZSTD = 4
CODEC_NAMES: dict[int, str] = {
    CODEC_NONE: "none",
    CODEC_GZIP: "gzip",
    CODEC_SNAPPY: "snappy",
    CODEC_LZ4: "lz4",
    CODEC_ZSTD: "zstd",
}

DEFAULT_MAX_DECOMPRESSED_SIZE = 256 * 1024 * 1024
"""Upper bound on one batch's decompressed payload unless the caller passes ``max_size``."""

XERIAL_MAGIC = b"\x82SNAPPY\x00"
XERIAL_HEADER = XERIAL_MAGIC + struct.pack(">ii", 1, 1)  # magic, version 1, min-compatible 1
XERIAL_BLOCK_SIZE = 32 * 1024  # snappy-java's default block size (uncompressed bytes per block)

ZSTD_DEFAULT_LEVEL = 3  # Kafka's compression.zstd.level default

_INT32 = struct.Struct(">i")
_MIN_GUESS = 64 * 1024
_GROWTH = 4
_TOO_SMALL = "failed to write whole buffer"  # cramjam's message when the output buffer is full


def _fail(reason: str, cause: BaseException | None = None) -> NoReturn:
    # Imported here: protocol.records imports this module, and owns the exception hierarchy.
    from protocol.records import InvalidRecordError

    raise InvalidRecordError(reason) from cause


def compress(codec: int, data: Buffer, *, level: int | None = None) -> bytes:
    """Compress ``data`` with codec ``codec`` in the format Kafka's Java client writes.

    ``level`` is passed to the codec where it has one (ignored for none and snappy).  Raises
    ``ValueError`` for an unknown codec id: that is a programming error, not bad input.
    """
    if codec == CODEC_NONE:
        return bytes(data)
    if codec == CODEC_GZIP:
        return bytes(cramjam.gzip.compress(data, level=level))
    if codec == CODEC_SNAPPY:
        return xerial_snappy_compress(data)
    if codec == CODEC_LZ4:
        compressor = cramjam.lz4.Compressor(level=level, content_checksum=False, block_linked=False)
        compressor.compress(data if isinstance(data, bytes) else bytes(data))  # wants exactly bytes
        return bytes(compressor.finish())
    if codec == CODEC_ZSTD:
        return bytes(cramjam.zstd.compress(data, level=ZSTD_DEFAULT_LEVEL if level is None else level))
    raise ValueError(f"unknown compression codec id {codec}")


def decompress(codec: int, data: Buffer, *, max_size: int = DEFAULT_MAX_DECOMPRESSED_SIZE) -> bytes:
    """Decompress a batch payload; raise ``InvalidRecordError`` on garbage or past ``max_size``."""
    if codec == CODEC_NONE:
        if len(data) > max_size:
            _fail(f"payload of {len(data)} bytes exceeds the limit of {max_size} bytes")
        return bytes(data)
    if codec == CODEC_SNAPPY:
        return snappy_decompress(data, max_size=max_size)
    if codec == CODEC_GZIP:
        return _bounded(cramjam.gzip.decompress_into, "gzip", data, _gzip_size_hint(data), max_size)
    if codec == CODEC_LZ4:
        return _bounded(cramjam.lz4.decompress_into, "lz4", data, None, max_size)
    if codec == CODEC_ZSTD:
        return _bounded(cramjam.zstd.decompress_into, "zstd", data, None, max_size)
    _fail(f"unknown compression codec id {codec}")


_DEFLATE_MAX_RATIO = 1032  # deflate cannot expand input by more than about 1032:1


def _gzip_size_hint(data: Buffer) -> int | None:
    # ISIZE: the uncompressed size (mod 2**32) of the last member, little-endian, in the last 4 bytes.
    # It is attacker-controlled, so it is only trusted when deflate could actually produce it:
    # otherwise an 18-byte payload could make us allocate (and zero) ``max_size`` bytes.
    if len(data) < 18:
        return None
    hint = int.from_bytes(bytes(data[-4:]), "little")
    return hint if hint <= len(data) * _DEFLATE_MAX_RATIO else None


def _bounded(
    decompress_into: Callable[[Buffer, bytearray], int],
    name: str,
    data: Buffer,
    hint: int | None,
    max_size: int,
) -> bytes:
    if len(data) == 0:
        _fail(f"empty {name} payload")
    if hint is not None and 0 < hint <= max_size:
        size = hint
    else:
        size = min(max(len(data) * 8, _MIN_GUESS), max_size + 1)
    while True:
        out = bytearray(size)
        try:
            n = decompress_into(data, out)
        except Exception as exc:
            if _TOO_SMALL in str(exc):
                if size > max_size:
                    _fail(f"{name} payload decompresses to more than the limit of {max_size} bytes", exc)
                size = min(size * _GROWTH, max_size + 1)
                continue
            _fail(f"malformed {name} payload: {exc}", exc)
        if not isinstance(n, int) or n > size:  # pragma: no cover - defensive against API drift
            _fail(f"{name} decompressor returned an unexpected length {n!r}")
        if n > max_size:
            _fail(f"{name} payload decompresses to more than the limit of {max_size} bytes")
        del out[n:]
        return bytes(out)


def xerial_snappy_compress(data: Buffer, block_size: int = XERIAL_BLOCK_SIZE) -> bytes:
    """Snappy with the xerial snappy-java stream framing, as Kafka's Java producer writes it."""
    view = memoryview(data)
    parts = [XERIAL_HEADER]
    for start in range(0, len(view), block_size):
        block = bytes(cramjam.snappy.compress_raw(view[start : start + block_size]))
        parts.append(_INT32.pack(len(block)))
        parts.append(block)
    return b"".join(parts)


def snappy_decompress(data: Buffer, *, max_size: int = DEFAULT_MAX_DECOMPRESSED_SIZE) -> bytes:
    """Decode xerial-framed snappy, or a single raw snappy block when the xerial magic is absent.

    The version/compat ints of the xerial header are not checked (snappy-java only ever wrote 1/1,
    and some producers are known to write them little-endian).
    """
    view = memoryview(data)
    if len(view) >= len(XERIAL_HEADER) and view[: len(XERIAL_MAGIC)] == XERIAL_MAGIC:
        parts: list[bytes] = []
        total = 0
        pos = len(XERIAL_HEADER)
        end = len(view)
        while pos < end:
            if end - pos < 4:
                _fail(f"xerial snappy: truncated block length at payload byte {pos}")
            (block_len,) = _INT32.unpack_from(view, pos)
            pos += 4
            if block_len < 0 or block_len > end - pos:
                _fail(
                    f"xerial snappy: block length {block_len} at payload byte {pos - 4} "
                    f"exceeds the {end - pos} remaining bytes"
                )
            block = _snappy_raw(view[pos : pos + block_len], max_size - total)
            total += len(block)
            parts.append(block)
            pos += block_len
        return b"".join(parts)
    return _snappy_raw(view, max_size)


def _snappy_raw(block: memoryview, budget: int) -> bytes:
    try:
        declared = cramjam.snappy.decompress_raw_len(block)
    except Exception as exc:
        _fail(f"malformed snappy block: {exc}", exc)
    if declared > budget:
        _fail(f"snappy payload decompresses to more than the limit (block declares {declared} bytes)")
    try:
        out = bytes(cramjam.snappy.decompress_raw(block))
    except Exception as exc:
        _fail(f"malformed snappy block: {exc}", exc)
    if len(out) != declared:  # pragma: no cover - the snappy decoder enforces this itself
        _fail(f"snappy block declared {declared} bytes but produced {len(out)}")
    return out
