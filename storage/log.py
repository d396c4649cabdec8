"""The log of one partition (Kafka's ``UnifiedLog`` + ``LocalLog``, local storage only).

A :class:`Log` owns the directory ``<log dir>/<topic>-<partition>/``: its segments (sorted by
base offset, the last one active and the only one appended to), its leader-epoch cache, and the
partition's offsets:

* ``log_start_offset``: the first offset a consumer may read (advanced by retention and
  DeleteRecords); may lie inside the first segment.
* ``log_end_offset`` (LEO): the offset the next appended record gets.
* ``high_watermark``: the end of the committed data; reads for consumers stop there.  The
  replication layer moves it (:meth:`Log.update_high_watermark`); a one-broker cluster sets it
  to the LEO after every append.  Retention never deletes at or above it.
* ``recovery_point``: everything below it is fsynced; after an unclean shutdown segments from
  the one containing it on are recovered.

Appending
=========

:meth:`Log.append_as_leader` takes a Produce request's records blob, splits and validates it
(magic 2, framing, ``max.message.bytes`` -> :class:`~storage.errors.RecordTooLargeError`, CRC ->
``CorruptRecordError``, Kafka's ``LogValidator`` header rules -> ``InvalidRecordError``, record
timestamps and compacted-topic keys when those rules are configured), assigns offsets by
patching each batch's base offset and partition leader epoch in place (and ``maxTimestamp`` with
the LogAppendTime flag on LogAppendTime topics, recomputing that batch's CRC), and appends the
bytes with one write.  Nothing else in the bytes changes.  A ``bytes`` argument is copied once
to be patched; a ``bytearray`` or writable ``memoryview`` is patched in place.
:meth:`Log.append_as_follower` appends a leader's batches unchanged.

Rolling follows Kafka: before an append, a new segment starts when the active one would exceed
``segment.bytes``, is older than ``segment.ms`` minus its jitter (by record timestamps if the
segment has any, else by the injected clock), has a full index, or cannot represent the append's
offsets relative to its base.  The rolled segment's fsync is deferred (Kafka flushes it in the
background): :meth:`Log.plan_flush` — called by :class:`~storage.log_manager.LogManager` — takes
what is due under the lock and returns a :class:`PendingFlush`, whose fsyncs run in whatever
thread the caller picks, without the lock, and whose commit then advances the recovery point.
:meth:`Log.flush` fsyncs up to a given offset at once, in the calling thread.

Reading
=======

:meth:`Log.read` returns a :class:`FetchDataInfo` whose ``records`` is a
:class:`~storage.file_slice.FileSlice` (or ``None``): bytes of one segment from the batch that
contains the fetch offset, bounded by ``max_bytes`` (the first batch whole if
``min_one_message``) and by ``max_offset`` (e.g. the high watermark).  Offsets outside
``[log_start_offset, log_end_offset]`` raise :class:`~storage.errors.OffsetOutOfRangeError`.

Threading: every public method takes the log's re-entrant lock (shared with its segments, see
:mod:`storage.file_cache`).  Iterators (:meth:`batch_headers`) work on a snapshot of the segment
list without holding it.  Time: methods take ``now_ms``; by default the injected clock.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from protocol.records import (
    TIMESTAMP_TYPE_CREATE_TIME,
    BatchHeader,
    iter_batches,
    iter_records,
    read_batch_header,
    set_base_offset,
    set_log_append_time,
    set_max_timestamp,
    set_partition_leader_epoch,
    validate_client_batch,
    verify_crc,
)
from storage.checkpoint import fsync_path
from storage.clock import Clock, system_clock_ms
from storage.config import LONG_MAX, LogConfig
from storage.errors import (
    InvalidRecordError,
    InvalidTimestampError,
    OffsetOutOfRangeError,
    OffsetsOutOfOrderError,
    RecordBatchTooLargeError,
    RecordTooLargeError,
    UnexpectedAppendOffsetError,
)
from storage.file_cache import OpenFileCache
from storage.file_slice import FileSlice, SegmentFile
from storage.leader_epoch import LeaderEpochFileCache
from storage.log_loader import create_segment, load_segments
from storage.segment import LogSegment, RollParams, TimestampAndOffset, fsync_segment_files

__all__ = [
    "EARLIEST_LOCAL_TIMESTAMP",
    "EARLIEST_TIMESTAMP",
    "LATEST_TIERED_TIMESTAMP",
    "LATEST_TIMESTAMP",
    "MAX_TIMESTAMP",
    "AppendInfo",
    "AppendOrigin",
    "FetchDataInfo",
    "Log",
    "OffsetOutOfRangeError",
    "PendingFlush",
    "RecordBatchTooLargeError",
    "RecordTooLargeError",
    "TimestampAndOffset",
    "parse_topic_partition",
    "partition_dir_name",
]

# ListOffsets special timestamps
LATEST_TIMESTAMP = -1
EARLIEST_TIMESTAMP = -2
MAX_TIMESTAMP = -3
EARLIEST_LOCAL_TIMESTAMP = -4
LATEST_TIERED_TIMESTAMP = -5

_log = logging.getLogger(__name__)
Buffer = bytes | bytearray | memoryview


class AppendOrigin(Enum):
    """Who appends: clients get every check; the coordinator may write control batches."""

    CLIENT = "client"
    COORDINATOR = "coordinator"
    REPLICATION = "replication"


@dataclass(slots=True)
class AppendInfo:
    """The outcome of an append (Kafka's ``LogAppendInfo``).

    ``batches`` are the appended headers as written (offsets and leader epoch assigned), for the
    caller's producer-state bookkeeping.  ``first_offset``/``last_offset`` are -1 for an empty
    append.  ``log_append_time`` is the broker time stamped on LogAppendTime topics, else -1.
    """

    first_offset: int
    last_offset: int
    max_timestamp: int
    offset_of_max_timestamp: int
    log_append_time: int
    log_start_offset: int
    num_records: int
    valid_bytes: int
    batches: list[BatchHeader] = field(default_factory=list)
    rolled: bool = False

    @property
    def num_batches(self) -> int:
        return len(self.batches)

    @property
    def num_messages(self) -> int:
        return self.num_records


@dataclass(frozen=True, slots=True)
class FetchDataInfo:
    """A read: the records slice (``None`` when empty) and the log's offsets at read time.

    ``first_entry_incomplete`` is set when ``min_one_message`` was false and ``max_bytes`` cut the
    first batch: the slice then holds only part of a batch.  Kafka's ReplicaManager answers such a
    read with empty records (Fetch v3+, so the consumer moves on to the next partition).
    """

    records: FileSlice | None
    fetch_offset: int
    high_watermark: int
    log_start_offset: int
    log_end_offset: int
    first_entry_incomplete: bool = False

    @property
    def size(self) -> int:
        return self.records.size if self.records is not None else 0


@dataclass(slots=True)
class PendingFlush:
    """fsyncs of one log that make ``[recovery point, offset)`` durable, planned under the log
    lock by :meth:`Log.plan_flush`.

    :meth:`run` does the I/O, in any thread and without the log lock, so appends and reads go
    on meanwhile; files renamed or removed since (retention, truncation) are skipped, as their
    data is gone from the log anyway. :meth:`commit` then advances the recovery point, unless
    the log was truncated or closed in between (its recovery point was reset then, and the
    planned offset may no longer exist).
    """

    log: Log
    offset: int
    now: int
    generation: int  # the log's truncation count when planned
    segments: list[tuple[SegmentFile, tuple[Path, Path]]]  # LogSegment.sync_targets
    files: list[Path]  # written at a roll without fsync (Log.on_roll)
    directory: Path | None  # new segment files to make durable in the directory

    def run(self) -> None:
        for log_file, index_paths in self.segments:
            fsync_segment_files(log_file, index_paths)
        for path in self.files:
            with contextlib.suppress(FileNotFoundError):  # deleted since (truncation, retention)
                fsync_path(path)
        if self.directory is not None:
            with contextlib.suppress(FileNotFoundError):
                fsync_path(self.directory)

    def commit(self) -> None:
        self.log._commit_flush(self)


def partition_dir_name(topic: str, partition: int) -> str:
    return f"{topic}-{partition}"


def parse_topic_partition(name: str) -> tuple[str, int]:
    """``("my-topic", 3)`` from ``"my-topic-3"``; ``ValueError`` if not of that form."""
    topic, sep, partition = name.rpartition("-")
    if not sep or not topic or not partition.isdigit():
        raise ValueError(f"{name!r} is not a <topic>-<partition> directory name")
    return topic, int(partition)


def _writable(records: Buffer) -> bytearray | memoryview:
    if isinstance(records, bytearray):
        return records
    if isinstance(records, memoryview) and not records.readonly and records.contiguous:
        return records.cast("B") if records.format != "B" else records
    return bytearray(records)


class Log:
    """One partition's log; use :meth:`Log.open` (see the module docstring)."""

    def __init__(
        self,
        directory: Path,
        config: LogConfig,
        *,
        recovery_point: int = 0,
        log_start_offset: int = 0,
        high_watermark: int | None = None,
        clean_shutdown: bool = False,
        clock: Clock = system_clock_ms,
        file_cache: OpenFileCache | None = None,
    ) -> None:
        self.dir = Path(directory)
        self.topic, self.partition = parse_topic_partition(self.dir.name)
        self.config = config
        self._clock = clock
        self._file_cache = file_cache
        self._lock = threading.RLock()
        self._closed = False
        self.dir.mkdir(parents=True, exist_ok=True)
        self.leader_epoch_cache = LeaderEpochFileCache.in_directory(self.dir)
        now = clock()
        with self._lock:
            loaded = load_segments(
                self.dir,
                config,
                now_ms=now,
                recovery_point=recovery_point,
                log_start_offset=log_start_offset,
                clean_shutdown=clean_shutdown,
                leader_epoch_cache=self.leader_epoch_cache,
                file_cache=file_cache,
                lock=self._lock,
            )
        self.load_result = loaded
        self._segments: list[LogSegment] = loaded.segments
        self._bases: list[int] = [s.base_offset for s in self._segments]
        self._log_start_offset = loaded.log_start_offset
        self._recovery_point = loaded.recovery_point
        self._leo = loaded.log_end_offset
        self._pending_flush_offset = self._recovery_point
        self._last_flush_ms = now
        self._truncations = 0  # bumped whenever the recovery point may move down
        self._pending_deletes: list[tuple[int, LogSegment]] = []
        hw = self._log_start_offset if high_watermark is None else high_watermark
        self._hw = min(max(hw, self._log_start_offset), self._leo)
        self._hw_position: tuple[int, int] | None = None
        self.on_roll: Callable[[int], Path | None] | None = None
        """Called under the lock with the new segment's base offset after every roll; it may
        return a file it wrote without fsync (a producer-state snapshot), which the flush of the
        rolled segment then makes durable (Kafka 3.9 defers that fsync the same way)."""
        self._unsynced_files: list[Path] = []
        self.on_log_start_offset_change: Callable[[int], None] | None = None
        """Called with the new log start offset whenever it increases."""

    @classmethod
    def open(
        cls,
        directory: Path | str,
        config: LogConfig | None = None,
        *,
        recovery_point: int = 0,
        log_start_offset: int = 0,
        high_watermark: int | None = None,
        clean_shutdown: bool = False,
        clock: Clock = system_clock_ms,
        file_cache: OpenFileCache | None = None,
    ) -> Log:
        """Open (creating if needed) and, unless ``clean_shutdown``, recover a partition log."""
        return cls(
            Path(directory),
            config or LogConfig(),
            recovery_point=recovery_point,
            log_start_offset=log_start_offset,
            high_watermark=high_watermark,
            clean_shutdown=clean_shutdown,
            clock=clock,
            file_cache=file_cache,
        )

    # -- state -------------------------------------------------------------------------------------

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    @property
    def log_start_offset(self) -> int:
        return self._log_start_offset

    @property
    def log_end_offset(self) -> int:
        return self._leo

    @property
    def high_watermark(self) -> int:
        return self._hw

    @property
    def recovery_point(self) -> int:
        return self._recovery_point

    @property
    def last_flush_time_ms(self) -> int:
        return self._last_flush_ms

    @property
    def unflushed_messages(self) -> int:
        return self._leo - self._recovery_point

    @property
    def size(self) -> int:
        """Bytes in all segments."""
        return sum(s.size for s in self._segments)

    @property
    def num_segments(self) -> int:
        return len(self._segments)

    @property
    def segments(self) -> list[LogSegment]:
        """A copy of the segment list, oldest first."""
        return list(self._segments)

    @property
    def active_segment(self) -> LogSegment:
        return self._segments[-1]

    @property
    def latest_epoch(self) -> int | None:
        return self.leader_epoch_cache.latest_epoch

    @property
    def closed(self) -> bool:
        return self._closed

    def __repr__(self) -> str:
        return (
            f"Log({self.topic}-{self.partition}, start={self._log_start_offset}, end={self._leo}, "
            f"hw={self._hw}, segments={len(self._segments)})"
        )

    def _epochs(self) -> LeaderEpochFileCache:
        return self.leader_epoch_cache

    def _now(self, now_ms: int | None) -> int:
        return self._clock() if now_ms is None else now_ms

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"log {self.topic}-{self.partition} is closed")

    def _floor_index(self, offset: int) -> int:
        return bisect.bisect_right(self._bases, offset) - 1

    # -- configuration -------------------------------------------------------------------------------

    def update_config(self, config: LogConfig) -> None:
        """Apply a new topic config (index settings of the active segment follow at once)."""
        with self._lock:
            self.config = config
            self._segments[-1].update_config(config.index_interval_bytes, config.segment_index_bytes)

    # -- append ------------------------------------------------------------------------------------

    def _analyze(
        self, buf: Buffer, origin: AppendOrigin
    ) -> list[tuple[int, BatchHeader]]:
        """Kafka's ``analyzeAndValidateRecords`` + ``LogValidator.validateBatch`` header checks."""
        config = self.config
        batches: list[tuple[int, BatchHeader]] = []
        tp = f"{self.topic}-{self.partition}"
        for pos, header in iter_batches(buf):
            if origin is AppendOrigin.CLIENT and header.base_offset != 0:
                raise InvalidRecordError(
                    f"The baseOffset of the record batch in the append to {tp} should be 0, "
                    f"but it is {header.base_offset}"
                )
            if header.size > config.max_message_bytes:
                raise RecordTooLargeError(
                    f"The record batch size in the append to {tp} is {header.size} bytes which exceeds "
                    f"the maximum configured value of {config.max_message_bytes}."
                )
            verify_crc(buf, pos, header)
            if origin is AppendOrigin.CLIENT:
                validate_client_batch(header)
            elif header.records_count <= 0 or header.last_offset_delta < 0:
                raise InvalidRecordError(
                    f"invalid batch in the append to {tp}: {header.records_count} records, "
                    f"last offset delta {header.last_offset_delta}"
                )
            batches.append((pos, header))
        return batches

    def _validate_records(
        self, buf: Buffer, batches: Sequence[tuple[int, BatchHeader]], now_ms: int
    ) -> None:
        """Record-level checks Kafka makes; only run when configured (they decode every record)."""
        config = self.config
        check_time = not config.log_append_time and (
            config.message_timestamp_before_max_ms != LONG_MAX or config.message_timestamp_after_max_ms != LONG_MAX
        )
        check_keys = config.compact
        if not (check_time or check_keys):
            return
        earliest = now_ms - config.message_timestamp_before_max_ms
        latest = now_ms + config.message_timestamp_after_max_ms
        tp = f"{self.topic}-{self.partition}"
        for pos, header in batches:
            if header.is_control:
                continue
            for record in iter_records(buf, pos, verify=False):
                if check_keys and record.key is None:
                    raise InvalidRecordError(f"Compacted topic cannot accept message without key in topic partition {tp}.")
                if check_time and record.timestamp != -1:
                    if record.timestamp < earliest:
                        raise InvalidTimestampError(
                            f"Timestamp {record.timestamp} of message with offset {record.offset} is before the "
                            f"time {config.message_timestamp_before_max_ms} ms from the broker time {now_ms}"
                        )
                    if record.timestamp > latest:
                        raise InvalidTimestampError(
                            f"Timestamp {record.timestamp} of message with offset {record.offset} is after the "
                            f"time {config.message_timestamp_after_max_ms} ms from the broker time {now_ms}"
                        )

    def append_as_leader(
        self,
        records: Buffer,
        leader_epoch: int,
        now_ms: int | None = None,
        *,
        origin: AppendOrigin = AppendOrigin.CLIENT,
        before_append: Callable[[list[BatchHeader]], None] | None = None,
    ) -> AppendInfo:
        """Validate, assign offsets to and append a records blob; see the module docstring.

        ``before_append`` runs under the log lock after validation and before offsets are
        assigned (the headers still carry the client's offsets); raising aborts the append with
        nothing written — the hook for idempotent-producer checks.
        """
        now = self._now(now_ms)
        buf = _writable(records)
        batches = self._analyze(buf, origin)
        if not batches:
            return AppendInfo(-1, -1, -1, -1, -1, self._log_start_offset, 0, 0)
        total = len(buf)
        config = self.config
        if total > config.segment_bytes:
            raise RecordBatchTooLargeError(
                f"Message batch size is {total} bytes in append to partition {self.topic}-{self.partition} "
                f"which exceeds the maximum configured segment size of {config.segment_bytes}."
            )
        if origin is not AppendOrigin.REPLICATION:
            self._validate_records(buf, batches, now)
        log_append_time = config.log_append_time
        with self._lock:
            self._check_open()
            if before_append is not None:
                before_append([h for _, h in batches])
            first_offset = offset = self._leo
            max_ts = -1
            offset_of_max = -1
            num_records = 0
            final: list[tuple[int, BatchHeader]] = []
            for pos, header in batches:
                set_base_offset(buf, pos, offset)
                set_partition_leader_epoch(buf, pos, leader_epoch)
                if log_append_time:
                    set_log_append_time(buf, pos, now)
                elif header.timestamp_type != TIMESTAMP_TYPE_CREATE_TIME:
                    set_max_timestamp(buf, pos, TIMESTAMP_TYPE_CREATE_TIME, header.max_timestamp)
                written = read_batch_header(buf, pos)
                last = offset + header.last_offset_delta
                if written.max_timestamp > max_ts:
                    max_ts = written.max_timestamp
                    offset_of_max = last
                num_records += header.records_count
                final.append((pos, written))
                offset = last + 1
            last_offset = offset - 1
            rolled = self._append_locked(buf, final, first_offset, last_offset, max_ts, offset_of_max, now)
            if leader_epoch >= 0:
                self._epochs().assign(leader_epoch, first_offset)
            return AppendInfo(
                first_offset,
                last_offset,
                max_ts,
                offset_of_max,
                now if log_append_time else -1,
                self._log_start_offset,
                num_records,
                total,
                [h for _, h in final],
                rolled,
            )

    def append_as_follower(self, records: Buffer, now_ms: int | None = None) -> AppendInfo:
        """Append a leader's batches with their offsets and epochs unchanged.

        A Fetch response may end inside a batch (the leader cuts at the fetch size); that
        partial batch is not appended, the next fetch starts at it. Raises
        ``CorruptRecordError`` on a bad CRC or framing, :class:`RecordTooLargeError`,
        :class:`OffsetsOutOfOrderError` if the batches' offsets do not increase, and
        :class:`UnexpectedAppendOffsetError` if the first offset is below the log end offset.
        """
        now = self._now(now_ms)
        config = self.config
        batches: list[tuple[int, BatchHeader]] = []
        prev_last = -1
        max_ts = -1
        offset_of_max = -1
        num_records = 0
        tp = f"{self.topic}-{self.partition}"
        valid_end = 0
        for pos, header in iter_batches(records, verify=True, allow_partial_tail=True):
            valid_end = pos + header.size
            if header.size > config.max_message_bytes:
                raise RecordTooLargeError(
                    f"The record batch size in the append to {tp} is {header.size} bytes which exceeds "
                    f"the maximum configured value of {config.max_message_bytes}."
                )
            last = header.base_offset + header.last_offset_delta
            if header.last_offset_delta < 0 or last <= prev_last or header.base_offset <= prev_last:
                raise OffsetsOutOfOrderError(f"Out of order offsets found in append to {tp}: batch at {header.base_offset}")
            prev_last = last
            if header.max_timestamp > max_ts:
                max_ts = header.max_timestamp
                offset_of_max = last
            num_records += header.records_count
            batches.append((pos, header))
        if not batches:
            return AppendInfo(-1, -1, -1, -1, -1, self._log_start_offset, 0, 0)
        if valid_end < len(records):
            records = memoryview(records)[:valid_end]
        total = len(records)
        if total > config.segment_bytes:
            raise RecordBatchTooLargeError(
                f"Message batch size is {total} bytes in append to partition {tp} which exceeds the "
                f"maximum configured segment size of {config.segment_bytes}."
            )
        first_offset = batches[0][1].base_offset
        with self._lock:
            self._check_open()
            if first_offset < self._leo:
                raise UnexpectedAppendOffsetError(
                    f"Unexpected offset in append to {tp}. First offset {first_offset} is less than the next "
                    f"offset {self._leo}.",
                    first_offset,
                    prev_last,
                )
            rolled = self._append_locked(records, batches, first_offset, prev_last, max_ts, offset_of_max, now)
            cache = self._epochs()
            for _, header in batches:
                epoch = header.partition_leader_epoch
                if epoch >= 0:
                    latest = cache.latest_epoch
                    if latest is None or epoch > latest:
                        cache.assign(epoch, header.base_offset)
            return AppendInfo(
                first_offset,
                prev_last,
                max_ts,
                offset_of_max,
                -1,
                self._log_start_offset,
                num_records,
                total,
                [h for _, h in batches],
                rolled,
            )

    def _append_locked(
        self,
        buf: Buffer,
        batches: Sequence[tuple[int, BatchHeader]],
        first_offset: int,
        last_offset: int,
        max_ts: int,
        offset_of_max: int,
        now: int,
    ) -> bool:
        segment = self._segments[-1]
        rolled = False
        params = RollParams(
            max_segment_ms=self.config.segment_ms,
            max_segment_bytes=self.config.segment_bytes,
            max_timestamp_in_messages=max_ts,
            max_offset_in_messages=last_offset,
            messages_size=len(buf),
            now=now,
        )
        if segment.should_roll(params):
            segment = self._roll_locked(first_offset, now)
            rolled = True
        segment.append(last_offset, max_ts, offset_of_max, buf, batches)
        self._leo = last_offset + 1
        if self._leo - self._recovery_point >= self.config.flush_messages:
            self._flush_locked(self._leo, now)
        return rolled

    # -- rolling -------------------------------------------------------------------------------------

    def roll(self, expected_next_offset: int | None = None, now_ms: int | None = None) -> LogSegment:
        """Start a new active segment at ``max(expected_next_offset, log end offset)``."""
        with self._lock:
            self._check_open()
            return self._roll_locked(expected_next_offset, self._now(now_ms))

    def _roll_locked(self, expected_next_offset: int | None, now: int) -> LogSegment:
        new_offset = max(expected_next_offset or 0, self._leo)
        active = self._segments[-1]
        if active.base_offset == new_offset:
            if active.size != 0:
                raise ValueError(f"cannot roll {self}: segment {new_offset} already exists and is not empty")
            # an empty active segment at the same offset is replaced (resets its age and jitter)
            self._segments.pop()
            self._bases.pop()
            active.delete_files()
        else:
            if new_offset < active.base_offset:
                raise ValueError(f"cannot roll {self} to {new_offset} below the active segment")
            active.on_become_inactive()
        segment = create_segment(self.dir, new_offset, self.config, now, self._file_cache, self._lock)
        self._segments.append(segment)
        self._bases.append(new_offset)
        self._pending_flush_offset = max(self._pending_flush_offset, new_offset)
        callback = self.on_roll
        if callback is not None:
            written = callback(new_offset)
            if written is not None:
                self._unsynced_files.append(written)
        return segment

    # -- reading -------------------------------------------------------------------------------------

    def _position_of(self, offset: int) -> tuple[int, int]:
        """(segment base offset, byte position) where the batch containing ``offset`` starts."""
        if offset >= self._leo:
            active = self._segments[-1]
            return active.base_offset, active.size
        if offset == self._hw and self._hw_position is not None:
            return self._hw_position
        i = max(self._floor_index(offset), 0)
        result: tuple[int, int] | None = None
        while i < len(self._segments):
            segment = self._segments[i]
            found = segment.translate_offset(offset)
            if found is not None:
                result = (segment.base_offset, found.position)
                break
            i += 1
        if result is None:
            active = self._segments[-1]
            result = (active.base_offset, active.size)
        if offset == self._hw:
            self._hw_position = result
        return result

    def read(
        self,
        offset: int,
        max_bytes: int,
        max_offset: int | None = None,
        min_one_message: bool = True,
    ) -> FetchDataInfo:
        """Records from the batch containing ``offset``: at most ``max_bytes`` (but one whole batch
        with ``min_one_message``), below ``max_offset`` (default the log end offset).

        ``OffsetOutOfRangeError`` unless ``log_start_offset <= offset <= log_end_offset``.
        """
        with self._lock:
            self._check_open()
            leo = self._leo
            if offset < self._log_start_offset or offset > leo:
                raise OffsetOutOfRangeError(
                    f"Received request for offset {offset} for partition {self.topic}-{self.partition}, "
                    f"but we only have log segments in the range {self._log_start_offset} to {leo}."
                )
            bound = leo if max_offset is None else min(max_offset, leo)
            if offset >= bound:
                return self._empty_fetch(offset)
            bound_base, bound_position = self._position_of(bound)
            i = max(self._floor_index(offset), 0)
            while i < len(self._segments):
                segment = self._segments[i]
                if segment.base_offset < bound_base:
                    max_position = segment.size
                elif segment.base_offset == bound_base:
                    max_position = bound_position
                else:
                    break
                got = segment.read(offset, max_bytes, max_position, min_one_message)
                if got is not None:
                    return FetchDataInfo(
                        got.records,
                        offset,
                        self._hw,
                        self._log_start_offset,
                        leo,
                        got.first_entry_incomplete,
                    )
                i += 1
            return self._empty_fetch(offset)

    def _empty_fetch(self, offset: int) -> FetchDataInfo:
        return FetchDataInfo(None, offset, self._hw, self._log_start_offset, self._leo)

    def _segments_from(self, offset: int) -> list[LogSegment]:
        with self._lock:
            i = max(self._floor_index(offset), 0)
            return self._segments[i:]

    def batch_headers(self, start_offset: int | None = None, end_offset: int | None = None) -> Iterator[BatchHeader]:
        """Headers of the batches from the one containing ``start_offset`` (default: the log
        start) up to the last one starting below ``end_offset`` (default: the log end)."""
        start = self._log_start_offset if start_offset is None else start_offset
        for segment in self._segments_from(start):
            with self._lock:  # index lookups must not race an open-file-cache eviction
                found = segment.translate_offset(start)
                if found is None:
                    continue
                headers = segment.batches(found.position)
            for _, header in headers:
                if end_offset is not None and header.base_offset >= end_offset:
                    return
                yield header

    def batches(
        self, start_offset: int | None = None, end_offset: int | None = None
    ) -> Iterator[tuple[BatchHeader, bytes]]:
        """``(header, batch bytes)`` like :meth:`batch_headers`, for callers that decode records."""
        start = self._log_start_offset if start_offset is None else start_offset
        for segment in self._segments_from(start):
            with self._lock:
                found = segment.translate_offset(start)
                if found is None:
                    continue
                batches = segment.batches_with_data(found.position)
            for _, header, data in batches:
                if end_offset is not None and header.base_offset >= end_offset:
                    return
                yield header, bytes(data)

    # -- offsets by time and epoch -----------------------------------------------------------------

    def offset_for_timestamp(self, timestamp: int) -> TimestampAndOffset | None:
        """ListOffsets: the earliest offset whose record timestamp is >= ``timestamp``.

        Special values: -2 earliest and -4 earliest local (log start offset), -1 latest (log end
        offset; the caller substitutes the high watermark or last stable offset), -3 the record
        with the largest timestamp, -5 latest tiered (``None``: no tiered storage).  ``None`` when
        no record qualifies.
        """
        with self._lock:
            self._check_open()
            cache = self._epochs()
            if timestamp in (EARLIEST_TIMESTAMP, EARLIEST_LOCAL_TIMESTAMP):
                earliest = cache.earliest_entry
                epoch = earliest.epoch if earliest is not None and earliest.start_offset <= self._log_start_offset else -1
                return TimestampAndOffset(-1, self._log_start_offset, epoch)
            if timestamp == LATEST_TIMESTAMP:
                latest = cache.latest_epoch
                return TimestampAndOffset(-1, self._leo, -1 if latest is None else latest)
            if timestamp == MAX_TIMESTAMP:
                return self._max_timestamp_locked()
            if timestamp < 0:
                return None
            for segment in self._segments:
                if segment.max_timestamp_so_far < timestamp:
                    continue
                found = segment.find_offset_by_timestamp(timestamp, self._log_start_offset)
                if found is not None:
                    return found
            return None

    def max_timestamp_and_offset(self) -> TimestampAndOffset | None:
        """The record with the largest timestamp, first occurrence (ListOffsets -3)."""
        with self._lock:
            return self._max_timestamp_locked()

    def epoch_for_offset(self, offset: int) -> int:
        """The leader epoch the record at ``offset`` was written in; -1 if unknown."""
        with self._lock:
            epoch = self._epochs().epoch_for_offset(offset)
            return -1 if epoch is None else epoch

    def _max_timestamp_locked(self) -> TimestampAndOffset | None:
        best: LogSegment | None = None
        for segment in self._segments:
            if best is None or segment.max_timestamp_so_far > best.max_timestamp_so_far:
                best = segment
        if best is None or best.max_timestamp_so_far < 0:
            return None
        return best.find_max_timestamp()

    def assign_leader_epoch(self, epoch: int, start_offset: int | None = None) -> None:
        """Record that ``epoch`` starts at ``start_offset`` (default: the log end offset)."""
        with self._lock:
            self._epochs().assign(epoch, self._leo if start_offset is None else start_offset)

    def end_offset_for_epoch(self, epoch: int) -> tuple[int, int]:
        """OffsetForLeaderEpoch: ``(epoch, end offset)``, ``(-1, -1)`` if undefined."""
        with self._lock:
            return self._epochs().end_offset_for(epoch, self._leo)

    # -- high watermark, log start offset --------------------------------------------------------------

    def update_high_watermark(self, offset: int) -> int:
        """Set the high watermark, clamped to ``[log_start_offset, log_end_offset]``."""
        with self._lock:
            hw = min(max(offset, self._log_start_offset), self._leo)
            if hw != self._hw:
                self._hw = hw
                self._hw_position = None
            return hw

    def maybe_increment_high_watermark(self, offset: int) -> bool:
        """Advance the high watermark (never backwards, never past the LEO); True if it moved."""
        with self._lock:
            if offset > self._leo:
                raise ValueError(f"high watermark {offset} is above the log end offset {self._leo}")
            if offset <= self._hw:
                return False
            self._hw = offset
            self._hw_position = None
            return True

    def maybe_increment_log_start_offset(self, new_log_start_offset: int) -> int:
        """Advance the log start offset (DeleteRecords, retention); returns the new value.

        ``OffsetOutOfRangeError`` if it would pass the high watermark.  Segments wholly below
        it are deleted by the next :meth:`delete_old_segments`.
        """
        with self._lock:
            self._check_open()
            if new_log_start_offset > self._hw:
                raise OffsetOutOfRangeError(
                    f"Cannot increment the log start offset to {new_log_start_offset} of partition "
                    f"{self.topic}-{self.partition} since it is larger than the high watermark {self._hw}"
                )
            if new_log_start_offset > self._log_start_offset:
                self._set_log_start_offset(new_log_start_offset)
            return self._log_start_offset

    delete_records = maybe_increment_log_start_offset

    def _set_log_start_offset(self, offset: int) -> None:
        self._log_start_offset = offset
        self._epochs().truncate_from_start(offset)
        if self._hw < offset:
            self._hw = offset
            self._hw_position = None
        if self._recovery_point < offset:
            self._recovery_point = offset
        callback = self.on_log_start_offset_change
        if callback is not None:
            callback(offset)

    # -- retention -----------------------------------------------------------------------------------

    def delete_old_segments(self, now_ms: int | None = None) -> int:
        """Kafka's ``deleteOldSegments``: segments below the log start offset, then (with
        ``cleanup.policy=delete``) the oldest while the log exceeds ``retention.bytes``, and those
        whose largest timestamp is older than ``retention.ms``.  Returns segments deleted.

        Only segments wholly below the high watermark qualify, and the walk stops at the first
        that does not; the active segment qualifies too (if it is not empty): a new empty
        segment is rolled first, as in Kafka.
        """
        now = self._now(now_ms)
        with self._lock:
            self._check_open()
            deleted = self._delete_segments_where(
                lambda _seg, nxt: nxt is not None and nxt.base_offset <= self._log_start_offset, now
            )
            if self.config.delete:
                deleted += self._delete_retention_size_breached(now)
                deleted += self._delete_retention_ms_breached(now)
            return deleted

    def _delete_retention_size_breached(self, now: int) -> int:
        retention = self.config.retention_bytes
        size = self.size
        if retention < 0 or size < retention:
            return 0
        diff = size - retention

        def breach(segment: LogSegment, _next: LogSegment | None) -> bool:
            nonlocal diff
            if diff - segment.size >= 0:
                diff -= segment.size
                return True
            return False

        return self._delete_segments_where(breach, now)

    def _delete_retention_ms_breached(self, now: int) -> int:
        retention = self.config.retention_ms
        if retention < 0:
            return 0
        return self._delete_segments_where(lambda seg, _nxt: now - seg.largest_timestamp > retention, now)

    def _delete_segments_where(
        self, predicate: Callable[[LogSegment, LogSegment | None], bool], now: int
    ) -> int:
        deletable: list[LogSegment] = []
        segments = self._segments
        for i, segment in enumerate(segments):
            nxt = segments[i + 1] if i + 1 < len(segments) else None
            upper = nxt.base_offset if nxt is not None else self._leo
            if nxt is None and segment.size == 0:
                break
            if not (self._hw >= upper and predicate(segment, nxt)):
                break
            deletable.append(segment)
        if not deletable:
            return 0
        if len(deletable) == len(segments):
            self._roll_locked(None, now)  # a log always keeps a segment: start an empty one first
        self._remove_segments(deletable, now)
        first_base = self._segments[0].base_offset
        if first_base > self._log_start_offset:
            self._set_log_start_offset(first_base)
        return len(deletable)

    def _remove_segments(self, doomed: Sequence[LogSegment], now: int) -> None:
        """Drop segments from the log and rename their files to ``.deleted`` (removed later)."""
        ids = {id(s) for s in doomed}
        self._segments = [s for s in self._segments if id(s) not in ids]
        self._bases = [s.base_offset for s in self._segments]
        self._hw_position = None
        due = now + self.config.file_delete_delay_ms
        for segment in doomed:
            segment.mark_deleted()
            self._pending_deletes.append((due, segment))

    def purge_deleted_segments(self, now_ms: int | None = None, force: bool = False) -> int:
        """Remove the ``.deleted`` files whose ``file.delete.delay.ms`` has passed."""
        now = self._now(now_ms)
        with self._lock:
            keep: list[tuple[int, LogSegment]] = []
            removed = 0
            for due, segment in self._pending_deletes:
                if force or due <= now:
                    segment.delete_files()
                    removed += 1
                else:
                    keep.append((due, segment))
            self._pending_deletes = keep
            return removed

    @property
    def pending_deletes(self) -> int:
        return len(self._pending_deletes)

    # -- truncation ------------------------------------------------------------------------------------

    def truncate_to(self, target_offset: int) -> bool:
        """Remove everything at and above ``target_offset`` (a follower diverged); True if changed.

        Truncation removes whole batches: if ``target_offset`` falls inside a batch the whole
        batch goes and the log end offset becomes that batch's base offset.
        """
        if target_offset < 0:
            raise ValueError(f"cannot truncate partition {self.topic}-{self.partition} to a negative offset")
        with self._lock:
            self._check_open()
            if target_offset >= self._leo:
                # nothing to cut, but an epoch this replica started as leader without appending
                # anything (at the log end) conflicts with the new leader's: drop it (Kafka does)
                self._epochs().truncate_from_end(self._leo)
                return False
            if self._segments[0].base_offset > target_offset:
                self._truncate_fully_locked(target_offset)
                return True
            now = self._clock()
            doomed = [s for s in self._segments if s.base_offset > target_offset]
            if doomed:
                self._remove_segments(doomed, now)
            active = self._segments[-1]
            active.truncate_to(target_offset)
            self._leo = active.read_next_offset()
            self._epochs().truncate_from_end(self._leo)
            self._log_start_offset = min(self._log_start_offset, self._leo)
            self._truncations += 1
            self._recovery_point = min(self._recovery_point, self._leo)
            self._pending_flush_offset = min(self._pending_flush_offset, self._leo)
            if self._hw > self._leo:
                self._hw = self._leo
            self._hw_position = None
            return True

    def truncate_fully_and_start_at(self, new_offset: int) -> None:
        """Delete every segment and restart the log empty at ``new_offset``."""
        with self._lock:
            self._check_open()
            self._truncate_fully_locked(new_offset)

    def _truncate_fully_locked(self, new_offset: int) -> None:
        now = self._clock()
        doomed = list(self._segments)
        self._segments = []
        self._bases = []
        due = now + self.config.file_delete_delay_ms
        for segment in doomed:
            segment.mark_deleted()
            self._pending_deletes.append((due, segment))
        segment = create_segment(self.dir, new_offset, self.config, now, self._file_cache, self._lock)
        self._segments = [segment]
        self._bases = [new_offset]
        self._leo = new_offset
        self._epochs().clear()
        self._log_start_offset = new_offset
        self._truncations += 1
        self._recovery_point = new_offset
        self._pending_flush_offset = new_offset
        self._hw = new_offset
        self._hw_position = None
        callback = self.on_log_start_offset_change
        if callback is not None:
            callback(new_offset)

    # -- durability ------------------------------------------------------------------------------------

    def flush(self, up_to: int | None = None, now_ms: int | None = None) -> None:
        """fsync every segment holding offsets in ``[recovery_point, up_to)`` (default: the LEO)
        and advance the recovery point to ``up_to``."""
        with self._lock:
            self._check_open()
            offset = self._leo if up_to is None else min(up_to, self._leo)
            self._flush_locked(offset, self._now(now_ms))

    def plan_flush(self, now_ms: int | None = None, *, scheduled: bool = False) -> PendingFlush | None:
        """The fsyncs due now, to be run outside the lock (see :class:`PendingFlush`): segments
        rolled since the last flush (Kafka's background flush after a roll) and, when
        ``scheduled`` (``log.flush.scheduler.interval.ms``), the whole log if ``flush.ms`` has
        passed since its last flush. None if nothing is due."""
        now = self._now(now_ms)
        with self._lock:
            if self._closed:
                return None
            offset = self._recovery_point
            if self._pending_flush_offset > offset:
                offset = min(self._pending_flush_offset, self._leo)
            if scheduled and now - self._last_flush_ms >= self.config.flush_ms:
                offset = self._leo
            if offset <= self._recovery_point:
                return None
            return self._plan_locked(offset, now)

    def _plan_locked(self, offset: int, now: int) -> PendingFlush:
        """The fsyncs that make ``[recovery point, offset)`` durable (the directory too when a
        segment in that range was created since the last flush), with the files the rolls
        since the last plan wrote."""
        segments = []
        new_segments = False
        i = max(self._floor_index(self._recovery_point), 0)
        while i < len(self._segments) and self._segments[i].base_offset < offset:
            segment = self._segments[i]
            targets = segment.sync_targets()
            if targets is not None:
                segments.append(targets)
            new_segments = new_segments or segment.base_offset >= self._recovery_point
            i += 1
        files, self._unsynced_files = self._unsynced_files, []
        directory = self.dir if new_segments or files else None
        return PendingFlush(self, offset, now, self._truncations, segments, files, directory)

    def _commit_flush(self, flush: PendingFlush) -> None:
        with self._lock:
            if self._closed or flush.generation != self._truncations:
                return
            if flush.offset > self._recovery_point:
                self._recovery_point = min(flush.offset, self._leo)
                self._last_flush_ms = flush.now

    def _flush_locked(self, offset: int, now: int) -> None:
        if offset <= self._recovery_point:
            return
        self._plan_locked(offset, now).run()  # under the lock: an explicit or flush.messages flush
        self._recovery_point = offset
        self._last_flush_ms = now

    # -- lifecycle -------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close every segment (active indexes trimmed, max timestamp recorded); no flush."""
        with self._lock:
            if self._closed:
                return
            for segment in self._segments:
                segment.close()
            self._closed = True

    def delete(self) -> None:
        """Close and remove the whole partition directory."""
        with self._lock:
            self.close()
            for _, segment in self._pending_deletes:
                segment.close()
            self._pending_deletes = []
            shutil.rmtree(self.dir, ignore_errors=True)

    def rename_dir(self, new_dir: Path) -> None:
        """Move a closed log's directory (used for ``-delete`` renames)."""
        with self._lock:
            if not self._closed:
                raise ValueError("close the log before renaming its directory")
            os.replace(self.dir, new_dir)
            self.dir = new_dir
            with contextlib.suppress(OSError):
                fsync_path(new_dir.parent)

