"""Follower replication: fetch from each partition's leader and append its batches unchanged.

Kafka's ``ReplicaFetcherManager`` / ``ReplicaFetcherThread`` on the event loop: one
:class:`_LeaderFetcher` task per leader broker, fetching every partition this broker follows on
that leader in one Fetch request (version 12: ``replica_id`` set, topic names, KIP-320
``last_fetched_epoch``), long-polling ``replica.fetch.wait.max.ms``. Per partition:

* records are appended as the leader wrote them (offsets and leader epochs kept) and the
  leader's high watermark and log start offset are taken (bounded by this log);
* ``diverging_epoch`` means this log has a tail the leader does not: truncate to where the two
  agree (Kafka's ``AbstractFetcherThread.truncateOnFetchResponse``) and fetch again from there;
* OFFSET_OUT_OF_RANGE: ask the leader (ListOffsets with this broker's replica id) for its log
  end and start; truncate to its end if ours is past it, or restart empty at its start if ours
  is before it;
* leadership errors (NOT_LEADER_OR_FOLLOWER, FENCED/UNKNOWN_LEADER_EPOCH, unknown partition)
  pause the partition; the controller's next decision moves it. Brokers learn a decision from
  ZooKeeper at about the same moment, so the usual cause is a leader a few milliseconds behind
  its follower: the pause starts at ``FIRST_ERROR_BACKOFF_MS`` and doubles per repeated error up
  to ``replica.fetch.backoff.ms`` (Kafka pauses the full backoff at once).

The fetch offset is always the local log end offset, so what the leader records for this
replica is exactly what it has. A partition whose leader or epoch changes is removed and added
again; responses for a partition whose epoch changed meanwhile are dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from protocol.error_codes import ErrorCode
from protocol.messages.fetch_request import FetchPartition, FetchRequest, FetchTopic
from protocol.messages.fetch_response import FetchResponse, PartitionData
from protocol.messages.list_offsets_request import ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic
from protocol.messages.list_offsets_response import ListOffsetsResponse
from pybroker.client import BrokerConnection
from pybroker.logging import get_logger
from pybroker.partition import Partition
from storage.errors import StorageError

log = get_logger("pybroker.replication.fetcher")

FETCH_VERSION = 12
FIRST_ERROR_BACKOFF_MS = 20
LIST_OFFSETS_VERSION = 4
EARLIEST = -2
LATEST = -1


@dataclass(frozen=True, slots=True)
class FetcherConfig:
    """The follower's ``replica.*`` settings."""

    wait_max_ms: int = 500
    min_bytes: int = 1
    max_bytes: int = 1048576
    response_max_bytes: int = 10485760
    backoff_ms: int = 1000
    socket_timeout_ms: int = 30000


@dataclass(slots=True)
class _Fetching:
    partition: Partition
    epoch: int  # the leader epoch this fetch state belongs to
    delayed_until: float = 0.0
    error_backoff_ms: int = 0  # the pause after the next partition error (0: none yet)

    def delay(self, max_backoff_ms: int) -> None:
        """Pause after a partition error, doubling from FIRST_ERROR_BACKOFF_MS per repeat."""
        backoff = min(max(self.error_backoff_ms, FIRST_ERROR_BACKOFF_MS), max_backoff_ms)
        self.error_backoff_ms = backoff * 2
        self.delayed_until = time.monotonic() + backoff / 1000


AddressOf = Callable[[int], tuple[str, int] | None]


