"""The offset index of a segment (Kafka's ``OffsetIndex``): offset -> byte position in the log.

On-disk format: ``<base offset, 20 digits>.index``, 8-byte big-endian entries::

    relativeOffset  int32   batch last offset - segment base offset
    position        int32   byte position of that batch in the segment's .log file

Sparse: the segment adds an entry for a batch once more than ``index.interval.bytes`` were
written since the previous entry, keyed by the batch's *last* offset and pointing at the batch's
*start*.  :meth:`OffsetIndex.lookup` returns the entry with the largest offset <= the target (or
``(base_offset, 0)``); since that batch ends at or before the target, the batch that contains the
target starts at or after the returned position, and the segment scans forward from there.

Lifecycle, laziness and crash behaviour are those of :class:`storage.index.AbstractIndex`.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import NamedTuple

from storage.errors import CorruptIndexError, InvalidOffsetError
from storage.index import AbstractIndex

__all__ = ["INDEX_SUFFIX", "OffsetIndex", "OffsetPosition"]

INDEX_SUFFIX = ".index"
_ENTRY = struct.Struct(">ii")
_REL = struct.Struct(">i")


class OffsetPosition(NamedTuple):
    offset: int
    position: int


class OffsetIndex(AbstractIndex):
    entry_size = 8
    suffix = INDEX_SUFFIX

    def __init__(self, path: Path, base_offset: int, max_index_size: int = 10_485_760, writable: bool = True) -> None:
        super().__init__(path, base_offset, max_index_size, writable)
        self._last_offset: int | None = None  # cache of the last entry's absolute offset

    def _key_at(self, slot: int) -> int:
        return self.base_offset + int(_REL.unpack_from(self._mmap(), slot * 8)[0])

    def entry(self, slot: int) -> OffsetPosition:
        """Entry ``slot`` with its absolute offset."""
        if not 0 <= slot < self.entries:
            raise IndexError(f"slot {slot} out of range for {self.entries} entries in {self.path}")
        rel, pos = _ENTRY.unpack_from(self._mmap(), slot * 8)
        return OffsetPosition(self.base_offset + rel, pos)

    @property
    def last_offset(self) -> int:
        """Offset of the last entry, or the base offset if there is none."""
        if self._last_offset is None:
            n = self.entries
            self._last_offset = self._key_at(n - 1) if n else self.base_offset
        return self._last_offset

    def lookup(self, target_offset: int) -> OffsetPosition:
        """The entry with the largest offset <= ``target_offset``; ``(base_offset, 0)`` if none."""
        slot = self._largest_lower_bound_slot(target_offset)
        if slot < 0:
            return OffsetPosition(self.base_offset, 0)
        return self.entry(slot)

    def can_append_offset(self, offset: int) -> bool:
        return 0 <= offset - self.base_offset <= 0x7FFFFFFF

    def append(self, offset: int, position: int) -> None:
        """Add an entry; the offset must exceed the last one (``InvalidOffsetError`` otherwise)."""
        self._ensure_loaded()
        self._check_room()
        n = self._entries
        if n and offset <= self.last_offset:
            raise InvalidOffsetError(
                f"attempt to append an offset ({offset}) to position {n} no larger than the last "
                f"offset appended ({self.last_offset}) to {self.path}"
            )
        if not self.can_append_offset(offset):
            raise InvalidOffsetError(f"offset {offset} does not fit index {self.path} with base {self.base_offset}")
        _ENTRY.pack_into(self._mmap(), n * 8, offset - self.base_offset, position)
        self._entries = n + 1
        self._last_offset = offset

    def truncate_to(self, offset: int) -> None:
        """Remove the entries with offset >= ``offset``."""
        slot = self._largest_lower_bound_slot(offset)
        if slot < 0:
            keep = 0
        elif self._key_at(slot) == offset:
            keep = slot
        else:
            keep = slot + 1
        self._truncate_to_entries(keep)
        self._last_offset = None

    def reset(self) -> None:
        super().reset()
        self._last_offset = None

    def _load(self) -> None:
        super()._load()
        self._last_offset = None

    def _sanity_check_entries(self) -> None:
        n = self._entries
        if n == 0:
            return
        first = self.entry(0)
        last = self.entry(n - 1)
        if last.offset < self.base_offset or first.offset < self.base_offset:
            raise CorruptIndexError(
                f"corrupt index found, index file ({self.path}) has non-zero size but the last offset "
                f"is {last.offset} which is less than the base offset {self.base_offset}"
            )
        if n > 1 and (last.offset <= first.offset or last.position <= first.position):
            raise CorruptIndexError(f"corrupt index found, entries of {self.path} are not increasing")
        if first.position < 0:
            raise CorruptIndexError(f"corrupt index found, negative position in {self.path}")
