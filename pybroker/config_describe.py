"""Describing and changing configs as Kafka 3.9 does (``ConfigHelper``, ``ZkAdminManager``).

DescribeConfigs reports, for every config of a topic or of this broker, its value, where the value
comes from (:class:`ConfigSource`), its type (:class:`ConfigType`), a short documentation string
and, on request, its *synonyms*: every place that sets it, highest priority first.

A topic config's synonyms are the topic's own override, then the broker keys that provide the
topic default (Kafka's ``ServerTopicConfigSynonyms``: ``retention.ms`` <- ``log.retention.ms``,
``log.retention.minutes``, ``log.retention.hours``), each as set in ``server.properties``
(STATIC_BROKER_CONFIG) and then as Kafka's own default (DEFAULT_CONFIG). Kafka then drops every
broker synonym listed before the first one named like the *first* broker key, so a topic key
whose most precise broker key is unset and has no default (``retention.ms``, ``segment.ms``,
``flush.ms`` under a stock ``server.properties``) shows no broker synonyms at all; this quirk is
kept so clients see what a Kafka broker shows.

pybroker has no dynamic broker configs (KIP-226): broker configs come only from
``server.properties`` and ``--override``, so every broker config is described as read-only and
broker alterations other than deleting (never set) dynamic values fail with INVALID_REQUEST.
Keys in ``server.properties`` that pybroker does not know are described as Kafka describes keys
without a definition: sensitive, value hidden.

Topic changes are validated as Kafka's ``LogConfig.validate``: unknown keys and bad values are
INVALID_CONFIG, as are ``min.compaction.lag.ms`` > ``max.compaction.lag.ms`` and enabling
remote storage (this broker has no tiered storage).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum

from protocol.error_codes import ErrorCode
from pybroker.config import BROKER_KEYS
from storage.config import LONG_MAX, TOPIC_CONFIG_KEYS, LogConfig


class ResourceType(IntEnum):
    """Kafka's ``ConfigResource.Type`` ids."""

    UNKNOWN = 0
    TOPIC = 2
    BROKER = 4
    BROKER_LOGGER = 8
    CLIENT_METRICS = 16
    GROUP = 32


class ConfigSource(IntEnum):
    """Kafka's ``DescribeConfigsResponse.ConfigSource`` ids."""

    UNKNOWN = 0
    TOPIC_CONFIG = 1
    DYNAMIC_BROKER_CONFIG = 2
    DYNAMIC_DEFAULT_BROKER_CONFIG = 3
    STATIC_BROKER_CONFIG = 4
    DEFAULT_CONFIG = 5
    DYNAMIC_BROKER_LOGGER_CONFIG = 6


class ConfigType(IntEnum):
    """Kafka's ``DescribeConfigsResponse.ConfigType`` ids (DescribeConfigs v3+)."""

    UNKNOWN = 0
    BOOLEAN = 1
    STRING = 2
    INT = 3
    SHORT = 4
    LONG = 5
    DOUBLE = 6
    LIST = 7
    CLASS = 8
    PASSWORD = 9


class OpType(IntEnum):
    """IncrementalAlterConfigs operations (Kafka's ``AlterConfigOp.OpType``)."""

    SET = 0
    DELETE = 1
    APPEND = 2
    SUBTRACT = 3


class ResourceError(Exception):
    """A config resource failed with a Kafka error code (one resource's result)."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A config key's Kafka type, default (as a string; None for no default) and documentation."""

    type: ConfigType
    default: str | None
    doc: str


_B, _S, _I, _SH, _L, _D, _LS = (
    ConfigType.BOOLEAN,
    ConfigType.STRING,
    ConfigType.INT,
    ConfigType.SHORT,
    ConfigType.LONG,
    ConfigType.DOUBLE,
    ConfigType.LIST,
)

# -- topic keys ----------------------------------------------------------------------------------