class ReplicaFetcherManager:
    """All of this broker's follower fetching, one task per leader broker."""

    def __init__(self, broker_id: int, address_of: AddressOf, config: FetcherConfig) -> None:
        self.broker_id = broker_id
        self.address_of = address_of
        self.config = config
        self._fetchers: dict[int, _LeaderFetcher] = {}
        self._leader_of: dict[tuple[str, int], int] = {}

    def add(self, partition: Partition) -> None:
        """Follow ``partition.state.leader`` from the local log end (replacing any older state)."""
        key = partition.key
        self.remove(key)
        leader = partition.state.leader
        fetcher = self._fetchers.get(leader)
        if fetcher is None or fetcher.stopped:
            fetcher = self._fetchers[leader] = _LeaderFetcher(self, leader)
        fetcher.partitions[key] = _Fetching(partition, partition.leader_epoch)
        self._leader_of[key] = leader
        fetcher.kick()

    def remove(self, key: tuple[str, int]) -> None:
        leader = self._leader_of.pop(key, None)
        if leader is None:
            return
        fetcher = self._fetchers.get(leader)
        if fetcher is not None:
            fetcher.partitions.pop(key, None)
            if not fetcher.partitions:
                fetcher.stop()
                del self._fetchers[leader]

    def following(self) -> dict[tuple[str, int], int]:
        """Partition -> leader broker id, for every partition being fetched."""
        return dict(self._leader_of)

    async def close(self) -> None:
        fetchers = list(self._fetchers.values())
        self._fetchers.clear()
        self._leader_of.clear()
        for f in fetchers:
            f.stop()
        for f in fetchers:
            await f.wait_stopped()


