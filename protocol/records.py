"""Kafka RecordBatch v2 (magic 2): parse, validate, patch in place, decode and build. Sans-IO.

Wire and on-disk format
=======================

A *records* blob (the ``records`` field of a Produce request or Fetch response, and the content of
a log segment) is zero or more record batches laid end to end, with no count or padding.  Each
batch is a 61-byte big-endian header followed by its records::

    offset  size  field
    ------  ----  -----------------------------------------------------------------------
         0  int64   baseOffset            offset of the first record (assigned by the broker)
         8  int32   batchLength           bytes *after* this field: total size - 12
        12  int32   partitionLeaderEpoch  set by the broker; not covered by the CRC
        16  int8    magic                 2 (0 and 1 are the legacy message-set formats)
        17  uint32  crc                   CRC-32C of bytes [21, end of batch)
        21  int16   attributes            bits 0-2 codec (0 none, 1 gzip, 2 snappy, 3 lz4,
                                          4 zstd), bit 3 timestamp type (1 = LogAppendTime),
                                          bit 4 transactional, bit 5 control,
                                          bit 6 hasDeleteHorizonMs (baseTimestamp is the
                                          compaction delete horizon)
        23  int32   lastOffsetDelta       last record offset - baseOffset
        27  int64   baseTimestamp         timestamp that record timestamp deltas are relative to
        35  int64   maxTimestamp          largest record timestamp (or the LogAppendTime)
        43  int64   producerId            -1 when not idempotent
        51  int16   producerEpoch         -1 when not idempotent
        53  int32   baseSequence          -1 when not idempotent
        57  int32   recordsCount
        61  ...     records               compressed as a whole when the codec is not none

Each record is varint-framed (protobuf zig-zag varints: varint = 32-bit, varlong = 64-bit)::

    length: varint            bytes of the rest of this record
    attributes: int8          unused, 0
    timestampDelta: varlong   timestamp - baseTimestamp
    offsetDelta: varint       offset - baseOffset
    keyLength: varint         negative (-1) = null key
    key: bytes
    valueLength: varint       negative (-1) = null value
    value: bytes
    headersCount: varint
    headers: [headerKeyLength: varint (>= 0), headerKey: UTF-8,
              headerValueLength: varint (negative = null), headerValue: bytes]

Control batches (bit 5) hold one control record whose key is ``version: int16, type: int16``
(0 = abort, 1 = commit) and, for transaction markers, whose value is
``version: int16, coordinatorEpoch: int32``.

Invariants this module relies on and enforces
=============================================

* ``batchLength >= 49`` (a batch is at least its 61-byte header) and the batch lies inside the
  buffer; a blob is consumed exactly, batch after batch.  A torn or truncated batch and a CRC
  mismatch are :class:`CorruptRecordError` (Kafka ``CORRUPT_MESSAGE``).  Magic 0/1 is
  :class:`UnsupportedMagicError`; any other magic but 2 is corrupt.
* The CRC covers attributes to the end of the batch, so ``baseOffset`` and
  ``partitionLeaderEpoch`` can be patched in place without touching it.  Anything else we patch
  (the timestamp type and ``maxTimestamp`` for LogAppendTime topics) recomputes the CRC.  The
  broker never re-encodes a client batch.
* A batch whose CRC is right but whose content is not (negative or wrong record count, bad
  varint, a length past the end of its record, trailing bytes, undecompressable payload,
  unknown codec) is :class:`InvalidRecordError` (Kafka ``INVALID_RECORD``).
* Every length read from the input is checked against the bytes that remain before slicing, so
  the only exceptions that escape a decoder here are :class:`protocol.errors.DecodeError`
  subclasses.  Decompression is bounded (see :mod:`protocol.compression`).

Decoding follows Kafka's Java ``DefaultRecord`` where the format leaves room: any negative
key/value length means null, header keys are decoded leniently (``surrogateescape``, so that
re-encoding reproduces the original bytes), and in a LogAppendTime batch every record's
timestamp is the batch ``maxTimestamp``.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import crc32c

from protocol import compression as _compression
from protocol.compression import (
    CODEC_GZIP,
    CODEC_LZ4,
    CODEC_NONE,
    CODEC_SNAPPY,
    CODEC_ZSTD,
    DEFAULT_MAX_DECOMPRESSED_SIZE,
)
from protocol.errors import DecodeError

__all__ = [
    "ATTRIBUTES_OFFSET",
    "BASE_OFFSET_OFFSET",
    "BASE_SEQUENCE_OFFSET",
    "BASE_TIMESTAMP_OFFSET",
    "BATCH_LENGTH_OFFSET",
    "CODEC_GZIP",
    "CODEC_LZ4",
    "CODEC_NONE",
    "CODEC_SNAPPY",
    "CODEC_ZSTD",
    "COMPRESSION_CODEC_MASK",
    "CONTROL_FLAG_MASK",
    "CONTROL_TYPE_ABORT",
    "CONTROL_TYPE_COMMIT",
    "CRC_OFFSET",
    "DELETE_HORIZON_FLAG_MASK",
    "HEADER_SIZE",
    "LAST_OFFSET_DELTA_OFFSET",
    "LOG_OVERHEAD",
    "MAGIC_OFFSET",
    "MAGIC_V2",
    "MAX_TIMESTAMP_OFFSET",
    "MIN_BATCH_LENGTH",
    "NO_PARTITION_LEADER_EPOCH",
    "NO_PRODUCER_EPOCH",
    "NO_PRODUCER_ID",
    "NO_SEQUENCE",
    "NO_TIMESTAMP",
    "PARTITION_LEADER_EPOCH_OFFSET",
    "PRODUCER_EPOCH_OFFSET",
    "PRODUCER_ID_OFFSET",
    "RECORDS_COUNT_OFFSET",
    "RECORDS_OFFSET",
    "TIMESTAMP_TYPE_CREATE_TIME",
    "TIMESTAMP_TYPE_LOG_APPEND_TIME",
    "TIMESTAMP_TYPE_MASK",
    "TRANSACTIONAL_FLAG_MASK",
    "BatchHeader",
    "CorruptRecordError",
    "EndTxnMarker",
    "InvalidRecordError",
    "Record",
    "RecordSpec",
    "UnsupportedMagicError",
    "build_batch",
    "build_end_txn_marker_batch",
    "compute_crc",
    "decode_records",
    "encode_control_key",
    "encode_end_txn_marker_value",
    "iter_batch_headers",
    "iter_batches",
    "iter_records",
    "parse_control_key",
    "parse_end_txn_marker",
    "read_batch_header",
    "set_base_offset",
    "set_log_append_time",
    "set_max_timestamp",
    "set_partition_leader_epoch",
    "split_batches",
    "validate_client_batch",
    "verify_crc",
]

Buffer = bytes | bytearray | memoryview
WritableBuffer = bytearray | memoryview
Header = tuple[str, bytes | None]

# --------------------------------------------------------------------------------------------
# Layout constants
# --------------------------------------------------------------------------------------------

BASE_OFFSET_OFFSET = 0  # int64
BATCH_LENGTH_OFFSET = 8  # int32
PARTITION_LEADER_EPOCH_OFFSET = 12  # int32
MAGIC_OFFSET = 16  # int8
CRC_OFFSET = 17  # uint32
ATTRIBUTES_OFFSET = 21  # int16
LAST_OFFSET_DELTA_OFFSET = 23  # int32
BASE_TIMESTAMP_OFFSET = 27  # int64
MAX_TIMESTAMP_OFFSET = 35  # int64
PRODUCER_ID_OFFSET = 43  # int64
PRODUCER_EPOCH_OFFSET = 51  # int16
BASE_SEQUENCE_OFFSET = 53  # int32
RECORDS_COUNT_OFFSET = 57  # int32
RECORDS_OFFSET = 61
HEADER_SIZE = 61  # a.k.a. RECORD_BATCH_OVERHEAD
LOG_OVERHEAD = 12  # baseOffset + batchLength: the part of a batch that batchLength does not count
MIN_BATCH_LENGTH = HEADER_SIZE - LOG_OVERHEAD  # 49

MAGIC_V2 = 2

COMPRESSION_CODEC_MASK = 0x07
TIMESTAMP_TYPE_MASK = 0x08
TRANSACTIONAL_FLAG_MASK = 0x10
CONTROL_FLAG_MASK = 0x20
DELETE_HORIZON_FLAG_MASK = 0x40

TIMESTAMP_TYPE_CREATE_TIME = 0
TIMESTAMP_TYPE_LOG_APPEND_TIME = 1

NO_PRODUCER_ID = -1
NO_PRODUCER_EPOCH = -1
NO_SEQUENCE = -1
NO_PARTITION_LEADER_EPOCH = -1
NO_TIMESTAMP = -1

CONTROL_TYPE_ABORT = 0
CONTROL_TYPE_COMMIT = 1

_INT32_MAX = 2**31 - 1
_MIN_RECORD_SIZE = 7  # length, attributes, ts delta, offset delta, key len, value len, header count

_HEADER_STRUCT = struct.Struct(">qiibIhiqqqhii")
_INT64 = struct.Struct(">q")
_INT32 = struct.Struct(">i")
_UINT32 = struct.Struct(">I")
_INT16 = struct.Struct(">h")
_CONTROL_KEY = struct.Struct(">hh")
_END_TXN_VALUE = struct.Struct(">hi")

assert _HEADER_STRUCT.size == HEADER_SIZE


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class CorruptRecordError(DecodeError):
    """Bytes damaged in transit or storage: CRC mismatch, torn/truncated batch, bad framing.

    Maps to Kafka's ``CORRUPT_MESSAGE`` error code.
    """


class InvalidRecordError(DecodeError):
    """CRC is fine but the content breaks the format: counts, varints, lengths, payload.

    Maps to Kafka's ``INVALID_RECORD`` error code.
    """


class UnsupportedMagicError(DecodeError):
    """A legacy message set (magic 0 or 1); this broker speaks only magic 2."""

    def __init__(self, magic: int, pos: int) -> None:
        super().__init__(
            f"unsupported message format: magic {magic} at byte {pos} (only magic 2 is supported)"
        )
        self.magic = magic


# --------------------------------------------------------------------------------------------
# Batch header
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BatchHeader:
    """The 61-byte header of one record batch, decoded."""

    base_offset: int
    batch_length: int
    partition_leader_epoch: int
    magic: int
    crc: int
    attributes: int
    last_offset_delta: int
    base_timestamp: int
    max_timestamp: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    records_count: int

    @property
    def size(self) -> int:
        """Total bytes of the batch, header included."""
        return self.batch_length + LOG_OVERHEAD

    @property
    def last_offset(self) -> int:
        return self.base_offset + self.last_offset_delta

    @property
    def next_offset(self) -> int:
        return self.last_offset + 1

    @property
    def compression(self) -> int:
        """Codec id, bits 0-2 of the attributes (may be an unknown 5-7 in hostile input)."""
        return self.attributes & COMPRESSION_CODEC_MASK

    @property
    def timestamp_type(self) -> int:
        """0 = CreateTime, 1 = LogAppendTime."""
        return (self.attributes & TIMESTAMP_TYPE_MASK) >> 3

    @property
    def is_transactional(self) -> bool:
        return bool(self.attributes & TRANSACTIONAL_FLAG_MASK)

    @property
    def is_control(self) -> bool:
        return bool(self.attributes & CONTROL_FLAG_MASK)

    @property
    def has_delete_horizon(self) -> bool:
        return bool(self.attributes & DELETE_HORIZON_FLAG_MASK)

    @property
    def delete_horizon_ms(self) -> int | None:
        """The compaction delete horizon (stored in base_timestamp) if the flag is set."""
        return self.base_timestamp if self.has_delete_horizon else None

    @property
    def has_producer_id(self) -> bool:
        return self.producer_id >= 0

    @property
    def last_sequence(self) -> int:
        """Sequence of the last record, wrapping past int32 max like Kafka; -1 if none."""
        if self.base_sequence == NO_SEQUENCE:
            return NO_SEQUENCE
        return (self.base_sequence + self.last_offset_delta) % (_INT32_MAX + 1)

    @property
    def payload_size(self) -> int:
        """Bytes after the header (the possibly compressed records)."""
        return self.batch_length - MIN_BATCH_LENGTH


def _check_magic(buf: Buffer, pos: int) -> None:
    magic = struct.unpack_from(">b", buf, pos + MAGIC_OFFSET)[0]
    if magic != MAGIC_V2:
        if magic in (0, 1):
            raise UnsupportedMagicError(magic, pos)
        raise CorruptRecordError(f"invalid magic {magic} in batch at byte {pos}")


def read_batch_header(buf: Buffer, pos: int = 0) -> BatchHeader:
    """Decode the batch header at ``buf[pos:]``; the records need not be present.

    Raises :class:`UnsupportedMagicError` for magic 0/1, :class:`CorruptRecordError` for fewer than
    61 bytes, another magic, or a ``batchLength`` below 49.
    """
    available = len(buf) - pos
    if pos < 0 or available < HEADER_SIZE:
        if pos >= 0 and available > MAGIC_OFFSET:
            _check_magic(buf, pos)
        raise CorruptRecordError(
            f"truncated batch header at byte {pos}: {max(available, 0)} bytes, need {HEADER_SIZE}"
        )
    header = BatchHeader(*_HEADER_STRUCT.unpack_from(buf, pos))
    if header.magic != MAGIC_V2:
        _check_magic(buf, pos)
    if header.batch_length < MIN_BATCH_LENGTH:
        raise CorruptRecordError(
            f"batch at byte {pos} has length {header.batch_length}, "
            f"smaller than the minimum {MIN_BATCH_LENGTH}"
        )
    return header


# --------------------------------------------------------------------------------------------
# Splitting a records blob into batches
# --------------------------------------------------------------------------------------------


def iter_batches(
    buf: Buffer, *, verify: bool = False, allow_partial_tail: bool = False
) -> Iterator[tuple[int, BatchHeader]]:
    """Yield ``(position, header)`` for each batch in a records blob, validating the framing.

    With ``verify`` the CRC of each batch is checked before it is yielded.  With
    ``allow_partial_tail`` an incomplete last batch ends the iteration silently (a Fetch response
    cut at ``max_bytes``, or a torn write at the end of a log segment); the valid prefix ends at
    the last yielded ``position + header.size``.  Otherwise it is a :class:`CorruptRecordError`.
    """
    end = len(buf)
    pos = 0
    while pos < end:
        remaining = end - pos
        if remaining < LOG_OVERHEAD:
            if allow_partial_tail:
                return
            raise CorruptRecordError(
                f"truncated batch at byte {pos}: {remaining} bytes left, "
                f"need at least {LOG_OVERHEAD} for offset and length"
            )
        length = _INT32.unpack_from(buf, pos + BATCH_LENGTH_OFFSET)[0]
        if remaining > MAGIC_OFFSET:
            _check_magic(buf, pos)
        if length < MIN_BATCH_LENGTH:
            raise CorruptRecordError(
                f"batch at byte {pos} has length {length}, smaller than the minimum {MIN_BATCH_LENGTH}"
            )
        if length > remaining - LOG_OVERHEAD:
            if allow_partial_tail:
                return
            raise CorruptRecordError(
                f"truncated batch at byte {pos}: length {length} but only "
                f"{remaining - LOG_OVERHEAD} bytes follow"
            )
        header = read_batch_header(buf, pos)
        if verify:
            verify_crc(buf, pos, header)
        yield pos, header
        pos += header.size


def iter_batch_headers(buf: Buffer, *, verify: bool = False) -> Iterator[BatchHeader]:
    """Like :func:`iter_batches` but yields only the headers."""
    for _, header in iter_batches(buf, verify=verify):
        yield header


def split_batches(buf: Buffer, *, verify: bool = True) -> list[tuple[int, BatchHeader]]:
    """Validate a whole records blob up front (CRC included by default): all or nothing."""
    return list(iter_batches(buf, verify=verify))


# --------------------------------------------------------------------------------------------
# CRC
# --------------------------------------------------------------------------------------------


def compute_crc(buf: Buffer, pos: int, size: int) -> int:
    """CRC-32C of the batch bytes from the attributes field to ``pos + size``."""
    return int(crc32c.crc32c(memoryview(buf)[pos + ATTRIBUTES_OFFSET : pos + size]))


def verify_crc(buf: Buffer, pos: int, header: BatchHeader) -> None:
    """Raise :class:`CorruptRecordError` unless the stored CRC matches the batch bytes."""
    if pos + header.size > len(buf):
        raise CorruptRecordError(
            f"truncated batch at byte {pos}: size {header.size} but only {len(buf) - pos} bytes"
        )
    actual = compute_crc(buf, pos, header.size)
    if actual != header.crc:
        raise CorruptRecordError(
            f"CRC mismatch in batch at byte {pos}: stored {header.crc:#010x}, computed {actual:#010x}"
        )


# --------------------------------------------------------------------------------------------
# Patching in place
# --------------------------------------------------------------------------------------------


def set_base_offset(buf: WritableBuffer, pos: int, offset: int) -> None:
    """Assign the batch's base offset (outside the CRC: no CRC update)."""
    _INT64.pack_into(buf, pos + BASE_OFFSET_OFFSET, offset)


