"""The mmap-backed sparse index shared by the offset and time indexes (Kafka's ``AbstractIndex``).

On-disk format
==============

A flat array of fixed-size big-endian entries with no header; entry *i* is at byte
``i * entry_size``.  Offsets are stored relative to the segment's base offset (int32).  Entries
are strictly increasing in their key (offset, or timestamp), which is what makes the binary
search valid.  The file name is the segment's 20-digit base offset plus the index's suffix.

Sizes and lifecycle
===================

* An *active* (writable) index is preallocated to ``segment.index.bytes`` rounded down to a
  multiple of the entry size and mapped read-write; :attr:`entries` counts the valid ones.
* On roll and on close it is trimmed to exactly ``entries * entry_size`` bytes
  (:meth:`trim_to_valid_size`), so an inactive index file's length *is* its entry count.
* Lazy loading: constructing an index does no I/O.  The file is opened and mapped at the first
  call that needs its contents (a lookup, an append, :attr:`entries`) — so opening a log with
  thousands of inactive segments maps nothing.  :meth:`release` unmaps an inactive index again
  (the segment file cache uses it to bound open descriptors: CPython's mmap holds a duplicate of
  the file descriptor); it is remapped on the next use.

Crash behaviour
===============

An index is only a hint: every lookup lands on a position at or before the wanted batch and the
caller scans the log forward from there.  After an unclean shutdown the segments from the
recovery point on are rebuilt from their log files (``LogSegment.recover``), so a preallocated,
half-written index is never trusted.  Independently: an inactive index's entry count is its file
length (it was trimmed), as in Kafka; opening an existing file as *active* takes as entries the
longest prefix before the all-zero tail a crashed preallocated index leaves behind (found by
binary search: valid keys are strictly increasing and never all-zero except possibly entry 0);
entries removed by truncation are zeroed so they cannot come back that way; and
:meth:`sanity_check` (Kafka's checks: length a multiple of the entry size, last offset not below
the base offset, plus first and last entry ordered) raises
:class:`~storage.errors.CorruptIndexError`, on which the owning segment rebuilds both indexes.

Ownership and threading: an index belongs to one :class:`~storage.segment.LogSegment` and is used
under its log's lock; it has no lock of its own.
"""

from __future__ import annotations

import contextlib
import mmap
import os
from pathlib import Path
from typing import ClassVar

from storage.errors import CorruptIndexError

__all__ = ["AbstractIndex"]


