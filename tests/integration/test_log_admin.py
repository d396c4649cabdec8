"""DescribeLogDirs and DeleteRecords against a real broker.

Stock admin clients (kafka-python ``describe_log_dirs`` and ``delete_records``, confluent-kafka
``delete_records``; confluent-kafka has no DescribeLogDirs) and raw requests at every advertised
version. Effects are checked: partition sizes are the bytes produced, and after DeleteRecords a
consumer from the earliest offset starts at the new low watermark, fetches below it are
OFFSET_OUT_OF_RANGE, ListOffsets earliest answers it, and it survives a kill -9 and a restart.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient
from kafka import TopicPartition as KPTopicPartition
from kafka.admin import KafkaAdminClient
from kafka.errors import OffsetOutOfRangeError

from protocol.error_codes import ErrorCode
from protocol.messages import FetchRequest, ListOffsetsRequest, ProduceRequest
from protocol.messages.create_topics_request import CreatableTopic, CreatableTopicConfig, CreateTopicsRequest
from protocol.messages.delete_records_request import (
    DeleteRecordsPartition,
    DeleteRecordsRequest,
    DeleteRecordsTopic,
)
from protocol.messages.describe_log_dirs_request import DescribableLogDirTopic, DescribeLogDirsRequest
from protocol.messages.fetch_request import FetchPartition, FetchTopic
from protocol.messages.list_offsets_request import ListOffsetsPartition, ListOffsetsTopic
from protocol.messages.produce_request import PartitionProduceData, TopicProduceData
from protocol.records import RecordSpec, build_batch
from tests.support.broker import BrokerProcess, roundtrip

pytestmark = pytest.mark.timeout(120)

TIMEOUT_S = 15.0


@pytest.fixture(scope="module")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    proc = BrokerProcess(tmp_path_factory.mktemp("log-admin")).start()
    try:
        yield proc
    finally:
        proc.stop()


def create(sock: socket.socket, partitions: int = 1, **configs: str) -> str:
    name = f"logs-{uuid.uuid4().hex[:10]}"
    topic = CreatableTopic(
        name=name,
        num_partitions=partitions,
        replication_factor=1,
        configs=[CreatableTopicConfig(name=k.replace("_", "."), value=v) for k, v in configs.items()],
    )
    resp: Any = roundtrip(sock, 19, 7, CreateTopicsRequest(topics=[topic]))
    assert resp.topics[0].error_code == 0, resp
    return name


def produce(sock: socket.socket, topic: str, count: int, partition: int = 0) -> int:
    """Produce one batch of ``count`` records; returns its size in bytes."""
    records = build_batch([RecordSpec(f"k{i}".encode(), f"value-{i}".encode()) for i in range(count)])
    data = TopicProduceData(
        name=topic, partition_data=[PartitionProduceData(index=partition, records=records)]
    )
    resp: Any = roundtrip(sock, 0, 9, ProduceRequest(acks=-1, timeout_ms=5000, topic_data=[data]))
    assert resp.responses[0].partition_responses[0].error_code == 0
    return len(records)


def delete_records(
    sock: socket.socket, version: int, *requests: tuple[str, int, int]
) -> list[tuple[int, int, int]]:
    """DeleteRecords for (topic, partition, offset) triples; (partition, error, low watermark) each."""
    topics: dict[str, list[DeleteRecordsPartition]] = {}
    for topic, partition, offset in requests:
        topics.setdefault(topic, []).append(DeleteRecordsPartition(partition, offset))
    request = DeleteRecordsRequest(
        topics=[DeleteRecordsTopic(name, parts) for name, parts in topics.items()], timeout_ms=5000
    )
    resp: Any = roundtrip(sock, 21, version, request)
    return [(p.partition_index, p.error_code, p.low_watermark) for t in resp.topics for p in t.partitions]


def earliest(sock: socket.socket, topic: str) -> int:
    request = ListOffsetsRequest(
        replica_id=-1,
        topics=[
            ListOffsetsTopic(name=topic, partitions=[ListOffsetsPartition(partition_index=0, timestamp=-2)])
        ],
    )
    resp: Any = roundtrip(sock, 2, 7, request)
    partition = resp.topics[0].partitions[0]
    assert partition.error_code == 0
    offset: int = partition.offset
    return offset


def fetch_error(sock: socket.socket, topic: str, offset: int) -> int:
    request = FetchRequest(
        max_wait_ms=0,
        min_bytes=1,
        max_bytes=1_000_000,
        topics=[
            FetchTopic(
                topic=topic,
                partitions=[FetchPartition(partition=0, fetch_offset=offset, partition_max_bytes=100_000)],
            )
        ],
    )
    resp: Any = roundtrip(sock, 1, 11, request)
    error: int = resp.responses[0].partitions[0].error_code
    return error


def first_offset_from_beginning(bootstrap: str, topic: str) -> int:
    """The offset of the first record a consumer assigned at the beginning receives."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "pytest-unjoined", "enable.auto.commit": False}
    )
    try:
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        msg = consumer.poll(TIMEOUT_S)
        assert msg is not None and msg.error() is None, msg and msg.error()
        offset = msg.offset()
        assert offset is not None
        return offset
    finally:
        consumer.close()