def set_partition_leader_epoch(buf: WritableBuffer, pos: int, epoch: int) -> None:
    """Stamp the leader epoch (outside the CRC: no CRC update)."""
    _INT32.pack_into(buf, pos + PARTITION_LEADER_EPOCH_OFFSET, epoch)


def set_max_timestamp(buf: WritableBuffer, pos: int, timestamp_type: int, timestamp: int) -> None:
    """Set the timestamp-type bit and ``maxTimestamp``, then recompute the CRC.

    Mirrors Java's ``DefaultRecordBatch.setMaxTimestamp``: nothing is written when both already
    hold the requested values.  The batch must lie wholly inside ``buf``.
    """
    if timestamp_type not in (TIMESTAMP_TYPE_CREATE_TIME, TIMESTAMP_TYPE_LOG_APPEND_TIME):
        raise ValueError(f"invalid timestamp type {timestamp_type}")
    header = read_batch_header(buf, pos)
    if pos + header.size > len(buf):
        raise CorruptRecordError(
            f"truncated batch at byte {pos}: size {header.size} but only {len(buf) - pos} bytes"
        )
    if header.timestamp_type == timestamp_type and header.max_timestamp == timestamp:
        return
    attributes = (header.attributes & ~TIMESTAMP_TYPE_MASK) | (timestamp_type << 3)
    _INT16.pack_into(buf, pos + ATTRIBUTES_OFFSET, attributes)
    _INT64.pack_into(buf, pos + MAX_TIMESTAMP_OFFSET, timestamp)
    _UINT32.pack_into(buf, pos + CRC_OFFSET, compute_crc(buf, pos, header.size))


