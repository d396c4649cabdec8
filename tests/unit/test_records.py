"""Unit tests for protocol.records / protocol.compression (RecordBatch v2), incl. kafka-python cross-checks."""

from __future__ import annotations

import contextlib
import gzip
import struct
from collections.abc import Iterator
from typing import Any

import cramjam
import crc32c
import kafka.codec as kcodec
import kafka.record.default_records as kdr
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from kafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder
from kafka.record.legacy_records import LegacyRecordBatchBuilder
from kafka.record.memory_records import MemoryRecords

from protocol import compression
from protocol.errors import DecodeError
from protocol.records import (
    ATTRIBUTES_OFFSET,
    BASE_OFFSET_OFFSET,
    BASE_SEQUENCE_OFFSET,
    BASE_TIMESTAMP_OFFSET,
    BATCH_LENGTH_OFFSET,
    CONTROL_TYPE_ABORT,
    CONTROL_TYPE_COMMIT,
    CRC_OFFSET,
    HEADER_SIZE,
    LAST_OFFSET_DELTA_OFFSET,
    LOG_OVERHEAD,
    MAGIC_OFFSET,
    MAX_TIMESTAMP_OFFSET,
    MIN_BATCH_LENGTH,
    PARTITION_LEADER_EPOCH_OFFSET,
    PRODUCER_EPOCH_OFFSET,
    PRODUCER_ID_OFFSET,
    RECORDS_COUNT_OFFSET,
    BatchHeader,
    CorruptRecordError,
    InvalidRecordError,
    Record,
    RecordSpec,
    UnsupportedMagicError,
    build_batch,
    build_end_txn_marker_batch,
    decode_records,
    encode_control_key,
    iter_batch_headers,
    iter_batches,
    iter_records,
    parse_control_key,
    parse_end_txn_marker,
    read_batch_header,
    set_base_offset,
    set_log_append_time,
    set_max_timestamp,
    set_partition_leader_epoch,
    split_batches,
    validate_client_batch,
    verify_crc,
)

CODECS = [0, 1, 2, 3, 4]
COMPRESSED = [1, 2, 3, 4]
CODEC_IDS = ["none", "gzip", "snappy", "lz4", "zstd"]

# --------------------------------------------------------------------------------------------
# kafka-python codec backends.  kafka-python needs python-snappy / lz4 / zstandard for the three
# non-gzip codecs.  When they are installed the cross-checks use them (fully independent codecs);
# when not, a cramjam-backed shim is plugged in so that the *record format* cross-check still
# runs (kafka-python's own xerial framing code is still exercised through the shim).
# --------------------------------------------------------------------------------------------

REAL_KAFKA_CODECS = kcodec.has_snappy() and kcodec.has_lz4() and kcodec.has_zstd()


class _SnappyShim:
    @staticmethod
    def compress(data: bytes) -> bytes:
        return bytes(cramjam.snappy.compress_raw(bytes(data)))

    @staticmethod
    def decompress(data: bytes) -> bytes:
        return bytes(cramjam.snappy.decompress_raw(bytes(data)))


@pytest.fixture(scope="module", autouse=True)
def _kafka_python_codecs() -> Iterator[None]:
    if REAL_KAFKA_CODECS:
        yield
        return
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(kcodec, "snappy", _SnappyShim)
        mp.setattr(kcodec, "has_snappy", lambda: True)
        mp.setattr(kcodec, "has_lz4", lambda: True)
        mp.setattr(kcodec, "has_zstd", lambda: True)
        mp.setattr(kdr, "lz4_encode", lambda data: bytes(cramjam.lz4.compress(bytes(data))))
        mp.setattr(kdr, "lz4_decode", lambda data: bytes(cramjam.lz4.decompress(bytes(data))))
        mp.setattr(kdr, "zstd_encode", lambda data: bytes(cramjam.zstd.compress(bytes(data))))
        mp.setattr(kdr, "zstd_decode", lambda data: bytes(cramjam.zstd.decompress(bytes(data))))
        yield


def test_kafka_python_codec_backends_are_real() -> None:
    if not REAL_KAFKA_CODECS:
        pytest.skip("python-snappy/lz4/zstandard not installed: kafka-python cross-checks use a cramjam shim")


# --------------------------------------------------------------------------------------------
# Helpers and strategies
# --------------------------------------------------------------------------------------------

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

keys = st.none() | st.binary(max_size=40)
values = st.none() | st.binary(max_size=300)
header_lists = st.lists(st.tuples(st.text(max_size=12), st.none() | st.binary(max_size=30)), max_size=4)
timestamps = st.integers(min_value=0, max_value=2**42)
record_specs = st.builds(RecordSpec, keys, values, header_lists.map(tuple), timestamps)
record_lists = st.lists(record_specs, min_size=1, max_size=25)