_TOPIC_DOCS: dict[str, tuple[ConfigType, str]] = {
    "cleanup.policy": (_LS, "Retention policy of old log segments: delete, compact, or both."),
    "compression.type": (_S, "Final compression codec of the topic; 'producer' keeps the producer's."),
    "compression.gzip.level": (_I, "Compression level for gzip."),
    "compression.lz4.level": (_I, "Compression level for lz4."),
    "compression.zstd.level": (_I, "Compression level for zstd."),
    "delete.retention.ms": (_L, "How long delete tombstones are kept in compacted topics."),
    "file.delete.delay.ms": (_L, "Time to wait before deleting a file from the filesystem."),
    "flush.messages": (_L, "Messages accumulated before the log is fsynced."),
    "flush.ms": (_L, "Maximum time before the log is fsynced."),
    "follower.replication.throttled.replicas": (
        _LS,
        "Replicas whose log replication is throttled on the follower side.",
    ),
    "index.interval.bytes": (_I, "How often an entry is added to the offset index."),
    "leader.replication.throttled.replicas": (
        _LS,
        "Replicas whose log replication is throttled on the leader side.",
    ),
    "local.retention.bytes": (
        _L,
        "Maximum local size before local segments are eligible for deletion (tiered storage).",
    ),
    "local.retention.ms": (_L, "Time to keep local segments before deletion (tiered storage)."),
    "max.compaction.lag.ms": (_L, "Maximum time a message remains ineligible for compaction."),
    "max.message.bytes": (_I, "Largest record batch size allowed by the topic."),
    "message.downconversion.enable": (
        _B,
        "Whether down-conversion of message formats is enabled for consumers.",
    ),
    "message.format.version": (_S, "Message format version (deprecated; ignored from 3.0)."),
    "message.timestamp.after.max.ms": (
        _L,
        "Maximum a CreateTime timestamp may be ahead of the broker's clock.",
    ),
    "message.timestamp.before.max.ms": (
        _L,
        "Maximum a CreateTime timestamp may be behind the broker's clock.",
    ),
    "message.timestamp.difference.max.ms": (
        _L,
        "Maximum difference between a CreateTime timestamp and the broker's clock (deprecated).",
    ),
    "message.timestamp.type": (_S, "Whether record timestamps are CreateTime or LogAppendTime."),
    "min.cleanable.dirty.ratio": (_D, "Dirty ratio of the log above which it is compacted."),
    "min.compaction.lag.ms": (_L, "Minimum time a message remains uncompacted."),
    "min.insync.replicas": (_I, "Minimum in-sync replicas for a produce with acks=all to succeed."),
    "preallocate": (_B, "Whether files are preallocated when a segment is created."),
    "remote.log.copy.disable": (_B, "Whether copying segments to remote storage is disabled."),
    "remote.log.delete.on.disable": (_B, "Whether remote data is deleted when remote storage is disabled."),
    "remote.storage.enable": (_B, "Whether tiered storage is enabled for the topic."),
    "retention.bytes": (_L, "Maximum size of a partition log before old segments are deleted."),
    "retention.ms": (_L, "Maximum time a log is retained before old segments are deleted."),
    "segment.bytes": (_I, "Segment file size of the log."),
    "segment.index.bytes": (_I, "Size of the index that maps offsets to file positions."),
    "segment.jitter.ms": (_L, "Maximum random jitter subtracted from segment.ms."),
    "segment.ms": (_L, "Time after which a segment is rolled even if it is not full."),
    "unclean.leader.election.enable": (_B, "Whether replicas not in the ISR may be elected leader."),
}

TOPIC_CONFIGS: dict[str, KeyInfo] = {
    name: KeyInfo(kind, LogConfig.default_value(name), doc) for name, (kind, doc) in _TOPIC_DOCS.items()
}

TOPIC_SYNONYMS: dict[str, tuple[str, ...]] = {
    "segment.bytes": ("log.segment.bytes",),
    "segment.ms": ("log.roll.ms", "log.roll.hours"),
    "segment.jitter.ms": ("log.roll.jitter.ms", "log.roll.jitter.hours"),
    "segment.index.bytes": ("log.index.size.max.bytes",),
    "flush.messages": ("log.flush.interval.messages",),
    "flush.ms": ("log.flush.interval.ms", "log.flush.scheduler.interval.ms"),
    "retention.bytes": ("log.retention.bytes",),
    "retention.ms": ("log.retention.ms", "log.retention.minutes", "log.retention.hours"),
    "max.message.bytes": ("message.max.bytes",),
    "index.interval.bytes": ("log.index.interval.bytes",),
    "delete.retention.ms": ("log.cleaner.delete.retention.ms",),
    "min.compaction.lag.ms": ("log.cleaner.min.compaction.lag.ms",),
    "max.compaction.lag.ms": ("log.cleaner.max.compaction.lag.ms",),
    "file.delete.delay.ms": ("log.segment.delete.delay.ms",),
    "min.cleanable.dirty.ratio": ("log.cleaner.min.cleanable.ratio",),
    "cleanup.policy": ("log.cleanup.policy",),
    "unclean.leader.election.enable": ("unclean.leader.election.enable",),
    "min.insync.replicas": ("min.insync.replicas",),
    "compression.type": ("compression.type",),
    "compression.gzip.level": ("compression.gzip.level",),
    "compression.lz4.level": ("compression.lz4.level",),
    "compression.zstd.level": ("compression.zstd.level",),
    "preallocate": ("log.preallocate",),
    "message.format.version": ("log.message.format.version",),
    "message.timestamp.type": ("log.message.timestamp.type",),
    "message.timestamp.difference.max.ms": ("log.message.timestamp.difference.max.ms",),
    "message.timestamp.before.max.ms": ("log.message.timestamp.before.max.ms",),
    "message.timestamp.after.max.ms": ("log.message.timestamp.after.max.ms",),
    "message.downconversion.enable": ("log.message.downconversion.enable",),
    "local.retention.ms": ("log.local.retention.ms",),
    "local.retention.bytes": ("log.local.retention.bytes",),
}
"""Kafka's ``ServerTopicConfigSynonyms``: topic key -> broker keys giving its default, by priority."""