def set_log_append_time(buf: WritableBuffer, pos: int, timestamp: int) -> None:
    """Mark the batch LogAppendTime with ``maxTimestamp = timestamp`` and fix the CRC."""
    set_max_timestamp(buf, pos, TIMESTAMP_TYPE_LOG_APPEND_TIME, timestamp)


# --------------------------------------------------------------------------------------------
# Header-level validation of client batches (LogValidator.validateBatch)
# --------------------------------------------------------------------------------------------


def validate_client_batch(header: BatchHeader) -> None:
    """The header checks Kafka's ``LogValidator.validateBatch`` makes on a client's batch.

    Only for batches produced by clients (``AppendOrigin.CLIENT``); the broker's own appends
    (transaction markers from the coordinator, replication) skip them.  Raises
    :class:`InvalidRecordError` for a non-positive count, a count that disagrees with the offset
    range, a control batch, or a producer id without a sequence number.
    """
    if header.records_count <= 0:
        raise InvalidRecordError(f"invalid reported count for record batch: {header.records_count}")
    if header.last_offset_delta < 0:
        raise InvalidRecordError(
            f"batch has an invalid offset range: [{header.base_offset}, {header.last_offset}]"
        )
    if header.last_offset_delta + 1 != header.records_count:
        raise InvalidRecordError(
            f"inconsistent batch offset range [{header.base_offset}, {header.last_offset}] "
            f"and count of records {header.records_count}"
        )
    if header.is_control:
        raise InvalidRecordError("clients are not allowed to write control records")
    if header.has_producer_id and header.base_sequence < 0:
        raise InvalidRecordError(
            f"invalid sequence number {header.base_sequence} in record batch "
            f"with producerId {header.producer_id}"
        )


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Record:
    """One decoded record with absolute offset and timestamp."""

    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: tuple[Header, ...] = ()
    attributes: int = 0


