"""The group coordinator on the event loop: the sans-IO core wired to ``__consumer_offsets``.

Ownership follows the log, as in Kafka: a group belongs to partition
``Utils.abs(groupId.hashCode()) % partitions`` of ``__consumer_offsets`` (:func:`partition_for`),
and this broker coordinates exactly the groups of the partitions it leads. Each led partition
gets its own :class:`~pybroker.coordinator.GroupCoordinator` *shard* (Kafka 3.9's coordinator
runtime is sharded the same way), so :meth:`GroupCoordinatorService.elect` and
:meth:`~GroupCoordinatorService.resign` move one partition's groups at a time: electing starts
a load of the partition (requests for its groups answer COORDINATOR_LOAD_IN_PROGRESS, or what
the core answers while loading, until the whole log has been replayed), resigning unloads it
(parked requests get NOT_COORDINATOR). Groups of partitions not led here get NOT_COORDINATOR.

Every core call goes through the same steps: call the shard (its state changes at once), append
the records it returned to the shard's partition as record batches, then release the responses
that call produced, its own and any parked JoinGroup/SyncGroup it completed. A
:class:`~pybroker.coordinator.Pending` is resolved synchronously inside the core, so its
callback only queues the response on the shard; nothing reaches a client before the records of
the call that decided it are in the log. When the append fails, released successes become the
error Kafka maps the append error to (the in-memory state is not rolled back). Timers: one loop
timer sleeps until the earliest ``next_deadline()`` of the loaded shards and calls ``tick()`` on
the shards that are due; it is moved earlier whenever a call arms an earlier deadline.

Persistence format (Kafka's, so a Kafka broker could read the log): record keys are an int16
version then the struct, ``OffsetCommitKey`` at version 1 (group, topic, partition) and
``GroupMetadataKey`` at version 2 (group); values are an int16 version then
``OffsetCommitValue`` v3 (v1 when the commit carries an explicit expire timestamp, OffsetCommit
v2-v4) or ``GroupMetadataValue`` v3; a deleted offset or group is a null value (tombstone). One
call's records are appended as uncompressed batches (split to stay under the partition's
``max.message.bytes``), stamped with the broker time. Loading replays every record of the log in
offset order (the last write per key wins, tombstones delete); key versions it does not know
(the KIP-848 consumer-group records) are skipped.

The topic is created on the first FindCoordinator for a group, as Kafka does, with
``offsets.topic.num.partitions`` partitions, replication factor
min(``offsets.topic.replication.factor``, live brokers) and the configs Kafka gives it
(``cleanup.policy=compact``, ``compression.type=producer``, ``segment.bytes`` from
``offsets.topic.segment.bytes``).
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, TypeVar

from protocol.coordinator_records import (
    GroupMetadataKey,
    GroupMetadataValue,
    OffsetCommitKey,
    OffsetCommitValue,
)
from protocol.coordinator_records.group_metadata_value import MemberMetadata
from protocol.error_codes import ErrorCode
from protocol.errors import DecodeError
from protocol.records import HEADER_SIZE, RecordSpec, build_batch, iter_records
from pybroker.coordinator.group import (
    GroupDescription,
    GroupMetadataRecord,
    GroupOverview,
    GroupSnapshot,
    JoinResult,
    MemberSnapshot,
    OffsetAndMetadata,
    OffsetCommitRecord,
    Pending,
    Record,
    SyncResult,
    TopicPartition,
    log,
)
from pybroker.coordinator.group_coordinator import (
    DeleteGroupsResult,
    GroupCoordinator,
    GroupCoordinatorConfig,
    LeaveResult,
    LeavingMember,
    ListGroupsResult,
    OffsetCommitResult,
    OffsetDeleteResult,
    OffsetFetchResult,
    PartitionOffset,
)
from pybroker.metadata import TopicInfo
from pybroker.standalone import TopicError

if TYPE_CHECKING:
    from pybroker.broker import Broker, BrokerEndpoint

OFFSETS_TOPIC = "__consumer_offsets"
OFFSET_COMMIT_TIMEOUT_MS = 5000  # Kafka's offsets.commit.timeout.ms: how long a commit waits for the ISR
OFFSET_COMMIT_KEY_VERSION = 1
GROUP_METADATA_KEY_VERSION = 2
OFFSET_COMMIT_VALUE_VERSION = 3
OFFSET_COMMIT_VALUE_VERSION_WITH_EXPIRY = 1
GROUP_METADATA_VALUE_VERSION = 3
DEFAULT_SEGMENT_BYTES = 104_857_600
LOAD_BATCHES_PER_STEP = 64  # batches replayed between yields to the event loop

_INT16 = struct.Struct(">h")
_INT32_MIN = -(2**31)
T = TypeVar("T")


# -- group -> partition --------------------------------------------------------------------


def java_string_hashcode(s: str) -> int:
    """Java's ``String.hashCode``: ``h = 31 * h + c`` over UTF-16 code units, as an int32."""
    h = 0
    for (unit,) in struct.iter_unpack(">H", s.encode("utf-16-be", "surrogatepass")):
        h = (31 * h + unit) & 0xFFFFFFFF
    return h - 2**32 if h >= 2**31 else h


