"""DescribeConfigs, AlterConfigs and IncrementalAlterConfigs against a real broker.

Stock admin clients (confluent-kafka ``AdminClient``, kafka-python ``KafkaAdminClient``) and raw
requests at every advertised version. Effects are checked, not just responses: a lowered
``max.message.bytes`` rejects the next large produce, a lowered ``retention.ms`` deletes old
segments at the next retention check, and changes survive a broker restart.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewTopic,
)
from kafka.admin import ConfigResource as KPConfigResource
from kafka.admin import KafkaAdminClient

from protocol.error_codes import ErrorCode
from protocol.messages import alter_configs_request as ac
from protocol.messages import incremental_alter_configs_request as iac
from protocol.messages.describe_configs_request import DescribeConfigsRequest, DescribeConfigsResource
from storage.config import TOPIC_CONFIG_KEYS
from tests.support.broker import BrokerProcess, roundtrip

pytestmark = pytest.mark.timeout(120)

TIMEOUT_S = 15.0
TOPIC, BROKER, BROKER_LOGGER = 2, 4, 8
SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3
HOUR_MS = 3_600_000


@pytest.fixture(scope="module")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    proc = BrokerProcess(
        tmp_path_factory.mktemp("admin-configs"), overrides={"log.retention.check.interval.ms": "200"}
    ).start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def admin(kafka: BrokerProcess) -> AdminClient:
    return AdminClient({"bootstrap.servers": kafka.bootstrap})


def new_topic(admin: AdminClient, partitions: int = 1, **configs: str) -> str:
    name = f"cfg-{uuid.uuid4().hex[:10]}"
    topic = NewTopic(name, partitions, 1, config={k.replace("_", "."): v for k, v in configs.items()})
    admin.create_topics([topic], request_timeout=TIMEOUT_S)[name].result(TIMEOUT_S)
    return name


def describe(admin: AdminClient, name: str, kind: str = "topic") -> dict[str, ConfigEntry]:
    resource = ConfigResource(kind, name)
    entries: dict[str, ConfigEntry] = admin.describe_configs([resource], request_timeout=TIMEOUT_S)[
        resource
    ].result(TIMEOUT_S)
    return entries


def incremental(admin: AdminClient, name: str, *entries: ConfigEntry, validate_only: bool = False) -> None:
    resource = ConfigResource("topic", name, incremental_configs=list(entries))
    futures = admin.incremental_alter_configs(
        [resource], request_timeout=TIMEOUT_S, validate_only=validate_only
    )
    futures[resource].result(TIMEOUT_S)


def op(name: str, value: str | None, kind: AlterConfigOpType = AlterConfigOpType.SET) -> ConfigEntry:
    return ConfigEntry(name, value, incremental_operation=kind)


def error_of(exc: pytest.ExceptionInfo[KafkaException]) -> KafkaError:
    error: KafkaError = exc.value.args[0]
    return error


def produce_one(bootstrap: str, topic: str, size: int, timestamp: int = 0) -> KafkaError | None:
    """Produce one record of ``size`` bytes; the delivery error, or None."""
    producer = Producer({"bootstrap.servers": bootstrap, "message.timeout.ms": 10000, "retries": 0})
    outcome: list[KafkaError | None] = []
    producer.produce(
        topic, value=b"x" * size, timestamp=timestamp, on_delivery=lambda err, _msg: outcome.append(err)
    )
    assert producer.flush(TIMEOUT_S) == 0
    return outcome[0]


def watermarks(bootstrap: str, topic: str) -> tuple[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "pytest-watermarks"})
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=TIMEOUT_S, cached=False)
        return low, high
    finally:
        consumer.close()


# -- confluent-kafka AdminClient -------------------------------------------------------------------


def test_confluent_describe_topic_configs(admin: AdminClient) -> None:
    name = new_topic(admin, retention_ms="3600000", cleanup_policy="compact,delete")
    entries = describe(admin, name)
    assert set(entries) == set(TOPIC_CONFIG_KEYS)
    retention = entries["retention.ms"]
    assert retention.value == "3600000"
    assert ConfigSource(retention.source) == ConfigSource.DYNAMIC_TOPIC_CONFIG
    assert not retention.is_default and not retention.is_read_only and not retention.is_sensitive
    assert list(retention.synonyms) == ["retention.ms"]
    assert entries["cleanup.policy"].value == "compact,delete"
    segment = entries["segment.bytes"]  # server.properties sets log.segment.bytes
    assert (segment.value, ConfigSource(segment.source)) == ("1073741824", ConfigSource.STATIC_BROKER_CONFIG)
    assert list(segment.synonyms) == ["log.segment.bytes"]  # keyed by name: static, then default
    max_bytes = entries["max.message.bytes"]
    assert (max_bytes.value, ConfigSource(max_bytes.source)) == ("1048588", ConfigSource.DEFAULT_CONFIG)
    assert max_bytes.is_default


def test_confluent_describe_broker_configs(kafka: BrokerProcess, admin: AdminClient) -> None:
    entries = describe(admin, "0", "broker")
    assert all(e.is_read_only for e in entries.values())
    hours = entries["log.retention.hours"]
    assert (hours.value, ConfigSource(hours.source)) == ("168", ConfigSource.STATIC_BROKER_CONFIG)
    interval = entries["log.retention.check.interval.ms"]  # --override is static config too
    assert (interval.value, ConfigSource(interval.source)) == ("200", ConfigSource.STATIC_BROKER_CONFIG)
    partitions = entries["num.partitions"]
    assert (partitions.value, ConfigSource(partitions.source)) == ("1", ConfigSource.STATIC_BROKER_CONFIG)
    fetch = entries["fetch.max.bytes"]
    assert (fetch.value, ConfigSource(fetch.source), fetch.is_default) == (
        "57671680",
        ConfigSource.DEFAULT_CONFIG,
        True,
    )
    assert entries["listeners"].value == f"PLAINTEXT://{kafka.host}:0"


def test_confluent_incremental_alter_configs(admin: AdminClient) -> None:
    name = new_topic(admin, segment_ms="3600000")
    incremental(
        admin,
        name,
        op("retention.ms", "7200000"),
        op("segment.ms", None, AlterConfigOpType.DELETE),
        op("cleanup.policy", "compact", AlterConfigOpType.APPEND),
    )
    entries = describe(admin, name)
    assert entries["retention.ms"].value == "7200000"
    assert ConfigSource(entries["retention.ms"].source) == ConfigSource.DYNAMIC_TOPIC_CONFIG
    assert entries["segment.ms"].value == "604800000"
    assert ConfigSource(entries["segment.ms"].source) == ConfigSource.DEFAULT_CONFIG
    assert entries["cleanup.policy"].value == "delete,compact"
    incremental(admin, name, op("cleanup.policy", "delete", AlterConfigOpType.SUBTRACT))
    assert describe(admin, name)["cleanup.policy"].value == "compact"

    incremental(admin, name, op("retention.ms", "1000"), validate_only=True)
    assert describe(admin, name)["retention.ms"].value == "7200000"

    for entry, code in [
        (op("retention.ms", "soon"), KafkaError.INVALID_CONFIG),
        (op("no.such.config", "1"), KafkaError.INVALID_CONFIG),
        (op("retention.ms", "1", AlterConfigOpType.APPEND), KafkaError.INVALID_REQUEST),
    ]:
        with pytest.raises(KafkaException) as exc:
            incremental(admin, name, entry)
        assert error_of(exc).code() == code, entry
    with pytest.raises(KafkaException) as exc:
        incremental(admin, "no-such-topic", op("retention.ms", "1"))
    assert error_of(exc).code() == KafkaError.UNKNOWN_TOPIC_OR_PART


def test_confluent_alter_configs_replaces_every_override(admin: AdminClient) -> None:
    name = new_topic(admin, retention_ms="3600000", segment_ms="3600000")
    resource = ConfigResource("topic", name, set_config={"max.message.bytes": "50000"})
    admin.alter_configs([resource], request_timeout=TIMEOUT_S)[resource].result(TIMEOUT_S)
    entries = describe(admin, name)
    assert entries["max.message.bytes"].value == "50000"
    assert ConfigSource(entries["retention.ms"].source) == ConfigSource.DEFAULT_CONFIG
    assert ConfigSource(entries["segment.ms"].source) == ConfigSource.DEFAULT_CONFIG

    bad = ConfigResource("topic", name, set_config={"max.message.bytes": "-5"})
    with pytest.raises(KafkaException) as exc:
        admin.alter_configs([bad], request_timeout=TIMEOUT_S)[bad].result(TIMEOUT_S)
    assert error_of(exc).code() == KafkaError.INVALID_CONFIG
    assert "max.message.bytes" in error_of(exc).str()
    assert describe(admin, name)["max.message.bytes"].value == "50000"


def test_confluent_broker_configs_are_read_only(admin: AdminClient) -> None:
    resource = ConfigResource("broker", "0", incremental_configs=[op("log.retention.ms", "1000")])
    with pytest.raises(KafkaException) as exc:
        admin.incremental_alter_configs([resource], request_timeout=TIMEOUT_S)[resource].result(TIMEOUT_S)
    assert error_of(exc).code() == KafkaError.INVALID_REQUEST
    assert "Cannot update these configs dynamically: log.retention.ms" in error_of(exc).str()


def test_lowered_max_message_bytes_rejects_the_next_large_produce(
    kafka: BrokerProcess, admin: AdminClient
) -> None:
    name = new_topic(admin)
    assert produce_one(kafka.bootstrap, name, 20_000) is None
    incremental(admin, name, op("max.message.bytes", "10000"))
    error = produce_one(kafka.bootstrap, name, 20_000)
    assert error is not None and error.code() == KafkaError.MSG_SIZE_TOO_LARGE
    assert produce_one(kafka.bootstrap, name, 1_000) is None
    incremental(admin, name, op("max.message.bytes", None, AlterConfigOpType.DELETE))
    assert produce_one(kafka.bootstrap, name, 20_000) is None


def test_lowered_retention_ms_deletes_old_segments_at_the_next_check(
    kafka: BrokerProcess, admin: AdminClient
) -> None:
    name = new_topic(admin)
    two_hours_ago = int(time.time() * 1000) - 2 * HOUR_MS
    for _ in range(3):
        assert produce_one(kafka.bootstrap, name, 100, timestamp=two_hours_ago) is None
    time.sleep(0.5)  # several retention checks: nothing is old under the default 7 days
    assert watermarks(kafka.bootstrap, name) == (0, 3)
    incremental(admin, name, op("retention.ms", str(HOUR_MS)))
    deadline = time.monotonic() + 10
    while watermarks(kafka.bootstrap, name) != (3, 3):
        assert time.monotonic() < deadline, watermarks(kafka.bootstrap, name)
        time.sleep(0.1)


# -- kafka-python KafkaAdminClient ---------------------------------------------------------------


def test_kafka_python_describe_and_alter_configs(kafka: BrokerProcess, admin: AdminClient) -> None:
    name = new_topic(admin, retention_ms="3600000")
    client = KafkaAdminClient(bootstrap_servers=kafka.bootstrap, request_timeout_ms=10000)
    try:
        resource = KPConfigResource("TOPIC", name)
        modified = client.describe_configs([resource], include_synonyms=True)["topic"][name]
        assert list(modified) == ["retention.ms"]
        assert modified["retention.ms"]["value"] == "3600000"
        assert modified["retention.ms"]["config_source"] == "DYNAMIC_TOPIC_CONFIG"
        assert modified["retention.ms"]["config_type"] == "LONG"
        everything = client.describe_configs([resource], config_filter="all")["topic"][name]
        assert set(everything) == set(TOPIC_CONFIG_KEYS)
        assert everything["segment.bytes"]["config_source"] == "STATIC_BROKER_CONFIG"

        changes = KPConfigResource("TOPIC", name, configs={"segment.ms": "7200000"})
        assert client.alter_configs([changes]) == {"topic": {name: "OK"}}
        legacy = KPConfigResource("TOPIC", name, configs={"max.message.bytes": "40000"})
        assert client.alter_configs([legacy], incremental=False) == {"topic": {name: "OK"}}
        modified = client.describe_configs([resource])["topic"][name]
        assert {k: v["value"] for k, v in modified.items()} == {
            "retention.ms": "3600000",
            "segment.ms": "7200000",
            "max.message.bytes": "40000",
        }
        reset = KPConfigResource("TOPIC", name, configs=["retention.ms", "segment.ms"])
        assert client.reset_configs([reset]) == {"topic": {name: "OK"}}
        assert list(client.describe_configs([resource])["topic"][name]) == ["max.message.bytes"]

        bad = KPConfigResource("TOPIC", name, configs={"retention.ms": "-7"})
        assert client.alter_configs([bad])["topic"][name].startswith("[Error 40] InvalidConfigurationError")

        broker = client.describe_configs([KPConfigResource("BROKER", "0")], config_filter="all")["broker"][
            "0"
        ]
        assert broker["log.retention.hours"]["config_source"] == "STATIC_BROKER_CONFIG"
        assert client.describe_configs([KPConfigResource("BROKER", "0")], config_filter="dynamic") == {
            "broker": {"0": {}}
        }
        change = KPConfigResource("BROKER", "0", configs={"num.partitions": "3"})
        result = client.alter_configs([change], raise_on_unknown=False)["broker"]["0"]
        assert result.startswith("[Error 42] InvalidRequestError")
    finally:
        client.close()


# -- raw requests at every version ---------------------------------------------------------------


def describe_raw(sock: socket.socket, version: int, *resources: tuple[int, str, list[str] | None]) -> Any:
    request = DescribeConfigsRequest(
        resources=[DescribeConfigsResource(t, n, keys) for t, n, keys in resources],
        include_synonyms=True,
        include_documentation=True,
    )
    return roundtrip(sock, 32, version, request)


@pytest.mark.parametrize("version", range(5))
def test_describe_configs_every_version(kafka: BrokerProcess, admin: AdminClient, version: int) -> None:
    name = new_topic(admin, retention_ms="1234")
    with kafka.connect() as sock:
        resp = describe_raw(
            sock,
            version,
            (TOPIC, name, None),
            (TOPIC, name, ["segment.ms", "retention.ms", "no.such.key"]),
            (TOPIC, "no-such-topic", None),
            (TOPIC, "bad/name", None),
            (BROKER, "0", ["num.partitions", "log.retention.minutes"]),
            (BROKER, "", None),
            (BROKER, "7", None),
            (BROKER, "x", None),
            (BROKER_LOGGER, "0", None),
            (BROKER_LOGGER, "", None),
            (16, "metrics", None),
        )
    r = resp.results
    assert [(x.resource_type, x.resource_name) for x in r][:2] == [(TOPIC, name), (TOPIC, name)]
    assert [x.error_code for x in r] == [
        ErrorCode.NONE,
        ErrorCode.NONE,
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        ErrorCode.INVALID_TOPIC_EXCEPTION,
        ErrorCode.NONE,
        ErrorCode.NONE,
        ErrorCode.INVALID_REQUEST,
        ErrorCode.INVALID_REQUEST,
        ErrorCode.NONE,
        ErrorCode.INVALID_REQUEST,
        ErrorCode.INVALID_REQUEST,
    ]
    assert r[0].error_message is None
    assert [c.name for c in r[0].configs] == list(TOPIC_CONFIG_KEYS)
    retention, segment = r[1].configs  # in the broker's order, unknown keys left out
    assert (retention.name, retention.value, segment.name, segment.value) == (
        "retention.ms",
        "1234",
        "segment.ms",
        "604800000",
    )
    minutes, partitions = r[4].configs  # broker configs by name
    assert (minutes.value, partitions.value) == (None, "1")
    assert r[5].configs == [] and r[8].configs == []
    assert "expected 0 or empty string" in r[6].error_message
    if version == 0:
        assert (segment.is_default, retention.is_default) == (True, False)
        assert retention.config_source == -1  # not on the wire
    else:
        assert (segment.config_source, retention.config_source) == (5, 1)
        assert [(s.name, s.value, s.source) for s in retention.synonyms] == [("retention.ms", "1234", 1)]
        assert segment.synonyms == []  # log.roll.ms is unset: Kafka shows no broker synonym
        assert [(s.name, s.value, s.source) for s in partitions.synonyms] == [
            ("num.partitions", "1", 4),
            ("num.partitions", "1", 5),
        ]
        assert (minutes.config_source, minutes.synonyms) == (5, [])
    if version >= 3:
        assert (retention.config_type, partitions.config_type) == (5, 3)
        assert retention.documentation
    else:
        assert retention.config_type == 0


def test_describe_configs_without_synonyms_or_documentation(kafka: BrokerProcess, admin: AdminClient) -> None:
    name = new_topic(admin, retention_ms="1234")
    request = DescribeConfigsRequest(resources=[DescribeConfigsResource(TOPIC, name, [])])
    with kafka.connect() as sock:
        resp: Any = roundtrip(sock, 32, 4, request)
    configs = {c.name: c for c in resp.results[0].configs}
    assert set(configs) == set(TOPIC_CONFIG_KEYS)  # an empty key list means all keys
    assert configs["retention.ms"].synonyms == [] and configs["retention.ms"].documentation is None
    assert configs["retention.ms"].config_source == 1


def topic_config(sock: socket.socket, name: str, key: str) -> tuple[str | None, int]:
    resp: Any = describe_raw(sock, 4, (TOPIC, name, [key]))
    config = resp.results[0].configs[0]
    return config.value, config.config_source


@pytest.mark.parametrize("version", range(3))
def test_alter_configs_every_version(kafka: BrokerProcess, admin: AdminClient, version: int) -> None:
    name, twice = new_topic(admin, segment_ms="3600000"), new_topic(admin)

    def resource(kind: int, res: str, **configs: str | None) -> ac.AlterConfigsResource:
        entries = [ac.AlterableConfig(k.replace("_", "."), v) for k, v in configs.items()]
        return ac.AlterConfigsResource(kind, res, entries)

    request = ac.AlterConfigsRequest(
        resources=[
            resource(TOPIC, name, retention_ms="99000", max_message_bytes="5000"),
            resource(TOPIC, twice, retention_ms="1"),
            resource(TOPIC, twice, retention_ms="2"),
            resource(TOPIC, "", retention_ms="1"),
            resource(TOPIC, "no-such-topic", retention_ms="1"),
            resource(BROKER, "0", num_partitions="3"),
            resource(BROKER, ""),
            resource(BROKER, "9"),
            resource(BROKER_LOGGER, "0"),
        ]
    )
    bad = [
        ac.AlterConfigsResource(TOPIC, name, [ac.AlterableConfig("retention.ms", "1")] * 2),
        ac.AlterConfigsResource(TOPIC, name, [ac.AlterableConfig("retention.ms", None)]),
        resource(TOPIC, name, retention_ms="-2"),
        resource(TOPIC, name, min_compaction_lag_ms="10", max_compaction_lag_ms="5"),
    ]
    with kafka.connect() as sock:
        resp: Any = roundtrip(sock, 33, version, request)
        assert [r.error_code for r in resp.responses] == [
            ErrorCode.NONE,
            ErrorCode.INVALID_REQUEST,
            ErrorCode.INVALID_REQUEST,
            ErrorCode.INVALID_REQUEST,
            ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            ErrorCode.INVALID_REQUEST,
            ErrorCode.NONE,
            ErrorCode.INVALID_REQUEST,
            ErrorCode.INVALID_REQUEST,
        ]
        assert resp.responses[1].error_message == "Each resource must appear at most once."
        assert topic_config(sock, name, "retention.ms") == ("99000", 1)
        assert topic_config(sock, name, "segment.ms") == ("604800000", 5)
        assert topic_config(sock, twice, "retention.ms") == ("604800000", 5)
        for res, code in zip(
            bad,
            [ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST] + [ErrorCode.INVALID_CONFIG] * 2,
            strict=True,
        ):
            resp = roundtrip(sock, 33, version, ac.AlterConfigsRequest(resources=[res]))
            assert resp.responses[0].error_code == code, res
        validate = ac.AlterConfigsRequest(
            resources=[resource(TOPIC, name, retention_ms="5")], validate_only=True
        )
        assert roundtrip(sock, 33, version, validate).responses[0].error_code == 0  # type: ignore[attr-defined]
        assert topic_config(sock, name, "retention.ms") == ("99000", 1)


@pytest.mark.parametrize("version", range(2))
def test_incremental_alter_configs_every_version(
    kafka: BrokerProcess, admin: AdminClient, version: int
) -> None:
    name = new_topic(admin, segment_ms="3600000")

    def resource(kind: int, res: str, *ops: tuple[str, int, str | None]) -> iac.AlterConfigsResource:
        return iac.AlterConfigsResource(kind, res, [iac.AlterableConfig(k, o, v) for k, o, v in ops])

    def alter(*resources: iac.AlterConfigsResource, validate_only: bool = False) -> list[int]:
        request = iac.IncrementalAlterConfigsRequest(resources=list(resources), validate_only=validate_only)
        resp: Any = roundtrip(sock, 44, version, request)
        return [r.error_code for r in resp.responses]

    with kafka.connect() as sock:
        assert alter(
            resource(
                TOPIC,
                name,
                ("retention.ms", SET, "99000"),
                ("segment.ms", DELETE, None),
                ("cleanup.policy", APPEND, "compact"),
            ),
            resource(BROKER, "0", ("log.retention.ms", DELETE, None)),
            resource(BROKER, "", ("log.retention.ms", SET, "1")),
            resource(BROKER_LOGGER, "0", ("root", SET, "DEBUG")),
            resource(TOPIC, "no-such-topic", ("retention.ms", SET, "1")),
            resource(32, "group", ("x", SET, "1")),
        ) == [
            ErrorCode.NONE,
            ErrorCode.NONE,
            ErrorCode.INVALID_REQUEST,
            ErrorCode.INVALID_REQUEST,
            ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            ErrorCode.INVALID_REQUEST,
        ]
        assert topic_config(sock, name, "retention.ms") == ("99000", 1)
        assert topic_config(sock, name, "segment.ms") == ("604800000", 5)
        assert topic_config(sock, name, "cleanup.policy") == ("delete,compact", 1)
        for ops, code in [
            ((("retention.ms", SET, "1"), ("retention.ms", SET, "2")), ErrorCode.INVALID_REQUEST),
            ((("retention.ms", SET, None),), ErrorCode.INVALID_REQUEST),
            ((("retention.ms", 7, "1"),), ErrorCode.INVALID_REQUEST),
            ((("retention.ms", APPEND, "1"),), ErrorCode.INVALID_REQUEST),
            ((("retention.ms", SET, "x"),), ErrorCode.INVALID_CONFIG),
            ((("unknown.key", SET, "1"),), ErrorCode.INVALID_CONFIG),
            ((("cleanup.policy", APPEND, "archive"),), ErrorCode.INVALID_CONFIG),
        ]:
            assert alter(resource(TOPIC, name, *ops)) == [code], ops
        assert alter(resource(BROKER_LOGGER, "0"), resource(BROKER_LOGGER, "1")) == [
            0,
            ErrorCode.INVALID_REQUEST,
        ]
        assert alter(resource(TOPIC, name, ("retention.ms", SET, "5")), validate_only=True) == [0]
        assert alter(resource(TOPIC, name, ("cleanup.policy", SUBTRACT, "delete"))) == [0]
        assert topic_config(sock, name, "cleanup.policy") == ("compact", 1)
        assert topic_config(sock, name, "retention.ms") == ("99000", 1)


# -- restart --------------------------------------------------------------------------------------


def test_topic_configs_survive_a_restart(tmp_path: Path) -> None:
    proc = BrokerProcess(tmp_path / "broker").start()
    try:
        name = new_topic(AdminClient({"bootstrap.servers": proc.bootstrap}), retention_ms="3600000")
        incremental(
            AdminClient({"bootstrap.servers": proc.bootstrap}),
            name,
            op("max.message.bytes", "10000"),
            op("retention.ms", None, AlterConfigOpType.DELETE),
            op("segment.ms", "7200000"),
        )
        proc.stop()
        proc.start()
        entries = describe(AdminClient({"bootstrap.servers": proc.bootstrap}), name)
        assert entries["max.message.bytes"].value == "10000"
        assert entries["segment.ms"].value == "7200000"
        assert ConfigSource(entries["retention.ms"].source) == ConfigSource.DEFAULT_CONFIG
        error = produce_one(proc.bootstrap, name, 20_000)
        assert error is not None and error.code() == KafkaError.MSG_SIZE_TOO_LARGE
    finally:
        proc.stop()
