"""Offset and time indexes: lookups against a bisect reference, truncation, trimming, reopening,
the zero-tail left by a crash, sanity checks and laziness."""

from __future__ import annotations

import bisect
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage.errors import CorruptIndexError, InvalidOffsetError
from storage.offset_index import OffsetIndex, OffsetPosition
from storage.time_index import TimeIndex, TimestampOffset

BASE = 1_000


@st.composite
def offset_entries(draw: st.DrawFn) -> list[tuple[int, int]]:
    rels = draw(st.lists(st.integers(1, 5_000), min_size=0, max_size=60, unique=True))
    rels.sort()
    gaps = draw(st.lists(st.integers(1, 500), min_size=len(rels), max_size=len(rels)))
    positions = []
    pos = 0
    for gap in gaps:
        pos += gap
        positions.append(pos)
    return [(BASE + r, p) for r, p in zip(rels, positions, strict=True)]


def reference_offset_lookup(entries: list[tuple[int, int]], target: int) -> OffsetPosition:
    keys = [o for o, _ in entries]
    i = bisect.bisect_right(keys, target) - 1
    return OffsetPosition(BASE, 0) if i < 0 else OffsetPosition(*entries[i])


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(entries=offset_entries(), targets=st.lists(st.integers(BASE - 10, BASE + 5_100), max_size=40),
       cut=st.integers(BASE - 5, BASE + 5_100))
