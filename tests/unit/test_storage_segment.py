"""LogSegment on its own: append/index rules, reads and slices, timestamps, recovery results,
truncation, laziness and resource release."""

from __future__ import annotations

import os
from pathlib import Path

from protocol.records import CODEC_GZIP, iter_batches, set_base_offset
from storage.config import LogConfig
from storage.file_cache import OpenFileCache
from storage.log import Log
from storage.segment import LogSegment, RollParams, file_name, parse_base_offset
from tests.unit.test_storage_support import batch, check_segment_indexes


def make_segment(tmp_path: Path, base: int = 100, interval: int = 100) -> LogSegment:
    return LogSegment.create(tmp_path, base, index_interval_bytes=interval, max_index_size=4096, now_ms=0)


def append(segment: LogSegment, offset: int, count: int, ts: int, value_size: int = 30, **kw: int) -> int:
    data = bytearray(batch(count, ts, value_size, **kw))  # type: ignore[arg-type]
    set_base_offset(data, 0, offset)
    segment.append(offset + count - 1, ts, offset + count - 1, data, list(iter_batches(data)))
    return offset + count


def test_names() -> None:
    assert file_name(42, ".log") == "00000000000000000042.log"
    assert parse_base_offset("00000000000000000042.timeindex.deleted") == 42
    assert parse_base_offset("leader-epoch-checkpoint") is None


def test_append_indexes_every_interval(tmp_path: Path) -> None:
    segment = make_segment(tmp_path)
    offset = 100
    for i in range(30):
        offset = append(segment, offset, 2, 1_000 + i)
    assert segment.read_next_offset() == offset == 160
    assert segment.offset_index.entries == 29  # every batch after the first (interval 100 < batch size)
    check_segment_indexes(segment)
    assert segment.max_timestamp_so_far == 1_029 and segment.offset_of_max_timestamp_so_far == 159
    # the same rule replayed by recovery gives the same index
    entries = [segment.offset_index.entry(i) for i in range(segment.offset_index.entries)]
    assert segment.recover() == 0
    assert [segment.offset_index.entry(i) for i in range(segment.offset_index.entries)] == entries


def test_read_and_translate(tmp_path: Path) -> None:
    segment = make_segment(tmp_path)
    offset = 100
    positions = []
    for i in range(10):
        positions.append(segment.size)
        offset = append(segment, offset, 3, 1_000 + i)
    found = segment.translate_offset(104)
    assert found is not None and (found.base_offset, found.last_offset, found.position) == (103, 105, positions[1])
    assert segment.translate_offset(130) is None
    read = segment.read(104, 1, min_one_message=True)
    assert read is not None and read.records is not None
    assert read.records.position == positions[1] and read.records.size == found.size
    read = segment.read(104, 10_000, max_position=positions[3])
    assert read is not None and read.records is not None and read.records.size == positions[3] - positions[1]
    assert read.records.slice(5, 10).read() == read.records.read()[5:15]
    empty = segment.read(104, 0)
    assert empty is not None and empty.records is None


def test_find_offset_by_timestamp_in_compressed_batches(tmp_path: Path) -> None:
    segment = make_segment(tmp_path)
    append(segment, 100, 4, 0, compression=CODEC_GZIP)
    data = bytearray(batch(4, [50, 10, 70, 30], compression=CODEC_GZIP))
    set_base_offset(data, 0, 104)
    segment.append(107, 70, 106, data, list(iter_batches(data)))
    assert segment.find_offset_by_timestamp(20, 100) == (50, 104, -1)
    assert segment.find_offset_by_timestamp(60, 100) == (70, 106, -1)
    assert segment.find_offset_by_timestamp(71, 100) is None
    assert segment.find_offset_by_timestamp(0, 106) == (70, 106, -1)
    assert segment.find_max_timestamp() == (70, 106, -1)


def test_should_roll(tmp_path: Path) -> None:
    segment = make_segment(tmp_path)

    def params(**kw: int) -> RollParams:
        base = {"max_segment_ms": 1_000, "max_segment_bytes": 1_000, "max_timestamp_in_messages": 0,
                "max_offset_in_messages": 100, "messages_size": 10, "now": 0}
        base.update(kw)
        return RollParams(**base)

    assert not segment.should_roll(params(now=10**9))  # empty: never by time
    append(segment, 100, 1, 5_000)
    size = segment.size
    assert not segment.should_roll(params(max_timestamp_in_messages=6_000))
    assert segment.should_roll(params(max_timestamp_in_messages=6_001))
    assert segment.should_roll(params(messages_size=1_000 - size + 1))
    assert not segment.should_roll(params(messages_size=1_000 - size))
    assert segment.should_roll(params(max_offset_in_messages=100 + 2**31))