def segment_bytes(kafka: BrokerProcess, topic: str, partition: int) -> int:
    return sum(f.stat().st_size for f in (kafka.data_dir / "logs" / f"{topic}-{partition}").glob("*.log"))


# -- DescribeLogDirs ------------------------------------------------------------------------------


def test_kafka_python_describe_log_dirs(kafka: BrokerProcess) -> None:
    with kafka.connect() as sock:
        name = create(sock, partitions=2)
        size = produce(sock, name, 5)
    client = KafkaAdminClient(bootstrap_servers=kafka.bootstrap, request_timeout_ms=10000)
    try:
        [broker] = client.describe_log_dirs()
        [log_dir] = broker["log_dirs"]
        assert broker["broker"] == 0
        assert log_dir["error_code"] == 0
        assert log_dir["log_dir"] == str((kafka.data_dir / "logs").absolute())
        assert log_dir["total_bytes"] >= log_dir["usable_bytes"] > 0
        [topic] = [t for t in log_dir["topics"] if t["name"] == name]
        assert topic["partitions"] == [
            {"partition_index": 0, "partition_size": size, "offset_lag": 0, "is_future_key": False},
            {"partition_index": 1, "partition_size": 0, "offset_lag": 0, "is_future_key": False},
        ]
        assert size == segment_bytes(kafka, name, 0)
        [only] = client.describe_log_dirs({name: [1]})[0]["log_dirs"]
        assert only["topics"] == [
            {
                "name": name,
                "partitions": [
                    {"partition_index": 1, "partition_size": 0, "offset_lag": 0, "is_future_key": False}
                ],
            }
        ]
    finally:
        client.close()


@pytest.mark.parametrize("version", range(5))
def test_describe_log_dirs_every_version(kafka: BrokerProcess, version: int) -> None:
    with kafka.connect() as sock:
        name = create(sock, partitions=2)
        size = produce(sock, name, 3, partition=1)
        everything: Any = roundtrip(sock, 35, version, DescribeLogDirsRequest(topics=None))
        some: Any = roundtrip(
            sock,
            35,
            version,
            DescribeLogDirsRequest(
                topics=[DescribableLogDirTopic(name, [1, 7]), DescribableLogDirTopic("no-such-topic", [0])]
            ),
        )
    [result] = everything.results
    assert everything.error_code == 0 and result.error_code == 0
    assert result.log_dir == str((kafka.data_dir / "logs").absolute())
    [topic] = [t for t in result.topics if t.name == name]
    assert [(p.partition_index, p.partition_size, p.offset_lag) for p in topic.partitions] == [
        (0, 0, 0),
        (1, size, 0),
    ]
    [selected] = some.results
    assert [
        (t.name, [(p.partition_index, p.partition_size) for p in t.partitions]) for t in selected.topics
    ] == [(name, [(1, size)])]
    if version >= 4:
        assert result.total_bytes >= result.usable_bytes > 0
    else:
        assert result.total_bytes == result.usable_bytes == -1  # not on the wire


# -- DeleteRecords --------------------------------------------------------------------------------