def _read_varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """Zig-zag varint (int32); at most 5 bytes; overflow in the 5th byte wraps as in Java."""
    raw = 0
    shift = 0
    while True:
        if pos >= end:
            raise InvalidRecordError(f"truncated varint at payload byte {pos}")
        b = data[pos]
        pos += 1
        raw |= (b & 0x7F) << shift
        if b < 0x80:
            break
        shift += 7
        if shift > 28:
            raise InvalidRecordError(f"varint too long at payload byte {pos}")
    raw &= 0xFFFFFFFF
    return (raw >> 1) ^ -(raw & 1), pos


def _read_varlong(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """Zig-zag varlong (int64); at most 10 bytes."""
    raw = 0
    shift = 0
    while True:
        if pos >= end:
            raise InvalidRecordError(f"truncated varlong at payload byte {pos}")
        b = data[pos]
        pos += 1
        raw |= (b & 0x7F) << shift
        if b < 0x80:
            break
        shift += 7
        if shift > 63:
            raise InvalidRecordError(f"varlong too long at payload byte {pos}")
    raw &= 0xFFFFFFFFFFFFFFFF
    return (raw >> 1) ^ -(raw & 1), pos


def _read_bytes(data: bytes, pos: int, end: int, what: str) -> tuple[bytes | None, int]:
    length, pos = _read_varint(data, pos, end)
    if length < 0:
        return None, pos
    if length > end - pos:
        raise InvalidRecordError(
            f"{what} length {length} at payload byte {pos} exceeds the {end - pos} bytes left in the record"
        )
    return data[pos : pos + length], pos + length


def _decode_payload(data: bytes, header: BatchHeader, base_offset: int) -> Iterator[Record]:
    count = header.records_count
    end = len(data)
    log_append_time = (
        header.max_timestamp if header.timestamp_type == TIMESTAMP_TYPE_LOG_APPEND_TIME else None
    )
    base_timestamp = header.base_timestamp
    pos = 0
    for index in range(count):
        if pos >= end:
            raise InvalidRecordError(f"batch declares {count} records but its payload ends after {index}")
        length, pos = _read_varint(data, pos, end)
        if length < 0 or length > end - pos:
            raise InvalidRecordError(
                f"record {index} length {length} at payload byte {pos} exceeds the {end - pos} bytes left"
            )
        rec_end = pos + length
        if pos >= rec_end:
            raise InvalidRecordError(f"record {index} is empty")
        attributes = data[pos]
        if attributes >= 0x80:
            attributes -= 0x100
        pos += 1
        ts_delta, pos = _read_varlong(data, pos, rec_end)
        offset_delta, pos = _read_varint(data, pos, rec_end)
        key, pos = _read_bytes(data, pos, rec_end, "key")
        value, pos = _read_bytes(data, pos, rec_end, "value")
        n_headers, pos = _read_varint(data, pos, rec_end)
        if n_headers < 0:
            raise InvalidRecordError(f"record {index} has an invalid header count {n_headers}")
        if n_headers > rec_end - pos:
            raise InvalidRecordError(
                f"record {index} header count {n_headers} exceeds the {rec_end - pos} bytes left"
            )
        headers: list[Header] = []
        for _ in range(n_headers):
            key_len, pos = _read_varint(data, pos, rec_end)
            if key_len < 0:
                raise InvalidRecordError(f"record {index} has a negative header key size {key_len}")
            if key_len > rec_end - pos:
                raise InvalidRecordError(
                    f"record {index} header key length {key_len} exceeds the {rec_end - pos} bytes left"
                )
            h_key = data[pos : pos + key_len].decode("utf-8", "surrogateescape")
            pos += key_len
            h_value, pos = _read_bytes(data, pos, rec_end, "header value")
            headers.append((h_key, h_value))
        if pos != rec_end:
            raise InvalidRecordError(
                f"record {index}: expected to read {length} bytes in record payload, "
                f"but instead read {length - (rec_end - pos)}"
            )
        yield Record(
            offset=base_offset + offset_delta,
            timestamp=base_timestamp + ts_delta if log_append_time is None else log_append_time,
            key=key,
            value=value,
            headers=tuple(headers),
            attributes=attributes,
        )
    if pos != end:
        raise InvalidRecordError(f"{end - pos} trailing bytes after the {count} records of the batch")


def iter_records(
    buf: Buffer,
    pos: int = 0,
    *,
    verify: bool = True,
    max_decompressed_size: int = DEFAULT_MAX_DECOMPRESSED_SIZE,
) -> Iterator[Record]:
    """Decode the records of the batch at ``buf[pos:]``, decompressing the payload if needed.

    With ``verify`` (the default) the CRC is checked first.  This is a generator: a problem found
    part way through raises after the earlier records were yielded; use :func:`decode_records`
    to get all-or-nothing.  Raises only :class:`protocol.errors.DecodeError` subclasses.
    """
    header = read_batch_header(buf, pos)
    if pos + header.size > len(buf):
        raise CorruptRecordError(
            f"truncated batch at byte {pos}: size {header.size} but only {len(buf) - pos} bytes"
        )
    if verify:
        verify_crc(buf, pos, header)
    if header.records_count < 0:
        raise InvalidRecordError(f"invalid record count {header.records_count}")
    payload = memoryview(buf)[pos + RECORDS_OFFSET : pos + header.size]
    codec = header.compression
    if codec == CODEC_NONE:
        data = bytes(payload)
    else:
        data = _compression.decompress(codec, payload, max_size=max_decompressed_size)
    if header.records_count > len(data) // _MIN_RECORD_SIZE:
        raise InvalidRecordError(
            f"batch declares {header.records_count} records but its {len(data)}-byte payload "
            f"cannot hold that many"
        )
    yield from _decode_payload(data, header, header.base_offset)


def decode_records(
    buf: Buffer,
    pos: int = 0,
    *,
    verify: bool = True,
    max_decompressed_size: int = DEFAULT_MAX_DECOMPRESSED_SIZE,
) -> list[Record]:
    """Eager :func:`iter_records`: the whole batch decodes or nothing is returned."""
    return list(iter_records(buf, pos, verify=verify, max_decompressed_size=max_decompressed_size))


# --------------------------------------------------------------------------------------------
# Building batches
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordSpec:
    """A record to build. ``timestamp=None`` means now; ``offset_delta=None`` means previous + 1."""

    key: bytes | None
    value: bytes | None
    headers: Sequence[Header] = ()
    timestamp: int | None = None
    offset_delta: int | None = None


RecordInput = RecordSpec | tuple[bytes | None, bytes | None, Sequence[Header], int | None]


def _write_varint(out: bytearray, value: int) -> None:
    if not -(2**31) <= value <= _INT32_MAX:
        raise ValueError(f"varint value {value} out of int32 range")
    v = ((value << 1) ^ (value >> 31)) & 0xFFFFFFFF
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)


