"""Offset checkpoint files: Kafka's format, round trips, atomic replacement, malformed input."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from storage.checkpoint import CheckpointFormatError, OffsetCheckpointFile, write_atomically


def test_round_trip_and_format(tmp_path: Path) -> None:
    f = OffsetCheckpointFile(tmp_path / "recovery-point-offset-checkpoint")
    assert f.read() == {}
    offsets = {("b-topic", 1): 7, ("a.topic_x", 0): 2**40, ("b-topic", 0): 0}
    f.write(offsets)
    assert f.path.read_text() == "0\n3\na.topic_x 0 1099511627776\nb-topic 0 0\nb-topic 1 7\n"
    assert f.read() == offsets
    f.write({})
    assert f.path.read_text() == "0\n0\n" and f.read() == {}


def test_reads_kafka_written_file(tmp_path: Path) -> None:
    path = tmp_path / "replication-offset-checkpoint"
    path.write_bytes(b"0\n2\nfoo 0 10\r\nbar  3   99\n\n")
    assert OffsetCheckpointFile(path).read() == {("foo", 0): 10, ("bar", 3): 99}


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("", "empty"),
        ("1\n0\n", "version"),
        ("x\n0\n", "version"),
        ("0\n", "count"),
        ("0\n-1\n", "count"),
        ("0\n2\nt 0 1\n", "expected 2 entries"),
        ("0\n1\nt 0 1\nt 1 2\n", "expected 1 entries"),
        ("0\n1\nt 0\n", "malformed line 3"),
        ("0\n1\nt x 5\n", "malformed line 3"),
        ("0\n1\nt 0 five\n", "malformed line 3"),
        ("0\n1\nt -1 5\n", "malformed line 3"),
    ],
)
def test_malformed_files_raise_clear_errors(tmp_path: Path, content: str, match: str) -> None:
    path = tmp_path / "cp"
    path.write_text(content)
    with pytest.raises(CheckpointFormatError, match=match) as info:
        OffsetCheckpointFile(path).read()
    assert str(path) in str(info.value)


def test_atomic_replacement(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = OffsetCheckpointFile(tmp_path / "cp")
    f.write({("t", 0): 1})
    # a crash while writing the temporary file leaves the old content in place
    (tmp_path / "cp.tmp").write_text("0\n5\ngarbage")
    assert f.read() == {("t", 0): 1}
    real_replace = os.replace

    def crash(src: object, dst: object) -> None:
        raise OSError("power lost")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        f.write({("t", 0): 2})
    monkeypatch.setattr(os, "replace", real_replace)
    assert f.read() == {("t", 0): 1}
    f.write({("t", 0): 3})  # the stale .tmp is simply overwritten
    assert f.read() == {("t", 0): 3}
    assert {p.name for p in tmp_path.iterdir()} == {"cp"}


def test_write_atomically_replaces_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "x"
    write_atomically(path, b"a" * 10_000)
    write_atomically(path, b"b")
    assert path.read_bytes() == b"b"
