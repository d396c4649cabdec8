"""Kafka 3.x's ZooKeeper layout: znode paths and their JSON, field for field as Kafka writes them.

Pure: no I/O, no clock (timestamps are arguments), no kazoo. Everything here mirrors
``core/src/main/scala/kafka/zk/ZkData.scala`` (Kafka 3.x, ZooKeeper mode), so a pybroker
broker and a Kafka broker or tool (``zookeeper-shell``, ``kafka-topics --zookeeper`` of old, a
KRaft migration) read each other's znodes. JSON is written compactly, as Jackson does, in UTF-8;
where Kafka's Scala map keeps insertion order (up to four keys) the key order matches too.

``/cluster/id`` (persistent)
    ``{"version":"1","id":"<22-char base64 uuid>"}``; the version is a *string*.
``/brokers/ids/<id>`` (ephemeral, owned by the broker's session)
    version 5: ``{"version":5,"host":h,"port":p,"endpoints":["PLAINTEXT://h:p"],"jmx_port":-1,
    "timestamp":"<ms>","rack":r,"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},
    "features":{name:{"min_version":a,"max_version":b}}}``. ``rack`` only when set; host/port
    are the first PLAINTEXT endpoint's (null/-1 if there is none); the timestamp is a string.
``/controller`` (ephemeral, owned by the controller's session)
    ``{"version":2,"brokerid":N,"timestamp":"<ms>","kraftControllerEpoch":-1}``.
``/controller_epoch`` (persistent)
    the epoch as a decimal string, e.g. ``1``. Created as ``0``; every election sets it to
    epoch + 1 conditionally on its znode version, and that version fences controller writes.
``/brokers/topics/<t>`` (persistent)
    ``{"version":3,"partitions":{"0":[1,2,3]},"topic_id":"<base64 uuid>","adding_replicas":{},
    "removing_replicas":{}}``; adding/removing list only partitions that have some.
``/brokers/topics/<t>/partitions/<p>/state`` (persistent)
    ``{"controller_epoch":c,"leader":l,"version":1,"leader_epoch":e,"isr":[..]}``, plus
    ``"leader_recovery_state":1`` only while RECOVERING. The znode version is the partition epoch.
``/config/<type>/<name>`` (persistent; type: topics, clients, users, brokers, ips)
    ``{"version":1,"config":{"k":"v"}}``; values are strings.
``/config/changes/config_change_<seq>`` (persistent sequential)
    ``{"version":2,"entity_path":"topics/<t>"}``.
``/admin/delete_topics/<t>`` (persistent)
    no data: its existence asks the controller to delete the topic.
``/brokers/seqid`` (persistent)
    no data; its *znode version* after a blind set, plus ``reserved.broker.max.id``, is a
    generated broker id.
``/latest_producer_id_block`` (persistent)
    ``{"version":1,"broker":b,"block_start":"s","block_end":"e"}``; the bounds are strings.

Decoders also accept the older versions Kafka still reads: broker registrations 1-4, controller
version 1 (and the pre-JSON bare broker id), topic assignments 1-2.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# -- paths -----------------------------------------------------------------------------------

CLUSTER = "/cluster"
CLUSTER_ID = "/cluster/id"
CONTROLLER = "/controller"
CONTROLLER_EPOCH = "/controller_epoch"
BROKERS = "/brokers"
BROKER_IDS = "/brokers/ids"
BROKER_TOPICS = "/brokers/topics"
BROKER_SEQID = "/brokers/seqid"
CONFIG = "/config"
CONFIG_CHANGES = "/config/changes"
CONFIG_CHANGE_PREFIX = "config_change_"
ADMIN = "/admin"
DELETE_TOPICS = "/admin/delete_topics"
REASSIGN_PARTITIONS = "/admin/reassign_partitions"
PREFERRED_REPLICA_ELECTION = "/admin/preferred_replica_election"
ISR_CHANGE_NOTIFICATION = "/isr_change_notification"
LOG_DIR_EVENT_NOTIFICATION = "/log_dir_event_notification"
PRODUCER_ID_BLOCK = "/latest_producer_id_block"
FEATURE = "/feature"
CONSUMERS = "/consumers"  # the old consumer's root; Kafka still creates it

CONFIG_TYPES = ("topics", "clients", "users", "brokers", "ips")

# ZkData.PersistentZkPaths: what a Kafka broker creates (if missing) when it starts.
PERSISTENT_PATHS: tuple[str, ...] = (
    CONSUMERS,
    BROKER_IDS,
    BROKER_TOPICS,
    CONFIG_CHANGES,
    DELETE_TOPICS,
    BROKER_SEQID,
    ISR_CHANGE_NOTIFICATION,
    PRODUCER_ID_BLOCK,
    LOG_DIR_EVENT_NOTIFICATION,
    *(f"{CONFIG}/{t}" for t in CONFIG_TYPES),
)

# KafkaController.InitialControllerEpoch / InitialControllerEpochZkVersion
INITIAL_CONTROLLER_EPOCH = 0
INITIAL_CONTROLLER_EPOCH_ZK_VERSION = 0
NO_CONTROLLER = -1
RESERVED_BROKER_MAX_ID = 1000  # reserved.broker.max.id's default

_TOPIC_NAME = re.compile(r"[a-zA-Z0-9._-]{1,249}")


class ZkDataError(ValueError):
    """A znode's content is not in any format Kafka writes."""


