"""A bound on the file descriptors held by inactive segments (LRU).

Kafka keeps every segment's log file and index mmaps open; with many partitions that exhausts
descriptors.  Here:

* an active segment always holds its ``.log`` descriptor and its two index mmaps (each mmap
  holds a duplicate descriptor in CPython) — 3 per partition;
* an inactive segment opens its log file and maps its indexes only when a read, a lookup or
  recovery needs them, then registers with the shared :class:`OpenFileCache`;
* when the descriptors held by inactive segments exceed ``max_open_files``, the least recently
  used segments release theirs (``LogSegment.release_resources``): the index mmaps are closed
  and the segment drops its reference to its :class:`~storage.file_slice.SegmentFile`, whose
  descriptor closes once no outstanding :class:`~storage.file_slice.FileSlice` uses it.
* as a safety net for callers that keep only a slice's raw ``fd`` number (not the slice), the
  last ``grace_files`` (64) evicted log files stay open until that many later evictions: a
  descriptor read in one event-loop step is not closed in the same step unless more than
  ``grace_files`` other segments were evicted meanwhile.  At most ``max_open_files +
  grace_files`` descriptors are held by inactive segments.

Threading: the cache has its own lock, held only for its bookkeeping.  A victim is released
under its owner's lock taken with ``acquire(blocking=False)``; a victim whose log is busy in
another thread is skipped this time (it is in use, so hardly least recently used).  That avoids
lock-order deadlocks between two logs evicting each other's segments.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from typing import Protocol

__all__ = ["DEFAULT_MAX_OPEN_FILES", "OpenFileCache", "Releasable"]

DEFAULT_MAX_OPEN_FILES = 1024
DEFAULT_GRACE_FILES = 64


class Releasable(Protocol):
    """What the cache needs from a segment."""

    @property
    def lock(self) -> threading.RLock: ...

    @property
    def open_file_count(self) -> int: ...

    def release_resources(self) -> object | None: ...


class OpenFileCache:
    """LRU of inactive segments that hold open descriptors, capped at ``max_open_files``."""

    def __init__(self, max_open_files: int = DEFAULT_MAX_OPEN_FILES, grace_files: int = DEFAULT_GRACE_FILES) -> None:
        if max_open_files < 1:
            raise ValueError(f"max_open_files must be positive, got {max_open_files}")
        self.max_open_files = max_open_files
        # log files of evicted segments, kept open until `grace_files` later evictions
        self._grace: deque[object] = deque(maxlen=max(grace_files, 0))
        self._lru: OrderedDict[int, tuple[Releasable, int]] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()
        self.evictions = 0

    @property
    def open_files(self) -> int:
        """Descriptors currently held by the segments in the cache."""
        return self._total

    def __len__(self) -> int:
        return len(self._lru)

    def __contains__(self, segment: object) -> bool:
        return id(segment) in self._lru

    def touch(self, segment: Releasable) -> None:
        """Mark ``segment`` most recently used (recounting its descriptors) and evict others."""
        count = segment.open_file_count
        with self._lock:
            old = self._lru.pop(id(segment), None)
            if old is not None:
                self._total -= old[1]
            if count > 0:
                self._lru[id(segment)] = (segment, count)
                self._total += count
            if self._total <= self.max_open_files:
                return
            victims: list[Releasable] = []
            excess = self._total - self.max_open_files
            for key, (victim, n) in list(self._lru.items()):
                if excess <= 0:
                    break
                if victim is segment:
                    continue
                del self._lru[key]
                self._total -= n
                excess -= n
                victims.append(victim)
        for victim in victims:
            lock = victim.lock
            if lock.acquire(blocking=False):
                try:
                    dropped = victim.release_resources()
                    self.evictions += 1
                    if dropped is not None and self._grace.maxlen:
                        self._grace.append(dropped)
                finally:
                    lock.release()
            else:
                self._readd(victim)

    def _readd(self, segment: Releasable) -> None:
        count = segment.open_file_count
        if count <= 0:
            return
        with self._lock:
            if id(segment) not in self._lru:
                self._lru[id(segment)] = (segment, count)
                self._total += count

    def clear(self) -> None:
        """Forget every segment and drop the grace files (on shutdown)."""
        with self._lock:
            self._lru.clear()
            self._total = 0
            self._grace.clear()

    def forget(self, segment: Releasable) -> None:
        """Stop tracking ``segment`` (it became active, or was closed or deleted)."""
        with self._lock:
            old = self._lru.pop(id(segment), None)
            if old is not None:
                self._total -= old[1]
