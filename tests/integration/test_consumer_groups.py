"""Consumer groups against one real broker: the group coordinator with stock clients.

Group members of confluent-kafka (librdkafka), kafka-python and aiokafka run as subprocesses of
this very module (``python -m tests.integration.test_consumer_groups member ...``), so a member
can be stopped cleanly (LeaveGroup) or killed with SIGKILL (its session must time out). Each
member prints one JSON line per event: its assignment with the generation it belongs to, every
batch of records it got (then commits synchronously), its revocations. With those the tests
check, per client, that three members split a 6-partition topic into disjoint parts covering
it, that a member leaving and a member dying both move their partitions to the others, that
every record is delivered and that no record reaches two members of the same generation. Other
tests cover commits surviving a broker restart (consumers resume exactly after them, and the
``__consumer_offsets`` records are Kafka's formats), librdkafka's cooperative-sticky incremental
rebalances, a static member restarted within its session timeout, groups mixing the clients,
the admin clients' views (describe, list, offsets and lag, offset and group deletion), every
advertised version of every group API on a raw socket, and moving a ``__consumer_offsets``
partition's groups away from and back to the coordinator (unload and reload).

The brokers run with ``group.initial.rebalance.delay.ms=0`` and a low
``group.min.session.timeout.ms`` so that rebalances and session expiry take a second or two.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import struct
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from protocol.coordinator_records import (
    GroupMetadataKey,
    GroupMetadataValue,
    OffsetCommitKey,
    OffsetCommitValue,
)
from protocol.error_codes import ErrorCode
from protocol.messages.api_versions_request import ApiVersionsRequest
from protocol.messages.consumer_protocol_assignment import ConsumerProtocolAssignment
from protocol.messages.consumer_protocol_assignment import TopicPartition as AssignedPartitions
from protocol.messages.consumer_protocol_subscription import ConsumerProtocolSubscription
from protocol.messages.delete_groups_request import DeleteGroupsRequest
from protocol.messages.describe_groups_request import DescribeGroupsRequest
from protocol.messages.find_coordinator_request import FindCoordinatorRequest
from protocol.messages.heartbeat_request import HeartbeatRequest
from protocol.messages.join_group_request import JoinGroupRequest, JoinGroupRequestProtocol
from protocol.messages.leave_group_request import LeaveGroupRequest, MemberIdentity
from protocol.messages.list_groups_request import ListGroupsRequest
from protocol.messages.metadata_request import MetadataRequest
from protocol.messages.offset_commit_request import (
    OffsetCommitRequest,
    OffsetCommitRequestPartition,
    OffsetCommitRequestTopic,
)
from protocol.messages.offset_delete_request import (
    OffsetDeleteRequest,
    OffsetDeleteRequestPartition,
    OffsetDeleteRequestTopic,
)
from protocol.messages.offset_fetch_request import (
    OffsetFetchRequest,
    OffsetFetchRequestGroup,
    OffsetFetchRequestTopic,
    OffsetFetchRequestTopics,
)
from protocol.messages.sync_group_request import SyncGroupRequest, SyncGroupRequestAssignment
from pybroker.broker import Broker
from pybroker.config import BrokerConfig
from pybroker.coordinator import PartitionOffset, TopicPartition
from pybroker.coordinator.service import OFFSETS_TOPIC, java_string_hashcode, partition_for
from pybroker.handlers import HANDLERS
from tests.support.broker import REPO, BrokerProcess, roundtrip

pytestmark = pytest.mark.timeout(120)

CLIENTS = ["confluent", "kafka-python", "aiokafka"]
PARTITIONS = 6
SESSION_MS = 2000
HEARTBEAT_MS = 250
GROUP_OVERRIDES = {"group.initial.rebalance.delay.ms": "0", "group.min.session.timeout.ms": "500"}
WAIT_S = 30.0


# -- the member subprocess -------------------------------------------------------------------


def _emit(**event: Any) -> None:
    print(json.dumps(event), flush=True)


def _confluent_generation(consumer: Any) -> int:
    """librdkafka's serialized group metadata: b"CGMDv2:", then the generation (native int32)."""
    data: bytes = consumer.consumer_group_metadata()
    (generation,) = struct.unpack_from("=i", data, 7)
    return int(generation)


def _run_confluent(a: argparse.Namespace, stop: threading.Event) -> None:
    from confluent_kafka import Consumer, KafkaException

    conf: dict[str, Any] = {
        "bootstrap.servers": a.bootstrap,
        "group.id": a.group,
        "client.id": a.name,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": a.session_ms,
        "heartbeat.interval.ms": HEARTBEAT_MS,
        "partition.assignment.strategy": a.strategy,
    }
    if a.instance_id:
        conf["group.instance.id"] = a.instance_id
    consumer = Consumer(conf)
    generation = [-1]

    def on_assign(c: Any, parts: list[Any]) -> None:
        generation[0] = _confluent_generation(c)
        _emit(ev="assigned", gen=generation[0], parts=sorted(p.partition for p in parts))

    def on_revoke(c: Any, parts: list[Any]) -> None:
        _emit(ev="revoked", parts=sorted(p.partition for p in parts))

    consumer.subscribe([a.topic], on_assign=on_assign, on_revoke=on_revoke)
    while not stop.is_set():
        msgs = [m for m in consumer.consume(100, 0.1) if m.error() is None]
        if msgs:
            _emit(ev="records", gen=generation[0], recs=[[m.partition(), m.offset()] for m in msgs])
            try:
                consumer.commit(asynchronous=False)
            except KafkaException as exc:
                _emit(ev="commit_failed", error=str(exc))
    consumer.close()


def subscribe_kafka_python(consumer: Any, topic: str, listener: Any = None) -> None:
    """Subscribe, then have the topic's metadata in hand before the first JoinGroup.

    A kafka-python 3.0.12 leader records the partitions it assigned from (its "metadata
    snapshot", taken only when a metadata response arrives *after* ``subscribe``) and rejoins a
    Stable group when the next metadata response differs. If the first join wins the race
    against the metadata request that ``subscribe`` queues (that request can wait ~500 ms
    behind a parked Fetch on the same connection, as with Kafka), the group rebalances once
    more for no reason, and that second rebalance sometimes never completes on the client side.
    ``topics()`` always fetches metadata, so the snapshot is current before ``poll`` joins.
    """
    consumer.subscribe([topic], listener=listener)
    consumer.topics()


