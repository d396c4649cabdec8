"""Issue 5's acceptance: a three-broker cluster in ZooKeeper mode replicates, fails over and heals.

Every test runs its own three brokers (``cluster3``: ids 1-3, session timeout 5 s, replica lag
5 s) on a private ZooKeeper chroot and drives them with stock clients (confluent-kafka) plus raw
requests where an exact error code matters. ZooKeeper's znodes (Kafka's layout) are read to learn
leaders, ISRs and the controller.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import pytest

from protocol.error_codes import ErrorCode
from tests.cluster.durability import LiveConsumer, SequenceProducer, check, read_all, read_values
from tests.support.cluster import (
    BrokerCluster,
    create_topic,
    delete_topic,
    produce_raw,
    read_partition_dir,
    ready_topic,
)


def produce_all(
    bootstrap: str, topic: str, values: list[bytes], partition: int = 0, **config: Any
) -> list[int]:
    """Produce ``values`` with acks=all (confluent-kafka); returns their offsets; fails on any error."""
    from confluent_kafka import Producer

    offsets: dict[int, int] = {}
    errors: list[str] = []

    def on_delivery(err: Any, msg: Any) -> None:
        if err is not None:
            errors.append(err.str())
        else:
            offsets[int(msg.value().split(b"-")[-1])] = msg.offset()

    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "message.timeout.ms": 30_000,
            "linger.ms": 5,
            **config,
            "on_delivery": on_delivery,
        }
    )
    for i, value in enumerate(values):
        producer.produce(topic, value + f"-{i}".encode(), partition=partition)
    assert producer.flush(45) == 0, "records still unacknowledged"
    assert not errors, errors
    return [offsets[i] for i in range(len(values))]


def log_values(
    cluster: BrokerCluster, broker_id: int, topic: str, partition: int
) -> list[tuple[int, bytes | None]]:
    return read_partition_dir(cluster.log_dir(broker_id) / f"{topic}-{partition}")


@pytest.mark.timeout(120)
def test_rf3_topic_takes_acks_all_writes_on_every_replica(cluster3: BrokerCluster) -> None:
    create_topic(cluster3.bootstrap, "rep", partitions=2, replication_factor=3)
    leaders = cluster3.wait_topic_ready("rep", 2)
    for p in range(2):
        assert sorted(cluster3.assignment("rep")[p]) == [1, 2, 3]  # type: ignore[index]
        cluster3.wait_isr("rep", p, [1, 2, 3], timeout=30)
    # every broker's Metadata lists all three brokers and every replica
    for broker_id in (1, 2, 3):
        meta = cluster3.metadata(broker_id, ["rep"])
        assert sorted(b.node_id for b in meta.brokers) == [1, 2, 3]
        assert meta.controller_id == cluster3.controller_id()
        for part in meta.topics[0].partitions:
            assert sorted(part.replica_nodes) == [1, 2, 3]
            assert sorted(part.isr_nodes) == [1, 2, 3]
            assert part.leader_id == leaders[part.partition_index]

    values = [b"rep" for _ in range(300)]
    offsets = produce_all(cluster3.bootstrap, "rep", values, partition=0)
    assert offsets == list(range(300))
    # acks=all: by the time the last ack arrived every in-sync replica held every record
    expected = [(i, f"rep-{i}".encode()) for i in range(300)]
    for broker_id in (1, 2, 3):
        assert log_values(cluster3, broker_id, "rep", 0) == expected, f"broker {broker_id}"
    # and a raw acks=-1 produce to the leader of partition 1 answers with the offset
    with cluster3.connect(leaders[1]) as sock:
        resp = produce_raw(sock, "rep", 1, [b"a", b"b"], acks=-1)
    assert (resp.error_code, resp.base_offset) == (0, 0)
    for broker_id in (1, 2, 3):
        assert [v for _, v in log_values(cluster3, broker_id, "rep", 1)] == [b"a", b"b"]


@pytest.mark.timeout(150)
def test_leader_kill_fails_over_without_losing_acknowledged_records(cluster3: BrokerCluster) -> None:
    ready_topic(cluster3, "failover", min_insync_replicas="2")
    producer = SequenceProducer(cluster3.bootstrap, "failover", 1, rate=300)
    consumer = LiveConsumer(cluster3.bootstrap, "failover", 1)
    producer.start()
    consumer.start()
    try:
        cluster3.wait_for("200 acked records", lambda: producer.acked_count() >= 200 or None, 30)
        state = cluster3.partition_state("failover", 0)
        assert state is not None
        old_leader, old_epoch, old_isr = state["leader"], state["leader_epoch"], state["isr"]
        cluster3.kill(old_leader)
        acked_at_kill = producer.acked_count()
        new_leader = cluster3.wait_leader("failover", 0, timeout=30, exclude=[old_leader])
        assert new_leader in old_isr
        new_state = cluster3.partition_state("failover", 0)
        assert new_state is not None and new_state["leader_epoch"] > old_epoch
        assert old_leader not in new_state["isr"]
        # the producer carries on against the new leader
        cluster3.wait_for(
            "200 more acked records after the failover",
            lambda: producer.acked_count() >= acked_at_kill + 200 or None,
            45,
        )
    finally:
        producer.finish(60)
    acked = set(producer.acked)
    assert not producer.failed, list(producer.failed.items())[:5]
    # the live consumer carries on too: it sees every acknowledged record
    cluster3.wait_for(
        "the live consumer to see every acked record", lambda: acked <= consumer.seqs() or None, 45
    )
    consumer.finish()
    report = check(acked, read_all(cluster3.bootstrap, "failover", 1))
    print(report.line())
    assert report.lost == []
    assert report.out_of_order == []
    assert report.duplicated == 0  # idempotent producer


def stop_signal(cluster: BrokerCluster, ids: list[int], sig: int) -> None:
    for broker_id in ids:
        proc = cluster.brokers[broker_id].proc
        assert proc is not None
        os.kill(proc.pid, sig)


@pytest.mark.timeout(150)
def test_old_leader_truncates_its_divergent_tail_and_rejoins_the_isr(cluster3: BrokerCluster) -> None:
    topic = "diverge"
    leader = ready_topic(cluster3, topic, min_insync_replicas="2")[0]
    produce_all(cluster3.bootstrap, topic, [b"first"] * 50)
    followers = [b for b in (1, 2, 3) if b != leader]
    for b in (1, 2, 3):
        cluster3.wait_for(
            f"broker {b} to hold 50 records", lambda b=b: len(log_values(cluster3, b, topic, 0)) == 50, 15
        )

    # Freeze both followers (well within the session timeout and replica lag), let their parked
    # fetches expire (replica.fetch.wait.max.ms is 500 ms), then write with acks=1 to the leader
    # alone and kill it: those records exist only in its log, past the high watermark.
    stop_signal(cluster3, followers, signal.SIGSTOP)
    try:
        time.sleep(1.0)
        with cluster3.connect(leader) as sock:
            resp = produce_raw(sock, topic, 0, [f"orphan-{i}".encode() for i in range(5)], acks=1)
        assert (resp.error_code, resp.base_offset) == (0, 50)
        cluster3.kill(leader)
    finally:
        stop_signal(cluster3, followers, signal.SIGCONT)
    orphan_tail = [v for _, v in log_values(cluster3, leader, topic, 0)][50:]
    assert orphan_tail == [f"orphan-{i}".encode() for i in range(5)]

    new_leader = cluster3.wait_leader(topic, 0, timeout=30, exclude=[leader])
    assert new_leader in followers
    cluster3.wait_isr(topic, 0, followers, timeout=30)
    produce_all(cluster3.bootstrap, topic, [b"second"] * 30)

    cluster3.restart(leader)
    cluster3.wait_isr(topic, 0, [1, 2, 3], timeout=60)
    expected = log_values(cluster3, new_leader, topic, 0)
    assert len(expected) == 80 and all(not v.startswith(b"orphan") for _, v in expected if v)
    cluster3.wait_for(
        "the old leader's log to equal the new leader's",
        lambda: log_values(cluster3, leader, topic, 0) == expected or None,
        30,
    )
    assert read_values(cluster3.bootstrap, topic, 1)[0] == [v for _, v in expected]


@pytest.mark.timeout(120)
def test_killing_the_controller_elects_another(cluster3: BrokerCluster) -> None:
    controller = cluster3.wait_controller()
    epoch = cluster3.controller_epoch()
    cluster3.kill(controller)
    successor = cluster3.wait_controller(timeout=30, exclude=[controller])
    assert cluster3.controller_epoch() > epoch
    survivors = [b for b in (1, 2, 3) if b != controller]
    for b in survivors:
        cluster3.wait_for(
            f"broker {b}'s Metadata to name controller {successor}",
            lambda b=b: cluster3.metadata(b).controller_id == successor or None,
            15,
        )
    # the new controller creates topics: RF 2 on the two live brokers
    bootstrap = ",".join(cluster3.brokers[b].bootstrap for b in survivors)
    create_topic(bootstrap, "after-failover", partitions=2, replication_factor=2)
    cluster3.wait_topic_ready("after-failover", 2)
    for p in range(2):
        cluster3.wait_isr("after-failover", p, survivors, timeout=30)
    assert produce_all(bootstrap, "after-failover", [b"x"] * 10) == list(range(10))
    # the old controller comes back as an ordinary broker
    cluster3.restart(controller)
    cluster3.wait_registered({1, 2, 3})
    time.sleep(1)
    assert cluster3.controller_id() == successor


@pytest.mark.timeout(120)
def test_deleted_topic_disappears_from_every_broker(cluster3: BrokerCluster) -> None:
    create_topic(cluster3.bootstrap, "doomed", partitions=3, replication_factor=3)
    create_topic(cluster3.bootstrap, "kept", partitions=1, replication_factor=3)
    cluster3.wait_topic_ready("doomed", 3)
    cluster3.wait_topic_ready("kept", 1)
    produce_all(cluster3.bootstrap, "doomed", [b"d"] * 20)
    for b in (1, 2, 3):
        assert len(cluster3.partition_dirs(b, "doomed")) == 3
    delete_topic(cluster3.bootstrap, "doomed")
    cluster3.wait_topic_gone("doomed")
    for b in (1, 2, 3):
        cluster3.wait_for(
            f"broker {b} to remove doomed's directories",
            lambda b=b: not cluster3.partition_dirs(b, "doomed"),
            30,
        )
    cluster3.wait_for("/brokers/topics/doomed to go", lambda: cluster3.assignment("doomed") is None, 30)
    cluster3.wait_for(
        "/admin/delete_topics/doomed to go",
        lambda: cluster3.admin.exists("/admin/delete_topics/doomed") is None,
        30,
    )
    for b in (1, 2, 3):
        assert len(cluster3.partition_dirs(b, "kept")) == 1
        names = [t.name for t in cluster3.metadata(b).topics]
        assert "kept" in names and "doomed" not in names


@pytest.mark.timeout(150)
def test_topic_deleted_while_a_replica_is_down_is_removed_when_it_returns(cluster3: BrokerCluster) -> None:
    ready_topic(cluster3, "doomed2", 2)
    cluster3.kill(3)
    cluster3.wait_registered({1, 2}, timeout=30)
    delete_topic(",".join(cluster3.brokers[b].bootstrap for b in (1, 2)), "doomed2")
    cluster3.wait_topic_gone("doomed2")
    for b in (1, 2):
        cluster3.wait_for(
            f"broker {b} to remove doomed2", lambda b=b: not cluster3.partition_dirs(b, "doomed2"), 30
        )
    assert len(cluster3.partition_dirs(3, "doomed2")) == 2  # still on the dead broker's disk
    cluster3.restart(3)
    cluster3.wait_for("broker 3 to remove doomed2", lambda: not cluster3.partition_dirs(3, "doomed2"), 45)
    cluster3.wait_topic_gone("doomed2")
    cluster3.wait_for("/brokers/topics/doomed2 to go", lambda: cluster3.assignment("doomed2") is None, 30)


@pytest.mark.timeout(150)
def test_topic_recreated_while_a_replica_is_down_does_not_get_the_old_records(cluster3: BrokerCluster) -> None:
    """Deleted and created again under the same name while broker 3 is away: broker 3's old
    directory has the earlier topic id in its partition.metadata, so it is dropped and the new
    topic's records are fetched instead of being mixed with the old ones."""
    from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

    leader = ready_topic(cluster3, "reborn", 1)[0]
    with cluster3.connect(leader) as sock:  # one batch per record: truncation keeps early ones
        for i in range(30):
            assert produce_raw(sock, "reborn", 0, [f"old-{i}".encode()], acks=-1).error_code == 0
    cluster3.wait_for("broker 3 to hold the old records", lambda: len(log_values(cluster3, 3, "reborn", 0)) == 30, 30)
    cluster3.kill(3)
    cluster3.wait_registered({1, 2}, timeout=30)
    survivors = ",".join(cluster3.brokers[b].bootstrap for b in (1, 2))
    delete_topic(survivors, "reborn")
    cluster3.wait_topic_gone("reborn")
    cluster3.wait_for("/brokers/topics/reborn to go", lambda: cluster3.assignment("reborn") is None, 30)
    admin = AdminClient({"bootstrap.servers": survivors})
    new = NewTopic("reborn", 1, replica_assignment=[[1, 2, 3]])
    admin.create_topics([new], operation_timeout=30)["reborn"].result(30)
    cluster3.wait_topic_ready("reborn", 1, brokers=(1, 2))
    produce_all(survivors, "reborn", [b"new"] * 10)

    cluster3.restart(3)
    cluster3.wait_isr("reborn", 0, [1, 2, 3], timeout=60)
    new_leader = cluster3.leader("reborn", 0)
    assert new_leader in (1, 2)
    on_leader = log_values(cluster3, new_leader, "reborn", 0)
    assert [v for _, v in on_leader] == [f"new-{i}".encode() for i in range(10)]
    cluster3.wait_for("broker 3 to hold the new records", lambda: log_values(cluster3, 3, "reborn", 0) == on_leader, 30)