# -- broker keys ---------------------------------------------------------------------------------

_MAX = str(LONG_MAX)

# broker keys that only provide topic defaults: type, Kafka 3.9 default, documentation
_BROKER_LOG_KEYS: dict[str, KeyInfo] = {
    "log.segment.bytes": KeyInfo(_I, "1073741824", "Maximum size of a single log segment file."),
    "log.roll.ms": KeyInfo(_L, None, "Time before a new segment is rolled; overrides log.roll.hours."),
    "log.roll.hours": KeyInfo(_I, "168", "Time before a new segment is rolled, in hours."),
    "log.roll.jitter.ms": KeyInfo(_L, None, "Maximum jitter subtracted from the roll time."),
    "log.roll.jitter.hours": KeyInfo(_I, "0", "Maximum jitter subtracted from the roll time, in hours."),
    "log.index.size.max.bytes": KeyInfo(_I, "10485760", "Maximum size of an offset index in bytes."),
    "log.index.interval.bytes": KeyInfo(
        _I, "4096", "Interval at which an entry is added to the offset index."
    ),
    "log.flush.interval.messages": KeyInfo(_L, _MAX, "Messages accumulated before a log is fsynced."),
    "log.flush.interval.ms": KeyInfo(_L, None, "Maximum time a message stays in memory before an fsync."),
    "log.flush.scheduler.interval.ms": KeyInfo(
        _L, _MAX, "How often the flusher checks whether a log needs an fsync."
    ),
    "log.retention.bytes": KeyInfo(_L, "-1", "Maximum size of a log before deleting it."),
    "log.retention.ms": KeyInfo(_L, None, "Time to keep a log file before deleting it, in milliseconds."),
    "log.retention.minutes": KeyInfo(_I, None, "Time to keep a log file before deleting it, in minutes."),
    "log.retention.hours": KeyInfo(_I, "168", "Time to keep a log file before deleting it, in hours."),
    "log.cleaner.delete.retention.ms": KeyInfo(_L, "86400000", "How long delete tombstones are kept."),
    "log.cleaner.min.compaction.lag.ms": KeyInfo(_L, "0", "Minimum time a message remains uncompacted."),
    "log.cleaner.max.compaction.lag.ms": KeyInfo(
        _L, _MAX, "Maximum time a message remains ineligible for compaction."
    ),
    "log.segment.delete.delay.ms": KeyInfo(
        _L, "60000", "Time to wait before deleting a file from the filesystem."
    ),
    "log.cleaner.min.cleanable.ratio": KeyInfo(_D, "0.5", "Minimum dirty ratio for a log to be compacted."),
    "log.cleanup.policy": KeyInfo(
        _LS, "delete", "Default cleanup policy for segments beyond the retention window."
    ),
    "compression.type": KeyInfo(_S, "producer", "Final compression type of topics."),
    "compression.gzip.level": KeyInfo(_I, "-1", "Compression level for gzip."),
    "compression.lz4.level": KeyInfo(_I, "9", "Compression level for lz4."),
    "compression.zstd.level": KeyInfo(_I, "3", "Compression level for zstd."),
    "log.preallocate": KeyInfo(_B, "false", "Whether files are preallocated when a segment is created."),
    "log.message.format.version": KeyInfo(_S, "3.0-IV1", "Message format version (deprecated)."),
    "log.message.timestamp.type": KeyInfo(_S, "CreateTime", "CreateTime or LogAppendTime."),
    "log.message.timestamp.difference.max.ms": KeyInfo(
        _L, _MAX, "Maximum allowed timestamp difference (deprecated)."
    ),
    "log.message.timestamp.before.max.ms": KeyInfo(
        _L, _MAX, "Maximum a timestamp may be behind the broker's clock."
    ),
    "log.message.timestamp.after.max.ms": KeyInfo(
        _L, _MAX, "Maximum a timestamp may be ahead of the broker's clock."
    ),
    "log.message.downconversion.enable": KeyInfo(
        _B, "true", "Whether down-conversion for consumers is enabled."
    ),
    "log.local.retention.ms": KeyInfo(_L, "-2", "Time to keep local segments (tiered storage)."),
    "log.local.retention.bytes": KeyInfo(_L, "-2", "Maximum local size of a partition (tiered storage)."),
}

