"""Leader-epoch cache of one partition (Kafka's ``LeaderEpochFileCache``).

Maps each leader epoch to the first offset written in it.  Entries are kept sorted and strictly
increasing in both epoch and start offset.  Used by OffsetForLeaderEpoch (followers finding their
divergence point, consumers detecting truncation) and to stamp fetch responses.

On-disk format: ``leader-epoch-checkpoint`` in the partition directory, Kafka's checkpoint text
format (see :mod:`storage.checkpoint`), version 0, one ``"epoch startOffset"`` line per entry::

    0
    2
    0 0
    3 150

Crash behaviour: every change is written with :func:`storage.checkpoint.write_atomically`
(tmp + fsync + rename + directory fsync), so the file is always a complete old or new version.
Entries beyond the log end (stale after a crash) are dropped at load by ``truncate_from_end``;
entries below the log start by ``truncate_from_start``.  Kafka defers the write after truncations
(asynchronous flush); this cache writes synchronously — the file is tiny.

Ownership: one per :class:`~storage.log.Log`, used under the log's lock.
"""

from __future__ import annotations

import bisect
import logging
from pathlib import Path
from typing import NamedTuple

from storage.checkpoint import CheckpointFile, CheckpointFormatError

__all__ = [
    "LEADER_EPOCH_CHECKPOINT_FILE",
    "UNDEFINED_EPOCH",
    "UNDEFINED_EPOCH_OFFSET",
    "EpochEntry",
    "LeaderEpochFileCache",
]

LEADER_EPOCH_CHECKPOINT_FILE = "leader-epoch-checkpoint"
UNDEFINED_EPOCH = -1
UNDEFINED_EPOCH_OFFSET = -1

_log = logging.getLogger(__name__)


class EpochEntry(NamedTuple):
    epoch: int
    start_offset: int


def _format(entry: EpochEntry) -> str:
    return f"{entry.epoch} {entry.start_offset}"


def _parse(line: str) -> EpochEntry | None:
    parts = line.split()
    if len(parts) != 2:
        return None
    try:
        return EpochEntry(int(parts[0]), int(parts[1]))
    except ValueError:
        return None