def broker_path(broker_id: int) -> str:
    return f"{BROKER_IDS}/{broker_id}"


def _check_topic(topic: str) -> str:
    if not _TOPIC_NAME.fullmatch(topic) or topic in (".", ".."):
        raise ValueError(f"invalid topic name {topic!r}")
    return topic


def topic_path(topic: str) -> str:
    return f"{BROKER_TOPICS}/{_check_topic(topic)}"


def topic_partitions_path(topic: str) -> str:
    return f"{topic_path(topic)}/partitions"


def partition_path(topic: str, partition: int) -> str:
    return f"{topic_partitions_path(topic)}/{partition}"


def partition_state_path(topic: str, partition: int) -> str:
    return f"{partition_path(topic, partition)}/state"


def config_entity_path(entity_type: str, name: str) -> str:
    if entity_type not in CONFIG_TYPES:
        raise ValueError(f"unknown config entity type {entity_type!r}")
    return f"{CONFIG}/{entity_type}/{name}"


def topic_config_path(topic: str) -> str:
    return config_entity_path("topics", _check_topic(topic))


def delete_topic_path(topic: str) -> str:
    return f"{DELETE_TOPICS}/{_check_topic(topic)}"


# -- JSON helpers ----------------------------------------------------------------------------


def _dumps(obj: Mapping[str, Any]) -> bytes:
    """Compact JSON, as Jackson's ``Json.encodeAsBytes`` writes it."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def _loads(data: bytes | None, what: str) -> dict[str, Any]:
    if not data:
        raise ZkDataError(f"{what}: empty znode")
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ZkDataError(f"{what}: not JSON: {data[:200]!r}") from exc
    if not isinstance(obj, dict):
        raise ZkDataError(f"{what}: expected a JSON object, got {data[:200]!r}")
    return obj


def _int(obj: Mapping[str, Any], key: str, what: str) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ZkDataError(f"{what}: {key!r} is missing or not an integer: {value!r}")
    try:
        return int(value)
    except ValueError:
        raise ZkDataError(f"{what}: {key!r} is not an integer: {value!r}") from None


def _int_list(value: Any, what: str) -> list[int]:
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ZkDataError(f"{what}: expected a list of integers, got {value!r}")
    return list(value)


# -- /cluster/id -----------------------------------------------------------------------------


def encode_cluster_id(cluster_id: str) -> bytes:
    return _dumps({"version": "1", "id": cluster_id})


def decode_cluster_id(data: bytes | None) -> str:
    obj = _loads(data, CLUSTER_ID)
    cid = obj.get("id")
    if not isinstance(cid, str) or not cid:
        raise ZkDataError(f"{CLUSTER_ID}: no cluster id in {data!r}")
    return cid


# -- /brokers/ids/<id> -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EndPoint:
    """One advertised listener: ``LISTENER://host:port`` with its security protocol."""

    listener_name: str
    host: str | None
    port: int
    security_protocol: str = "PLAINTEXT"

    @property
    def connection_string(self) -> str:
        """Kafka's ``EndPoint.connectionString``: IPv6 hosts in brackets, a missing host as empty."""
        if self.host is None:
            hostport = f":{self.port}"
        elif ":" in self.host:
            hostport = f"[{self.host}]:{self.port}"
        else:
            hostport = f"{self.host}:{self.port}"
        return f"{self.listener_name}://{hostport}"


