"""Leader-epoch cache: Kafka 3.9 assign / endOffsetFor / truncation semantics and the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.leader_epoch import LeaderEpochFileCache


def cache(tmp_path: Path) -> LeaderEpochFileCache:
    return LeaderEpochFileCache.in_directory(tmp_path)


def test_assign_keeps_both_columns_increasing(tmp_path: Path) -> None:
    c = cache(tmp_path)
    assert c.assign(2, 10)
    assert not c.assign(2, 15)  # same epoch, later offset: nothing to do
    assert c.assign(2, 5)  # same epoch, earlier offset: replaced
    assert c.entries() == [(2, 5)]
    c.assign(4, 20)
    c.assign(6, 30)
    c.assign(5, 25)  # an older epoch than the latest: later entries are dropped
    assert c.entries() == [(2, 5), (4, 20), (5, 25)]
    c.assign(7, 22)  # start offset below an existing one: that one is dropped
    assert c.entries() == [(2, 5), (4, 20), (7, 22)]
    with pytest.raises(ValueError):
        c.assign(-1, 0)
    assert c.latest_epoch == 7 and c.previous_epoch() == 4 and c.earliest_entry == (2, 5)


def test_end_offset_for(tmp_path: Path) -> None:
    c = cache(tmp_path)
    assert c.end_offset_for(3, 100) == (-1, -1)  # empty cache
    c.assign(1, 0)
    c.assign(3, 40)
    c.assign(6, 70)
    leo = 100
    assert c.end_offset_for(6, leo) == (6, leo)  # latest epoch: the log end offset
    assert c.end_offset_for(3, leo) == (3, 70)  # ends where the next epoch starts
    assert c.end_offset_for(4, leo) == (3, 70)  # unknown epoch: the largest epoch below it
    assert c.end_offset_for(5, leo) == (3, 70)
    assert c.end_offset_for(1, leo) == (1, 40)
    assert c.end_offset_for(7, leo) == (-1, -1)  # above every known epoch
    assert c.end_offset_for(-1, leo) == (-1, -1)  # UNDEFINED_EPOCH
    # below the earliest epoch, Kafka 3.9 answers the requested epoch and the first start offset
    assert c.end_offset_for(0, leo) == (0, 0)
    c.truncate_from_start(50)
    assert c.end_offset_for(1, leo) == (1, 50)


def test_truncate_from_end_and_start(tmp_path: Path) -> None:
    c = cache(tmp_path)
    for epoch, offset in [(1, 0), (2, 10), (3, 20), (4, 30)]:
        c.assign(epoch, offset)
    c.truncate_from_end(25)
    assert c.entries() == [(1, 0), (2, 10), (3, 20)]
    c.truncate_from_end(20)
    assert c.entries() == [(1, 0), (2, 10)]
    c.truncate_from_end(99)
    assert c.entries() == [(1, 0), (2, 10)]
    c.truncate_from_start(10)  # exclusive: an entry starting at 10 stays
    assert c.entries() == [(2, 10)]
    c.assign(3, 20)
    c.truncate_from_start(15)
    assert c.entries() == [(2, 15), (3, 20)]
    c.truncate_from_start(25)
    assert c.entries() == [(3, 25)]
    assert c.epoch_for_offset(24) is None and c.epoch_for_offset(25) == 3
    c.clear()
    assert c.entries() == [] and c.latest_epoch is None


def test_checkpoint_file_format_and_reload(tmp_path: Path) -> None:
    c = cache(tmp_path)
    c.assign(0, 0)
    c.assign(3, 150)
    assert (tmp_path / "leader-epoch-checkpoint").read_text() == "0\n2\n0 0\n3 150\n"
    assert cache(tmp_path).entries() == [(0, 0), (3, 150)]
    c.truncate_from_end(100)
    assert cache(tmp_path).entries() == [(0, 0)]
    (tmp_path / "leader-epoch-checkpoint").write_text("0\n2\n0 0\n")  # malformed: ignored
    assert cache(tmp_path).entries() == []
