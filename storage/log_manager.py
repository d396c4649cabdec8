"""All partition logs of a broker across its log directories (Kafka's ``LogManager``).

Directory layout of each log dir (``log.dirs``)::

    .lock                               held (flock) while a LogManager uses the dir
    .kafka_cleanshutdown                present only between a clean close and the next start
    recovery-point-offset-checkpoint    per partition: offsets below are fsynced
    log-start-offset-checkpoint         per partition whose log start is inside its first segment
    replication-offset-checkpoint       per partition: the high watermark
    <topic>-<partition>/                one Log (see storage.log)
    <topic>-<partition>.<uuid>-delete/  a deleted partition not yet removed (by the next tick, or at start)

The three checkpoint files use Kafka's ``OffsetCheckpointFile`` format
(:mod:`storage.checkpoint`) and are replaced atomically.

Clean-shutdown marker: one ``.kafka_cleanshutdown`` per log dir, Kafka's name and content
(``{"version":0,"brokerEpoch":-1}``).  :meth:`LogManager.close` flushes every log, closes it,
writes the checkpoints (recovery points now equal the log end offsets) and then the marker.  At
start the marker is read and *deleted* before any log is used, so a crash at any later time
means an unclean start: the logs of that dir are then recovered from their checkpointed
recovery points (from offset 0 where a checkpoint is missing or unreadable).

Scheduling is the caller's: storage starts no threads.  The broker calls
:meth:`LogManager.tick_io` periodically (every second) on its event loop, runs the returned
:class:`StorageIO` (the fsyncs and checkpoint writes) in a thread of its own and commits it back
on the loop; :meth:`LogManager.tick` does all three at once.  What is due follows Kafka's
intervals: deferred flushes of rolled segments (every tick), ``flush.ms`` flushes
(``log.flush.scheduler.interval.ms``), retention (``log.retention.check.interval.ms``, then
``.deleted`` files older than ``file.delete.delay.ms`` are removed), the recovery-point and
log-start-offset checkpoints (``log.flush.offset.checkpoint.interval.ms``,
``log.flush.start.offset.checkpoint.interval.ms``) and the high-watermark checkpoint
(``replica.high.watermark.checkpoint.interval.ms``).  Retention and the checkpoints are also
public methods (:meth:`LogManager.cleanup_logs`, :meth:`LogManager.checkpoint`).

Open files: all logs share one :class:`~storage.file_cache.OpenFileCache` bounding the
descriptors of inactive segments (``max_open_files``, default 1024 — not a Kafka setting).
Active segments hold 3 descriptors each.  Inactive segments' indexes load lazily, so opening a
log dir with many partitions maps nothing but the active segments' indexes.

Threading: a manager lock guards the map of logs; each log has its own lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from storage.checkpoint import (
    CheckpointFormatError,
    OffsetCheckpointFile,
    TopicPartition,
    fsync_path,
    write_atomically,
)
from storage.clock import Clock, system_clock_ms
from storage.config import LONG_MAX, LogConfig
from storage.file_cache import DEFAULT_MAX_OPEN_FILES, OpenFileCache
from storage.log import Log, PendingFlush, parse_topic_partition, partition_dir_name

__all__ = [
    "CLEAN_SHUTDOWN_FILE",
    "HIGH_WATERMARK_CHECKPOINT_FILE",
    "LOCK_FILE",
    "LOG_START_OFFSET_CHECKPOINT_FILE",
    "RECOVERY_POINT_CHECKPOINT_FILE",
    "LogDirLockedError",
    "LogManager",
    "StorageIO",
]

CLEAN_SHUTDOWN_FILE = ".kafka_cleanshutdown"
LOCK_FILE = ".lock"
RECOVERY_POINT_CHECKPOINT_FILE = "recovery-point-offset-checkpoint"
LOG_START_OFFSET_CHECKPOINT_FILE = "log-start-offset-checkpoint"
HIGH_WATERMARK_CHECKPOINT_FILE = "replication-offset-checkpoint"
DELETE_DIR_SUFFIX = "-delete"
_SKIPPED_DIR_SUFFIXES = (DELETE_DIR_SUFFIX, "-future", "-stray")

_log = logging.getLogger(__name__)


class LogDirLockedError(RuntimeError):
    """Another process (or LogManager) holds the log dir's ``.lock``."""


@dataclass(slots=True)
class _LogDir:
    path: Path
    clean_shutdown: bool
    lock_fd: int
    recovery_points: dict[TopicPartition, int] = field(default_factory=dict)
    log_start_offsets: dict[TopicPartition, int] = field(default_factory=dict)
    high_watermarks: dict[TopicPartition, int] = field(default_factory=dict)

    def checkpoint(self, name: str) -> OffsetCheckpointFile:
        return OffsetCheckpointFile(self.path / name)


