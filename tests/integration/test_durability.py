"""Records survive broker restarts: a clean stop (SIGTERM) and a crash (kill -9) mid-stream.

Each test runs its own broker (private data dir, ephemeral port); a restart is ``start()`` on
the same ``BrokerProcess``, which reuses the port and the data dir.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaConsumer
from kafka import TopicPartition as KPTopicPartition

from tests.support.broker import BrokerProcess

pytestmark = pytest.mark.timeout(180)

TIMEOUT_S = 30.0
BASE_TS = 1_700_000_000_000


@dataclass(frozen=True)
class Read:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp: int


def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics(
        [NewTopic(topic, num_partitions=partitions, replication_factor=1)], request_timeout=TIMEOUT_S
    )
    futures[topic].result(timeout=TIMEOUT_S)
    deadline = time.monotonic() + 15
    while True:
        t = admin.list_topics(topic, timeout=10).topics.get(topic)
        if t is not None and t.error is None and len(t.partitions) == partitions:
            return
        assert time.monotonic() < deadline, f"topic {topic} not in metadata: {t}"
        time.sleep(0.1)


def partition_count(bootstrap: str, topic: str) -> int:
    t = AdminClient({"bootstrap.servers": bootstrap}).list_topics(topic, timeout=10).topics[topic]
    assert t.error is None, t.error
    return len(t.partitions)


def value_of(i: int) -> bytes:
    return f"record-{i:07d}|".encode() + b"x" * (i % 97)


def number_of(value: bytes | None) -> int:
    assert value is not None and value.startswith(b"record-"), value
    return int(value[7:14])


def produce(
    bootstrap: str, topic: str, numbers: range, partitions: int, codec: str = "none"
) -> dict[int, tuple[int, int]]:
    """Produce record ``i`` (value ``value_of(i)``) to partition ``i % partitions``; return the acks."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "linger.ms": 5,
            "batch.num.messages": 100,
            "compression.type": codec,
            "message.timeout.ms": int(TIMEOUT_S * 1000),
        }
    )
    acks: dict[int, tuple[int, int]] = {}
    errors: list[str] = []

    def report(err: KafkaError | None, msg: Any) -> None:
        i = number_of(msg.value())
        if err is not None:
            errors.append(f"{i}: {err}")
        else:
            acks[i] = (msg.partition(), msg.offset())

    for i in numbers:
        producer.produce(
            topic,
            key=f"k{i}".encode(),
            value=value_of(i),
            headers=[("i", str(i).encode())],
            timestamp=BASE_TS + i,
            partition=i % partitions,
            on_delivery=report,
        )
        producer.poll(0)
    assert producer.flush(TIMEOUT_S) == 0, "records left undelivered"
    assert errors == []
    return acks


