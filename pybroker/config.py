"""Broker configuration: Kafka's ``server.properties`` keys, types and 3.9 defaults.

A config is built from a Java properties file plus ``--override key=value`` pairs. Every known
key is parsed and validated here; a bad value raises :class:`ConfigError` naming the key, and
the broker exits with that one line rather than starting half-configured. Unknown keys are
kept (topic-level ``log.*`` keys are passed on to the storage layer) and reported once as
warnings, as Kafka does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """An invalid configuration value; ``str(exc)`` names the key."""


def parse_properties(text: str) -> dict[str, str]:
    """Parse the Java ``.properties`` format (comments, ``=``/``:`` separators, continuations)."""
    props: dict[str, str] = {}
    logical: list[str] = []
    for raw in text.splitlines():
        line = raw.lstrip()
        if not logical and (not line or line[0] in "#!"):
            continue
        if _continues(line):
            logical.append(line[:-1])
            continue
        logical.append(line)
        entry = "".join(logical)
        logical = []
        m = re.match(r"((?:[^\s=:\\]|\\.)*)\s*[=:\s]\s*(.*)$", entry)
        if m is None:
            key, value = entry, ""
        else:
            key, value = m.group(1), m.group(2)
        props[_unescape(key)] = _unescape(value.rstrip())
    return props


def _continues(line: str) -> bool:
    backslashes = len(line) - len(line.rstrip("\\"))
    return backslashes % 2 == 1


def _unescape(s: str) -> str:
    return re.sub(
        r"\\(.)", lambda m: {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}.get(m.group(1), m.group(1)), s
    )


# -- typed keys ----------------------------------------------------------------------------


def _int(lo: int | None = None, hi: int | None = None) -> Callable[[str, str], int]:
    def parse(key: str, raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ConfigError(f"{key}: expected an integer, got {raw!r}") from None
        if lo is not None and value < lo:
            raise ConfigError(f"{key}: {value} is below the minimum {lo}")
        if hi is not None and value > hi:
            raise ConfigError(f"{key}: {value} is above the maximum {hi}")
        return value

    return parse


def _bool(key: str, raw: str) -> bool:
    v = raw.strip().lower()
    if v not in ("true", "false"):
        raise ConfigError(f"{key}: expected true or false, got {raw!r}")
    return v == "true"


def _str(key: str, raw: str) -> str:
    return raw.strip()


def _list(key: str, raw: str) -> list[str]:
    return [item.strip() for item in raw.split(",") if item.strip()]


INT_MAX = 2**31 - 1
LONG_MAX = 2**63 - 1

# key -> (parser, default as the string Kafka documents, or None for "no default")
BROKER_KEYS: dict[str, tuple[Callable[[str, str], Any], str | None]] = {
    "broker.id": (_int(-1), "-1"),
    "node.id": (_int(-1), "-1"),
    "broker.rack": (_str, None),
    "listeners": (_list, "PLAINTEXT://:9092"),
    "advertised.listeners": (_list, None),
    "listener.security.protocol.map": (
        _list,
        "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
    ),
    "log.dirs": (_list, None),
    "log.dir": (_list, "/tmp/kafka-logs"),
    "zookeeper.connect": (_str, None),
    "zookeeper.session.timeout.ms": (_int(1), "18000"),
    "zookeeper.connection.timeout.ms": (_int(1), None),
    "num.partitions": (_int(1), "1"),
    "default.replication.factor": (_int(1), "1"),
    "auto.create.topics.enable": (_bool, "true"),
    "delete.topic.enable": (_bool, "true"),
    "socket.request.max.bytes": (_int(1), "104857600"),
    "socket.send.buffer.bytes": (_int(-1), "102400"),
    "socket.receive.buffer.bytes": (_int(-1), "102400"),
    "max.connections": (_int(0), str(INT_MAX)),
    "max.connections.per.ip": (_int(0), str(INT_MAX)),
    "connections.max.idle.ms": (_int(), "600000"),
    "queued.max.requests": (_int(1), "500"),
    "message.max.bytes": (_int(0), "1048588"),
    "replica.fetch.max.bytes": (_int(0), "1048576"),
    "offsets.topic.num.partitions": (_int(1), "50"),
    "offsets.topic.replication.factor": (_int(1), "3"),
    "offsets.retention.minutes": (_int(1), "10080"),
    "group.initial.rebalance.delay.ms": (_int(0), "3000"),
    "group.min.session.timeout.ms": (_int(0), "6000"),
    "group.max.session.timeout.ms": (_int(0), "1800000"),
    "group.max.size": (_int(1), str(INT_MAX)),
    "transaction.state.log.num.partitions": (_int(1), "50"),
    "transaction.state.log.replication.factor": (_int(1), "3"),
    "min.insync.replicas": (_int(1), "1"),
    "unclean.leader.election.enable": (_bool, "false"),
    "log.retention.check.interval.ms": (_int(1), "300000"),
    "log.flush.offset.checkpoint.interval.ms": (_int(0), "60000"),
    "replica.lag.time.max.ms": (_int(0), "30000"),
    "controlled.shutdown.enable": (_bool, "true"),
    "controlled.shutdown.max.retries": (_int(0), "3"),
    "controlled.shutdown.retry.backoff.ms": (_int(0), "5000"),
    "inter.broker.listener.name": (_str, None),
    "replica.fetch.wait.max.ms": (_int(0), "500"),
    "replica.fetch.min.bytes": (_int(1), "1"),
    "replica.fetch.backoff.ms": (_int(0), "1000"),
    "replica.fetch.response.max.bytes": (_int(0), "10485760"),
    "replica.socket.timeout.ms": (_int(1), "30000"),
    "auto.leader.rebalance.enable": (_bool, "true"),
    "leader.imbalance.check.interval.seconds": (_int(1), "300"),
    "leader.imbalance.per.broker.percentage": (_int(0), "10"),
    "fetch.max.bytes": (_int(1024), "57671680"),
    "max.incremental.fetch.session.cache.slots": (_int(0), "1000"),
    "num.network.threads": (_int(1), "3"),
    "num.io.threads": (_int(1), "8"),
    "num.recovery.threads.per.data.dir": (_int(1), "1"),
}


@dataclass(frozen=True, slots=True)
class Listener:
    """One ``NAME://host:port`` listener; an empty host binds every interface."""

    name: str
    host: str
    port: int
    security_protocol: str

    def __str__(self) -> str:
        return f"{self.name}://{self.host}:{self.port}"


