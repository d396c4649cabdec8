"""Topic administration through ZooKeeper, usable from any broker: Kafka's ``AdminZkClient`` and the
ZooKeeper half of ``ZkAdminManager``.

Writes, as Kafka does (formats in :mod:`pybroker.cluster.zk_layout`):

create_topic
    ``/config/topics/<t>`` (set or created), then ``/brokers/topics/<t>`` created with the
    assignment and a new topic id. The controller sees the topic appear and creates the partition
    state znodes; until then the topic has no leaders.
delete_topic
    ``/admin/delete_topics/<t>``; the controller does the deletion.
create_partitions
    ``/brokers/topics/<t>`` rewritten (conditionally on its version) with the added partitions.
set_topic_config
    ``/config/topics/<t>`` plus a ``/config/changes/config_change_<seq>`` notification.
allocate_producer_ids
    the next block of 1000 in ``/latest_producer_id_block``, version-fenced (Kafka's
    ``ZkProducerIdManager.getNewProducerIdBlock``).

Failures raise :class:`pybroker.standalone.TopicError` with Kafka's error code and message.
Where Kafka throws an ``AdminOperationException`` (brokers of which only some have a rack,
partition 0 missing) the code is UNKNOWN_SERVER_ERROR, which Kafka sends with a null message.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping

from protocol.error_codes import ErrorCode
from protocol.uuid_text import new_uuid_text
from pybroker.cluster import zk_layout as L
from pybroker.cluster.assignment import (
    BrokerMetadata,
    assign_replicas_to_brokers,
    broker_metadatas,
    start_index_for_new_partitions,
)
from pybroker.cluster.zk_client import BadVersionError, NodeExistsError, NoNodeError, ZkClient
from pybroker.logging import get_logger
from pybroker.standalone import TopicError, validate_topic_configs, validate_topic_name

log = get_logger("pybroker.cluster.zk_admin")

PRODUCER_ID_BLOCK_SIZE = 1000
_MAX_RETRIES = 50
_GETBROKERS_RACK_MESSAGE = (
    "Not all brokers have rack information. Add --disable-rack-aware in command line to make replica "
    "assignment without rack information."
)


def _has_collision_chars(topic: str) -> bool:
    return "." in topic or "_" in topic


def _collides(a: str, b: str) -> bool:
    return a.replace(".", "_") == b.replace(".", "_")


def _fmt(values: Iterable[object]) -> str:
    return ", ".join(str(v) for v in values)


class ZkAdmin:
    """Topic admin operations over one broker's ZooKeeper session (see the module docstring)."""

    def __init__(self, zk: ZkClient) -> None:
        self.zk = zk

    # -- reads -----------------------------------------------------------------------------------

    async def live_brokers(self) -> dict[int, L.BrokerRegistration]:
        """The registered brokers, by id."""
        out: dict[int, L.BrokerRegistration] = {}
        for broker_id in L.sorted_broker_ids(await self.zk.get_children(L.BROKER_IDS)):
            got = await self.zk.get_or_none(L.broker_path(broker_id))
            if got is not None:
                out[broker_id] = L.decode_broker(broker_id, got[0])
        return out

    async def _broker_metadatas(self) -> list[BrokerMetadata]:
        return broker_metadatas((b.broker_id, b.rack) for b in (await self.live_brokers()).values())

    async def _topic(self, name: str) -> tuple[L.TopicAssignment, int] | None:
        got = await self.zk.get_or_none(L.topic_path(name))
        if got is None:
            return None
        return L.decode_topic(name, got[0]), got[1].version

    # -- topics ----------------------------------------------------------------------------------

    async def create_topic(
        self,
        name: str,
        num_partitions: int,
        replication_factor: int,
        configs: Mapping[str, str | None],
        assignment: Mapping[int, list[int]] | None = None,
        *,
        default_partitions: int,
        default_replication_factor: int,
        validate_only: bool = False,
    ) -> L.TopicAssignment:
        """Validate and (unless ``validate_only``) create a topic; returns its assignment.

        ``-1`` partitions / replication factor take the defaults; a non-empty ``assignment``
        (partition -> replicas) excludes both.
        """
        validate_topic_name(name)
        if await self.zk.exists(L.topic_path(name)) is not None:
            raise TopicError(ErrorCode.TOPIC_ALREADY_EXISTS, f"Topic '{name}' already exists.")
        null_configs = [k for k, v in configs.items() if v is None]
        if null_configs:
            raise TopicError(
                ErrorCode.INVALID_CONFIG,
                f"Null value not supported for topic configs: {','.join(null_configs)}",
            )
        if assignment and (num_partitions != -1 or replication_factor != -1):
            raise TopicError(
                ErrorCode.INVALID_REQUEST,
                "Both numPartitions or replicationFactor and replicasAssignments were set. "
                "Both cannot be used at the same time.",
            )
        if assignment:
            replicas = {p: list(r) for p, r in assignment.items()}
        else:
            partitions = default_partitions if num_partitions == -1 else num_partitions
            rf = default_replication_factor if replication_factor == -1 else replication_factor
            brokers = sorted(await self._broker_metadatas(), key=lambda b: b.id)
            replicas = assign_replicas_to_brokers(brokers, partitions, rf)
        await self._validate_topic_create(name, replicas)
        validate_topic_configs(configs)
        result = L.TopicAssignment(partitions=replicas, topic_id=new_uuid_text())
        if validate_only:
            return result
        config = {k: v for k, v in configs.items() if v is not None}
        await self._set_or_create_config(name, config)
        try:
            await self.zk.create(L.topic_path(name), L.encode_topic(result))
        except NodeExistsError:
            raise TopicError(ErrorCode.TOPIC_ALREADY_EXISTS, f"Topic '{name}' already exists.") from None
        log.info(
            "created topic",
            topic=name,
            topic_id=result.topic_id,
            assignment={p: replicas[p] for p in sorted(replicas)},
            config=config,
        )
        return result

    async def _validate_topic_create(self, name: str, replicas: Mapping[int, list[int]]) -> None:
        """Kafka's ``AdminZkClient.validateTopicCreate`` (name already checked)."""
        if await self.zk.exists(L.delete_topic_path(name)) is not None:
            raise TopicError(ErrorCode.TOPIC_ALREADY_EXISTS, f"Topic '{name}' is marked for deletion.")
        if await self.zk.exists(L.topic_path(name)) is not None:
            raise TopicError(ErrorCode.TOPIC_ALREADY_EXISTS, f"Topic '{name}' already exists.")
        if _has_collision_chars(name):
            all_topics = await self.zk.get_children(L.BROKER_TOPICS)
            if name in all_topics:
                raise TopicError(ErrorCode.TOPIC_ALREADY_EXISTS, f"Topic '{name}' already exists.")
            colliding = [t for t in all_topics if _collides(name, t)]
            if colliding:
                raise TopicError(
                    ErrorCode.INVALID_TOPIC_EXCEPTION,
                    f"Topic '{name}' collides with existing topics: {_fmt(colliding)}",
                )
        if len({len(r) for r in replicas.values()}) != 1:
            raise TopicError(
                ErrorCode.INVALID_REPLICA_ASSIGNMENT, "All partitions should have the same number of replicas"
            )
        for r in replicas.values():
            if len(r) != len(set(r)):
                shown = ", ".join(f"{p} -> ArrayBuffer({_fmt(reps)})" for p, reps in replicas.items())
                raise TopicError(
                    ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                    f"Duplicate replica assignment found: HashMap({shown})",
                )
        n = len(replicas)
        if sum(p for p in replicas if p >= 0) != n * (n - 1) // 2:
            raise TopicError(
                ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                "partitions should be a consecutive 0-based integer sequence",
            )

    async def _set_or_create_config(self, name: str, config: Mapping[str, str]) -> None:
        path = L.topic_config_path(name)
        data = L.encode_config(config)
        try:
            await self.zk.set(path, data)
        except NoNodeError:
            try:
                await self.zk.create(path, data, makepath=True)
            except NodeExistsError:
                await self.zk.set(path, data)

    async def delete_topic(self, name: str) -> None:
        """Ask the controller to delete ``name`` (idempotent while the deletion is pending)."""
        if await self.zk.exists(L.topic_path(name)) is None:
            raise TopicError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Topic `{name}` to delete does not exist")
        try:
            await self.zk.create(L.delete_topic_path(name), makepath=True)
        except NodeExistsError:
            return  # already marked: Kafka swallows TopicAlreadyMarkedForDeletionException
        log.info("marked topic for deletion", topic=name)

    async def create_partitions(
        self, name: str, count: int, assignment: list[list[int]] | None, *, validate_only: bool = False
    ) -> None:
        """Grow ``name`` to ``count`` partitions (ZkAdminManager.createPartitions' checks and messages)."""
        for _ in range(_MAX_RETRIES):
            brokers = await self._broker_metadatas()
            with_rack = [b for b in brokers if b.rack is not None]
            if with_rack and len(with_rack) < len(brokers):
                raise TopicError(ErrorCode.UNKNOWN_SERVER_ERROR, _GETBROKERS_RACK_MESSAGE)
            broker_ids = [b.id for b in brokers]
            if await self.zk.exists(L.delete_topic_path(name)) is not None:
                raise TopicError(ErrorCode.INVALID_TOPIC_EXCEPTION, "The topic is queued for deletion.")
            got = await self._topic(name)
            if got is None or not got[0].partitions:
                raise TopicError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"The topic '{name}' does not exist.")
            topic, version = got
            if topic.adding_replicas or topic.removing_replicas:
                raise TopicError(
                    ErrorCode.REASSIGNMENT_IN_PROGRESS,
                    f"A partition reassignment is in progress for the topic '{name}'.",
                )
            existing = topic.partitions
            old = len(existing)
            increment = count - old
            if increment < 0:
                raise TopicError(
                    ErrorCode.INVALID_PARTITIONS,
                    f"Topic currently has {old} partitions, which is higher than the requested {count}.",
                )
            if increment == 0:
                raise TopicError(ErrorCode.INVALID_PARTITIONS, f"Topic already has {old} partitions.")
            manual: dict[int, list[int]] | None = None
            if assignment is not None:
                unknown = sorted({b for reps in assignment for b in reps} - set(broker_ids))
                if unknown:
                    raise TopicError(
                        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                        f"Unknown broker(s) in replica assignment: {_fmt(unknown)}.",
                    )
                if len(assignment) != increment:
                    raise TopicError(
                        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                        f"Increasing the number of partitions by {increment} but {len(assignment)} "
                        "assignments provided.",
                    )
                manual = {old + i: list(reps) for i, reps in enumerate(assignment)}
            partition0 = existing.get(0)
            if partition0 is None:
                raise TopicError(
                    ErrorCode.UNKNOWN_SERVER_ERROR,
                    f"Unexpected existing replica assignment for topic '{name}', partition id 0 is missing.",
                )
            if manual is not None:
                self._validate_replica_assignment(manual, len(partition0), set(broker_ids))
                new = manual
            else:
                start = start_index_for_new_partitions(brokers, partition0)
                new = assign_replicas_to_brokers(
                    brokers, increment, len(partition0), fixed_start_index=start, start_partition_id=old
                )
            if validate_only:
                return
            updated = L.TopicAssignment(
                partitions={**existing, **new},
                topic_id=topic.topic_id,
                adding_replicas=topic.adding_replicas,
                removing_replicas=topic.removing_replicas,
            )
            try:
                await self.zk.set(L.topic_path(name), L.encode_topic(updated), version)
            except BadVersionError:
                continue  # changed under us (say the controller set a topic id): look again
            except NoNodeError:
                raise TopicError(
                    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"The topic '{name}' does not exist."
                ) from None
            log.info("added partitions", topic=name, assignment={p: new[p] for p in sorted(new)})
            return
        raise TopicError(
            ErrorCode.UNKNOWN_SERVER_ERROR, f"topic {name} kept changing while adding partitions"
        )

    @staticmethod
    def _validate_replica_assignment(
        replicas: Mapping[int, list[int]], expected_rf: int, available: set[int]
    ) -> None:
        """Kafka's ``AdminZkClient.validateReplicaAssignment``."""
        for p, reps in replicas.items():
            if not reps:
                raise TopicError(
                    ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                    f"Cannot have replication factor of 0 for partition id {p}.",
                )
            if len(reps) != len(set(reps)):
                raise TopicError(
                    ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                    f"Duplicate brokers not allowed in replica assignment: {_fmt(reps)} for partition id {p}.",
                )
            if not set(reps) <= available:
                raise TopicError(
                    ErrorCode.BROKER_NOT_AVAILABLE,
                    f"Some brokers specified for partition id {p} are not available. Specified brokers: "
                    f"{_fmt(reps)}, available brokers: {_fmt(sorted(available))}.",
                )
        bad = sorted((p, len(r)) for p, r in replicas.items() if len(r) != expected_rf)
        if bad:
            raise TopicError(
                ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                f"Inconsistent replication factor between partitions, partition 0 has {expected_rf} while "
                f"partitions [{_fmt(p for p, _ in bad)}] have replication factors [{_fmt(n for _, n in bad)}], "
                "respectively.",
            )

    async def set_topic_config(self, name: str, configs: Mapping[str, str]) -> None:
        """Replace the topic's overrides and notify the brokers (Kafka's ``changeTopicConfig``)."""
        validate_topic_name(name)
        if await self.zk.exists(L.topic_path(name)) is None:
            raise TopicError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Topic '{name}' does not exist.")
        validate_topic_configs(configs)
        await self._set_or_create_config(name, configs)
        await self.zk.ensure_path(L.CONFIG_CHANGES)
        await self.zk.create(
            f"{L.CONFIG_CHANGES}/{L.CONFIG_CHANGE_PREFIX}",
            L.encode_config_change("topics", name),
            sequence=True,
        )
        log.info("changed topic config", topic=name, config=dict(configs))

    # -- producer ids ----------------------------------------------------------------------------

    async def allocate_producer_ids(self, broker_id: int) -> tuple[int, int]:
        """The next block of producer ids for ``broker_id``: ``(first, last)``, both inclusive."""
        while True:
            got = await self.zk.get_or_none(L.PRODUCER_ID_BLOCK)
            if got is None:
                with contextlib.suppress(NodeExistsError):
                    await self.zk.create(L.PRODUCER_ID_BLOCK, makepath=True)
                continue
            data, stat = got
            if data:
                current = L.decode_producer_id_block(data)
                if current.block_end > 2**63 - 1 - PRODUCER_ID_BLOCK_SIZE:
                    raise TopicError(ErrorCode.UNKNOWN_SERVER_ERROR, "Have exhausted all producerIds.")
                start = current.block_end + 1
            else:
                start = 0
            block = L.ProducerIdBlock(broker_id, start, start + PRODUCER_ID_BLOCK_SIZE - 1)
            try:
                await self.zk.set(L.PRODUCER_ID_BLOCK, L.encode_producer_id_block(block), stat.version)
            except BadVersionError:
                continue  # another broker took a block first
            log.info(
                "acquired producer id block", broker=broker_id, start=block.block_start, end=block.block_end
            )
            return block.block_start, block.block_end