class LeaderEpochFileCache:
    """Epoch -> start offset, persisted in ``leader-epoch-checkpoint``."""

    def __init__(self, path: Path, *, persist: bool = True) -> None:
        self._file: CheckpointFile[EpochEntry] = CheckpointFile(path, 0, _format, _parse)
        self._persist = persist
        self._epochs: list[int] = []
        self._offsets: list[int] = []
        entries: list[EpochEntry] = []
        if persist:
            try:
                entries = self._file.read()
            except CheckpointFormatError as exc:
                _log.warning("ignoring unreadable leader epoch checkpoint: %s", exc)
        for entry in entries:
            self._assign(entry)

    @classmethod
    def in_directory(cls, directory: Path) -> LeaderEpochFileCache:
        return cls(directory / LEADER_EPOCH_CHECKPOINT_FILE)

    @property
    def path(self) -> Path:
        return self._file.path

    def set_path(self, path: Path) -> None:
        """After the partition directory was renamed."""
        self._file.path = path

    # -- queries ---------------------------------------------------------------------------------

    def entries(self) -> list[EpochEntry]:
        return [EpochEntry(e, o) for e, o in zip(self._epochs, self._offsets, strict=True)]

    def __len__(self) -> int:
        return len(self._epochs)

    @property
    def latest_epoch(self) -> int | None:
        return self._epochs[-1] if self._epochs else None

    @property
    def latest_entry(self) -> EpochEntry | None:
        return EpochEntry(self._epochs[-1], self._offsets[-1]) if self._epochs else None

    @property
    def earliest_entry(self) -> EpochEntry | None:
        return EpochEntry(self._epochs[0], self._offsets[0]) if self._epochs else None

    def previous_epoch(self, epoch: int | None = None) -> int | None:
        """The largest epoch below ``epoch`` (default: below the latest)."""
        if epoch is None:
            if not self._epochs:
                return None
            epoch = self._epochs[-1]
        i = bisect.bisect_left(self._epochs, epoch)
        return self._epochs[i - 1] if i > 0 else None

    def epoch_for_offset(self, offset: int) -> int | None:
        """The epoch the record at ``offset`` was written in (None if before every entry)."""
        i = bisect.bisect_right(self._offsets, offset)
        return self._epochs[i - 1] if i > 0 else None

    def end_offset_for(self, requested_epoch: int, log_end_offset: int) -> tuple[int, int]:
        """OffsetForLeaderEpoch: ``(epoch, end offset)`` for ``requested_epoch``.

        Kafka 3.9 semantics: the latest epoch ends at the log end offset; an older epoch ends
        where the next higher epoch starts, answered with the largest known epoch <= the
        requested one; an epoch below every known one gets ``(requested_epoch, start offset of
        the earliest epoch)`` (the data before it was deleted; the follower replicates from
        there); ``UNDEFINED_EPOCH`` (-1) or an epoch above every known one (or an empty cache)
        gives ``(-1, -1)``.
        """
        if requested_epoch == UNDEFINED_EPOCH or not self._epochs:
            return UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET
        if self._epochs[-1] == requested_epoch:
            return requested_epoch, log_end_offset
        higher = bisect.bisect_right(self._epochs, requested_epoch)
        if higher >= len(self._epochs):
            return UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET
        if higher == 0:
            return requested_epoch, self._offsets[0]
        return self._epochs[higher - 1], self._offsets[higher]

    # -- updates ---------------------------------------------------------------------------------

    def assign(self, epoch: int, start_offset: int) -> bool:
        """Record that ``epoch`` starts at ``start_offset``; True (and persisted) if anything changed.

        Like Kafka: ignored when ``epoch`` is the latest and ``start_offset`` is not smaller;
        otherwise entries with an epoch >= ``epoch`` or a start offset >= ``start_offset`` are
        removed first, keeping both columns strictly increasing.
        """
        if epoch < 0 or start_offset < 0:
            raise ValueError(f"invalid leader epoch entry ({epoch}, {start_offset})")
        if not self._assign(EpochEntry(epoch, start_offset)):
            return False
        self._write()
        return True

    def _assign(self, entry: EpochEntry) -> bool:
        if self._epochs:
            latest_epoch, latest_offset = self._epochs[-1], self._offsets[-1]
            if entry.epoch == latest_epoch and entry.start_offset >= latest_offset:
                return False
        keep = 0
        while keep < len(self._epochs) and (
            self._epochs[keep] < entry.epoch and self._offsets[keep] < entry.start_offset
        ):
            keep += 1
        removed = len(self._epochs) - keep
        if removed:
            _log.debug("leader epoch cache %s: removed %d entries before assigning %s", self.path, removed, entry)
        del self._epochs[keep:]
        del self._offsets[keep:]
        self._epochs.append(entry.epoch)
        self._offsets.append(entry.start_offset)
        return True

    def truncate_from_end(self, end_offset: int) -> None:
        """Remove the entries whose start offset is >= ``end_offset`` (log truncation)."""
        if end_offset < 0 or not self._offsets or self._offsets[-1] < end_offset:
            return
        keep = bisect.bisect_left(self._offsets, end_offset)
        del self._epochs[keep:]
        del self._offsets[keep:]
        self._write()

    def truncate_from_start(self, start_offset: int) -> None:
        """Drop entries wholly before ``start_offset``; the last of them now starts there.

        Exclusive like Kafka's: ``truncate_from_start(6)`` keeps an entry that starts at 6.
        """
        i = bisect.bisect_right(self._offsets, start_offset)
        if i == 0 or (i == 1 and self._offsets[0] == start_offset):
            return
        epoch = self._epochs[i - 1]
        del self._epochs[:i]
        del self._offsets[:i]
        self._epochs.insert(0, epoch)
        self._offsets.insert(0, start_offset)
        self._write()

    def clear(self) -> None:
        """Remove every entry (truncate fully) and persist."""
        self._epochs.clear()
        self._offsets.clear()
        self._write()

    def flush(self) -> None:
        self._write()

    def _write(self) -> None:
        if self._persist and self.path.parent.exists():
            self._file.write(self.entries())