def _run_kafka_python(a: argparse.Namespace, stop: threading.Event) -> None:
    from kafka import ConsumerRebalanceListener, KafkaConsumer
    from kafka.coordinator.assignors.range import RangePartitionAssignor
    from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
    from kafka.errors import KafkaError

    assignor = {"range": RangePartitionAssignor, "roundrobin": RoundRobinPartitionAssignor}[a.strategy]
    consumer = KafkaConsumer(
        bootstrap_servers=a.bootstrap,
        group_id=a.group,
        client_id=a.name,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=a.session_ms,
        heartbeat_interval_ms=HEARTBEAT_MS,
        partition_assignment_strategy=[assignor],
        group_instance_id=a.instance_id or None,
    )
    generation = [-1]

    class Listener(ConsumerRebalanceListener):  # type: ignore[misc]
        def on_partitions_revoked(self, revoked: Any) -> None:
            _emit(ev="revoked", parts=sorted(tp.partition for tp in revoked))

        def on_partitions_assigned(self, assigned: Any) -> None:
            generation[0] = consumer._coordinator._generation.generation_id
            _emit(ev="assigned", gen=generation[0], parts=sorted(tp.partition for tp in assigned))

    subscribe_kafka_python(consumer, a.topic, Listener())
    while not stop.is_set():
        batches = consumer.poll(timeout_ms=100)
        recs = [[r.partition, r.offset] for records in batches.values() for r in records]
        if recs:
            _emit(ev="records", gen=generation[0], recs=recs)
            try:
                consumer.commit()
            except KafkaError as exc:
                _emit(ev="commit_failed", error=repr(exc))
    consumer.close()


def _run_aiokafka(a: argparse.Namespace, stop: threading.Event) -> None:
    from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
    from aiokafka.coordinator.assignors.range import RangePartitionAssignor
    from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
    from aiokafka.errors import KafkaError

    assignor = {"range": RangePartitionAssignor, "roundrobin": RoundRobinPartitionAssignor}[a.strategy]

    async def run() -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=a.bootstrap,
            group_id=a.group,
            client_id=a.name,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            session_timeout_ms=a.session_ms,
            heartbeat_interval_ms=HEARTBEAT_MS,
            partition_assignment_strategy=[assignor],
            group_instance_id=a.instance_id or None,
        )
        generation = [-1]

        class Listener(ConsumerRebalanceListener):  # type: ignore[misc]
            def on_partitions_revoked(self, revoked: Any) -> None:
                _emit(ev="revoked", parts=sorted(tp.partition for tp in revoked))

            def on_partitions_assigned(self, assigned: Any) -> None:
                generation[0] = consumer._coordinator.generation
                _emit(ev="assigned", gen=generation[0], parts=sorted(tp.partition for tp in assigned))

        consumer.subscribe([a.topic], listener=Listener())
        await consumer.start()
        try:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=100)
                recs = [[r.partition, r.offset] for records in batches.values() for r in records]
                if recs:
                    _emit(ev="records", gen=generation[0], recs=recs)
                    try:
                        await consumer.commit()
                    except KafkaError as exc:
                        _emit(ev="commit_failed", error=repr(exc))
        finally:
            await consumer.stop()

    asyncio.run(run())


def member_main(argv: list[str]) -> None:
    """One group member until "stop" (or end of input) arrives on stdin."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--client", choices=CLIENTS, required=True)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--strategy", default="range")
    parser.add_argument("--instance-id", default="")
    parser.add_argument("--session-ms", type=int, default=SESSION_MS)
    a = parser.parse_args(argv)
    stop = threading.Event()

    def watch_stdin() -> None:
        sys.stdin.readline()
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    {"confluent": _run_confluent, "kafka-python": _run_kafka_python, "aiokafka": _run_aiokafka}[a.client](
        a, stop
    )
    _emit(ev="closed")


# -- driving members -------------------------------------------------------------------------


@dataclass
class Member:
    """A member subprocess and the events it reported."""

    name: str
    proc: subprocess.Popen[str]
    events: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def start(
        cls,
        client: str,
        bootstrap: str,
        group: str,
        topic: str,
        name: str,
        strategy: str = "range",
        instance_id: str = "",
    ) -> Member:
        args = [sys.executable, "-m", "tests.integration.test_consumer_groups", "member"]
        args += ["--client", client, "--bootstrap", bootstrap, "--group", group, "--topic", topic]
        args += ["--name", name, "--strategy", strategy, "--instance-id", instance_id]
        proc = subprocess.Popen(
            args,
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        member = cls(name, proc)
        threading.Thread(target=member._read, daemon=True).start()
        return member

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                with self.lock:
                    self.events.append(json.loads(line))

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.events)

    def assignment(self) -> tuple[int, frozenset[int]] | None:
        """(generation, partitions) of the latest assignment, None if revoked since."""
        for event in reversed(self.snapshot()):
            if event["ev"] == "assigned":
                return event["gen"], frozenset(event["parts"])
            if event["ev"] in ("revoked", "closed"):
                return None
        return None

    def delivered(self) -> list[tuple[int, int, int]]:
        """(generation, partition, offset) of every record delivered to this member."""
        return [(e["gen"], p, o) for e in self.snapshot() if e["ev"] == "records" for p, o in e["recs"]]

    def stop(self) -> None:
        """Clean shutdown: the member closes its consumer (LeaveGroup for dynamic members)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write("stop\n")
        self.proc.stdin.flush()
        self.proc.wait(WAIT_S)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def members() -> Iterator[list[Member]]:
    """Members started by a test; any still running at the end are killed."""
    started: list[Member] = []
    yield started
    for m in started:
        if m.proc.poll() is None:
            m.kill()


