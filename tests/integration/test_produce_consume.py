"""Stock clients produce to and consume from one real broker: every client, every codec, every pair.

The matrix ``test_roundtrip[producer-codec-consumer]`` produces a set of records once per
(producer client, compression codec) into a fresh topic, then reads it back with each of the four
clients, each a fresh consumer started after the producer has finished, positioned at the
beginning by manual assignment (the broker has no group coordinator yet). Every consumer must see
the same keys, values, headers and timestamps, offsets contiguous from 0 in order in every
partition, and the offsets the producer was acknowledged with.

Records are keyed, carry headers (none, one, a repeated key, an empty value, a non-ASCII key and
binary value) and explicit, deliberately non-monotonic CreateTime timestamps; values range from
empty and null (a tombstone) through binary to compressible and incompressible kilobytes. The
records are produced in three waves (a flush between) so that every partition holds several
batches. kcat cannot set per-record timestamps, headers per record, or null values: its records
are text lines, all carry the same ``-H`` headers, and their timestamps are checked against the
time window of the produce call.

Topics are created with an explicit partition count through the producer's admin client
(confluent-kafka ``AdminClient``, kafka-python ``KafkaAdminClient``, aiokafka
``AIOKafkaAdminClient``); kcat's topics are left to auto-creation by the first produce.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import subprocess
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin import NewTopic as AIONewTopic
from aiokafka.structs import TopicPartition as AIOTopicPartition
from confluent_kafka import (
    OFFSET_BEGINNING,
    TIMESTAMP_CREATE_TIME,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KPTopicPartition
from kafka.admin import KafkaAdminClient
from kafka.admin import NewTopic as KPNewTopic

from tests.support.broker import BrokerProcess, roundtrip

pytestmark = pytest.mark.timeout(120)

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
CODEC_IDS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
CLIENTS = ["confluent", "kafka-python", "aiokafka", "kcat"]
PARTITIONS = 2  # for topics made through an admin client; auto-created topics get num.partitions=1
RECORDS = 48
WAVES = 3
BASE_TS = 1_700_000_000_000
CREATE_TIME = 0  # timestamp type as kafka-python / aiokafka report it
CLIENT_TIMEOUT_S = 30.0

Headers = tuple[tuple[str, bytes], ...]


@dataclass(frozen=True)
class Rec:
    """A record as produced; ``timestamp`` None means the client stamped it (kcat)."""

    partition: int
    key: bytes | None
    value: bytes | None
    headers: Headers
    timestamp: int | None


@dataclass(frozen=True)
class Got:
    """A record as consumed; ``timestamp_type`` None where the client does not report it (kcat)."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers
    timestamp: int
    timestamp_type: int | None


@dataclass
class Produced:
    topic: str
    partitions: int
    records: list[Rec]
    acks: list[tuple[int, int]] | None  # (partition, offset) per record, as acknowledged
    window: tuple[int, int]  # wall clock (ms) around the produce calls


# -- record sets ---------------------------------------------------------------------------


def _noise(seed: int, size: int) -> bytes:
    out = bytearray()
    block = seed.to_bytes(8, "big")
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:size])


def make_records(n: int = RECORDS, partitions: int = PARTITIONS, tag: str = "r") -> list[Rec]:
    recs: list[Rec] = []
    for i in range(n):
        value: bytes | None
        match i % 6:
            case 0:
                value = b""
            case 1:
                value = bytes(range(256)) + i.to_bytes(4, "big")
            case 2:
                value = (f"compressible {tag} {i} " * 200).encode()
            case 3:
                value = None  # a tombstone
            case 4:
                value = _noise(i, 1500)
            case _:
                value = f"value-{tag}-{i}".encode()
        headers: Headers
        match i % 4:
            case 0:
                headers = ()
            case 1:
                headers = (("trace", f"t{i}".encode()),)
            case 2:
                headers = (("dup", b"1"), ("dup", b"2"), ("empty", b""))
            case _:
                # binary, but without NUL, "," or "=": kcat prints header values as C strings
                headers = (("trace-ид", b"\xff\x7f\x01"), ("n", str(i).encode()))
        timestamp = BASE_TS + (i * 7919) % 100_000  # not monotonic within a batch
        recs.append(Rec(i % partitions, f"{tag}/key/{i}".encode(), value, headers, timestamp))
    return recs