@pytest.mark.timeout(150)
def test_min_insync_replicas_refuses_acks_all_with_two_brokers_down(cluster3: BrokerCluster) -> None:
    topic = "minisr"
    leader = ready_topic(cluster3, topic, min_insync_replicas="2")[0]
    with cluster3.connect(leader) as sock:
        assert produce_raw(sock, topic, 0, [b"ok"], acks=-1).error_code == 0
    down = [b for b in (1, 2, 3) if b != leader]
    for b in down:
        cluster3.kill(b)
    cluster3.wait_isr(topic, 0, [leader], timeout=30)
    assert cluster3.leader(topic, 0) == leader

    codes: list[int] = []

    def acks_all_refused() -> int | None:
        with cluster3.connect(leader) as sock:
            codes.append(int(produce_raw(sock, topic, 0, [b"refused"], acks=-1).error_code))
        return codes[-1] if codes[-1] == ErrorCode.NOT_ENOUGH_REPLICAS else None

    cluster3.wait_for("NOT_ENOUGH_REPLICAS for acks=all", acks_all_refused, 15)
    assert 0 not in codes, f"an acks=all write was acknowledged with one in-sync replica: {codes}"
    # acks=1 still writes
    with cluster3.connect(leader) as sock:
        resp = produce_raw(sock, topic, 0, [b"one"], acks=1)
    assert resp.error_code == 0
    # confluent-kafka too: acks=1 is delivered, acks=all is not
    produce_all(cluster3.bootstrap, topic, [b"librdkafka-acks1"], acks=1)
    from confluent_kafka import KafkaError, Producer

    errors: list[Any] = []
    producer = Producer(
        {"bootstrap.servers": cluster3.bootstrap, "acks": "all", "message.timeout.ms": 3000, "retries": 2}
    )
    producer.produce(topic, b"never", partition=0, on_delivery=lambda err, msg: errors.append(err))
    producer.flush(15)
    assert len(errors) == 1 and errors[0] is not None
    assert errors[0].code() in (KafkaError.NOT_ENOUGH_REPLICAS, KafkaError._MSG_TIMED_OUT), errors[0]
    # one follower back: acks=all works again once it is in sync
    cluster3.restart(down[0])
    cluster3.wait_isr(topic, 0, sorted([leader, down[0]]), timeout=45)
    with cluster3.connect(leader) as sock:
        assert produce_raw(sock, topic, 0, [b"again"], acks=-1).error_code == 0


