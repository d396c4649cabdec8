"""A cluster of real broker processes in ZooKeeper mode, for replication tests.

``BrokerCluster`` starts ``size`` brokers (``broker.id`` 1..N), each a
:class:`~tests.support.broker.BrokerProcess` with its own directory under ``base_dir`` and an
ephemeral loopback port, all joined to one ZooKeeper chroot. Brokers can be killed (``kill -9``),
stopped (SIGTERM: controlled shutdown) and restarted by id; a restart reuses the broker's port, so
``bootstrap`` stays valid for clients across restarts.

Short timeouts make failures detectable within seconds (:data:`CLUSTER_DEFAULTS`); the session
timeout must lie within the test ZooKeeper's [2, 300] ticks (``minSessionTimeout`` is 2 * 200 ms).

Inspection reads ZooKeeper (a kazoo client on the chroot, Kafka's znodes: ``/controller``,
``/brokers/topics/<t>``, ``.../partitions/<p>/state``) or asks one broker directly with a raw
Metadata request. Every ``wait_*`` helper polls until a deadline and fails with an
``AssertionError`` naming what it waited for, the last value seen and the tail of every broker's
log (the full logs stay in ``base_dir``).

A broker's ZooKeeper address can be replaced (``zk_hosts``), e.g. by a
:class:`~tests.support.zookeeper.TcpCutter` relay, to cut that one broker off from ZooKeeper.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from kazoo.client import KazooClient
from kazoo.exceptions import NoNodeError

from protocol.messages import MetadataRequest
from protocol.messages.metadata_request import MetadataRequestTopic
from tests.support.broker import BrokerProcess, roundtrip
from tests.support.zookeeper import ZooKeeperServer

T = TypeVar("T")

UNKNOWN_TOPIC_OR_PARTITION = 3

CLUSTER_DEFAULTS: dict[str, str] = {
    "zookeeper.session.timeout.ms": "5000",
    "zookeeper.connection.timeout.ms": "10000",
    "replica.lag.time.max.ms": "5000",
    "replica.fetch.backoff.ms": "200",
    "offsets.topic.replication.factor": "3",
    "offsets.topic.num.partitions": "5",
    "group.initial.rebalance.delay.ms": "0",
    "controlled.shutdown.retry.backoff.ms": "200",
    "controlled.shutdown.max.retries": "3",
}


@dataclass
class BrokerCluster:
    """``size`` brokers sharing ``zk``'s ``chroot``; see the module docstring."""

    zk: ZooKeeperServer
    chroot: str
    base_dir: Path
    size: int = 3
    overrides: dict[str, str] = field(default_factory=dict)
    zk_hosts: dict[int, str] = field(default_factory=dict)  # broker id -> host:port instead of zk's
    brokers: dict[int, BrokerProcess] = field(default_factory=dict)
    _admin: KazooClient | None = field(default=None, repr=False)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> BrokerCluster:
        """Start every broker (in parallel) and wait until all are registered in ZooKeeper."""
        root = self.zk.client()
        try:
            root.ensure_path(self.chroot)
        finally:
            root.stop()
            root.close()
        for broker_id in range(1, self.size + 1):
            self.brokers[broker_id] = BrokerProcess(
                self.base_dir / f"broker-{broker_id}", overrides=self._overrides(broker_id)
            )
        try:
            with ThreadPoolExecutor(self.size) as pool:
                for future in [pool.submit(b.start, timeout) for b in self.brokers.values()]:
                    future.result()
            self.wait_registered(set(self.brokers), timeout)
        except BaseException:
            self.close()
            raise
        return self

    def _overrides(self, broker_id: int) -> dict[str, str]:
        hosts = self.zk_hosts.get(broker_id, self.zk.hosts)
        return {
            **CLUSTER_DEFAULTS,
            **self.overrides,
            "broker.id": str(broker_id),
            "zookeeper.connect": hosts + self.chroot,
        }

    def close(self) -> None:
        """kill -9 every broker (fast; the chroot is deleted by its fixture) and drop the client."""
        for broker in self.brokers.values():
            with contextlib.suppress(Exception):
                broker.kill()
        if self._admin is not None:
            with contextlib.suppress(Exception):
                self._admin.stop()
            with contextlib.suppress(Exception):
                self._admin.close()
            self._admin = None

    def kill(self, broker_id: int) -> None:
        """kill -9 one broker: its session ends only when ZooKeeper times it out."""
        self.brokers[broker_id].kill()

    def stop(self, broker_id: int, timeout: float = 30.0) -> int | None:
        """SIGTERM one broker (controlled shutdown) and wait; returns its exit status."""
        return self.brokers[broker_id].stop(timeout)

    def restart(self, broker_id: int, timeout: float = 60.0) -> BrokerProcess:
        """Start a stopped or killed broker again on its port, with its data."""
        broker = self.brokers[broker_id]
        if broker.proc is not None:
            raise RuntimeError(f"broker {broker_id} is still running")
        broker.overrides = self._overrides(broker_id)
        deadline = time.monotonic() + timeout
        while True:
            try:
                return broker.start(max(1.0, deadline - time.monotonic()))
            except RuntimeError as exc:
                # a kill -9'd broker's session may still hold /brokers/ids/<id> until it expires
                if "already registered" not in str(exc) or time.monotonic() > deadline:
                    raise
                broker.kill()
                time.sleep(0.5)

    def is_alive(self, broker_id: int) -> bool:
        proc = self.brokers[broker_id].proc
        return proc is not None and proc.poll() is None

    def live_ids(self) -> list[int]:
        return [i for i in self.brokers if self.is_alive(i)]

    @property
    def bootstrap(self) -> str:
        """Every broker's address (ports survive restarts); clients skip the dead ones."""
        return ",".join(b.bootstrap for b in self.brokers.values())

    def address(self, broker_id: int) -> tuple[str, int]:
        broker = self.brokers[broker_id]
        return broker.host, broker.port

    def log_dir(self, broker_id: int) -> Path:
        return self.brokers[broker_id].data_dir / "logs"

    def partition_dirs(self, broker_id: int, topic: str) -> list[Path]:
        """The partition directories ``<topic>-<n>`` in one broker's log dir (not ``-delete`` ones)."""
        log_dir = self.log_dir(broker_id)
        if not log_dir.exists():
            return []
        prefix = topic + "-"
        return sorted(
            d
            for d in log_dir.iterdir()
            if d.is_dir() and d.name.startswith(prefix) and d.name[len(prefix) :].isdigit()
        )

    def logs_tail(self, lines: int = 15) -> str:
        parts = []
        for broker_id, broker in self.brokers.items():
            tail = "\n".join(broker.log().splitlines()[-lines:])
            parts.append(f"--- broker {broker_id} ({broker.log_path}) ---\n{tail}")
        return "\n".join(parts)

    # -- ZooKeeper ---------------------------------------------------------------------------

    @property
    def admin(self) -> KazooClient:
        """A kazoo client on the cluster's chroot (read-mostly; for inspection)."""
        if self._admin is None:
            self._admin = self.zk.client(self.chroot)
        return self._admin

    def _json(self, path: str) -> Any:
        try:
            data, _ = self.admin.get(path)
        except NoNodeError:
            return None
        return json.loads(data) if data else None

    def controller_id(self) -> int | None:
        """``/controller``'s ``brokerid``, or None while there is no controller."""
        value = self._json("/controller")
        return None if value is None else int(value["brokerid"])

    def controller_epoch(self) -> int:
        try:
            return int(self.admin.get("/controller_epoch")[0])
        except NoNodeError:
            return 0

    def registered_ids(self) -> set[int]:
        try:
            return {int(c) for c in self.admin.get_children("/brokers/ids")}
        except NoNodeError:
            return set()

    def assignment(self, topic: str) -> dict[int, list[int]] | None:
        """``/brokers/topics/<t>``'s replica assignment, or None if the topic has no znode."""
        value = self._json(f"/brokers/topics/{topic}")
        return None if value is None else {int(p): list(r) for p, r in value["partitions"].items()}

    def partition_state(self, topic: str, partition: int) -> dict[str, Any] | None:
        """Kafka's ``{"leader","leader_epoch","isr","controller_epoch","version"}`` or None."""
        value: dict[str, Any] | None = self._json(f"/brokers/topics/{topic}/partitions/{partition}/state")
        return value

    def leader(self, topic: str, partition: int) -> int | None:
        state = self.partition_state(topic, partition)
        return None if state is None else int(state["leader"])

    def isr(self, topic: str, partition: int) -> list[int]:
        state = self.partition_state(topic, partition)
        return [] if state is None else sorted(state["isr"])

    # -- raw requests to one broker ----------------------------------------------------------

    def connect(self, broker_id: int, timeout: float = 10.0) -> socket.socket:
        return socket.create_connection(self.address(broker_id), timeout=timeout)

    def metadata(self, broker_id: int, topics: Iterable[str] | None = None) -> Any:
        """A Metadata v12 request to ``broker_id`` (no auto-creation); None for every topic."""
        request = MetadataRequest(
            topics=None if topics is None else [MetadataRequestTopic(name=t) for t in topics],
            allow_auto_topic_creation=False,
        )
        with self.connect(broker_id, timeout=5.0) as sock:
            return roundtrip(sock, 3, 12, request)

    # -- waiting -----------------------------------------------------------------------------

    def wait_for(self, what: str, probe: Callable[[], T | None], timeout: float, interval: float = 0.1) -> T:
        """Call ``probe`` until it returns something other than None/False; returns that value.

        Exceptions from ``probe`` count as "not yet" (brokers and ZooKeeper come and go)."""
        deadline = time.monotonic() + timeout
        last: object = None
        while True:
            try:
                value = probe()
                if value is not None and value is not False:
                    return value
                last = value
            except Exception as exc:
                last = exc
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {what} (last: {last!r})\n{self.logs_tail()}"
                )
            time.sleep(interval)

    def wait_registered(self, ids: set[int], timeout: float = 30.0) -> None:
        """Until exactly ``ids`` are registered under ``/brokers/ids``."""
        self.wait_for(
            f"brokers {sorted(ids)} registered", lambda: self.registered_ids() == ids or None, timeout
        )

    def wait_controller(self, timeout: float = 30.0, exclude: Iterable[int] = ()) -> int:
        """Until some broker (not in ``exclude``) is the controller; returns its id."""
        excluded = set(exclude)

        def probe() -> int | None:
            cid = self.controller_id()
            return cid if cid is not None and cid not in excluded else None

        return self.wait_for(f"a controller not in {sorted(excluded)}", probe, timeout)

    def wait_leader(
        self, topic: str, partition: int, timeout: float = 30.0, exclude: Iterable[int] = ()
    ) -> int:
        """Until ZooKeeper names a leader for the partition (not in ``exclude``); returns it."""
        excluded = set(exclude)

        def probe() -> int | None:
            leader = self.leader(topic, partition)
            return leader if leader is not None and leader >= 0 and leader not in excluded else None

        return self.wait_for(f"a leader of {topic}-{partition} not in {sorted(excluded)}", probe, timeout)

    def wait_isr(
        self, topic: str, partition: int, members: Iterable[int] | int, timeout: float = 60.0
    ) -> list[int]:
        """Until the partition's ISR in ZooKeeper is exactly ``members`` (or has that many)."""
        if isinstance(members, int):
            size = members

            def probe() -> list[int] | None:
                isr = self.isr(topic, partition)
                return isr if len(isr) == size else None

            what = f"{topic}-{partition}'s ISR to have {size} members"
        else:
            wanted = sorted(members)

            def probe() -> list[int] | None:
                isr = self.isr(topic, partition)
                return isr if isr == wanted else None

            what = f"{topic}-{partition}'s ISR to be {wanted}"
        return self.wait_for(what, probe, timeout)

    def wait_all_isr(
        self, topic: str, partitions: int, members: Iterable[int] | int, timeout: float = 60.0
    ) -> None:
        deadline = time.monotonic() + timeout
        for p in range(partitions):
            self.wait_isr(topic, p, members, max(0.5, deadline - time.monotonic()))

    def wait_topic_ready(
        self, topic: str, partitions: int, timeout: float = 30.0, brokers: Iterable[int] | None = None
    ) -> dict[int, int]:
        """Until every live broker's Metadata (or ``brokers``'s) shows ``topic`` with ``partitions``
        partitions, each led by a live broker, all answers agreeing; returns {partition: leader}."""

        def probe() -> dict[int, int] | None:
            ids = list(brokers) if brokers is not None else self.live_ids()
            live = set(self.live_ids())
            seen: dict[int, int] | None = None
            for broker_id in ids:
                resp = self.metadata(broker_id, [topic])
                (t,) = resp.topics
                if t.error_code != 0 or len(t.partitions) != partitions:
                    return None
                leaders = {p.partition_index: p.leader_id for p in t.partitions}
                if any(p.error_code != 0 for p in t.partitions) or not set(leaders.values()) <= live:
                    return None
                if seen is not None and leaders != seen:
                    return None
                seen = leaders
            return seen

        return self.wait_for(
            f"{topic} ({partitions} partitions) led on every broker's Metadata", probe, timeout
        )

    def wait_topic_gone(self, topic: str, timeout: float = 30.0) -> None:
        """Until every live broker's Metadata answers UNKNOWN_TOPIC_OR_PARTITION for ``topic``."""

        def probe() -> bool:
            for broker_id in self.live_ids():
                (t,) = self.metadata(broker_id, [topic]).topics
                if t.error_code != UNKNOWN_TOPIC_OR_PARTITION:
                    return False
            return True

        self.wait_for(f"{topic} gone from every broker's Metadata", probe, timeout)


