"""LogConfig: Kafka 3.9 defaults, parsing, validation, broker-level synonyms."""

from __future__ import annotations

import pytest

from storage.config import LONG_MAX, TOPIC_CONFIG_KEYS, LogConfig, topic_defaults_from_broker


def test_kafka_defaults() -> None:
    c = LogConfig()
    assert c.segment_bytes == 1073741824
    assert c.segment_ms == 604800000
    assert c.segment_jitter_ms == 0
    assert c.segment_index_bytes == 10485760
    assert c.index_interval_bytes == 4096
    assert c.retention_ms == 604800000
    assert c.retention_bytes == -1
    assert c.max_message_bytes == 1048588
    assert c.message_timestamp_type == "CreateTime"
    assert c.cleanup_policy == ("delete",)
    assert c.file_delete_delay_ms == 60000
    assert c.flush_messages == LONG_MAX and c.flush_ms == LONG_MAX
    assert c.min_insync_replicas == 1
    assert c.unclean_leader_election_enable is False
    assert c.compression_type == "producer"
    assert c.message_timestamp_before_max_ms == LONG_MAX
    assert c.message_timestamp_after_max_ms == LONG_MAX
    assert c.min_cleanable_dirty_ratio == 0.5
    assert c.delete_retention_ms == 86400000
    assert c.preallocate is False
    assert c.delete and not c.compact


def test_properties_round_trip() -> None:
    props = LogConfig().to_properties()
    assert set(props) == set(TOPIC_CONFIG_KEYS)
    assert LogConfig.from_properties(props) == LogConfig()
    c = LogConfig.from_properties({"cleanup.policy": "compact,delete", "retention.ms": "-1", "preallocate": "TRUE"})
    assert c.cleanup_policy == ("compact", "delete") and c.compact and c.delete
    assert c.retention_ms == -1 and c.preallocate
    assert LogConfig.from_properties(c.to_properties()) == c


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("segment.bytes", "abc"),
        ("segment.bytes", "13"),
        ("segment.bytes", str(2**31)),
        ("segment.ms", "0"),
        ("retention.ms", "-2"),
        ("min.insync.replicas", "0"),
        ("min.cleanable.dirty.ratio", "1.5"),
        ("message.timestamp.type", "logappendtime"),
        ("compression.type", "brotli"),
        ("cleanup.policy", "delete,archive"),
        ("preallocate", "yes"),
        ("compression.gzip.level", "0"),
        ("compression.lz4.level", "18"),
        ("no.such.key", "1"),
    ],
)
def test_invalid_values_name_the_key(key: str, value: str) -> None:
    with pytest.raises(ValueError, match=f"^{key}"):
        LogConfig.from_properties({key: value})
    with pytest.raises(ValueError, match=f"^{key}"):
        LogConfig.validate_overrides({key: value})


def test_direct_construction_is_validated() -> None:
    with pytest.raises(ValueError, match=r"segment\.bytes"):
        LogConfig(segment_bytes=1)
    assert LogConfig(segment_bytes=14).segment_bytes == 14


def test_timestamp_difference_fallback() -> None:
    c = LogConfig.from_properties({"message.timestamp.difference.max.ms": "5000"})
    assert c.message_timestamp_before_max_ms == 5000 and c.message_timestamp_after_max_ms == 5000
    c = LogConfig.from_properties(
        {"message.timestamp.difference.max.ms": "5000", "message.timestamp.after.max.ms": "10"}
    )
    assert c.message_timestamp_before_max_ms == 5000 and c.message_timestamp_after_max_ms == 10


def test_broker_synonyms_and_precedence() -> None:
    props = {
        "log.segment.bytes": "2048",
        "log.roll.hours": "1",
        "log.retention.hours": "2",
        "log.retention.minutes": "3",
        "log.retention.bytes": "999",
        "log.index.size.max.bytes": "4096",
        "log.index.interval.bytes": "100",
        "message.max.bytes": "5000",
        "log.message.timestamp.type": "LogAppendTime",
        "log.cleanup.policy": "compact",
        "log.segment.delete.delay.ms": "7",
        "num.partitions": "3",  # not a log key: ignored
    }
    d = topic_defaults_from_broker(props)
    assert d["segment.bytes"] == "2048"
    assert d["segment.ms"] == str(3_600_000)
    assert d["retention.ms"] == str(3 * 60_000)  # minutes beat hours
    assert d["retention.bytes"] == "999"
    assert d["segment.index.bytes"] == "4096"
    assert d["index.interval.bytes"] == "100"
    assert d["max.message.bytes"] == "5000"
    assert d["message.timestamp.type"] == "LogAppendTime"
    assert d["cleanup.policy"] == "compact"
    assert d["file.delete.delay.ms"] == "7"
    c = LogConfig.from_broker_properties({**props, "log.retention.ms": "-5", "log.roll.ms": "10"}, {"retention.bytes": "1"})
    assert c.retention_ms == -1  # negative broker retention means unlimited
    assert c.segment_ms == 10  # log.roll.ms beats log.roll.hours
    assert c.retention_bytes == 1  # topic override beats the broker default
    assert c.log_append_time and c.timestamp_type == 1


def test_broker_values_are_validated_with_broker_key() -> None:
    with pytest.raises(ValueError, match=r"^log\.segment\.bytes"):
        topic_defaults_from_broker({"log.segment.bytes": "x"})
    with pytest.raises(ValueError, match=r"^log\.roll\.hours"):
        topic_defaults_from_broker({"log.roll.hours": "0"})
    with pytest.raises(ValueError, match=r"^log\.message\.timestamp\.type"):
        topic_defaults_from_broker({"log.message.timestamp.type": "Whenever"})


def test_with_overrides() -> None:
    base = LogConfig.from_broker_properties({"log.segment.bytes": "4096"})
    c = base.with_overrides({"retention.bytes": "10"})
    assert c.segment_bytes == 4096 and c.retention_bytes == 10
    assert base.replace(segment_ms=5).segment_ms == 5