def reseal(buf: bytearray, pos: int = 0) -> None:
    """Recompute the CRC after tampering with CRC-covered bytes."""
    size = struct.unpack_from(">i", buf, pos + BATCH_LENGTH_OFFSET)[0] + LOG_OVERHEAD
    crc = crc32c.crc32c(bytes(buf[pos + ATTRIBUTES_OFFSET : pos + size]))
    struct.pack_into(">I", buf, pos + CRC_OFFSET, crc)


def with_payload(
    payload: bytes, *, count: int, codec: int = 0, last_offset_delta: int = 0, template: bytes | None = None
) -> bytes:
    """A batch with valid framing and CRC around arbitrary payload bytes (header from ``template``)."""
    out = bytearray(template or build_batch([(b"k", b"v", (), 1)]))[:HEADER_SIZE] + payload
    struct.pack_into(">i", out, BATCH_LENGTH_OFFSET, len(out) - LOG_OVERHEAD)
    struct.pack_into(">h", out, ATTRIBUTES_OFFSET, codec)
    struct.pack_into(">i", out, LAST_OFFSET_DELTA_OFFSET, last_offset_delta)
    struct.pack_into(">i", out, RECORDS_COUNT_OFFSET, count)
    reseal(out)
    return bytes(out)


def expected_records(specs: list[RecordSpec], base_offset: int) -> list[Record]:
    return [
        Record(base_offset + i, s.timestamp or 0, s.key, s.value, tuple(s.headers))
        for i, s in enumerate(specs)
    ]


def kafka_python_records(buf: bytes) -> list[Record]:
    batch = DefaultRecordBatch(bytearray(buf))
    assert batch.validate_crc()
    return [Record(r.offset, r.timestamp, r.key, r.value, tuple((k, v) for k, v in r.headers)) for r in batch]


def compressible_specs(n: int) -> list[RecordSpec]:
    return [
        RecordSpec(
            None if i % 7 == 0 else b"key-%d" % i,
            None if i % 11 == 0 else b"value %d " % i + b"abcdefgh" * (i % 13),
            (("trace", b"id-%d" % i), ("null", None)) if i % 3 == 0 else (),
            1_700_000_000_000 + i * 3 - (i % 5),
        )
        for i in range(n)
    ]


SAMPLE = {codec: build_batch(compressible_specs(12), base_offset=100, compression=codec) for codec in CODECS}

# --------------------------------------------------------------------------------------------
# Layout and header
# --------------------------------------------------------------------------------------------


def test_layout_constants() -> None:
    offsets = [
        BASE_OFFSET_OFFSET,
        BATCH_LENGTH_OFFSET,
        PARTITION_LEADER_EPOCH_OFFSET,
        MAGIC_OFFSET,
        CRC_OFFSET,
        ATTRIBUTES_OFFSET,
        LAST_OFFSET_DELTA_OFFSET,
        BASE_TIMESTAMP_OFFSET,
        MAX_TIMESTAMP_OFFSET,
        PRODUCER_ID_OFFSET,
        PRODUCER_EPOCH_OFFSET,
        BASE_SEQUENCE_OFFSET,
        RECORDS_COUNT_OFFSET,
        HEADER_SIZE,
    ]
    assert offsets == [0, 8, 12, 16, 17, 21, 23, 27, 35, 43, 51, 53, 57, 61]
    assert LOG_OVERHEAD == 12 and MIN_BATCH_LENGTH == 49
    assert kdr.DefaultRecordBase.HEADER_STRUCT.size == HEADER_SIZE


def test_header_fields_and_properties() -> None:
    buf = build_batch(
        [(b"a", b"1", (), 1000), (b"b", b"2", (), 5000), (b"c", b"3", (), 3000)],
        base_offset=42,
        compression=1,
        producer_id=77,
        producer_epoch=3,
        base_sequence=2**31 - 2,
        is_transactional=True,
        partition_leader_epoch=9,
    )
    h = read_batch_header(buf)
    assert (h.base_offset, h.partition_leader_epoch, h.magic) == (42, 9, 2)
    assert (h.last_offset_delta, h.records_count, h.last_offset, h.next_offset) == (2, 3, 44, 45)
    assert (h.base_timestamp, h.max_timestamp) == (1000, 5000)
    assert (h.producer_id, h.producer_epoch, h.base_sequence) == (77, 3, 2**31 - 2)
    assert h.last_sequence == 0  # wraps past int32 max like Kafka
    assert h.compression == 1 and h.is_transactional and not h.is_control and h.timestamp_type == 0
    assert h.size == len(buf) and h.payload_size == len(buf) - HEADER_SIZE
    assert h.has_producer_id and not h.has_delete_horizon and h.delete_horizon_ms is None
    verify_crc(buf, 0, h)
    with pytest.raises(AttributeError):
        h.base_offset = 1  # type: ignore[misc]