# -- clients ------------------------------------------------------------------------------------


def create_topic(
    bootstrap: str,
    topic: str,
    partitions: int = 1,
    replication_factor: int = 3,
    config: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> None:
    """CreateTopics through confluent-kafka's AdminClient; raises on any error."""
    from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

    admin = AdminClient({"bootstrap.servers": bootstrap})
    new = NewTopic(topic, partitions, replication_factor, config=config or {})
    admin.create_topics([new], operation_timeout=timeout, request_timeout=timeout)[topic].result(timeout)


def ready_topic(cluster: BrokerCluster, topic: str, partitions: int = 1, **config: str) -> dict[int, int]:
    """Create an RF3 topic (``config`` keys with ``_`` for ``.``), wait until every broker's Metadata
    shows it led and every ISR holds the three brokers; returns {partition: leader}."""
    configs = {k.replace("_", "."): v for k, v in config.items()}
    create_topic(cluster.bootstrap, topic, partitions, replication_factor=3, config=configs)
    leaders = cluster.wait_topic_ready(topic, partitions)
    cluster.wait_all_isr(topic, partitions, 3, timeout=30)
    return leaders


def delete_topic(bootstrap: str, topic: str, timeout: float = 30.0) -> None:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.delete_topics([topic], operation_timeout=timeout, request_timeout=timeout)[topic].result(timeout)


def produce_raw(
    sock: socket.socket,
    topic: str,
    partition: int,
    values: Iterable[bytes],
    acks: int = -1,
    timeout_ms: int = 5000,
) -> Any:
    """One Produce v9 request with one batch of ``values`` (no keys); its partition response."""
    from protocol.messages import ProduceRequest
    from protocol.messages.produce_request import PartitionProduceData, TopicProduceData
    from protocol.records import RecordSpec, build_batch

    records = build_batch([RecordSpec(None, v) for v in values])
    request = ProduceRequest(
        acks=acks,
        timeout_ms=timeout_ms,
        topic_data=[
            TopicProduceData(
                name=topic, partition_data=[PartitionProduceData(index=partition, records=records)]
            )
        ],
    )
    return roundtrip(sock, 0, 9, request).responses[0].partition_responses[0]  # type: ignore[attr-defined]


def read_partition_dir(directory: Path) -> list[tuple[int, bytes | None]]:
    """(offset, value) of every record in a partition directory's segments, read from disk.

    A torn or still-being-written tail is ignored (only whole batches are decoded)."""
    from protocol.records import iter_batches, iter_records

    out: list[tuple[int, bytes | None]] = []
    for segment in sorted(directory.glob("*.log")):
        data = segment.read_bytes()
        with contextlib.suppress(Exception):
            for pos, _header in iter_batches(data, allow_partial_tail=True):
                out.extend((r.offset, r.value) for r in iter_records(data, pos))
    return out


__all__ = [
    "CLUSTER_DEFAULTS",
    "BrokerCluster",
    "create_topic",
    "delete_topic",
    "produce_raw",
    "read_partition_dir",
]