class _LeaderFetcher:
    """Fetches every followed partition led by one broker, over one connection."""

    def __init__(self, manager: ReplicaFetcherManager, leader_id: int) -> None:
        self.manager = manager
        self.leader_id = leader_id
        self.partitions: dict[tuple[str, int], _Fetching] = {}
        self.stopped = False
        self._wake = asyncio.Event()
        self._conn: BrokerConnection | None = None
        self._task = asyncio.get_running_loop().create_task(self._run())

    def kick(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self.stopped = True
        self._task.cancel()

    async def wait_stopped(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        config = self.manager.config
        backoff = config.backoff_ms / 1000
        try:
            while not self.stopped:
                address = self.manager.address_of(self.leader_id)
                if address is None:
                    await self._sleep(backoff)
                    continue
                try:
                    self._conn = await BrokerConnection.connect(
                        address[0],
                        address[1],
                        client_id=f"broker-{self.manager.broker_id}-fetcher-{self.leader_id}",
                        timeout=config.socket_timeout_ms / 1000,
                    )
                    await self._fetch_loop(self._conn)
                except (OSError, ConnectionError, TimeoutError) as exc:
                    log.info("replica fetch from leader failed", leader=self.leader_id, error=str(exc))
                    await self._sleep(backoff)
                except Exception:
                    log.exception("replica fetcher error", leader=self.leader_id)
                    await self._sleep(backoff)
                finally:
                    if self._conn is not None:
                        await self._conn.close()
                        self._conn = None
        except asyncio.CancelledError:
            if self._conn is not None:
                await self._conn.close()
            raise

    async def _sleep(self, seconds: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    async def _fetch_loop(self, conn: BrokerConnection) -> None:
        config = self.manager.config
        while not self.stopped:
            now = time.monotonic()
            ready = [f for f in self.partitions.values() if f.delayed_until <= now]
            if not ready:
                wake_at = min((f.delayed_until for f in self.partitions.values()), default=now + 1.0)
                await self._sleep(max(wake_at - now, 0.01))
                continue
            request = self._build(ready)
            response: FetchResponse = await conn.request(
                1, FETCH_VERSION, request, timeout=(config.socket_timeout_ms + config.wait_max_ms) / 1000
            )
            if response.error_code:
                log.info(
                    "replica fetch error", leader=self.leader_id, error=ErrorCode(response.error_code).name
                )
                for f in ready:
                    f.delayed_until = time.monotonic() + config.backoff_ms / 1000
                continue
            sent = {f.partition.key: f for f in ready}
            for topic in response.responses:
                for pd in topic.partitions:
                    fetching = sent.get((topic.topic, pd.partition_index))
                    current = self.partitions.get((topic.topic, pd.partition_index))
                    if fetching is None or current is not fetching:
                        continue  # removed or re-added (new epoch) while the fetch was out
                    await self._handle(conn, fetching, pd)

    def _build(self, ready: list[_Fetching]) -> FetchRequest:
        config = self.manager.config
        by_topic: dict[str, FetchTopic] = {}
        for f in ready:
            p = f.partition
            log_ = p.log
            latest = log_.latest_epoch
            topic = by_topic.get(p.topic)
            if topic is None:
                topic = by_topic[p.topic] = FetchTopic(topic=p.topic)
            topic.partitions.append(
                FetchPartition(
                    partition=p.index,
                    current_leader_epoch=f.epoch,
                    fetch_offset=log_.log_end_offset,
                    last_fetched_epoch=-1 if latest is None else latest,
                    log_start_offset=log_.log_start_offset,
                    partition_max_bytes=config.max_bytes,
                )
            )
        return FetchRequest(
            replica_id=self.manager.broker_id,
            max_wait_ms=config.wait_max_ms,
            min_bytes=config.min_bytes,
            max_bytes=config.response_max_bytes,
            isolation_level=0,
            session_id=0,
            session_epoch=-1,
            topics=list(by_topic.values()),
        )

    async def _handle(self, conn: BrokerConnection, fetching: _Fetching, pd: PartitionData) -> None:
        partition = fetching.partition
        error = pd.error_code
        if error == ErrorCode.NONE:
            diverging = pd.diverging_epoch
            if diverging is not None and diverging.epoch >= 0 and diverging.end_offset >= 0:
                self._truncate_on_divergence(partition, diverging.epoch, diverging.end_offset)
                return
            fetching.error_backoff_ms = 0
            try:
                partition.append_as_follower(pd.records, pd.high_watermark, pd.log_start_offset)
            except StorageError as exc:
                log.warning(
                    "follower append failed",
                    topic=partition.topic,
                    partition=partition.index,
                    error=str(exc),
                )
                fetching.delayed_until = time.monotonic() + self.manager.config.backoff_ms / 1000
            return
        if error == ErrorCode.OFFSET_OUT_OF_RANGE:
            await self._handle_out_of_range(conn, partition)
            return
        log.info(
            "replica fetch partition error",
            topic=partition.topic,
            partition=partition.index,
            leader=self.leader_id,
            error=ErrorCode(error).name if error in ErrorCode._value2member_map_ else error,
        )
        fetching.delay(self.manager.config.backoff_ms)

    def _truncate_on_divergence(self, partition: Partition, leader_epoch: int, leader_end: int) -> None:
        """Kafka's ``getOffsetTruncationState``: cut back to the end of the last epoch both logs
        share (if this log does not know the leader's epoch, to its own end of the previous
        one, and the next fetch narrows it further)."""
        log_ = partition.log
        local_epoch, local_end = log_.end_offset_for_epoch(leader_epoch)
        if local_epoch < 0 or local_end < 0:
            target = log_.high_watermark
        elif local_epoch == leader_epoch:
            target = min(leader_end, local_end)
        else:
            target = min(local_end, log_.log_end_offset)
        target = min(target, log_.log_end_offset)
        log.info(
            "truncating divergent log tail",
            topic=partition.topic,
            partition=partition.index,
            from_offset=log_.log_end_offset,
            to_offset=target,
            leader_epoch=leader_epoch,
        )
        partition.truncate_to(target)

    async def _handle_out_of_range(self, conn: BrokerConnection, partition: Partition) -> None:
        log_ = partition.log
        leader_end = await self._leader_offset(conn, partition, LATEST)
        if leader_end is None:
            return
        if leader_end < log_.log_end_offset:
            partition.truncate_to(leader_end)
            return
        leader_start = await self._leader_offset(conn, partition, EARLIEST)
        if leader_start is not None and leader_start > log_.log_end_offset:
            log.info(
                "follower log behind the leader's log start, restarting empty",
                topic=partition.topic,
                partition=partition.index,
                offset=leader_start,
            )
            partition.truncate_fully_and_start_at(leader_start)

    async def _leader_offset(
        self, conn: BrokerConnection, partition: Partition, timestamp: int
    ) -> int | None:
        request = ListOffsetsRequest(
            replica_id=self.manager.broker_id,
            topics=[
                ListOffsetsTopic(
                    name=partition.topic,
                    partitions=[
                        ListOffsetsPartition(
                            partition_index=partition.index,
                            current_leader_epoch=partition.leader_epoch,
                            timestamp=timestamp,
                        )
                    ],
                )
            ],
        )
        response: ListOffsetsResponse = await conn.request(2, LIST_OFFSETS_VERSION, request)
        for t in response.topics:
            for p in t.partitions:
                if p.error_code == ErrorCode.NONE:
                    return int(p.offset)
        return None