class AbstractIndex:
    """A sorted array of fixed-size entries in an mmap; subclasses define the entry layout."""

    entry_size: ClassVar[int]
    suffix: ClassVar[str]

    def __init__(self, path: Path, base_offset: int, max_index_size: int, writable: bool) -> None:
        self._path = path
        self.base_offset = base_offset
        self._max_index_size = max_index_size
        self._writable = writable
        self._mm: mmap.mmap | None = None
        self._entries = 0
        self._length = 0  # bytes of the file (== mapped length)
        self._loaded = False

    # -- properties ------------------------------------------------------------------------------

    @property
    def path(self) -> Path:
        return self._path

    @property
    def is_loaded(self) -> bool:
        return self._loaded

    @property
    def writable(self) -> bool:
        return self._writable

    @property
    def max_index_size(self) -> int:
        return self._max_index_size

    @property
    def entries(self) -> int:
        self._ensure_loaded()
        return self._entries

    @property
    def max_entries(self) -> int:
        """How many entries fit in the current file (its preallocated size when active)."""
        self._ensure_loaded()
        return self._length // self.entry_size

    @property
    def is_full(self) -> bool:
        return self.entries >= self.max_entries

    @property
    def size_in_bytes(self) -> int:
        """Bytes of valid entries."""
        return self.entries * self.entry_size

    @property
    def open_file_count(self) -> int:
        """File descriptors this index holds (the mmap keeps a duplicate)."""
        return 1 if self._mm is not None else 0

    # -- loading -------------------------------------------------------------------------------

    def _ensure_loaded(self) -> None:
        if not self._loaded:
            self._load()

    def _load(self) -> None:
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            existing = os.fstat(fd).st_size
            rounded = existing - existing % self.entry_size
            if self._writable:
                target = self._max_size_rounded()
                if target < rounded:
                    target = rounded  # never drop valid entries when segment.index.bytes shrank
                if target != existing:
                    os.ftruncate(fd, target)
                length = target
            else:
                length = existing
            mm = self._map(fd, length)
        finally:
            os.close(fd)
        self._mm = mm
        self._length = length
        upper = rounded // self.entry_size
        # an inactive index was trimmed to its entries; only a reopened active one can carry a
        # preallocated zero tail (a crash before the trim)
        self._entries = self._count_entries(upper) if self._writable else upper
        self._loaded = True

    def _max_size_rounded(self) -> int:
        """``segment.index.bytes`` rounded down to whole entries (at least one entry)."""
        return max(self._max_index_size - self._max_index_size % self.entry_size, self.entry_size)

    def _map(self, fd: int, length: int) -> mmap.mmap | None:
        if length == 0:
            return None
        access = mmap.ACCESS_WRITE if self._writable else mmap.ACCESS_READ
        return mmap.mmap(fd, length, access=access)

    def _count_entries(self, upper: int) -> int:
        """Valid entries among the first ``upper``: the prefix before an all-zero tail."""
        mm = self._mm
        if upper == 0 or mm is None:
            return 0
        size = self.entry_size
        zero = bytes(size)
        if mm[(upper - 1) * size : upper * size] != zero:
            return upper
        # Binary search for the first all-zero entry at index >= 1 (entry 0 may legitimately be 0).
        lo, hi = 1, upper - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if mm[mid * size : (mid + 1) * size] == zero:
                hi = mid
            else:
                lo = mid + 1
        if lo == 1 and mm[0:size] == zero:
            return 0
        return lo

    def release(self) -> None:
        """Unmap (an inactive, already trimmed index); it is mapped again on next use."""
        if self._writable:
            raise ValueError("an active index cannot be released; close it instead")
        self._unmap()
        self._loaded = False

    def _unmap(self) -> None:
        mm, self._mm = self._mm, None
        if mm is not None:
            mm.close()

    # -- entry access (subclasses) -----------------------------------------------------------------

    def _key_at(self, slot: int) -> int:
        """The search key of entry ``slot`` (absolute offset or timestamp)."""
        raise NotImplementedError

    def _mmap(self) -> mmap.mmap:
        mm = self._mm
        assert mm is not None
        return mm

    def _largest_lower_bound_slot(self, target: int) -> int:
        """Slot of the largest key <= target, or -1 if every key is larger (or no entries)."""
        n = self.entries
        if n == 0 or self._key_at(0) > target:
            return -1
        lo, hi = 0, n - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self._key_at(mid) <= target:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def _smallest_upper_bound_slot(self, target: int) -> int:
        """Slot of the smallest key >= target, or -1 if every key is smaller."""
        n = self.entries
        if n == 0 or self._key_at(n - 1) < target:
            return -1
        lo, hi = 0, n - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if self._key_at(mid) >= target:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def _check_room(self) -> None:
        if not self._writable:
            raise ValueError(f"index {self._path} is not writable")
        if self._entries >= self._length // self.entry_size:
            raise ValueError(f"attempt to append to a full index (size = {self._entries}) {self._path}")

    # -- mutation --------------------------------------------------------------------------------

    def _truncate_to_entries(self, entries: int) -> None:
        old = self._entries
        if entries >= old:
            return
        self._entries = entries
        if self._writable:
            # zero the dropped entries so that a crash cannot resurrect them as a valid-looking tail
            mm = self._mmap()
            mm[entries * self.entry_size : old * self.entry_size] = bytes((old - entries) * self.entry_size)
        else:
            self.resize(entries * self.entry_size)

    def reset(self) -> None:
        """Drop every entry (recovery rebuilds from here); an active index stays preallocated."""
        self._ensure_loaded()
        self._entries = 0
        self.resize(0)  # the file is zero-filled from here on, leaving no stale entries behind
        if self._writable:
            self.resize(self._max_size_rounded())

    def resize(self, new_size: int) -> bool:
        """Set the file length to ``new_size`` rounded down to whole entries; True if it changed."""
        self._ensure_loaded()
        rounded = new_size - new_size % self.entry_size
        if rounded == self._length:
            return False
        self._unmap()
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            os.ftruncate(fd, rounded)
            self._mm = self._map(fd, rounded)
        finally:
            os.close(fd)
        self._length = rounded
        self._entries = min(self._entries, rounded // self.entry_size)
        return True

    def trim_to_valid_size(self) -> None:
        """Shrink the file to exactly its entries (on roll and close)."""
        self.resize(self._entries * self.entry_size)

    def make_writable(self) -> None:
        """Become an active index: remapped read-write and preallocated to the max size."""
        if self._writable:
            return
        self._unmap()
        self._loaded = False
        self._writable = True

    def make_read_only(self) -> None:
        """Become an inactive index: trimmed and remapped read-only on next use."""
        if not self._writable:
            return
        if self._loaded:
            self.trim_to_valid_size()
            self._unmap()
            self._loaded = False
        self._writable = False

    def update_max_index_size(self, max_index_size: int) -> None:
        """A new ``segment.index.bytes`` (config change); applied to an active index at once."""
        self._max_index_size = max_index_size
        if self._writable and self._loaded:
            self.resize(max(self._max_size_rounded(), self._entries * self.entry_size))

    def close(self) -> None:
        """Trim (if active) and unmap; the object can be loaded again afterwards."""
        if self._loaded and self._writable:
            self.trim_to_valid_size()
        self._unmap()
        self._loaded = False

    def rename_to(self, path: Path) -> None:
        """Rename the file (a missing file is fine: nothing was ever written)."""
        with contextlib.suppress(FileNotFoundError):
            os.replace(self._path, path)
        self._path = path

    def delete(self) -> bool:
        """Unmap and remove the file; True if a file was removed."""
        self._unmap()
        self._loaded = False
        try:
            os.unlink(self._path)
        except FileNotFoundError:
            return False
        return True

    def sanity_check(self) -> None:
        """Kafka's load-time checks; :class:`CorruptIndexError` if the file cannot be trusted."""
        self._ensure_loaded()
        if not self._writable and self._length % self.entry_size != 0:
            raise CorruptIndexError(
                f"index file {self._path} has size {self._length} which is not a multiple of {self.entry_size}"
            )
        self._sanity_check_entries()

    def _sanity_check_entries(self) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        state = f"entries={self._entries}" if self._loaded else "unloaded"
        return f"{type(self).__name__}({self._path.name}, {state})"