KCAT_HEADERS: Headers = (("src", b"kcat"), ("dup", b"1"), ("dup", b"2"))


def make_kcat_records(n: int = RECORDS, tag: str = "k") -> list[Rec]:
    """Text lines for ``kcat -P -K '\\t'``: one partition, the same headers on every record."""
    recs = []
    for i in range(n):
        if i % 3 == 0:
            value = f"compressible {tag} {i} " * 150
        else:
            value = f"value {tag} {i} " + "x" * (i % 50)
        recs.append(Rec(0, f"{tag}-key-{i}".encode(), value.encode(), KCAT_HEADERS, None))
    return recs


def waves(recs: Sequence[Rec], count: int = WAVES) -> Iterator[list[tuple[int, Rec]]]:
    size = -(-len(recs) // count)
    for start in range(0, len(recs), size):
        yield list(enumerate(recs))[start : start + size]


def new_topic(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def kcat_bin() -> str:
    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    assert kcat is not None, "kcat must be installed (apt-get install kcat)"
    return kcat


def now_ms() -> int:
    return time.time_ns() // 1_000_000


# -- topic creation ------------------------------------------------------------------------


def wait_for_partitions(bootstrap: str, topic: str, expected: int, timeout: float = 15.0) -> None:
    """Metadata (via confluent-kafka) shows ``topic`` with ``expected`` partitions, all led."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        md = admin.list_topics(topic, timeout=10)
        t = md.topics.get(topic)
        last = t and (t.error, {p: (pm.leader, pm.error) for p, pm in t.partitions.items()})
        if t is not None and t.error is None and len(t.partitions) == expected:
            [node] = md.brokers  # one broker leads every partition
            assert {p: pm.leader for p, pm in t.partitions.items()} == dict.fromkeys(range(expected), node)
            return
        time.sleep(0.1)
    raise AssertionError(f"topic {topic} never showed {expected} partitions: {last}")


def create_topic_confluent(bootstrap: str, topic: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics(
        [NewTopic(topic, num_partitions=partitions, replication_factor=1)],
        operation_timeout=10,
        request_timeout=CLIENT_TIMEOUT_S,
    )
    assert futures[topic].result(timeout=CLIENT_TIMEOUT_S) is None


def create_topic_kafka_python(bootstrap: str, topic: str, partitions: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(CLIENT_TIMEOUT_S * 1000))
    try:
        result = admin.create_topics(
            [KPNewTopic(name=topic, num_partitions=partitions, replication_factor=1)], timeout_ms=10000
        )
        assert [(t["name"], t["error_code"]) for t in result["topics"]] == [(topic, 0)], result
    finally:
        admin.close()


def create_topic_aiokafka(bootstrap: str, topic: str, partitions: int) -> None:
    async def create() -> None:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=bootstrap, request_timeout_ms=int(CLIENT_TIMEOUT_S * 1000)
        )
        await admin.start()
        try:
            resp = await admin.create_topics(
                [AIONewTopic(name=topic, num_partitions=partitions, replication_factor=1)], timeout_ms=10000
            )
            errors = [(t[0], t[1]) for t in resp.topic_errors]
            assert errors == [(topic, 0)], resp
        finally:
            await admin.close()

    asyncio.run(asyncio.wait_for(create(), 2 * CLIENT_TIMEOUT_S))


# -- producers: each returns the (partition, offset) acknowledged for every record -------------


def produce_confluent(
    bootstrap: str, topic: str, recs: Sequence[Rec], codec: str, **extra: Any
) -> list[tuple[int, int]]:
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "compression.type": codec,
            "acks": "all",
            "linger.ms": 5,
            "message.timeout.ms": int(CLIENT_TIMEOUT_S * 1000),
            **extra,
        }
    )
    acks: dict[int, tuple[int, int]] = {}
    errors: list[str] = []

    def on_delivery(i: int) -> Callable[[KafkaError | None, Any], None]:
        def report(err: KafkaError | None, msg: Any) -> None:
            if err is not None:
                errors.append(f"record {i}: {err}")
            else:
                acks[i] = (msg.partition(), msg.offset())

        return report

    for wave in waves(recs):
        for i, r in wave:
            producer.produce(
                topic,
                key=r.key,
                value=r.value,
                headers=list(r.headers) or None,
                timestamp=r.timestamp or 0,
                partition=r.partition,
                on_delivery=on_delivery(i),
            )
        assert producer.flush(CLIENT_TIMEOUT_S) == 0, "records left undelivered"
    assert errors == []
    return [acks[i] for i in range(len(recs))]


def produce_kafka_python(
    bootstrap: str, topic: str, recs: Sequence[Rec], codec: str
) -> list[tuple[int, int]]:
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        compression_type=None if codec == "none" else codec,
        acks="all",
        linger_ms=5,
        request_timeout_ms=int(CLIENT_TIMEOUT_S * 1000),
        max_block_ms=int(CLIENT_TIMEOUT_S * 1000),
    )
    acks: list[tuple[int, int]] = []
    try:
        for wave in waves(recs):
            futures = [
                producer.send(
                    topic,
                    key=r.key,
                    value=r.value,
                    headers=list(r.headers),
                    partition=r.partition,
                    timestamp_ms=r.timestamp,
                )
                for _, r in wave
            ]
            producer.flush(timeout=CLIENT_TIMEOUT_S)
            for f in futures:
                md = f.get(timeout=CLIENT_TIMEOUT_S)
                acks.append((md.partition, md.offset))
    finally:
        producer.close(timeout=10)
    return acks


def produce_aiokafka(bootstrap: str, topic: str, recs: Sequence[Rec], codec: str) -> list[tuple[int, int]]:
    async def produce() -> list[tuple[int, int]]:
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            compression_type=None if codec == "none" else codec,
            acks="all",
            linger_ms=5,
            request_timeout_ms=int(CLIENT_TIMEOUT_S * 1000),
        )
        await producer.start()
        acks: list[tuple[int, int]] = []
        try:
            for wave in waves(recs):
                futures = [
                    await producer.send(
                        topic,
                        key=r.key,
                        value=r.value,
                        headers=list(r.headers),
                        partition=r.partition,
                        timestamp_ms=r.timestamp,
                    )
                    for _, r in wave
                ]
                await producer.flush()
                for f in futures:
                    md = await f
                    acks.append((md.partition, md.offset))
        finally:
            await producer.stop()
        return acks

    return asyncio.run(asyncio.wait_for(produce(), 2 * CLIENT_TIMEOUT_S))


def produce_kcat(bootstrap: str, topic: str, recs: Sequence[Rec], codec: str) -> None:
    assert all(r.partition == 0 and r.headers == KCAT_HEADERS and r.key for r in recs)
    lines = b"".join(r.key + b"\t" + (r.value or b"") + b"\n" for r in recs)  # type: ignore[operator]
    args = [kcat_bin(), "-P", "-b", bootstrap, "-t", topic, "-p", "0", "-K", "\t", "-z", codec]
    for name, value in KCAT_HEADERS:
        args += ["-H", f"{name}={value.decode()}"]
    args += ["-m", "30", "-X", "linger.ms=5", "-X", "acks=all"]
    proc = subprocess.run(args, input=lines, capture_output=True, timeout=2 * CLIENT_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")


# -- consumers: read every partition from the beginning to its end -----------------------------


def consume_confluent(bootstrap: str, topic: str, partitions: int) -> list[Got]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"pytest-unjoined-{uuid.uuid4().hex[:8]}",  # required; never joined
            "enable.auto.commit": False,
            "auto.offset.reset": "error",
            "enable.partition.eof": True,
            "check.crcs": True,
            "fetch.wait.max.ms": 100,
        }
    )
    got: list[Got] = []
    try:
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        at_end: set[int] = set()
        deadline = time.monotonic() + CLIENT_TIMEOUT_S
        while len(at_end) < partitions:
            assert time.monotonic() < deadline, f"confluent consumer stalled; partitions at end: {at_end}"
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            err = msg.error()
            if err is not None:
                assert err.code() == KafkaError._PARTITION_EOF, f"consumer error: {err}"
                at_end.add(msg.partition())
                continue
            at_end.discard(msg.partition())
            ts_type, ts = msg.timestamp()
            got.append(
                Got(
                    msg.partition(),
                    msg.offset(),
                    msg.key(),
                    msg.value(),
                    tuple(msg.headers() or ()),
                    ts,
                    0 if ts_type == TIMESTAMP_CREATE_TIME else ts_type,
                )
            )
    finally:
        consumer.close()
    return got


def consume_kafka_python(bootstrap: str, topic: str, partitions: int, seek: bool = True) -> list[Got]:
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        check_crcs=True,
        fetch_max_wait_ms=100,
        request_timeout_ms=int(CLIENT_TIMEOUT_S * 1000),
    )
    got: list[Got] = []
    try:
        tps = [KPTopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        if seek:
            consumer.seek_to_beginning()
        end = consumer.end_offsets(tps)
        deadline = time.monotonic() + CLIENT_TIMEOUT_S
        while any(consumer.position(tp) < end[tp] for tp in tps):
            assert time.monotonic() < deadline, "kafka-python consumer stalled"
            for tp, batch in consumer.poll(timeout_ms=200).items():
                got += [
                    Got(
                        tp.partition,
                        r.offset,
                        r.key,
                        r.value,
                        tuple(r.headers),
                        r.timestamp,
                        r.timestamp_type,
                    )
                    for r in batch
                ]
    finally:
        consumer.close()
    return got


def consume_aiokafka(bootstrap: str, topic: str, partitions: int, seek: bool = True) -> list[Got]:
    async def consume() -> list[Got]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            check_crcs=True,
            fetch_max_wait_ms=100,
            request_timeout_ms=int(CLIENT_TIMEOUT_S * 1000),
        )
        await consumer.start()
        got: list[Got] = []
        try:
            tps = [AIOTopicPartition(topic, p) for p in range(partitions)]
            consumer.assign(tps)
            if seek:
                await consumer.seek_to_beginning(*tps)
            end = await consumer.end_offsets(tps)
            while True:
                positions = [await consumer.position(tp) for tp in tps]
                if all(pos >= end[tp] for pos, tp in zip(positions, tps, strict=True)):
                    break
                for tp, batch in (await consumer.getmany(*tps, timeout_ms=200)).items():
                    got.extend(
                        Got(
                            tp.partition,
                            r.offset,
                            r.key,
                            r.value,
                            tuple(r.headers),
                            r.timestamp,
                            r.timestamp_type,
                        )
                        for r in batch
                    )
        finally:
            await consumer.stop()
        return got

    return asyncio.run(asyncio.wait_for(consume(), CLIENT_TIMEOUT_S))


KCAT_FORMAT = r"%p\t%o\t%T\t%K\t%S\t%h\t%k%s\n"


def parse_kcat(out: bytes) -> list[Got]:
    """Parse ``KCAT_FORMAT`` output; key and value are cut by their printed lengths (-1: null)."""
    got: list[Got] = []
    pos = 0
    while pos < len(out):
        fields = []
        for _ in range(6):
            tab = out.index(b"\t", pos)
            fields.append(out[pos:tab])
            pos = tab + 1
        partition, offset, ts, klen, vlen = (int(f) for f in fields[:5])
        key = None if klen < 0 else out[pos : pos + klen]
        pos += max(klen, 0)
        value = None if vlen < 0 else out[pos : pos + vlen]
        pos += max(vlen, 0)
        assert out[pos : pos + 1] == b"\n", f"unparsable kcat output at {pos}: {out[pos : pos + 80]!r}"
        pos += 1
        headers: list[tuple[str, bytes]] = []
        if fields[5]:
            for item in fields[5].split(b","):
                name, _, hvalue = item.partition(b"=")
                headers.append((name.decode(), hvalue))
        got.append(Got(partition, offset, key, value, tuple(headers), ts, None))
    return got


def consume_kcat(bootstrap: str, topic: str, partitions: int) -> list[Got]:
    args = [kcat_bin(), "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-m", "30"]
    args += ["-X", "check.crcs=true", "-f", KCAT_FORMAT]
    proc = subprocess.run(args, capture_output=True, timeout=CLIENT_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    got = parse_kcat(proc.stdout)
    assert {g.partition for g in got} <= set(range(partitions))
    return got


CONSUMERS: dict[str, Callable[[str, str, int], list[Got]]] = {
    "confluent": consume_confluent,
    "kafka-python": consume_kafka_python,
    "aiokafka": consume_aiokafka,
    "kcat": consume_kcat,
}


# -- checks --------------------------------------------------------------------------------


def by_partition(got: Sequence[Got]) -> dict[int, list[Got]]:
    parts: dict[int, list[Got]] = defaultdict(list)
    for g in got:
        parts[g.partition].append(g)
    return parts


def assert_matches(produced: Produced, got: Sequence[Got]) -> None:
    """``got`` is exactly ``produced``: per partition in produce order at offsets 0, 1, 2, ..."""
    parts = by_partition(got)
    assert set(parts) <= set(range(produced.partitions)), sorted(parts)
    lo, hi = produced.window
    for p in range(produced.partitions):
        expected = [(i, r) for i, r in enumerate(produced.records) if r.partition == p]
        seen = parts.get(p, [])
        assert [g.offset for g in seen] == list(range(len(seen))), (
            f"partition {p}: offsets not 0..n-1 in order"
        )
        assert len(seen) == len(expected), (
            f"partition {p}: read {len(seen)} records, produced {len(expected)}"
        )
        for (i, r), g in zip(expected, seen, strict=True):
            where = f"record {i} (partition {p}, offset {g.offset})"
            assert (g.key, g.value) == (r.key, r.value), where
            assert g.headers == r.headers, where
            if r.timestamp is not None:
                assert g.timestamp == r.timestamp, where
            else:
                assert lo - 1000 <= g.timestamp <= hi + 1000, (
                    f"{where}: timestamp {g.timestamp} not in {lo}..{hi}"
                )
            assert g.timestamp_type in (None, CREATE_TIME), where
            if produced.acks is not None:
                assert produced.acks[i] == (p, g.offset), f"{where}: acknowledged at {produced.acks[i]}"


# -- the matrix ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def produced_cache() -> dict[tuple[str, str], Produced]:
    return {}


def produce_with(broker: BrokerProcess, client: str, codec: str) -> Produced:
    topic = new_topic(f"rt-{client}-{codec}")
    bs = broker.bootstrap
    if client == "kcat":
        recs = make_kcat_records(tag=f"{client}-{codec}")
        t0 = now_ms()
        produce_kcat(bs, topic, recs, codec)  # the topic is auto-created
        wait_for_partitions(bs, topic, 1)
        return Produced(topic, 1, recs, None, (t0, now_ms()))
    create = {
        "confluent": create_topic_confluent,
        "kafka-python": create_topic_kafka_python,
        "aiokafka": create_topic_aiokafka,
    }[client]
    create(bs, topic, PARTITIONS)
    wait_for_partitions(bs, topic, PARTITIONS)
    recs = make_records(tag=f"{client}-{codec}")
    produce = {
        "confluent": produce_confluent,
        "kafka-python": produce_kafka_python,
        "aiokafka": produce_aiokafka,
    }[client]
    t0 = now_ms()
    acks = produce(bs, topic, recs, codec)
    return Produced(topic, PARTITIONS, recs, acks, (t0, now_ms()))


@pytest.mark.parametrize("consumer", CLIENTS)
@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("producer", CLIENTS)
def test_roundtrip(
    shared_broker: BrokerProcess,
    produced_cache: dict[tuple[str, str], Produced],
    producer: str,
    codec: str,
    consumer: str,
) -> None:
    if (producer, codec) not in produced_cache:
        produced_cache[producer, codec] = produce_with(shared_broker, producer, codec)
    produced = produced_cache[producer, codec]
    got = CONSUMERS[consumer](shared_broker.bootstrap, produced.topic, produced.partitions)
    assert_matches(produced, got)


# -- topics ----------------------------------------------------------------------------------


@pytest.mark.parametrize("client", ["confluent", "kafka-python", "aiokafka"])
def test_admin_creates_topic_with_explicit_partition_count(shared_broker: BrokerProcess, client: str) -> None:
    bs = shared_broker.bootstrap
    topic = new_topic(f"admin-{client}")
    {
        "confluent": create_topic_confluent,
        "kafka-python": create_topic_kafka_python,
        "aiokafka": create_topic_aiokafka,
    }[client](bs, topic, 5)
    wait_for_partitions(bs, topic, 5)
    consumer = KafkaConsumer(bootstrap_servers=bs, request_timeout_ms=int(CLIENT_TIMEOUT_S * 1000))
    try:
        assert consumer.partitions_for_topic(topic) == {0, 1, 2, 3, 4}
    finally:
        consumer.close()
    # every partition takes records and hands them back
    recs = [Rec(i % 5, f"k{i}".encode(), f"v{i}".encode(), (), BASE_TS + i) for i in range(20)]
    acks = produce_confluent(bs, topic, recs, "none")
    assert_matches(Produced(topic, 5, recs, acks, (0, 0)), consume_confluent(bs, topic, 5))


def test_creating_an_existing_topic_fails(shared_broker: BrokerProcess) -> None:
    bs = shared_broker.bootstrap
    topic = new_topic("exists")
    create_topic_confluent(bs, topic, 3)
    admin = AdminClient({"bootstrap.servers": bs})
    futures = admin.create_topics(
        [NewTopic(topic, num_partitions=1, replication_factor=1)], request_timeout=30
    )
    with pytest.raises(KafkaException) as info:
        futures[topic].result(timeout=CLIENT_TIMEOUT_S)
    assert info.value.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS
    wait_for_partitions(bs, topic, 3)  # unchanged


def test_produce_auto_creates_topic_with_default_partitions(shared_broker: BrokerProcess) -> None:
    bs = shared_broker.bootstrap
    topic = new_topic("auto")
    recs = [Rec(0, f"k{i}".encode(), f"v{i}".encode(), (("h", b"x"),), BASE_TS + i) for i in range(10)]
    acks = produce_confluent(bs, topic, recs, "lz4")
    wait_for_partitions(bs, topic, 1)  # num.partitions=1 in config/server.properties
    assert_matches(Produced(topic, 1, recs, acks, (0, 0)), consume_kafka_python(bs, topic, 1))


# -- positions -------------------------------------------------------------------------------


def test_consumer_started_later_reads_everything_from_earliest(shared_broker: BrokerProcess) -> None:
    """Fresh consumers with auto.offset.reset=earliest and no explicit seek start at offset 0."""
    bs = shared_broker.bootstrap
    topic = new_topic("later")
    create_topic_confluent(bs, topic, PARTITIONS)
    wait_for_partitions(bs, topic, PARTITIONS)
    first = make_records(24, tag="first")
    acks = produce_confluent(bs, topic, first, "gzip")
    produced = Produced(topic, PARTITIONS, first, acks, (0, 0))
    assert_matches(produced, consume_kafka_python(bs, topic, PARTITIONS, seek=False))
    second = make_records(24, tag="second")
    acks += produce_kafka_python(bs, topic, second, "zstd")
    produced = Produced(topic, PARTITIONS, first + second, acks, (0, 0))
    assert_matches(produced, consume_aiokafka(bs, topic, PARTITIONS, seek=False))
    assert_matches(produced, consume_kafka_python(bs, topic, PARTITIONS, seek=False))
    assert_matches(produced, consume_confluent(bs, topic, PARTITIONS))


def test_offsets_watermarks_seek_and_timestamps(shared_broker: BrokerProcess) -> None:
    """ListOffsets (earliest, latest, by timestamp) and a fetch starting inside a compressed batch."""
    bs = shared_broker.bootstrap
    topic = new_topic("offsets")
    create_topic_kafka_python(bs, topic, 1)
    wait_for_partitions(bs, topic, 1)
    recs = [Rec(0, f"k{i}".encode(), f"v{i}".encode(), (), BASE_TS + 10 * i) for i in range(30)]
    acks = produce_kafka_python(bs, topic, recs, "gzip")  # three waves: batches of 10
    assert acks == [(0, i) for i in range(30)]

    consumer = Consumer({"bootstrap.servers": bs, "group.id": "pytest-unjoined"})
    try:
        assert consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10) == (0, 30)
        found = consumer.offsets_for_times([TopicPartition(topic, 0, BASE_TS + 125)], timeout=10)
        assert [(tp.partition, tp.offset) for tp in found] == [(0, 13)]
    finally:
        consumer.close()

    kp = KafkaConsumer(
        bootstrap_servers=bs, group_id=None, enable_auto_commit=False, check_crcs=True, fetch_max_wait_ms=100
    )
    try:
        tp = KPTopicPartition(topic, 0)
        assert kp.beginning_offsets([tp]) == {tp: 0}
        assert kp.end_offsets([tp]) == {tp: 30}
        by_ts = kp.offsets_for_times({tp: BASE_TS + 50})
        assert by_ts[tp] is not None and (by_ts[tp].offset, by_ts[tp].timestamp) == (5, BASE_TS + 50)
        assert kp.offsets_for_times({tp: BASE_TS + 10_000}) == {tp: None}  # after the last record
        kp.assign([tp])
        kp.seek(tp, 15)  # the middle of the second batch
        seen: list[int] = []
        deadline = time.monotonic() + CLIENT_TIMEOUT_S
        while len(seen) < 15:
            assert time.monotonic() < deadline
            for batch in kp.poll(timeout_ms=200).values():
                seen += [r.offset for r in batch]
                assert all(r.value == f"v{r.offset}".encode() for r in batch)
        assert seen == list(range(15, 30))
    finally:
        kp.close()


# -- what the broker stores ------------------------------------------------------------------


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("client", ["confluent", "kafka-python", "aiokafka"])
def test_fetched_batches_keep_the_producers_codec(
    shared_broker: BrokerProcess, client: str, codec: str
) -> None:
    """With compression.type=producer (Kafka's default) batches are served as the producer sent them.

    This also catches a client silently not compressing: librdkafka, for one, only uses lz4 with a
    broker that advertises FindCoordinator (its "LZ4" feature test), and sends the batch
    uncompressed otherwise.
    """
    from protocol.messages import FetchRequest
    from protocol.messages.fetch_request import FetchPartition, FetchTopic
    from protocol.records import iter_batch_headers

    bs = shared_broker.bootstrap
    topic = new_topic(f"codec-{client}-{codec}")
    create_topic_confluent(bs, topic, 1)
    wait_for_partitions(bs, topic, 1)
    recs = [Rec(0, f"k{i}".encode(), (f"value {i} " * 50).encode(), (), BASE_TS + i) for i in range(30)]
    produce = {
        "confluent": produce_confluent,
        "kafka-python": produce_kafka_python,
        "aiokafka": produce_aiokafka,
    }[client]
    produce(bs, topic, recs, codec)
    request = FetchRequest(
        max_wait_ms=0,
        min_bytes=1,
        max_bytes=10_000_000,
        topics=[
            FetchTopic(
                topic=topic,
                partitions=[FetchPartition(partition=0, fetch_offset=0, partition_max_bytes=10_000_000)],
            )
        ],
    )
    with shared_broker.connect() as sock:
        resp: Any = roundtrip(sock, 1, 11, request)
    assert resp.error_code == 0
    [t] = resp.responses
    [p] = t.partitions
    assert (p.error_code, p.high_watermark) == (0, 30)
    headers = list(iter_batch_headers(bytes(p.records), verify=True))
    assert len(headers) == WAVES
    assert [h.base_offset for h in headers] == [0, 10, 20]
    assert {h.compression for h in headers} == {CODEC_IDS[codec]}
