"""Crash recovery: torn tails at every byte, corrupted bytes, corrupt middles, leftover files,
missing or corrupt indexes, unclean reopen keeping every complete batch."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from protocol.records import iter_batches
from storage.config import LogConfig
from storage.log import Log
from storage.segment import file_name
from tests.unit.test_storage_support import batch, full_scan, headers_of, records_of

CONFIG = LogConfig(segment_bytes=4096, index_interval_bytes=128, segment_index_bytes=1024)


def build_log(directory: Path, batches: int = 12, config: LogConfig = CONFIG) -> Log:
    log = Log.open(directory, config, clock=lambda: 0)
    for i in range(batches):
        log.append_as_leader(batch(1 + i % 3, 1_000 + i, 20 + 7 * i), leader_epoch=i // 4)
    return log


def copy_crashed(src: Path, dst: Path) -> Path:
    """What a kill -9 leaves: the files as they are now (page cache included)."""
    shutil.copytree(src, dst)
    return dst


def test_torn_tail_at_every_byte_of_last_batch(tmp_path: Path) -> None:
    template = tmp_path / "template" / "t-0"
    log = build_log(template, batches=6)
    expected = full_scan(log)
    last_base, _ = expected[-1]
    segment = log.active_segment
    seg_file = template / file_name(segment.base_offset, ".log")
    last_pos = max(p for p, _ in segment.batches())
    end = segment.size
    records_before = [r for r in records_of(log) if r.offset < last_base]
    # the template stays open (as after a crash): indexes preallocated, nothing trimmed
    for cut in range(last_pos, end):
        work = tmp_path / f"w{cut}" / "t-0"
        copy_crashed(template, work)
        with open(work / seg_file.name, "r+b") as f:
            f.truncate(cut)
        again = Log.open(work, CONFIG, clock=lambda: 0)
        assert again.load_result.truncated_bytes == cut - last_pos
        assert again.log_end_offset == last_base
        assert full_scan(again) == expected[:-1]
        assert records_of(again) == records_before
        assert again.active_segment.size == last_pos
        info = again.append_as_leader(batch(2), leader_epoch=9)
        assert info.first_offset == last_base
        assert full_scan(again)[-1] == (last_base, last_base + 1)
        again.close()
        shutil.rmtree(work.parent)
    log.close()


def test_corrupted_byte_in_last_batch_is_cut(tmp_path: Path) -> None:
    template = tmp_path / "template" / "t-0"
    log = build_log(template, batches=5)
    expected = full_scan(log)
    segment = log.active_segment
    last_pos = max(p for p, _ in segment.batches())
    size = segment.size - last_pos
    name = file_name(segment.base_offset, ".log")
    log.close()
    # every byte from batchLength on, except partitionLeaderEpoch (12..15, outside the CRC and
    # not checkable, as in Kafka)
    for i in [b for b in range(8, size) if not 12 <= b < 16]:
        work = tmp_path / f"w{i}" / "t-0"
        shutil.copytree(template, work)
        with open(work / name, "r+b") as f:
            f.seek(last_pos + i)
            byte = f.read(1)[0]
            f.seek(last_pos + i)
            f.write(bytes([byte ^ 0x5A]))
        again = Log.open(work, CONFIG, clock=lambda: 0)
        assert full_scan(again) == expected[:-1], i
        assert again.log_end_offset == expected[-1][0]
        again.close()
        shutil.rmtree(work.parent)


def test_corrupt_middle_segment_deletes_everything_after(tmp_path: Path) -> None:
    directory = tmp_path / "t-0"
    log = build_log(directory, batches=60)
    assert log.num_segments >= 3
    segments = log.segments
    victim = segments[1]
    positions = [p for p, _ in victim.batches()]
    kept_before = [h for h in headers_of(log) if h.base_offset < victim.base_offset]
    kept_in_victim = [h for p, h in victim.batches() if p < positions[2]]
    log.close()
    with open(victim.log_path, "r+b") as f:
        f.seek(positions[2] + 40)  # inside the CRC-covered part of the third batch
        f.write(b"\xff\xff")
    again = Log.open(directory, CONFIG, clock=lambda: 0)  # no clean shutdown, recovery point 0
    assert [s.base_offset for s in again.segments] == [s.base_offset for s in segments[:2]]
    assert headers_of(again) == kept_before + kept_in_victim
    assert again.log_end_offset == kept_in_victim[-1].next_offset
    assert set(again.load_result.deleted_segments) == {s.base_offset for s in segments[2:]}
    full_scan(again)
    remaining = {p.name for p in directory.iterdir()}
    for s in segments[2:]:
        assert file_name(s.base_offset, ".log") not in remaining
    again.close()


def test_recovery_starts_at_recovery_point(tmp_path: Path) -> None:
    directory = tmp_path / "t-0"
    log = build_log(directory, batches=60)
    segments = log.segments
    log.flush()
    recovery_point = log.recovery_point
    assert recovery_point == log.log_end_offset
    end = log.log_end_offset
    log.close()
    # damage the first segment: below the recovery point it is trusted and not scanned
    with open(segments[0].log_path, "r+b") as f:
        f.seek(100)
        f.write(b"\x00\x01")
    again = Log.open(directory, CONFIG, recovery_point=segments[-2].base_offset + 1, clock=lambda: 0)
    assert again.load_result.recovered_segments == [s.base_offset for s in segments[-2:]]
    assert again.log_end_offset == end
    again.close()
    clean = Log.open(directory, CONFIG, clean_shutdown=True, clock=lambda: 0)
    assert clean.load_result.recovered_segments == []
    assert clean.recovery_point == end
    clean.close()


def test_leftover_files_are_handled(tmp_path: Path) -> None:
    directory = tmp_path / "t-0"
    log = build_log(directory, batches=30)
    bases = [s.base_offset for s in log.segments]
    end = log.log_end_offset
    log.close()
    (directory / (file_name(bases[0], ".log") + ".deleted")).write_bytes(b"junk")
    (directory / (file_name(999, ".index") + ".deleted")).write_bytes(b"junk")
    (directory / (file_name(bases[1], ".log") + ".cleaned")).write_bytes(b"junk")
    (directory / (file_name(bases[1], ".log") + ".swap")).write_bytes(b"junk")  # >= min cleaned: dropped
    (directory / (file_name(bases[0], ".index") + ".swap")).write_bytes(b"junk")
    (directory / file_name(12345, ".index")).write_bytes(b"\x00" * 8)  # orphan index
    (directory / "leader-epoch-checkpoint.tmp").write_bytes(b"junk")
    (directory / "00000000000000000000.snapshot").write_bytes(b"not ours")
    again = Log.open(directory, CONFIG, clean_shutdown=True, clock=lambda: 0)
    names = {p.name for p in directory.iterdir()}
    assert not any(n.endswith((".deleted", ".cleaned", ".swap", ".tmp")) for n in names)
    assert file_name(12345, ".index") not in names
    assert "00000000000000000000.snapshot" in names  # other layers' files are left alone
    assert again.log_end_offset == end
    full_scan(again)
    again.close()


def test_completed_swap_replaces_segments(tmp_path: Path) -> None:
    directory = tmp_path / "t-0"
    log = build_log(directory, batches=30)
    first, second = log.segments[0], log.segments[1]
    # a compaction output covering the first two segments, renamed to .swap before the crash
    swap_batches = [h for h in headers_of(log) if h.base_offset < second.base_offset][::2]
    data = b"".join(
        bytes(d) for h, d in log.batches() if h.base_offset < second.base_offset and h in swap_batches
    )
    third_base = log.segments[2].base_offset
    swap_data = data + b"".join(bytes(d) for h, d in log.batches() if second.base_offset <= h.base_offset < third_base)
    log.close()
    (directory / (file_name(first.base_offset, ".log") + ".swap")).write_bytes(swap_data)
    again = Log.open(directory, CONFIG, clean_shutdown=True, clock=lambda: 0)
    assert again.segments[0].base_offset == first.base_offset
    assert second.base_offset not in [s.base_offset for s in again.segments]
    headers = headers_of(again)
    assert [h.base_offset for h in headers if h.base_offset < third_base] == [
        h.base_offset for _, h in iter_batches(swap_data)
    ]
    full_scan(again)
    again.close()


def test_missing_and_corrupt_indexes_are_rebuilt(tmp_path: Path) -> None:
    directory = tmp_path / "t-0"
    log = build_log(directory, batches=40)
    segments = log.segments
    reference = [(s.base_offset, s.offset_index.entries) for s in segments[:-1]]
    end = log.log_end_offset
    log.close()
    os.unlink(segments[0].index_path)
    segments[1].index_path.write_bytes(b"\x00\x00\x00\x07")  # not a multiple of 8
    again = Log.open(directory, CONFIG, clean_shutdown=True, clock=lambda: 0)
    assert segments[0].base_offset in again.load_result.recovered_segments
    assert again.log_end_offset == end
    full_scan(again)  # uses (and lazily repairs) the corrupt index of segment 1
    assert [(s.base_offset, s.offset_index.entries) for s in again.segments[:-1]] == reference
    again.close()


def test_log_end_below_log_start_checkpoint_restarts_empty(tmp_path: Path) -> None:
    directory = tmp_path / "t-0"
    log = build_log(directory, batches=5)
    log.close()
    again = Log.open(directory, CONFIG, log_start_offset=500, clean_shutdown=True, clock=lambda: 0)
    assert again.log_start_offset == again.log_end_offset == 500
    assert [s.base_offset for s in again.segments] == [500]
    assert again.leader_epoch_cache.entries() == []
    again.close()


@pytest.mark.parametrize("clean", [True, False])
def test_restart_keeps_every_offset(tmp_path: Path, clean: bool) -> None:
    directory = tmp_path / "t-0"
    log = build_log(directory, batches=50)
    records = records_of(log)
    scan = full_scan(log)
    epochs = log.leader_epoch_cache.entries()
    if clean:
        log.flush()
        log.close()
        again = Log.open(directory, CONFIG, recovery_point=log.recovery_point, clean_shutdown=True, clock=lambda: 0)
    else:
        again = Log.open(copy_crashed(directory, tmp_path / "crash" / "t-0"), CONFIG, clock=lambda: 0)
    assert records_of(again) == records
    assert full_scan(again) == scan
    assert again.leader_epoch_cache.entries() == epochs
    assert again.append_as_leader(batch(), 7).first_offset == scan[-1][1] + 1
    again.close()
    if not clean:
        log.close()


def test_torn_batch_in_all_sizes_of_crc_protected_tail(tmp_path: Path) -> None:
    # a batch appended but never completely written: any prefix of it is garbage to recovery
    directory = tmp_path / "t-0"
    log = build_log(directory, batches=3)
    end = log.log_end_offset
    seg = log.active_segment
    log.close()
    tail = batch(3, 5_000, 100, base_offset=end)
    for n in (1, 11, 12, 60, 61, len(tail) - 1):
        with open(seg.log_path, "ab") as f:
            f.write(tail[:n])
        again = Log.open(directory, CONFIG, clock=lambda: 0)
        assert again.log_end_offset == end
        assert len([b for b in iter_batches(seg.log_path.read_bytes())]) == 3
        again.close()
