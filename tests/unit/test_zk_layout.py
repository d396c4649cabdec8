"""Kafka 3.x znode formats: round trips, and decoding what Kafka brokers actually write.

The literal JSON documents below have the shapes Kafka's ``ZkData.scala`` (3.x) produces and
``zookeeper-shell get`` shows: compact, with Kafka's field names and types (string timestamps,
a string cluster-id version, -1 jmx port).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.uuid_text import new_uuid_text
from pybroker.cluster import zk_layout as L
from pybroker.cluster.zk_client import parse_connect


def test_paths_match_kafka() -> None:
    assert L.CLUSTER_ID == "/cluster/id"
    assert L.broker_path(3) == "/brokers/ids/3"
    assert L.CONTROLLER == "/controller"
    assert L.CONTROLLER_EPOCH == "/controller_epoch"
    assert L.topic_path("orders") == "/brokers/topics/orders"
    assert L.partition_state_path("orders", 7) == "/brokers/topics/orders/partitions/7/state"
    assert L.topic_config_path("orders") == "/config/topics/orders"
    assert L.config_entity_path("brokers", "<default>") == "/config/brokers/<default>"
    assert L.delete_topic_path("orders") == "/admin/delete_topics/orders"
    assert L.BROKER_SEQID == "/brokers/seqid"
    assert L.PRODUCER_ID_BLOCK == "/latest_producer_id_block"
    assert set(L.PERSISTENT_PATHS) >= {
        "/consumers",
        "/brokers/ids",
        "/brokers/topics",
        "/config/changes",
        "/admin/delete_topics",
        "/brokers/seqid",
        "/isr_change_notification",
        "/latest_producer_id_block",
        "/log_dir_event_notification",
        "/config/topics",
        "/config/clients",
        "/config/users",
        "/config/brokers",
        "/config/ips",
    }
    with pytest.raises(ValueError):
        L.topic_path("bad/name")
    with pytest.raises(ValueError):
        L.config_entity_path("nonsense", "x")


def test_cluster_id() -> None:
    data = L.encode_cluster_id("Wp5xZ3a9Qk2k8f0JqkXc5A")
    assert data == b'{"version":"1","id":"Wp5xZ3a9Qk2k8f0JqkXc5A"}'
    assert L.decode_cluster_id(data) == "Wp5xZ3a9Qk2k8f0JqkXc5A"
    new = new_uuid_text()
    assert len(new) == 22 and "=" not in new
    with pytest.raises(L.ZkDataError):
        L.decode_cluster_id(b'{"version":"1"}')


def test_broker_registration_v5_fields() -> None:
    reg = L.BrokerRegistration(
        broker_id=0,
        endpoints=(L.EndPoint("PLAINTEXT", "10.0.0.5", 9092), L.EndPoint("INTERNAL", "10.0.0.5", 9093)),
        timestamp_ms=1700000000123,
        features={"metadata.version": L.VersionRange(1, 21)},
    )
    obj = json.loads(L.encode_broker(reg))
    assert obj == {
        "version": 5,
        "host": "10.0.0.5",
        "port": 9092,
        "endpoints": ["PLAINTEXT://10.0.0.5:9092", "INTERNAL://10.0.0.5:9093"],
        "jmx_port": -1,
        "timestamp": "1700000000123",
        "listener_security_protocol_map": {"PLAINTEXT": "PLAINTEXT", "INTERNAL": "PLAINTEXT"},
        "features": {"metadata.version": {"min_version": 1, "max_version": 21}},
    }
    assert "rack" not in obj  # only written when set
    assert L.decode_broker(0, L.encode_broker(reg)) == reg
    assert b" " not in L.encode_broker(reg)  # compact, like Jackson


def test_broker_registration_rack_ipv6_and_no_plaintext() -> None:
    reg = L.BrokerRegistration(7, (L.EndPoint("SECURE", "::1", 9094, "SSL"),), 1, rack="rack-a", features={})
    obj = json.loads(L.encode_broker(reg))
    assert obj["endpoints"] == ["SECURE://[::1]:9094"]
    assert obj["host"] is None and obj["port"] == -1  # no PLAINTEXT endpoint: Kafka's "empty" one
    assert obj["rack"] == "rack-a"
    assert obj["listener_security_protocol_map"] == {"SECURE": "SSL"}
    assert L.decode_broker(7, L.encode_broker(reg)) == reg


def test_decode_broker_as_written_by_kafka_3() -> None:
    # A Kafka 3.x ZooKeeper-mode broker's registration (field order as Jackson emitted it).
    data = (
        b'{"features":{"metadata.version":{"max_version":21,"min_version":1}},'
        b'"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},'
        b'"endpoints":["PLAINTEXT://broker-1.example:9092"],"jmx_port":-1,"port":9092,'
        b'"host":"broker-1.example","version":5,"timestamp":"1699999999999"}'
    )
    reg = L.decode_broker(1, data)
    assert reg.endpoints == (L.EndPoint("PLAINTEXT", "broker-1.example", 9092, "PLAINTEXT"),)
    assert reg.timestamp_ms == 1699999999999
    assert reg.features == {"metadata.version": L.VersionRange(1, 21)}
    assert reg.rack is None and reg.jmx_port == -1 and reg.version == 5


def test_decode_older_broker_versions() -> None:
    v1 = b'{"version":1,"host":"h1","port":9092,"jmx_port":9999,"timestamp":"5"}'
    assert L.decode_broker(1, v1).endpoints == (L.EndPoint("PLAINTEXT", "h1", 9092),)
    v3 = (
        b'{"jmx_port":-1,"timestamp":"6","endpoints":["PLAINTEXT://h2:6667"],"host":"h2",'
        b'"version":3,"port":6667,"rack":"/default-rack"}'
    )
    reg = L.decode_broker(2, v3)
    assert reg.endpoints == (L.EndPoint("PLAINTEXT", "h2", 6667),) and reg.rack == "/default-rack"
    v4 = (
        b'{"listener_security_protocol_map":{"CLIENT":"PLAINTEXT","REPL":"SSL"},'
        b'"endpoints":["CLIENT://h3:9092","REPL://h3:9093"],"jmx_port":-1,"host":null,"timestamp":"7",'
        b'"port":-1,"version":4}'
    )
    assert L.decode_broker(3, v4).endpoints == (
        L.EndPoint("CLIENT", "h3", 9092, "PLAINTEXT"),
        L.EndPoint("REPL", "h3", 9093, "SSL"),
    )
    with pytest.raises(L.ZkDataError):
        L.decode_broker(4, b'{"version":2,"endpoints":["CUSTOM://h:1"],"jmx_port":-1}')  # no protocol
    with pytest.raises(L.ZkDataError):
        L.decode_broker(4, b"not json")


def test_controller() -> None:
    data = L.encode_controller(2, 1700000000000)
    # Kafka writes these four keys in this order (a Scala Map4 keeps insertion order).
    assert data == b'{"version":2,"brokerid":2,"timestamp":"1700000000000","kraftControllerEpoch":-1}'
    assert L.decode_controller(data) == L.ControllerRegistration(2, 1700000000000, -1, 2)
    old = L.decode_controller(b'{"version":1,"brokerid":101,"timestamp":"1614570663255"}')
    assert (old.broker_id, old.kraft_controller_epoch, old.version) == (101, -1, 1)
    assert L.decode_controller(b"5").broker_id == 5  # pre-JSON format
    assert L.encode_controller_epoch(17) == b"17"
    assert L.decode_controller_epoch(b"17") == 17
    with pytest.raises(L.ZkDataError):
        L.decode_controller_epoch(b"x")


def test_topic_assignment() -> None:
    t = L.TopicAssignment(
        partitions={1: [2, 3, 1], 0: [1, 2, 3]},
        topic_id="8uP6qpeATxmXW0LrTSvdBQ",
        adding_replicas={0: [4], 1: []},
    )
    obj = json.loads(L.encode_topic(t))
    assert obj == {
        "version": 3,
        "partitions": {"0": [1, 2, 3], "1": [2, 3, 1]},
        "adding_replicas": {"0": [4]},  # only partitions with some, as Kafka writes it
        "removing_replicas": {},
        "topic_id": "8uP6qpeATxmXW0LrTSvdBQ",
    }
    back = L.decode_topic("orders", L.encode_topic(t))
    assert back.partitions == {0: [1, 2, 3], 1: [2, 3, 1]}
    assert back.adding_replicas == {0: [4]} and back.removing_replicas == {}
    assert back.topic_id == "8uP6qpeATxmXW0LrTSvdBQ"
    # as Kafka 3.x writes it, and as Kafka 1.x/2.x wrote it (no topic id, no reassignment maps)
    kafka3 = (
        b'{"partitions":{"0":[1]},"topic_id":"8uP6qpeATxmXW0LrTSvdBQ","adding_replicas":{},'
        b'"removing_replicas":{},"version":3}'
    )
    assert L.decode_topic("t", kafka3).partitions == {0: [1]}
    old = L.decode_topic("t", b'{"version":1,"partitions":{"1":[101,103],"0":[103,102]}}')
    assert old.partitions == {0: [103, 102], 1: [101, 103]} and old.topic_id is None and old.version == 1


def test_partition_state() -> None:
    s = L.PartitionState(leader=1, leader_epoch=4, isr=[1, 2], controller_epoch=3, partition_epoch=9)
    data = L.encode_partition_state(s)
    assert data == b'{"controller_epoch":3,"leader":1,"version":1,"leader_epoch":4,"isr":[1,2]}'
    assert L.decode_partition_state(data, zk_version=9) == s
    recovering = L.PartitionState(1, 5, [1], 3, L.LEADER_RECOVERY_RECOVERING)
    assert json.loads(L.encode_partition_state(recovering))["leader_recovery_state"] == 1
    assert L.decode_partition_state(L.encode_partition_state(recovering)) == recovering


def test_config_and_notifications() -> None:
    data = L.encode_config({"retention.ms": "1000", "cleanup.policy": "compact"})
    assert data == b'{"version":1,"config":{"retention.ms":"1000","cleanup.policy":"compact"}}'
    assert L.decode_config(data) == {"retention.ms": "1000", "cleanup.policy": "compact"}
    assert L.decode_config(b'{"version":1,"config":{}}') == {}
    assert L.decode_config(b"") == {}
    assert L.encode_config_change("topics", "orders") == b'{"version":2,"entity_path":"topics/orders"}'


def test_producer_id_block_and_seqid() -> None:
    block = L.ProducerIdBlock(broker=2, block_start=1000, block_end=1999)
    data = L.encode_producer_id_block(block)
    assert json.loads(data) == {"version": 1, "broker": 2, "block_start": "1000", "block_end": "1999"}
    assert L.decode_producer_id_block(data) == block and block.size == 1000
    assert L.broker_id_from_sequence(1) == 1001
    assert L.sorted_broker_ids(["10", "2", "x"]) == [2, 10]


def test_parse_connect() -> None:
    assert parse_connect("127.0.0.1:2181") == ("127.0.0.1:2181", "")
    assert parse_connect("a:1,b:2/kafka/prod/") == ("a:1,b:2", "/kafka/prod")
    assert parse_connect("a:1/") == ("a:1", "")
    with pytest.raises(ValueError):
        parse_connect("/chroot-only")


_ids = st.integers(min_value=0, max_value=2**31 - 1)
_hosts = st.from_regex(r"[a-z][a-z0-9.-]{0,20}", fullmatch=True)


@given(
    broker_id=_ids,
    host=_hosts,
    port=st.integers(0, 65535),
    ts=st.integers(0, 2**62),
    rack=st.none() | st.text(min_size=1, max_size=10),
)
def test_broker_roundtrip_property(broker_id: int, host: str, port: int, ts: int, rack: str | None) -> None:
    reg = L.BrokerRegistration(broker_id, (L.EndPoint("PLAINTEXT", host, port),), ts, rack)
    assert L.decode_broker(broker_id, L.encode_broker(reg)) == reg


@given(
    st.dictionaries(st.integers(0, 1000), st.lists(_ids, min_size=1, max_size=5), max_size=20),
    st.none() | st.just(new_uuid_text()),
)
def test_topic_roundtrip_property(partitions: dict[int, list[int]], topic_id: str | None) -> None:
    back = L.decode_topic("t", L.encode_topic(L.TopicAssignment(partitions, topic_id)))
    assert back.partitions == partitions and back.topic_id == topic_id
