"""ElectLeaders, AlterPartitionReassignments, ListPartitionReassignments and ControlledShutdown on a
standalone broker (a one-broker cluster): raw requests at every advertised version and stock
admin clients."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import ElectionType, TopicPartition
from confluent_kafka.admin import AdminClient
from kafka.admin import KafkaAdminClient

from protocol.error_codes import ErrorCode
from protocol.messages.alter_partition_reassignments_request import (
    AlterPartitionReassignmentsRequest,
    ReassignablePartition,
    ReassignableTopic,
)
from protocol.messages.controlled_shutdown_request import ControlledShutdownRequest
from protocol.messages.create_topics_request import CreatableTopic, CreateTopicsRequest
from protocol.messages.elect_leaders_request import ElectLeadersRequest, TopicPartitions
from protocol.messages.list_partition_reassignments_request import (
    ListPartitionReassignmentsRequest,
    ListPartitionReassignmentsTopics,
)
from tests.support.broker import BrokerProcess, roundtrip

pytestmark = pytest.mark.timeout(120)

BROKER_ID = 0  # broker.id=-1 takes 0 on a first start


@pytest.fixture(scope="module")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    proc = BrokerProcess(tmp_path_factory.mktemp("controller-apis")).start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def topic(kafka: BrokerProcess) -> str:
    name = f"ctl-{uuid.uuid4().hex[:8]}"
    with kafka.connect() as sock:
        resp: Any = roundtrip(
            sock,
            19,
            7,
            CreateTopicsRequest(topics=[CreatableTopic(name=name, num_partitions=2, replication_factor=1)]),
        )
    assert resp.topics[0].error_code == 0
    return name


def results(resp: Any) -> dict[tuple[str, int], tuple[int, str | None]]:
    return {
        (r.topic, p.partition_id): (p.error_code, p.error_message)
        for r in resp.replica_election_results
        for p in r.partition_result
    }


@pytest.mark.parametrize("version", [0, 1, 2])
def test_elect_leaders_every_version(kafka: BrokerProcess, topic: str, version: int) -> None:
    req = ElectLeadersRequest(
        election_type=0,
        topic_partitions=[TopicPartitions(topic=topic, partitions=[0, 1, 7])],
        timeout_ms=1000,
    )
    with kafka.connect() as sock:
        resp: Any = roundtrip(sock, 43, version, req)
        assert resp.error_code == 0
        assert results(resp) == {
            (topic, 0): (ErrorCode.ELECTION_NOT_NEEDED, "Leader election not needed for topic partition."),
            (topic, 1): (ErrorCode.ELECTION_NOT_NEEDED, "Leader election not needed for topic partition."),
            (topic, 7): (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "The partition does not exist."),
        }
        everything: Any = roundtrip(sock, 43, version, ElectLeadersRequest(topic_partitions=None))
        assert everything.error_code == 0 and everything.replica_election_results == []
        if version >= 1:
            unclean: Any = roundtrip(
                sock,
                43,
                version,
                ElectLeadersRequest(election_type=1, topic_partitions=[TopicPartitions(topic, [0])]),
            )
            assert results(unclean)[(topic, 0)][0] == ErrorCode.ELECTION_NOT_NEEDED
            bad: Any = roundtrip(
                sock,
                43,
                version,
                ElectLeadersRequest(election_type=5, topic_partitions=[TopicPartitions(topic, [0])]),
            )
            assert bad.error_code == ErrorCode.UNKNOWN_SERVER_ERROR
            assert results(bad) == {(topic, 0): (ErrorCode.UNKNOWN_SERVER_ERROR, None)}


def test_reassignments(kafka: BrokerProcess, topic: str) -> None:
    with kafka.connect() as sock:
        req = AlterPartitionReassignmentsRequest(
            topics=[
                ReassignableTopic(
                    name=topic,
                    partitions=[
                        ReassignablePartition(partition_index=0, replicas=[BROKER_ID]),
                        ReassignablePartition(partition_index=1, replicas=[BROKER_ID, 7]),
                    ],
                ),
                ReassignableTopic(
                    name="nope", partitions=[ReassignablePartition(partition_index=0, replicas=None)]
                ),
            ]
        )
        resp: Any = roundtrip(sock, 45, 0, req)
        assert resp.error_code == 0 and resp.error_message is None
        got = {
            (t.name, p.partition_index): (p.error_code, p.error_message)
            for t in resp.responses
            for p in t.partitions
        }
        assert got == {
            (topic, 0): (ErrorCode.NONE, None),
            (topic, 1): (
                ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                f"Replica assignment has brokers that are not alive. Replica list: ArrayBuffer(7), "
                f"live broker list: Set({BROKER_ID})",
            ),
            ("nope", 0): (ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, "No partition reassignment is in progress."),
        }
        listed: Any = roundtrip(sock, 46, 0, ListPartitionReassignmentsRequest(topics=None))
        assert listed.error_code == 0 and listed.topics == []
        listed = roundtrip(
            sock,
            46,
            0,
            ListPartitionReassignmentsRequest(topics=[ListPartitionReassignmentsTopics(topic, [0])]),
        )
        assert listed.error_code == 0 and listed.topics == []


@pytest.mark.parametrize("version", [1, 2, 3])
def test_controlled_shutdown_every_version(kafka: BrokerProcess, topic: str, version: int) -> None:
    with kafka.connect() as sock:
        resp: Any = roundtrip(sock, 7, version, ControlledShutdownRequest(broker_id=BROKER_ID))
        assert resp.error_code == 0
        remaining = {(r.topic_name, r.partition_index) for r in resp.remaining_partitions}
        assert {(topic, 0), (topic, 1)} <= remaining
        other: Any = roundtrip(sock, 7, version, ControlledShutdownRequest(broker_id=BROKER_ID + 5))
        assert other.error_code == ErrorCode.BROKER_NOT_AVAILABLE and other.remaining_partitions == []


def test_stock_admin_clients(kafka: BrokerProcess, topic: str) -> None:
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
    future = admin.elect_leaders(ElectionType.PREFERRED, [TopicPartition(topic, 0)])
    per_partition = future.result(timeout=15)
    ((tp, err),) = per_partition.items()
    assert (tp.topic, tp.partition) == (topic, 0) and err is not None
    assert err.code() == ErrorCode.ELECTION_NOT_NEEDED
    kp = KafkaAdminClient(bootstrap_servers=kafka.bootstrap, request_timeout_ms=15000)
    try:
        assert kp.list_partition_reassignments() == {}
    finally:
        kp.close()
