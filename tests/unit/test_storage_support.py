"""Helpers shared by the storage tests (no tests here): batch builders and log inspectors."""

from __future__ import annotations

from collections.abc import Sequence

from protocol.records import (
    NO_PARTITION_LEADER_EPOCH,
    BatchHeader,
    Record,
    RecordSpec,
    build_batch,
    decode_records,
    iter_batches,
)
from storage.log import Log
from storage.segment import LogSegment


def batch(
    count: int = 1,
    ts: int | Sequence[int] = 1_000,
    value_size: int = 10,
    *,
    key: bytes | None = b"k",
    base_offset: int = 0,
    epoch: int = NO_PARTITION_LEADER_EPOCH,
    compression: int = 0,
) -> bytes:
    """One v2 batch of ``count`` records; ``ts`` is one timestamp or one per record."""
    stamps = [ts] * count if isinstance(ts, int) else list(ts)
    assert len(stamps) == count
    specs = [RecordSpec(key, bytes([65 + i % 26]) * value_size, (), stamps[i]) for i in range(count)]
    return build_batch(specs, base_offset=base_offset, partition_leader_epoch=epoch, compression=compression)


def follower_batch(base_offset: int, count: int = 1, ts: int = 1_000, epoch: int = 0) -> bytes:
    return batch(count, ts, base_offset=base_offset, epoch=epoch)


def headers_of(log: Log) -> list[BatchHeader]:
    return list(log.batch_headers())


def records_of(log: Log, start: int | None = None) -> list[Record]:
    """Every record from ``start`` (default log start) to the LEO, read through Log.read."""
    offset = log.log_start_offset if start is None else start
    out: list[Record] = []
    while offset < log.log_end_offset:
        data = log.read(offset, 1 << 20)
        assert data.records is not None, f"no data at {offset} < {log.log_end_offset}"
        raw = data.records.read()
        advanced = False
        for pos, header in iter_batches(raw, verify=True, allow_partial_tail=True):
            for record in decode_records(raw, pos):
                if record.offset >= offset:
                    out.append(record)
            offset = header.next_offset
            advanced = True
        assert advanced
    return out


def check_segment_indexes(segment: LogSegment) -> None:
    """Every offset-index entry points at the start of a batch ending at the entry's offset, and
    time-index entries name offsets that are batch last offsets with a timestamp <= entry's."""
    starts = {pos: header for pos, header in segment.batches()}
    lasts = {h.last_offset: h for h in starts.values()}
    index = segment.offset_index
    prev = -1
    for slot in range(index.entries):
        entry = index.entry(slot)
        assert entry.offset > prev
        prev = entry.offset
        assert entry.position in starts, (segment, slot, entry)
        assert starts[entry.position].last_offset == entry.offset
    tindex = segment.time_index
    prev_ts = -1
    for slot in range(tindex.entries):
        tentry = tindex.entry(slot)
        assert tentry.timestamp > prev_ts
        prev_ts = tentry.timestamp
        assert tentry.offset in lasts
        assert lasts[tentry.offset].max_timestamp == tentry.timestamp


def full_scan(log: Log) -> list[tuple[int, int]]:
    """(base, last) of every batch, CRC-verified, checking offsets strictly increase."""
    out: list[tuple[int, int]] = []
    prev = -1
    for header, data in log.batches():
        list(iter_batches(data, verify=True))
        assert header.base_offset > prev
        prev = header.last_offset
        out.append((header.base_offset, header.last_offset))
    for segment in log.segments:
        check_segment_indexes(segment)
    return out
