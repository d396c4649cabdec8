"""Config describing and topic config changes: Kafka 3.9's sources, synonyms, types and rules."""

from __future__ import annotations

import pytest

from protocol.error_codes import ErrorCode
from pybroker.config import BROKER_KEYS
from pybroker.config_describe import (
    BROKER_CONFIGS,
    TOPIC_CONFIGS,
    TOPIC_SYNONYMS,
    ConfigSource,
    ConfigType,
    DescribedConfig,
    OpType,
    ResourceError,
    Synonym,
    apply_incremental,
    broker_synonyms,
    check_broker_id,
    describe_broker,
    describe_topic,
    validate_topic_overrides,
)
from storage.config import _BY_NAME, TOPIC_CONFIG_KEYS, LogConfig, topic_defaults_from_broker

STATIC, DEFAULT, TOPIC = (
    ConfigSource.STATIC_BROKER_CONFIG,
    ConfigSource.DEFAULT_CONFIG,
    ConfigSource.TOPIC_CONFIG,
)
KIND_TYPES = {
    "int": {ConfigType.INT},
    "long": {ConfigType.LONG},
    "bool": {ConfigType.BOOLEAN},
    "double": {ConfigType.DOUBLE},
    "list": {ConfigType.LIST},
    "string": {ConfigType.STRING, ConfigType.LIST},  # Kafka's throttled-replica lists
}


def by_name(configs: list[DescribedConfig]) -> dict[str, DescribedConfig]:
    return {c.name: c for c in configs}


# -- the tables agree with storage and the broker config ------------------------------------------


def test_every_topic_key_is_described_with_a_type_matching_storage() -> None:
    assert set(TOPIC_CONFIGS) == set(TOPIC_CONFIG_KEYS)
    for name, info in TOPIC_CONFIGS.items():
        assert info.type in KIND_TYPES[_BY_NAME[name].kind], name
        assert info.default == LogConfig.default_value(name)
        assert info.doc


def test_topic_synonyms_are_the_broker_keys_storage_maps() -> None:
    for topic_key, broker_keys in TOPIC_SYNONYMS.items():
        for broker_key in broker_keys:
            value = BROKER_CONFIGS[broker_key].default or "70"  # no default: a time
            assert topic_key in topic_defaults_from_broker({broker_key: value}), broker_key


def test_broker_defaults_give_the_topic_defaults() -> None:
    defaults = {
        key: info.default
        for keys in TOPIC_SYNONYMS.values()
        for key in keys
        if (info := BROKER_CONFIGS[key]).default is not None
    }
    assert LogConfig.from_broker_properties(defaults) == LogConfig()


def test_every_broker_key_has_a_type_and_its_default() -> None:
    for name, (_parser, default) in BROKER_KEYS.items():
        assert BROKER_CONFIGS[name].default == default
        assert BROKER_CONFIGS[name].type != ConfigType.UNKNOWN


def test_broker_synonym_groups() -> None:
    assert broker_synonyms("log.retention.hours") == (
        "log.retention.ms",
        "log.retention.minutes",
        "log.retention.hours",
    )
    assert broker_synonyms("log.flush.interval.ms") == (
        "log.flush.interval.ms",
        "log.flush.scheduler.interval.ms",
    )
    assert broker_synonyms("log.flush.scheduler.interval.ms") == ("log.flush.scheduler.interval.ms",)
    assert broker_synonyms("num.partitions") == ("num.partitions",)


# -- describing -----------------------------------------------------------------------------------


def test_topic_without_overrides() -> None:
    static = {"log.retention.hours": "168", "log.segment.bytes": "1000000", "log.dirs": "/tmp/x"}
    configs = by_name(describe_topic(LogConfig.from_broker_properties(static), {}, static))
    assert list(configs) == list(TOPIC_CONFIG_KEYS)
    segment = configs["segment.bytes"]
    assert (segment.value, segment.source, segment.type) == ("1000000", STATIC, ConfigType.INT)
    assert segment.synonyms == [
        Synonym("log.segment.bytes", "1000000", STATIC),
        Synonym("log.segment.bytes", "1073741824", DEFAULT),
    ]
    # Kafka keeps only the synonyms from the most precise broker key on: log.retention.ms is unset
    retention = configs["retention.ms"]
    assert (retention.value, retention.source, retention.synonyms) == ("604800000", DEFAULT, [])
    policy = configs["cleanup.policy"]
    assert (policy.value, policy.source, policy.type) == ("delete", DEFAULT, ConfigType.LIST)
    assert policy.synonyms == [Synonym("log.cleanup.policy", "delete", DEFAULT)]
    assert configs["remote.storage.enable"].synonyms == []
    assert not any(c.read_only or c.sensitive for c in configs.values())


def test_topic_override_comes_first_then_every_broker_synonym() -> None:
    static = {"log.retention.ms": "10", "log.retention.hours": "1"}
    overrides = {"retention.ms": "5", "max.message.bytes": "100"}
    config = LogConfig.from_broker_properties(static, overrides)
    configs = by_name(describe_topic(config, overrides, static))
    retention = configs["retention.ms"]
    assert (retention.value, retention.source) == ("5", TOPIC)
    assert retention.synonyms == [
        Synonym("retention.ms", "5", TOPIC),
        Synonym("log.retention.ms", "10", STATIC),
        Synonym("log.retention.hours", "1", STATIC),
        Synonym("log.retention.hours", "168", DEFAULT),
    ]
    assert configs["max.message.bytes"].synonyms == [
        Synonym("max.message.bytes", "100", TOPIC),
        Synonym("message.max.bytes", "1048588", DEFAULT),
    ]