def kafka_abs(n: int) -> int:
    """Kafka's ``Utils.abs``: ``Math.abs`` except that ``Integer.MIN_VALUE`` gives 0."""
    return 0 if n == _INT32_MIN else abs(n)


def partition_for(group_id: str, num_partitions: int) -> int:
    """The ``__consumer_offsets`` partition that owns ``group_id``."""
    return kafka_abs(java_string_hashcode(group_id)) % num_partitions


# -- record codec --------------------------------------------------------------------------


def encode_record(record: Record) -> tuple[bytes, bytes | None]:
    """The (key, value) Kafka writes for ``record``; a ``None`` value is a tombstone."""
    if isinstance(record, OffsetCommitRecord):
        key = OffsetCommitKey(record.group_id, record.topic, record.partition)
        key_bytes = _INT16.pack(OFFSET_COMMIT_KEY_VERSION) + key.encode(OFFSET_COMMIT_KEY_VERSION)
        offset = record.value
        if offset is None:
            return key_bytes, None
        value = OffsetCommitValue(
            offset=offset.offset,
            leader_epoch=offset.leader_epoch,
            metadata=offset.metadata,
            commit_timestamp=offset.commit_timestamp,
        )
        version = OFFSET_COMMIT_VALUE_VERSION
        if offset.expire_timestamp is not None:
            value.expire_timestamp = offset.expire_timestamp
            version = OFFSET_COMMIT_VALUE_VERSION_WITH_EXPIRY
        return key_bytes, _INT16.pack(version) + value.encode(version)
    key_bytes = _INT16.pack(GROUP_METADATA_KEY_VERSION) + GroupMetadataKey(record.group_id).encode(
        GROUP_METADATA_KEY_VERSION
    )
    snapshot = record.value
    if snapshot is None:
        return key_bytes, None
    group = GroupMetadataValue(
        protocol_type=snapshot.protocol_type,
        generation=snapshot.generation,
        protocol=snapshot.protocol,
        leader=snapshot.leader,
        current_state_timestamp=snapshot.current_state_timestamp,
        members=[
            MemberMetadata(
                member_id=m.member_id,
                group_instance_id=m.group_instance_id,
                client_id=m.client_id,
                client_host=m.client_host,
                rebalance_timeout=m.rebalance_timeout,
                session_timeout=m.session_timeout,
                subscription=m.subscription,
                assignment=m.assignment,
            )
            for m in snapshot.members
        ],
    )
    return key_bytes, _INT16.pack(GROUP_METADATA_VALUE_VERSION) + group.encode(GROUP_METADATA_VALUE_VERSION)


def decode_record(key: bytes, value: bytes | None) -> Record | None:
    """The record a ``__consumer_offsets`` key/value holds; ``None`` for key versions this
    coordinator does not use. Raises :class:`DecodeError` when malformed."""
    if len(key) < 2:
        raise DecodeError("coordinator record key shorter than its version")
    (key_version,) = _INT16.unpack_from(key, 0)
    if key_version in (0, 1):
        ok = OffsetCommitKey.decode(key[2:], key_version)
        return OffsetCommitRecord(ok.group, ok.topic, ok.partition, None if value is None else _offset(value))
    if key_version == GROUP_METADATA_KEY_VERSION:
        gk = GroupMetadataKey.decode(key[2:], key_version)
        return GroupMetadataRecord(gk.group, None if value is None else _snapshot(value))
    return None