def consume_all(bootstrap: str, topic: str, partitions: int) -> list[Read]:
    """Every record of every partition, from offset 0 to the end (confluent-kafka, CRCs checked)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"pytest-unjoined-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "auto.offset.reset": "error",
            "enable.partition.eof": True,
            "check.crcs": True,
            "fetch.wait.max.ms": 100,
        }
    )
    got: list[Read] = []
    try:
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        at_end: set[int] = set()
        deadline = time.monotonic() + 2 * TIMEOUT_S
        while len(at_end) < partitions:
            assert time.monotonic() < deadline, f"consumer stalled; partitions at end: {at_end}"
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            err = msg.error()
            if err is not None:
                assert err.code() == KafkaError._PARTITION_EOF, f"consumer error: {err}"
                at_end.add(msg.partition())
                continue
            at_end.discard(msg.partition())
            got.append(
                Read(
                    msg.partition(),
                    msg.offset(),
                    msg.key(),
                    msg.value(),
                    tuple(msg.headers() or ()),
                    msg.timestamp()[1],
                )
            )
    finally:
        consumer.close()
    return got


def scan_log(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    """Read every partition from 0 to its end with kafka-python (CRCs checked); return the counts.

    Any fetch error, CRC failure or corrupt batch raises out of ``poll``.
    """
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        check_crcs=True,
        fetch_max_wait_ms=100,
        request_timeout_ms=int(TIMEOUT_S * 1000),
    )
    counts: Counter[int] = Counter()
    try:
        tps = [KPTopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning()
        assert consumer.beginning_offsets(tps) == dict.fromkeys(tps, 0)
        end = consumer.end_offsets(tps)
        expected_next = dict.fromkeys(range(partitions), 0)
        deadline = time.monotonic() + 2 * TIMEOUT_S
        while any(consumer.position(tp) < end[tp] for tp in tps):
            assert time.monotonic() < deadline, "log scan stalled"
            for tp, batch in consumer.poll(timeout_ms=200).items():
                for r in batch:
                    assert r.offset == expected_next[tp.partition], (tp, r.offset, expected_next)
                    expected_next[tp.partition] += 1
                    number_of(r.value)
                counts[tp.partition] += len(batch)
        assert {tp.partition: end[tp] for tp in tps} == dict(expected_next)
    finally:
        consumer.close()
    return dict(counts)


def check_contiguous(reads: list[Read]) -> dict[int, list[Read]]:
    parts: dict[int, list[Read]] = defaultdict(list)
    for r in reads:
        parts[r.partition].append(r)
    for p, rs in parts.items():
        assert [r.offset for r in rs] == list(range(len(rs))), f"partition {p}: offsets not contiguous from 0"
    return parts


def check_records(reads: list[Read], acks: dict[int, tuple[int, int]], partitions: int) -> None:
    """``reads`` are exactly the acknowledged records, at their acknowledged offsets."""
    check_contiguous(reads)
    assert len(reads) == len(acks)
    for r in reads:
        i = number_of(r.value)
        assert acks[i] == (r.partition, r.offset), f"record {i} read at {(r.partition, r.offset)}"
        assert r.partition == i % partitions
        assert (r.key, r.value, r.headers, r.timestamp) == (
            f"k{i}".encode(),
            value_of(i),
            (("i", str(i).encode()),),
            BASE_TS + i,
        )


def test_clean_restart_keeps_records_and_offsets(broker: BrokerProcess) -> None:
    topic = f"restart-{uuid.uuid4().hex[:8]}"
    partitions = 3
    create_topic(broker.bootstrap, topic, partitions)
    acks = produce(broker.bootstrap, topic, range(0, 600), partitions, codec="gzip")
    acks |= produce(broker.bootstrap, topic, range(600, 900), partitions, codec="zstd")
    check_records(consume_all(broker.bootstrap, topic, partitions), acks, partitions)

    assert broker.stop() == 0, f"unclean exit on SIGTERM:\n{broker.log()[-3000:]}"
    broker.start()
    assert partition_count(broker.bootstrap, topic) == partitions
    check_records(consume_all(broker.bootstrap, topic, partitions), acks, partitions)

    # producing continues at the next offset of every partition
    more = produce(broker.bootstrap, topic, range(900, 1200), partitions, codec="lz4")
    for i, (p, offset) in more.items():
        assert offset == 300 + (i - 900) // partitions, f"record {i} acked at {(p, offset)}"
    acks |= more

    # and a second restart keeps both generations
    assert broker.stop() == 0
    broker.start()
    check_records(consume_all(broker.bootstrap, topic, partitions), acks, partitions)
    assert scan_log(broker.bootstrap, topic, partitions) == dict.fromkeys(range(partitions), 400)


def test_restart_with_no_new_data_and_an_empty_partition(broker: BrokerProcess) -> None:
    topic = f"sparse-{uuid.uuid4().hex[:8]}"
    create_topic(broker.bootstrap, topic, 2)
    acks = produce(broker.bootstrap, topic, range(0, 50, 2), 2)  # partition 1 stays empty
    for _ in range(2):
        assert broker.stop() == 0
        broker.start()
    reads = consume_all(broker.bootstrap, topic, 2)
    assert {r.partition for r in reads} == {0}
    check_records(reads, acks, 2)
    later = produce(broker.bootstrap, topic, range(50, 54), 2)
    assert sorted(later.values()) == [(0, 25), (0, 26), (1, 0), (1, 1)]


@dataclass
class Stream:
    """A producer thread sending ``count`` uniquely numbered records as fast as it is allowed."""

    bootstrap: str
    topic: str
    count: int
    partitions: int
    config: dict[str, Any]
    acked: dict[int, tuple[int, int]] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)
    remaining: int = -1
    error: BaseException | None = None
    thread: threading.Thread | None = None

    def start(self) -> Stream:
        self.thread = threading.Thread(target=self._run, name="producer-stream", daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        try:
            producer = Producer({"bootstrap.servers": self.bootstrap, **self.config})

            def report(err: KafkaError | None, msg: Any) -> None:
                i = number_of(msg.value())
                if err is None:
                    self.acked[i] = (msg.partition(), msg.offset())
                else:
                    self.failed[i] = str(err)

            for i in range(self.count):
                while True:
                    try:
                        producer.produce(
                            self.topic,
                            key=f"k{i}".encode(),
                            value=value_of(i),
                            headers=[("i", str(i).encode())],
                            timestamp=BASE_TS + i,
                            partition=i % self.partitions,
                            on_delivery=report,
                        )
                        break
                    except BufferError:
                        producer.poll(0.05)
                producer.poll(0)
                if i % 100 == 99:
                    time.sleep(0.005)  # pace the stream so that it spans the crash
            self.remaining = producer.flush(120)
        except BaseException as exc:
            self.error = exc

    def join(self, timeout: float) -> None:
        assert self.thread is not None
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "producer thread did not finish"
        if self.error is not None:
            raise self.error


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


@pytest.mark.parametrize("idempotence", [False, True], ids=["plain", "idempotent"])
def test_kill_9_mid_stream_keeps_every_acknowledged_record(broker: BrokerProcess, idempotence: bool) -> None:
    """kill -9 while a producer streams with acks=all; after a restart every ack is honoured.

    Without idempotence the producer does not retry (``retries=0``), so a batch in flight at the
    crash fails rather than being written twice: every record read must then be unique, every
    acknowledged one present at its acknowledged offset. With idempotence the producer retries
    through the outage and every record must be acknowledged and stored exactly once, in order.
    """
    topic = f"crash-{uuid.uuid4().hex[:8]}"
    partitions = 3
    count = 30_000
    create_topic(broker.bootstrap, topic, partitions)
    config: dict[str, Any] = {
        "acks": "all",
        "enable.idempotence": idempotence,
        "linger.ms": 2,
        "batch.num.messages": 200,
        "message.timeout.ms": 120_000,
        "reconnect.backoff.ms": 50,
        "reconnect.backoff.max.ms": 500,
        "retry.backoff.ms": 50,
    }
    if not idempotence:
        config["retries"] = 0
    stream = Stream(broker.bootstrap, topic, count, partitions, config).start()
    wait_until(lambda: len(stream.acked) >= count // 4, 60, "a quarter of the records to be acknowledged")
    broker.kill()
    acked_at_crash = len(stream.acked)
    time.sleep(0.5)  # the producer keeps queueing and retrying against a dead broker
    broker.start()
    stream.join(180)
    assert stream.remaining == 0, f"{stream.remaining} records still queued"

    reads = consume_all(broker.bootstrap, topic, partitions)
    parts = check_contiguous(reads)
    numbers = [number_of(r.value) for r in reads]
    duplicates = [n for n, c in Counter(numbers).items() if c > 1]
    print(
        f"idempotence={idempotence}: acked at crash {acked_at_crash}, acked {len(stream.acked)}, "
        f"failed {len(stream.failed)}, read {len(reads)}, duplicates {len(duplicates)}"
    )
    assert duplicates == [], f"records stored twice: {duplicates[:20]}"
    assert acked_at_crash < count, "the crash came after the whole stream was acknowledged"
    read_at = {number_of(r.value): (r.partition, r.offset) for r in reads}
    missing = sorted(set(stream.acked) - set(read_at))
    assert missing == [], f"{len(missing)} acknowledged records lost, e.g. {missing[:20]}"
    moved = {i: (stream.acked[i], read_at[i]) for i in stream.acked if stream.acked[i] != read_at[i]}
    assert moved == {}, f"acknowledged offsets differ from stored ones, e.g. {list(moved.items())[:10]}"
    for r in reads:
        i = number_of(r.value)
        assert (r.partition, r.key, r.timestamp) == (i % partitions, f"k{i}".encode(), BASE_TS + i)
    if idempotence:
        assert stream.failed == {}, f"delivery failures: {list(stream.failed.items())[:10]}"
        assert len(stream.acked) == count
        for p, rs in parts.items():
            assert [number_of(r.value) for r in rs] == list(range(p, count, partitions)), (
                f"partition {p}: records out of order or missing"
            )
    else:
        assert set(stream.failed) | set(stream.acked) == set(range(count))

    # the log scan: offset 0 to the end of every partition, no errors, nothing else in between
    assert scan_log(broker.bootstrap, topic, partitions) == {p: len(rs) for p, rs in parts.items()}

    # and the partitions keep taking records at their next offsets
    ends = {p: len(rs) for p, rs in parts.items()}
    more = produce(broker.bootstrap, topic, range(count, count + partitions), partitions)
    assert dict(more.values()) == ends


def test_recovery_after_a_crash_truncates_a_torn_tail(broker: BrokerProcess) -> None:
    """After kill -9 the broker recovers each log and cuts an incomplete or corrupt last batch.

    The segment files follow Kafka's layout (``<log.dirs>/<topic>-<partition>/<base offset>.log``).
    Partition 0 gets half a batch appended (a torn write), partition 1 a whole batch with the next
    offset but a bad CRC, partition 2 is left alone. After the restart the log scan must read
    exactly the acknowledged records and the next produce must land at the old end offsets.
    """
    from protocol.records import set_base_offset, split_batches

    topic = f"torn-{uuid.uuid4().hex[:8]}"
    partitions = 3
    create_topic(broker.bootstrap, topic, partitions)
    acks = produce(broker.bootstrap, topic, range(0, 300), partitions, codec="snappy")
    broker.kill()

    segments = {}
    for p in range(partitions):
        logs = sorted((broker.data_dir / "logs" / f"{topic}-{p}").glob("*.log"))
        assert logs, f"no segment files for partition {p} in Kafka's layout"
        segments[p] = logs[-1]
    data = segments[0].read_bytes()
    pos, header = split_batches(data)[-1]
    last = data[pos : pos + header.size]
    with segments[0].open("ab") as f:
        f.write(last[: len(last) // 2])
    data = segments[1].read_bytes()
    pos, header = split_batches(data)[-1]
    bad = bytearray(data[pos : pos + header.size])
    set_base_offset(bad, 0, header.next_offset)
    bad[-1] ^= 0xFF  # the CRC no longer matches
    with segments[1].open("ab") as f:
        f.write(bad)

    broker.start()
    check_records(consume_all(broker.bootstrap, topic, partitions), acks, partitions)
    assert scan_log(broker.bootstrap, topic, partitions) == dict.fromkeys(range(partitions), 100)
    more = produce(broker.bootstrap, topic, range(300, 303), partitions)
    assert sorted(more.values()) == [(p, 100) for p in range(partitions)]
