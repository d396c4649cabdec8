"""server.properties parsing and validation."""

from __future__ import annotations

import pytest

from pybroker.config import BrokerConfig, ConfigError, parse_properties


def test_properties_format() -> None:
    text = "# comment\n! also comment\n\na=1\nb : two words  \nc   3\nlong=x\\\n    y\nesc=a\\=b\\nc\n"
    assert parse_properties(text) == {"a": "1", "b": "two words", "c": "3", "long": "xy", "esc": "a=b\nc"}


def test_defaults_follow_kafka() -> None:
    cfg = BrokerConfig({})
    assert cfg.get("socket.request.max.bytes") == 104857600
    assert cfg.get("num.partitions") == 1
    assert cfg.get("auto.create.topics.enable") is True
    assert cfg.get("offsets.topic.num.partitions") == 50
    assert [str(ln) for ln in cfg.listeners] == ["PLAINTEXT://:9092"]
    assert [str(d) for d in cfg.log_dirs] == ["/tmp/kafka-logs"]


def test_listeners_and_advertised() -> None:
    cfg = BrokerConfig({"listeners": "PLAINTEXT://127.0.0.1:0", "advertised.listeners": "PLAINTEXT://h:1"})
    assert (cfg.listeners[0].host, cfg.listeners[0].port) == ("127.0.0.1", 0)
    assert (cfg.advertised_listeners[0].host, cfg.advertised_listeners[0].port) == ("h", 1)


@pytest.mark.parametrize(
    ("props", "key"),
    [
        ({"num.partitions": "zero"}, "num.partitions"),
        ({"num.partitions": "0"}, "num.partitions"),
        ({"fetch.max.bytes": "1023"}, "fetch.max.bytes"),  # Kafka: atLeast(1024)
        ({"auto.create.topics.enable": "yes"}, "auto.create.topics.enable"),
        ({"listeners": "PLAINTEXT:/bad"}, "listeners"),
        ({"listeners": "SSL://:9093"}, "listeners"),
        ({"listeners": "FOO://:9093"}, "listeners"),
        ({"listeners": "PLAINTEXT://:1,PLAINTEXT://:2"}, "listeners"),
        ({"advertised.listeners": "OTHER://h:1", "listener.security.protocol.map": "OTHER:PLAINTEXT,PLAINTEXT:PLAINTEXT"}, "advertised.listeners"),
    ],
)
def test_bad_values_name_the_key(props: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as exc:
        BrokerConfig(props)
    assert str(exc.value).startswith(key)


def test_overrides_and_unknown_keys(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "server.properties"
    path.write_text("num.partitions=3\nnot.a.key=1\n")
    cfg = BrokerConfig.load(path, ["num.partitions=5"])
    assert cfg.get("num.partitions") == 5
    assert cfg.unknown_keys == ["not.a.key"]
    with pytest.raises(ConfigError):
        BrokerConfig.load(path, ["novalue"])
    with pytest.raises(ConfigError):
        BrokerConfig.load(tmp_path / "missing.properties")