def test_delete_horizon_bit() -> None:
    buf = bytearray(SAMPLE[0])
    struct.pack_into(">h", buf, ATTRIBUTES_OFFSET, 0x40)
    h = read_batch_header(buf)
    assert h.has_delete_horizon and h.delete_horizon_ms == h.base_timestamp


def test_read_batch_header_errors() -> None:
    with pytest.raises(CorruptRecordError):
        read_batch_header(SAMPLE[0][:60])
    buf = bytearray(SAMPLE[0])
    buf[MAGIC_OFFSET] = 1
    with pytest.raises(UnsupportedMagicError):
        read_batch_header(buf)
    buf[MAGIC_OFFSET] = 3
    with pytest.raises(CorruptRecordError, match="magic"):
        read_batch_header(buf)
    buf = bytearray(SAMPLE[0])
    struct.pack_into(">i", buf, BATCH_LENGTH_OFFSET, 48)
    with pytest.raises(CorruptRecordError, match="minimum"):
        read_batch_header(buf)


# --------------------------------------------------------------------------------------------
# Round trips
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("codec", CODECS, ids=CODEC_IDS)
@SETTINGS
@given(specs=record_lists, base_offset=st.integers(0, 2**62))
def test_round_trip(codec: int, specs: list[RecordSpec], base_offset: int) -> None:
    buf = build_batch(specs, base_offset=base_offset, compression=codec)
    [(pos, header)] = split_batches(buf)
    assert pos == 0 and header.size == len(buf) and header.compression == codec
    assert header.records_count == len(specs) and header.last_offset == base_offset + len(specs) - 1
    assert header.base_timestamp == specs[0].timestamp
    assert header.max_timestamp == max(s.timestamp or 0 for s in specs)
    assert decode_records(buf) == expected_records(specs, base_offset)


@pytest.mark.parametrize("codec", CODECS, ids=CODEC_IDS)
def test_many_records_round_trip(codec: int) -> None:
    specs = compressible_specs(3000)
    buf = build_batch(specs, base_offset=7, compression=codec)
    assert decode_records(buf) == expected_records(specs, 7)
    if codec:
        assert len(buf) < len(build_batch(specs, base_offset=7)) // 2


@SETTINGS
@given(batches=st.lists(st.tuples(record_lists, st.sampled_from(CODECS)), min_size=1, max_size=5))
def test_concatenated_batches(batches: list[tuple[list[RecordSpec], int]]) -> None:
    blobs = []
    offset = 0
    for specs, codec in batches:
        blobs.append(build_batch(specs, base_offset=offset, compression=codec))
        offset += len(specs)
    blob = b"".join(blobs)
    split = split_batches(blob)
    assert [p for p, _ in split] == [sum(len(b) for b in blobs[:i]) for i in range(len(blobs))]
    assert [h for h in iter_batch_headers(blob)] == [h for _, h in split]
    offset = 0
    for (pos, _), (specs, _codec) in zip(split, batches, strict=True):
        assert list(iter_records(blob, pos)) == expected_records(specs, offset)
        offset += len(specs)
    assert split_batches(b"") == []


def test_record_spec_offset_deltas_and_tuples() -> None:
    buf = build_batch(
        [
            RecordSpec(b"a", b"1", (), 10),
            RecordSpec(b"b", None, (), 11, offset_delta=5),
            (None, b"3", [], 12),
        ],
        base_offset=1000,
    )
    h = read_batch_header(buf)
    assert h.last_offset_delta == 6 and h.records_count == 3
    assert [r.offset for r in decode_records(buf)] == [1000, 1005, 1006]
    with pytest.raises(InvalidRecordError):  # Kafka's producer-side check: count != offset range
        validate_client_batch(h)
    with pytest.raises(ValueError):
        build_batch([RecordSpec(b"a", b"1", (), 1, offset_delta=3), RecordSpec(b"b", b"2", (), 1, 3)])
    with pytest.raises(ValueError):
        build_batch([])
    with pytest.raises(ValueError):
        build_batch([(b"a", b"1", (), 1)], compression=5)