# the keys of pybroker.config.BROKER_KEYS: Kafka type and documentation (defaults come from there)
_BROKER_DOCS: dict[str, tuple[ConfigType, str]] = {
    "broker.id": (_I, "The broker id of this server."),
    "node.id": (_I, "The node id of this server (used when broker.id is not set)."),
    "broker.rack": (_S, "Rack of the broker."),
    "listeners": (_S, "Listener URIs the broker binds to."),
    "advertised.listeners": (_S, "Listener URIs published to clients; defaults to listeners."),
    "listener.security.protocol.map": (_S, "Map from listener names to security protocols."),
    "log.dirs": (_S, "Directories holding the log data."),
    "log.dir": (_S, "Directory holding the log data (when log.dirs is not set)."),
    "zookeeper.connect": (_S, "ZooKeeper connection string."),
    "zookeeper.session.timeout.ms": (_I, "ZooKeeper session timeout."),
    "zookeeper.connection.timeout.ms": (_I, "Maximum time to wait to establish a ZooKeeper connection."),
    "num.partitions": (_I, "Default number of partitions of a topic."),
    "default.replication.factor": (_I, "Default replication factor of a topic."),
    "auto.create.topics.enable": (_B, "Whether topics are created automatically on first use."),
    "delete.topic.enable": (_B, "Whether topics may be deleted."),
    "socket.request.max.bytes": (_I, "Maximum size of a request."),
    "socket.send.buffer.bytes": (_I, "SO_SNDBUF of the server sockets (-1: OS default)."),
    "socket.receive.buffer.bytes": (_I, "SO_RCVBUF of the server sockets (-1: OS default)."),
    "max.connections": (_I, "Maximum connections to the broker."),
    "max.connections.per.ip": (_I, "Maximum connections from one IP address."),
    "connections.max.idle.ms": (_L, "Idle connections are closed after this time."),
    "queued.max.requests": (_I, "Requests queued per connection before reading is paused."),
    "message.max.bytes": (_I, "Largest record batch size allowed (default of max.message.bytes)."),
    "replica.fetch.max.bytes": (_I, "Bytes fetched per partition by a follower."),
    "offsets.topic.num.partitions": (_I, "Partitions of the offsets topic."),
    "offsets.topic.replication.factor": (_SH, "Replication factor of the offsets topic."),
    "offsets.retention.minutes": (_I, "How long committed offsets of an empty group are kept."),
    "group.initial.rebalance.delay.ms": (_I, "Delay of the first rebalance of a new group."),
    "group.min.session.timeout.ms": (_I, "Minimum allowed session timeout of group members."),
    "group.max.session.timeout.ms": (_I, "Maximum allowed session timeout of group members."),
    "group.max.size": (_I, "Maximum number of members of a group."),
    "transaction.state.log.num.partitions": (_I, "Partitions of the transaction state topic."),
    "transaction.state.log.replication.factor": (_SH, "Replication factor of the transaction state topic."),
    "min.insync.replicas": (_I, "Minimum in-sync replicas for acks=all produce requests."),
    "unclean.leader.election.enable": (_B, "Whether replicas not in the ISR may be elected leader."),
    "log.retention.check.interval.ms": (_L, "How often log segments are checked for deletion."),
    "log.flush.offset.checkpoint.interval.ms": (_I, "How often the recovery points are checkpointed."),
    "replica.lag.time.max.ms": (_L, "A follower lagging longer than this leaves the ISR."),
    "controlled.shutdown.enable": (_B, "Whether the broker shuts down in a controlled way."),
    "controlled.shutdown.max.retries": (_I, "Controlled shutdown attempts before an unclean shutdown."),
    "controlled.shutdown.retry.backoff.ms": (_L, "Wait between controlled shutdown attempts."),
    "inter.broker.listener.name": (_S, "Listener brokers use to reach each other."),
    "replica.fetch.wait.max.ms": (_I, "Longest wait of a follower fetch for data."),
    "replica.fetch.min.bytes": (_I, "Bytes a follower fetch waits for."),
    "replica.fetch.backoff.ms": (_I, "Pause after a failed follower fetch."),
    "replica.fetch.response.max.bytes": (_I, "Bytes a whole follower fetch response may carry."),
    "replica.socket.timeout.ms": (_I, "Timeout of follower fetch requests."),
    "auto.leader.rebalance.enable": (
        _B,
        "Whether the controller moves leadership back to preferred replicas.",
    ),
    "leader.imbalance.check.interval.seconds": (_L, "How often the controller checks leader balance."),
    "leader.imbalance.per.broker.percentage": (_I, "Non-preferred leaders per broker tolerated, in percent."),
    "fetch.max.bytes": (_I, "Maximum bytes returned for a fetch request."),
    "max.incremental.fetch.session.cache.slots": (_I, "Maximum number of incremental fetch sessions."),
    "num.network.threads": (_I, "Threads receiving requests and sending responses."),
    "num.io.threads": (_I, "Threads processing requests."),
    "num.recovery.threads.per.data.dir": (_I, "Threads per log dir recovering logs at start."),
}

