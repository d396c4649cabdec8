"""Opening a partition directory: leftover files, missing indexes, crash recovery (``LogLoader``).

Directory layout (Kafka's): ``<log dir>/<topic>-<partition>/`` holding, per segment,
``<base offset, 20 digits>.log``, ``.index``, ``.timeindex`` (and ``.txnindex`` if some layer
writes one), plus ``leader-epoch-checkpoint`` and files owned by other layers (producer
``.snapshot`` files, ``partition.metadata``), which the loader leaves alone.

Load sequence (Kafka 3.9's order):

1. ``*.deleted`` files (segments already removed from a log before a crash) are deleted;
   ``*.cleaned`` files (an interrupted compaction's output) are deleted; ``*.swap`` files of
   offsets at or above the smallest ``.cleaned`` offset are deleted (that compaction never
   finished), and so are index ``.swap`` files (indexes are rebuilt); a stale
   ``leader-epoch-checkpoint.tmp`` is deleted.
2. Index files without a ``.log`` file are deleted.  Every ``.log`` file becomes a segment whose
   size is the file's size; nothing is opened or mapped yet.
3. Each remaining ``.log.swap`` (a completed compaction whose swap-in was interrupted) is
   recovered, the segments it replaces (base offsets in ``[swap base, swap next offset)``) are
   deleted, and it is renamed into place.
4. A segment whose ``.index`` or ``.timeindex`` is missing is recovered (indexes rebuilt).
5. Without a clean shutdown, every segment from the one containing the recovery point on is
   recovered batch by batch (:meth:`LogSegment.recover`: CRC, framing, offsets); at the first
   segment that had to be truncated, all later segments are deleted — nothing after a torn or
   corrupt batch is ever served.  Leader epochs seen in the recovered batches are added to the
   epoch cache.
6. With no segment left, an empty one is created at the log start offset; if the log ends below
   the checkpointed log start offset (segments deleted behind our back), every segment is
   deleted and the log restarts empty at the log start offset.
7. The last segment becomes active (indexes mapped writable and preallocated).  The log start
   offset is ``max(checkpoint, first segment's base offset)``; the recovery point is the log end
   offset after a clean shutdown, else ``min(checkpoint, log end offset)``; the epoch cache is
   truncated to ``[log start, log end)``.

Inactive segments whose indexes exist are *not* checked at load: their indexes are mapped and
sanity-checked at first use (a failure rebuilds them then).

Recovery does not reject batches larger than ``max.message.bytes``: that limit may have been
lowered after the data was written, and truncating valid data over it would lose records.  The
size bounds enforced are the batch format's (``batchLength >= 49``) and the file's end.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from storage.config import LogConfig
from storage.file_cache import OpenFileCache
from storage.leader_epoch import LEADER_EPOCH_CHECKPOINT_FILE, LeaderEpochFileCache
from storage.offset_index import INDEX_SUFFIX
from storage.segment import (
    CLEANED_SUFFIX,
    DELETED_SUFFIX,
    LOG_SUFFIX,
    SWAP_SUFFIX,
    TXN_INDEX_SUFFIX,
    LogSegment,
    parse_base_offset,
    random_jitter,
)
from storage.time_index import TIME_INDEX_SUFFIX

__all__ = ["LoadedLog", "load_segments"]

_log = logging.getLogger(__name__)
_INDEX_SUFFIXES = (INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX)


@dataclass(slots=True)
class LoadedLog:
    """What :func:`load_segments` found: sorted segments (last one active) and the offsets."""

    segments: list[LogSegment]
    log_start_offset: int
    recovery_point: int
    log_end_offset: int
    recovered_segments: list[int] = field(default_factory=list)  # base offsets that were recovered
    truncated_bytes: int = 0
    deleted_segments: list[int] = field(default_factory=list)


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _new_segment(
    directory: Path,
    base_offset: int,
    config: LogConfig,
    now_ms: int,
    file_cache: OpenFileCache | None,
    lock: threading.RLock,
    *,
    size: int = 0,
    suffix: str = "",
) -> LogSegment:
    return LogSegment(
        directory,
        base_offset,
        index_interval_bytes=config.index_interval_bytes,
        max_index_size=config.segment_index_bytes,
        roll_jitter_ms=random_jitter(config.segment_jitter_ms, config.segment_ms),
        created_ms=now_ms,
        size=size,
        active=False,
        file_cache=file_cache,
        lock=lock,
        suffix=suffix,
    )


def create_segment(
    directory: Path,
    base_offset: int,
    config: LogConfig,
    now_ms: int,
    file_cache: OpenFileCache | None,
    lock: threading.RLock,
) -> LogSegment:
    """A new empty active segment with the log's settings."""
    return LogSegment.create(
        directory,
        base_offset,
        index_interval_bytes=config.index_interval_bytes,
        max_index_size=config.segment_index_bytes,
        roll_jitter_ms=random_jitter(config.segment_jitter_ms, config.segment_ms),
        now_ms=now_ms,
        file_cache=file_cache,
        lock=lock,
    )


