"""The time index of a segment (Kafka's ``TimeIndex``): timestamp -> offset.

On-disk format: ``<base offset, 20 digits>.timeindex``, 12-byte big-endian entries::

    timestamp       int64   the largest batch max-timestamp seen so far in the segment
    relativeOffset  int32   last offset of the batch that carries that timestamp - base offset

Entries are added next to offset-index entries, and only when the timestamp grows, so both
columns increase strictly.  :meth:`TimeIndex.lookup` returns the entry with the largest
timestamp <= the target (or ``(-1, base_offset)``).  Record timestamps need not be monotonic, so
this only says where to *start* looking: the segment scans the log forward from the offset-index
position of that entry's offset for the first record whose timestamp is >= the target, exactly
as Kafka does.  When a segment stops being active its maximum timestamp is appended one last time
(skipping the full check: :attr:`is_full` reserves the last slot for it), so the last entry of an
inactive time index is the segment's largest timestamp, which retention reads without scanning
the log.

Lifecycle, laziness and crash behaviour are those of :class:`storage.index.AbstractIndex`.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import NamedTuple

from storage.errors import CorruptIndexError, InvalidOffsetError
from storage.index import AbstractIndex

__all__ = ["NO_TIMESTAMP", "TIME_INDEX_SUFFIX", "TimeIndex", "TimestampOffset", "read_last_time_index_entry"]

TIME_INDEX_SUFFIX = ".timeindex"
NO_TIMESTAMP = -1
_ENTRY = struct.Struct(">qi")
_TS = struct.Struct(">q")
_REL = struct.Struct(">i")


class TimestampOffset(NamedTuple):
    timestamp: int
    offset: int


class TimeIndex(AbstractIndex):
    entry_size = 12
    suffix = TIME_INDEX_SUFFIX

    def __init__(self, path: Path, base_offset: int, max_index_size: int = 10_485_760, writable: bool = True) -> None:
        super().__init__(path, base_offset, max_index_size, writable)
        self._last: TimestampOffset | None = None

    def _key_at(self, slot: int) -> int:
        return int(_TS.unpack_from(self._mmap(), slot * 12)[0])

    def _offset_at(self, slot: int) -> int:
        return self.base_offset + int(_REL.unpack_from(self._mmap(), slot * 12 + 8)[0])

    def entry(self, slot: int) -> TimestampOffset:
        if not 0 <= slot < self.entries:
            raise IndexError(f"slot {slot} out of range for {self.entries} entries in {self.path}")
        ts, rel = _ENTRY.unpack_from(self._mmap(), slot * 12)
        return TimestampOffset(ts, self.base_offset + rel)

    @property
    def is_full(self) -> bool:
        """Full one entry early: the last slot is kept for the entry written on roll."""
        return self.entries >= self.max_entries - 1

    @property
    def last_entry(self) -> TimestampOffset:
        """The last entry, or ``(-1, base_offset)`` if there is none."""
        if self._last is None:
            n = self.entries
            self._last = self.entry(n - 1) if n else TimestampOffset(NO_TIMESTAMP, self.base_offset)
        return self._last

    def lookup(self, target_timestamp: int) -> TimestampOffset:
        """The entry with the largest timestamp <= target; ``(-1, base_offset)`` if none."""
        slot = self._largest_lower_bound_slot(target_timestamp)
        if slot < 0:
            return TimestampOffset(NO_TIMESTAMP, self.base_offset)
        return self.entry(slot)

    def maybe_append(self, timestamp: int, offset: int, skip_full_check: bool = False) -> bool:
        """Append if ``timestamp`` exceeds the last entry's; True if an entry was written."""
        self._ensure_loaded()
        if not self._writable:
            raise ValueError(f"index {self.path} is not writable")
        n = self._entries
        if not skip_full_check and self.is_full:
            raise ValueError(f"attempt to append to a full time index (size = {n}) {self.path}")
        last = self.last_entry
        if n and offset < last.offset:
            raise InvalidOffsetError(
                f"attempt to append an offset ({offset}) to slot {n} no larger than the last offset "
                f"appended ({last.offset}) to {self.path}"
            )
        if n and timestamp < last.timestamp:
            raise ValueError(
                f"attempt to append a timestamp ({timestamp}) to slot {n} no larger than the last "
                f"timestamp appended ({last.timestamp}) to {self.path}"
            )
        if timestamp <= last.timestamp:
            return False
        if n >= self._length // self.entry_size:
            if not skip_full_check:
                raise ValueError(f"no room in time index {self.path}")
            # the reserved slot is missing (segment.index.bytes shrank): grow by one entry
            self.resize(self._length + self.entry_size)
        _ENTRY.pack_into(self._mmap(), n * 12, timestamp, offset - self.base_offset)
        self._entries = n + 1
        self._last = TimestampOffset(timestamp, offset)
        return True

    def truncate_to(self, offset: int) -> None:
        """Remove the entries whose offset is >= ``offset``."""
        n = self.entries
        lo, hi = 0, n  # first slot with entry offset >= offset
        while lo < hi:
            mid = (lo + hi) // 2
            if self._offset_at(mid) >= offset:
                hi = mid
            else:
                lo = mid + 1
        self._truncate_to_entries(lo)
        self._last = None

    def reset(self) -> None:
        super().reset()
        self._last = None

    def _load(self) -> None:
        super()._load()
        self._last = None

    def _sanity_check_entries(self) -> None:
        n = self._entries
        if n == 0:
            return
        first = self.entry(0)
        last = self.entry(n - 1)
        if last.offset < self.base_offset or first.offset < self.base_offset:
            raise CorruptIndexError(
                f"corrupt time index found, time index file ({self.path}) has non-zero size but the last "
                f"offset is {last.offset} which is less than the base offset {self.base_offset}"
            )
        if n > 1 and (last.timestamp <= first.timestamp or last.offset < first.offset):
            raise CorruptIndexError(f"corrupt time index found, entries of {self.path} are not increasing")


def read_last_time_index_entry(path: Path, base_offset: int) -> TimestampOffset | None:
    """The last entry of an inactive (trimmed) time index file, read with one pread, no mmap.

    ``None`` if the file is missing, empty or not a whole number of entries.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        size = os.fstat(fd).st_size
        if size == 0 or size % 12:
            return None
        data = os.pread(fd, 12, size - 12)
    finally:
        os.close(fd)
    if len(data) != 12:
        return None
    ts, rel = _ENTRY.unpack(data)
    return TimestampOffset(ts, base_offset + rel)
