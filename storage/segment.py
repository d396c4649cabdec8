"""One log segment: a ``.log`` file of record batches plus its offset and time indexes.

Files (Kafka's names): ``<base offset zero-padded to 20 digits>.log`` / ``.index`` /
``.timeindex`` in the partition directory.  ``.txnindex`` (aborted transactions) is not written
by this module but is renamed and deleted with the segment if another layer creates one.

On-disk format
==============

``.log`` is v2 record batches end to end (:mod:`protocol.records`), exactly as produced, with
broker-assigned base offsets and leader epochs; offsets increase strictly from batch to batch
and every offset fits in 32 bits relative to the base offset.  The segment's size is the file's
size.  ``preallocate`` is accepted as a config but not used; instead appends reserve the file's
blocks a little ahead without changing its size (:mod:`storage.block_reserve`, which makes a
large append about a third cheaper on ext4), and a roll or close frees what was not used.

Indexing: :meth:`LogSegment.append` adds an offset-index entry ``(batch last offset, batch
position)`` and a time-index entry ``(max timestamp so far, its batch's last offset)`` for a
batch once more than ``index.interval.bytes`` were appended since the last entry; recovery
replays the same rule, so a rebuilt index equals the appended one.

Reads
=====

:meth:`LogSegment.read` finds the batch that *contains* the start offset (index lookup, then a
forward scan of batch headers) and returns a :class:`~storage.file_slice.FileSlice` from that
batch's start: a fetch inside a batch gets the whole batch, as in Kafka.  The slice is cut at
``max_size`` (except that with ``min_one_message`` the first batch is always whole) and at
``max_position`` (the high-watermark position), so its last batch may be partial — exactly what
Kafka sends and clients expect.

Crash behaviour
===============

Appends are ``pwrite`` calls of whole request blobs; after a crash the file may end in a torn
batch, and the indexes (mmapped, preallocated) may hold garbage.  :meth:`LogSegment.recover`
rebuilds both indexes from the log and truncates the log at the first batch that is torn, fails
its CRC, has a bad magic or length, or whose offsets do not increase; it returns the bytes cut.
The log loader runs it for every segment at or after the recovery point after an unclean
shutdown, and for any segment whose index files are missing or fail their sanity check.

Ownership and resources
=======================

A segment belongs to one :class:`~storage.log.Log` and is used under that log's lock (passed in
as ``lock``; the open-file cache takes it to release an idle segment's files).  The active
segment keeps its log descriptor and index mmaps open.  An inactive segment opens them on first
use and registers with the shared :class:`~storage.file_cache.OpenFileCache`, which may release
them again (:meth:`release_resources`).  Constructing a segment for an existing file does no I/O
beyond what the caller passes in: the log loader stats the files once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from protocol.errors import DecodeError
from protocol.records import (
    TIMESTAMP_TYPE_LOG_APPEND_TIME,
    BatchHeader,
    iter_records,
)
from storage.batch_scan import BatchScanError, iter_file_batches, iter_file_headers
from storage.checkpoint import fsync_path
from storage.errors import CorruptIndexError, LogSegmentOffsetOverflowError
from storage.file_cache import OpenFileCache
from storage.file_slice import FileSlice, SegmentFile
from storage.leader_epoch import LeaderEpochFileCache
from storage.offset_index import INDEX_SUFFIX, OffsetIndex
from storage.time_index import (
    NO_TIMESTAMP,
    TIME_INDEX_SUFFIX,
    TimeIndex,
    TimestampOffset,
    read_last_time_index_entry,
)

__all__ = [
    "CLEANED_SUFFIX",
    "DELETED_SUFFIX",
    "LOG_SUFFIX",
    "SWAP_SUFFIX",
    "TXN_INDEX_SUFFIX",
    "BatchPosition",
    "LogSegment",
    "RollParams",
    "SegmentRead",
    "TimestampAndOffset",
    "file_name",
    "log_file_path",
    "parse_base_offset",
]

LOG_SUFFIX = ".log"
TXN_INDEX_SUFFIX = ".txnindex"
DELETED_SUFFIX = ".deleted"
CLEANED_SUFFIX = ".cleaned"
SWAP_SUFFIX = ".swap"
SEGMENT_SUFFIXES = (LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX)
_INT32_MAX = 0x7FFFFFFF
_RECENT_BATCHES = 64  # batch positions remembered from the last appends (see translate_offset)
_log = logging.getLogger(__name__)


def file_name(base_offset: int, suffix: str) -> str:
    """``00000000000000000042.log`` for (42, ".log")."""
    return f"{base_offset:020d}{suffix}"


def log_file_path(directory: Path, base_offset: int, suffix: str = "") -> Path:
    return directory / (file_name(base_offset, LOG_SUFFIX) + suffix)


def parse_base_offset(name: str) -> int | None:
    """The base offset from a segment file name (``None`` if it is not one)."""
    stem = name.split(".", 1)[0]
    if len(stem) != 20 or not stem.isdigit():
        return None
    return int(stem)


@dataclass(frozen=True, slots=True)
class BatchPosition:
    """Where a batch is: its offsets, byte position in the segment and size."""

    base_offset: int
    last_offset: int
    position: int
    size: int


@dataclass(frozen=True, slots=True)
class SegmentRead:
    """Result of :meth:`LogSegment.read`: the slice (None if empty) and where the read started."""

    records: FileSlice | None
    start: BatchPosition
    first_entry_incomplete: bool  # max_size cut the first batch (min_one_message was False)


class TimestampAndOffset(NamedTuple):
    """A ListOffsets answer: a record's timestamp, offset and its batch's leader epoch (-1 if none)."""

    timestamp: int
    offset: int
    leader_epoch: int


@dataclass(frozen=True, slots=True)
class RollParams:
    """What :meth:`LogSegment.should_roll` weighs (Kafka's ``RollParams``)."""

    max_segment_ms: int
    max_segment_bytes: int
    max_timestamp_in_messages: int
    max_offset_in_messages: int
    messages_size: int
    now: int


def fsync_segment_files(log_file: SegmentFile, index_paths: Sequence[Path]) -> None:
    """fsync a segment's log file and its index files. The indexes go by path: an fsync of the
    file also writes the pages written through an active index's mmap, and covers an inactive
    index, whose mmap is gone. An index file renamed or removed meanwhile (retention, truncation)
    is skipped: its entries are no longer the log's."""
    log_file.fsync()
    for path in index_paths:
        with contextlib.suppress(FileNotFoundError):
            fsync_path(path)


class LogSegment:
    """A segment of a partition log; see the module docstring for formats and behaviour."""

    def __init__(
        self,
        directory: Path,
        base_offset: int,
        *,
        index_interval_bytes: int = 4096,
        max_index_size: int = 10_485_760,
        roll_jitter_ms: int = 0,
        created_ms: int = 0,
        size: int = 0,
        active: bool = False,
        file_cache: OpenFileCache | None = None,
        lock: threading.RLock | None = None,
        suffix: str = "",
    ) -> None:
        self.directory = directory
        self.base_offset = base_offset
        self.index_interval_bytes = index_interval_bytes
        self.roll_jitter_ms = roll_jitter_ms
        self.created_ms = created_ms
        self._suffix = suffix
        self._size = size
        self._active = active
        self._file_cache = file_cache
        self.lock = lock if lock is not None else threading.RLock()
        self._file: SegmentFile | None = None
        self.offset_index = OffsetIndex(self._path(INDEX_SUFFIX), base_offset, max_index_size, writable=active)
        self.time_index = TimeIndex(self._path(TIME_INDEX_SUFFIX), base_offset, max_index_size, writable=active)
        self._max_ts: TimestampOffset | None = None  # None: not loaded yet
        self._rolling_based_timestamp: int | None = None
        self._rolling_loaded = False
        self._bytes_since_last_index_entry = 0
        self._next_offset: int | None = None
        # the batches of the last appends by base offset: a fetch from a batch boundary just
        # written (a follower or consumer keeping up) finds its batch without reading the file
        self._recent: dict[int, BatchPosition] = {}
        self._deleted = False

    # -- construction ----------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        directory: Path,
        base_offset: int,
        *,
        index_interval_bytes: int = 4096,
        max_index_size: int = 10_485_760,
        roll_jitter_ms: int = 0,
        now_ms: int = 0,
        file_cache: OpenFileCache | None = None,
        lock: threading.RLock | None = None,
    ) -> LogSegment:
        """A new, empty active segment; stale files with the same base offset are replaced."""
        for suffix in SEGMENT_SUFFIXES:
            path = directory / file_name(base_offset, suffix)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        segment = cls(
            directory,
            base_offset,
            index_interval_bytes=index_interval_bytes,
            max_index_size=max_index_size,
            roll_jitter_ms=roll_jitter_ms,
            created_ms=now_ms,
            size=0,
            active=True,
            file_cache=file_cache,
            lock=lock,
        )
        segment._file = SegmentFile(segment.log_path, create=True)
        # create and preallocate both index files now, as Kafka does
        _ = segment.offset_index.entries
        _ = segment.time_index.entries
        segment._max_ts = TimestampOffset(NO_TIMESTAMP, base_offset)
        segment._rolling_loaded = True
        segment._next_offset = base_offset
        return segment

    # -- names and sizes -------------------------------------------------------------------------

    def _path(self, suffix: str) -> Path:
        return self.directory / (file_name(self.base_offset, suffix) + self._suffix)

    @property
    def log_path(self) -> Path:
        return self._path(LOG_SUFFIX)

    @property
    def index_path(self) -> Path:
        return self.offset_index.path

    @property
    def time_index_path(self) -> Path:
        return self.time_index.path

    @property
    def size(self) -> int:
        """Bytes in the ``.log`` file."""
        return self._size

    @property
    def is_active(self) -> bool:
        return self._active

    @property
    def open_file_count(self) -> int:
        return (1 if self._file is not None else 0) + self.offset_index.open_file_count + (
            self.time_index.open_file_count
        )

    def __repr__(self) -> str:
        return f"LogSegment(base_offset={self.base_offset}, size={self._size}, active={self._active})"

    # -- resources -------------------------------------------------------------------------------

    def _log_file(self) -> SegmentFile:
        f = self._file
        if f is None:
            f = SegmentFile(self.log_path)
            self._file = f
            self._touch()
        elif not self._active:
            self._touch()
        return f

    def _touch(self) -> None:
        if self._file_cache is not None and not self._active:
            self._file_cache.touch(self)

    def _offset_index(self) -> OffsetIndex:
        index = self.offset_index
        if not index.is_loaded:
            self._load_index(index)
        return index

    def _time_index(self) -> TimeIndex:
        index = self.time_index
        if not index.is_loaded:
            self._load_index(index)
        return index

    def _load_index(self, index: OffsetIndex | TimeIndex) -> None:
        """Map an index on first use; an inactive one is sanity-checked, and rebuilt if corrupt."""
        if self._active:
            _ = index.entries
            return
        try:
            index.sanity_check()
        except CorruptIndexError as exc:
            _log.warning("rebuilding the indexes of %s: %s", self.log_path, exc)
            self.rebuild_indexes()
        self._touch()

    def release_resources(self) -> SegmentFile | None:
        """Unmap an inactive segment's indexes and give up its log file (LRU eviction).

        Returns the dropped :class:`SegmentFile` so the cache can keep it alive a little longer.
        """
        if self._active:
            return None
        file, self._file = self._file, None
        if self.offset_index.is_loaded:
            self.offset_index.release()
        if self.time_index.is_loaded:
            self.time_index.release()
        return file

    # -- timestamps ------------------------------------------------------------------------------

    def _load_max_timestamp(self) -> TimestampOffset:
        if self._max_ts is None:
            if self.time_index.is_loaded or self._active:
                self._max_ts = self._time_index().last_entry
            else:
                last = read_last_time_index_entry(self.time_index.path, self.base_offset)
                self._max_ts = last if last is not None else TimestampOffset(NO_TIMESTAMP, self.base_offset)
        return self._max_ts

    @property
    def max_timestamp_so_far(self) -> int:
        return self._load_max_timestamp().timestamp

    @property
    def offset_of_max_timestamp_so_far(self) -> int:
        return self._load_max_timestamp().offset

    @property
    def last_modified_ms(self) -> int:
        try:
            return os.stat(self.log_path).st_mtime_ns // 1_000_000
        except FileNotFoundError:
            return 0

    def set_last_modified(self, ms: int) -> None:
        ns = ms * 1_000_000
        os.utime(self.log_path, ns=(ns, ns))

    @property
    def largest_timestamp(self) -> int:
        """The largest record timestamp, or the file's mtime if no batch has one (retention)."""
        ts = self.max_timestamp_so_far
        return ts if ts >= 0 else self.last_modified_ms

    def _load_first_batch_timestamp(self) -> None:
        if not self._rolling_loaded:
            self._rolling_loaded = True
            if self._size > 0:
                for _, header in iter_file_headers(self._log_file(), 0, self._size):
                    self._rolling_based_timestamp = header.max_timestamp
                    break

    def time_waited_for_roll(self, now: int, message_timestamp: int) -> int:
        """Time since the segment's first batch by record timestamps, else by wall clock."""
        self._load_first_batch_timestamp()
        ts = self._rolling_based_timestamp
        if ts is not None and ts >= 0:
            return message_timestamp - ts
        return now - self.created_ms

    def should_roll(self, params: RollParams) -> bool:
        """Kafka's roll rule: size, age (minus jitter), a full index, or a relative-offset overflow."""
        reached_roll_ms = (
            self.time_waited_for_roll(params.now, params.max_timestamp_in_messages)
            > params.max_segment_ms - self.roll_jitter_ms
        )
        size = self._size
        return (
            size > params.max_segment_bytes - params.messages_size
            or (size > 0 and reached_roll_ms)
            or self._offset_index().is_full
            or self._time_index().is_full
            or not self.can_convert_to_relative_offset(params.max_offset_in_messages)
        )

    def can_convert_to_relative_offset(self, offset: int) -> bool:
        return 0 <= offset - self.base_offset <= _INT32_MAX

    # -- append ------------------------------------------------------------------------------------

    def append(
        self,
        largest_offset: int,
        max_timestamp: int,
        offset_of_max_timestamp: int,
        records: bytes | bytearray | memoryview,
        batches: Sequence[tuple[int, BatchHeader]] | None = None,
    ) -> None:
        """Write ``records`` (whole batches with offsets assigned) at the end of the segment.

        ``batches`` are the ``(position within records, header)`` pairs of ``records``; with them
        the indexes get an entry per batch as in recovery, without them one entry per append
        (Kafka 3.9's rule) at most.
        """
        size = len(records)
        if size == 0:
            return
        if not self._active:
            raise ValueError(f"append to inactive segment {self}")
        if not self.can_convert_to_relative_offset(largest_offset):
            raise LogSegmentOffsetOverflowError(
                f"offset {largest_offset} does not fit segment with base offset {self.base_offset}"
            )
        physical = self._size
        if physical == 0:
            self._rolling_based_timestamp = max_timestamp
            self._rolling_loaded = True
        file = self._log_file()
        try:
            file.write_at(records, physical)
        except BaseException:
            # a failed or partial write (disk full, I/O error) must not leave a torn batch behind
            with contextlib.suppress(OSError):
                file.truncate(physical)
            raise
        self._size = physical + size
        max_ts = self._load_max_timestamp()
        offset_index = self.offset_index
        time_index = self.time_index
        if batches is None:
            if max_timestamp > max_ts.timestamp:
                max_ts = TimestampOffset(max_timestamp, offset_of_max_timestamp)
            if self._bytes_since_last_index_entry > self.index_interval_bytes:
                offset_index.append(largest_offset, physical)
                time_index.maybe_append(max_ts.timestamp, max_ts.offset)
                self._bytes_since_last_index_entry = 0
            self._bytes_since_last_index_entry += size
        else:
            interval = self.index_interval_bytes
            since = self._bytes_since_last_index_entry
            recent = self._recent
            if len(recent) > _RECENT_BATCHES:
                recent.clear()
            for pos, header in batches:
                last = header.base_offset + header.last_offset_delta
                recent[header.base_offset] = BatchPosition(
                    header.base_offset, last, physical + pos, header.batch_length + 12
                )
                if header.max_timestamp > max_ts.timestamp:
                    max_ts = TimestampOffset(header.max_timestamp, last)
                if since > interval:
                    offset_index.append(last, physical + pos)
                    time_index.maybe_append(max_ts.timestamp, max_ts.offset)
                    since = 0
                since += header.batch_length + 12
            self._bytes_since_last_index_entry = since
        self._max_ts = max_ts
        self._next_offset = largest_offset + 1

    # -- lookups -------------------------------------------------------------------------------

    def translate_offset(self, offset: int, starting_position: int = 0) -> BatchPosition | None:
        """The first batch whose last offset is >= ``offset`` (None if none in this segment)."""
        recent = self._recent.get(offset)
        if recent is not None and recent.position >= starting_position:
            return recent
        mapping = self._offset_index().lookup(offset)
        start = max(mapping.position, starting_position)
        for pos, header in iter_file_headers(self._log_file(), start, self._size):
            last = header.base_offset + header.last_offset_delta
            if last >= offset:
                return BatchPosition(header.base_offset, last, pos, header.batch_length + 12)
        return None

    def read(
        self,
        start_offset: int,
        max_size: int,
        max_position: int | None = None,
        min_one_message: bool = False,
    ) -> SegmentRead | None:
        """Batches from the one containing ``start_offset``; None if no batch ends at or after it.

        At most ``max_size`` bytes (but the whole first batch with ``min_one_message``), never past
        ``max_position`` (default: the segment size).  An empty read has ``records=None``.
        """
        if max_size < 0:
            raise ValueError(f"invalid max size {max_size} for log read from segment {self}")
        start = self.translate_offset(start_offset)
        if start is None:
            return None
        adjusted = max(max_size, start.size) if min_one_message else max_size
        limit = self._size if max_position is None else min(max_position, self._size)
        fetch_size = min(limit - start.position, adjusted)
        if fetch_size <= 0:
            return SegmentRead(None, start, False)
        return SegmentRead(FileSlice(self._log_file(), start.position, fetch_size), start, adjusted < start.size)

    def read_next_offset(self) -> int:
        """One past the last offset in the segment (the base offset if it is empty)."""
        if self._next_offset is None:
            next_offset = self.base_offset
            start = self._offset_index().lookup(_INT32_MAX + self.base_offset).position
            for _, header in iter_file_headers(self._log_file(), start, self._size):
                next_offset = header.base_offset + header.last_offset_delta + 1
            self._next_offset = next_offset
        return self._next_offset

    def batches(self, start_position: int = 0) -> Iterator[tuple[int, BatchHeader]]:
        """``(position, header)`` of the batches from ``start_position``."""
        return iter_file_headers(self._log_file(), start_position, self._size)

    def batches_with_data(self, start_position: int = 0) -> Iterator[tuple[int, BatchHeader, memoryview]]:
        """``(position, header, bytes)`` of the batches from ``start_position``."""
        return iter_file_batches(self._log_file(), start_position, self._size)

    def find_offset_by_timestamp(self, timestamp: int, starting_offset: int) -> TimestampAndOffset | None:
        """The first record at or after ``starting_offset`` whose timestamp is >= ``timestamp``."""
        ts_offset = self._time_index().lookup(timestamp)
        position = self._offset_index().lookup(max(ts_offset.offset, starting_offset)).position
        for _, header, data in iter_file_batches(self._log_file(), position, self._size):
            if header.max_timestamp < timestamp:
                continue
            last = header.base_offset + header.last_offset_delta
            if last < starting_offset:
                continue
            for record in iter_records(data, 0, verify=False):
                if record.timestamp >= timestamp and record.offset >= starting_offset:
                    epoch = header.partition_leader_epoch
                    return TimestampAndOffset(record.timestamp, record.offset, epoch if epoch >= 0 else -1)
        return None

    def find_max_timestamp(self) -> TimestampAndOffset | None:
        """The record with the largest timestamp (its first occurrence) in this segment."""
        max_ts = self._load_max_timestamp()
        if max_ts.timestamp < 0:
            return None
        position = self._offset_index().lookup(max_ts.offset).position
        for _, header, data in iter_file_batches(self._log_file(), position, self._size):
            if header.max_timestamp != max_ts.timestamp:
                continue
            epoch = header.partition_leader_epoch
            leader_epoch = epoch if epoch >= 0 else -1
            if header.timestamp_type == TIMESTAMP_TYPE_LOG_APPEND_TIME:
                return TimestampAndOffset(header.max_timestamp, header.base_offset, leader_epoch)
            for record in iter_records(data, 0, verify=False):
                if record.timestamp == header.max_timestamp:
                    return TimestampAndOffset(record.timestamp, record.offset, leader_epoch)
        return None

    # -- recovery, truncation --------------------------------------------------------------------

    def recover(
        self,
        max_message_size: int | None = None,
        leader_epoch_cache: LeaderEpochFileCache | None = None,
    ) -> int:
        """Rebuild the indexes from the log, truncating at the first invalid batch.

        A batch is invalid if it is torn (runs past the end of the file), has a bad magic or
        length, is larger than ``max_message_size`` (when given), fails its CRC, has a negative
        offset delta, starts before the segment's base offset or at/below the previous batch's
        last offset, or does not fit the 32-bit relative offsets.  Leader epochs found in the
        batches are assigned to ``leader_epoch_cache``.  Returns the number of bytes truncated.
        """
        offset_index = self.offset_index
        time_index = self.time_index
        was_active = self._active
        if not was_active:
            offset_index.make_writable()
            time_index.make_writable()
        offset_index.reset()
        time_index.reset()
        self._recent.clear()
        file = self._log_file()
        file_size = file.size()
        valid = 0
        last_index_entry = 0
        max_ts = TimestampOffset(NO_TIMESTAMP, self.base_offset)
        prev_last = self.base_offset - 1
        next_offset = self.base_offset
        try:
            for pos, header, _ in iter_file_batches(file, 0, file_size, strict=True, verify=True):
                size = header.batch_length + 12
                last = header.base_offset + header.last_offset_delta
                if max_message_size is not None and size > max_message_size:
                    raise BatchScanError(f"batch at byte {pos} of {size} bytes exceeds {max_message_size}", pos)
                if header.last_offset_delta < 0 or header.base_offset <= prev_last:
                    raise BatchScanError(f"batch at byte {pos} has offsets out of order", pos)
                if not self.can_convert_to_relative_offset(last):
                    raise BatchScanError(f"batch at byte {pos} overflows the segment's offsets", pos)
                if header.max_timestamp > max_ts.timestamp:
                    max_ts = TimestampOffset(header.max_timestamp, last)
                if valid - last_index_entry > self.index_interval_bytes:
                    offset_index.append(last, valid)
                    time_index.maybe_append(max_ts.timestamp, max_ts.offset)
                    last_index_entry = valid
                valid = pos + size
                prev_last = last
                next_offset = last + 1
                epoch = header.partition_leader_epoch
                if leader_epoch_cache is not None and epoch >= 0:
                    latest = leader_epoch_cache.latest_epoch
                    if latest is None or epoch > latest:
                        leader_epoch_cache.assign(epoch, header.base_offset)
        except (BatchScanError, DecodeError):
            pass
        truncated = file_size - valid
        if truncated > 0:
            file.truncate(valid)
        else:
            file.release_reserved()  # what a crash left reserved past the end
        self._size = valid
        time_index.maybe_append(max_ts.timestamp, max_ts.offset, skip_full_check=True)
        self._max_ts = max_ts
        self._next_offset = next_offset
        self._bytes_since_last_index_entry = valid - last_index_entry
        self._rolling_loaded = False
        self._rolling_based_timestamp = None
        if not was_active:
            offset_index.make_read_only()
            time_index.make_read_only()
        self._touch()
        return truncated

    def rebuild_indexes(self) -> None:
        """Rebuild both indexes from the log (a corrupt or missing index); truncates nothing
        except an invalid tail, like :meth:`recover`."""
        self.recover()

    def truncate_to(self, offset: int) -> int:
        """Remove the batches whose last offset is >= ``offset``; returns bytes removed.

        Truncation works on whole batches: the batch containing ``offset`` goes entirely.  The
        segment becomes active (indexes writable, preallocated), as it is now the log's last.
        """
        mapping = self.translate_offset(offset)
        self._recent.clear()
        self.make_active()
        self.offset_index.truncate_to(offset)
        self.time_index.truncate_to(offset)
        self.offset_index.resize(self.offset_index.max_index_size)
        self.time_index.resize(self.time_index.max_index_size)
        if mapping is None:
            return 0
        removed = self._size - mapping.position
        self._log_file().truncate(mapping.position)
        self._size = mapping.position
        self._next_offset = None
        if self._size == 0:
            self._rolling_based_timestamp = None
            self._rolling_loaded = True
            self._next_offset = self.base_offset
        else:
            self._rolling_loaded = False
        self._bytes_since_last_index_entry = 0
        self._max_ts = self._read_largest_timestamp()
        return removed

    def _read_largest_timestamp(self) -> TimestampOffset:
        """The max timestamp after a truncation: from the last time-index entry, then a scan."""
        last = self.time_index.last_entry
        max_ts = last
        start = self.offset_index.lookup(last.offset).position if last.timestamp >= 0 else 0
        for _, header in iter_file_headers(self._log_file(), start, self._size):
            if header.max_timestamp > max_ts.timestamp:
                max_ts = TimestampOffset(header.max_timestamp, header.base_offset + header.last_offset_delta)
        return max_ts

    # -- state changes ---------------------------------------------------------------------------

    def make_active(self) -> None:
        """Become the log's active segment: indexes preallocated and writable, files pinned."""
        if self._active:
            return
        self._offset_index()
        self._time_index()
        self._active = True
        if self._file_cache is not None:
            self._file_cache.forget(self)
        self.offset_index.make_writable()
        self.time_index.make_writable()
        self._log_file()

    def on_become_inactive(self) -> None:
        """On roll: record the max timestamp in the time index, trim both indexes."""
        if not self._active:
            return
        max_ts = self._load_max_timestamp()
        self.time_index.maybe_append(max_ts.timestamp, max_ts.offset, skip_full_check=True)
        self.offset_index.make_read_only()
        self.time_index.make_read_only()
        if self._file is not None:
            self._file.release_reserved()
        self._active = False
        self._touch()

    def update_config(self, index_interval_bytes: int, max_index_size: int) -> None:
        self.index_interval_bytes = index_interval_bytes
        self.offset_index.update_max_index_size(max_index_size)
        self.time_index.update_max_index_size(max_index_size)

    def sync_targets(self) -> tuple[SegmentFile, tuple[Path, Path]] | None:
        """What a flush of this segment makes durable (:func:`fsync_segment_files`, also outside
        the log lock): the open log file (the reference keeps its descriptor valid whatever
        happens to the segment meanwhile) and the index paths. None once deleted."""
        if self._deleted:
            return None
        return self._log_file(), (self.offset_index.path, self.time_index.path)

    def close(self) -> None:
        """Persist the max timestamp (active), trim and unmap the indexes, drop the file."""
        if self._active and not self._deleted:
            max_ts = self._load_max_timestamp()
            if max_ts.timestamp >= 0:
                self.time_index.maybe_append(max_ts.timestamp, max_ts.offset, skip_full_check=True)
            if self._file is not None:
                self._file.release_reserved()
        self.offset_index.close()
        self.time_index.close()
        self._file = None
        if self._file_cache is not None:
            self._file_cache.forget(self)

    def change_file_suffixes(self, old_suffix: str, new_suffix: str) -> None:
        """Rename every file of the segment from ``<name><old>`` to ``<name><new>``."""
        if self._suffix != old_suffix:
            raise ValueError(f"segment {self} has suffix {self._suffix!r}, not {old_suffix!r}")
        os.replace(self._path(LOG_SUFFIX), self.directory / (file_name(self.base_offset, LOG_SUFFIX) + new_suffix))
        txn = self._path(TXN_INDEX_SUFFIX)
        if txn.exists():
            os.replace(txn, self.directory / (file_name(self.base_offset, TXN_INDEX_SUFFIX) + new_suffix))
        self._suffix = new_suffix
        self.offset_index.rename_to(self._path(INDEX_SUFFIX))
        self.time_index.rename_to(self._path(TIME_INDEX_SUFFIX))

    def mark_deleted(self) -> None:
        """Rename to ``.deleted`` and release everything (retention, truncation); the files are
        removed later by :meth:`delete_files` or at the next start."""
        self.close()
        self.change_file_suffixes(self._suffix, DELETED_SUFFIX)
        self._deleted = True
        self._active = False

    def delete_files(self) -> None:
        """Remove the segment's files (whatever their current suffix)."""
        self.close()
        self._deleted = True
        self._active = False
        for suffix in SEGMENT_SUFFIXES:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path(suffix))

    def delete(self) -> None:
        """Remove the segment's files now."""
        self.delete_files()

    def has_overflow(self) -> bool:
        next_offset = self.read_next_offset()
        return next_offset > self.base_offset and not self.can_convert_to_relative_offset(next_offset - 1)


def random_jitter(segment_jitter_ms: int, segment_ms: int, rng: random.Random | None = None) -> int:
    """Kafka's per-segment roll jitter: uniform in ``[0, min(jitter, segment.ms))``."""
    bound = min(segment_jitter_ms, segment_ms)
    if bound <= 0:
        return 0
    return (rng or random).randrange(bound)

