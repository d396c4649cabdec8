"""Topic-level log configuration: Kafka 3.9's topic keys, types, ranges and defaults.

:class:`LogConfig` is a frozen dataclass with one field per topic key (dots become underscores:
``segment.bytes`` -> ``segment_bytes``).  It is built three ways:

* ``LogConfig()`` / ``LogConfig(segment_bytes=...)``: Kafka's defaults with Python overrides
  (ranges are checked in ``__post_init__``);
* :meth:`LogConfig.from_properties`: topic keys as strings (a CreateTopics request, an
  AlterConfigs, the stored overrides), optionally on top of ``defaults``;
* :meth:`LogConfig.from_broker_properties`: the effective config of a topic = the broker's
  ``server.properties`` defaults (``log.segment.bytes``, ``log.roll.hours`` ...) mapped to topic
  keys by :func:`topic_defaults_from_broker`, overridden by the topic's own overrides.

Every invalid value raises ``ValueError`` whose message starts with the offending key, as Kafka's
``ConfigException`` does.  Unknown topic keys are rejected (``Unknown topic config name: KEY``).

Two derived rules from Kafka are applied when parsing: the deprecated
``message.timestamp.difference.max.ms`` is used for ``message.timestamp.before.max.ms`` and
``message.timestamp.after.max.ms`` when those are left at ``Long.MAX_VALUE``; and a negative
broker ``log.retention.*`` means unlimited (``-1``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "BROKER_SYNONYMS",
    "INT_MAX",
    "LONG_MAX",
    "TOPIC_CONFIG_KEYS",
    "LogConfig",
    "topic_defaults_from_broker",
]

INT_MAX = 2**31 - 1
INT_MIN = -(2**31)
LONG_MAX = 2**63 - 1
LONG_MIN = -(2**63)

CREATE_TIME = "CreateTime"
LOG_APPEND_TIME = "LogAppendTime"
COMPRESSION_TYPES = ("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer")
CLEANUP_POLICIES = ("compact", "delete")


@dataclass(frozen=True, slots=True)
class _Key:
    """One topic key: its dataclass field, type, Kafka default (as a string) and valid range."""

    name: str
    kind: str  # "int" (int32), "long" (int64), "bool", "double", "string", "list"
    default: str
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] | None = None
    check: Callable[[Any], str | None] | None = None  # extra rule: returns a reason or None

    @property
    def field(self) -> str:
        return self.name.replace(".", "_")


def _gzip_level(value: Any) -> str | None:
    return None if value == -1 or 1 <= value <= 9 else "must be -1 or between 1 and 9"


_KEYS: tuple[_Key, ...] = (
    _Key("cleanup.policy", "list", "delete", choices=CLEANUP_POLICIES),
    _Key("compression.type", "string", "producer", choices=COMPRESSION_TYPES),
    _Key("compression.gzip.level", "int", "-1", check=_gzip_level),
    _Key("compression.lz4.level", "int", "9", lo=1, hi=17),
    _Key("compression.zstd.level", "int", "3", lo=-131072, hi=22),
    _Key("delete.retention.ms", "long", "86400000", lo=0),
    _Key("file.delete.delay.ms", "long", "60000", lo=0),
    _Key("flush.messages", "long", str(LONG_MAX), lo=1),
    _Key("flush.ms", "long", str(LONG_MAX), lo=0),
    _Key("follower.replication.throttled.replicas", "string", ""),
    _Key("index.interval.bytes", "int", "4096", lo=0),
    _Key("leader.replication.throttled.replicas", "string", ""),
    _Key("local.retention.bytes", "long", "-2", lo=-2),
    _Key("local.retention.ms", "long", "-2", lo=-2),
    _Key("max.compaction.lag.ms", "long", str(LONG_MAX), lo=1),
    _Key("max.message.bytes", "int", "1048588", lo=0),
    _Key("message.downconversion.enable", "bool", "true"),
    _Key("message.format.version", "string", "3.0-IV1"),
    _Key("message.timestamp.after.max.ms", "long", str(LONG_MAX), lo=0),
    _Key("message.timestamp.before.max.ms", "long", str(LONG_MAX), lo=0),
    _Key("message.timestamp.difference.max.ms", "long", str(LONG_MAX), lo=0),
    _Key("message.timestamp.type", "string", CREATE_TIME, choices=(CREATE_TIME, LOG_APPEND_TIME)),
    _Key("min.cleanable.dirty.ratio", "double", "0.5", lo=0.0, hi=1.0),
    _Key("min.compaction.lag.ms", "long", "0", lo=0),
    _Key("min.insync.replicas", "int", "1", lo=1),
    _Key("preallocate", "bool", "false"),
    _Key("remote.log.copy.disable", "bool", "false"),
    _Key("remote.log.delete.on.disable", "bool", "false"),
    _Key("remote.storage.enable", "bool", "false"),
    _Key("retention.bytes", "long", "-1"),
    _Key("retention.ms", "long", "604800000", lo=-1),
    _Key("segment.bytes", "int", "1073741824", lo=14),
    _Key("segment.index.bytes", "int", "10485760", lo=4),
    _Key("segment.jitter.ms", "long", "0", lo=0),
    _Key("segment.ms", "long", "604800000", lo=1),
    _Key("unclean.leader.election.enable", "bool", "false"),
)

_BY_NAME: dict[str, _Key] = {k.name: k for k in _KEYS}
TOPIC_CONFIG_KEYS: tuple[str, ...] = tuple(k.name for k in _KEYS)


def _parse(key: _Key, raw: str, source: str) -> Any:
    """Parse ``raw`` as ``key``'s type; ``source`` is the key name used in error messages."""
    text = raw.strip()
    kind = key.kind
    value: Any
    if kind in ("int", "long"):
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"{source}: invalid value {raw!r}: expected an integer") from None
        lo, hi = (INT_MIN, INT_MAX) if kind == "int" else (LONG_MIN, LONG_MAX)
        if not lo <= value <= hi:
            raise ValueError(f"{source}: invalid value {raw!r}: out of range for a {kind}")
    elif kind == "bool":
        lowered = text.lower()
        if lowered not in ("true", "false"):
            raise ValueError(f"{source}: invalid value {raw!r}: expected true or false")
        value = lowered == "true"
    elif kind == "double":
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{source}: invalid value {raw!r}: expected a number") from None
    elif kind == "list":
        value = tuple(item.strip() for item in text.split(",") if item.strip())
    else:
        value = text
    return value