def test_default_timestamp_is_now() -> None:
    buf = build_batch([RecordSpec(b"a", b"b"), RecordSpec(b"c", b"d")])
    records = decode_records(buf)
    assert records[0].timestamp == records[1].timestamp > 1_600_000_000_000


def test_non_utf8_header_key_round_trips_losslessly() -> None:
    raw_key = b"\xff\xfeok"
    buf = bytearray(build_batch([(b"k", b"v", [("XXXX", b"1")], 5)]))
    i = buf.index(b"XXXX")
    buf[i : i + 4] = raw_key
    reseal(buf)
    [rec] = decode_records(buf)
    assert rec.headers[0][0].encode("utf-8", "surrogateescape") == raw_key
    assert build_batch([(b"k", b"v", rec.headers, 5)]) == bytes(buf)


def test_log_append_time_batch_reports_max_timestamp() -> None:
    buf = build_batch([(b"a", b"1", (), 10), (b"b", b"2", (), 20)], log_append_time=999)
    h = read_batch_header(buf)
    assert h.timestamp_type == 1 and h.max_timestamp == 999
    assert [r.timestamp for r in decode_records(buf)] == [999, 999]
    assert [r.timestamp for r in kafka_python_records(buf)] == [999, 999]


# --------------------------------------------------------------------------------------------
# Cross-checks with kafka-python
# --------------------------------------------------------------------------------------------


def kafka_python_build(specs: list[RecordSpec], codec: int, **kw: Any) -> bytes:
    builder = DefaultRecordBatchBuilder(
        magic=2,
        compression_type=codec,
        is_transactional=kw.get("is_transactional", False),
        producer_id=kw.get("producer_id", -1),
        producer_epoch=kw.get("producer_epoch", -1),
        base_sequence=kw.get("base_sequence", -1),
        batch_size=1 << 30,
    )
    for i, s in enumerate(specs):
        assert builder.append(i, s.timestamp, s.key, s.value, list(s.headers)) is not None
    return bytes(builder.build())


@pytest.mark.parametrize("codec", CODECS, ids=CODEC_IDS)
def test_kafka_python_batches_parse_with_ours(codec: int) -> None:
    specs = compressible_specs(200)
    buf = kafka_python_build(specs, codec, producer_id=5, producer_epoch=1, base_sequence=10)
    [(_, header)] = split_batches(buf)  # CRC verified
    assert header.compression == codec  # kafka-python did not fall back to uncompressed
    assert (header.producer_id, header.producer_epoch, header.base_sequence) == (5, 1, 10)
    assert decode_records(buf) == expected_records(specs, 0) == kafka_python_records(buf)
    validate_client_batch(header)


@pytest.mark.parametrize("codec", CODECS, ids=CODEC_IDS)
@SETTINGS
@given(specs=record_lists)
def test_kafka_python_batches_parse_with_ours_random(codec: int, specs: list[RecordSpec]) -> None:
    buf = kafka_python_build(specs, codec)
    split_batches(buf)
    assert decode_records(buf) == kafka_python_records(buf) == expected_records(specs, 0)


@pytest.mark.parametrize("codec", CODECS, ids=CODEC_IDS)
@SETTINGS
@given(specs=record_lists, base_offset=st.integers(0, 2**40))
def test_our_batches_parse_with_kafka_python(codec: int, specs: list[RecordSpec], base_offset: int) -> None:
    buf = build_batch(specs, base_offset=base_offset, compression=codec, partition_leader_epoch=3)
    assert kafka_python_records(buf) == expected_records(specs, base_offset)
    batch = DefaultRecordBatch(bytearray(buf))
    assert (batch.compression_type, batch.leader_epoch, batch.base_offset) == (codec, 3, base_offset)
    assert (batch.last_offset_delta, batch.max_timestamp) == (
        len(specs) - 1,
        max(s.timestamp or 0 for s in specs),
    )


def test_our_blob_parses_with_kafka_python_memory_records() -> None:
    blob = b"".join(build_batch(compressible_specs(20), base_offset=20 * c, compression=c) for c in CODECS)
    mr = MemoryRecords(blob)
    got: list[Record] = []
    codecs: list[int] = []
    while mr.has_next():
        batch = mr.next_batch()
        assert batch.validate_crc()
        codecs.append(batch.compression_type)
        got.extend(Record(r.offset, r.timestamp, r.key, r.value, tuple(r.headers)) for r in batch)
    assert codecs == CODECS
    assert mr.valid_bytes() == len(blob)
    ours = [r for pos, _ in split_batches(blob) for r in iter_records(blob, pos)]
    assert got == ours and len(ours) == 100