def load_segments(
    directory: Path,
    config: LogConfig,
    *,
    now_ms: int,
    recovery_point: int,
    log_start_offset: int,
    clean_shutdown: bool,
    leader_epoch_cache: LeaderEpochFileCache,
    file_cache: OpenFileCache | None,
    lock: threading.RLock,
) -> LoadedLog:
    """Load (and if needed recover) the segments of one partition directory; see module doc."""
    directory.mkdir(parents=True, exist_ok=True)
    result = LoadedLog([], log_start_offset, recovery_point, log_start_offset)

    # 1. leftovers of deletions, compactions and atomic writes
    names = os.listdir(directory)
    min_cleaned = 2**63 - 1
    swaps: list[str] = []
    for name in names:
        path = directory / name
        if name.endswith(DELETED_SUFFIX):
            _unlink(path)
        elif name.endswith(CLEANED_SUFFIX):
            base = parse_base_offset(name)
            if base is not None:
                min_cleaned = min(min_cleaned, base)
            _unlink(path)
        elif name.endswith(SWAP_SUFFIX):
            swaps.append(name)
        elif name == LEADER_EPOCH_CHECKPOINT_FILE + ".tmp":
            _unlink(path)
    swap_logs: list[int] = []
    for name in swaps:
        base = parse_base_offset(name)
        if base is not None and base < min_cleaned and name.endswith(LOG_SUFFIX + SWAP_SUFFIX):
            swap_logs.append(base)
        else:
            _unlink(directory / name)

    # 2. segments from the .log files; orphaned index files go
    names = os.listdir(directory)
    log_bases: dict[int, int] = {}
    index_files: set[str] = set()
    for name in names:
        base = parse_base_offset(name)
        if base is None:
            continue
        if name.endswith(LOG_SUFFIX) and name == f"{base:020d}{LOG_SUFFIX}":
            log_bases[base] = os.stat(directory / name).st_size
        elif name.endswith(_INDEX_SUFFIXES):
            index_files.add(name)
    for name in index_files:
        base = parse_base_offset(name)
        if base not in log_bases:
            _log.info("deleting orphaned index file %s", directory / name)
            _unlink(directory / name)
    segments = {
        base: _new_segment(directory, base, config, now_ms, file_cache, lock, size=size)
        for base, size in log_bases.items()
    }

    # 3. complete interrupted swaps
    for base in sorted(swap_logs):
        swap = _new_segment(directory, base, config, now_ms, file_cache, lock, suffix=SWAP_SUFFIX)
        swap.recover()
        next_offset = swap.read_next_offset()
        for old_base in [b for b in segments if base <= b < next_offset]:
            segments.pop(old_base).delete_files()
        swap.change_file_suffixes(SWAP_SUFFIX, "")
        segments[base] = swap

    ordered = [segments[b] for b in sorted(segments)]

    # segments from the one containing the recovery point on are recovered after a crash (5.)
    recover_from = len(ordered)
    if not clean_shutdown and ordered:
        recover_from = 0
        for i, segment in enumerate(ordered):
            if segment.base_offset <= recovery_point:
                recover_from = i

    # 4. missing indexes
    for segment in ordered[:recover_from]:
        index_name = f"{segment.base_offset:020d}"
        if index_name + INDEX_SUFFIX not in index_files or index_name + TIME_INDEX_SUFFIX not in index_files:
            _log.info("rebuilding missing indexes of %s", segment.log_path)
            result.truncated_bytes += segment.recover()
            result.recovered_segments.append(segment.base_offset)

    # 5. recovery after an unclean shutdown
    for i in range(recover_from, len(ordered)):
        segment = ordered[i]
        truncated = segment.recover(leader_epoch_cache=leader_epoch_cache)
        result.recovered_segments.append(segment.base_offset)
        result.truncated_bytes += truncated
        if truncated > 0:
            _log.warning("truncated %d invalid bytes at the end of %s during recovery", truncated, segment.log_path)
            for later in ordered[i + 1 :]:
                later.delete_files()
                result.deleted_segments.append(later.base_offset)
            del ordered[i + 1 :]
            break

    # 6. an empty log, or one that ends before its start offset
    if ordered:
        end = ordered[-1].read_next_offset()
        if end < log_start_offset:
            _log.warning(
                "deleting all segments of %s: the log end offset %d is below the log start offset %d",
                directory,
                end,
                log_start_offset,
            )
            for segment in ordered:
                segment.delete_files()
                result.deleted_segments.append(segment.base_offset)
            ordered = []
            leader_epoch_cache.clear()
    if not ordered:
        ordered = [create_segment(directory, log_start_offset, config, now_ms, file_cache, lock)]

    # 7. the active segment and the offsets
    active = ordered[-1]
    active.make_active()
    end = active.read_next_offset()
    result.segments = ordered
    result.log_end_offset = end
    result.log_start_offset = max(log_start_offset, ordered[0].base_offset)
    result.recovery_point = end if clean_shutdown else min(recovery_point, end)
    leader_epoch_cache.truncate_from_end(end)
    leader_epoch_cache.truncate_from_start(result.log_start_offset)
    return result