# Kafka's EndPoint.uriParseExp
_ENDPOINT = re.compile(r"^(.*)://\[?([0-9a-zA-Z\-%._:]*)\]?:(-?[0-9]+)$")
_SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")


def parse_endpoint(text: str, protocol_map: Mapping[str, str] | None = None) -> EndPoint:
    """Parse ``NAME://host:port``; the protocol comes from ``protocol_map`` (default: NAME itself)."""
    m = _ENDPOINT.fullmatch(text)
    if m is None:
        raise ZkDataError(f"unable to parse {text!r} to a broker endpoint")
    name, host, port = m.group(1), m.group(2), int(m.group(3))
    if protocol_map is None:
        protocol_map = {p: p for p in _SECURITY_PROTOCOLS}
    protocol = protocol_map.get(name)
    if protocol is None:
        raise ZkDataError(f"no security protocol for listener {name} in {dict(protocol_map)}")
    return EndPoint(name, host or None, port, protocol)


@dataclass(frozen=True, slots=True)
class VersionRange:
    """A supported feature's ``{"min_version":a,"max_version":b}``."""

    min_version: int
    max_version: int


@dataclass(frozen=True, slots=True)
class BrokerRegistration:
    """``/brokers/ids/<id>``: how to reach a broker. ``timestamp_ms`` is when it registered."""

    broker_id: int
    endpoints: tuple[EndPoint, ...]
    timestamp_ms: int
    rack: str | None = None
    jmx_port: int = -1
    features: Mapping[str, VersionRange] = field(default_factory=dict)
    version: int = 5

    def endpoint(self, listener_name: str) -> EndPoint | None:
        return next((e for e in self.endpoints if e.listener_name == listener_name), None)


def encode_broker(reg: BrokerRegistration) -> bytes:
    """``BrokerIdZNode.encode``: version 5 unless ``reg.version`` asks for an older one."""
    plaintext = next((e for e in reg.endpoints if e.security_protocol == "PLAINTEXT"), None)
    obj: dict[str, Any] = {
        "version": reg.version,
        "host": plaintext.host if plaintext else None,
        "port": plaintext.port if plaintext else -1,
        "endpoints": [e.connection_string for e in reg.endpoints],
        "jmx_port": reg.jmx_port,
        "timestamp": str(reg.timestamp_ms),
    }
    if reg.rack is not None and reg.version >= 3:
        obj["rack"] = reg.rack
    if reg.version >= 4:
        obj["listener_security_protocol_map"] = {e.listener_name: e.security_protocol for e in reg.endpoints}
    if reg.version >= 5:
        obj["features"] = {
            name: {"min_version": r.min_version, "max_version": r.max_version}
            for name, r in reg.features.items()
        }
    return _dumps(obj)


def decode_broker(broker_id: int, data: bytes | None) -> BrokerRegistration:
    """``BrokerIdZNode.decode`` for versions 1-5."""
    what = broker_path(broker_id)
    obj = _loads(data, what)
    version = _int(obj, "version", what)
    jmx_port = _int(obj, "jmx_port", what) if "jmx_port" in obj else -1
    if version < 1:
        raise ZkDataError(f"{what}: unsupported version of broker registration: {data!r}")
    if version == 1:
        host = obj.get("host")
        if not isinstance(host, str):
            raise ZkDataError(f"{what}: no host in {data!r}")
        endpoints: tuple[EndPoint, ...] = (EndPoint("PLAINTEXT", host, _int(obj, "port", what)),)
    else:
        raw_map = obj.get("listener_security_protocol_map")
        if raw_map is not None and not isinstance(raw_map, dict):
            raise ZkDataError(f"{what}: bad listener_security_protocol_map {raw_map!r}")
        raw = obj.get("endpoints")
        if not isinstance(raw, list) or not all(isinstance(e, str) for e in raw):
            raise ZkDataError(f"{what}: bad endpoints {raw!r}")
        endpoints = tuple(parse_endpoint(e, raw_map) for e in raw)
    rack = obj.get("rack")
    features: dict[str, VersionRange] = {}
    raw_features = obj.get("features") or {}
    if not isinstance(raw_features, dict):
        raise ZkDataError(f"{what}: bad features {raw_features!r}")
    for name, r in raw_features.items():
        if not isinstance(r, dict):
            raise ZkDataError(f"{what}: bad feature {name}: {r!r}")
        features[name] = VersionRange(_int(r, "min_version", what), _int(r, "max_version", what))
    ts = obj.get("timestamp")
    return BrokerRegistration(
        broker_id=broker_id,
        endpoints=endpoints,
        timestamp_ms=int(ts) if isinstance(ts, str | int) and str(ts).lstrip("-").isdigit() else -1,
        rack=rack if isinstance(rack, str) else None,
        jmx_port=jmx_port,
        features=features,
        version=version,
    )


