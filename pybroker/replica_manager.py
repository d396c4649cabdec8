"""The partitions this broker hosts, and the produce and fetch paths through them.

:class:`ReplicaManager` owns one :class:`~pybroker.partition.Partition` per hosted partition,
created from the metadata cache, and implements Kafka's ``ReplicaManager`` duties for a leader:
appending client batches (with acks), reading for fetches, and parking fetches that want more
bytes than are available until data arrives or ``max.wait.ms`` passes (the "delayed fetch").
Everything runs on the event loop; appends and reads are short synchronous disk operations on
the page cache.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from protocol.error_codes import ErrorCode
from pybroker.metadata import INTERNAL_TOPICS, MetadataCache, TopicInfo
from pybroker.partition import AppendResult, Partition
from storage.config import LogConfig
from storage.errors import OffsetOutOfRangeError
from storage.log_manager import LogManager


@dataclass(slots=True)
class FetchWaiter:
    """A parked fetch: woken when any of its partitions gets new data."""

    keys: frozenset[tuple[str, int]]
    future: asyncio.Future[None]


class ReplicaManager:
    def __init__(
        self,
        broker_id: int,
        metadata: MetadataCache,
        topic_config: Callable[[TopicInfo], LogConfig],
        clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.broker_id = broker_id
        self.log_manager: LogManager | None = None  # set once the broker has loaded its log dirs
        self.metadata = metadata
        self.topic_config = topic_config
        self.clock_ms = clock_ms
        self.partitions: dict[tuple[str, int], Partition] = {}
        self._waiters: dict[tuple[str, int], list[FetchWaiter]] = {}

    # -- hosting -----------------------------------------------------------------------------

    def ensure_partitions(self, topic: TopicInfo) -> None:
        """Open (or create) the log of every partition of ``topic`` led by this broker."""
        config = self.topic_config(topic)
        assert self.log_manager is not None
        for state in topic.partitions.values():
            key = (topic.name, state.index)
            if state.leader != self.broker_id or key in self.partitions:
                continue
            log = self.log_manager.get_or_create_log(topic.name, state.index, config)
            self.partitions[key] = Partition(
                topic.name, state.index, topic.topic_id, state, log, config, self.clock_ms
            )

    def remove_topic(self, topic: TopicInfo) -> None:
        for index in list(topic.partitions):
            partition = self.partitions.pop((topic.name, index), None)
            if partition is not None:
                partition.close()
            if self.log_manager is not None:
                self.log_manager.delete_log(topic.name, index)
            self._wake((topic.name, index))

    def reconfigure(self, topic: TopicInfo) -> None:
        config = self.topic_config(topic)
        for index in topic.partitions:
            partition = self.partitions.get((topic.name, index))
            if partition is not None:
                partition.update_config(config)

    def get(self, topic: str, index: int) -> Partition | None:
        return self.partitions.get((topic, index))

    # -- produce -----------------------------------------------------------------------------

    def append(
        self, topic: str, index: int, records: object, acks: int, client_id: str | None
    ) -> AppendResult:
        partition = self.partitions.get((topic, index))
        if partition is None:
            return AppendResult.failed(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
        if topic in ("__consumer_offsets", "__transaction_state"):
            return AppendResult.failed(
                ErrorCode.INVALID_TOPIC_EXCEPTION, f"Cannot append to internal topic {topic}"
            )
        result = partition.append_from_client(records, acks)
        if result.error == ErrorCode.NONE:
            self._wake((topic, index))
        return result

    async def await_acks(self, pending: Iterable[object], timeout_ms: int) -> None:
        """acks=all: every in-sync replica of a standalone broker is the leader itself."""
        return None

    # -- fetch -------------------------------------------------------------------------------

    def _wake(self, key: tuple[str, int]) -> None:
        waiters = self._waiters.pop(key, None)
        if waiters:
            for w in waiters:
                if not w.future.done():
                    w.future.set_result(None)

    async def wait_for_data(self, keys: Iterable[tuple[str, int]], timeout_s: float) -> None:
        """Park until one of ``keys`` gets new data or the timeout passes."""
        loop = asyncio.get_running_loop()
        waiter = FetchWaiter(frozenset(keys), loop.create_future())
        for key in waiter.keys:
            self._waiters.setdefault(key, []).append(waiter)
        try:
            await asyncio.wait_for(waiter.future, timeout_s)
        except TimeoutError:
            pass
        finally:
            for key in waiter.keys:
                lst = self._waiters.get(key)
                if lst is not None:
                    if waiter in lst:
                        lst.remove(waiter)
                    if not lst:
                        del self._waiters[key]

    # -- DeleteRecords -----------------------------------------------------------------------

    def delete_records(self, topic: str, index: int, offset: int) -> tuple[ErrorCode, int]:
        """Kafka's ``deleteRecords`` for one partition: (error, low watermark or -1).

        Moves the log start offset up to ``offset`` (-1: the high watermark); a move is
        checkpointed at once. The low watermark is the leader's log start offset.
        """
        if topic in INTERNAL_TOPICS:
            return ErrorCode.INVALID_TOPIC_EXCEPTION, -1
        partition = self.partitions.get((topic, index))
        if partition is None:
            return ErrorCode.NOT_LEADER_OR_FOLLOWER, -1
        if not partition.config.delete:
            return ErrorCode.POLICY_VIOLATION, -1
        log = partition.log
        target = log.high_watermark if offset == -1 else offset
        if target < 0:
            return ErrorCode.OFFSET_OUT_OF_RANGE, -1
        before = log.log_start_offset
        try:
            start = log.delete_records(target)
        except OffsetOutOfRangeError:
            return ErrorCode.OFFSET_OUT_OF_RANGE, -1
        if start > before:
            partition.producers.on_log_start_offset_incremented(start)
            assert self.log_manager is not None
            self.log_manager.checkpoint_log_start_offsets()
        return ErrorCode.NONE, start

    def close(self) -> None:
        for partition in self.partitions.values():
            partition.close()
        self.partitions.clear()