def test_broker_configs() -> None:
    static = {"log.retention.hours": "24", "num.partitions": " 3 ", "custom.secret": "hunter2"}
    configs = by_name(describe_broker(static))
    assert set(BROKER_CONFIGS) | set(static) == set(configs)
    assert all(c.read_only for c in configs.values())
    hours = configs["log.retention.hours"]
    assert (hours.value, hours.source, hours.type) == ("24", STATIC, ConfigType.INT)
    assert hours.synonyms == [
        Synonym("log.retention.hours", "24", STATIC),
        Synonym("log.retention.hours", "168", DEFAULT),
    ]
    minutes = configs["log.retention.minutes"]
    assert (minutes.value, minutes.source, minutes.synonyms) == (None, DEFAULT, [])
    assert configs["num.partitions"].value == "3"
    assert configs["offsets.topic.replication.factor"].type == ConfigType.SHORT
    secret = configs["custom.secret"]
    assert (secret.value, secret.sensitive, secret.type, secret.source) == (
        None,
        True,
        ConfigType.UNKNOWN,
        STATIC,
    )
    assert secret.synonyms == [Synonym("custom.secret", None, STATIC)]


def test_broker_resource_names() -> None:
    check_broker_id("", 3, allow_empty=True)
    check_broker_id("3", 3, allow_empty=False)
    for name, allow_empty, message in [
        ("", False, "Broker id must not be empty"),
        ("x", True, "Broker id must be an integer, but it is: x"),
        ("4", True, "Unexpected broker id, expected 3 or empty string, but received 4"),
        ("4", False, "Unexpected broker id, expected 3, but received 4"),
    ]:
        with pytest.raises(ResourceError) as exc:
            check_broker_id(name, 3, allow_empty)
        assert (exc.value.code, exc.value.message) == (ErrorCode.INVALID_REQUEST, message)


# -- changing topic configs -----------------------------------------------------------------------


def test_incremental_operations() -> None:
    defaults = LogConfig()
    current = {"retention.ms": "100", "segment.bytes": "1000"}
    ops = [
        ("retention.ms", OpType.SET, "200"),
        ("segment.bytes", OpType.DELETE, None),
        ("not.set", OpType.DELETE, None),
        ("cleanup.policy", OpType.APPEND, "compact,delete"),
    ]
    assert apply_incremental(current, ops, defaults) == {
        "retention.ms": "200",
        "cleanup.policy": "delete,compact",
    }
    assert current == {"retention.ms": "100", "segment.bytes": "1000"}
    subtract = [("cleanup.policy", OpType.SUBTRACT, "delete")]
    assert apply_incremental({"cleanup.policy": "compact,delete"}, subtract, defaults) == {
        "cleanup.policy": "compact"
    }
    # a list operation without an override starts from the effective (broker) default
    compacting = LogConfig(cleanup_policy=("compact",))
    assert apply_incremental({}, [("cleanup.policy", OpType.APPEND, "delete")], compacting) == {
        "cleanup.policy": "compact,delete"
    }
    replicas = [("leader.replication.throttled.replicas", OpType.APPEND, "0:1")]
    assert apply_incremental({}, replicas, defaults) == {"leader.replication.throttled.replicas": "0:1"}


@pytest.mark.parametrize(
    ("op", "code", "message"),
    [
        (
            ("retention.ms", OpType.APPEND, "1"),
            ErrorCode.INVALID_REQUEST,
            "Config value append is not allowed",
        ),
        (
            ("retention.ms", OpType.SUBTRACT, "1"),
            ErrorCode.INVALID_REQUEST,
            "Config value subtract is not allowed",
        ),
        (
            ("no.such.key", OpType.APPEND, "1"),
            ErrorCode.INVALID_CONFIG,
            "Unknown topic config name: no.such.key",
        ),
    ],
)
def test_incremental_list_operation_errors(
    op: tuple[str, OpType, str], code: ErrorCode, message: str
) -> None:
    with pytest.raises(ResourceError) as exc:
        apply_incremental({}, [op], LogConfig())
    assert exc.value.code == code and message in exc.value.message


def test_validation_uses_the_broker_defaults_and_names_the_resource() -> None:
    defaults = LogConfig.from_broker_properties({"log.cleaner.max.compaction.lag.ms": "1000"})
    assert validate_topic_overrides("t", defaults, {"retention.ms": "5"}).retention_ms == 5
    for overrides, reason in [
        ({"no.such.key": "1"}, "Unknown topic config name: no.such.key"),
        ({"retention.ms": "soon"}, "retention.ms"),
        ({"segment.bytes": "1"}, "segment.bytes"),
        ({"cleanup.policy": "delete,archive"}, "archive"),
        ({"min.compaction.lag.ms": "2000"}, "min.compaction.lag.ms (2000) > max.compaction.lag.ms (1000)"),
        ({"remote.storage.enable": "true"}, "Tiered Storage functionality is disabled"),
    ]:
        with pytest.raises(ResourceError) as exc:
            validate_topic_overrides("t", defaults, overrides)
        assert exc.value.code == ErrorCode.INVALID_CONFIG
        assert exc.value.message.startswith(
            "Invalid config value for resource ConfigResource(type=TOPIC, name='t'): "
        )
        assert reason in exc.value.message