@SETTINGS
@given(specs=record_lists)
def test_uncompressed_bytes_identical_to_kafka_python(specs: list[RecordSpec]) -> None:
    ours = build_batch(specs, partition_leader_epoch=0, producer_id=9, producer_epoch=2, base_sequence=4)
    theirs = kafka_python_build(specs, 0, producer_id=9, producer_epoch=2, base_sequence=4)
    assert ours == theirs


# --------------------------------------------------------------------------------------------
# Patching in place
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("codec", CODECS, ids=CODEC_IDS)
def test_patch_base_offset_and_leader_epoch_keep_crc(codec: int) -> None:
    blob = bytearray(SAMPLE[0] + SAMPLE[codec])
    pos = len(SAMPLE[0])
    original_crc = read_batch_header(blob, pos).crc
    set_base_offset(blob, pos, 123_456_789_000)
    set_partition_leader_epoch(memoryview(blob), pos, 17)
    h = read_batch_header(blob, pos)
    assert (h.base_offset, h.partition_leader_epoch, h.crc) == (123_456_789_000, 17, original_crc)
    split_batches(blob)
    assert [r.offset for r in iter_records(blob, pos)] == list(range(123_456_789_000, 123_456_789_012))
    assert read_batch_header(blob, 0) == read_batch_header(SAMPLE[0])  # neighbour untouched
    assert DefaultRecordBatch(blob[pos:]).validate_crc()


@pytest.mark.parametrize("codec", CODECS, ids=CODEC_IDS)
def test_set_log_append_time_recomputes_crc(codec: int) -> None:
    buf = bytearray(SAMPLE[codec])
    before = read_batch_header(buf)
    set_log_append_time(buf, 0, 1_800_000_000_000)
    h = read_batch_header(buf)
    assert h.timestamp_type == 1 and h.max_timestamp == 1_800_000_000_000
    assert h.crc != before.crc and h.attributes == before.attributes | 0x08
    assert h.base_timestamp == before.base_timestamp
    verify_crc(buf, 0, h)
    assert {r.timestamp for r in decode_records(buf)} == {1_800_000_000_000}
    assert {r.timestamp for r in kafka_python_records(bytes(buf))} == {1_800_000_000_000}
    # and back to CreateTime with the original max timestamp restores the original bytes
    set_max_timestamp(buf, 0, 0, before.max_timestamp)
    assert bytes(buf) == SAMPLE[codec]


def test_set_max_timestamp_noop_and_errors() -> None:
    buf = bytearray(SAMPLE[0])
    h = read_batch_header(buf)
    set_max_timestamp(memoryview(buf), 0, 0, h.max_timestamp)
    assert bytes(buf) == SAMPLE[0]
    with pytest.raises(ValueError):
        set_max_timestamp(buf, 0, 2, 1)
    with pytest.raises(CorruptRecordError):
        set_log_append_time(bytearray(SAMPLE[0][:-1]), 0, 1)
    with pytest.raises(TypeError):
        set_base_offset(memoryview(SAMPLE[0]), 0, 1)  # read-only


# --------------------------------------------------------------------------------------------
# Corruption and hostile input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("codec", CODECS, ids=CODEC_IDS)
def test_any_flipped_byte_in_crc_region_is_detected(codec: int) -> None:
    original = SAMPLE[codec]
    for i in range(CRC_OFFSET, len(original)):
        for mask in (0x01, 0x80):
            buf = bytearray(original)
            buf[i] ^= mask
            with pytest.raises(CorruptRecordError):
                split_batches(buf)
            with pytest.raises(CorruptRecordError):
                decode_records(buf)


def test_flips_outside_crc_region() -> None:
    for i in range(BASE_OFFSET_OFFSET, BATCH_LENGTH_OFFSET):  # base offset: not covered, still valid
        buf = bytearray(SAMPLE[1])
        buf[i] ^= 0xFF
        split_batches(buf)
    for i in range(PARTITION_LEADER_EPOCH_OFFSET, MAGIC_OFFSET):
        buf = bytearray(SAMPLE[1])
        buf[i] ^= 0xFF
        split_batches(buf)
    for i in range(BATCH_LENGTH_OFFSET, PARTITION_LEADER_EPOCH_OFFSET):  # length: framing breaks
        buf = bytearray(SAMPLE[1])
        buf[i] ^= 0x01
        with pytest.raises(CorruptRecordError):
            split_batches(buf)
    buf = bytearray(SAMPLE[1])
    buf[MAGIC_OFFSET] ^= 0x01
    with pytest.raises(DecodeError):
        split_batches(buf)