def test_confluent_delete_records(kafka: BrokerProcess) -> None:
    with kafka.connect() as sock:
        name = create(sock)
        produce(sock, name, 10)
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap})

    def delete(offset: int, topic: str = name) -> int:
        tp = TopicPartition(topic, 0, offset)
        low: int = admin.delete_records([tp], request_timeout=TIMEOUT_S)[tp].result(TIMEOUT_S).low_watermark
        return low

    assert delete(4) == 4
    assert first_offset_from_beginning(kafka.bootstrap, name) == 4
    with kafka.connect() as sock:
        assert earliest(sock, name) == 4
        assert fetch_error(sock, name, 3) == ErrorCode.OFFSET_OUT_OF_RANGE
        assert fetch_error(sock, name, 4) == ErrorCode.NONE
    assert delete(2) == 4  # below the log start: nothing changes
    for offset, topic, code in [(11, name, KafkaError.OFFSET_OUT_OF_RANGE), (1, "no-such-topic", None)]:
        with pytest.raises(KafkaException) as exc:
            delete(offset, topic)
        if code is not None:
            assert exc.value.args[0].code() == code
    assert delete(OFFSET_END) == 10
    with kafka.connect() as sock:
        assert earliest(sock, name) == 10
        produce(sock, name, 2)
    assert first_offset_from_beginning(kafka.bootstrap, name) == 10


def test_kafka_python_delete_records(kafka: BrokerProcess) -> None:
    with kafka.connect() as sock:
        name = create(sock, partitions=2)
        produce(sock, name, 6, partition=0)
        produce(sock, name, 4, partition=1)
    client = KafkaAdminClient(bootstrap_servers=kafka.bootstrap, request_timeout_ms=10000)
    try:
        result = client.delete_records({KPTopicPartition(name, 0): 5, KPTopicPartition(name, 1): -1})
        assert {tp.partition: r["low_watermark"] for tp, r in result.items()} == {0: 5, 1: 4}
        with pytest.raises(OffsetOutOfRangeError):
            client.delete_records({KPTopicPartition(name, 0): 7})
    finally:
        client.close()
    with kafka.connect() as sock:
        assert earliest(sock, name) == 5


@pytest.mark.parametrize("version", range(3))
def test_delete_records_every_version(kafka: BrokerProcess, version: int) -> None:
    with kafka.connect() as sock:
        name, compacted = create(sock), create(sock, cleanup_policy="compact")
        produce(sock, name, 5)
        produce(sock, compacted, 5)
        assert delete_records(sock, version, (name, 0, 2), (name, 1, 0), ("no-such-topic", 0, 1)) == [
            (0, ErrorCode.NONE, 2),
            (1, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1),
            (0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1),
        ]
        for offset, expected in [
            (6, (0, ErrorCode.OFFSET_OUT_OF_RANGE, -1)),
            (-2, (0, ErrorCode.OFFSET_OUT_OF_RANGE, -1)),
            (1, (0, ErrorCode.NONE, 2)),
            (3, (0, ErrorCode.NONE, 3)),
        ]:
            assert delete_records(sock, version, (name, 0, offset)) == [expected], offset
        assert delete_records(sock, version, (compacted, 0, 1)) == [(0, ErrorCode.POLICY_VIOLATION, -1)]
        # a partition named twice is answered once, for its last offset
        assert delete_records(sock, version, (name, 0, 4), (name, 0, -1)) == [(0, ErrorCode.NONE, 5)]
        assert earliest(sock, name) == 5
        assert fetch_error(sock, name, 4) == ErrorCode.OFFSET_OUT_OF_RANGE
        assert fetch_error(sock, name, 5) == ErrorCode.NONE


@pytest.mark.parametrize("unclean", [False, True], ids=["restart", "kill-9"])
def test_deleted_records_stay_deleted_after_a_restart(tmp_path: Path, unclean: bool) -> None:
    proc = BrokerProcess(tmp_path / "broker").start()
    try:
        with proc.connect() as sock:
            name = create(sock)
            produce(sock, name, 10)
            assert delete_records(sock, 2, (name, 0, 6)) == [(0, ErrorCode.NONE, 6)]
        if unclean:
            proc.kill()
        else:
            proc.stop()
        proc.start()
        with proc.connect() as sock:
            assert earliest(sock, name) == 6
            assert fetch_error(sock, name, 5) == ErrorCode.OFFSET_OUT_OF_RANGE
        assert first_offset_from_beginning(proc.bootstrap, name) == 6
    finally:
        proc.stop()