BROKER_CONFIGS: dict[str, KeyInfo] = {
    **{name: KeyInfo(kind, BROKER_KEYS[name][1], doc) for name, (kind, doc) in _BROKER_DOCS.items()},
    **_BROKER_LOG_KEYS,
}
"""Every broker key pybroker knows, with its Kafka type, default and documentation."""

_SYNONYM_GROUPS: tuple[tuple[str, ...], ...] = (
    ("log.roll.ms", "log.roll.hours"),
    ("log.roll.jitter.ms", "log.roll.jitter.hours"),
    ("log.retention.ms", "log.retention.minutes", "log.retention.hours"),
)


def broker_synonyms(name: str) -> tuple[str, ...]:
    """Kafka's ``DynamicBrokerConfig.brokerConfigSynonyms``: the keys setting the same thing."""
    for group in _SYNONYM_GROUPS:
        if name in group:
            return group
    if name == "log.flush.interval.ms":  # the scheduler interval is its default, not vice versa
        return ("log.flush.interval.ms", "log.flush.scheduler.interval.ms")
    return (name,)


# -- describing ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Synonym:
    name: str
    value: str | None
    source: ConfigSource


@dataclass(frozen=True, slots=True)
class DescribedConfig:
    """One config as DescribeConfigs reports it (synonyms always computed; the handler drops them)."""

    name: str
    value: str | None
    source: ConfigSource
    read_only: bool
    sensitive: bool
    type: ConfigType
    doc: str | None
    synonyms: list[Synonym]


def _config_synonyms(
    name: str, names: tuple[str, ...], static: Mapping[str, str], sensitive: bool
) -> list[Synonym]:
    """Kafka's ``ConfigHelper.configSynonyms`` for a broker without dynamic configs."""
    found: list[Synonym] = []
    for key in names:
        if key in static:
            found.append(
                Synonym(key, None if sensitive else static[key].strip(), ConfigSource.STATIC_BROKER_CONFIG)
            )
    for key in names:
        info = BROKER_CONFIGS.get(key)
        if info is not None and info.default is not None:
            found.append(Synonym(key, None if sensitive else info.default, ConfigSource.DEFAULT_CONFIG))
    for i, synonym in enumerate(found):  # as Kafka: drop what precedes the first one named `name`
        if synonym.name == name:
            return found[i:]
    return []


def describe_topic(
    config: LogConfig, overrides: Mapping[str, str], static: Mapping[str, str]
) -> list[DescribedConfig]:
    """Every topic config: ``config`` is the effective one, ``overrides`` the topic's own keys and
    ``static`` the broker's ``server.properties``."""
    values = config.to_properties()
    described = []
    for name in TOPIC_CONFIG_KEYS:
        info = TOPIC_CONFIGS[name]
        value = values[name]
        broker_keys = TOPIC_SYNONYMS.get(name)
        synonyms = (
            _config_synonyms(broker_keys[0], broker_synonyms(broker_keys[0]), static, False)
            if broker_keys
            else []
        )
        if name in overrides:
            synonyms.insert(0, Synonym(name, value, ConfigSource.TOPIC_CONFIG))
        source = synonyms[0].source if synonyms else ConfigSource.DEFAULT_CONFIG
        described.append(DescribedConfig(name, value, source, False, False, info.type, info.doc, synonyms))
    return described


