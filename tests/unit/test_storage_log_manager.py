"""LogManager: log dirs, clean-shutdown marker, checkpoints, restart, crash, deletion, retention,
periodic duties, and the open-file bound."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from storage.checkpoint import OffsetCheckpointFile
from storage.config import LogConfig
from storage.file_cache import DEFAULT_GRACE_FILES
from storage.log_manager import (
    CLEAN_SHUTDOWN_FILE,
    HIGH_WATERMARK_CHECKPOINT_FILE,
    LOG_START_OFFSET_CHECKPOINT_FILE,
    RECOVERY_POINT_CHECKPOINT_FILE,
    LogDirLockedError,
    LogManager,
)
from tests.unit.test_storage_support import batch, full_scan, records_of

CONFIG = LogConfig(segment_bytes=800, segment_index_bytes=4096, index_interval_bytes=200)


class Clock:
    def __init__(self, now: int = 0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def fill(manager: LogManager, topics: dict[tuple[str, int], int]) -> None:
    for (topic, partition), n in topics.items():
        log = manager.get_or_create_log(topic, partition)
        for i in range(n):
            log.append_as_leader(batch(1 + i % 3, 1_000 + i, 50), leader_epoch=0)
        log.update_high_watermark(log.log_end_offset)


def test_create_spread_close_and_reopen_cleanly(tmp_path: Path) -> None:
    dirs = [tmp_path / "d1", tmp_path / "d2"]
    manager = LogManager(dirs, CONFIG, clock=Clock())
    layout = {("a", 0): 20, ("a", 1): 5, ("b-x", 0): 0, ("b-x", 1): 12}
    fill(manager, layout)
    by_dir = manager.logs_by_dir()
    assert sorted(len(v) for v in by_dir.values()) == [2, 2]  # least-used dir first
    snapshot = {(log.topic, log.partition): (records_of(log), log.log_end_offset) for log in manager.all_logs()}
    manager.close()
    for d in dirs:
        marker = json.loads((d / CLEAN_SHUTDOWN_FILE).read_text())
        assert marker == {"version": 0, "brokerEpoch": -1}
        points = OffsetCheckpointFile(d / RECOVERY_POINT_CHECKPOINT_FILE).read()
        hws = OffsetCheckpointFile(d / HIGH_WATERMARK_CHECKPOINT_FILE).read()
        for tp in points:
            assert points[tp] == hws[tp] == snapshot[tp][1]  # flushed on close
    again = LogManager(dirs, CONFIG, clock=Clock())
    for d in dirs:
        assert again.had_clean_shutdown(d)
        assert not (d / CLEAN_SHUTDOWN_FILE).exists()  # consumed at start
    assert {(log.topic, log.partition) for log in again.all_logs()} == set(layout)
    for log in again.all_logs():
        assert log.load_result.recovered_segments == []
        assert (records_of(log), log.log_end_offset) == snapshot[(log.topic, log.partition)]
        assert log.high_watermark == log.log_end_offset
        assert log.recovery_point == log.log_end_offset
    again.close()


def test_crash_then_recover(tmp_path: Path) -> None:
    d = tmp_path / "d"
    manager = LogManager([d], CONFIG, clock=Clock())
    fill(manager, {("t", 0): 40, ("t", 1): 3})
    expected = {(log.topic, log.partition): (full_scan(log), records_of(log)) for log in manager.all_logs()}
    manager.checkpoint()
    crashed = tmp_path / "crashed"
    shutil.copytree(d, crashed, ignore=shutil.ignore_patterns(".lock"))  # kill -9 now
    manager.close()
    again = LogManager([crashed], CONFIG, clock=Clock())
    assert not again.had_clean_shutdown(crashed)
    for log in again.all_logs():
        assert log.load_result.recovered_segments  # recovered from its recovery point
        assert (full_scan(log), records_of(log)) == expected[(log.topic, log.partition)]
    # a torn append at the crash: the incomplete batch disappears on the next unclean start
    tlog = again.get_log("t", 0)
    assert tlog is not None
    end = tlog.log_end_offset
    tail = tlog.active_segment.log_path
    again.close(clean=False)
    with open(tail, "ab") as f:
        f.write(batch(2)[:30])
    third = LogManager([crashed], CONFIG, clock=Clock())
    tlog = third.get_log("t", 0)
    assert tlog is not None and tlog.log_end_offset == end
    assert tlog.load_result.truncated_bytes == 30
    third.close()


def test_log_dir_lock(tmp_path: Path) -> None:
    manager = LogManager([tmp_path / "d"], CONFIG)
    with pytest.raises(LogDirLockedError):
        LogManager([tmp_path / "d"], CONFIG)
    manager.close()
    LogManager([tmp_path / "d"], CONFIG).close()


def test_delete_log_and_orphans(tmp_path: Path) -> None:
    d = tmp_path / "d"
    manager = LogManager([d], CONFIG)
    fill(manager, {("t", 0): 3, ("t", 1): 3, ("u", 0): 1})
    manager.checkpoint()
    assert manager.delete_log("t", 1)
    assert not manager.delete_log("t", 1)
    assert not (d / "t-1").exists() and manager.get_log("t", 1) is None
    assert ("t", 1) not in OffsetCheckpointFile(d / RECOVERY_POINT_CHECKPOINT_FILE).read()
    assert manager.delete_orphans({("t", 0)}) == [("u", 0)]
    doomed = sorted(p.name for p in d.iterdir() if p.is_dir() and p.name != "t-0")
    assert [name.split(".")[0] for name in doomed] == ["t-1", "u-0"]
    assert all(name.endswith("-delete") for name in doomed)
    manager.tick()  # removes the renamed directories
    assert sorted(p.name for p in d.iterdir() if p.is_dir()) == ["t-0"]
    # a "-delete" directory left by a crash is removed at start
    manager.close()
    (d / "t-9.0123abcd-delete").mkdir()
    LogManager([d], CONFIG).close()
    assert not (d / "t-9.0123abcd-delete").exists()


def test_lazy_loading_keeps_unloaded_checkpoints(tmp_path: Path) -> None:
    d = tmp_path / "d"
    manager = LogManager([d], CONFIG)
    fill(manager, {("t", 0): 10, ("t", 1): 10})
    manager.close()
    lazy = LogManager([d], CONFIG, load=False)
    assert lazy.all_logs() == []
    log = lazy.get_or_create_log("t", 0, CONFIG.replace(retention_ms=5))
    assert log.config.retention_ms == 5 and log.load_result.recovered_segments == []
    lazy.checkpoint()
    assert set(OffsetCheckpointFile(d / RECOVERY_POINT_CHECKPOINT_FILE).read()) == {("t", 0), ("t", 1)}
    lazy.close()


def test_cleanup_logs_and_log_start_checkpoint(tmp_path: Path) -> None:
    d = tmp_path / "d"
    clock = Clock()
    manager = LogManager([d], CONFIG.replace(retention_ms=1_000, file_delete_delay_ms=500), clock=clock)
    fill(manager, {("t", 0): 30})
    log = manager.get_log("t", 0)
    assert log is not None
    segments = log.num_segments
    clock.now = 1_000 + 30 + 1_000  # the newest record is at 1_029
    assert manager.cleanup_logs() == segments - 1 + 1  # all expire: roll, delete every old one
    assert log.num_segments == 1 and log.log_start_offset == log.log_end_offset
    assert any(p.name.endswith(".deleted") for p in log.dir.iterdir())
    clock.now += 500
    manager.cleanup_logs()
    assert not any(p.name.endswith(".deleted") for p in log.dir.iterdir())
    log.append_as_leader(batch(2), 0)
    log.update_high_watermark(log.log_end_offset)
    log.delete_records(log.log_end_offset - 1)
    manager.checkpoint()
    starts = OffsetCheckpointFile(d / LOG_START_OFFSET_CHECKPOINT_FILE).read()
    assert starts == {("t", 0): log.log_start_offset}
    manager.close()
    again = LogManager([d], CONFIG)
    reopened = again.get_log("t", 0)
    assert reopened is not None and reopened.log_start_offset == starts[("t", 0)]
    again.close()


def test_tick_runs_due_duties(tmp_path: Path) -> None:
    d = tmp_path / "d"
    clock = Clock()
    manager = LogManager(
        [d],
        CONFIG.replace(retention_ms=10),
        clock=clock,
        retention_check_interval_ms=100,
        flush_checkpoint_interval_ms=50,
        high_watermark_checkpoint_interval_ms=20,
    )
    fill(manager, {("t", 0): 30})
    log = manager.get_log("t", 0)
    assert log is not None and log.num_segments > 1 and log.recovery_point == 0
    clock.now = 20
    manager.tick()
    assert log.recovery_point == log.active_segment.base_offset  # rolled segments flushed
    assert OffsetCheckpointFile(d / HIGH_WATERMARK_CHECKPOINT_FILE).read() == {("t", 0): log.high_watermark}
    assert not (d / RECOVERY_POINT_CHECKPOINT_FILE).exists()
    clock.now = 50
    manager.tick()
    assert OffsetCheckpointFile(d / RECOVERY_POINT_CHECKPOINT_FILE).read() == {("t", 0): log.recovery_point}
    assert log.log_start_offset == 0
    clock.now = 10_000
    manager.tick()
    assert log.log_start_offset == log.log_end_offset  # retention ran
    manager.close()


def test_scheduled_flush_after_flush_ms(tmp_path: Path) -> None:
    """``flush.ms``: every ``log.flush.scheduler.interval.ms`` a log whose last flush is older
    is flushed to its end (active segment included); tick_io leaves the fsync to its caller."""
    clock = Clock()
    manager = LogManager(
        [tmp_path / "d"], CONFIG.replace(flush_ms=100), clock=clock, flush_scheduler_interval_ms=10
    )
    fill(manager, {("t", 0): 3})
    log = manager.get_log("t", 0)
    assert log is not None and log.num_segments == 1 and log.recovery_point == 0
    clock.now = 50
    manager.tick()
    assert log.recovery_point == 0  # flush.ms not yet passed
    clock.now = 100
    io = manager.tick_io()
    assert len(io.flushes) == 1 and log.recovery_point == 0
    io.run()
    io.commit()
    assert log.recovery_point == log.log_end_offset > 0
    manager.close()


def test_open_files_are_bounded(tmp_path: Path) -> None:
    d = tmp_path / "d"
    manager = LogManager([d], CONFIG.replace(segment_bytes=300), max_open_files=6)
    fill(manager, {("t", 0): 60, ("u", 0): 60})
    manager.close()

    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    before = open_fds()
    again = LogManager([d], CONFIG.replace(segment_bytes=300), max_open_files=6)
    logs = again.all_logs()
    assert all(log.num_segments > 10 for log in logs)
    baseline = open_fds()
    assert baseline - before <= 2 + 3 * len(logs)  # lock file + active segments only
    for log in logs:
        for segment in log.segments:
            data = log.read(segment.base_offset, 100)
            assert data.records is not None and len(data.records.read()) > 0
            del data
    assert again.file_cache.open_files <= 6
    assert again.file_cache.evictions > 0
    # inactive segments: the cap plus the grace files; active segments: their index mmaps
    assert open_fds() - baseline <= 6 + DEFAULT_GRACE_FILES + 2 * len(logs)
    for log in logs:
        full_scan(log)
    again.close()
    del logs, log, segment
    assert open_fds() <= before  # nothing leaks after close


def test_from_broker_properties(tmp_path: Path) -> None:
    manager = LogManager.from_broker_properties(
        [tmp_path / "d"], {"log.segment.bytes": "5000", "log.retention.check.interval.ms": "7"}
    )
    assert manager.default_config.segment_bytes == 5000
    assert manager.retention_check_interval_ms == 7
    assert manager.get_or_create_log("x", 0).config.segment_bytes == 5000
    manager.close()
    with pytest.raises(ValueError, match=r"log\.flush\.offset\.checkpoint\.interval\.ms"):
        LogManager.from_broker_properties([tmp_path / "e"], {"log.flush.offset.checkpoint.interval.ms": "x"})


def test_concurrent_appends_reads_and_maintenance(tmp_path: Path) -> None:
    """The event loop appends and reads while an executor thread runs the periodic duties;
    a tiny open-file cap makes the threads evict each other's segments."""
    import threading

    clock = Clock(10_000)
    manager = LogManager(
        [tmp_path / "d"],
        CONFIG.replace(segment_bytes=300, retention_bytes=3_000),
        clock=clock,
        max_open_files=2,
        retention_check_interval_ms=0,
        flush_checkpoint_interval_ms=0,
    )
    logs = [manager.get_or_create_log("t", p) for p in range(3)]
    errors: list[BaseException] = []
    stop = threading.Event()

    def maintenance() -> None:
        try:
            while not stop.is_set():
                manager.tick()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def reader(log_index: int) -> None:
        try:
            log = logs[log_index]
            while not stop.is_set():
                start = log.log_start_offset
                try:
                    data = log.read(start, 500)
                except Exception as exc:  # retention may move the start between the two calls
                    if "OffsetOutOfRange" not in type(exc).__name__:
                        raise
                    continue
                if data.records is not None:
                    data.records.read()
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=maintenance), *(threading.Thread(target=reader, args=(i,)) for i in range(3))]
    for t in threads:
        t.start()
    try:
        for i in range(150):
            log = logs[i % 3]
            log.append_as_leader(batch(1, 1_000 + i, 40), 0)
            log.update_high_watermark(log.log_end_offset)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    manager.cleanup_logs()
    for log in logs:
        assert 3_000 <= log.size < 3_000 + 300  # size retention keeps >= retention.bytes
        full_scan(log)
        assert log.log_end_offset == 50
    manager.close()