def _check(key: _Key, value: Any, source: str) -> None:
    """Range and choice checks of an already typed value."""
    if key.kind in ("int", "long", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{source}: invalid value {value!r}: expected a number")
        if key.kind != "double" and not isinstance(value, int):
            raise ValueError(f"{source}: invalid value {value!r}: expected an integer")
        if key.lo is not None and value < key.lo:
            raise ValueError(f"{source}: invalid value {value}: value must be at least {key.lo:g}")
        if key.hi is not None and value > key.hi:
            raise ValueError(f"{source}: invalid value {value}: value must be no more than {key.hi:g}")
    elif key.kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{source}: invalid value {value!r}: expected a boolean")
    elif key.kind == "list":
        if not isinstance(value, tuple) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{source}: invalid value {value!r}: expected a tuple of strings")
        if key.choices is not None:
            for item in value:
                if item not in key.choices:
                    raise ValueError(
                        f"{source}: invalid value {item!r}: must be one of {', '.join(key.choices)}"
                    )
    elif not isinstance(value, str):
        raise ValueError(f"{source}: invalid value {value!r}: expected a string")
    elif key.choices is not None and value not in key.choices:
        raise ValueError(f"{source}: invalid value {value!r}: must be one of {', '.join(key.choices)}")
    if key.check is not None:
        reason = key.check(value)
        if reason is not None:
            raise ValueError(f"{source}: invalid value {value}: {reason}")


def _format(key: _Key, value: Any) -> str:
    if key.kind == "bool":
        return "true" if value else "false"
    if key.kind == "list":
        return ",".join(value)
    return str(value)


@dataclass(frozen=True, slots=True)
class LogConfig:
    """The effective configuration of one partition log (Kafka 3.9 topic keys and defaults)."""

    cleanup_policy: tuple[str, ...] = ("delete",)
    compression_type: str = "producer"
    compression_gzip_level: int = -1
    compression_lz4_level: int = 9
    compression_zstd_level: int = 3
    delete_retention_ms: int = 86_400_000
    file_delete_delay_ms: int = 60_000
    flush_messages: int = LONG_MAX
    flush_ms: int = LONG_MAX
    follower_replication_throttled_replicas: str = ""
    index_interval_bytes: int = 4096
    leader_replication_throttled_replicas: str = ""
    local_retention_bytes: int = -2
    local_retention_ms: int = -2
    max_compaction_lag_ms: int = LONG_MAX
    max_message_bytes: int = 1_048_588
    message_downconversion_enable: bool = True
    message_format_version: str = "3.0-IV1"
    message_timestamp_after_max_ms: int = LONG_MAX
    message_timestamp_before_max_ms: int = LONG_MAX
    message_timestamp_difference_max_ms: int = LONG_MAX
    message_timestamp_type: str = CREATE_TIME
    min_cleanable_dirty_ratio: float = 0.5
    min_compaction_lag_ms: int = 0
    min_insync_replicas: int = 1
    preallocate: bool = False
    remote_log_copy_disable: bool = False
    remote_log_delete_on_disable: bool = False
    remote_storage_enable: bool = False
    retention_bytes: int = -1
    retention_ms: int = 604_800_000
    segment_bytes: int = 1_073_741_824
    segment_index_bytes: int = 10_485_760
    segment_jitter_ms: int = 0
    segment_ms: int = 604_800_000
    unclean_leader_election_enable: bool = False

    def __post_init__(self) -> None:
        for key in _KEYS:
            _check(key, getattr(self, key.field), key.name)

    # -- derived views ---------------------------------------------------------------------------

    @property
    def delete(self) -> bool:
        """``cleanup.policy`` includes ``delete``: time and size retention apply."""
        return "delete" in self.cleanup_policy

    @property
    def compact(self) -> bool:
        """``cleanup.policy`` includes ``compact``: records must have keys."""
        return "compact" in self.cleanup_policy

    @property
    def log_append_time(self) -> bool:
        return self.message_timestamp_type == LOG_APPEND_TIME

    @property
    def timestamp_type(self) -> int:
        """0 = CreateTime, 1 = LogAppendTime (the batch attribute bit)."""
        return 1 if self.message_timestamp_type == LOG_APPEND_TIME else 0

    @property
    def max_index_size(self) -> int:
        """``segment.index.bytes``, the preallocated size of an active segment's indexes."""
        return self.segment_index_bytes

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def parse_properties(cls, props: Mapping[str, str]) -> dict[str, Any]:
        """Validate topic keys given as strings; returns ``{field: typed value}``."""
        values: dict[str, Any] = {}
        for name, raw in props.items():
            key = _BY_NAME.get(name)
            if key is None:
                raise ValueError(f"{name}: Unknown topic config name: {name}")
            if raw is None:
                raise ValueError(f"{name}: a value is required")
            value = _parse(key, raw, name)
            _check(key, value, name)
            values[key.field] = value
        return values

    @classmethod
    def from_properties(
        cls, props: Mapping[str, str], defaults: Mapping[str, str] | None = None
    ) -> LogConfig:
        """A config from topic keys; ``props`` override ``defaults`` (both topic keys)."""
        merged: dict[str, str] = dict(defaults or {})
        merged.update(props)
        values = cls.parse_properties(merged)
        difference = values.get("message_timestamp_difference_max_ms", LONG_MAX)
        for field in ("message_timestamp_before_max_ms", "message_timestamp_after_max_ms"):
            if values.get(field, LONG_MAX) == LONG_MAX:
                values[field] = difference
        return cls(**values)

    @classmethod
    def validate_overrides(cls, props: Mapping[str, str]) -> None:
        """Raise ``ValueError`` naming the key if any topic override is unknown or invalid."""
        cls.from_properties(props)

    @classmethod
    def from_broker_properties(
        cls, broker_props: Mapping[str, str], overrides: Mapping[str, str] | None = None
    ) -> LogConfig:
        """Effective topic config: broker defaults (``log.*`` keys) overridden by topic overrides."""
        return cls.from_properties(overrides or {}, topic_defaults_from_broker(broker_props))

    def with_overrides(self, props: Mapping[str, str]) -> LogConfig:
        """This config with some topic keys replaced."""
        return LogConfig.from_properties(props, self.to_properties())

    def replace(self, **changes: Any) -> LogConfig:
        """This config with some fields replaced (validated)."""
        return dataclasses.replace(self, **changes)

    def to_properties(self) -> dict[str, str]:
        """Every topic key as Kafka renders it (DescribeConfigs)."""
        return {key.name: _format(key, getattr(self, key.field)) for key in _KEYS}

    @staticmethod
    def default_value(name: str) -> str:
        """Kafka's documented default of a topic key, as a string; ``KeyError`` if unknown."""
        return _BY_NAME[name].default


# --------------------------------------------------------------------------------------------
# Broker-level synonyms
# --------------------------------------------------------------------------------------------

_HOUR_MS = 3_600_000
_MINUTE_MS = 60_000


def _scale(factor: int) -> Callable[[int], int]:
    return lambda v: v * factor


def _identity(v: int) -> int:
    return v


# topic key -> broker keys in priority order, each with the broker key's type and a converter
BROKER_SYNONYMS: dict[str, tuple[tuple[str, str, Callable[[int], int]], ...]] = {
    "segment.bytes": (("log.segment.bytes", "int", _identity),),
    "segment.ms": (("log.roll.ms", "long", _identity), ("log.roll.hours", "int", _scale(_HOUR_MS))),
    "segment.jitter.ms": (
        ("log.roll.jitter.ms", "long", _identity),
        ("log.roll.jitter.hours", "int", _scale(_HOUR_MS)),
    ),
    "segment.index.bytes": (("log.index.size.max.bytes", "int", _identity),),
    "index.interval.bytes": (("log.index.interval.bytes", "int", _identity),),
    "flush.messages": (("log.flush.interval.messages", "long", _identity),),
    "flush.ms": (
        ("log.flush.interval.ms", "long", _identity),
        ("log.flush.scheduler.interval.ms", "long", _identity),
    ),
    "retention.bytes": (("log.retention.bytes", "long", _identity),),
    "retention.ms": (
        ("log.retention.ms", "long", _identity),
        ("log.retention.minutes", "int", _scale(_MINUTE_MS)),
        ("log.retention.hours", "int", _scale(_HOUR_MS)),
    ),
    "max.message.bytes": (("message.max.bytes", "int", _identity),),
    "delete.retention.ms": (("log.cleaner.delete.retention.ms", "long", _identity),),
    "min.compaction.lag.ms": (("log.cleaner.min.compaction.lag.ms", "long", _identity),),
    "max.compaction.lag.ms": (("log.cleaner.max.compaction.lag.ms", "long", _identity),),
    "file.delete.delay.ms": (("log.segment.delete.delay.ms", "long", _identity),),
    "local.retention.ms": (("log.local.retention.ms", "long", _identity),),
    "local.retention.bytes": (("log.local.retention.bytes", "long", _identity),),
}

# topic keys whose broker key has the same type and no conversion
_PLAIN_SYNONYMS: dict[str, str] = {
    "min.cleanable.dirty.ratio": "log.cleaner.min.cleanable.ratio",
    "cleanup.policy": "log.cleanup.policy",
    "unclean.leader.election.enable": "unclean.leader.election.enable",
    "min.insync.replicas": "min.insync.replicas",
    "compression.type": "compression.type",
    "compression.gzip.level": "compression.gzip.level",
    "compression.lz4.level": "compression.lz4.level",
    "compression.zstd.level": "compression.zstd.level",
    "preallocate": "log.preallocate",
    "message.format.version": "log.message.format.version",
    "message.timestamp.type": "log.message.timestamp.type",
    "message.timestamp.difference.max.ms": "log.message.timestamp.difference.max.ms",
    "message.timestamp.before.max.ms": "log.message.timestamp.before.max.ms",
    "message.timestamp.after.max.ms": "log.message.timestamp.after.max.ms",
    "message.downconversion.enable": "log.message.downconversion.enable",
}


def topic_defaults_from_broker(broker_props: Mapping[str, str]) -> dict[str, str]:
    """Map the broker's ``server.properties`` keys to topic keys (only the keys that are set).

    Where Kafka has several broker keys for one topic key the most precise wins
    (``log.retention.ms`` over ``.minutes`` over ``.hours``; ``log.roll.ms`` over
    ``log.roll.hours``).  Values are validated as the broker key's type; ``ValueError`` names the
    broker key.  A negative retention time means unlimited (``-1``), as in Kafka.
    """
    out: dict[str, str] = {}
    for topic_key, synonyms in BROKER_SYNONYMS.items():
        for broker_key, kind, convert in synonyms:
            raw = broker_props.get(broker_key)
            if raw is None:
                continue
            value = _parse(_Key(broker_key, kind, "0"), raw, broker_key)
            converted = convert(value)
            if topic_key == "retention.ms" and converted < 0:
                converted = -1
            key = _BY_NAME[topic_key]
            if key.kind == "int" and not INT_MIN <= converted <= INT_MAX:
                raise ValueError(f"{broker_key}: invalid value {raw!r}: out of range")
            _check(key, converted, broker_key)
            out[topic_key] = str(converted)
            break
    for topic_key, broker_key in _PLAIN_SYNONYMS.items():
        raw = broker_props.get(broker_key)
        if raw is None:
            continue
        key = _BY_NAME[topic_key]
        value = _parse(key, raw, broker_key)
        _check(key, value, broker_key)
        out[topic_key] = _format(key, value)
    return out
