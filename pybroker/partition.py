"""One partition hosted by this broker: its log, producer state and its role (leader or follower).

As leader it takes client batches, serves fetches below the high watermark, tracks its followers
(:class:`~pybroker.replication.isr.LeaderReplicaTracker`) and completes ``acks=all`` waits when
the high watermark reaches them; ISR changes are committed through ``isr_writer`` (the partition
state znode in a ZooKeeper cluster) before they take effect. As follower it only accepts the
leader's batches (:meth:`append_as_follower`) from the replica fetcher and answers clients with
NOT_LEADER_OR_FOLLOWER. The role follows the controller's decision (:meth:`make_leader`,
:meth:`make_follower`).

The produce path validates a client's record batch as Kafka's ``LogValidator`` and
``UnifiedLog.analyzeAndValidateProducerState`` do, using only the 61-byte batch header and the
CRC (records inside a batch are never decoded on this path), then lets the log assign offsets by
patching the header and append the bytes unchanged. Owned by the :class:`ReplicaManager`; runs on
the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from protocol.error_codes import ErrorCode
from protocol.errors import DecodeError
from protocol.records import BatchHeader, InvalidRecordError
from pybroker.file_records import FileRecords
from pybroker.metadata import PartitionState
from pybroker.replication.isr import LeaderReplicaTracker
from storage.config import LogConfig
from storage.errors import OffsetOutOfRangeError, StorageError, error_code_for
from storage.log import AppendOrigin, Log
from storage.producer_state import BatchMetadata, ProducerStateError, ProducerStateManager

LOG_APPEND_TIME = "LogAppendTime"
LATEST_TIMESTAMP = -1


@dataclass(slots=True)
class AppendResult:
    error: ErrorCode = ErrorCode.NONE
    base_offset: int = -1
    log_append_time: int = -1
    log_start_offset: int = -1
    error_message: str | None = None
    wait: asyncio.Future[ErrorCode] | None = None  # acks=all: resolved when replicated; None if already

    @classmethod
    def failed(cls, error: ErrorCode, message: str | None = None) -> AppendResult:
        return cls(error=error, error_message=message)


class _Duplicate(Exception):
    """Raised from the append hook: the batch is a retry of one already in the log."""

    def __init__(self, batch: BatchMetadata) -> None:
        super().__init__("duplicate batch")
        self.batch = batch


IsrWriter = Callable[["Partition", list[int]], Awaitable[bool]]
"""Commits a new ISR for a led partition (True once committed; False if fenced or failed)."""


class Partition:
    def __init__(
        self,
        broker_id: int,
        topic: str,
        index: int,
        topic_id: UUID,
        state: PartitionState,
        log: Log,
        config: LogConfig,
        clock_ms: Callable[[], int],
        zk_version: int = -1,
    ) -> None:
        self.broker_id = broker_id
        self.topic = topic
        self.index = index
        self.topic_id = topic_id
        self.state = state
        self.zk_version = zk_version  # version of the state znode `state` came from (-1: standalone)
        self.log = log
        self.config = config
        self.clock_ms = clock_ms
        self.producers = ProducerStateManager(log.dir)
        self.on_append: Callable[[], None] | None = None  # set by the replica manager: wakes fetches
        self.on_high_watermark: Callable[[], None] | None = None  # the high watermark moved
        self.isr_writer: IsrWriter | None = None  # None: a one-replica cluster, ISR never changes
        self.tracker: LeaderReplicaTracker | None = None  # set while leader
        self._acks_waiters: list[tuple[int, asyncio.Future[ErrorCode]]] = []
        self._isr_change: asyncio.Task[None] | None = None
        self._load_producer_state()
        log.on_roll = self._snapshot_on_roll
        log.on_log_start_offset_change = self._on_log_start_offset_change
        if state.leader == broker_id:
            self.make_leader(state, zk_version)

    @property
    def is_leader(self) -> bool:
        return self.tracker is not None

    @property
    def key(self) -> tuple[str, int]:
        return (self.topic, self.index)

    @property
    def leader_epoch(self) -> int:
        return self.state.leader_epoch

    @property
    def isr(self) -> list[int]:
        return self.state.isr

    # -- role changes ------------------------------------------------------------------------

    def make_leader(self, state: PartitionState, zk_version: int) -> bool:
        """Lead with ``state`` (Kafka's ``Partition.makeLeader``); True if leadership is new.

        A new leader epoch starts at the log end offset; followers get a fresh lag window. The
        same epoch again only updates the replica set and ISR.
        """
        now = self.clock_ms()
        new_term = self.tracker is None or state.leader_epoch != self.state.leader_epoch
        self.state = state
        self.zk_version = zk_version
        if new_term:
            log = self.log
            latest = log.latest_epoch
            if latest is None or state.leader_epoch > latest:
                log.assign_leader_epoch(state.leader_epoch)
            self.tracker = LeaderReplicaTracker(
                self.broker_id, state.replicas, state.isr, log.high_watermark, log.log_end_offset, now
            )
        else:
            assert self.tracker is not None
            self.tracker.update_replicas(state.replicas, state.isr, now)
        self._cancel_isr_change()
        self._advance_high_watermark()
        self._complete_acks()
        return new_term

    def make_follower(self, state: PartitionState, zk_version: int) -> bool:
        """Follow ``state.leader``; True if the leader or its epoch changed (refetch needed)."""
        changed = (
            self.tracker is not None
            or state.leader != self.state.leader
            or state.leader_epoch != self.state.leader_epoch
        )
        self.tracker = None
        self.state = state
        self.zk_version = zk_version
        self._cancel_isr_change()
        self._fail_acks(ErrorCode.NOT_LEADER_OR_FOLLOWER)
        return changed

    def _cancel_isr_change(self) -> None:
        if self._isr_change is not None:
            self._isr_change.cancel()
            self._isr_change = None

    def _load_producer_state(self) -> None:
        """Rebuild producer state: latest snapshot, then the batch headers after it."""
        log = self.log
        self.producers.truncate_and_reload(log.log_start_offset, log.log_end_offset, self.clock_ms())
        start = max(self.producers.map_end_offset, log.log_start_offset)
        self.producers.load(log.batch_headers(start))
        self.producers.update_map_end_offset(log.log_end_offset)

    def _snapshot_on_roll(self, new_segment_offset: int) -> Path | None:
        """Kafka's snapshot at every roll, so recovery replays at most one segment's batches;
        written without fsync, which the rolled segment's flush does (``Log.on_roll``). The
        batch being appended comes after it: producer state is updated once the append is in."""
        return self.producers.take_snapshot(new_segment_offset, sync=False)

    def _on_log_start_offset_change(self, log_start_offset: int) -> None:
        """Retention, DeleteRecords or a follower's move of the log start: producer state forgets
        what went, and the snapshots below the new start go with their segments."""
        self.producers.on_log_start_offset_incremented(log_start_offset)
        self.producers.delete_snapshots_before(log_start_offset)

    def _advance_high_watermark(self) -> None:
        """Move the high watermark to what every in-sync replica has (just the leader when alone),
        then complete the acks=all waits it satisfies."""
        tracker = self.tracker
        if tracker is None:
            return
        if tracker.maybe_advance_high_watermark(self.log.log_end_offset):
            self.log.update_high_watermark(tracker.high_watermark)
            self._complete_acks()
            if self.on_high_watermark is not None:
                self.on_high_watermark()

    # -- acks=all ----------------------------------------------------------------------------

    def wait_for_replication(self, required_offset: int) -> asyncio.Future[ErrorCode] | None:
        """A future resolved once the high watermark reaches ``required_offset`` (Kafka's
        ``DelayedProduce``): NONE, NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR shrank below
        ``min.insync.replicas`` meanwhile, NOT_LEADER_OR_FOLLOWER if leadership is lost. None
        when it is already there."""
        if self.tracker is not None and self.log.high_watermark >= required_offset:
            return None
        future: asyncio.Future[ErrorCode] = asyncio.get_running_loop().create_future()
        if self.tracker is None:
            future.set_result(ErrorCode.NOT_LEADER_OR_FOLLOWER)
        else:
            self._acks_waiters.append((required_offset, future))
        return future

    def _complete_acks(self) -> None:
        if not self._acks_waiters:
            return
        hw = self.log.high_watermark
        enough = len(self.state.isr) >= self.config.min_insync_replicas
        keep = []
        for required, future in self._acks_waiters:
            if future.done():
                continue
            if required <= hw:
                future.set_result(ErrorCode.NONE if enough else ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND)
            else:
                keep.append((required, future))
        self._acks_waiters = keep

    def _fail_acks(self, error: ErrorCode) -> None:
        waiters, self._acks_waiters = self._acks_waiters, []
        for _, future in waiters:
            if not future.done():
                future.set_result(error)

    # -- followers (leader side) -------------------------------------------------------------

    def on_follower_fetch(self, replica_id: int, fetch_offset: int) -> bool:
        """A follower fetched at ``fetch_offset``: its log end. Advances the high watermark and
        starts an ISR expansion if it caught up; False if it is not a replica of this leader."""
        tracker = self.tracker
        if tracker is None:
            return False
        if not tracker.on_follower_fetch(replica_id, fetch_offset, self.log.log_end_offset, self.clock_ms()):
            return False
        self._advance_high_watermark()
        candidates = tracker.isr_candidates()
        if candidates:
            self._change_isr(sorted(set(self.state.isr) | set(candidates)))
        return True

    def maybe_shrink_isr(self, max_lag_ms: int) -> None:
        """Drop followers that have not caught up within ``max_lag_ms`` (Kafka's ISR expiration)."""
        tracker = self.tracker
        if tracker is None:
            return
        lagging = tracker.out_of_sync(self.clock_ms(), max_lag_ms)
        if lagging:
            self._change_isr([r for r in self.state.isr if r not in lagging])

    def _change_isr(self, new_isr: list[int]) -> None:
        """Commit ``new_isr`` through the writer, then apply it (one change in flight at a time)."""
        writer = self.isr_writer
        if writer is None or self._isr_change is not None or sorted(new_isr) == sorted(self.state.isr):
            return

        async def commit(term: int) -> None:
            try:
                ok = await writer(self, new_isr)
            finally:
                self._isr_change = None
            if ok and self.tracker is not None and self.state.leader_epoch == term:
                self.state.isr = list(new_isr)
                self.tracker.isr = set(new_isr) | {self.broker_id}
                self._advance_high_watermark()
                self._complete_acks()

        self._isr_change = asyncio.get_running_loop().create_task(commit(self.state.leader_epoch))

    def update_config(self, config: LogConfig) -> None:
        self.config = config
        self.log.update_config(config)

    # -- produce -----------------------------------------------------------------------------

    def append_from_client(self, records: Any, acks: int) -> AppendResult:
        if self.tracker is None:
            return AppendResult.failed(
                ErrorCode.NOT_LEADER_OR_FOLLOWER,
                f"Leader not local for partition {self.topic}-{self.index} on broker {self.broker_id}",
            )
        if records is None or len(records) == 0:
            return AppendResult.failed(
                ErrorCode.INVALID_RECORD, "Produce requests must have at least one record batch"
            )
        if acks == -1 and len(self.state.isr) < self.config.min_insync_replicas:
            return AppendResult.failed(
                ErrorCode.NOT_ENOUGH_REPLICAS,
                f"The size of the current ISR {len(self.state.isr)} is insufficient to satisfy the min.isr "
                f"requirement of {self.config.min_insync_replicas} for partition {self.topic}-{self.index}",
            )
        producers = self.producers

        def before_append(headers: list[BatchHeader]) -> None:
            if len(headers) != 1:
                raise InvalidRecordError(
                    "Produce requests are only allowed to contain exactly one record batch"
                )
            duplicate = producers.check(headers[0])
            if duplicate is not None:
                raise _Duplicate(duplicate)

        log = self.log
        try:
            info = log.append_as_leader(
                records, self.state.leader_epoch, self.clock_ms(), before_append=before_append
            )
        except _Duplicate as dup:
            return AppendResult(
                base_offset=dup.batch.first_offset,
                log_append_time=dup.batch.timestamp if self.config.log_append_time else -1,
                log_start_offset=log.log_start_offset,
            )
        except ProducerStateError as exc:
            return AppendResult.failed(exc.error_code, exc.message)
        except (DecodeError, StorageError) as exc:
            return AppendResult.failed(error_code_for(exc), str(exc))
        producers.update(info.batches[0], info.first_offset, info.last_offset, info.max_timestamp)
        self._advance_high_watermark()
        return AppendResult(
            base_offset=info.first_offset,
            log_append_time=info.log_append_time,
            log_start_offset=log.log_start_offset,
            wait=self.wait_for_replication(info.last_offset + 1) if acks == -1 else None,
        )

    def append_from_coordinator(self, records: bytes | bytearray) -> AppendResult:
        """Append batches the broker's own coordinators built (offsets, group metadata, markers).

        Offsets are assigned as for clients, without the client-only checks (control batches are
        allowed). The result's ``wait`` resolves once the ISR has the records (coordinators write
        with acks=all, as Kafka's do).
        """
        if self.tracker is None:
            return AppendResult.failed(ErrorCode.NOT_LEADER_OR_FOLLOWER)
        log = self.log
        try:
            info = log.append_as_leader(
                records, self.state.leader_epoch, self.clock_ms(), origin=AppendOrigin.COORDINATOR
            )
        except (DecodeError, StorageError) as exc:
            return AppendResult.failed(error_code_for(exc), str(exc))
        for header in info.batches:
            if header.producer_id >= 0:
                self.producers.update(header, header.base_offset, header.last_offset, header.max_timestamp)
        self._advance_high_watermark()
        if self.on_append is not None:
            self.on_append()
        return AppendResult(
            base_offset=info.first_offset,
            log_append_time=info.log_append_time,
            log_start_offset=log.log_start_offset,
            wait=self.wait_for_replication(info.last_offset + 1),
        )

    def append_as_follower(self, records: Any, leader_high_watermark: int, leader_log_start: int) -> int:
        """Append the leader's batches unchanged (offsets, epochs) and take its high watermark and
        log start offset (bounded by this log); producer state follows. Returns the bytes
        appended. Storage errors propagate to the fetcher."""
        log = self.log
        appended = 0
        if records is not None and len(records):
            info = log.append_as_follower(records, self.clock_ms())
            for header in info.batches:
                if header.producer_id >= 0:
                    self.producers.update(
                        header, header.base_offset, header.last_offset, header.max_timestamp
                    )
            self.producers.update_map_end_offset(log.log_end_offset)
            appended = info.valid_bytes
        log.update_high_watermark(min(leader_high_watermark, log.log_end_offset))
        if leader_log_start > log.log_start_offset:
            with contextlib.suppress(OffsetOutOfRangeError):  # producer state follows (callback)
                log.maybe_increment_log_start_offset(min(leader_log_start, log.high_watermark))
        return appended

    def truncate_to(self, offset: int) -> None:
        """Remove the divergent tail at and above ``offset`` (a returning replica's uncommitted
        records), rebuilding producer state to match."""
        if self.log.truncate_to(offset):
            self._load_producer_state()

    def truncate_fully_and_start_at(self, offset: int) -> None:
        self.log.truncate_fully_and_start_at(offset)
        self._load_producer_state()

    # -- reads -----------------------------------------------------------------------------

    def check_leader_epoch(self, current_leader_epoch: int, require_leader: bool = True) -> ErrorCode:
        """Kafka's leader-epoch fencing of requests (-1 skips the check), then the leader check."""
        if current_leader_epoch != -1 and current_leader_epoch != self.state.leader_epoch:
            if current_leader_epoch > self.state.leader_epoch:
                return ErrorCode.UNKNOWN_LEADER_EPOCH
            return ErrorCode.FENCED_LEADER_EPOCH
        if require_leader and self.tracker is None:
            return ErrorCode.NOT_LEADER_OR_FOLLOWER
        return ErrorCode.NONE

    def last_stable_offset(self) -> int:
        first_unstable = self.producers.first_unstable_offset()
        hw = self.log.high_watermark
        return hw if first_unstable is None else min(first_unstable, hw)

    def read(
        self,
        offset: int,
        max_bytes: int,
        isolation_level: int,
        current_leader_epoch: int,
        last_fetched_epoch: int,
        min_one_message: bool,
        replica_id: int = -1,
    ) -> ReadResult:
        """A fetch: consumers read below the high watermark (or last stable offset), a follower
        (``replica_id`` >= 0) up to the log end, and its fetch offset is its progress."""
        log = self.log
        result = ReadResult(
            high_watermark=log.high_watermark,
            last_stable_offset=self.last_stable_offset(),
            log_start_offset=log.log_start_offset,
        )
        result.error = self.check_leader_epoch(current_leader_epoch)
        if result.error:
            return result
        follower = replica_id >= 0
        if last_fetched_epoch >= 0:
            epoch, end = log.end_offset_for_epoch(last_fetched_epoch)
            if epoch < last_fetched_epoch or end < offset:
                result.diverging_epoch = (epoch, end)
                return result
        if follower:
            upper = None
        else:
            upper = result.high_watermark if isolation_level == 0 else result.last_stable_offset
        try:
            data = log.read(offset, max_bytes, max_offset=upper, min_one_message=min_one_message)
        except OffsetOutOfRangeError:
            result.error = ErrorCode.OFFSET_OUT_OF_RANGE
            return result
        if follower:
            if not self.on_follower_fetch(replica_id, offset):
                result.error = ErrorCode.NOT_LEADER_OR_FOLLOWER
                return result
            result.high_watermark = log.high_watermark
        if data.records is not None and data.records.size:
            result.records = FileRecords(data.records)
            result.size = data.records.size
        return result

    def offset_for_timestamp(
        self,
        timestamp: int,
        isolation_level: int,
        current_leader_epoch: int,
        from_consumer: bool,
        require_leader: bool = True,
    ) -> tuple[ErrorCode, int, int, int]:
        """ListOffsets for one partition: (error, offset, timestamp, leader epoch)."""
        error = self.check_leader_epoch(current_leader_epoch, require_leader)
        if error:
            return error, -1, -1, -1
        log = self.log
        upper = log.log_end_offset
        if from_consumer:
            upper = log.high_watermark if isolation_level == 0 else self.last_stable_offset()
        if timestamp == LATEST_TIMESTAMP:
            latest = log.latest_epoch
            return ErrorCode.NONE, upper, -1, -1 if latest is None else latest
        found = log.offset_for_timestamp(timestamp)
        if found is None or (timestamp >= 0 and found.offset >= upper):
            return ErrorCode.NONE, -1, -1, -1
        return ErrorCode.NONE, found.offset, found.timestamp, found.leader_epoch

    def end_offset_for_epoch(self, epoch: int) -> tuple[int, int]:
        return self.log.end_offset_for_epoch(epoch)

    def close(self) -> None:
        self._cancel_isr_change()
        self._fail_acks(ErrorCode.NOT_LEADER_OR_FOLLOWER)
        self.producers.take_snapshot(self.log.log_end_offset)


@dataclass(slots=True)
class ReadResult:
    error: ErrorCode = ErrorCode.NONE
    high_watermark: int = -1
    last_stable_offset: int = -1
    log_start_offset: int = -1
    records: FileRecords | None = None
    size: int = 0
    diverging_epoch: tuple[int, int] | None = None  # (epoch, end offset) where the reader's log diverges
