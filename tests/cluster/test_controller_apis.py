"""The controller's admin APIs on a three-broker ZooKeeper-mode cluster: ElectLeaders,
AlterPartitionReassignments, ListPartitionReassignments and ControlledShutdown, through raw
requests (exact error codes, NOT_CONTROLLER from the other brokers) and stock admin clients."""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka import ElectionType, TopicPartition
from confluent_kafka.admin import AdminClient
from kafka import TopicPartition as KafkaTopicPartition
from kafka.admin import KafkaAdminClient

from protocol.error_codes import ErrorCode
from protocol.messages.alter_partition_reassignments_request import (
    AlterPartitionReassignmentsRequest,
    ReassignablePartition,
    ReassignableTopic,
)
from protocol.messages.controlled_shutdown_request import ControlledShutdownRequest
from protocol.messages.elect_leaders_request import ElectLeadersRequest, TopicPartitions
from protocol.messages.list_partition_reassignments_request import ListPartitionReassignmentsRequest
from tests.support.broker import roundtrip
from tests.support.cluster import BrokerCluster, create_topic

pytestmark = pytest.mark.timeout(180)


def raw(cluster: BrokerCluster, broker_id: int, api_key: int, version: int, body: Any) -> Any:
    with cluster.connect(broker_id) as sock:
        return roundtrip(sock, api_key, version, body)


def test_only_the_controller_serves_them(cluster3: BrokerCluster) -> None:
    controller = cluster3.wait_controller()
    other = next(b for b in (1, 2, 3) if b != controller)
    create_topic(cluster3.bootstrap, "apis", 1, replication_factor=2)
    cluster3.wait_leader("apis", 0)
    elect: Any = raw(
        cluster3, other, 43, 2, ElectLeadersRequest(topic_partitions=[TopicPartitions("apis", [0])])
    )
    assert [
        (p.error_code, p.error_message) for r in elect.replica_election_results for p in r.partition_result
    ] == [(ErrorCode.NOT_CONTROLLER, None)]
    alter: Any = raw(
        cluster3,
        other,
        45,
        0,
        AlterPartitionReassignmentsRequest(
            topics=[ReassignableTopic("apis", [ReassignablePartition(0, [1])])]
        ),
    )
    assert alter.error_code == ErrorCode.NOT_CONTROLLER and alter.responses == []
    listed: Any = raw(cluster3, other, 46, 0, ListPartitionReassignmentsRequest(topics=None))
    assert listed.error_code == ErrorCode.NOT_CONTROLLER
    shutdown: Any = raw(cluster3, other, 7, 3, ControlledShutdownRequest(broker_id=other, broker_epoch=-1))
    assert shutdown.error_code == ErrorCode.NOT_CONTROLLER
    # on the controller: an unknown broker, a stale epoch
    shutdown = raw(cluster3, controller, 7, 1, ControlledShutdownRequest(broker_id=99))
    assert shutdown.error_code == ErrorCode.BROKER_NOT_AVAILABLE
    _, stat = cluster3.admin.get(f"/brokers/ids/{other}")
    shutdown = raw(
        cluster3, controller, 7, 3, ControlledShutdownRequest(broker_id=other, broker_epoch=stat.czxid - 1)
    )
    assert shutdown.error_code == ErrorCode.STALE_BROKER_EPOCH


def test_reassignment_moves_a_replica_and_preferred_election_restores_the_leader(
    cluster3: BrokerCluster,
) -> None:
    controller = cluster3.wait_controller()
    create_topic(cluster3.bootstrap, "move", 1, replication_factor=2)
    replicas = cluster3.wait_for("move's assignment", lambda: (cluster3.assignment("move") or {}).get(0), 30)
    cluster3.wait_isr("move", 0, replicas)
    newcomer = next(b for b in (1, 2, 3) if b not in replicas)
    # the controller, if among them, goes last: its preferred replica is killed below
    target = sorted([replicas[1], newcomer], key=lambda b: b == controller)
    kp = KafkaAdminClient(bootstrap_servers=cluster3.bootstrap, request_timeout_ms=30000)
    try:
        result = kp.alter_partition_reassignments({KafkaTopicPartition("move", 0): target})
        assert result == {KafkaTopicPartition("move", 0): None}
        final = cluster3.wait_for(
            "the reassignment to complete",
            lambda: a if (a := (cluster3.assignment("move") or {}).get(0)) == target else None,
            60,
        )
        assert final == target
        cluster3.wait_isr("move", 0, target)
        assert cluster3.leader("move", 0) in target
        listed: Any = raw(cluster3, controller, 46, 0, ListPartitionReassignmentsRequest(topics=None))
        assert listed.error_code == 0 and listed.topics == []
    finally:
        kp.close()

    # the preferred replica loses leadership, comes back, catches up; ElectLeaders gives it back
    preferred = target[0]
    if preferred == controller:
        pytest.skip("the preferred replica is the controller; killing it would move the controller too")
    cluster3.kill(preferred)
    cluster3.wait_leader("move", 0, exclude=[preferred])
    cluster3.restart(preferred)
    cluster3.wait_isr("move", 0, target)
    admin = AdminClient({"bootstrap.servers": cluster3.bootstrap})
    outcome = admin.elect_leaders(ElectionType.PREFERRED, [TopicPartition("move", 0)]).result(timeout=30)
    ((tp, err),) = outcome.items()
    assert (tp.topic, tp.partition, err) == ("move", 0, None)
    cluster3.wait_for("the preferred leader", lambda: cluster3.leader("move", 0) == preferred or None, 30)
    again: Any = raw(
        cluster3,
        cluster3.wait_controller(),
        43,
        2,
        ElectLeadersRequest(topic_partitions=[TopicPartitions("move", [0])]),
    )
    assert [p.error_code for r in again.replica_election_results for p in r.partition_result] == [
        ErrorCode.ELECTION_NOT_NEEDED
    ]
