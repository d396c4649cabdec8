"""One partition hosted by this broker: its log, producer state and leadership.

The produce path validates a client's record batch as Kafka's ``LogValidator`` and
``UnifiedLog.analyzeAndValidateProducerState`` do, using only the 61-byte batch header and the
CRC (records inside a batch are never decoded on this path), then lets the log assign offsets by
patching the header and append the bytes unchanged. Owned by the :class:`ReplicaManager`; runs on
the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
    wait: Any = None  # what acks=all must wait for (replication); None when already satisfied

    @classmethod
    def failed(cls, error: ErrorCode, message: str | None = None) -> AppendResult:
        return cls(error=error, error_message=message)


class _Duplicate(Exception):
    """Raised from the append hook: the batch is a retry of one already in the log."""

    def __init__(self, batch: BatchMetadata) -> None:
        super().__init__("duplicate batch")
        self.batch = batch


class Partition:
    def __init__(
        self,
        topic: str,
        index: int,
        topic_id: UUID,
        state: PartitionState,
        log: Log,
        config: LogConfig,
        clock_ms: Callable[[], int],
    ) -> None:
        self.topic = topic
        self.index = index
        self.topic_id = topic_id
        self.state = state
        self.log = log
        self.config = config
        self.clock_ms = clock_ms
        self.producers = ProducerStateManager(log.dir)
        self.on_append: Callable[[], None] | None = None  # set by the replica manager: wakes fetches
        self._load_producer_state()
        log.assign_leader_epoch(state.leader_epoch)
        self.replicas = LeaderReplicaTracker(
            state.leader, state.replicas, state.isr, log.high_watermark, log.log_end_offset, clock_ms()
        )
        self._advance_high_watermark()

    @property
    def leader_epoch(self) -> int:
        return self.state.leader_epoch

    def _load_producer_state(self) -> None:
        """Rebuild producer state: latest snapshot, then the batch headers after it."""
        log = self.log
        self.producers.truncate_and_reload(log.log_start_offset, log.log_end_offset, self.clock_ms())
        start = max(self.producers.map_end_offset, log.log_start_offset)
        self.producers.load(log.batch_headers(start))
        self.producers.update_map_end_offset(log.log_end_offset)

    def _advance_high_watermark(self) -> None:
        """Move the high watermark to what every in-sync replica has (just the leader when alone)."""
        if self.replicas.maybe_advance_high_watermark(self.log.log_end_offset):
            self.log.update_high_watermark(self.replicas.high_watermark)

    def update_config(self, config: LogConfig) -> None:
        self.config = config
        self.log.update_config(config)

    # -- produce -----------------------------------------------------------------------------

    def append_from_client(self, records: Any, acks: int) -> AppendResult:
        if records is None or len(records) == 0:
            return AppendResult.failed(
                ErrorCode.INVALID_RECORD, "Produce requests must have at least one record batch"
            )
        if acks == -1 and len(self.replicas.isr) < self.config.min_insync_replicas:
            return AppendResult.failed(
                ErrorCode.NOT_ENOUGH_REPLICAS,
                f"The size of the current ISR {len(self.replicas.isr)} is insufficient to satisfy the min.isr "
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
        )

    def append_from_coordinator(self, records: bytes | bytearray) -> AppendResult:
        """Append batches the broker's own coordinators built (offsets, group metadata, markers).

        Offsets are assigned as for clients, without the client-only checks (control batches are
        allowed); the high watermark moves with the log end on a standalone leader.
        """
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
        )

    # -- reads -----------------------------------------------------------------------------

    def check_leader_epoch(self, current_leader_epoch: int) -> ErrorCode:
        """Kafka's leader-epoch fencing of client requests (-1 skips the check)."""
        if current_leader_epoch == -1 or current_leader_epoch == self.state.leader_epoch:
            return ErrorCode.NONE
        if current_leader_epoch > self.state.leader_epoch:
            return ErrorCode.UNKNOWN_LEADER_EPOCH
        return ErrorCode.FENCED_LEADER_EPOCH

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
    ) -> ReadResult:
        log = self.log
        result = ReadResult(
            high_watermark=log.high_watermark,
            last_stable_offset=self.last_stable_offset(),
            log_start_offset=log.log_start_offset,
        )
        result.error = self.check_leader_epoch(current_leader_epoch)
        if result.error:
            return result
        if last_fetched_epoch >= 0:
            epoch, end = log.end_offset_for_epoch(last_fetched_epoch)
            if epoch < last_fetched_epoch or end < offset:
                result.diverging_epoch = (epoch, end)
                return result
        upper = result.high_watermark if isolation_level == 0 else result.last_stable_offset
        try:
            data = log.read(offset, max_bytes, max_offset=upper, min_one_message=min_one_message)
        except OffsetOutOfRangeError:
            result.error = ErrorCode.OFFSET_OUT_OF_RANGE
            return result
        if data.records is not None and data.records.size:
            result.records = FileRecords(data.records)
            result.size = data.records.size
        return result

    def offset_for_timestamp(
        self, timestamp: int, isolation_level: int, current_leader_epoch: int, from_consumer: bool
    ) -> tuple[ErrorCode, int, int, int]:
        """ListOffsets for one partition: (error, offset, timestamp, leader epoch)."""
        error = self.check_leader_epoch(current_leader_epoch)
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