def test_offset_index_matches_bisect(entries: list[tuple[int, int]], targets: list[int], cut: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "00000000000000001000.index"
        index = OffsetIndex(path, BASE, max_index_size=8 * 64 + 5, writable=True)
        assert index.max_entries == 64  # rounded down to whole entries
        for offset, position in entries:
            index.append(offset, position)
        assert index.entries == len(entries)
        for target in [*targets, *(o for o, _ in entries)]:
            assert index.lookup(target) == reference_offset_lookup(entries, target)
        # truncate_to removes entries >= cut
        index.truncate_to(cut)
        kept = [e for e in entries if e[0] < cut]
        assert index.entries == len(kept)
        for target in targets:
            assert index.lookup(target) == reference_offset_lookup(kept, target)
        # close trims the file to its entries; a reopen (inactive, read-only) sees the same
        index.close()
        assert os.path.getsize(path) == 8 * len(kept)
        reopened = OffsetIndex(path, BASE, max_index_size=8 * 64, writable=False)
        assert not reopened.is_loaded
        reopened.sanity_check()
        assert reopened.entries == len(kept)
        for target in targets:
            assert reopened.lookup(target) == reference_offset_lookup(kept, target)
        reopened.close()
        # reopened as active: preallocated again, entries kept, appends continue
        active = OffsetIndex(path, BASE, max_index_size=8 * 64, writable=True)
        assert active.entries == len(kept)
        assert os.path.getsize(path) == 8 * 64
        next_offset = (kept[-1][0] if kept else BASE) + 1
        active.append(next_offset, 10**6)
        assert active.lookup(next_offset + 100) == OffsetPosition(next_offset, 10**6)
        active.close()


@st.composite
def time_entries(draw: st.DrawFn) -> list[tuple[int, int]]:
    stamps = sorted(draw(st.lists(st.integers(0, 10**6), max_size=50, unique=True)))
    offs = sorted(draw(st.lists(st.integers(0, 10**5), min_size=len(stamps), max_size=len(stamps), unique=True)))
    return [(t, BASE + o) for t, o in zip(stamps, offs, strict=True)]


def reference_time_lookup(entries: list[tuple[int, int]], target: int) -> TimestampOffset:
    keys = [t for t, _ in entries]
    i = bisect.bisect_right(keys, target) - 1
    return TimestampOffset(-1, BASE) if i < 0 else TimestampOffset(*entries[i])


@SETTINGS
@given(entries=time_entries(), targets=st.lists(st.integers(-5, 10**6 + 5), max_size=40),
       cut=st.integers(BASE, BASE + 10**5 + 1))
def test_time_index_matches_bisect(entries: list[tuple[int, int]], targets: list[int], cut: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "00000000000000001000.timeindex"
        index = TimeIndex(path, BASE, max_index_size=12 * 64, writable=True)
        for ts, offset in entries:
            assert index.maybe_append(ts, offset)
        if entries:
            # a timestamp that does not grow is skipped
            assert not index.maybe_append(entries[-1][0], entries[-1][1])
        assert index.entries == len(entries)
        for target in [*targets, *(t for t, _ in entries)]:
            assert index.lookup(target) == reference_time_lookup(entries, target)
        index.truncate_to(cut)
        kept = [e for e in entries if e[1] < cut]
        assert index.entries == len(kept)
        assert index.last_entry == (TimestampOffset(*kept[-1]) if kept else TimestampOffset(-1, BASE))
        index.close()
        assert os.path.getsize(path) == 12 * len(kept)
        reopened = TimeIndex(path, BASE, max_index_size=12 * 64, writable=False)
        reopened.sanity_check()
        for target in targets:
            assert reopened.lookup(target) == reference_time_lookup(kept, target)
        reopened.close()


def test_offset_index_append_rules(tmp_path: Path) -> None:
    index = OffsetIndex(tmp_path / "0.index", 0, max_index_size=16)
    index.append(5, 100)
    with pytest.raises(InvalidOffsetError):
        index.append(5, 200)
    index.append(6, 200)
    assert index.is_full
    with pytest.raises(ValueError, match="full"):
        index.append(7, 300)
    with pytest.raises(InvalidOffsetError):
        OffsetIndex(tmp_path / "1.index", 10).append(10 + 2**31, 0)  # relative offset overflow


def test_time_index_keeps_last_slot_for_roll(tmp_path: Path) -> None:
    index = TimeIndex(tmp_path / "0.timeindex", 0, max_index_size=36)  # 3 entries
    index.maybe_append(10, 1)
    assert not index.is_full
    index.maybe_append(20, 2)
    assert index.is_full  # full one entry early
    with pytest.raises(ValueError, match="full"):
        index.maybe_append(30, 3)
    assert index.maybe_append(30, 3, skip_full_check=True)
    assert index.entries == 3


def test_crashed_preallocated_index_ignores_zero_tail(tmp_path: Path) -> None:
    path = tmp_path / "00000000000000000000.index"
    index = OffsetIndex(path, 0, max_index_size=8 * 100)
    for i in range(1, 31):
        index.append(i * 3, i * 100)
    # a crash: the file stays preallocated (never trimmed)
    del index
    assert os.path.getsize(path) == 800
    # read as an inactive index, the zero tail fails the sanity check (the segment rebuilds)
    with pytest.raises(CorruptIndexError):
        OffsetIndex(path, 0, max_index_size=800, writable=False).sanity_check()
    # reopened as the active index, the zero tail is not counted
    again = OffsetIndex(path, 0, max_index_size=800, writable=True)
    assert again.entries == 30
    assert again.lookup(1000) == OffsetPosition(90, 3000)
    again.sanity_check()
    again.close()
    assert os.path.getsize(path) == 240


def test_truncated_index_entries_do_not_come_back(tmp_path: Path) -> None:
    path = tmp_path / "00000000000000000000.index"
    index = OffsetIndex(path, 0, max_index_size=8 * 100)
    for i in range(1, 31):
        index.append(i, i * 100)
    index.truncate_to(11)
    assert index.entries == 10
    # crash without trim: the dropped entries were zeroed, so they are not counted again
    del index
    assert OffsetIndex(path, 0, max_index_size=800).entries == 10


def test_sanity_check_detects_corruption(tmp_path: Path) -> None:
    path = tmp_path / "00000000000000000100.index"
    path.write_bytes(b"\x00" * 12)  # not a multiple of 8
    with pytest.raises(CorruptIndexError):
        OffsetIndex(path, 100, writable=False).sanity_check()
    path.write_bytes(bytes.fromhex("fffffff0 00000010"))  # negative relative offset
    with pytest.raises(CorruptIndexError):
        OffsetIndex(path, 100, writable=False).sanity_check()
    path.write_bytes(bytes.fromhex("00000005 00000010 00000003 00000020"))  # decreasing
    with pytest.raises(CorruptIndexError):
        OffsetIndex(path, 100, writable=False).sanity_check()


def test_lazy_index_does_no_io_until_used(tmp_path: Path) -> None:
    path = tmp_path / "00000000000000000000.timeindex"
    index = TimeIndex(path, 0, writable=False)
    assert not path.exists() and not index.is_loaded
    assert index.lookup(5) == TimestampOffset(-1, 0)
    assert index.is_loaded and index.open_file_count == 0  # empty file: nothing mapped
    index.release()
    assert not index.is_loaded