def test_truncate_to_restores_max_timestamp(tmp_path: Path) -> None:
    segment = make_segment(tmp_path)
    offset = 100
    positions = []
    for ts in (10, 50, 20, 90, 30):
        positions.append(segment.size)
        offset = append(segment, offset, 2, ts)
    total = segment.size
    assert segment.truncate_to(107) == total - positions[3]  # the batch [106, 107] goes whole
    assert segment.size == positions[3]
    assert segment.read_next_offset() == 106
    assert segment.max_timestamp_so_far == 50 and segment.offset_of_max_timestamp_so_far == 103
    check_segment_indexes(segment)


def test_inactive_segments_load_lazily_and_release(tmp_path: Path) -> None:
    config = LogConfig(segment_bytes=400, segment_index_bytes=4096, index_interval_bytes=50)
    log = Log.open(tmp_path / "t-0", config, clock=lambda: 0)
    for i in range(40):
        log.append_as_leader(batch(1, 1_000 + i, 80), 0)
    log.close()
    cache = OpenFileCache(max_open_files=1000)
    again = Log.open(tmp_path / "t-0", config, clean_shutdown=True, clock=lambda: 0, file_cache=cache)
    inactive = again.segments[:-1]
    assert len(inactive) > 5
    assert all(s.open_file_count == 0 for s in inactive)
    assert all(not s.offset_index.is_loaded and not s.time_index.is_loaded for s in inactive)
    # retention-style questions need no mmap
    assert [s.largest_timestamp for s in inactive][-1] >= 1_000
    assert all(s.open_file_count == 0 for s in inactive)
    target = inactive[2]
    again.read(target.base_offset + 1, 10)
    assert target.offset_index.is_loaded and not target.time_index.is_loaded
    assert target.open_file_count == 2 and cache.open_files == 2
    target.release_resources()
    assert target.open_file_count == 0
    again.read(target.base_offset + 1, 10)  # reopened on demand
    assert target.open_file_count == 2
    again.close()
    assert cache.open_files == 0


def test_largest_timestamp_falls_back_to_mtime(tmp_path: Path) -> None:
    segment = make_segment(tmp_path)
    assert segment.max_timestamp_so_far == -1
    os.utime(segment.log_path, ns=(123_000_000_000, 123_000_000_000))
    assert segment.largest_timestamp == 123_000
    segment.set_last_modified(456_000)
    assert segment.last_modified_ms == 456_000


def test_recover_reports_truncated_bytes(tmp_path: Path) -> None:
    segment = make_segment(tmp_path)
    offset = 100
    for i in range(5):
        offset = append(segment, offset, 1, i)
    size = segment.size
    with open(segment.log_path, "ab") as f:
        f.write(b"\x00" * 7)
    assert segment.recover() == 7
    assert segment.size == size and segment.read_next_offset() == 105
    assert os.path.getsize(segment.log_path) == size


def test_translate_at_recent_batch_starts_matches_a_scan(tmp_path: Path) -> None:
    """Batch starts remembered from appends agree with the file, also after a truncation
    rewrites the same offsets at other positions (different batch sizes)."""
    segment = make_segment(tmp_path, interval=10_000)  # sparse index: lookups need a scan
    offset = 100
    for i in range(6):
        offset = append(segment, offset, 2, 1_000 + i, value_size=30)
    segment.truncate_to(104)
    offset = 104
    for i in range(6):
        offset = append(segment, offset, 1 + i % 3, 2_000 + i, value_size=50 + 40 * i)
    scanned = LogSegment(tmp_path, 100, index_interval_bytes=10_000, max_index_size=4096, size=segment.size)
    for wanted in range(100, offset + 1):
        assert segment.translate_offset(wanted) == scanned.translate_offset(wanted), wanted
    segment.recover()
    assert segment.translate_offset(104) == scanned.translate_offset(104)
    scanned.close()