def _write_varlong(out: bytearray, value: int) -> None:
    if not -(2**63) <= value < 2**63:
        raise ValueError(f"varlong value {value} out of int64 range")
    v = ((value << 1) ^ (value >> 63)) & 0xFFFFFFFFFFFFFFFF
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)


def _write_nullable_bytes(out: bytearray, data: bytes | None) -> None:
    if data is None:
        out.append(1)  # zig-zag(-1)
        return
    _write_varint(out, len(data))
    out += data


def _encode_record(out: bytearray, timestamp_delta: int, offset_delta: int, spec: RecordSpec) -> None:
    body = bytearray(b"\x00")  # attributes
    _write_varlong(body, timestamp_delta)
    _write_varint(body, offset_delta)
    _write_nullable_bytes(body, spec.key)
    _write_nullable_bytes(body, spec.value)
    _write_varint(body, len(spec.headers))
    for h_key, h_value in spec.headers:
        encoded = h_key.encode("utf-8", "surrogateescape")
        _write_varint(body, len(encoded))
        body += encoded
        _write_nullable_bytes(body, h_value)
    _write_varint(out, len(body))
    out += body


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def build_batch(
    records: Sequence[RecordInput],
    *,
    base_offset: int = 0,
    compression: int = CODEC_NONE,
    compression_level: int | None = None,
    producer_id: int = NO_PRODUCER_ID,
    producer_epoch: int = NO_PRODUCER_EPOCH,
    base_sequence: int = NO_SEQUENCE,
    is_transactional: bool = False,
    is_control: bool = False,
    partition_leader_epoch: int = NO_PARTITION_LEADER_EPOCH,
    timestamp_type: int = TIMESTAMP_TYPE_CREATE_TIME,
    log_append_time: int | None = None,
) -> bytes:
    """Encode one magic-2 batch with a correct CRC.

    ``records`` are :class:`RecordSpec` or ``(key, value, headers, timestamp)`` tuples; a ``None``
    timestamp means the current wall clock.  The base timestamp is the first record's, the max
    timestamp the largest (as Java's ``MemoryRecordsBuilder``).  Offset deltas are 0, 1, 2, ...
    unless a spec gives its own (they must increase).  ``log_append_time`` implies
    ``timestamp_type=1`` and becomes ``maxTimestamp``.  Raises ``ValueError`` on bad arguments
    (including an empty ``records``).
    """
    if not records:
        raise ValueError("a batch needs at least one record")
    if compression not in _compression.CODEC_NAMES:
        raise ValueError(f"unknown compression codec {compression}")
    if log_append_time is not None:
        timestamp_type = TIMESTAMP_TYPE_LOG_APPEND_TIME
    if timestamp_type not in (TIMESTAMP_TYPE_CREATE_TIME, TIMESTAMP_TYPE_LOG_APPEND_TIME):
        raise ValueError(f"invalid timestamp type {timestamp_type}")

    now: int | None = None
    specs: list[RecordSpec] = []
    for item in records:
        spec = item if isinstance(item, RecordSpec) else RecordSpec(item[0], item[1], item[2], item[3])
        if spec.timestamp is None:
            if now is None:
                now = _now_ms()
            spec = RecordSpec(spec.key, spec.value, spec.headers, now, spec.offset_delta)
        specs.append(spec)

    base_timestamp = specs[0].timestamp
    assert base_timestamp is not None
    max_timestamp = base_timestamp
    body = bytearray()
    offset_delta = -1
    for spec in specs:
        assert spec.timestamp is not None
        if spec.offset_delta is None:
            offset_delta += 1
        elif spec.offset_delta <= offset_delta:
            raise ValueError(f"offset delta {spec.offset_delta} does not increase (previous {offset_delta})")
        else:
            offset_delta = spec.offset_delta
        max_timestamp = max(max_timestamp, spec.timestamp)
        _encode_record(body, spec.timestamp - base_timestamp, offset_delta, spec)
    if log_append_time is not None:
        max_timestamp = log_append_time

    payload = (
        body
        if compression == CODEC_NONE
        else _compression.compress(compression, body, level=compression_level)
    )
    attributes = compression | (timestamp_type << 3)
    if is_transactional:
        attributes |= TRANSACTIONAL_FLAG_MASK
    if is_control:
        attributes |= CONTROL_FLAG_MASK

    out = bytearray(HEADER_SIZE)
    out += payload
    _HEADER_STRUCT.pack_into(
        out,
        0,
        base_offset,
        len(out) - LOG_OVERHEAD,
        partition_leader_epoch,
        MAGIC_V2,
        0,
        attributes,
        offset_delta,
        base_timestamp,
        max_timestamp,
        producer_id,
        producer_epoch,
        base_sequence,
        len(specs),
    )
    _UINT32.pack_into(out, CRC_OFFSET, compute_crc(out, 0, len(out)))
    return bytes(out)