def _value_version(value: bytes) -> int:
    if len(value) < 2:
        raise DecodeError("coordinator record value shorter than its version")
    (version,) = _INT16.unpack_from(value, 0)
    return int(version)


def _offset(value: bytes) -> OffsetAndMetadata:
    v = OffsetCommitValue.decode(value[2:], _value_version(value))
    return OffsetAndMetadata(
        v.offset,
        v.leader_epoch,
        v.metadata,
        v.commit_timestamp,
        None if v.expire_timestamp < 0 else v.expire_timestamp,
    )


def _snapshot(value: bytes) -> GroupSnapshot:
    v = GroupMetadataValue.decode(value[2:], _value_version(value))
    return GroupSnapshot(
        protocol_type=v.protocol_type,
        generation=v.generation,
        protocol=v.protocol,
        leader=v.leader,
        current_state_timestamp=v.current_state_timestamp,
        members=tuple(
            MemberSnapshot(
                m.member_id,
                m.group_instance_id,
                m.client_id,
                m.client_host,
                # v0 values have no rebalance timeout: Kafka takes the session timeout
                m.session_timeout if m.rebalance_timeout < 0 else m.rebalance_timeout,
                m.session_timeout,
                bytes(m.subscription),
                bytes(m.assignment),
            )
            for m in v.members
        ),
    )


def build_batches(records: Sequence[Record], max_batch_bytes: int, now_ms: int) -> list[bytes]:
    """``records`` as uncompressed batches of at most about ``max_batch_bytes`` each (a single
    record larger than that still gets a batch of its own, which the log then refuses)."""
    batches: list[bytes] = []
    chunk: list[RecordSpec] = []
    size = HEADER_SIZE
    for record in records:
        key, value = encode_record(record)
        # record framing: length, attributes, deltas, key/value lengths, header count
        record_size = len(key) + (len(value) if value is not None else 0) + 24
        if chunk and size + record_size > max_batch_bytes:
            batches.append(build_batch(chunk))
            chunk, size = [], HEADER_SIZE
        chunk.append(RecordSpec(key, value, timestamp=now_ms))
        size += record_size
    if chunk:
        batches.append(build_batch(chunk))
    return batches


def group_append_error(error: ErrorCode) -> ErrorCode:
    """Kafka's mapping of a failed group metadata append to the JoinGroup/SyncGroup error."""
    if error in (
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        ErrorCode.NOT_ENOUGH_REPLICAS,
        ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        ErrorCode.REQUEST_TIMED_OUT,
    ):
        return ErrorCode.COORDINATOR_NOT_AVAILABLE
    if error in (ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.KAFKA_STORAGE_ERROR):
        return ErrorCode.NOT_COORDINATOR
    if error in (ErrorCode.MESSAGE_TOO_LARGE, ErrorCode.RECORD_LIST_TOO_LARGE, ErrorCode.INVALID_FETCH_SIZE):
        return ErrorCode.UNKNOWN_SERVER_ERROR
    return error


def offset_append_error(error: ErrorCode) -> ErrorCode:
    """Kafka's mapping of a failed offset commit append to the OffsetCommit partition error."""
    if error in (ErrorCode.MESSAGE_TOO_LARGE, ErrorCode.RECORD_LIST_TOO_LARGE, ErrorCode.INVALID_FETCH_SIZE):
        return ErrorCode.INVALID_COMMIT_OFFSET_SIZE
    return group_append_error(error)


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


# -- the service ---------------------------------------------------------------------------


class _Shard:
    """The groups of one led ``__consumer_offsets`` partition."""

    __slots__ = ("coordinator", "index", "load_task", "loading", "outbox")

    def __init__(self, index: int, coordinator: GroupCoordinator) -> None:
        self.index = index
        self.coordinator = coordinator
        self.loading = True
        self.load_task: asyncio.Task[None] | None = None
        # responses resolved by the current call, released once its records are appended
        self.outbox: list[Callable[[ErrorCode], None]] = []


def _failed_join(result: JoinResult, error: ErrorCode) -> JoinResult:
    return result if result.error != ErrorCode.NONE else JoinResult.failure(result.member_id, error)


def _failed_sync(result: SyncResult, error: ErrorCode) -> SyncResult:
    return result if result.error != ErrorCode.NONE else SyncResult(error)


