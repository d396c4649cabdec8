"""Kafka's text checkpoint files, written atomically and read strictly.

Format (Kafka's ``CheckpointFile``), UTF-8 text, one item per line, ``\\n`` line ends::

    0                       version
    3                       number of entries
    my-topic 0 1234         entries (here OffsetCheckpointFile: "topic partition offset")
    my-topic 1 99
    other 0 0

Files of this format in a log dir: ``recovery-point-offset-checkpoint``,
``log-start-offset-checkpoint``, ``replication-offset-checkpoint`` (high watermarks),
``cleaner-offset-checkpoint``; and per partition ``leader-epoch-checkpoint`` whose entries are
``"epoch startOffset"`` (see :mod:`storage.leader_epoch`).

Crash behaviour: :func:`write_atomically` writes ``<name>.tmp``, fsyncs it, renames it over the
file and fsyncs the directory, so after a crash the file holds either the old or the new content,
never a mix; a stale ``.tmp`` is simply overwritten by the next write.  Reading a missing file
gives no entries.  A malformed file (wrong version, bad count, bad line, wrong number of lines)
raises :class:`CheckpointFormatError` naming the file and line: the caller decides whether to fall
back (Kafka fails the log dir; :class:`~storage.log_manager.LogManager` logs it and falls back to
the safe value — recovery from offset 0, no log-start offset, no high watermark).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Generic, TypeVar

__all__ = [
    "CheckpointFile",
    "CheckpointFormatError",
    "OffsetCheckpointFile",
    "TopicPartition",
    "fsync_path",
    "write_atomically",
]

T = TypeVar("T")
TopicPartition = tuple[str, int]


class CheckpointFormatError(ValueError):
    """A checkpoint file that does not parse; the message names the file and the line."""


def fsync_path(path: Path) -> None:
    """fsync a file or directory by path (a directory: so a rename or create inside it is
    durable; a file: also the pages written through an mmap of it)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes, *, sync: bool = True) -> None:
    """Replace ``path`` with ``data``: write ``.tmp``, fsync, rename, fsync the directory.

    ``sync=False`` leaves out both fsyncs (the caller makes the file durable later): readers in
    this process still see old or new whole, but a crash may leave the file empty or torn."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    if sync:
        fsync_path(path.parent)


class CheckpointFile(Generic[T]):
    """A versioned list of entries, one per line (Kafka's ``CheckpointFile``)."""

    def __init__(
        self,
        path: Path,
        version: int,
        format_entry: Callable[[T], str],
        parse_entry: Callable[[str], T | None],
    ) -> None:
        self.path = path
        self.version = version
        self._format = format_entry
        self._parse = parse_entry

    def write(self, entries: Iterable[T]) -> None:
        items = list(entries)
        lines = [str(self.version), str(len(items))]
        lines.extend(self._format(item) for item in items)
        write_atomically(self.path, ("\n".join(lines) + "\n").encode("utf-8"))

    def read(self) -> list[T]:
        """The entries; ``[]`` if the file does not exist; :class:`CheckpointFormatError` if bad."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CheckpointFormatError(f"checkpoint file {self.path} is not UTF-8: {exc}") from None
        lines = text.split("\n")
        while lines and lines[-1].strip() == "":
            lines.pop()
        if not lines:
            raise CheckpointFormatError(f"checkpoint file {self.path} is empty")
        version = _parse_int(lines[0])
        if version != self.version:
            raise CheckpointFormatError(
                f"unrecognized version of the checkpoint file {self.path}: {lines[0].strip()!r} "
                f"(expected {self.version})"
            )
        if len(lines) < 2:
            raise CheckpointFormatError(f"checkpoint file {self.path} has no entry count line")
        expected = _parse_int(lines[1])
        if expected is None or expected < 0:
            raise CheckpointFormatError(f"malformed entry count {lines[1].strip()!r} in checkpoint file {self.path}")
        entries: list[T] = []
        for number, line in enumerate(lines[2:], start=3):
            entry = self._parse(line.strip("\r"))
            if entry is None:
                raise CheckpointFormatError(f"malformed line {number} in checkpoint file {self.path}: {line!r}")
            entries.append(entry)
        if len(entries) != expected:
            raise CheckpointFormatError(
                f"expected {expected} entries in checkpoint file {self.path}, but found {len(entries)}"
            )
        return entries


def _parse_int(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None


def _format_offset(entry: tuple[TopicPartition, int]) -> str:
    (topic, partition), offset = entry
    return f"{topic} {partition} {offset}"


def _parse_offset(line: str) -> tuple[TopicPartition, int] | None:
    parts = line.split()
    if len(parts) != 3:
        return None
    partition = _parse_int(parts[1])
    offset = _parse_int(parts[2])
    if partition is None or offset is None or partition < 0:
        return None
    return (parts[0], partition), offset


class OffsetCheckpointFile:
    """``topic partition offset`` entries, version 0 (Kafka's ``OffsetCheckpointFile``)."""

    VERSION = 0

    def __init__(self, path: Path) -> None:
        self._file: CheckpointFile[tuple[TopicPartition, int]] = CheckpointFile(
            path, self.VERSION, _format_offset, _parse_offset
        )

    @property
    def path(self) -> Path:
        return self._file.path

    def write(self, offsets: Mapping[TopicPartition, int]) -> None:
        self._file.write(sorted(offsets.items()))

    def read(self) -> dict[TopicPartition, int]:
        return dict(self._file.read())
