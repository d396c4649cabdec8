"""Primitive readers and writers shared by the generated message codecs.

Wire formats (all integers big-endian, as Kafka's protocol guide defines them):

* ``STRING``: int16 length then UTF-8 bytes; ``NULLABLE_STRING`` uses length -1 for null.
* ``COMPACT_STRING``: unsigned varint (length + 1) then bytes; 0 means null.
* ``BYTES`` / ``COMPACT_BYTES`` / ``RECORDS``: the same with an int32 or unsigned-varint length.
* ``ARRAY``: int32 count (-1 null); ``COMPACT_ARRAY``: unsigned varint (count + 1), 0 null.
* ``UNSIGNED_VARINT``: LEB128, at most 5 bytes for the 32-bit values the protocol uses.
* ``UUID``: 16 raw bytes.

Readers take ``(buf, pos)`` and return ``(value, new_pos)``. They never slice or allocate
more than the bytes that remain in ``buf``: every length is compared with ``len(buf) - pos``
before it is used, and any violation raises :class:`protocol.errors.DecodeError`. Fixed-width
fields are read by the generated code with precompiled :class:`struct.Struct` objects, whose
``struct.error`` on short input the top-level decoders turn into ``DecodeError``.
"""

from __future__ import annotations

import struct
from typing import Any, Protocol
from uuid import UUID

from protocol.errors import DecodeError

ZERO_UUID = UUID(int=0)

INT8 = struct.Struct(">b")
INT16 = struct.Struct(">h")
INT32 = struct.Struct(">i")
INT64 = struct.Struct(">q")
UINT16 = struct.Struct(">H")
UINT32 = struct.Struct(">I")
FLOAT64 = struct.Struct(">d")
BOOL = struct.Struct(">?")

# A buffer the readers accept: bytes for whole frames, memoryview for zero-copy slices.
Buffer = bytes | bytearray | memoryview


class RecordsWriter(Protocol):
    """A records value that writes itself (length prefix included) into a response.

    The broker uses this for Fetch responses served from log files: the object reserves its
    place in the output and is later sent with ``sendfile`` instead of being copied.
    """

    def write_records(self, out: bytearray, compact: bool) -> None: ...