# -- /controller and /controller_epoch -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ControllerRegistration:
    """``/controller``: which broker is the active controller, since when."""

    broker_id: int
    timestamp_ms: int
    kraft_controller_epoch: int = -1  # -1: a ZooKeeper-mode controller (not a KRaft migration)
    version: int = 2


def encode_controller(broker_id: int, timestamp_ms: int, kraft_controller_epoch: int = -1) -> bytes:
    return _dumps(
        {
            "version": 2,
            "brokerid": broker_id,
            "timestamp": str(timestamp_ms),
            "kraftControllerEpoch": kraft_controller_epoch,
        }
    )


def decode_controller(data: bytes | None) -> ControllerRegistration:
    """Version 1 or 2, or the pre-JSON bare integer broker id."""
    if data and data.strip().lstrip(b"-").isdigit():
        return ControllerRegistration(int(data), -1, -1, 0)
    obj = _loads(data, CONTROLLER)
    ts = obj.get("timestamp")
    return ControllerRegistration(
        broker_id=_int(obj, "brokerid", CONTROLLER),
        timestamp_ms=int(ts) if isinstance(ts, str | int) and str(ts).lstrip("-").isdigit() else -1,
        kraft_controller_epoch=_int(obj, "kraftControllerEpoch", CONTROLLER)
        if "kraftControllerEpoch" in obj
        else -1,
        version=_int(obj, "version", CONTROLLER) if "version" in obj else 1,
    )


def encode_controller_epoch(epoch: int) -> bytes:
    return str(epoch).encode()


def decode_controller_epoch(data: bytes | None) -> int:
    try:
        return int((data or b"").decode())
    except (ValueError, UnicodeDecodeError):
        raise ZkDataError(f"{CONTROLLER_EPOCH}: not an integer: {data!r}") from None


# -- /brokers/topics/<t> ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TopicAssignment:
    """``/brokers/topics/<t>``: replicas per partition (and any reassignment in flight)."""

    partitions: Mapping[int, list[int]]
    topic_id: str | None = None
    adding_replicas: Mapping[int, list[int]] = field(default_factory=dict)
    removing_replicas: Mapping[int, list[int]] = field(default_factory=dict)
    version: int = 3


def encode_topic(assignment: TopicAssignment) -> bytes:
    def as_json(m: Mapping[int, list[int]], skip_empty: bool) -> dict[str, list[int]]:
        return {str(p): list(r) for p, r in sorted(m.items()) if r or not skip_empty}

    obj: dict[str, Any] = {
        "version": 3,
        "partitions": as_json(assignment.partitions, skip_empty=False),
        "adding_replicas": as_json(assignment.adding_replicas, skip_empty=True),
        "removing_replicas": as_json(assignment.removing_replicas, skip_empty=True),
    }
    if assignment.topic_id is not None:
        obj["topic_id"] = assignment.topic_id
    return _dumps(obj)


def decode_topic(topic: str, data: bytes | None) -> TopicAssignment:
    """``TopicZNode.decode``: versions 1-3; absent adding/removing maps are empty."""
    what = topic_path(topic)
    obj = _loads(data, what)

    def as_map(key: str) -> dict[int, list[int]]:
        raw = obj.get(key) or {}
        if not isinstance(raw, dict):
            raise ZkDataError(f"{what}: {key} is not an object: {raw!r}")
        try:
            return {int(p): _int_list(r, what) for p, r in raw.items()}
        except ValueError as exc:
            raise ZkDataError(f"{what}: bad {key}: {raw!r}") from exc

    topic_id = obj.get("topic_id")
    if topic_id is not None and not isinstance(topic_id, str):
        raise ZkDataError(f"{what}: bad topic_id {topic_id!r}")
    return TopicAssignment(
        partitions=as_map("partitions"),
        topic_id=topic_id,
        adding_replicas=as_map("adding_replicas"),
        removing_replicas=as_map("removing_replicas"),
        version=_int(obj, "version", what) if "version" in obj else 1,
    )