def wait_until(what: str, check: Callable[[], bool], timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def settled(live: list[Member], partitions: int = PARTITIONS) -> int | None:
    """The generation in which ``live`` hold disjoint assignments covering every partition."""
    assignments = [m.assignment() for m in live]
    if any(a is None for a in assignments):
        return None
    generations = {a[0] for a in assignments if a is not None}
    parts = [a[1] for a in assignments if a is not None]
    if len(generations) != 1 or sum(len(p) for p in parts) != partitions:
        return None
    if frozenset().union(*parts) != frozenset(range(partitions)):
        return None
    return generations.pop()


def wait_settled(live: list[Member], partitions: int = PARTITIONS) -> int:
    try:
        wait_until("members to split the partitions", lambda: settled(live, partitions) is not None)
    except AssertionError:
        raise AssertionError(
            "members did not settle: " + "; ".join(f"{m.name}: {m.snapshot()[-4:]}" for m in live)
        ) from None
    generation = settled(live, partitions)
    assert generation is not None
    return generation


def assert_no_double_delivery(all_members: list[Member]) -> None:
    """No (generation, partition, offset) reached two members."""
    owners: dict[tuple[int, int, int], set[str]] = {}
    for m in all_members:
        for key in m.delivered():
            owners.setdefault(key, set()).add(m.name)
    doubles = {k: v for k, v in owners.items() if len(v) > 1}
    assert not doubles, f"records delivered to two members of one generation: {doubles}"


def delivered_offsets(all_members: list[Member]) -> set[tuple[int, int]]:
    return {(p, o) for m in all_members for _, p, o in m.delivered()}


# -- topics and records ----------------------------------------------------------------------


def new_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_topic(bootstrap: str, topic: str, partitions: int = PARTITIONS) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(topic, partitions, 1)]).values():
        future.result(WAIT_S)


def produce(bootstrap: str, topic: str, per_partition: int, partitions: int = PARTITIONS) -> None:
    """``per_partition`` records to each partition (values "p-i")."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(per_partition):
        for p in range(partitions):
            producer.produce(topic, value=f"{p}-{i}".encode(), partition=p)
    assert producer.flush(WAIT_S) == 0


@pytest.fixture(scope="module")
def gbroker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    proc = BrokerProcess(tmp_path_factory.mktemp("groups"), overrides=dict(GROUP_OVERRIDES)).start()
    try:
        yield proc
    finally:
        proc.stop()


# -- group -> partition ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("group", "hashcode", "partition"),
    [
        ("", 0, 0),
        ("hello", 99162322, 22),
        ("polygenelubricants", -(2**31), 0),  # Utils.abs(Integer.MIN_VALUE) is 0
        ("my-group", -1906497762, 12),  # a negative hash: abs, not a sign-bit mask (which gives 36)
        ("\U0001f600", 1772899, 49),  # hashed as two UTF-16 code units
        ("group-\u00e9", 293427483, 33),
    ],
)
def test_group_partition_is_kafkas(group: str, hashcode: int, partition: int) -> None:
    """Values printed by Java 17 (``String.hashCode`` and Kafka's ``Utils.abs(h) % 50``)."""
    assert java_string_hashcode(group) == hashcode
    assert partition_for(group, 50) == partition


# -- membership with each client ---------------------------------------------------------------


@pytest.mark.parametrize("client", CLIENTS)
def test_members_split_partitions_and_take_over_on_leave_and_death(
    gbroker: BrokerProcess, members: list[Member], client: str
) -> None:
    bs = gbroker.bootstrap
    topic, group = new_name("split"), new_name("g")
    create_topic(bs, topic)
    produce(bs, topic, 5)
    a, b, c = (Member.start(client, bs, group, topic, name) for name in "abc")
    members += [a, b, c]
    first = wait_settled([a, b, c])
    assert all(len(m.assignment()[1]) == 2 for m in (a, b, c))  # type: ignore[index]

    produce(bs, topic, 5)
    c.stop()  # LeaveGroup: the others take its partitions at once
    after_leave = wait_settled([a, b])
    assert after_leave > first

    produce(bs, topic, 5)
    b.kill()  # no LeaveGroup: its session must expire first
    after_death = wait_settled([a])
    assert after_death > after_leave

    produce(bs, topic, 5)
    expected = {(p, o) for p in range(PARTITIONS) for o in range(20)}
    wait_until("every record to be delivered", lambda: delivered_offsets([a, b, c]) >= expected)
    assert_no_double_delivery([a, b, c])


# -- commits across a broker restart -------------------------------------------------------------

RESTART_RECORDS = 10  # per partition
COMMITS = {p: (p + 1, f"meta-{p}") for p in range(PARTITIONS)}  # partition -> (offset, metadata)


@dataclass
class Resumed:
    committed: dict[int, tuple[int, str | None]]  # partition -> (offset, metadata if the client shows it)
    first: dict[int, int]  # partition -> first offset consumed
    count: int


def commit_confluent(bs: str, group: str, topic: str) -> None:
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bs, "group.id": group, "enable.auto.commit": False})
    c.subscribe([topic])
    deadline = time.monotonic() + WAIT_S
    while not c.assignment() and time.monotonic() < deadline:
        c.poll(0.1)
    offsets = [TopicPartition(topic, p, o, metadata=m) for p, (o, m) in COMMITS.items()]
    assert all(tp.error is None for tp in c.commit(offsets=offsets, asynchronous=False))
    c.close()


