"""Blocks reserved ahead of segment appends: invisible in the file's size and data, freed on
roll, close, truncation and recovery after a crash, modification time kept."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from protocol.records import iter_batches, set_base_offset
from storage import block_reserve
from storage.file_slice import SegmentFile
from storage.segment import LogSegment
from tests.unit.test_storage_support import batch

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fallocate is Linux's")


def allocated(path: Path) -> int:
    return os.stat(path).st_blocks * 512


def big_append(segment: LogSegment, offset: int, count: int = 200) -> int:
    data = bytearray(batch(count, 1_000, 1000))
    set_base_offset(data, 0, offset)
    segment.append(offset + count - 1, 1_000, offset + count - 1, data, list(iter_batches(data)))
    return offset + count


def test_writes_reserve_ahead_without_changing_size_or_data(tmp_path: Path) -> None:
    path = tmp_path / "f.log"
    f = SegmentFile(path, create=True)
    data = os.urandom(1 << 20)
    f.write_at(data, 0)
    assert f.size() == 1 << 20
    assert allocated(path) >= 2 << 20  # its own size ahead, up to RESERVE_AHEAD_MAX
    f.write_at(data, 1 << 20)
    assert f.size() == 2 << 20 and f.pread(4 << 20, 0) == data + data  # nothing past the end
    for i in range(2, 8):
        f.write_at(data, i << 20)
    assert (8 << 20) < allocated(path) <= (8 << 20) + block_reserve.RESERVE_AHEAD_MAX + (1 << 20)


def test_release_frees_the_tail_and_keeps_mtime(tmp_path: Path) -> None:
    path = tmp_path / "f.log"
    f = SegmentFile(path, create=True)
    f.write_at(os.urandom(3 << 20), 0)
    os.utime(path, ns=(1_000_000_000, 2_000_000_000))
    assert allocated(path) > 3 << 20
    f.release_reserved()
    assert allocated(path) <= (3 << 20) + (64 << 10)
    assert os.stat(path).st_mtime_ns == 2_000_000_000 and f.size() == 3 << 20
    assert not block_reserve.release(f.fd)  # nothing left to free


def test_truncate_drops_the_reservation(tmp_path: Path) -> None:
    path = tmp_path / "f.log"
    f = SegmentFile(path, create=True)
    f.write_at(os.urandom(2 << 20), 0)
    f.truncate(1 << 20)
    assert allocated(path) <= (1 << 20) + (64 << 10)
    f.write_at(b"x" * 100, 1 << 20)  # reserves again from the new end
    assert allocated(path) > (2 << 20) - (64 << 10)


def test_roll_and_close_release_what_appends_reserved(tmp_path: Path) -> None:
    segment = LogSegment.create(tmp_path, 0, max_index_size=4096, now_ms=0)
    offset = big_append(segment, big_append(segment, 0), 250)
    assert allocated(segment.log_path) > segment.size + (64 << 10)
    segment.on_become_inactive()
    assert allocated(segment.log_path) <= segment.size + (64 << 10)

    active = LogSegment.create(tmp_path, offset, max_index_size=4096, now_ms=0)
    big_append(active, offset)
    assert allocated(active.log_path) > active.size + (64 << 10)
    active.close()
    assert allocated(active.log_path) <= active.size + (64 << 10)


def test_recovery_frees_what_a_crash_left_reserved(tmp_path: Path) -> None:
    segment = LogSegment.create(tmp_path, 0, max_index_size=4096, now_ms=0)
    end = big_append(segment, big_append(segment, 0), 250)
    size = segment.size
    assert allocated(segment.log_path) > size + (64 << 10)
    # a crash: nothing is released; the next start recovers the segment from its files
    reopened = LogSegment(tmp_path, 0, max_index_size=4096, size=size, active=True)
    assert reopened.recover() == 0
    assert reopened.size == size and reopened.read_next_offset() == end
    assert allocated(reopened.log_path) <= size + (64 << 10)