@pytest.mark.parametrize("codec", CODECS, ids=CODEC_IDS)
def test_truncation_at_every_offset(codec: int) -> None:
    blob = SAMPLE[0] + SAMPLE[codec]
    first = len(SAMPLE[0])
    for n in range(1, len(blob)):
        cut = blob[:n]
        if n == first:
            assert len(split_batches(cut)) == 1
            continue
        with pytest.raises(DecodeError) as exc_info:
            split_batches(cut)
        assert isinstance(exc_info.value, CorruptRecordError)
        pos = 0 if n < first else first
        with pytest.raises(DecodeError):
            decode_records(cut, pos)
        with pytest.raises(DecodeError):
            decode_records(cut, pos, verify=False)
        assert [p for p, _ in iter_batches(cut, allow_partial_tail=True)] == ([] if n < first else [0])


def test_legacy_magic_is_unsupported() -> None:
    for magic in (0, 1):
        builder = LegacyRecordBatchBuilder(magic=magic, compression_type=0, batch_size=1 << 20)
        builder.append(0, timestamp=1, key=b"k", value=b"v")
        legacy = bytes(builder.build())
        assert legacy[MAGIC_OFFSET] == magic
        with pytest.raises(UnsupportedMagicError) as exc_info:
            split_batches(legacy)
        assert exc_info.value.magic == magic
        with pytest.raises(UnsupportedMagicError):
            split_batches(SAMPLE[0] + legacy)
        with pytest.raises(UnsupportedMagicError):
            decode_records(legacy)


def test_records_count_mismatch_and_trailing_bytes() -> None:
    for delta in (-1, 1, 1000):
        buf = bytearray(SAMPLE[0])
        struct.pack_into(">i", buf, RECORDS_COUNT_OFFSET, 12 + delta)
        reseal(buf)
        split_batches(buf)  # framing and CRC are fine
        with pytest.raises(InvalidRecordError):
            decode_records(buf)
    buf = bytearray(SAMPLE[0])
    struct.pack_into(">i", buf, RECORDS_COUNT_OFFSET, -1)
    reseal(buf)
    with pytest.raises(InvalidRecordError):
        decode_records(buf)
    payload = SAMPLE[0][HEADER_SIZE:]
    with pytest.raises(InvalidRecordError, match="trailing"):
        decode_records(with_payload(payload + b"\x00", count=12))
    with pytest.raises(InvalidRecordError, match="trailing"):
        decode_records(with_payload(compression.compress(4, payload + b"junk"), count=12, codec=4))


def test_bad_varints_and_lengths() -> None:
    too_long = b"\x28" + b"\x00" + b"\xff" * 11 + b"\x01" + bytes(7)  # length 20, attrs, 12-byte varlong
    with pytest.raises(InvalidRecordError, match="too long"):
        decode_records(with_payload(too_long, count=1))
    # record declares 5 bytes but its key length claims 100
    with pytest.raises(InvalidRecordError, match="key length"):
        decode_records(with_payload(b"\x0a\x00\x00\x00\xc8\x01\x00\x00", count=1))
    # negative header count
    with pytest.raises(InvalidRecordError, match="header count"):
        decode_records(with_payload(b"\x0c\x00\x00\x00\x01\x01\x01", count=1))
    # negative header key length
    with pytest.raises(InvalidRecordError, match="header key"):
        decode_records(with_payload(b"\x0e\x00\x00\x00\x01\x01\x02\x01", count=1))
    # record length longer than what is left
    with pytest.raises(InvalidRecordError, match="record 0 length"):
        decode_records(with_payload(b"\x7e" + bytes(10), count=1))
    # a record that does not use all of its declared length
    with pytest.raises(InvalidRecordError, match="expected to read"):
        decode_records(with_payload(b"\x10\x00\x00\x00\x01\x01\x00\x00\x00", count=1))
    # unknown codec
    with pytest.raises(InvalidRecordError, match="codec"):
        decode_records(with_payload(b"\x00" * 20, count=1, codec=6))
    # garbage where a compressed payload should be
    for codec in COMPRESSED:
        with pytest.raises(InvalidRecordError):
            decode_records(with_payload(b"this is not compressed at all", count=1, codec=codec))


def test_lenient_negative_lengths_mean_null_like_java() -> None:
    # key length -2 (zig-zag 3) is read as null, as Java's DefaultRecord does
    [rec] = decode_records(with_payload(b"\x0c\x00\x00\x00\x03\x01\x00", count=1))
    assert rec.key is None and rec.value is None


