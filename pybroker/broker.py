"""The broker process: configuration, identity, listeners and the state handlers read.

Standalone (no ``zookeeper.connect``) the broker is a one-node cluster and its own controller
(``pybroker.standalone``). In a ZooKeeper cluster it opens a session, mirrors the cluster state
(:class:`~pybroker.cluster.metadata_sync.ZkMetadataSync`) into its metadata cache and partition
roles, follows leaders with the replica fetcher, commits its leaderships' ISR changes to the
partition state znodes, registers itself and stands in the controller election; while elected
it runs the :class:`~pybroker.cluster.controller.Controller`. A SIGTERM stop first asks the
controller to move its leaderships away (controlled shutdown).

The event loop owns all of this state; handlers run on the loop and read it directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from protocol.messages.controlled_shutdown_request import ControlledShutdownRequest
from protocol.messages.controlled_shutdown_response import ControlledShutdownResponse
from pybroker import meta_properties
from pybroker.client import BrokerConnection
from pybroker.cluster import ZkClusterMembership, check_cluster_id, zk_layout
from pybroker.cluster.controller import Controller
from pybroker.cluster.metadata_sync import ZkMetadataSync, live_endpoint
from pybroker.cluster.zk_admin import ZkAdmin
from pybroker.cluster.zk_client import BadVersionError, NoNodeError
from pybroker.config import BrokerConfig
from pybroker.coordinator.group import TopicPartition
from pybroker.coordinator.service import OFFSETS_TOPIC, GroupCoordinatorService
from pybroker.fetch_session import FetchSessionCache
from pybroker.logging import get_logger
from pybroker.metadata import MetadataCache, TopicInfo
from pybroker.partition import Partition
from pybroker.replica_manager import ReplicaManager
from pybroker.replication.fetcher import FetcherConfig, ReplicaFetcherManager
from pybroker.server import KafkaServer
from pybroker.standalone import StandaloneController
from pybroker.topic_admin import StandaloneTopicAdmin, TopicAdmin, ZkTopicAdmin
from storage.config import LogConfig
from storage.log_manager import LogManager

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
        # the disk waits of storage's periodic duties, one tick's at a time, off the loop
        self._storage_io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="storage-io")
        self.topic_admin: TopicAdmin = StandaloneTopicAdmin(self.controller, self.replica_manager)
        self.zk_membership: ZkClusterMembership | None = None  # set when zookeeper.connect is
        self.zk_sync: ZkMetadataSync | None = None  # the cluster state mirror (ZooKeeper mode)
        self.zk_controller: Controller | None = None  # set while this broker is the active controller
        self._controller_change: asyncio.Task[None] | None = None
        self._roles_ready = False

    @property
    def controller_id(self) -> int:
        if self.zk_membership is not None:
            return self.zk_membership.controller_id
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
        if self.zk_membership is None:
            self.controller.load()
        self.log_manager = LogManager.from_broker_properties(
            self.config.log_dirs, self.config.raw, config_for=self._config_for_topic
        )
        self.replica_manager.log_manager = self.log_manager
        if self.zk_membership is None:
            hosted = {(t.name, p) for t in self.metadata.topics.values() for p in t.partitions}
            self.log_manager.delete_orphans(hosted)
            for topic in list(self.metadata.topics.values()):
                self.replica_manager.ensure_partitions(topic)
            self.group_coordinator.start()  # group coordinator: load the __consumer_offsets partitions led here
        else:
            await self._zk_load()
        self._every(1000, self._tick)
        max_lag = self.config.get("replica.lag.time.max.ms")
        self._every(max(max_lag // 2, 10), self._shrink_isr)
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
        """Storage's periodic duties (retention, flushes, checkpoints) when they are due; the
        disk waits (fsync of rolled segments, checkpoint files, removing deleted partitions'
        directories) run in the storage-io thread while the event loop serves requests, then
        their results are committed here."""
        assert self.log_manager is not None
        io = self.log_manager.tick_io()
        if io:
            await asyncio.get_running_loop().run_in_executor(self._storage_io, io.run)
        io.commit()

    async def _shrink_isr(self) -> None:
        self.replica_manager.maybe_shrink_isr(self.config.get("replica.lag.time.max.ms"))

    # -- ZooKeeper cluster (zookeeper.connect) -------------------------------------------------

    async def _zk_connect(self) -> str | None:
        """Open the ZooKeeper session; returns its cluster id (checked against meta.properties)."""
        connect = self.config.get("zookeeper.connect")
        if not connect:
            return None
        self.zk_membership = ZkClusterMembership(
            connect,
            session_timeout_ms=self.config.get("zookeeper.session.timeout.ms"),
            connection_timeout_ms=self.config.get("zookeeper.connection.timeout.ms"),
            on_elected=self._on_elected,
            on_resigned=self._on_resigned,
        )
        cluster_id = await self.zk_membership.connect()
        try:
            check_cluster_id(cluster_id, self.config.log_dirs)
        except BaseException:
            await self.zk_membership.stop()
            raise
        return cluster_id

    async def _zk_load(self) -> None:
        """Mirror the cluster state, drop local logs of replicas this broker no longer holds,
        then take the roles ZooKeeper says this broker has."""
        membership = self.zk_membership
        assert membership is not None and self.log_manager is not None
        config = self.config
        self.topic_admin = ZkTopicAdmin(
            ZkAdmin(membership.zk),
            membership,
            self.metadata,
            lambda: self.broker_id,
            lambda: (config.get("num.partitions"), config.get("default.replication.factor")),
        )
        self.replica_manager.fetchers = ReplicaFetcherManager(
            self.broker_id,
            self._inter_broker_address,
            FetcherConfig(
                wait_max_ms=config.get("replica.fetch.wait.max.ms"),
                min_bytes=config.get("replica.fetch.min.bytes"),
                max_bytes=config.get("replica.fetch.max.bytes"),
                response_max_bytes=config.get("replica.fetch.response.max.bytes"),
                backoff_ms=config.get("replica.fetch.backoff.ms"),
                socket_timeout_ms=config.get("replica.socket.timeout.ms"),
            ),
        )
        self.replica_manager.isr_writer = self._write_isr
        self.replica_manager.on_leadership = self._on_leadership
        self.zk_sync = ZkMetadataSync(membership.zk, self)
        await self.zk_sync.start()
        sync = self.zk_sync
        hosted = {
            (name, p)
            for name, assignment in sync.assignments.items()
            for p, replicas in assignment.partitions.items()
            if self.broker_id in replicas
        }
        self.log_manager.delete_orphans(hosted)
        self._roles_ready = True
        self.on_cluster_change(set(sync.assignments), set(), True)

    def on_cluster_change(self, changed: set[str], deleted: set[str], brokers_changed: bool) -> None:
        """The ZooKeeper mirror changed: refresh the metadata cache and this broker's roles."""
        sync = self.zk_sync
        if sync is None or not self._roles_ready:
            return
        for name in deleted:
            info = self.metadata.remove(name)
            if info is not None:
                self.replica_manager.remove_topic(info)
                self.group_coordinator.on_partitions_deleted(
                    [TopicPartition(name, p) for p in info.partitions]
                )
                log.info("topic deleted", topic=name)
        for name in sorted(changed):
            info = sync.topic_info(name)
            if info is None:
                continue
            old = self.metadata.get(name)
            if old is not None and old.topic_id != info.topic_id:  # deleted and created again
                self.metadata.remove(name)
                self.replica_manager.remove_topic(old)
            self.metadata.put(info)
            if old is not None and old.configs != info.configs:
                self.replica_manager.reconfigure(info)
            for index, state in info.partitions.items():
                version = sync.state_version(name, index)
                if version < 0:
                    continue  # no state znode yet: the controller has not elected a leader
                self.replica_manager.apply_partition(info, state, version)

    def on_session_lost(self) -> None:
        """ZooKeeper session gone: this broker may have been replaced as leader anywhere."""
        self.replica_manager.fence_all()

    def _on_leadership(self, topic: str, index: int, leads: bool) -> None:
        if topic == OFFSETS_TOPIC:
            if leads:
                self.group_coordinator.elect(index)
            else:
                self.group_coordinator.resign(index)

    async def _write_isr(self, partition: Partition, new_isr: list[int]) -> bool:
        """Commit a led partition's new ISR to its state znode, fenced by the znode version the
        leadership came with (Kafka's pre-AlterPartition ZooKeeper path)."""
        sync, membership = self.zk_sync, self.zk_membership
        assert sync is not None and membership is not None
        current = sync.states.get(partition.key)
        state = zk_layout.PartitionState(
            leader=self.broker_id,
            leader_epoch=partition.leader_epoch,
            isr=sorted(new_isr),
            controller_epoch=current.controller_epoch if current is not None else 0,
        )
        path = zk_layout.partition_state_path(partition.topic, partition.index)
        try:
            stat = await membership.zk.set(
                path, zk_layout.encode_partition_state(state), partition.zk_version
            )
        except (BadVersionError, NoNodeError):
            log.info("ISR change fenced", topic=partition.topic, partition=partition.index, isr=new_isr)
            return False
        except Exception as exc:
            log.warning("ISR change failed", topic=partition.topic, partition=partition.index, error=str(exc))
            return False
        partition.zk_version = stat.version
        sync.record_state(
            partition.topic,
            partition.index,
            zk_layout.PartitionState(
                state.leader,
                state.leader_epoch,
                state.isr,
                state.controller_epoch,
                partition_epoch=stat.version,
            ),
        )
        log.info("ISR changed", topic=partition.topic, partition=partition.index, isr=state.isr)
        return True

    def _inter_broker_address(self, broker_id: int) -> tuple[str, int] | None:
        if self.zk_sync is None:
            return None
        name = self.config.get("inter.broker.listener.name")
        names = [name] if name else [ln.name for ln in self.config.advertised_listeners]
        return live_endpoint(self.zk_sync.brokers.get(broker_id), names)

    def _on_elected(self, epoch: int) -> None:
        self._switch_controller(True)

    def _on_resigned(self) -> None:
        self._switch_controller(False)

    def _switch_controller(self, active: bool) -> None:
        previous = self._controller_change

        async def change() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            if self.zk_controller is not None:
                controller, self.zk_controller = self.zk_controller, None
                await controller.stop()
            membership = self.zk_membership
            if active and membership is not None and membership.election is not None:
                controller = Controller(membership.zk, membership.election, self.config)
                try:
                    await controller.start()
                except Exception:
                    log.exception("controller failed to start")
                    await controller.stop()
                    return
                if membership.is_controller:
                    self.zk_controller = controller
                else:
                    await controller.stop()

        self._controller_change = asyncio.get_running_loop().create_task(change())

    async def _zk_join(self) -> None:
        """Register the bound, advertised endpoints and enter the controller election."""
        if self.zk_membership is None:
            return
        protocols = {ln.name: ln.security_protocol for ln in self.config.advertised_listeners}
        try:
            await self.zk_membership.join(
                self.broker_id,
                self.advertised(),
                protocols,
                self.rack,
                wait_for_stale_ms=self.config.get("zookeeper.session.timeout.ms") + 5000,
            )
        except BaseException:
            await self.zk_membership.stop()
            raise

    async def _controlled_shutdown(self) -> None:
        """Kafka's controlled shutdown: ask the controller to move this broker's leaderships
        away (ControlledShutdown), retrying ``controlled.shutdown.max.retries`` times."""
        membership, sync = self.zk_membership, self.zk_sync
        if membership is None or sync is None or membership.registrar is None:
            return
        config = self.config
        broker_epoch = sync.broker_epochs.get(self.broker_id, -1)
        self.replica_manager.stop_following()
        for attempt in range(config.get("controlled.shutdown.max.retries")):
            if attempt:
                await asyncio.sleep(config.get("controlled.shutdown.retry.backoff.ms") / 1000)
            address = self._inter_broker_address(membership.controller_id)
            if address is None:
                continue
            try:
                conn = await BrokerConnection.connect(*address, client_id=f"broker-{self.broker_id}-shutdown")
                try:
                    response: ControlledShutdownResponse = await conn.request(
                        7,
                        3,
                        ControlledShutdownRequest(broker_id=self.broker_id, broker_epoch=broker_epoch),
                        timeout=config.get("replica.socket.timeout.ms") / 1000,
                    )
                finally:
                    await conn.close()
            except (OSError, ConnectionError, TimeoutError) as exc:
                log.info("controlled shutdown attempt failed", attempt=attempt + 1, error=str(exc))
                continue
            remaining = [(t.topic_name, t.partition_index) for t in response.remaining_partitions]
            if response.error_code == 0 and not remaining:
                log.info("controlled shutdown succeeded")
                return
            log.info(
                "controlled shutdown incomplete",
                attempt=attempt + 1,
                error=response.error_code,
                remaining=len(remaining),
            )
        log.warning("controlled shutdown failed; shutting down anyway")

    # -- end of ZooKeeper cluster ------------------------------------------------------------

    async def stop(self, controlled: bool = False) -> None:
        if controlled and self.config.get("controlled.shutdown.enable"):
            await self._controlled_shutdown()
        if self.zk_controller is not None:
            await self.zk_controller.stop()
            self.zk_controller = None
        if self.zk_sync is not None:
            await self.zk_sync.stop()
        if self.zk_membership is not None:  # ZooKeeper membership: leave first
            await self.zk_membership.stop()
        if self.replica_manager.fetchers is not None:
            await self.replica_manager.fetchers.close()
        await self.server.stop()
        await self.group_coordinator.stop()  # group coordinator: unload before the partitions close
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # a tick's disk work may still run in its thread: let it end before the logs close
        await asyncio.get_running_loop().run_in_executor(None, self._storage_io.shutdown)
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
        if self.zk_sync is not None:
            result = []
            for broker_id, registration in sorted(self.zk_sync.brokers.items()):
                ep = registration.endpoint(listener_name)
                if ep is not None and ep.host is not None:
                    result.append(BrokerEndpoint(broker_id, ep.host, ep.port, registration.rack))
            return result
        endpoint = self.advertised().get(listener_name)
        if endpoint is None:
            return []
        return [BrokerEndpoint(self.broker_id, endpoint[0], endpoint[1], self.rack)]