def java_string_hash(s: str) -> int:
    h = 0
    for ch in s:  # group ids here are ASCII: one UTF-16 unit per character
        h = (31 * h + ord(ch)) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def offsets_partition(group: str, partitions: int) -> int:
    """Kafka's ``GroupMetadataManager.partitionFor``: ``Utils.abs(groupId.hashCode) % n``."""
    h = java_string_hash(group)
    return (h & 0x7FFFFFFF if h == -(1 << 31) else abs(h)) % partitions


@pytest.mark.timeout(150)
def test_group_offsets_survive_the_coordinators_death(cluster3: BrokerCluster) -> None:
    from confluent_kafka import Consumer, TopicPartition
    from confluent_kafka.admin import AdminClient

    topic, group = "grouped", "survivors"
    ready_topic(cluster3, topic, 3)
    for p in range(3):
        produce_all(cluster3.bootstrap, topic, [f"p{p}".encode()] * 40, partition=p)

    config = {
        "bootstrap.servers": cluster3.bootstrap,
        "group.id": group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 6000,
        "topic.metadata.refresh.interval.ms": 1000,
    }
    consumer = Consumer(config)
    got: list[Any] = []
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + 60
        while len(got) < 60:
            assert time.monotonic() < deadline, f"only {len(got)} records consumed"
            got += [m for m in consumer.consume(60 - len(got), 0.5) if m.error() is None]
        committed = consumer.commit(asynchronous=False)
        assert committed is not None
        wanted = {(tp.partition, tp.offset) for tp in committed if tp.offset >= 0}
        assert sum(o for _, o in wanted) == 60
    finally:
        consumer.close()

    offsets_topic_partitions = len(cluster3.assignment("__consumer_offsets") or {})
    assert offsets_topic_partitions == 5
    p = offsets_partition(group, offsets_topic_partitions)
    coordinator = cluster3.wait_leader("__consumer_offsets", p)
    assert sorted(cluster3.assignment("__consumer_offsets")[p]) == [1, 2, 3]  # type: ignore[index]
    admin = AdminClient({"bootstrap.servers": cluster3.bootstrap})  # kept alive until the result is in
    desc = admin.describe_consumer_groups([group])[group].result(30)
    assert desc.coordinator.id == coordinator

    cluster3.kill(coordinator)
    new_coordinator = cluster3.wait_leader("__consumer_offsets", p, timeout=30, exclude=[coordinator])
    survivors = [b for b in (1, 2, 3) if b != coordinator]
    bootstrap = ",".join(cluster3.brokers[b].bootstrap for b in survivors)
    consumer = Consumer({**config, "bootstrap.servers": bootstrap})
    try:
        tps = [TopicPartition(topic, q) for q in range(3)]
        fetched = cluster3.wait_for(
            "the committed offsets from the new coordinator",
            lambda: consumer.committed(tps, timeout=5),
            45,
        )
        assert {(tp.partition, tp.offset) for tp in fetched if tp.offset >= 0} == wanted
        consumer.subscribe([topic])
        rest: list[Any] = []
        deadline = time.monotonic() + 60
        while len(rest) < 60:
            assert time.monotonic() < deadline, f"only {len(rest)} of the remaining 60 records consumed"
            rest += [m for m in consumer.consume(60 - len(rest), 0.5) if m.error() is None]
        assert not {(m.partition(), m.offset()) for m in rest} & {(m.partition(), m.offset()) for m in got}
        assert len({(m.partition(), m.offset()) for m in rest + got}) == 120
    finally:
        consumer.close()
    admin = AdminClient({"bootstrap.servers": bootstrap})
    desc = admin.describe_consumer_groups([group])[group].result(30)
    assert desc.coordinator.id == new_coordinator