def describe_broker(static: Mapping[str, str]) -> list[DescribedConfig]:
    """Every broker config pybroker knows plus every key ``server.properties`` sets, by name."""
    described = []
    for name in sorted(BROKER_CONFIGS.keys() | static.keys()):
        info = BROKER_CONFIGS.get(name)
        sensitive = info is None  # Kafka: a key without a definition may hold a secret
        if info is None:
            value = None
        elif name in static:
            value = static[name].strip()
        else:
            value = info.default
        synonyms = _config_synonyms(name, broker_synonyms(name), static, sensitive)
        source = synonyms[0].source if synonyms else ConfigSource.DEFAULT_CONFIG
        described.append(
            DescribedConfig(
                name,
                value,
                source,
                True,
                sensitive,
                ConfigType.UNKNOWN if info is None else info.type,
                None if info is None else info.doc,
                synonyms,
            )
        )
    return described


def check_broker_id(resource_name: str, broker_id: int, allow_empty: bool) -> None:
    """A BROKER or BROKER_LOGGER resource must name this broker (or, if allowed, be empty)."""
    if not resource_name and allow_empty:
        return
    if not resource_name:
        raise ResourceError(ErrorCode.INVALID_REQUEST, "Broker id must not be empty")
    try:
        requested = int(resource_name)
    except ValueError:
        raise ResourceError(
            ErrorCode.INVALID_REQUEST, f"Broker id must be an integer, but it is: {resource_name}"
        ) from None
    if requested != broker_id:
        expected = f"{broker_id} or empty string" if allow_empty else str(broker_id)
        raise ResourceError(
            ErrorCode.INVALID_REQUEST,
            f"Unexpected broker id, expected {expected}, but received {resource_name}",
        )


# -- changing topic configs ----------------------------------------------------------------------


def validate_topic_overrides(topic: str, defaults: LogConfig, overrides: Mapping[str, str]) -> LogConfig:
    """The topic's new effective config; INVALID_CONFIG naming the resource if any value is bad."""
    try:
        config = defaults.with_overrides(overrides)
        if config.min_compaction_lag_ms > config.max_compaction_lag_ms:
            raise ValueError(
                f"conflict topic config setting min.compaction.lag.ms ({config.min_compaction_lag_ms}) > "
                f"max.compaction.lag.ms ({config.max_compaction_lag_ms})"
            )
        if config.remote_storage_enable:
            raise ValueError(
                "Tiered Storage functionality is disabled in the broker. "
                "Topic cannot be configured with remote log storage."
            )
    except ValueError as exc:
        raise ResourceError(
            ErrorCode.INVALID_CONFIG,
            f"Invalid config value for resource ConfigResource(type=TOPIC, name='{topic}'): {exc}",
        ) from None
    return config


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def apply_incremental(
    overrides: Mapping[str, str], ops: Iterable[tuple[str, OpType, str | None]], defaults: LogConfig
) -> dict[str, str]:
    """Kafka's ``prepareIncrementalConfigs`` on a topic's overrides: SET, DELETE, and APPEND /
    SUBTRACT of list items (starting from the effective broker default when the topic has no
    override). Raises INVALID_CONFIG for list operations on unknown keys and INVALID_REQUEST for
    list operations on other types; values are validated afterwards, on the whole result. Only
    DELETE may have a null value (the caller checks)."""
    result = dict(overrides)
    for name, op, value in ops:
        if op == OpType.DELETE:
            result.pop(name, None)
            continue
        assert value is not None
        if op == OpType.SET:
            result[name] = value
            continue
        info = TOPIC_CONFIGS.get(name)
        if info is None:
            raise ResourceError(ErrorCode.INVALID_CONFIG, f"Unknown topic config name: {name}")
        verb = "append" if op == OpType.APPEND else "subtract"
        if info.type != ConfigType.LIST:
            raise ResourceError(
                ErrorCode.INVALID_REQUEST, f"Config value {verb} is not allowed for config key: {name}"
            )
        old = _split(result.get(name, defaults.to_properties()[name]))
        items = _split(value)
        if op == OpType.APPEND:
            new = old + [item for item in dict.fromkeys(items) if item not in old]
        else:
            new = [item for item in old if item not in items]
        result[name] = ",".join(new)
    return result