# -- /brokers/topics/<t>/partitions/<p>/state ------------------------------------------------

LEADER_RECOVERY_RECOVERED = 0
LEADER_RECOVERY_RECOVERING = 1


@dataclass(frozen=True, slots=True)
class PartitionState:
    """A partition's leader, ISR and the epochs that fence them.

    ``partition_epoch`` is the state znode's version (not in the JSON): conditional writes of
    the state use it, as Kafka's ``LeaderAndIsr.partitionEpoch`` does.
    """

    leader: int
    leader_epoch: int
    isr: list[int]
    controller_epoch: int
    leader_recovery_state: int = LEADER_RECOVERY_RECOVERED
    partition_epoch: int = 0


def encode_partition_state(state: PartitionState) -> bytes:
    obj: dict[str, Any] = {
        "controller_epoch": state.controller_epoch,
        "leader": state.leader,
        "version": 1,
        "leader_epoch": state.leader_epoch,
        "isr": list(state.isr),
    }
    if state.leader_recovery_state != LEADER_RECOVERY_RECOVERED:
        obj["leader_recovery_state"] = state.leader_recovery_state
    return _dumps(obj)


def decode_partition_state(
    data: bytes | None, zk_version: int = 0, what: str = "partition state"
) -> PartitionState:
    obj = _loads(data, what)
    return PartitionState(
        leader=_int(obj, "leader", what),
        leader_epoch=_int(obj, "leader_epoch", what),
        isr=_int_list(obj.get("isr"), what),
        controller_epoch=_int(obj, "controller_epoch", what),
        leader_recovery_state=_int(obj, "leader_recovery_state", what)
        if "leader_recovery_state" in obj
        else LEADER_RECOVERY_RECOVERED,
        partition_epoch=zk_version,
    )


# -- /config/<type>/<name> -------------------------------------------------------------------


def encode_config(config: Mapping[str, str]) -> bytes:
    return _dumps({"version": 1, "config": {k: str(v) for k, v in config.items()}})


def decode_config(data: bytes | None) -> dict[str, str]:
    """``ConfigEntityZNode.decode``: empty/absent data or config is an empty config."""
    if not data:
        return {}
    obj = _loads(data, "config")
    config = obj.get("config")
    if not isinstance(config, dict):
        return {}
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}


def encode_config_change(entity_type: str, name: str) -> bytes:
    """A ``/config/changes/config_change_<seq>`` notification (version 2)."""
    return _dumps({"version": 2, "entity_path": f"{entity_type}/{name}"})


# -- /brokers/seqid and /latest_producer_id_block --------------------------------------------


def broker_id_from_sequence(
    seqid_zk_version: int, reserved_broker_max_id: int = RESERVED_BROKER_MAX_ID
) -> int:
    """A generated broker id: ``/brokers/seqid``'s version after a blind set, plus the reserved range."""
    return seqid_zk_version + reserved_broker_max_id


@dataclass(frozen=True, slots=True)
class ProducerIdBlock:
    """A block of producer ids ``[block_start, block_end]`` handed to one broker."""

    broker: int
    block_start: int
    block_end: int

    @property
    def size(self) -> int:
        return self.block_end - self.block_start + 1


def encode_producer_id_block(block: ProducerIdBlock) -> bytes:
    return _dumps(
        {
            "version": 1,
            "broker": block.broker,
            "block_start": str(block.block_start),
            "block_end": str(block.block_end),
        }
    )


def decode_producer_id_block(data: bytes | None) -> ProducerIdBlock:
    obj = _loads(data, PRODUCER_ID_BLOCK)
    return ProducerIdBlock(
        _int(obj, "broker", PRODUCER_ID_BLOCK),
        _int(obj, "block_start", PRODUCER_ID_BLOCK),
        _int(obj, "block_end", PRODUCER_ID_BLOCK),
    )


def sorted_broker_ids(children: Iterable[str]) -> list[int]:
    """``/brokers/ids`` children as sorted ids (ignoring anything that is not a number)."""
    return sorted(int(c) for c in children if c.lstrip("-").isdigit())