def resume_confluent(bs: str, group: str, topic: str) -> Resumed:
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer(
        {
            "bootstrap.servers": bs,
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    committed = {
        tp.partition: (tp.offset, tp.metadata)
        for tp in c.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=WAIT_S)
    }
    c.subscribe([topic])
    first: dict[int, int] = {}
    count = 0
    deadline = time.monotonic() + WAIT_S
    while (
        count < RESTART_RECORDS * PARTITIONS - sum(o for o, _ in COMMITS.values())
        and time.monotonic() < deadline
    ):
        for m in c.consume(100, 0.1):
            if m.error() is None:
                first.setdefault(m.partition(), m.offset())
                count += 1
    c.close()
    return Resumed(committed, first, count)


def commit_kafka_python(bs: str, group: str, topic: str) -> None:
    from kafka import KafkaConsumer
    from kafka import TopicPartition as TP
    from kafka.structs import OffsetAndMetadata

    c = KafkaConsumer(bootstrap_servers=bs, group_id=group, enable_auto_commit=False)
    subscribe_kafka_python(c, topic)
    deadline = time.monotonic() + WAIT_S
    while not c.assignment() and time.monotonic() < deadline:
        c.poll(timeout_ms=100)
    c.commit({TP(topic, p): OffsetAndMetadata(o, m, -1) for p, (o, m) in COMMITS.items()})
    c.close()


def resume_kafka_python(bs: str, group: str, topic: str) -> Resumed:
    from kafka import KafkaConsumer
    from kafka import TopicPartition as TP

    c = KafkaConsumer(
        bootstrap_servers=bs, group_id=group, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    committed = {}
    for p in range(PARTITIONS):
        om = c.committed(TP(topic, p), metadata=True)
        committed[p] = (om.offset, om.metadata)
    subscribe_kafka_python(c, topic)
    first: dict[int, int] = {}
    count = 0
    deadline = time.monotonic() + WAIT_S
    while (
        count < RESTART_RECORDS * PARTITIONS - sum(o for o, _ in COMMITS.values())
        and time.monotonic() < deadline
    ):
        for records in c.poll(timeout_ms=100).values():
            for r in records:
                first.setdefault(r.partition, r.offset)
                count += 1
    c.close()
    return Resumed(committed, first, count)


def commit_aiokafka(bs: str, group: str, topic: str) -> None:
    from aiokafka import AIOKafkaConsumer
    from aiokafka.structs import OffsetAndMetadata
    from aiokafka.structs import TopicPartition as TP

    async def run() -> None:
        c = AIOKafkaConsumer(bootstrap_servers=bs, group_id=group, enable_auto_commit=False)
        c.subscribe([topic])
        await c.start()
        try:
            deadline = time.monotonic() + WAIT_S
            while not c.assignment() and time.monotonic() < deadline:
                await c.getmany(timeout_ms=100)
            await c.commit({TP(topic, p): OffsetAndMetadata(o, m) for p, (o, m) in COMMITS.items()})
        finally:
            await c.stop()

    asyncio.run(run())


def resume_aiokafka(bs: str, group: str, topic: str) -> Resumed:
    from aiokafka import AIOKafkaConsumer
    from aiokafka.structs import TopicPartition as TP

    async def run() -> Resumed:
        c = AIOKafkaConsumer(
            bootstrap_servers=bs, group_id=group, enable_auto_commit=False, auto_offset_reset="earliest"
        )
        await c.start()
        try:
            committed: dict[int, tuple[int, str | None]] = {
                p: (await c.committed(TP(topic, p)), None) for p in range(PARTITIONS)
            }
            c.subscribe([topic])
            first: dict[int, int] = {}
            count = 0
            deadline = time.monotonic() + WAIT_S
            wanted = RESTART_RECORDS * PARTITIONS - sum(o for o, _ in COMMITS.values())
            while count < wanted and time.monotonic() < deadline:
                for records in (await c.getmany(timeout_ms=100)).values():
                    for r in records:
                        first.setdefault(r.partition, r.offset)
                        count += 1
            return Resumed(committed, first, count)
        finally:
            await c.stop()

    return asyncio.run(run())


COMMITTERS: dict[str, tuple[Callable[[str, str, str], None], Callable[[str, str, str], Resumed]]] = {
    "confluent": (commit_confluent, resume_confluent),
    "kafka-python": (commit_kafka_python, resume_kafka_python),
    "aiokafka": (commit_aiokafka, resume_aiokafka),
}


def offsets_topic_records(bs: str, partition: int) -> list[tuple[bytes, bytes | None]]:
    """Every (key, value) of one ``__consumer_offsets`` partition, read as a plain consumer."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bs, "group.id": "unused", "enable.auto.commit": False})
    low, high = c.get_watermark_offsets(TopicPartition(OFFSETS_TOPIC, partition), timeout=WAIT_S)
    c.assign([TopicPartition(OFFSETS_TOPIC, partition, OFFSET_BEGINNING)])
    out: list[tuple[bytes, bytes | None]] = []
    deadline = time.monotonic() + WAIT_S
    while len(out) < high - low and time.monotonic() < deadline:
        for m in c.consume(100, 0.1):
            if m.error() is None:
                out.append((m.key(), m.value()))
    c.close()
    return out


@pytest.mark.parametrize("client", CLIENTS)
def test_commits_survive_a_restart_and_consumers_resume_after_them(tmp_path: Path, client: str) -> None:
    broker = BrokerProcess(tmp_path / "broker", overrides=dict(GROUP_OVERRIDES)).start()
    try:
        bs = broker.bootstrap
        topic, group = new_name("restart"), new_name("g")
        create_topic(bs, topic)
        produce(bs, topic, RESTART_RECORDS)
        commit, resume = COMMITTERS[client]
        commit(bs, group, topic)
        broker.stop()
        broker.start()
        resumed = resume(bs, group, topic)
        stored = offsets_topic_records(bs, partition_for(group, 50))
    finally:
        broker.stop()
    for p, (offset, metadata) in COMMITS.items():
        got_offset, got_metadata = resumed.committed[p]
        assert got_offset == offset
        assert got_metadata in (metadata, None)  # aiokafka does not show committed metadata
    assert resumed.first == {p: o for p, (o, _) in COMMITS.items()}
    assert resumed.count == RESTART_RECORDS * PARTITIONS - sum(o for o, _ in COMMITS.values())

    # Kafka's own record formats: int16 key version + key struct, int16 value version + value
    latest: dict[bytes, bytes | None] = dict(stored)
    for p, (offset, metadata) in COMMITS.items():
        key = b"\x00\x01" + bytes(OffsetCommitKey(group, topic, p).encode(1))
        value = latest[key]
        assert value is not None and value[:2] == b"\x00\x03"
        decoded = OffsetCommitValue.decode(value[2:], 3)
        # confluent-kafka sends the metadata string with its C terminator; the broker keeps it as sent
        assert (decoded.offset, decoded.metadata.rstrip("\x00")) == (offset, metadata)
    group_key = b"\x00\x02" + bytes(GroupMetadataKey(group).encode(2))
    group_value = latest[group_key]
    assert group_value is not None and group_value[:2] == b"\x00\x03"
    snapshot = GroupMetadataValue.decode(group_value[2:], 3)
    assert snapshot.protocol_type == "consumer" and snapshot.generation >= 2
    assert snapshot.members == []  # both consumers left: the group is Empty


# -- librdkafka: cooperative rebalancing and static membership --------------------------------------


@dataclass
class Tracked:
    """An in-process confluent-kafka consumer and the partitions its callbacks moved."""

    name: str
    consumer: Any = None
    owned: set[int] = field(default_factory=set)
    events: list[tuple[str, frozenset[int]]] = field(default_factory=list)

    def revoked(self) -> set[int]:
        return {p for kind, parts in self.events if kind == "revoke" for p in parts}


def tracked_consumer(bs: str, group: str, topic: str, name: str, **conf: Any) -> Tracked:
    from confluent_kafka import Consumer

    t = Tracked(name)
    cooperative = conf.get("partition.assignment.strategy") == "cooperative-sticky"

    def on_assign(c: Any, parts: list[Any]) -> None:
        t.events.append(("assign", frozenset(p.partition for p in parts)))
        if cooperative:
            c.incremental_assign(parts)
            t.owned |= {p.partition for p in parts}
        else:
            c.assign(parts)
            t.owned = {p.partition for p in parts}

    def on_revoke(c: Any, parts: list[Any]) -> None:
        t.events.append(("revoke", frozenset(p.partition for p in parts)))
        if cooperative:
            c.incremental_unassign(parts)
            t.owned -= {p.partition for p in parts}
        else:
            c.unassign()
            t.owned = set()

    t.consumer = Consumer(
        {
            "bootstrap.servers": bs,
            "group.id": group,
            "client.id": name,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": SESSION_MS,
            "heartbeat.interval.ms": HEARTBEAT_MS,
            **conf,
        }
    )
    t.consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
    return t


def pump(consumers: list[Tracked], what: str, done: Callable[[], bool]) -> None:
    """Poll every consumer in turn (their callbacks run in poll) until ``done``."""
    deadline = time.monotonic() + WAIT_S
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {[(t.name, t.events) for t in consumers]}")
        for t in consumers:
            t.consumer.poll(0.02)


def split_evenly(consumers: list[Tracked]) -> bool:
    owned = [t.owned for t in consumers]
    return set().union(*owned) == set(range(PARTITIONS)) and all(
        len(o) == PARTITIONS // len(consumers) for o in owned
    )


def test_cooperative_sticky_members_keep_their_partitions_across_a_join(gbroker: BrokerProcess) -> None:
    bs = gbroker.bootstrap
    topic, group = new_name("coop"), new_name("g")
    create_topic(bs, topic)
    conf = {"partition.assignment.strategy": "cooperative-sticky"}
    a = tracked_consumer(bs, group, topic, "a", **conf)
    everyone = [a]
    try:
        pump(everyone, "a to own everything", lambda: split_evenly([a]))
        for name in ("b", "c"):
            before = {t.name: set(t.owned) for t in everyone}
            newcomer = tracked_consumer(bs, group, topic, name, **conf)
            everyone.append(newcomer)
            pump(everyone, f"{name} to get its share", lambda: split_evenly(everyone))
            for t in everyone[:-1]:
                # incremental: only the partitions that move are revoked, the rest stay owned
                assert t.owned <= before[t.name]
                assert not (t.revoked() & t.owned), f"{t.name} had kept partitions revoked: {t.events}"
            assert newcomer.events and all(kind == "assign" for kind, _ in newcomer.events)
    finally:
        for t in everyone:
            t.consumer.close()


def test_static_member_restarted_within_its_session_keeps_its_partitions(gbroker: BrokerProcess) -> None:
    bs = gbroker.bootstrap
    topic, group = new_name("static"), new_name("g")
    create_topic(bs, topic)
    conf = {"session.timeout.ms": 10_000, "partition.assignment.strategy": "range"}
    members = [
        tracked_consumer(bs, group, topic, n, **conf, **{"group.instance.id": f"id-{n}"}) for n in "abc"
    ]
    a, b, c = members
    restarted: Tracked | None = None
    try:
        pump(members, "three static members to split the topic", lambda: split_evenly(members))
        generation = _confluent_generation(a.consumer)
        events_before = {t.name: list(t.events) for t in (a, b)}
        owned_by_c = set(c.owned)
        c.consumer.close()  # a static member sends no LeaveGroup: the group keeps its slot
        restarted = tracked_consumer(bs, group, topic, "c2", **conf, **{"group.instance.id": "id-c"})
        pump(
            [a, b, restarted],
            "the restarted member to get its partitions back",
            lambda: bool(restarted.owned),
        )
        # keep everyone polling a little longer: a rebalance would show up as revocations now
        deadline = time.monotonic() + 2 * HEARTBEAT_MS / 1000 + 0.5
        while time.monotonic() < deadline:
            for t in (a, b, restarted):
                t.consumer.poll(0.02)
        assert restarted.owned == owned_by_c
        assert {t.name: t.events for t in (a, b)} == events_before  # no revoke, no reassignment
        assert _confluent_generation(a.consumer) == generation
        assert _confluent_generation(restarted.consumer) == generation
    finally:
        for t in (a, b, restarted):
            if t is not None:
                t.consumer.close()


# -- groups mixing clients ---------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["range", "roundrobin"])
def test_mixed_client_group_shares_the_topic(
    gbroker: BrokerProcess, members: list[Member], strategy: str
) -> None:
    bs = gbroker.bootstrap
    topic, group = new_name("mixed"), new_name("g")
    create_topic(bs, topic)
    produce(bs, topic, 5)
    members += [Member.start(client, bs, group, topic, client, strategy) for client in CLIENTS]
    generation = wait_settled(members)
    produce(bs, topic, 5)
    expected = {(p, o) for p in range(PARTITIONS) for o in range(10)}
    wait_until("every record to be delivered", lambda: delivered_offsets(members) >= expected)
    assert settled(members) == generation, "rebalanced on the way: " + "; ".join(
        f"{m.name}: {[e for e in m.snapshot() if e['ev'] != 'records']}" for m in members
    )
    assert_no_double_delivery(members)
    # each record went to exactly one member: nobody failed, so nothing was delivered twice at all
    counts = Counter((p, o) for m in members for _, p, o in m.delivered())
    assert set(counts.values()) == {1}


# -- admin clients ----------------------------------------------------------------------------


def test_admin_clients_describe_list_and_measure_lag(gbroker: BrokerProcess, members: list[Member]) -> None:
    from confluent_kafka import Consumer, ConsumerGroupState, ConsumerGroupTopicPartitions
    from confluent_kafka import TopicPartition as CTP
    from confluent_kafka.admin import AdminClient
    from kafka import TopicPartition as KTP
    from kafka.admin import KafkaAdminClient
    from kafka.errors import NoError

    bs = gbroker.bootstrap
    topic, group = new_name("admin"), new_name("g")
    create_topic(bs, topic)
    produce(bs, topic, 5)
    members += [Member.start("confluent", bs, group, topic, name) for name in "ab"]
    wait_settled(members)
    expected = {(p, o) for p in range(PARTITIONS) for o in range(5)}
    wait_until("every record to be consumed", lambda: delivered_offsets(members) >= expected)
    admin = AdminClient({"bootstrap.servers": bs})
    kadmin = KafkaAdminClient(bootstrap_servers=bs)
    try:
        # a Stable group with two members
        desc = admin.describe_consumer_groups([group])[group].result(WAIT_S)
        assert desc.state == ConsumerGroupState.STABLE and desc.partition_assignor == "range"
        assert not desc.is_simple_consumer_group and desc.coordinator.id == 0
        assert sorted(m.client_id for m in desc.members) == ["a", "b"]
        assert {m.host for m in desc.members} == {"/127.0.0.1"}
        parts = [tp.partition for m in desc.members for tp in m.assignment.topic_partitions]
        assert sorted(parts) == list(range(PARTITIONS))
        kdesc = kadmin.describe_groups([group])[group]
        assert (kdesc["group_state"], kdesc["protocol_type"], kdesc["protocol_data"]) == (
            "Stable",
            "consumer",
            "range",
        )
        kparts = [
            p
            for m in kdesc["members"]
            for a in m["member_assignment"]["assigned_partitions"]
            for p in a["partitions"]
        ]
        assert sorted(kparts) == list(range(PARTITIONS))
        assert all(m["member_metadata"]["topics"] == [topic] for m in kdesc["members"])

        listed = {g.group_id: g for g in admin.list_consumer_groups().result(WAIT_S).valid}
        assert listed[group].state == ConsumerGroupState.STABLE
        empty_only = admin.list_consumer_groups(states={ConsumerGroupState.EMPTY}).result(WAIT_S).valid
        assert group not in {g.group_id for g in empty_only}
        klisted = {g["group_id"]: g for g in kadmin.list_groups()}
        assert (klisted[group]["protocol_type"], klisted[group]["group_state"]) == ("consumer", "Stable")

        # the members leave; two more records per partition arrive: a lag of 2 everywhere
        for m in members:
            m.stop()
        produce(bs, topic, 2)
        request = [ConsumerGroupTopicPartitions(group)]
        committed = admin.list_consumer_group_offsets(request)[group].result(WAIT_S).topic_partitions
        probe = Consumer({"bootstrap.servers": bs, "group.id": new_name("probe")})
        try:
            ends = {
                p: probe.get_watermark_offsets(CTP(topic, p), timeout=WAIT_S)[1] for p in range(PARTITIONS)
            }
        finally:
            probe.close()
        assert {tp.partition: ends[tp.partition] - tp.offset for tp in committed} == dict.fromkeys(
            range(PARTITIONS), 2
        )
        koffsets = kadmin.list_group_offsets({group: None})[group]
        assert {tp.partition: ends[tp.partition] - om.offset for tp, om in koffsets.items()} == dict.fromkeys(
            range(PARTITIONS), 2
        )
        desc = admin.describe_consumer_groups([group])[group].result(WAIT_S)
        assert desc.state == ConsumerGroupState.EMPTY and not desc.members
        empty_only = admin.list_consumer_groups(states={ConsumerGroupState.EMPTY}).result(WAIT_S).valid
        assert group in {g.group_id for g in empty_only}

        # deleting one partition's offsets (OffsetDelete), then the group (DeleteGroups)
        assert kadmin.delete_group_offsets(group, [KTP(topic, 0)]) == {KTP(topic, 0): NoError}
        assert {tp.partition for tp in kadmin.list_group_offsets({group: None})[group]} == set(
            range(1, PARTITIONS)
        )
        admin.delete_consumer_groups([group])[group].result(WAIT_S)
        assert group not in {g.group_id for g in admin.list_consumer_groups().result(WAIT_S).valid}
        assert admin.describe_consumer_groups([group])[group].result(WAIT_S).state == ConsumerGroupState.DEAD
        assert kadmin.list_group_offsets({group: None})[group] == {}
    finally:
        kadmin.close()


# -- every version on a raw socket -------------------------------------------------------------

ADVERTISED = {
    "FindCoordinator": (0, 6),
    "JoinGroup": (0, 9),
    "SyncGroup": (0, 5),
    "Heartbeat": (0, 4),
    "LeaveGroup": (0, 5),
    "OffsetCommit": (1, 9),
    "OffsetFetch": (1, 9),
    "OffsetDelete": (0, 0),
    "DescribeGroups": (0, 5),
    "ListGroups": (0, 5),
    "DeleteGroups": (0, 2),
}


RETENTION_MS = 3_600_000


def call(sock: Any, request: Any, version: int) -> Any:
    return roundtrip(sock, request.SPEC.api_key, version, request)


def subscription(topic: str) -> bytes:
    return struct.pack(">h", 0) + bytes(ConsumerProtocolSubscription(topics=[topic]).encode(0))


def assignment(topic: str, partitions: list[int]) -> bytes:
    body = ConsumerProtocolAssignment(assigned_partitions=[AssignedPartitions(topic, partitions)])
    return struct.pack(">h", 0) + bytes(body.encode(0))


def fetch_offsets(sock: Any, version: int, group: str, topic: str, partitions: list[int]) -> Any:
    """OffsetFetch of one group; returns (error, {partition: response partition})."""
    if version >= 8:
        request = OffsetFetchRequest(
            groups=[
                OffsetFetchRequestGroup(group_id=group, topics=[OffsetFetchRequestTopics(topic, partitions)])
            ]
        )
        g = call(sock, request, version).groups[0]
        return g.error_code, {p.partition_index: p for t in g.topics for p in t.partitions}
    r = call(
        sock, OffsetFetchRequest(group_id=group, topics=[OffsetFetchRequestTopic(topic, partitions)]), version
    )
    return r.error_code, {p.partition_index: p for t in r.topics for p in t.partitions}


def describe(sock: Any, version: int, group: str) -> Any:
    return call(
        sock, DescribeGroupsRequest(groups=[group], include_authorized_operations=True), version
    ).groups[0]


def test_every_advertised_version_on_a_raw_socket(gbroker: BrokerProcess) -> None:
    topic, prefix = new_name("raw"), new_name("raw")
    create_topic(gbroker.bootstrap, topic, 2)
    E = ErrorCode
    sock = gbroker.connect()
    try:
        advertised = {
            k.api_key: (k.min_version, k.max_version) for k in call(sock, ApiVersionsRequest(), 0).api_keys
        }
        names = {h.api_key: h.name for h in HANDLERS.values()}
        assert {names[k]: v for k, v in advertised.items() if names[k] in ADVERTISED} == ADVERTISED

        for i in range(10):
            group = f"{prefix}-{i}"
            v = min(i, 6)
            found = call(sock, FindCoordinatorRequest(key=group, coordinator_keys=[group]), v)
            node = found.coordinators[0] if v >= 4 else found
            assert (node.error_code, node.node_id, node.host, node.port) == (0, 0, gbroker.host, gbroker.port)

            join = JoinGroupRequest(
                group_id=group,
                session_timeout_ms=10_000,
                rebalance_timeout_ms=10_000,
                protocol_type="consumer",
                protocols=[JoinGroupRequestProtocol("range", subscription(topic))],
                reason="raw",
            )
            joined = call(sock, join, i)
            if i >= 4:  # KIP-394: the member id is handed out first
                assert joined.error_code == E.MEMBER_ID_REQUIRED and joined.member_id.startswith("pytest-")
                join.member_id = joined.member_id
                joined = call(sock, join, i)
            member = joined.member_id
            assert (joined.error_code, joined.generation_id, joined.leader, joined.protocol_name) == (
                0,
                1,
                member,
                "range",
            )
            assert [(m.member_id, bytes(m.metadata)) for m in joined.members] == [
                (member, subscription(topic))
            ]
            assert joined.protocol_type == ("consumer" if i >= 7 else None)

            mine = assignment(topic, [0, 1])
            synced = call(
                sock,
                SyncGroupRequest(
                    group_id=group,
                    generation_id=1,
                    member_id=member,
                    protocol_type="consumer",
                    protocol_name="range",
                    assignments=[SyncGroupRequestAssignment(member, mine)],
                ),
                min(i, 5),
            )
            assert (synced.error_code, bytes(synced.assignment)) == (0, mine)
            assert synced.protocol_name == ("range" if i >= 5 else None)
            beat = HeartbeatRequest(group_id=group, generation_id=1, member_id=member)
            assert call(sock, beat, min(i, 4)).error_code == 0
            stale = HeartbeatRequest(group_id=group, generation_id=2, member_id=member)
            assert call(sock, stale, min(i, 4)).error_code == E.ILLEGAL_GENERATION

            commit_version = max(i, 1)
            committed = call(
                sock,
                OffsetCommitRequest(
                    group_id=group,
                    generation_id_or_member_epoch=1,
                    member_id=member,
                    topics=[
                        OffsetCommitRequestTopic(
                            topic,
                            [
                                OffsetCommitRequestPartition(0, 10 + i, 7, -1, f"m{i}"),
                                OffsetCommitRequestPartition(1, 5, -1, -1, None),
                            ],
                        ),
                        OffsetCommitRequestTopic("no-such-topic", [OffsetCommitRequestPartition(0, 1)]),
                    ],
                    retention_time_ms=RETENTION_MS,  # only versions 2-4 carry it
                ),
                commit_version,
            )
            assert [[p.error_code for p in t.partitions] for t in committed.topics] == [
                [0, 0],
                [E.UNKNOWN_TOPIC_OR_PARTITION],
            ]
            error, offsets = fetch_offsets(sock, max(i, 1), group, topic, [0, 1])
            epoch = 7 if commit_version >= 6 and max(i, 1) >= 5 else -1
            assert error == 0
            assert (offsets[0].committed_offset, offsets[0].metadata, offsets[0].committed_leader_epoch) == (
                10 + i,
                f"m{i}",
                epoch,
            )
            # a null metadata is stored as ""
            assert (offsets[1].committed_offset, offsets[1].metadata) == (5, "")

            if i == 3:  # an explicit retention is stored as an expire timestamp: OffsetCommitValue v1
                key = b"\x00\x01" + bytes(OffsetCommitKey(group, topic, 0).encode(1))
                [value] = [
                    v
                    for k, v in offsets_topic_records(gbroker.bootstrap, partition_for(group, 50))
                    if k == key
                ]
                assert value is not None and value[:2] == b"\x00\x01"
                stored = OffsetCommitValue.decode(value[2:], 1)
                assert stored.expire_timestamp == stored.commit_timestamp + RETENTION_MS

            d = describe(sock, min(i, 5), group)
            assert (d.error_code, d.group_state, d.protocol_type, d.protocol_data) == (
                0,
                "Stable",
                "consumer",
                "range",
            )
            [m] = d.members
            assert (m.member_id, m.client_id, m.client_host) == (member, "pytest", "/127.0.0.1")
            assert (bytes(m.member_metadata), bytes(m.member_assignment)) == (subscription(topic), mine)
            if i >= 3:
                assert d.authorized_operations == (1 << 3) | (1 << 6) | (1 << 8)  # READ, DELETE, DESCRIBE

            lv = min(i, 5)
            listed = call(sock, ListGroupsRequest(states_filter=["stable"] if lv >= 4 else []), lv)
            [entry] = [g for g in listed.groups if g.group_id == group]
            assert entry.protocol_type == "consumer"
            assert entry.group_state == ("Stable" if lv >= 4 else "")
            assert entry.group_type == ("classic" if lv >= 5 else "")
            if lv >= 4:
                empty = call(sock, ListGroupsRequest(states_filter=["Empty"]), lv)
                assert group not in {g.group_id for g in empty.groups}

            leave_version = min(i, 5)
            if leave_version < 3:
                left = call(sock, LeaveGroupRequest(group_id=group, member_id=member), leave_version)
            else:
                left = call(
                    sock,
                    LeaveGroupRequest(group_id=group, members=[MemberIdentity(member, None, "done")]),
                    leave_version,
                )
                assert [(r.member_id, r.error_code) for r in left.members] == [(member, 0)]
            assert left.error_code == 0
            assert describe(sock, min(i, 5), group).group_state == "Empty"

            deleted = call(
                sock,
                OffsetDeleteRequest(
                    group_id=group,
                    topics=[OffsetDeleteRequestTopic(topic, [OffsetDeleteRequestPartition(0)])],
                ),
                0,
            )
            assert (deleted.error_code, deleted.topics[0].partitions[0].error_code) == (0, 0)
            remaining = fetch_offsets(sock, max(i, 1), group, topic, [0, 1])[1]
            assert (remaining[0].committed_offset, remaining[1].committed_offset) == (-1, 5)
            dropped = call(sock, DeleteGroupsRequest(groups_names=[group]), min(i, 2))
            assert [(r.group_id, r.error_code) for r in dropped.results] == [(group, 0)]
            gone = describe(sock, min(i, 5), group)
            assert (gone.error_code, gone.group_state, gone.members) == (0, "Dead", [])

        # group ids and key types Kafka refuses
        bad_join = JoinGroupRequest(group_id="", session_timeout_ms=10_000, protocol_type="consumer")
        assert call(sock, bad_join, 5).error_code == E.INVALID_GROUP_ID
        assert call(sock, HeartbeatRequest(group_id=""), 4).error_code == E.INVALID_GROUP_ID
        assert call(sock, OffsetDeleteRequest(group_id=""), 0).error_code == E.INVALID_GROUP_ID
        assert (
            call(sock, HeartbeatRequest(group_id=f"{prefix}-0", member_id="x"), 4).error_code
            == E.UNKNOWN_MEMBER_ID
        )
        short = JoinGroupRequest(group_id=f"{prefix}-s", session_timeout_ms=100, protocol_type="consumer")
        assert call(sock, short, 5).error_code == E.INVALID_SESSION_TIMEOUT
        txn = call(sock, FindCoordinatorRequest(key_type=1, coordinator_keys=["txn"]), 4).coordinators[0]
        assert (txn.error_code, txn.node_id) == (E.COORDINATOR_NOT_AVAILABLE, -1)
        share = call(sock, FindCoordinatorRequest(key_type=2, coordinator_keys=["s"]), 6).coordinators[0]
        assert share.error_code == E.INVALID_REQUEST
    finally:
        sock.close()


def test_offsets_topic_appears_on_first_find_coordinator(broker: BrokerProcess) -> None:
    """Before any FindCoordinator there is no ``__consumer_offsets``: groups are NOT_COORDINATOR."""
    E = ErrorCode
    sock = broker.connect()
    try:
        join = JoinGroupRequest(group_id="early", session_timeout_ms=10_000, protocol_type="consumer")
        assert call(sock, join, 5).error_code == E.NOT_COORDINATOR
        assert fetch_offsets(sock, 8, "early", "t", [0])[0] == E.NOT_COORDINATOR
        assert call(sock, ListGroupsRequest(), 4).groups == []
        assert call(sock, MetadataRequest(topics=None), 12).topics == []

        found = call(sock, FindCoordinatorRequest(key="early"), 3)
        assert (found.error_code, found.node_id) == (0, 0)
        [offsets_topic] = call(sock, MetadataRequest(topics=None), 12).topics
        assert (offsets_topic.name, offsets_topic.is_internal, len(offsets_topic.partitions)) == (
            OFFSETS_TOPIC,
            True,
            50,
        )
        assert {len(p.replica_nodes) for p in offsets_topic.partitions} == {1}
    finally:
        sock.close()
    stored = json.loads((broker.data_dir / "logs" / "__pybroker_metadata.json").read_text())
    [entry] = [t for t in stored["topics"] if t["name"] == OFFSETS_TOPIC]
    assert entry["configs"] == {
        "cleanup.policy": "compact",
        "compression.type": "producer",
        "segment.bytes": "104857600",
    }


# -- ownership follows the __consumer_offsets partition ------------------------------------------


async def test_groups_move_with_their_offsets_partition(tmp_path: Path) -> None:
    """Unloading a partition (leadership moving away) hands its groups over: parked requests and
    later ones get NOT_COORDINATOR while other partitions' groups carry on; loading it again
    answers COORDINATOR_LOAD_IN_PROGRESS until the log has been replayed, then the offsets are
    back. This runs the broker in this process to reach its coordinator directly."""
    config = BrokerConfig(
        {
            "listeners": "PLAINTEXT://127.0.0.1:0",
            "log.dirs": str(tmp_path),
            "offsets.topic.num.partitions": "4",
            "group.initial.rebalance.delay.ms": "60000",  # the first join stays parked
        }
    )
    broker = Broker(config)
    await broker.start()
    E = ErrorCode
    try:
        svc = broker.group_coordinator
        broker.replica_manager.ensure_partitions(broker.controller.create_topic("t", 1, 1, {}))
        tp = TopicPartition("t", 0)

        async def commit(group: str, offset: int) -> dict[TopicPartition, ErrorCode]:
            po = PartitionOffset(offset, metadata=f"at-{offset}")
            return await svc.commit_offsets(
                group, {tp: po}, generation_id=-1, member_id="", group_instance_id=None, retention_time_ms=-1
            )

        def join(group: str) -> Any:
            return svc.join_group(
                group,
                "",
                protocol_type="consumer",
                protocols=[("range", subscription("t"))],
                session_timeout_ms=10_000,
                rebalance_timeout_ms=10_000,
                group_instance_id=None,
                client_id="c",
                client_host="/127.0.0.1",
                require_known_member_id=False,
                supports_skipping_assignment=False,
                reason=None,
            )

        async def loaded(group: str) -> None:
            for _ in range(200):
                if svc.fetch_offsets(group, None).error != E.COORDINATOR_LOAD_IN_PROGRESS:
                    return
                await asyncio.sleep(0.01)
            raise AssertionError("the partition did not load")

        assert (await svc.find_coordinator("g", "PLAINTEXT"))[0] == E.NONE
        await loaded("g")
        index = partition_for("g", 4)
        other = next(g for g in (f"other-{i}" for i in range(100)) if partition_for(g, 4) != index)
        assert await commit("g", 42) == {tp: E.NONE}
        parked = asyncio.ensure_future(join("g"))
        await asyncio.sleep(0.05)
        assert not parked.done()

        svc.resign(index)
        assert (await parked).error == E.NOT_COORDINATOR
        assert svc.fetch_offsets("g", None).error == E.NOT_COORDINATOR
        assert await commit("g", 43) == {tp: E.NOT_COORDINATOR}
        assert await commit(other, 7) == {tp: E.NONE}

        svc.elect(index)
        assert svc.fetch_offsets("g", None).error == E.COORDINATOR_LOAD_IN_PROGRESS
        assert (await join("g")).error == E.COORDINATOR_LOAD_IN_PROGRESS
        await loaded("g")
        restored = svc.fetch_offsets("g", None).offsets[tp]
        assert restored is not None and (restored.offset, restored.metadata) == (42, "at-42")
        other_offset = svc.fetch_offsets(other, [tp]).offsets[tp]
        assert other_offset is not None and other_offset.offset == 7
    finally:
        await broker.stop()


if __name__ == "__main__" and sys.argv[1:2] == ["member"]:
    member_main(sys.argv[2:])