class GroupCoordinatorService:
    """The broker's group coordinator: routes each group to its shard and persists its records."""

    def __init__(self, broker: Broker, clock: Callable[[], int] = wall_clock_ms) -> None:
        self._broker = broker
        self._clock = clock
        self.config = GroupCoordinatorConfig.from_properties(broker.config.raw)
        self._shards: dict[int, _Shard] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: int | None = None

    # -- lifecycle and ownership -------------------------------------------------------------

    def start(self) -> None:
        """Load every existing ``__consumer_offsets`` partition this broker leads."""
        topic = self._broker.metadata.get(OFFSETS_TOPIC)
        if topic is not None:
            self._elect_led(topic)

    async def stop(self) -> None:
        for index in list(self._shards):
            await self._resign(index)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = self._timer_at = None

    def _elect_led(self, topic: TopicInfo) -> None:
        for state in topic.partitions.values():
            if state.leader == self._broker.broker_id:
                self.elect(state.index)

    def elect(self, index: int) -> None:
        """This broker became the leader of ``__consumer_offsets`` partition ``index``: load its
        groups (Kafka's ``onElection``)."""
        if index in self._shards:
            return
        shard = _Shard(index, GroupCoordinator(self.config, clock=self._clock))
        shard.coordinator.begin_load()
        self._shards[index] = shard
        shard.load_task = asyncio.get_running_loop().create_task(self._load(shard))

    def resign(self, index: int) -> None:
        """This broker no longer leads partition ``index``: forget its groups (Kafka's
        ``onResignation``); their parked requests get NOT_COORDINATOR."""
        shard = self._shards.pop(index, None)
        if shard is None:
            return
        task = shard.load_task
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()
        shard.coordinator.unload()
        self._commit(shard, ())

    async def _resign(self, index: int) -> None:
        shard = self._shards.get(index)
        task = shard.load_task if shard is not None else None
        self.resign(index)
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    async def _load(self, shard: _Shard) -> None:
        """Replay the partition into the shard, then serve it. A load that fails unexpectedly
        gives the partition up (NOT_COORDINATOR) rather than serve part of its state."""
        started = time.monotonic()
        try:
            records = await self._replay(shard)
        except Exception:
            log.exception("coordinator_load_failed", partition=shard.index)
            self.resign(shard.index)
            return
        coordinator = shard.coordinator
        coordinator.complete_load()
        shard.loading = False
        log.info(
            "coordinator_partition_loaded",
            partition=shard.index,
            groups=len(coordinator.group_ids()),
            records=records,
            ms=round((time.monotonic() - started) * 1000),
        )
        self._commit(shard, ())

    async def _replay(self, shard: _Shard) -> int:
        """Feed every record of the shard's partition to its coordinator; returns the count.
        A batch that does not decode is skipped with a warning."""
        partition = self._broker.replica_manager.get(OFFSETS_TOPIC, shard.index)
        if partition is None:
            return 0
        coordinator = shard.coordinator
        batches = records = 0
        plog = partition.log
        for header, data in plog.batches(None, plog.log_end_offset):
            batches += 1
            if batches % LOAD_BATCHES_PER_STEP == 0:
                await asyncio.sleep(0)
            if header.is_control:
                continue
            try:
                for stored in iter_records(data):
                    if stored.key is None:
                        continue
                    record = decode_record(stored.key, stored.value)
                    if isinstance(record, OffsetCommitRecord):
                        tp = TopicPartition(record.topic, record.partition)
                        coordinator.load_offset(record.group_id, tp, record.value)
                    elif isinstance(record, GroupMetadataRecord):
                        coordinator.load_group(record.group_id, record.value)
                    records += 1
            except DecodeError as exc:
                log.warning(
                    "coordinator_load_skipped_batch",
                    partition=shard.index,
                    offset=header.base_offset,
                    error=str(exc),
                )
        return records

    # -- the offsets topic -------------------------------------------------------------------

    async def _ensure_topic(self, live_brokers: int) -> TopicInfo | None:
        """``__consumer_offsets``, created (and its partitions loaded) if it does not exist yet."""
        broker = self._broker
        topic = broker.metadata.get(OFFSETS_TOPIC)
        if topic is not None:
            return topic
        config = broker.config
        replication = config.get("offsets.topic.replication.factor")
        if broker.zk_membership is None:  # standalone: the one broker holds the only replica
            replication = min(replication, max(live_brokers, 1))
        configs: dict[str, str | None] = {
            "cleanup.policy": "compact",
            "compression.type": "producer",
            "segment.bytes": config.raw.get("offsets.topic.segment.bytes", str(DEFAULT_SEGMENT_BYTES)),
        }
        try:
            count, _ = await broker.topic_admin.create_topic(
                OFFSETS_TOPIC,
                config.get("offsets.topic.num.partitions"),
                replication,
                configs,
                timeout_ms=0,
                require_controller=False,
            )
        except TopicError as exc:
            if exc.code != ErrorCode.TOPIC_ALREADY_EXISTS:
                log.warning("offsets_topic_creation_failed", error=exc.message)
            return None
        log.info("offsets_topic_created", partitions=count, replication_factor=replication)
        topic = broker.metadata.get(OFFSETS_TOPIC)
        if topic is None:
            return None  # a cluster: the controller elects its leaders and the brokers load them
        for index in list(self._shards):  # left from a deleted incarnation of the topic
            self.resign(index)
        self._elect_led(topic)
        return topic

    async def find_coordinator(
        self, group_id: str, listener_name: str
    ) -> tuple[ErrorCode, BrokerEndpoint | None]:
        """FindCoordinator for a group: the leader of the group's partition, reachable through
        ``listener_name``; creates the offsets topic on first use."""
        live = self._broker.live_brokers(listener_name)
        topic = await self._ensure_topic(len(live))
        if topic is None:
            return ErrorCode.COORDINATOR_NOT_AVAILABLE, None
        state = topic.partitions.get(partition_for(group_id, len(topic.partitions)))
        for endpoint in live:
            if state is not None and endpoint.broker_id == state.leader:
                return ErrorCode.NONE, endpoint
        return ErrorCode.COORDINATOR_NOT_AVAILABLE, None

    def _shard_for(self, group_id: str) -> _Shard | ErrorCode:
        topic = self._broker.metadata.get(OFFSETS_TOPIC)
        if topic is None:
            return ErrorCode.NOT_COORDINATOR
        return self._shards.get(partition_for(group_id, len(topic.partitions))) or ErrorCode.NOT_COORDINATOR

    # -- running core calls ------------------------------------------------------------------

    def _watch(
        self, shard: _Shard, pending: Pending[T], on_error: Callable[[T, ErrorCode], T]
    ) -> asyncio.Future[T]:
        """A future for ``pending``, set when the call that resolves it has been persisted."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()

        def resolved(value: T) -> None:
            def release(error: ErrorCode) -> None:
                if not future.done():
                    future.set_result(value if error == ErrorCode.NONE else on_error(value, error))

            shard.outbox.append(release)

        pending.add_done_callback(resolved)
        return future

    def _commit(self, shard: _Shard, records: Sequence[Record]) -> ErrorCode:
        """Append ``records`` then release the responses the call resolved; returns the append
        error as a group error (NONE when there was nothing to write)."""
        waits: list[asyncio.Future[ErrorCode]] = []
        error = self._append(shard, records, waits) if records else ErrorCode.NONE
        outbox, shard.outbox = shard.outbox, []
        self._arm(shard)
        if waits and error == ErrorCode.NONE:
            # acks=all: the responses go out once the in-sync replicas have the records
            asyncio.get_running_loop().create_task(self._release_when_replicated(waits, outbox))
            return error
        mapped = group_append_error(error)
        for release in outbox:
            release(mapped)
        return error

    async def _commit_replicated(self, shard: _Shard, records: Sequence[Record]) -> ErrorCode:
        """:meth:`_commit`, returning once the in-sync replicas have the records (or why not)."""
        waits: list[asyncio.Future[ErrorCode]] = []
        error = self._append(shard, records, waits) if records else ErrorCode.NONE
        outbox, shard.outbox = shard.outbox, []
        self._arm(shard)
        if waits and error == ErrorCode.NONE:
            error = await self._replicated(waits)
        mapped = group_append_error(error)
        for release in outbox:
            release(mapped)
        return error

    async def _replicated(self, waits: list[asyncio.Future[ErrorCode]]) -> ErrorCode:
        replicas = self._broker.replica_manager
        for future in waits:
            error = await replicas.wait_replicated(future, OFFSET_COMMIT_TIMEOUT_MS)
            if error != ErrorCode.NONE:
                return error
        return ErrorCode.NONE

    async def _release_when_replicated(
        self, waits: list[asyncio.Future[ErrorCode]], outbox: list[Callable[[ErrorCode], None]]
    ) -> None:
        mapped = group_append_error(await self._replicated(waits))
        for release in outbox:
            release(mapped)

    def _append(
        self, shard: _Shard, records: Sequence[Record], waits: list[asyncio.Future[ErrorCode]]
    ) -> ErrorCode:
        partition = self._broker.replica_manager.get(OFFSETS_TOPIC, shard.index)
        if partition is None:
            return ErrorCode.NOT_LEADER_OR_FOLLOWER
        for batch in build_batches(records, partition.config.max_message_bytes, self._clock()):
            result = partition.append_from_coordinator(batch)
            if result.error != ErrorCode.NONE:
                log.error(
                    "coordinator_append_failed",
                    partition=shard.index,
                    error=result.error.name,
                    message=result.error_message,
                )
                return result.error
            if result.wait is not None:
                waits.append(result.wait)
        return ErrorCode.NONE

    # -- timers ------------------------------------------------------------------------------

    def _arm(self, shard: _Shard) -> None:
        """Move the loop timer earlier if ``shard`` now has an earlier deadline."""
        if shard.loading or self._shards.get(shard.index) is not shard:
            return
        deadline = shard.coordinator.next_deadline()
        if deadline is None or (self._timer_at is not None and self._timer_at <= deadline):
            return
        if self._timer is not None:
            self._timer.cancel()
        delay = max(deadline - self._clock(), 0) / 1000
        self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)
        self._timer_at = deadline

    def _on_timer(self) -> None:
        self._timer = self._timer_at = None
        now = self._clock()
        for shard in list(self._shards.values()):
            deadline = shard.coordinator.next_deadline()
            if not shard.loading and deadline is not None and deadline <= now:
                self._commit(shard, shard.coordinator.tick(now).records)
        for shard in list(self._shards.values()):
            self._arm(shard)

    # -- operations --------------------------------------------------------------------------

    async def join_group(
        self,
        group_id: str,
        member_id: str,
        *,
        protocol_type: str,
        protocols: Sequence[tuple[str, bytes]],
        session_timeout_ms: int,
        rebalance_timeout_ms: int,
        group_instance_id: str | None,
        client_id: str,
        client_host: str,
        require_known_member_id: bool,
        supports_skipping_assignment: bool,
        reason: str | None,
    ) -> JoinResult:
        if not group_id:
            return JoinResult.failure(member_id, ErrorCode.INVALID_GROUP_ID)
        shard = self._shard_for(group_id)
        if isinstance(shard, ErrorCode):
            return JoinResult.failure(member_id, shard)
        call = shard.coordinator.join_group(
            group_id,
            member_id,
            protocol_type=protocol_type,
            protocols=protocols,
            session_timeout_ms=session_timeout_ms,
            rebalance_timeout_ms=rebalance_timeout_ms,
            group_instance_id=group_instance_id,
            client_id=client_id,
            client_host=client_host,
            require_known_member_id=require_known_member_id,
            supports_skipping_assignment=supports_skipping_assignment,
            reason=reason,
        )
        future = self._watch(shard, call.pending, _failed_join)
        self._commit(shard, call.records)
        return await future

    async def sync_group(
        self,
        group_id: str,
        generation_id: int,
        member_id: str,
        *,
        assignments: Mapping[str, bytes],
        group_instance_id: str | None,
        protocol_type: str | None,
        protocol_name: str | None,
    ) -> SyncResult:
        if not group_id:
            return SyncResult(ErrorCode.INVALID_GROUP_ID)
        shard = self._shard_for(group_id)
        if isinstance(shard, ErrorCode):
            return SyncResult(shard)
        call = shard.coordinator.sync_group(
            group_id,
            generation_id,
            member_id,
            assignments=assignments,
            group_instance_id=group_instance_id,
            protocol_type=protocol_type,
            protocol_name=protocol_name,
        )
        future = self._watch(shard, call.pending, _failed_sync)
        self._commit(shard, call.records)
        return await future

    def heartbeat(
        self, group_id: str, generation_id: int, member_id: str, group_instance_id: str | None
    ) -> ErrorCode:
        if not group_id:
            return ErrorCode.INVALID_GROUP_ID
        shard = self._shard_for(group_id)
        if isinstance(shard, ErrorCode):
            return shard
        error = shard.coordinator.heartbeat(group_id, generation_id, member_id, group_instance_id)
        self._commit(shard, ())
        return error

    def leave_group(self, group_id: str, members: Sequence[LeavingMember]) -> LeaveResult:
        if not group_id:
            return LeaveResult(ErrorCode.INVALID_GROUP_ID)
        shard = self._shard_for(group_id)
        if isinstance(shard, ErrorCode):
            return LeaveResult(shard)
        result = shard.coordinator.leave_group(group_id, members)
        self._commit(shard, result.records)
        return result

    async def commit_offsets(
        self,
        group_id: str,
        offsets: Mapping[TopicPartition, PartitionOffset],
        *,
        generation_id: int,
        member_id: str,
        group_instance_id: str | None,
        retention_time_ms: int,
    ) -> dict[TopicPartition, ErrorCode]:
        """OffsetCommit; an empty group id is allowed, as in Kafka."""
        shard = self._shard_for(group_id)
        if isinstance(shard, ErrorCode):
            return dict.fromkeys(offsets, shard)
        result: OffsetCommitResult = shard.coordinator.commit_offsets(
            group_id,
            offsets,
            generation_id=generation_id,
            member_id=member_id,
            group_instance_id=group_instance_id,
            retention_time_ms=retention_time_ms,
        )
        error = await self._commit_replicated(shard, result.records)
        if error == ErrorCode.NONE:
            return result.errors
        failed = offset_append_error(error)
        return {tp: failed if e == ErrorCode.NONE else e for tp, e in result.errors.items()}

    def fetch_offsets(self, group_id: str, partitions: Sequence[TopicPartition] | None) -> OffsetFetchResult:
        """OffsetFetch; ``partitions`` None means all; an empty group id is allowed."""
        shard = self._shard_for(group_id)
        if isinstance(shard, ErrorCode):
            return OffsetFetchResult(shard, {})
        result = shard.coordinator.fetch_offsets(group_id, partitions)
        self._commit(shard, ())
        return result

    def on_partitions_deleted(self, partitions: Collection[TopicPartition]) -> None:
        """A topic was deleted: every loaded group drops its offsets for ``partitions``."""
        for shard in list(self._shards.values()):
            if not shard.loading:
                self._commit(shard, shard.coordinator.on_partitions_deleted(partitions).records)

    def delete_offsets(self, group_id: str, partitions: Sequence[TopicPartition]) -> OffsetDeleteResult:
        if not group_id:
            return OffsetDeleteResult(ErrorCode.INVALID_GROUP_ID, {})
        shard = self._shard_for(group_id)
        if isinstance(shard, ErrorCode):
            return OffsetDeleteResult(shard, {})
        result = shard.coordinator.delete_offsets(group_id, partitions)
        self._commit(shard, result.records)
        return result

    def describe_groups(self, group_ids: Iterable[str]) -> list[GroupDescription]:
        out: list[GroupDescription] = []
        for group_id in group_ids:
            shard = self._shard_for(group_id)
            if isinstance(shard, ErrorCode):
                out.append(GroupDescription(group_id, shard, ""))
            else:
                out.extend(shard.coordinator.describe_groups([group_id]))
        return out

    def list_groups(self, states: Collection[str], types: Collection[str]) -> ListGroupsResult:
        """Every group of every led partition; COORDINATOR_LOAD_IN_PROGRESS (with the groups
        already loaded) while any partition is loading."""
        error = ErrorCode.NONE
        groups: list[GroupOverview] = []
        for shard in self._shards.values():
            result = shard.coordinator.list_groups(states, types)
            if result.error != ErrorCode.NONE:
                error = result.error
            groups.extend(result.groups)
        return ListGroupsResult(error, tuple(groups))

    def delete_groups(self, group_ids: Iterable[str]) -> dict[str, ErrorCode]:
        errors: dict[str, ErrorCode] = {}
        for group_id in group_ids:
            shard = self._shard_for(group_id)
            if isinstance(shard, ErrorCode):
                errors[group_id] = shard
                continue
            result: DeleteGroupsResult = shard.coordinator.delete_groups([group_id])
            self._commit(shard, result.records)
            errors.update(result.errors)
        return errors