@settings(max_examples=400, deadline=None)
@given(data=st.binary(max_size=300))
def test_random_bytes_raise_only_decode_errors(data: bytes) -> None:
    for call in (
        lambda: split_batches(data),
        lambda: list(iter_batches(data, allow_partial_tail=True)),
        lambda: decode_records(data),
        lambda: decode_records(data, verify=False),
    ):
        with contextlib.suppress(DecodeError):
            call()


@settings(max_examples=300, deadline=None)
@given(payload=st.binary(max_size=200), count=st.integers(-3, 40), codec=st.integers(0, 7))
def test_random_payload_with_valid_crc_raises_only_invalid_record(
    payload: bytes, count: int, codec: int
) -> None:
    buf = with_payload(payload, count=count, codec=codec)
    split_batches(buf)
    with contextlib.suppress(InvalidRecordError):
        decode_records(buf)


@pytest.mark.parametrize("codec", CODECS, ids=CODEC_IDS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_mutated_payload_with_fixed_crc(codec: int, data: st.DataObject) -> None:
    buf = bytearray(SAMPLE[codec])
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(HEADER_SIZE, len(buf) - 1))
        buf[i] = data.draw(st.integers(0, 255))
    assume(bytes(buf) != SAMPLE[codec])
    reseal(buf)
    with contextlib.suppress(InvalidRecordError):
        decode_records(buf)


# --------------------------------------------------------------------------------------------
# Compression codecs
# --------------------------------------------------------------------------------------------


def test_snappy_xerial_and_raw_both_decode() -> None:
    data = b"".join(b"snappy block %d " % i for i in range(10_000))  # > 32 KiB: several xerial blocks
    xerial = compression.compress(2, data)
    assert xerial.startswith(b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01")
    assert struct.unpack_from(">i", xerial, 16)[0] > 0
    raw = bytes(cramjam.snappy.compress_raw(data))
    assert compression.decompress(2, xerial) == compression.decompress(2, raw) == data
    assert kcodec.snappy_decode(xerial) == data  # kafka-python reads our xerial framing
    assert compression.decompress(2, kcodec.snappy_encode(data)) == data  # and we read its
    assert compression.decompress(2, kcodec.snappy_encode(data, xerial_compatible=False)) == data
    # a batch whose payload is raw snappy (librdkafka style) decodes too
    plain = build_batch(compressible_specs(5))
    raw_payload = bytes(cramjam.snappy.compress_raw(plain[HEADER_SIZE:]))
    buf = with_payload(raw_payload, count=5, codec=2, last_offset_delta=4, template=plain)
    assert decode_records(buf) == expected_records(compressible_specs(5), 0)


def test_snappy_malformed() -> None:
    good = compression.compress(2, b"hello world" * 1000)
    for bad in (
        good[:-3],
        good[:18],
        good[:16] + b"\x7f\xff\xff\xff",
        good[:16] + b"\xff\xff\xff\xff",
        b"\xff" * 10,
    ):
        with pytest.raises(InvalidRecordError):
            compression.decompress(2, bad)
    assert compression.decompress(2, good[:16]) == b""  # header only: no blocks


def test_lz4_frames_are_java_compatible() -> None:
    frame = compression.compress(3, b"x" * 200_000)
    assert frame[:4] == b"\x04\x22\x4d\x18"
    flg, bd = frame[4], frame[5]
    assert flg >> 6 == 1 and flg & 0x20, "Java's Lz4BlockInputStream requires independent blocks"
    assert flg & 0x03 == 0 and 4 <= (bd >> 4) & 7 <= 7 and bd & 0x8F == 0


@pytest.mark.parametrize("codec", COMPRESSED, ids=CODEC_IDS[1:])
def test_decompression_is_bounded(codec: int) -> None:
    bomb = compression.compress(codec, bytes(4 * 1024 * 1024))
    assert len(bomb) < 300_000
    with pytest.raises(InvalidRecordError, match="limit"):
        compression.decompress(codec, bomb, max_size=1024 * 1024)
    with pytest.raises(InvalidRecordError, match="limit"):
        compression.decompress(codec, bomb, max_size=4 * 1024 * 1024 - 1)
    # the retry-with-a-bigger-buffer path: ratio far above the first guess
    assert compression.decompress(codec, bomb, max_size=4 * 1024 * 1024) == bytes(4 * 1024 * 1024)
    assert compression.decompress(codec, bomb) == bytes(4 * 1024 * 1024)
    buf = build_batch([(None, bytes(1 << 20), (), 1)], compression=codec)
    with pytest.raises(InvalidRecordError, match="limit"):
        decode_records(buf, max_decompressed_size=1 << 19)
    assert decode_records(buf)[0].value == bytes(1 << 20)


def test_uncompressed_payload_is_bounded_by_max_size_too() -> None:
    with pytest.raises(InvalidRecordError):
        compression.decompress(0, b"abc", max_size=2)


def test_gzip_multi_member_and_garbage() -> None:
    data = gzip.compress(b"first ") + gzip.compress(b"second")
    assert compression.decompress(1, data) == b"first second"
    with pytest.raises(InvalidRecordError):
        compression.decompress(1, gzip.compress(b"abc")[:-5])
    with pytest.raises(InvalidRecordError):
        compression.decompress(1, b"")
    forged = bytearray(gzip.compress(b"tiny"))
    forged[-4:] = (200 << 20).to_bytes(4, "little")  # ISIZE claims 200 MiB: not trusted as a size hint
    with pytest.raises(InvalidRecordError):
        compression.decompress(1, bytes(forged))


@pytest.mark.parametrize("codec", COMPRESSED, ids=CODEC_IDS[1:])
@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=200))
def test_codec_garbage_raises_invalid_record(codec: int, data: bytes) -> None:
    with contextlib.suppress(InvalidRecordError):
        compression.decompress(codec, data, max_size=1 << 20)