def read_uvarint(buf: Buffer, pos: int) -> tuple[int, int]:
    """Read an unsigned varint of at most 5 bytes (a 32-bit value)."""
    result = 0
    shift = 0
    end = len(buf)
    while True:
        if pos >= end:
            raise DecodeError("truncated unsigned varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            if result > 0xFFFFFFFF:
                raise DecodeError("unsigned varint exceeds 32 bits")
            return result, pos
        shift += 7
        if shift >= 35:
            raise DecodeError("unsigned varint longer than 5 bytes")


def write_uvarint(out: bytearray, value: int) -> None:
    if value < 0:
        raise ValueError(f"negative value {value} for unsigned varint")
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def uvarint_size(value: int) -> int:
    size = 1
    while value >= 0x80:
        value >>= 7
        size += 1
    return size


def _check_len(buf: Buffer, pos: int, n: int, what: str) -> int:
    end = pos + n
    if end > len(buf):
        raise DecodeError(f"{what} of length {n} exceeds the {len(buf) - pos} bytes remaining")
    return end


def _utf8(buf: Buffer, pos: int, end: int) -> str:
    try:
        return str(buf[pos:end], "utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"invalid UTF-8 in string: {exc.reason}") from None


# -- strings -------------------------------------------------------------------------------


def read_string(buf: Buffer, pos: int) -> tuple[str, int]:
    (n,) = INT16.unpack_from(buf, pos)
    pos += 2
    if n < 0:
        raise DecodeError("null value for a non-nullable string")
    end = _check_len(buf, pos, n, "string")
    return _utf8(buf, pos, end), end


def read_nullable_string(buf: Buffer, pos: int) -> tuple[str | None, int]:
    (n,) = INT16.unpack_from(buf, pos)
    pos += 2
    if n < 0:
        return None, pos
    end = _check_len(buf, pos, n, "string")
    return _utf8(buf, pos, end), end


def read_compact_string(buf: Buffer, pos: int) -> tuple[str, int]:
    n, pos = read_uvarint(buf, pos)
    if n == 0:
        raise DecodeError("null value for a non-nullable compact string")
    end = _check_len(buf, pos, n - 1, "compact string")
    return _utf8(buf, pos, end), end


def read_compact_nullable_string(buf: Buffer, pos: int) -> tuple[str | None, int]:
    n, pos = read_uvarint(buf, pos)
    if n == 0:
        return None, pos
    end = _check_len(buf, pos, n - 1, "compact string")
    return _utf8(buf, pos, end), end


def write_string(out: bytearray, value: str | None) -> None:
    if value is None:
        out += b"\xff\xff"
        return
    data = value.encode()
    if len(data) > 0x7FFF:
        raise ValueError("string longer than 32767 bytes")
    out += INT16.pack(len(data))
    out += data


def write_compact_string(out: bytearray, value: str | None) -> None:
    if value is None:
        out.append(0)
        return
    data = value.encode()
    write_uvarint(out, len(data) + 1)
    out += data


# -- bytes ---------------------------------------------------------------------------------


def read_bytes(buf: Buffer, pos: int) -> tuple[bytes, int]:
    (n,) = INT32.unpack_from(buf, pos)
    pos += 4
    if n < 0:
        raise DecodeError("null value for non-nullable bytes")
    end = _check_len(buf, pos, n, "bytes")
    return bytes(buf[pos:end]), end


def read_nullable_bytes(buf: Buffer, pos: int) -> tuple[bytes | None, int]:
    (n,) = INT32.unpack_from(buf, pos)
    pos += 4
    if n < 0:
        return None, pos
    end = _check_len(buf, pos, n, "bytes")
    return bytes(buf[pos:end]), end


def read_compact_bytes(buf: Buffer, pos: int) -> tuple[bytes, int]:
    n, pos = read_uvarint(buf, pos)
    if n == 0:
        raise DecodeError("null value for non-nullable compact bytes")
    end = _check_len(buf, pos, n - 1, "compact bytes")
    return bytes(buf[pos:end]), end


def read_compact_nullable_bytes(buf: Buffer, pos: int) -> tuple[bytes | None, int]:
    n, pos = read_uvarint(buf, pos)
    if n == 0:
        return None, pos
    end = _check_len(buf, pos, n - 1, "compact bytes")
    return bytes(buf[pos:end]), end


def write_bytes(out: bytearray, value: Buffer | None) -> None:
    if value is None:
        out += b"\xff\xff\xff\xff"
        return
    out += INT32.pack(len(value))
    out += value


def write_compact_bytes(out: bytearray, value: Buffer | None) -> None:
    if value is None:
        out.append(0)
        return
    write_uvarint(out, len(value) + 1)
    out += value


# -- records -------------------------------------------------------------------------------
# A records field decodes to a slice of the input buffer: a memoryview slice when the frame was
# given as a memoryview (no copy on the produce path), bytes otherwise.


def read_records(buf: Buffer, pos: int) -> tuple[Any, int]:
    (n,) = INT32.unpack_from(buf, pos)
    pos += 4
    if n < 0:
        return None, pos
    end = _check_len(buf, pos, n, "records")
    return buf[pos:end], end


def read_compact_records(buf: Buffer, pos: int) -> tuple[Any, int]:
    n, pos = read_uvarint(buf, pos)
    if n == 0:
        return None, pos
    end = _check_len(buf, pos, n - 1, "compact records")
    return buf[pos:end], end


def write_records(out: bytearray, value: Any) -> None:
    if value is None or isinstance(value, bytes | bytearray | memoryview):
        write_bytes(out, value)
    else:
        value.write_records(out, False)


def write_compact_records(out: bytearray, value: Any) -> None:
    if value is None or isinstance(value, bytes | bytearray | memoryview):
        write_compact_bytes(out, value)
    else:
        value.write_records(out, True)


# -- uuids, arrays, tagged fields ----------------------------------------------------------


def read_uuid(buf: Buffer, pos: int) -> tuple[UUID, int]:
    end = _check_len(buf, pos, 16, "uuid")
    return UUID(bytes=bytes(buf[pos:end])), end


def array_too_long(count: int, remaining: int) -> None:
    """Generated decoders call this when an array count cannot fit in the remaining bytes."""
    raise DecodeError(f"array of {count} elements exceeds the {remaining} bytes remaining")


def read_tag_header(buf: Buffer, pos: int) -> tuple[int, int, int]:
    """Read one tagged field's tag and size; returns (tag, start, end) of its value."""
    tag, pos = read_uvarint(buf, pos)
    size, pos = read_uvarint(buf, pos)
    end = _check_len(buf, pos, size, "tagged field")
    return tag, pos, end


def read_tag_count(buf: Buffer, pos: int) -> tuple[int, int]:
    n, pos = read_uvarint(buf, pos)
    if n > len(buf) - pos:
        raise DecodeError(f"{n} tagged fields exceed the {len(buf) - pos} bytes remaining")
    return n, pos


def check_tag_end(pos: int, end: int) -> None:
    if pos > end:
        raise DecodeError("tagged field value overruns its declared size")


def write_tagged(out: bytearray, tag: int, value: bytes | bytearray) -> None:
    write_uvarint(out, tag)
    write_uvarint(out, len(value))
    out += value