# --------------------------------------------------------------------------------------------
# Control records (transaction markers)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EndTxnMarker:
    """A decoded COMMIT/ABORT control record."""

    control_type: int  # CONTROL_TYPE_ABORT or CONTROL_TYPE_COMMIT
    coordinator_epoch: int
    version: int = 0

    @property
    def is_commit(self) -> bool:
        return self.control_type == CONTROL_TYPE_COMMIT


def encode_control_key(control_type: int, version: int = 0) -> bytes:
    """Control record key: ``version: int16, type: int16``."""
    return _CONTROL_KEY.pack(version, control_type)


def encode_end_txn_marker_value(coordinator_epoch: int, version: int = 0) -> bytes:
    """Transaction marker value: ``version: int16, coordinatorEpoch: int32``."""
    return _END_TXN_VALUE.pack(version, coordinator_epoch)


def parse_control_key(key: bytes | None) -> tuple[int, int]:
    """Return ``(version, type)`` of a control record key; InvalidRecordError if malformed.

    Like Kafka, a version above 0 is parsed as version 0 (the type field comes first either way).
    """
    if key is None or len(key) < _CONTROL_KEY.size:
        raise InvalidRecordError(f"invalid control record key {key!r}: need at least 4 bytes")
    version, control_type = _CONTROL_KEY.unpack_from(key, 0)
    if version < 0:
        raise InvalidRecordError(f"invalid version {version} in control record key")
    return version, control_type