def _read_checkpoint(directory: Path, name: str) -> dict[TopicPartition, int]:
    try:
        return OffsetCheckpointFile(directory / name).read()
    except CheckpointFormatError as exc:
        _log.error("ignoring %s: %s", directory / name, exc)
        return {}


@dataclass(slots=True)
class StorageIO:
    """Disk waits a :meth:`LogManager.tick_io` left to the caller: :meth:`run` in any thread (it
    touches no log state; checkpoint writes hold the manager lock, so they never interleave with
    another writer of the same files), then :meth:`commit` where the logs are used."""

    flushes: list[PendingFlush]
    checkpoint_writes: list[tuple[OffsetCheckpointFile, dict[TopicPartition, int]]]
    removals: list[Path]  # deleted partitions' renamed directories
    lock: threading.RLock

    def __bool__(self) -> bool:
        return bool(self.flushes or self.checkpoint_writes or self.removals)

    def run(self) -> None:
        for directory in self.removals:
            shutil.rmtree(directory, ignore_errors=True)
        for flush in self.flushes:
            flush.run()
        if self.checkpoint_writes:
            with self.lock:
                for file, offsets in self.checkpoint_writes:
                    file.write(offsets)

    def commit(self) -> None:
        for flush in self.flushes:
            flush.commit()


