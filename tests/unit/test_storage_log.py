"""Log: appends (leader and follower), validation, reads, rolls, retention, DeleteRecords,
offsets by timestamp, truncation."""

from __future__ import annotations

import os
import random
import threading
from pathlib import Path

import pytest

from protocol.records import (
    BatchHeader,
    CorruptRecordError,
    InvalidRecordError,
    RecordSpec,
    build_batch,
    compute_crc,
    decode_records,
    iter_batches,
    read_batch_header,
)
from storage.config import LogConfig
from storage.errors import (
    InvalidTimestampError,
    OffsetOutOfRangeError,
    OffsetsOutOfOrderError,
    RecordBatchTooLargeError,
    RecordTooLargeError,
    UnexpectedAppendOffsetError,
)
from storage.file_slice import SegmentFile
from storage.log import Log
from tests.unit.test_storage_support import batch, follower_batch, full_scan, headers_of, records_of


class Clock:
    def __init__(self, now: int = 0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def open_log(tmp_path: Path, config: LogConfig | None = None, clock: Clock | None = None) -> Log:
    return Log.open(tmp_path / "topic-0", config or LogConfig(segment_index_bytes=4096), clock=clock or Clock())


# -- append ---------------------------------------------------------------------------------------


def test_append_assigns_offsets_and_epochs(tmp_path: Path) -> None:
    log = open_log(tmp_path)
    blob = batch(3, 1_000) + batch(2, 2_000)
    info = log.append_as_leader(blob, leader_epoch=5)
    assert (info.first_offset, info.last_offset, info.num_batches, info.num_records) == (0, 4, 2, 5)
    assert info.max_timestamp == 2_000 and info.offset_of_max_timestamp == 4
    assert info.log_append_time == -1 and info.log_start_offset == 0
    assert [(h.base_offset, h.partition_leader_epoch) for h in info.batches] == [(0, 5), (3, 5)]
    assert log.log_end_offset == 5
    info = log.append_as_leader(batch(1), leader_epoch=6)
    assert info.first_offset == 5
    assert [r.offset for r in records_of(log)] == list(range(6))
    assert log.leader_epoch_cache.entries() == [(5, 0), (6, 5)]
    # the stored bytes are the client's bytes but for base offset and leader epoch
    stored = log.read(3, 10_000).records
    assert stored is not None
    raw = stored.read()
    original = batch(2, 2_000)
    assert raw[: len(original)][12:16] == (5).to_bytes(4, "big")
    assert raw[16 : len(original)] == original[16:]


def test_bytearray_is_patched_in_place_bytes_copied(tmp_path: Path) -> None:
    log = open_log(tmp_path)
    log.append_as_leader(batch(), 0)
    buf = bytearray(batch(2))
    log.append_as_leader(buf, 0)
    assert read_batch_header(buf).base_offset == 1
    original = batch(2)
    log.append_as_leader(original, 0)
    assert read_batch_header(original).base_offset == 0


def test_log_append_time(tmp_path: Path) -> None:
    clock = Clock(123_456)
    log = open_log(tmp_path, LogConfig(message_timestamp_type="LogAppendTime"), clock)
    info = log.append_as_leader(batch(3, 1_000) + batch(1, 5), 0)
    assert info.log_append_time == 123_456 and info.max_timestamp == 123_456
    for header in headers_of(log):
        assert header.timestamp_type == 1 and header.max_timestamp == 123_456
    for _, data in log.batches():
        list(iter_batches(data, verify=True))  # CRC recomputed
    assert all(r.timestamp == 123_456 for r in records_of(log))


def test_append_validation(tmp_path: Path) -> None:
    log = open_log(tmp_path, LogConfig(max_message_bytes=300, segment_bytes=1_000, segment_index_bytes=4096))
    with pytest.raises(RecordTooLargeError):
        log.append_as_leader(batch(1, value_size=400), 0)
    bad_crc = bytearray(batch())
    bad_crc[-1] ^= 1
    with pytest.raises(CorruptRecordError):
        log.append_as_leader(bad_crc, 0)
    with pytest.raises(CorruptRecordError):
        log.append_as_leader(batch()[:-3], 0)
    with pytest.raises(InvalidRecordError, match="baseOffset"):
        log.append_as_leader(batch(base_offset=7), 0)
    bad_count = bytearray(batch(2))
    bad_count[57:61] = (5).to_bytes(4, "big")  # recordsCount disagrees with lastOffsetDelta
    bad_count[17:21] = compute_crc(bad_count, 0, len(bad_count)).to_bytes(4, "big")  # valid CRC
    with pytest.raises(InvalidRecordError):
        log.append_as_leader(bad_count, 0)
    with pytest.raises(RecordBatchTooLargeError):
        log.append_as_leader(b"".join(batch(1, value_size=200) for _ in range(5)), 0)
    assert log.log_end_offset == 0 and log.size == 0
    assert log.append_as_leader(b"", 0).first_offset == -1


def test_timestamp_bounds_and_compacted_keys(tmp_path: Path) -> None:
    clock = Clock(1_000_000)
    config = LogConfig(message_timestamp_before_max_ms=1_000, message_timestamp_after_max_ms=10)
    log = open_log(tmp_path, config, clock)
    log.append_as_leader(batch(2, [999_500, 1_000_005]), 0)
    with pytest.raises(InvalidTimestampError):
        log.append_as_leader(batch(2, [1_000_000, 998_000]), 0)
    with pytest.raises(InvalidTimestampError):
        log.append_as_leader(batch(1, 1_000_011), 0)
    compacted = Log.open(tmp_path / "c-0", LogConfig(cleanup_policy=("compact",)), clock=clock)
    with pytest.raises(InvalidRecordError, match="without key"):
        compacted.append_as_leader(batch(key=None), 0)
    compacted.append_as_leader(batch(key=b"x"), 0)


def test_before_append_hook_aborts(tmp_path: Path) -> None:
    log = open_log(tmp_path)

    def reject(headers: list[BatchHeader]) -> None:
        raise RuntimeError("duplicate")

    with pytest.raises(RuntimeError):
        log.append_as_leader(batch(), 0, before_append=reject)
    seen: list[int] = []
    log.append_as_leader(batch(3), 0, before_append=lambda hs: seen.extend(h.records_count for h in hs))
    assert seen == [3] and log.log_end_offset == 3


def test_follower_append(tmp_path: Path) -> None:
    log = open_log(tmp_path)
    info = log.append_as_follower(follower_batch(0, 3, epoch=1) + follower_batch(3, 2, epoch=2))
    assert (info.first_offset, info.last_offset) == (0, 4)
    assert log.leader_epoch_cache.entries() == [(1, 0), (2, 3)]
    with pytest.raises(UnexpectedAppendOffsetError):
        log.append_as_follower(follower_batch(4))
    with pytest.raises(OffsetsOutOfOrderError):
        log.append_as_follower(follower_batch(10, 3) + follower_batch(11))
    # a gap is allowed; an offset too far for the active segment rolls a new segment there
    log.append_as_follower(follower_batch(20))
    far = 2**31 + 100
    info = log.append_as_follower(follower_batch(far))
    assert info.rolled and log.active_segment.base_offset == far
    assert [h.base_offset for h in headers_of(log)] == [0, 3, 20, far]
    assert log.log_end_offset == far + 1


def test_follower_append_leaves_a_partial_last_batch_for_the_next_fetch(tmp_path: Path) -> None:
    """A Fetch response cut at the fetch size ends inside a batch: only whole batches go in."""
    log = open_log(tmp_path)
    whole, cut = follower_batch(0, 3), follower_batch(3, 2)
    for keep in (0, 5, len(cut) - 1):
        info = log.append_as_follower(whole + cut[:keep]) if log.log_end_offset == 0 else None
        if info is not None:
            assert (info.first_offset, info.last_offset, info.valid_bytes) == (0, 2, len(whole))
        assert log.log_end_offset == 3
        assert log.append_as_follower(cut[:keep]).first_offset == -1  # nothing whole: nothing appended
    assert log.append_as_follower(cut).last_offset == 4
    assert [h.base_offset for h in headers_of(log)] == [0, 3]


# -- reading -------------------------------------------------------------------------------------


def test_read_inside_batch_returns_whole_batch(tmp_path: Path) -> None:
    log = open_log(tmp_path)
    for _ in range(10):
        log.append_as_leader(batch(5), 0)
    for offset in range(50):
        data = log.read(offset, 1)  # min_one_message: the whole first batch
        assert data.records is not None
        raw = data.records.read()
        header = read_batch_header(raw)
        assert header.base_offset == offset - offset % 5 and len(raw) == header.size
        assert not data.first_entry_incomplete


def test_read_bounds(tmp_path: Path) -> None:
    log = open_log(tmp_path)
    sizes = []
    for i in range(10):
        sizes.append(log.append_as_leader(batch(2, value_size=10 + i), 0).valid_bytes)
    assert log.read(20, 100).records is None  # at the LEO: empty
    for bad in (-1, 21):
        with pytest.raises(OffsetOutOfRangeError):
            log.read(bad, 100)
    # max_bytes cuts (possibly inside a batch, as Kafka); whole batches with min_one_message
    data = log.read(0, sizes[0] + 5)
    assert data.size == sizes[0] + 5
    data = log.read(0, 3, min_one_message=False)
    assert data.size == 3 and data.first_entry_incomplete
    # the high watermark bounds the read at a batch boundary
    log.update_high_watermark(6)
    data = log.read(0, 10_000, max_offset=log.high_watermark)
    assert data.records is not None and data.size == sum(sizes[:3])
    assert log.read(6, 100, max_offset=6).records is None
    assert data.high_watermark == 6 and data.log_end_offset == 20


def test_read_across_segments(tmp_path: Path) -> None:
    config = LogConfig(segment_bytes=500, segment_index_bytes=4096, index_interval_bytes=100)
    log = open_log(tmp_path, config)
    for i in range(40):
        log.append_as_leader(batch(1 + i % 4, 1_000 + i), 0)
    assert log.num_segments > 3
    records = records_of(log)
    assert [r.offset for r in records] == list(range(log.log_end_offset))
    # one read never spans two segments
    for segment in log.segments[:-1]:
        data = log.read(segment.base_offset, 10_000)
        assert data.size == segment.size


# -- rolling -------------------------------------------------------------------------------------


def test_roll_on_segment_bytes(tmp_path: Path) -> None:
    config = LogConfig(segment_bytes=1_000, segment_index_bytes=4096)
    log = open_log(tmp_path, config)
    size = len(batch(1, value_size=100))
    for _ in range(30):
        log.append_as_leader(batch(1, value_size=100), 0)
    per_segment = 1_000 // size
    for segment in log.segments[:-1]:
        assert segment.size == per_segment * size <= 1_000
        assert segment.size + size > 1_000
    assert [s.base_offset for s in log.segments] == list(range(0, 30, per_segment))


def test_roll_on_segment_ms_by_record_timestamps(tmp_path: Path) -> None:
    log = open_log(tmp_path, LogConfig(segment_ms=100, segment_index_bytes=4096))
    log.append_as_leader(batch(1, 1_000), 0)
    log.append_as_leader(batch(1, 1_100), 0)  # 100 is not > 100
    assert log.num_segments == 1
    log.append_as_leader(batch(1, 1_101), 0)
    assert [s.base_offset for s in log.segments] == [0, 2]


def test_roll_on_segment_ms_by_clock_without_timestamps(tmp_path: Path) -> None:
    clock = Clock(5_000)
    log = open_log(tmp_path, LogConfig(segment_ms=100, segment_index_bytes=4096), clock)
    no_ts = build_batch([RecordSpec(b"k", b"v", (), -1)])
    log.append_as_leader(no_ts, 0)
    clock.now = 5_100
    log.append_as_leader(no_ts, 0)
    assert log.num_segments == 1
    clock.now = 5_101
    info = log.append_as_leader(no_ts, 0)
    assert info.rolled and [s.base_offset for s in log.segments] == [0, 2]
    assert log.active_segment.created_ms == 5_101
    # an empty active segment never rolls on time
    clock.now = 10**9
    log.roll()
    assert not log.append_as_leader(no_ts, 0).rolled


def test_roll_on_full_index(tmp_path: Path) -> None:
    config = LogConfig(segment_index_bytes=48, index_interval_bytes=0)  # 6 offset / 4 time entries
    log = open_log(tmp_path, config)
    for i in range(20):
        log.append_as_leader(batch(1, 1_000 + i), 0)
    assert log.num_segments > 1
    for segment in log.segments[:-1]:
        # the time index is "full" at 3 of its 4 slots (the last is kept for the roll entry);
        # one entry per batch after the first, so each segment holds 4 batches
        assert segment.time_index.entries == 3
        assert len(list(segment.batches())) == 4
    full_scan(log)


def test_rolled_segment_is_flushed_later(tmp_path: Path) -> None:
    log = open_log(tmp_path, LogConfig(segment_bytes=200, segment_index_bytes=4096))
    for _ in range(5):
        log.append_as_leader(batch(1, value_size=60), 0)
    assert log.num_segments > 1 and log.recovery_point == 0
    plan = log.plan_flush()
    assert plan is not None
    plan.run()
    plan.commit()
    assert log.recovery_point == log.active_segment.base_offset
    log.flush()
    assert log.recovery_point == log.log_end_offset


def test_planned_flush_runs_outside_the_log_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A rolled segment's fsync (plan_flush, then run in another thread) lets appends go on
    meanwhile; the recovery point moves only when the flush is committed."""
    log = open_log(tmp_path, LogConfig(segment_bytes=200, segment_index_bytes=4096))
    for _ in range(5):
        log.append_as_leader(batch(1, value_size=60), 0)
    rolled_to = log.active_segment.base_offset
    plan = log.plan_flush()
    assert plan is not None and plan.offset == rolled_to and log.recovery_point == 0
    appended = threading.Event()
    fsynced: list[bool] = []
    real_fsync = SegmentFile.fsync

    def fsync(self: SegmentFile) -> None:
        fsynced.append(appended.wait(10))  # the append below needs the log lock
        real_fsync(self)

    monkeypatch.setattr(SegmentFile, "fsync", fsync)
    worker = threading.Thread(target=plan.run)
    worker.start()
    log.append_as_leader(batch(1, value_size=60), 0)
    appended.set()
    worker.join(20)
    assert not worker.is_alive() and fsynced and all(fsynced)
    assert log.recovery_point == 0
    plan.commit()
    assert log.recovery_point == rolled_to


def fsynced_paths(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """From now on, the path of every file or directory ``os.fsync`` is called on."""
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return synced


def test_flush_makes_rolled_segments_indexes_durable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A rolled segment's indexes are trimmed and unmapped; its flush still fsyncs them."""
    log = open_log(tmp_path, LogConfig(segment_bytes=200, segment_index_bytes=4096))
    for _ in range(5):
        log.append_as_leader(batch(1, value_size=60), 0)
    first = log.segments[0]
    assert first is not log.active_segment
    synced = fsynced_paths(monkeypatch)
    log.flush()
    assert {str(first.offset_index.path), str(first.time_index.path), str(first.log_path)} <= set(synced)


def test_files_written_at_a_roll_are_made_durable_by_the_next_flush(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``on_roll`` may return a file it wrote without fsync; the planned flush of the rolled
    segment fsyncs it (and the directory), not the roll itself."""
    log = open_log(tmp_path, LogConfig(segment_bytes=200, segment_index_bytes=4096))
    written: list[Path] = []

    def on_roll(offset: int) -> Path:
        path = tmp_path / f"roll-{offset}"
        path.write_bytes(b"state")
        written.append(path)
        return path

    log.on_roll = on_roll
    synced = fsynced_paths(monkeypatch)
    for _ in range(5):
        log.append_as_leader(batch(1, value_size=60), 0)
    assert written and not {str(p) for p in written} & set(synced)  # not fsynced by the rolls
    synced.clear()
    plan = log.plan_flush()
    assert plan is not None
    plan.run()
    assert {str(p) for p in written} <= set(synced) and str(log.dir) in synced
    synced.clear()
    later = log.plan_flush(scheduled=True, now_ms=10**12)
    if later is not None:
        later.run()
    assert not {str(p) for p in written} & set(synced)  # taken once


def test_flush_planned_before_a_truncation_is_not_committed(tmp_path: Path) -> None:
    """Offsets truncated and written again while a flush ran were not part of that fsync."""
    log = open_log(tmp_path, LogConfig(segment_bytes=200, segment_index_bytes=4096))
    for _ in range(5):
        log.append_as_leader(batch(1, value_size=60), 0)
    plan = log.plan_flush()
    assert plan is not None and plan.offset >= 2
    log.truncate_to(1)
    for _ in range(5):
        log.append_as_leader(batch(1, value_size=60), 0)
    plan.run()  # the truncated segments' files were renamed meanwhile: skipped, no error
    plan.commit()
    assert log.recovery_point <= 1


def test_flush_messages_policy(tmp_path: Path) -> None:
    log = open_log(tmp_path, LogConfig(flush_messages=3, segment_index_bytes=4096))
    log.append_as_leader(batch(2), 0)
    assert log.recovery_point == 0
    log.append_as_leader(batch(1), 0)
    assert log.recovery_point == 3


# -- offsets by timestamp ---------------------------------------------------------------------------


def test_offset_for_timestamp_matches_brute_force(tmp_path: Path) -> None:
    rng = random.Random(7)
    config = LogConfig(segment_bytes=2_000, index_interval_bytes=150, segment_index_bytes=4096)
    log = open_log(tmp_path, config)
    stamps: list[int] = []
    for _ in range(80):
        n = rng.randint(1, 4)
        ts = [rng.randint(0, 10_000) for _ in range(n)]
        log.append_as_leader(batch(n, ts), rng.randint(0, 2))
        stamps.extend(ts)
    assert log.num_segments > 2
    for target in [*range(-0, 10_050, 37), *stamps[:30]]:
        expected = next(((o, t) for o, t in enumerate(stamps) if t >= target), None)
        found = log.offset_for_timestamp(target)
        if expected is None:
            assert found is None
        else:
            assert found is not None and (found.offset, found.timestamp) == expected, target
    best = max(stamps)
    found = log.offset_for_timestamp(-3)
    assert found is not None and (found.timestamp, found.offset) == (best, stamps.index(best))
    assert log.max_timestamp_and_offset() == found
    assert log.offset_for_timestamp(-2).offset == 0  # type: ignore[union-attr]
    assert log.offset_for_timestamp(-1).offset == log.log_end_offset  # type: ignore[union-attr]
    # after DeleteRecords the search starts at the log start offset
    log.update_high_watermark(log.log_end_offset)
    log.delete_records(50)
    expected = next(((o, t) for o, t in enumerate(stamps) if t >= 0 and o >= 50), None)
    found = log.offset_for_timestamp(0)
    assert found is not None and (found.offset, found.timestamp) == expected


def test_offset_for_timestamp_reports_epoch(tmp_path: Path) -> None:
    log = open_log(tmp_path)
    log.append_as_leader(batch(1, 10), 3)
    log.append_as_leader(batch(1, 20), 4)
    assert log.offset_for_timestamp(15) == (20, 1, 4)
    assert log.offset_for_timestamp(21) is None
    assert log.epoch_for_offset(0) == 3 and log.epoch_for_offset(1) == 4


# -- retention, DeleteRecords --------------------------------------------------------------------


def retention_log(tmp_path: Path, clock: Clock, **overrides: int) -> Log:
    config = LogConfig(segment_bytes=600, segment_index_bytes=4096, file_delete_delay_ms=1_000).replace(**overrides)
    log = open_log(tmp_path, config, clock)
    for i in range(30):
        log.append_as_leader(batch(1, 1_000 * (i + 1), 100), 0)  # 160-byte batches, 3 per segment
    log.update_high_watermark(log.log_end_offset)
    return log


def test_retention_by_time(tmp_path: Path) -> None:
    clock = Clock()
    log = retention_log(tmp_path, clock, retention_ms=10_000)
    bases = [s.base_offset for s in log.segments]
    # segment k holds timestamps 3000k+1000 .. 3000k+3000; now = 20_500 expires those <= 10_500
    clock.now = 20_500
    deleted = log.delete_old_segments()
    assert deleted == 3
    assert [s.base_offset for s in log.segments] == bases[3:]
    assert log.log_start_offset == bases[3]
    with pytest.raises(OffsetOutOfRangeError):
        log.read(0, 100)
    # deleted files are renamed, then removed after file.delete.delay.ms
    names = [p.name for p in log.dir.iterdir()]
    assert sum(n.endswith(".log.deleted") for n in names) == 3
    assert log.purge_deleted_segments(clock.now + 999) == 0
    assert log.purge_deleted_segments(clock.now + 1_000) == 3
    assert not any(p.name.endswith(".deleted") for p in log.dir.iterdir())


def test_retention_respects_high_watermark(tmp_path: Path) -> None:
    clock = Clock()
    log = retention_log(tmp_path, clock, retention_ms=1)
    log.update_high_watermark(7)  # segments [0,3) and [3,6) are below it, [6,9) is not
    clock.now = 10**9
    assert log.delete_old_segments() == 2
    assert log.log_start_offset == 6


def test_retention_by_time_rolls_and_deletes_active(tmp_path: Path) -> None:
    clock = Clock()
    log = open_log(tmp_path, LogConfig(retention_ms=100, segment_index_bytes=4096), clock)
    log.append_as_leader(batch(2, 1_000), 0)
    log.update_high_watermark(2)
    clock.now = 1_050
    assert log.delete_old_segments() == 0
    clock.now = 1_101
    assert log.delete_old_segments() == 1  # Kafka: roll an empty segment, delete the old active one
    assert [s.base_offset for s in log.segments] == [2]
    assert log.log_start_offset == log.log_end_offset == 2
    clock.now = 10**9
    assert log.delete_old_segments() == 0  # an empty active segment is never deleted
    assert log.num_segments == 1


def test_retention_by_size(tmp_path: Path) -> None:
    clock = Clock()
    log = retention_log(tmp_path, clock, retention_bytes=1_000)
    sizes = [s.size for s in log.segments]
    total = sum(sizes)
    deleted = log.delete_old_segments()
    # drop oldest segments while the remainder stays >= retention.bytes
    expected = 0
    remaining = total
    while remaining - sizes[expected] >= 1_000:
        remaining -= sizes[expected]
        expected += 1
    assert deleted == expected and log.size == remaining >= 1_000
    assert log.log_start_offset == log.segments[0].base_offset


def test_size_retention_never_deletes_sole_active_segment(tmp_path: Path) -> None:
    log = open_log(tmp_path, LogConfig(retention_bytes=10, segment_index_bytes=4096))
    log.append_as_leader(batch(5, value_size=100), 0)
    log.update_high_watermark(5)
    assert log.delete_old_segments() == 0
    assert log.num_segments == 1 and log.log_start_offset == 0


def test_compact_policy_skips_time_and_size_retention(tmp_path: Path) -> None:
    clock = Clock()
    log = retention_log(tmp_path, clock, retention_ms=1)
    log.update_config(log.config.replace(cleanup_policy=("compact",)))
    clock.now = 10**9
    assert log.delete_old_segments() == 0


def test_delete_records(tmp_path: Path) -> None:
    clock = Clock()
    log = retention_log(tmp_path, clock)
    log.update_high_watermark(10)
    with pytest.raises(OffsetOutOfRangeError):
        log.delete_records(11)
    assert log.delete_records(7) == 7
    assert log.delete_records(5) == 7  # never backwards
    with pytest.raises(OffsetOutOfRangeError):
        log.read(6, 100)
    data = log.read(7, 1)
    assert data.records is not None and read_batch_header(data.records.read()).base_offset == 7
    assert log.delete_old_segments() == 2  # segments [0,3) and [3,6) end below 7
    assert log.segments[0].base_offset == 6 and log.log_start_offset == 7
    changes: list[int] = []
    log.on_log_start_offset_change = changes.append
    log.delete_records(9)
    assert changes == [9]


# -- truncation ----------------------------------------------------------------------------------


def test_truncate_to(tmp_path: Path) -> None:
    config = LogConfig(segment_bytes=600, segment_index_bytes=4096)
    log = open_log(tmp_path, config)
    for i in range(20):
        log.append_as_leader(batch(2, 1_000 + i, 100), i // 5)
    log.update_high_watermark(40)
    assert not log.truncate_to(40)
    assert log.truncate_to(17)  # inside the batch [16, 17]: the whole batch goes
    assert log.log_end_offset == 16
    assert log.high_watermark == 16
    assert log.leader_epoch_cache.entries() == [(0, 0), (1, 10)]
    assert log.active_segment.is_active
    full_scan(log)
    assert log.append_as_leader(batch(), 9).first_offset == 16
    log.truncate_fully_and_start_at(100)
    assert (log.log_start_offset, log.log_end_offset, log.num_segments) == (100, 100, 1)
    assert log.leader_epoch_cache.entries() == []
    assert log.append_as_leader(batch(), 10).first_offset == 100
    log.truncate_to(50)  # below the first segment: truncate fully
    assert log.log_end_offset == 50


def test_records_decode_after_many_operations(tmp_path: Path) -> None:
    log = open_log(tmp_path, LogConfig(segment_bytes=400, segment_index_bytes=4096))
    for i in range(12):
        log.append_as_leader(batch(3, 1_000 + i), 0)
    log.truncate_to(20)
    for i in range(3):
        log.append_as_leader(batch(1, 2_000 + i), 1)
    offsets = [r.offset for r in records_of(log)]
    assert offsets == list(range(log.log_end_offset))
    data = log.read(0, 10_000)
    assert data.records is not None
    assert decode_records(data.records.read(), 0)[0].offset == 0