@pytest.mark.parametrize("codec", CODECS, ids=CODEC_IDS)
@settings(max_examples=50, deadline=None)
@given(data=st.binary(max_size=5000))
def test_codec_round_trip(codec: int, data: bytes) -> None:
    assert compression.decompress(codec, compression.compress(codec, data)) == data


def test_unknown_codec() -> None:
    with pytest.raises(ValueError):
        compression.compress(5, b"x")
    with pytest.raises(InvalidRecordError):
        compression.decompress(7, b"x")


# --------------------------------------------------------------------------------------------
# Control records and client-batch validation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("commit", [True, False])
def test_end_txn_marker_batch(commit: bool) -> None:
    buf = build_end_txn_marker_batch(
        commit=commit, producer_id=1234, producer_epoch=5, coordinator_epoch=42, base_offset=99, timestamp=7
    )
    [(_, h)] = split_batches(buf)
    assert h.is_control and h.is_transactional and h.records_count == 1 and h.base_sequence == -1
    assert (h.producer_id, h.producer_epoch, h.base_offset) == (1234, 5, 99)
    [rec] = decode_records(buf)
    marker = parse_end_txn_marker(rec)
    assert marker.is_commit is commit and marker.coordinator_epoch == 42 and marker.version == 0
    assert parse_control_key(rec.key) == (0, CONTROL_TYPE_COMMIT if commit else CONTROL_TYPE_ABORT)
    [theirs] = list(DefaultRecordBatch(bytearray(buf)))
    assert isinstance(theirs, kdr.ControlRecord) and theirs.commit is commit
    with pytest.raises(InvalidRecordError, match="control"):
        validate_client_batch(h)


def test_control_record_parse_errors() -> None:
    with pytest.raises(InvalidRecordError):
        parse_control_key(None)
    with pytest.raises(InvalidRecordError):
        parse_control_key(b"\x00\x00\x00")
    with pytest.raises(InvalidRecordError):
        parse_control_key(b"\xff\xff\x00\x01")
    assert parse_control_key(encode_control_key(1, version=3)) == (3, 1)
    with pytest.raises(InvalidRecordError, match="not a transaction marker"):
        parse_end_txn_marker(Record(0, 0, encode_control_key(2), b"", ()))
    with pytest.raises(InvalidRecordError):
        parse_end_txn_marker(Record(0, 0, encode_control_key(1), b"\x00\x00\x00", ()))
    with pytest.raises(InvalidRecordError):
        parse_end_txn_marker(Record(0, 0, encode_control_key(1), None, ()))


def _header(**kw: int) -> BatchHeader:
    base = read_batch_header(
        build_batch([(b"a", b"b", (), 1)] * 3, producer_id=1, producer_epoch=0, base_sequence=0)
    )
    fields = {name: getattr(base, name) for name in BatchHeader.__dataclass_fields__}
    fields.update(kw)
    return BatchHeader(**fields)


def test_validate_client_batch() -> None:
    validate_client_batch(_header())
    for bad in (
        {"records_count": 0},
        {"records_count": -1},
        {"last_offset_delta": -1},
        {"last_offset_delta": 5},
        {"base_sequence": -1},
    ):
        with pytest.raises(InvalidRecordError):
            validate_client_batch(_header(**bad))
    validate_client_batch(_header(producer_id=-1, base_sequence=-1))