def parse_listeners(key: str, items: Iterable[str], protocol_map: Mapping[str, str]) -> list[Listener]:
    listeners = []
    for item in items:
        m = re.fullmatch(r"([A-Za-z0-9_]+)://(\[[^\]]*\]|[^:/]*):(\d+)", item)
        if m is None:
            raise ConfigError(f"{key}: {item!r} is not of the form NAME://host:port")
        name, host, port = m.group(1).upper(), m.group(2).strip("[]"), int(m.group(3))
        if not 0 <= port <= 65535:
            raise ConfigError(f"{key}: port {port} out of range")
        proto = protocol_map.get(name)
        if proto is None:
            raise ConfigError(f"{key}: listener {name} is not in listener.security.protocol.map")
        if proto != "PLAINTEXT":
            raise ConfigError(f"{key}: security protocol {proto} of listener {name} is not supported yet")
        listeners.append(Listener(name, host, port, proto))
    names = [ln.name for ln in listeners]
    if len(set(names)) != len(names):
        raise ConfigError(f"{key}: listener names must be unique: {names}")
    return listeners


class BrokerConfig:
    """Validated broker configuration; ``get`` returns typed values by Kafka key."""

    def __init__(self, props: Mapping[str, str]) -> None:
        self.raw: dict[str, str] = dict(props)
        self._values: dict[str, Any] = {}
        for key, (parser, default) in BROKER_KEYS.items():
            raw = props.get(key, default)
            self._values[key] = None if raw is None else parser(key, raw)
        self.unknown_keys = sorted(k for k in props if k not in BROKER_KEYS and not _passthrough(k))
        protocol_map = dict(
            _pair("listener.security.protocol.map", p) for p in self.get("listener.security.protocol.map")
        )
        self.listeners = parse_listeners("listeners", self.get("listeners"), protocol_map)
        if not self.listeners:
            raise ConfigError("listeners: at least one listener is required")
        advertised = self.get("advertised.listeners")
        self.advertised_listeners = (
            parse_listeners("advertised.listeners", advertised, protocol_map)
            if advertised
            else list(self.listeners)
        )
        if {ln.name for ln in self.advertised_listeners} - {ln.name for ln in self.listeners}:
            raise ConfigError("advertised.listeners: names a listener that listeners does not define")
        broker_id = self.get("broker.id")
        if broker_id < 0:
            broker_id = self.get("node.id")
        self.broker_id: int = broker_id
        dirs = self.get("log.dirs") or self.get("log.dir")
        self.log_dirs: list[Path] = [Path(d) for d in dirs]

    def get(self, key: str) -> Any:
        return self._values[key]

    @classmethod
    def load(cls, path: str | Path | None, overrides: Iterable[str] = ()) -> BrokerConfig:
        props: dict[str, str] = {}
        if path is not None:
            try:
                props = parse_properties(Path(path).read_text())
            except OSError as exc:
                raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
        for item in overrides:
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise ConfigError(f"--override {item!r} is not of the form key=value")
            props[key.strip()] = value.strip()
        return cls(props)


def _pair(key: str, item: str) -> tuple[str, str]:
    name, sep, proto = item.partition(":")
    if not sep:
        raise ConfigError(f"{key}: {item!r} is not of the form NAME:PROTOCOL")
    return name.strip().upper(), proto.strip().upper()


def _passthrough(key: str) -> bool:
    """Keys owned by other layers (topic-level log defaults) that the broker passes on."""
    return key.startswith(("log.", "message.", "compression.", "offsets.", "transaction", "group."))
