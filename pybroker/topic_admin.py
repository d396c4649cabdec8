"""Topic administration as handlers see it, standalone or in a ZooKeeper cluster.

Handlers (CreateTopics, DeleteTopics, CreatePartitions, AlterConfigs, Metadata auto-creation,
FindCoordinator's offsets topic, InitProducerId) call one :class:`TopicAdmin`:

* :class:`StandaloneTopicAdmin`: the broker is its own controller; changes are made and
  persisted locally (``pybroker.standalone``) and take effect at once.
* :class:`ZkTopicAdmin`: changes are written to ZooKeeper as Kafka's ``AdminZkClient`` does
  (``pybroker.cluster.zk_admin``); the controller and every broker act on them through their
  watches. Like Kafka's ``DelayedCreatePartitions``/``DelayedDeleteTopics``, a request waits (up
  to its timeout) until this broker's metadata shows the outcome; REQUEST_TIMED_OUT if it does
  not. CreateTopics, DeleteTopics and CreatePartitions are only served by the active controller
  (NOT_CONTROLLER elsewhere, as in Kafka's ZooKeeper mode); automatic creation works anywhere.

Errors are :class:`~pybroker.standalone.TopicError` with Kafka's codes and messages.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Protocol
from uuid import UUID

from protocol.error_codes import ErrorCode
from pybroker.metadata import MetadataCache, TopicInfo
from pybroker.standalone import StandaloneController, TopicError

if TYPE_CHECKING:
    from pybroker.cluster import ZkClusterMembership
    from pybroker.cluster.zk_admin import ZkAdmin
    from pybroker.replica_manager import ReplicaManager

Assignment = Mapping[int, list[int]]


class TopicAdmin(Protocol):
    async def create_topic(
        self,
        name: str,
        num_partitions: int,
        replication_factor: int,
        configs: Mapping[str, str | None],
        assignment: Assignment | None = None,
        *,
        validate_only: bool = False,
        timeout_ms: int = 30000,
        require_controller: bool = True,
    ) -> tuple[int, UUID | None]:
        """Create (or only validate) a topic; returns its partition count and id (None when
        only validated). -1 partitions / replication factor: the broker defaults."""
        ...

    async def delete_topic(self, name: str, timeout_ms: int = 30000) -> UUID: ...

    async def create_partitions(
        self,
        name: str,
        count: int,
        assignment: list[list[int]] | None,
        *,
        validate_only: bool,
        timeout_ms: int,
    ) -> None: ...

    async def set_topic_configs(self, topic: TopicInfo, overrides: Mapping[str, str]) -> None: ...

    async def allocate_producer_id(self) -> int: ...


class StandaloneTopicAdmin:
    """A one-broker cluster: the local controller decides and this broker hosts everything."""

    def __init__(self, controller: StandaloneController, replicas: ReplicaManager) -> None:
        self.controller = controller
        self.replicas = replicas

    async def create_topic(
        self,
        name: str,
        num_partitions: int,
        replication_factor: int,
        configs: Mapping[str, str | None],
        assignment: Assignment | None = None,
        *,
        validate_only: bool = False,
        timeout_ms: int = 30000,
        require_controller: bool = True,
    ) -> tuple[int, UUID | None]:
        if assignment:  # the handler checked it names this broker only, numbered 0..n-1
            num_partitions, replication_factor = len(assignment), len(next(iter(assignment.values())))
        if validate_only:
            return self.controller.check_create(name, num_partitions, replication_factor, configs), None
        topic = self.controller.create_topic(name, num_partitions, replication_factor, configs)
        self.replicas.ensure_partitions(topic)
        return len(topic.partitions), topic.topic_id

    async def delete_topic(self, name: str, timeout_ms: int = 30000) -> UUID:
        info = self.controller.delete_topic(name)
        self.replicas.remove_topic(info)
        return info.topic_id

    async def create_partitions(
        self,
        name: str,
        count: int,
        assignment: list[list[int]] | None,
        *,
        validate_only: bool,
        timeout_ms: int,
    ) -> None:
        if validate_only:
            self.controller.check_create_partitions(name, count)
        else:
            self.replicas.ensure_partitions(self.controller.create_partitions(name, count))

    async def set_topic_configs(self, topic: TopicInfo, overrides: Mapping[str, str]) -> None:
        self.controller.set_topic_configs(topic.name, overrides)
        self.replicas.reconfigure(topic)

    async def allocate_producer_id(self) -> int:
        return self.controller.allocate_producer_id()


class ZkTopicAdmin:
    """Writes to ZooKeeper, then waits for this broker's metadata to show the result."""

    def __init__(
        self,
        admin: ZkAdmin,
        membership: ZkClusterMembership,
        metadata: MetadataCache,
        broker_id: Callable[[], int],
        defaults: Callable[[], tuple[int, int]],
    ) -> None:
        self.admin = admin
        self.membership = membership
        self.metadata = metadata
        self.broker_id = broker_id
        self.defaults = defaults  # (num.partitions, default.replication.factor)
        self._producer_ids: tuple[int, int] = (0, -1)  # [next, end] of the current block

    def _check_controller(self) -> None:
        if not self.membership.is_controller:
            raise TopicError(ErrorCode.NOT_CONTROLLER, "This is not the correct controller for this cluster.")

    async def _wait(self, done: Callable[[], bool], timeout_ms: int, what: str) -> None:
        deadline = time.monotonic() + timeout_ms / 1000
        while not done():
            if time.monotonic() >= deadline:
                raise TopicError(ErrorCode.REQUEST_TIMED_OUT, f"Timed out waiting for {what}.")
            await asyncio.sleep(0.02)

    def _has_leaders(self, name: str, count: int) -> bool:
        info = self.metadata.get(name)
        return (
            info is not None
            and len(info.partitions) >= count
            and all(p.leader >= 0 for p in info.partitions.values())
        )

    async def create_topic(
        self,
        name: str,
        num_partitions: int,
        replication_factor: int,
        configs: Mapping[str, str | None],
        assignment: Assignment | None = None,
        *,
        validate_only: bool = False,
        timeout_ms: int = 30000,
        require_controller: bool = True,
    ) -> tuple[int, UUID | None]:
        if require_controller:
            self._check_controller()
        default_partitions, default_rf = self.defaults()
        created = await self.admin.create_topic(
            name,
            num_partitions,
            replication_factor,
            configs,
            assignment,
            default_partitions=default_partitions,
            default_replication_factor=default_rf,
            validate_only=validate_only,
        )
        count = len(created.partitions)
        if validate_only:
            return count, None
        if timeout_ms > 0:
            await self._wait(
                lambda: self._has_leaders(name, count), timeout_ms, f"topic {name} to be created"
            )
        info = self.metadata.get(name)
        return count, info.topic_id if info is not None else None

    async def delete_topic(self, name: str, timeout_ms: int = 30000) -> UUID:
        self._check_controller()
        info = self.metadata.get(name)
        await self.admin.delete_topic(name)
        if timeout_ms > 0:
            await self._wait(
                lambda: self.metadata.get(name) is None, timeout_ms, f"topic {name} to be deleted"
            )
        if info is None:
            raise TopicError(
                ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "This server does not host this topic-partition."
            )
        return info.topic_id

    async def create_partitions(
        self,
        name: str,
        count: int,
        assignment: list[list[int]] | None,
        *,
        validate_only: bool,
        timeout_ms: int,
    ) -> None:
        self._check_controller()
        await self.admin.create_partitions(name, count, assignment, validate_only=validate_only)
        if not validate_only and timeout_ms > 0:
            await self._wait(lambda: self._has_leaders(name, count), timeout_ms, f"partitions of {name}")

    async def set_topic_configs(self, topic: TopicInfo, overrides: Mapping[str, str]) -> None:
        await self.admin.set_topic_config(topic.name, overrides)
        await self._wait(lambda: self._configs_are(topic.name, overrides), 10000, f"configs of {topic.name}")

    def _configs_are(self, name: str, overrides: Mapping[str, str]) -> bool:
        info = self.metadata.get(name)
        return info is None or info.configs == dict(overrides)

    async def allocate_producer_id(self) -> int:
        """Ids from blocks reserved in ``/latest_producer_id_block`` (Kafka's ZkProducerIdManager)."""
        next_id, end = self._producer_ids
        if next_id > end:
            next_id, end = await self.admin.allocate_producer_ids(self.broker_id())
        self._producer_ids = (next_id + 1, end)
        return next_id