def parse_end_txn_marker(record: Record) -> EndTxnMarker:
    """Decode a COMMIT/ABORT control record; InvalidRecordError for any other or malformed."""
    _, control_type = parse_control_key(record.key)
    if control_type not in (CONTROL_TYPE_ABORT, CONTROL_TYPE_COMMIT):
        raise InvalidRecordError(f"control record type {control_type} is not a transaction marker")
    value = record.value
    if value is None or len(value) < _END_TXN_VALUE.size:
        raise InvalidRecordError(f"invalid end transaction marker value {value!r}: need at least 6 bytes")
    version, coordinator_epoch = _END_TXN_VALUE.unpack_from(value, 0)
    if version < 0:
        raise InvalidRecordError(f"invalid version {version} in end transaction marker value")
    return EndTxnMarker(control_type, coordinator_epoch, version)


def build_end_txn_marker_batch(
    *,
    commit: bool,
    producer_id: int,
    producer_epoch: int,
    coordinator_epoch: int,
    base_offset: int = 0,
    partition_leader_epoch: int = NO_PARTITION_LEADER_EPOCH,
    timestamp: int | None = None,
) -> bytes:
    """A transactional control batch holding one COMMIT or ABORT marker (as Kafka writes it)."""
    control_type = CONTROL_TYPE_COMMIT if commit else CONTROL_TYPE_ABORT
    spec = RecordSpec(
        encode_control_key(control_type),
        encode_end_txn_marker_value(coordinator_epoch),
        (),
        _now_ms() if timestamp is None else timestamp,
    )
    return build_batch(
        [spec],
        base_offset=base_offset,
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        base_sequence=NO_SEQUENCE,
        is_transactional=True,
        is_control=True,
        partition_leader_epoch=partition_leader_epoch,
    )
