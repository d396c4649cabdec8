"""A broker cut off from ZooKeeper loses its leaderships safely and rejoins once the cut heals.

Broker 3 reaches ZooKeeper through a :class:`~tests.support.zookeeper.TcpCutter` relay; brokers
1 and 2 connect directly. Cutting the relay leaves broker 3 running and reachable by clients and
by the other brokers, but without ZooKeeper: its session expires, the controller (1 or 2) elects
new leaders for the partitions it led from the remaining ISR, and broker 3, which cannot learn
that in time, must never acknowledge an acks=all write it cannot replicate (raw Produce requests
sent straight to it, where a client would just reroute). After the cut heals it opens a new
session, registers again, truncates whatever it appended as a stale leader, catches up and is
back in every ISR.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from protocol.error_codes import ErrorCode
from tests.support.cluster import BrokerCluster, produce_raw, read_partition_dir
from tests.support.zookeeper import TcpCutter, ZooKeeperServer

TOPIC = "cut"
# broker 3 is the preferred (first) replica, so the leader, of partition 0 only
ASSIGNMENT = [[3, 1, 2], [1, 2, 3], [2, 3, 1]]


@pytest.fixture
def cut_cluster(
    zk_server: ZooKeeperServer, zk_chroot: str, tmp_path: Path
) -> Iterator[tuple[BrokerCluster, TcpCutter]]:
    cutter = TcpCutter((zk_server.host, zk_server.port))
    cluster = BrokerCluster(zk_server, zk_chroot, tmp_path / "cluster", zk_hosts={3: cutter.hosts})
    try:
        cluster.start()
        yield cluster, cutter
    finally:
        cluster.close()
        cutter.close()


def create_assigned_topic(bootstrap: str) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

    admin = AdminClient({"bootstrap.servers": bootstrap})
    new = NewTopic(TOPIC, len(ASSIGNMENT), replica_assignment=ASSIGNMENT, config={"min.insync.replicas": "2"})
    admin.create_topics([new], operation_timeout=30, request_timeout=30)[TOPIC].result(30)


def produce_to(cluster: BrokerCluster, broker_id: int, partition: int, values: list[bytes]) -> Any:
    """acks=-1 with a 3 s timeout, straight to one broker; fails the test if it never answers."""
    with cluster.connect(broker_id, timeout=20) as sock:
        try:
            return produce_raw(sock, TOPIC, partition, values, acks=-1, timeout_ms=3000)
        except TimeoutError:
            raise AssertionError(
                f"broker {broker_id} did not answer a Produce with timeout_ms=3000 in 20 s"
            ) from None
        except OSError as exc:
            raise AssertionError(f"broker {broker_id} dropped a Produce: {exc!r}") from None


def log_of(cluster: BrokerCluster, broker_id: int, partition: int) -> list[tuple[int, bytes | None]]:
    return read_partition_dir(cluster.log_dir(broker_id) / f"{TOPIC}-{partition}")


@pytest.mark.timeout(180)
def test_broker_cut_from_zookeeper_loses_leadership_and_rejoins(
    cut_cluster: tuple[BrokerCluster, TcpCutter],
) -> None:
    cluster, cutter = cut_cluster
    create_assigned_topic(cluster.bootstrap)
    leaders = cluster.wait_topic_ready(TOPIC, 3)
    assert leaders == {0: 3, 1: 1, 2: 2}
    cluster.wait_all_isr(TOPIC, 3, [1, 2, 3], timeout=30)
    resp = produce_to(cluster, 3, 0, [b"before-0", b"before-1"])
    assert (resp.error_code, resp.base_offset) == (0, 0)
    epoch_before = cluster.partition_state(TOPIC, 0)["leader_epoch"]  # type: ignore[index]

    cutter.cut()
    cut_at = time.monotonic()
    # the session expires (5 s): broker 3 is gone from ZooKeeper, partition 0 gets a new leader
    cluster.wait_registered({1, 2}, timeout=30)
    new_leader = cluster.wait_leader(TOPIC, 0, timeout=30, exclude=[3])
    assert new_leader in (1, 2)
    state = cluster.partition_state(TOPIC, 0)
    assert state is not None and state["leader_epoch"] > epoch_before and 3 not in state["isr"]
    assert cluster.wait_controller(timeout=30, exclude=[3]) in (1, 2)
    for p in (1, 2):
        cluster.wait_for(f"3 out of {TOPIC}-{p}'s ISR", lambda p=p: 3 not in cluster.isr(TOPIC, p), 30)

    # the rest of the cluster takes acks=all writes for partition 0 from its new leader
    resp = produce_to(cluster, new_leader, 0, [b"during-0", b"during-1", b"during-2"])
    assert (resp.error_code, resp.base_offset) == (0, 2)

    # broker 3 is still up and still reachable, but must not acknowledge acks=all writes
    codes: list[int] = []
    for attempt in range(3):
        resp = produce_to(cluster, 3, 0, [f"stale-{attempt}".encode()])
        codes.append(int(resp.error_code))
        assert resp.error_code != 0, f"the cut-off broker acknowledged an acks=all write (attempt {attempt})"
        time.sleep(1)
    # a partition it follows is refused as before
    assert produce_to(cluster, 3, 1, [b"x"]).error_code == ErrorCode.NOT_LEADER_OR_FOLLOWER
    print(
        f"cut broker's acks=all answers: {[ErrorCode(c).name for c in codes]}; cut for {time.monotonic() - cut_at:.1f}s"
    )

    cutter.heal()
    # a new session, a new registration, and back in every ISR after truncating and catching up
    cluster.wait_registered({1, 2, 3}, timeout=45)
    cluster.wait_all_isr(TOPIC, 3, [1, 2, 3], timeout=60)
    assert cluster.leader(TOPIC, 0) == new_leader
    cluster.wait_for(
        "broker 3's Metadata to name the new leader of partition 0",
        lambda: (
            {p.partition_index: p.leader_id for p in cluster.metadata(3, [TOPIC]).topics[0].partitions}[0]
            == new_leader
            or None
        ),
        30,
    )
    expected = log_of(cluster, new_leader, 0)
    assert [v for _, v in expected] == [b"before-0", b"before-1", b"during-0", b"during-1", b"during-2"]
    cluster.wait_for(
        "broker 3's log to equal the leader's", lambda: log_of(cluster, 3, 0) == expected or None, 30
    )
    # and the partition takes acks=all writes with broker 3 replicating again
    resp = produce_to(cluster, new_leader, 0, [b"after"])
    assert (resp.error_code, resp.base_offset) == (0, 5)
    cluster.wait_for(
        "broker 3 to replicate the last write", lambda: len(log_of(cluster, 3, 0)) == 6 or None, 15
    )
