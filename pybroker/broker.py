"""The broker process: configuration, identity, listeners and the state handlers read.

The event loop owns all of this state; handlers run on the loop and read it directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pybroker import meta_properties
from pybroker.config import BrokerConfig
from pybroker.coordinator.service import GroupCoordinatorService
from pybroker.fetch_session import FetchSessionCache
from pybroker.logging import get_logger
from pybroker.metadata import MetadataCache, TopicInfo
from pybroker.replica_manager import ReplicaManager
from pybroker.server import KafkaServer
from pybroker.standalone import StandaloneController
from storage.config import LogConfig
from storage.log_manager import LogManager

if TYPE_CHECKING:
    from pybroker.cluster import ZkClusterMembership

log = get_logger("pybroker.broker")


@dataclass(frozen=True, slots=True)
class BrokerEndpoint:
    """How clients reach one broker through one listener."""

    broker_id: int
    host: str
    port: int
    rack: str | None


class Broker:
    """A single broker. Without ``zookeeper.connect`` it is its own controller (standalone)."""

    def __init__(self, config: BrokerConfig) -> None:
        self.config = config
        self.broker_id = config.broker_id
        self.cluster_id = ""
        self.rack: str | None = config.get("broker.rack")
        self.server = KafkaServer(self)
        self.metadata = MetadataCache()
        self.fetch_sessions = FetchSessionCache(config.get("max.incremental.fetch.session.cache.slots"))
        self.log_defaults = LogConfig.from_broker_properties(config.raw)
        self.log_manager: LogManager | None = None
        self.controller: StandaloneController = StandaloneController(
            self.broker_id, config.log_dirs[0], self.metadata, config.get("num.partitions")
        )
        self.replica_manager = ReplicaManager(self.broker_id, self.metadata, self.topic_config)
        self.group_coordinator = GroupCoordinatorService(self)  # group coordinator: groups and offsets
        self._tasks: list[asyncio.Task[None]] = []
        self.zk_membership: ZkClusterMembership | None = None  # set when zookeeper.connect is

    @property
    def controller_id(self) -> int:
        return self.broker_id

    def topic_config(self, topic: TopicInfo) -> LogConfig:
        """A topic's effective log config: broker defaults overridden by the topic's own."""
        return self.log_defaults.with_overrides(topic.configs) if topic.configs else self.log_defaults

    async def start(self) -> None:
        zk_cluster_id = await self._zk_connect()
        self.broker_id, self.cluster_id = meta_properties.ensure(
            self.config.log_dirs, self.config.broker_id, zk_cluster_id
        )
        self.controller.broker_id = self.replica_manager.broker_id = self.broker_id
        self.controller.load()
        self.log_manager = LogManager.from_broker_properties(
            self.config.log_dirs, self.config.raw, config_for=self._config_for_topic
        )
        self.replica_manager.log_manager = self.log_manager
        hosted = {(t.name, p) for t in self.metadata.topics.values() for p in t.partitions}
        self.log_manager.delete_orphans(hosted)
        for topic in list(self.metadata.topics.values()):
            self.replica_manager.ensure_partitions(topic)
        self.group_coordinator.start()  # group coordinator: load the __consumer_offsets partitions led here
        self._every(1000, self._tick)
        await self.server.start()
        await self._zk_join()
        log.info(
            "broker started",
            broker_id=self.broker_id,
            cluster_id=self.cluster_id,
            listeners=",".join(f"{n}://{h}:{p}" for n, (h, p) in self.advertised().items()),
        )

    def _every(self, interval_ms: int, fn: Callable[[], Awaitable[None]]) -> None:
        async def loop() -> None:
            while True:
                await asyncio.sleep(interval_ms / 1000)
                try:
                    await fn()
                except Exception:
                    log.exception("periodic task failed", task=fn.__name__)

        self._tasks.append(asyncio.get_running_loop().create_task(loop()))

    def _config_for_topic(self, name: str) -> LogConfig:
        topic = self.metadata.get(name)
        return self.topic_config(topic) if topic is not None else self.log_defaults

    async def _tick(self) -> None:
        """Storage's periodic duties (retention, flushes, checkpoints) when they are due."""
        assert self.log_manager is not None
        self.log_manager.tick()

    # -- ZooKeeper membership (zookeeper.connect) ----------------------------------------------
    # Only registration, the controller election and the cluster id for now: topic metadata
    # stays standalone (this broker's own controller) until replication is wired in.

    async def _zk_connect(self) -> str | None:
        """Open the ZooKeeper session; returns its cluster id (checked against meta.properties)."""
        connect = self.config.get("zookeeper.connect")
        if not connect:
            return None
        from pybroker.cluster import ZkClusterMembership, check_cluster_id

        self.zk_membership = ZkClusterMembership(
            connect,
            session_timeout_ms=self.config.get("zookeeper.session.timeout.ms"),
            connection_timeout_ms=self.config.get("zookeeper.connection.timeout.ms"),
        )
        cluster_id = await self.zk_membership.connect()
        try:
            check_cluster_id(cluster_id, self.config.log_dirs)
        except BaseException:
            await self.zk_membership.stop()
            raise
        return cluster_id

    async def _zk_join(self) -> None:
        """Register the bound, advertised endpoints and enter the controller election."""
        if self.zk_membership is None:
            return
        protocols = {ln.name: ln.security_protocol for ln in self.config.advertised_listeners}
        try:
            await self.zk_membership.join(self.broker_id, self.advertised(), protocols, self.rack)
        except BaseException:
            await self.zk_membership.stop()
            raise

    # -- end of ZooKeeper membership ---------------------------------------------------------

    async def stop(self) -> None:
        if self.zk_membership is not None:  # ZooKeeper membership: leave first
            await self.zk_membership.stop()
        await self.server.stop()
        await self.group_coordinator.stop()  # group coordinator: unload before the partitions close
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.replica_manager.close()
        if self.log_manager is not None:
            self.log_manager.close()
        log.info("broker stopped", broker_id=self.broker_id)

    def advertised(self) -> dict[str, tuple[str, int]]:
        """Advertised (host, port) per listener name; port 0 resolves to the bound port."""
        result = {}
        for ln in self.config.advertised_listeners:
            host = ln.host or socket.getfqdn()
            port = ln.port or self.server.bound_ports.get(ln.name, 0)
            result[ln.name] = (host, port)
        return result

    def live_brokers(self, listener_name: str) -> list[BrokerEndpoint]:
        """Brokers reachable through ``listener_name``; standalone: this broker only."""
        endpoint = self.advertised().get(listener_name)
        if endpoint is None:
            return []
        return [BrokerEndpoint(self.broker_id, endpoint[0], endpoint[1], self.rack)]
