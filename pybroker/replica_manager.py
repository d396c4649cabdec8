"""The partitions this broker hosts, and the produce and fetch paths through them.

:class:`ReplicaManager` owns one :class:`~pybroker.partition.Partition` per hosted replica and
implements Kafka's ``ReplicaManager`` duties: appending client batches, parking ``acks=all``
produces until the in-sync replicas have them (the "delayed produce"), reading for fetches and
parking fetches that want more bytes than are available until data arrives, the high watermark
moves or ``max.wait.ms`` passes (the "delayed fetch"), and turning the controller's decisions
into roles: :meth:`apply_partition` makes a replica leader or follower (handing followers to the
:class:`~pybroker.replication.fetcher.ReplicaFetcherManager`) or deletes a replica this broker no
longer holds. Standalone, every partition is led here (:meth:`ensure_partitions`). Everything
runs on the event loop; appends and reads are short synchronous disk operations on the page
cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from protocol.error_codes import ErrorCode
from protocol.primitives import ZERO_UUID
from protocol.uuid_text import uuid_text
from pybroker.logging import get_logger
from pybroker.metadata import INTERNAL_TOPICS, MetadataCache, PartitionState, TopicInfo
from pybroker.partition import AppendResult, IsrWriter, Partition
from storage.config import LogConfig
from storage.errors import OffsetOutOfRangeError
from storage.log import Log
from storage.log_manager import LogManager
from storage.partition_metadata import PartitionMetadataError, read_topic_id, write_topic_id

if TYPE_CHECKING:
    from pybroker.replication.fetcher import ReplicaFetcherManager

log = get_logger("pybroker.replica_manager")


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
        self.isr_writer: IsrWriter | None = None  # ZooKeeper cluster: commits leaders' ISR changes
        self.fetchers: ReplicaFetcherManager | None = None  # ZooKeeper cluster: follower fetching
        # called with (topic, partition, leads) when this broker starts or stops leading a partition
        self.on_leadership: Callable[[str, int, bool], None] | None = None
        self.leaving = False  # in controlled shutdown: no longer follows (see stop_following)

    # -- hosting -----------------------------------------------------------------------------

    def ensure_partitions(self, topic: TopicInfo) -> None:
        """Standalone: open (or create) the log of every partition of ``topic`` led here."""
        for state in topic.partitions.values():
            if state.leader == self.broker_id and (topic.name, state.index) not in self.partitions:
                self._open(topic, state, -1)

    def _open(self, topic: TopicInfo, state: PartitionState, zk_version: int) -> Partition:
        config = self.topic_config(topic)
        assert self.log_manager is not None
        log = self.log_manager.get_or_create_log(topic.name, state.index, config)
        if topic.topic_id != ZERO_UUID:
            log = self._check_topic_id(topic, state.index, log, config)
        key = (topic.name, state.index)
        partition = Partition(
            self.broker_id,
            topic.name,
            state.index,
            topic.topic_id,
            state,
            log,
            config,
            self.clock_ms,
            zk_version,
        )
        partition.isr_writer = self.isr_writer
        partition.on_high_watermark = lambda: self._wake(key)
        self.partitions[key] = partition
        if partition.is_leader and self.on_leadership is not None:
            self.on_leadership(topic.name, state.index, True)
        return partition

    def _check_topic_id(self, topic: TopicInfo, index: int, current: Log, config: LogConfig) -> Log:
        """``current`` if its ``partition.metadata`` names this topic (recorded now if it names
        none); a log of an earlier topic with the same name (deleted and created again while
        this broker was away) is deleted and a fresh one created, to be filled from the leader."""
        assert self.log_manager is not None
        try:
            recorded = read_topic_id(current.dir)
        except PartitionMetadataError as exc:
            log.warning("unreadable partition.metadata replaced", topic=topic.name, partition=index, error=str(exc))
            recorded = None
        if recorded is not None and recorded != topic.topic_id:
            log.warning(
                "log of an earlier topic with this name deleted",
                topic=topic.name,
                partition=index,
                log_topic_id=uuid_text(recorded),
                topic_id=uuid_text(topic.topic_id),
            )
            self.log_manager.delete_log(topic.name, index)
            current = self.log_manager.get_or_create_log(topic.name, index, config)
            recorded = None
        if recorded is None:
            write_topic_id(current.dir, topic.topic_id)
        return current

    def apply_partition(self, topic: TopicInfo, state: PartitionState, zk_version: int) -> None:
        """Take the role the controller gave this broker for one partition (Kafka's
        ``becomeLeaderOrFollower``): lead it, follow its leader (leader -1: hold the replica and
        wait), or drop and delete it if this broker is no longer a replica."""
        key = (topic.name, state.index)
        partition = self.partitions.get(key)
        if self.broker_id not in state.replicas:
            if partition is not None:
                self._drop(key, delete=True)
            return
        if partition is None:
            partition = self._open(topic, state, zk_version)
            if not partition.is_leader:
                partition.make_follower(state, zk_version)
                self._follow(partition)
            return
        if (
            zk_version >= 0
            and partition.zk_version == zk_version
            and partition.state.leader == state.leader
            and partition.state.replicas == state.replicas
        ):
            return  # already applied (our own ISR write echoed back)
        was_leader = partition.is_leader
        if state.leader == self.broker_id:
            if partition.make_leader(state, zk_version) and self.fetchers is not None:
                self.fetchers.remove(key)
            if not was_leader and self.on_leadership is not None:
                self.on_leadership(topic.name, state.index, True)
        else:
            if partition.make_follower(state, zk_version):
                self._follow(partition)
            if was_leader and self.on_leadership is not None:
                self.on_leadership(topic.name, state.index, False)
        self._wake(key)

    def stop_following(self) -> None:
        """Controlled shutdown: follow no leader from now on, so that no leader puts this broker
        back into an ISR the controller is taking it out of (Kafka's controller stops the
        leaving broker's replicas with StopReplica for the same reason)."""
        self.leaving = True
        if self.fetchers is not None:
            for key in self.partitions:
                self.fetchers.remove(key)

    def _follow(self, partition: Partition) -> None:
        if self.fetchers is None:
            return
        if partition.state.leader >= 0 and not self.leaving:
            self.fetchers.add(partition)
        else:
            self.fetchers.remove(partition.key)

    def fence_all(self) -> None:
        """This broker lost its ZooKeeper session: it can no longer know who leads, so it stops
        leading and following everything until the controller's state is read again."""
        for key, partition in self.partitions.items():
            if self.fetchers is not None:
                self.fetchers.remove(key)
            if partition.is_leader:
                state = PartitionState(
                    partition.index,
                    -1,
                    partition.leader_epoch,
                    list(partition.state.replicas),
                    list(partition.isr),
                )
                partition.make_follower(state, -1)
                if self.on_leadership is not None:
                    self.on_leadership(partition.topic, partition.index, False)
            self._wake(key)

    def _drop(self, key: tuple[str, int], delete: bool) -> None:
        partition = self.partitions.pop(key, None)
        if self.fetchers is not None:
            self.fetchers.remove(key)
        if partition is not None:
            if partition.is_leader and self.on_leadership is not None:
                self.on_leadership(key[0], key[1], False)
            partition.close()
        if delete and self.log_manager is not None:
            self.log_manager.delete_log(key[0], key[1])
        self._wake(key)

    def remove_topic(self, topic: TopicInfo) -> None:
        for index in list(topic.partitions):
            self._drop((topic.name, index), delete=True)

    def hosted_topic_names(self) -> set[str]:
        return {name for name, _ in self.partitions}

    def maybe_shrink_isr(self, max_lag_ms: int) -> None:
        """Kafka's ISR expiration, run every ``replica.lag.time.max.ms / 2``."""
        for partition in self.partitions.values():
            partition.maybe_shrink_isr(max_lag_ms)

    def reconfigure(self, topic: TopicInfo) -> None:
        config = self.topic_config(topic)
        for index in topic.partitions:
            partition = self.partitions.get((topic.name, index))
            if partition is not None:
                partition.update_config(config)

    def get(self, topic: str, index: int) -> Partition | None:
        return self.partitions.get((topic, index))

    def not_hosted_error(self, topic: str, index: int) -> ErrorCode:
        """Kafka's answer for a partition with no replica here: NOT_LEADER_OR_FOLLOWER if the
        partition exists in the cluster, else UNKNOWN_TOPIC_OR_PARTITION."""
        info = self.metadata.get(topic)
        if info is not None and index in info.partitions:
            return ErrorCode.NOT_LEADER_OR_FOLLOWER
        return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION

    # -- produce -----------------------------------------------------------------------------

    def append(
        self, topic: str, index: int, records: object, acks: int, client_id: str | None
    ) -> AppendResult:
        partition = self.partitions.get((topic, index))
        if partition is None:
            return AppendResult.failed(self.not_hosted_error(topic, index))
        if topic in ("__consumer_offsets", "__transaction_state"):
            return AppendResult.failed(
                ErrorCode.INVALID_TOPIC_EXCEPTION, f"Cannot append to internal topic {topic}"
            )
        result = partition.append_from_client(records, acks)
        if result.error == ErrorCode.NONE:
            self._wake((topic, index))
        return result

    async def await_acks(
        self, pending: Iterable[tuple[object, asyncio.Future[ErrorCode]]], timeout_ms: int
    ) -> None:
        """acks=all: wait (at most ``timeout_ms``) until every pending append is replicated to
        the ISR, then set each response's ``error_code`` (REQUEST_TIMED_OUT if it was not)."""
        items = list(pending)
        if items and timeout_ms > 0:
            # each future wakes this task directly (asyncio.wait adds a waiter and a loop pass);
            # the timeout cancels the future being awaited, which then counts as timed out
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout_ms / 1000):
                    for _, future in items:
                        await future
        for response, future in items:
            if future.done() and not future.cancelled():
                error = future.result()
            else:
                future.cancel()
                error = ErrorCode.REQUEST_TIMED_OUT
            if error != ErrorCode.NONE:
                response.error_code = error  # type: ignore[attr-defined]

    async def wait_replicated(self, future: asyncio.Future[ErrorCode] | None, timeout_ms: int) -> ErrorCode:
        """One append's acks=all wait (coordinators): NONE, or why it did not complete."""
        if future is None:
            return ErrorCode.NONE
        with contextlib.suppress(TimeoutError):
            return await asyncio.wait_for(asyncio.shield(future), timeout_ms / 1000)
        future.cancel()
        return ErrorCode.REQUEST_TIMED_OUT

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
            async with asyncio.timeout(timeout_s):  # the appends wake this task directly
                await waiter.future
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
        if partition is None or not partition.is_leader:
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
        if start > before:  # the partition's producer state followed (Log.on_log_start_offset_change)
            assert self.log_manager is not None
            self.log_manager.checkpoint_log_start_offsets()
        return ErrorCode.NONE, start

    def close(self) -> None:
        for partition in self.partitions.values():
            partition.close()
        self.partitions.clear()