class LogManager:
    """Creates, loads, checkpoints, cleans up and closes the partition logs of a broker."""

    def __init__(
        self,
        log_dirs: Sequence[Path | str],
        default_config: LogConfig | None = None,
        *,
        clock: Clock = system_clock_ms,
        config_for: Callable[[str], LogConfig] | None = None,
        max_open_files: int = DEFAULT_MAX_OPEN_FILES,
        retention_check_interval_ms: int = 300_000,
        flush_checkpoint_interval_ms: int = 60_000,
        flush_start_offset_checkpoint_interval_ms: int = 60_000,
        high_watermark_checkpoint_interval_ms: int = 5_000,
        flush_scheduler_interval_ms: int = LONG_MAX,
        load: bool = True,
    ) -> None:
        if not log_dirs:
            raise ValueError("at least one log dir is required")
        self.default_config = default_config or LogConfig()
        self.config_for = config_for
        self._clock = clock
        self.file_cache = OpenFileCache(max_open_files)
        self.retention_check_interval_ms = retention_check_interval_ms
        self.flush_checkpoint_interval_ms = flush_checkpoint_interval_ms
        self.flush_start_offset_checkpoint_interval_ms = flush_start_offset_checkpoint_interval_ms
        self.high_watermark_checkpoint_interval_ms = high_watermark_checkpoint_interval_ms
        self.flush_scheduler_interval_ms = flush_scheduler_interval_ms
        self._lock = threading.RLock()
        self._logs: dict[TopicPartition, Log] = {}
        self._log_dir_of: dict[TopicPartition, Path] = {}
        self._dirs: list[_LogDir] = []
        self._doomed: list[Path] = []  # renamed "-delete" directories the next tick removes
        self._closed = False
        now = clock()
        self._last_run: dict[str, int] = dict.fromkeys(("retention", "flush", "recovery", "start", "hw"), now)
        try:
            for raw in log_dirs:
                self._dirs.append(self._open_dir(Path(raw)))
        except BaseException:
            for d in self._dirs:
                os.close(d.lock_fd)
            raise
        if load:
            self.load_logs()

    @classmethod
    def from_broker_properties(
        cls,
        log_dirs: Sequence[Path | str],
        props: Mapping[str, str],
        **kwargs: object,
    ) -> LogManager:
        """A manager configured from ``server.properties`` keys (defaults as in Kafka 3.9)."""

        def interval(key: str, default: int) -> int:
            raw = props.get(key)
            if raw is None:
                return default
            try:
                value = int(raw.strip())
            except ValueError:
                raise ValueError(f"{key}: invalid value {raw!r}: expected an integer") from None
            if value < 0:
                raise ValueError(f"{key}: invalid value {value}: value must be at least 0")
            return value

        return cls(
            log_dirs,
            LogConfig.from_broker_properties(props),
            retention_check_interval_ms=interval("log.retention.check.interval.ms", 300_000),
            flush_checkpoint_interval_ms=interval("log.flush.offset.checkpoint.interval.ms", 60_000),
            flush_start_offset_checkpoint_interval_ms=interval("log.flush.start.offset.checkpoint.interval.ms", 60_000),
            high_watermark_checkpoint_interval_ms=interval("replica.high.watermark.checkpoint.interval.ms", 5_000),
            flush_scheduler_interval_ms=interval("log.flush.scheduler.interval.ms", LONG_MAX),
            **kwargs,  # type: ignore[arg-type]
        )

    # -- log dirs ------------------------------------------------------------------------------------

    def _open_dir(self, path: Path) -> _LogDir:
        path.mkdir(parents=True, exist_ok=True)
        lock_fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock_fd)
            raise LogDirLockedError(f"log dir {path} is in use by another process or LogManager") from None
        marker = path / CLEAN_SHUTDOWN_FILE
        clean = marker.exists()
        if clean:
            # consumed now: a crash from here on must look unclean at the next start
            os.unlink(marker)
            with contextlib.suppress(OSError):
                fsync_path(path)
        state = _LogDir(
            path,
            clean,
            lock_fd,
            _read_checkpoint(path, RECOVERY_POINT_CHECKPOINT_FILE),
            _read_checkpoint(path, LOG_START_OFFSET_CHECKPOINT_FILE),
            _read_checkpoint(path, HIGH_WATERMARK_CHECKPOINT_FILE),
        )
        for child in path.iterdir():
            if child.is_dir() and child.name.endswith(DELETE_DIR_SUFFIX):
                _log.info("removing deleted partition directory %s", child)
                shutil.rmtree(child, ignore_errors=True)
        return state

    @property
    def log_dirs(self) -> list[Path]:
        return [d.path for d in self._dirs]

    def had_clean_shutdown(self, log_dir: Path | str) -> bool:
        """Whether ``log_dir`` had the clean-shutdown marker at start."""
        return self._dir_state(Path(log_dir)).clean_shutdown

    def _dir_state(self, path: Path) -> _LogDir:
        for d in self._dirs:
            if d.path == path:
                return d
        raise KeyError(f"{path} is not a log dir of this manager")

    # -- loading and creating --------------------------------------------------------------------------

    def _config(self, topic: str, config: LogConfig | None) -> LogConfig:
        if config is not None:
            return config
        if self.config_for is not None:
            return self.config_for(topic)
        return self.default_config

    def _partition_dirs(self, state: _LogDir) -> list[tuple[TopicPartition, Path]]:
        found = []
        for child in sorted(state.path.iterdir()):
            if not child.is_dir() or child.name.endswith(_SKIPPED_DIR_SUFFIXES):
                continue
            try:
                tp = parse_topic_partition(child.name)
            except ValueError:
                continue
            found.append((tp, child))
        return found

    def load_logs(self) -> list[Log]:
        """Open every partition directory found in the log dirs (recovering after a crash)."""
        loaded = []
        with self._lock:
            self._check_open()
            for state in self._dirs:
                for tp, path in self._partition_dirs(state):
                    if tp in self._logs:
                        if self._log_dir_of[tp] != state.path:
                            _log.error("partition %s-%d found in two log dirs; ignoring %s", tp[0], tp[1], path)
                        continue
                    loaded.append(self._load(state, tp, path, self._config(tp[0], None)))
        return loaded

    def _load(self, state: _LogDir, tp: TopicPartition, path: Path, config: LogConfig) -> Log:
        log = Log.open(
            path,
            config,
            recovery_point=state.recovery_points.get(tp, 0),
            log_start_offset=state.log_start_offsets.get(tp, 0),
            high_watermark=state.high_watermarks.get(tp),
            clean_shutdown=state.clean_shutdown,
            clock=self._clock,
            file_cache=self.file_cache,
        )
        self._logs[tp] = log
        self._log_dir_of[tp] = state.path
        return log

    def startup(self) -> list[Log]:
        """Load every partition found on disk (same as :meth:`load_logs`)."""
        return self.load_logs()

    def delete_orphans(self, hosted: Collection[TopicPartition]) -> list[TopicPartition]:
        """Delete the logs (open or only on disk) of partitions not in ``hosted``."""
        with self._lock:
            self._check_open()
            found = set(self._logs)
            for state in self._dirs:
                found.update(tp for tp, _ in self._partition_dirs(state))
            orphans = sorted(tp for tp in found if tp not in hosted)
            for topic, partition in orphans:
                _log.info("deleting log of %s-%d: the partition is not hosted here", topic, partition)
                self.delete_log(topic, partition)
            return orphans

    def get_log(self, topic: str, partition: int) -> Log | None:
        with self._lock:
            return self._logs.get((topic, partition))

    def get_or_create_log(self, topic: str, partition: int, config: LogConfig | None = None) -> Log:
        """The partition's log: already open, found on disk, or created in the least-used log dir.

        A ``config`` given for an open log replaces its config.
        """
        tp = (topic, partition)
        with self._lock:
            self._check_open()
            log = self._logs.get(tp)
            if log is not None:
                if config is not None and config != log.config:
                    log.update_config(config)
                return log
            name = partition_dir_name(topic, partition)
            for state in self._dirs:
                if (state.path / name).is_dir():
                    return self._load(state, tp, state.path / name, self._config(topic, config))
            counts = {d.path: 0 for d in self._dirs}
            for path in self._log_dir_of.values():
                counts[path] = counts.get(path, 0) + 1
            state = min(self._dirs, key=lambda d: counts[d.path])
            log = Log.open(
                state.path / name,
                self._config(topic, config),
                clean_shutdown=True,
                clock=self._clock,
                file_cache=self.file_cache,
            )
            self._logs[tp] = log
            self._log_dir_of[tp] = state.path
            return log

    def all_logs(self) -> list[Log]:
        with self._lock:
            return list(self._logs.values())

    def logs_by_dir(self) -> dict[Path, list[Log]]:
        with self._lock:
            out: dict[Path, list[Log]] = {d.path: [] for d in self._dirs}
            for tp, log in self._logs.items():
                out[self._log_dir_of[tp]].append(log)
            return out

    def delete_log(self, topic: str, partition: int) -> bool:
        """Close the log and rename its directory to ``<name>.<uuid>-delete``; the next tick
        removes it (in the caller's storage thread: removing gigabytes takes a while), a crash
        before that leaves it for the next start to remove."""
        tp = (topic, partition)
        with self._lock:
            self._check_open()
            log = self._logs.pop(tp, None)
            dir_path = self._log_dir_of.pop(tp, None)
            if log is None:
                for state in self._dirs:
                    candidate = state.path / partition_dir_name(topic, partition)
                    if candidate.is_dir():
                        dir_path = state.path
                        self._forget_checkpoints(state, tp)
                        self._rename_for_removal(candidate)
                        return True
                return False
            log.close()
            assert dir_path is not None
            self._forget_checkpoints(self._dir_state(dir_path), tp)
            self._rename_for_removal(log.dir)
            self._write_checkpoints_for(self._dir_state(dir_path))
            return True

    def _rename_for_removal(self, path: Path) -> None:
        doomed = path.with_name(f"{path.name}.{uuid.uuid4().hex}{DELETE_DIR_SUFFIX}")
        os.replace(path, doomed)
        with contextlib.suppress(OSError):
            fsync_path(path.parent)
        self._doomed.append(doomed)

    @staticmethod
    def _forget_checkpoints(state: _LogDir, tp: TopicPartition) -> None:
        state.recovery_points.pop(tp, None)
        state.log_start_offsets.pop(tp, None)
        state.high_watermarks.pop(tp, None)

    # -- periodic duties -------------------------------------------------------------------------------

    def _now(self, now_ms: int | None) -> int:
        return self._clock() if now_ms is None else now_ms

    def cleanup_logs(self, now_ms: int | None = None) -> int:
        """Retention for every log, then removal of ``.deleted`` files that are due."""
        now = self._now(now_ms)
        deleted = 0
        for log in self.all_logs():
            if log.closed:
                continue
            deleted += log.delete_old_segments(now)
            log.purge_deleted_segments(now)
        return deleted

    def _write_checkpoints_for(self, state: _LogDir, which: Sequence[str] = ("recovery", "start", "hw")) -> None:
        for file, offsets in self._checkpoint_contents(state, which):
            file.write(offsets)

    def _checkpoint_contents(
        self, state: _LogDir, which: Sequence[str]
    ) -> list[tuple[OffsetCheckpointFile, dict[TopicPartition, int]]]:
        """The offsets each checkpoint file of ``state`` is to hold now (remembered in ``state``)."""
        out: list[tuple[OffsetCheckpointFile, dict[TopicPartition, int]]] = []
        logs = [(tp, log) for tp, log in self._logs.items() if self._log_dir_of[tp] == state.path]
        loaded = {tp for tp, _ in logs}
        # entries of partitions not loaded (lazy loading) are kept while their directory exists
        unloaded = {
            tp
            for tp in (*state.recovery_points, *state.log_start_offsets, *state.high_watermarks)
            if tp not in loaded
        }
        on_disk = {tp for tp in unloaded if (state.path / partition_dir_name(*tp)).is_dir()}
        if "recovery" in which:
            points = {tp: off for tp, off in state.recovery_points.items() if tp in on_disk}
            points.update({tp: log.recovery_point for tp, log in logs})
            state.recovery_points = points
            out.append((state.checkpoint(RECOVERY_POINT_CHECKPOINT_FILE), points))
        if "start" in which:
            starts = {tp: off for tp, off in state.log_start_offsets.items() if tp in on_disk}
            for tp, log in logs:
                if log.log_start_offset > log.segments[0].base_offset:
                    starts[tp] = log.log_start_offset
                else:
                    starts.pop(tp, None)
            state.log_start_offsets = starts
            out.append((state.checkpoint(LOG_START_OFFSET_CHECKPOINT_FILE), starts))
        if "hw" in which:
            hws = {tp: off for tp, off in state.high_watermarks.items() if tp in on_disk}
            hws.update({tp: log.high_watermark for tp, log in logs})
            state.high_watermarks = hws
            out.append((state.checkpoint(HIGH_WATERMARK_CHECKPOINT_FILE), hws))
        return out

    def checkpoint(self) -> None:
        """Write all three checkpoint files of every log dir now."""
        with self._lock:
            for state in self._dirs:
                self._write_checkpoints_for(state)

    def checkpoint_recovery_points(self) -> None:
        with self._lock:
            for state in self._dirs:
                self._write_checkpoints_for(state, ("recovery",))

    def checkpoint_log_start_offsets(self) -> None:
        with self._lock:
            for state in self._dirs:
                self._write_checkpoints_for(state, ("start",))

    def checkpoint_high_watermarks(self) -> None:
        with self._lock:
            for state in self._dirs:
                self._write_checkpoints_for(state, ("hw",))

    def tick(self, now_ms: int | None = None) -> None:
        """Run every periodic duty that is due (see the module docstring), all in this thread."""
        io = self.tick_io(now_ms)
        io.run()
        io.commit()

    def tick_io(self, now_ms: int | None = None) -> StorageIO:
        """The periodic duties that are due, split for an event loop: retention runs now (it only
        renames and removes files); the fsyncs of due flushes and the checkpoint writes come back
        as a :class:`StorageIO` to run in another thread and commit afterwards, with the removal
        of deleted partitions' directories. The checkpoints
        record the recovery points from before this tick's flushes (conservative: the next
        checkpoint records them)."""
        now = self._now(now_ms)
        if self._closed:
            return StorageIO([], [], [], self._lock)
        due = self._due
        scheduled = due("flush", self.flush_scheduler_interval_ms, now)
        flushes = [
            plan
            for log in self.all_logs()
            if (plan := log.plan_flush(now, scheduled=scheduled)) is not None
        ]
        if due("retention", self.retention_check_interval_ms, now):
            self.cleanup_logs(now)
        which = [
            name
            for name, interval in (
                ("recovery", self.flush_checkpoint_interval_ms),
                ("start", self.flush_start_offset_checkpoint_interval_ms),
                ("hw", self.high_watermark_checkpoint_interval_ms),
            )
            if due(name, interval, now)
        ]
        writes = []
        with self._lock:
            if which:
                for state in self._dirs:
                    writes.extend(self._checkpoint_contents(state, which))
            removals, self._doomed = self._doomed, []
        return StorageIO(flushes, writes, removals, self._lock)

    def _due(self, name: str, interval: int, now: int) -> bool:
        if now - self._last_run[name] >= interval:
            self._last_run[name] = now
            return True
        return False

    # -- shutdown --------------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("the log manager is closed")

    def close(self, clean: bool = True) -> None:
        """Flush and close every log, write the checkpoints and (if ``clean``) the markers."""
        with self._lock:
            if self._closed:
                return
            failed_dirs: set[Path] = set()
            for tp, log in list(self._logs.items()):
                try:
                    if clean:
                        log.flush()
                    log.close()
                except OSError:
                    _log.exception("failed to close log %s-%d", tp[0], tp[1])
                    failed_dirs.add(self._log_dir_of[tp])
            for state in self._dirs:
                try:
                    self._write_checkpoints_for(state)
                    if clean and state.path not in failed_dirs:
                        write_atomically(
                            state.path / CLEAN_SHUTDOWN_FILE,
                            json.dumps({"version": 0, "brokerEpoch": -1}).encode(),
                        )
                except OSError:
                    _log.exception("failed to write the checkpoints of %s", state.path)
                finally:
                    os.close(state.lock_fd)
            self._logs.clear()
            self.file_cache.clear()
            self._closed = True

    def __enter__(self) -> LogManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
