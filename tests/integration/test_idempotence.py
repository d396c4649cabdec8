"""The idempotent producer's retries never duplicate or reorder records.

All client traffic flows through ``FaultProxy``: the broker is started with
``advertised.listeners=PLAINTEXT://127.0.0.1:<proxy port>``, so after bootstrapping (through the
proxy) the client is told to connect to the proxy too. The proxy then swallows the responses to
some Produce requests and cuts the connection: the broker has appended those batches, but
librdkafka never hears so and retries them (and every other batch in flight on that connection,
up to ``max.in.flight.requests.per.connection=5``) with the same producer id, epoch and
sequence numbers. The broker must recognise the duplicates, and every record must end up in the
log exactly once, in the order produced, per partition.

The restart variants drop a response, hold the client off (the proxy refuses connections), stop
or kill the broker and start it again before letting the client retry: the broker must remember
each producer's last sequence numbers across a clean restart (its producer-state snapshot) and
across a crash (rebuilt from the log).
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from tests.support.broker import BrokerProcess
from tests.support.proxy import PRODUCE, FaultMode, FaultProxy

pytestmark = pytest.mark.timeout(180)

TIMEOUT_S = 30.0
PARTITIONS = 3

PRODUCER_CONFIG: dict[str, Any] = {
    "enable.idempotence": True,
    "acks": "all",
    "max.in.flight.requests.per.connection": 5,
    "linger.ms": 1,
    "batch.num.messages": 20,  # many small batches, so that several are in flight at once
    "message.timeout.ms": 120_000,
    "request.timeout.ms": 30_000,
    "retry.backoff.ms": 20,
    "reconnect.backoff.ms": 20,
    "reconnect.backoff.max.ms": 200,
}


@dataclass
class Proxied:
    broker: BrokerProcess
    proxy: FaultProxy

    @property
    def bootstrap(self) -> str:
        return self.proxy.bootstrap

    def restart(self, how: str) -> None:
        if how == "stop":
            assert self.broker.stop() == 0, f"unclean exit on SIGTERM:\n{self.broker.log()[-3000:]}"
        else:
            self.broker.kill()
        self.broker.start()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[Proxied]:
    proxy = FaultProxy().start()
    # The ready file (hence BrokerProcess.host/port) reports the *advertised* address, which here
    # is the proxy's; so the broker's own listener is pinned with an explicit, free port.
    listen_port = free_port()
    broker = BrokerProcess(
        tmp_path / "broker",
        overrides={
            "listeners": f"PLAINTEXT://127.0.0.1:{listen_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{proxy.port}",
        },
    )
    proxy.upstream = ("127.0.0.1", listen_port)
    try:
        broker.start()
        assert broker.bootstrap == proxy.bootstrap
        yield Proxied(broker, proxy)
    finally:
        broker.stop()
        proxy.close()


def value_of(i: int) -> bytes:
    return f"seq-{i:07d}|".encode() + b"y" * (i % 61)


def number_of(value: bytes | None) -> int:
    assert value is not None and value.startswith(b"seq-"), value
    return int(value[4:11])


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


@dataclass
class Stream:
    """A producer thread sending records 0, 1, 2, ... (record i to partition i % PARTITIONS).

    It sends at least ``count`` records and keeps going until :meth:`finish` is called, so the
    faults a test injects always land while records are in flight however slow the machine is;
    ``count`` then becomes the number actually sent.
    """

    bootstrap: str
    topic: str
    count: int
    pace_every: int = 50
    pace_s: float = 0.01
    acked: dict[int, tuple[int, int]] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)
    produced: int = 0
    remaining: int = -1
    error: BaseException | None = None
    thread: threading.Thread | None = None
    stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> Stream:
        self.thread = threading.Thread(target=self._run, name="idempotent-stream", daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        try:
            producer = Producer({"bootstrap.servers": self.bootstrap, **PRODUCER_CONFIG})

            def report(err: KafkaError | None, msg: Any) -> None:
                i = number_of(msg.value())
                if err is None:
                    self.acked[i] = (msg.partition(), msg.offset())
                else:
                    self.failed[i] = str(err)

            i = 0
            while i < self.count or not self.stop.is_set():
                while True:
                    try:
                        producer.produce(
                            self.topic,
                            key=f"k{i}".encode(),
                            value=value_of(i),
                            partition=i % PARTITIONS,
                            on_delivery=report,
                        )
                        break
                    except BufferError:
                        producer.poll(0.05)
                self.produced = i + 1
                producer.poll(0)
                if i % self.pace_every == self.pace_every - 1:
                    time.sleep(self.pace_s)  # spread the stream over the faults
                i += 1
            self.count = self.produced
            self.remaining = producer.flush(150)
        except BaseException as exc:
            self.error = exc

    def finish(self, timeout: float) -> None:
        """Stop sending new records (after at least ``count``), flush, and wait."""
        self.stop.set()
        self.join(timeout)

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
        time.sleep(0.002)


def consume_all(bootstrap: str, topic: str, partitions: int) -> dict[int, list[tuple[int, int]]]:
    """Per partition, (offset, record number) from offset 0 to the end, in order."""
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
    got: dict[int, list[tuple[int, int]]] = defaultdict(list)
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
            got[msg.partition()].append((msg.offset(), number_of(msg.value())))
    finally:
        consumer.close()
    return dict(got)


def check_exactly_once_in_order(stream: Stream, got: dict[int, list[tuple[int, int]]]) -> None:
    assert stream.remaining == 0, f"{stream.remaining} records still queued"
    assert stream.failed == {}, f"delivery failures: {list(stream.failed.items())[:10]}"
    assert len(stream.acked) == stream.count
    numbers = [n for rs in got.values() for _, n in rs]
    duplicates = sorted(n for n, c in Counter(numbers).items() if c > 1)
    assert duplicates == [], f"{len(duplicates)} records stored more than once, e.g. {duplicates[:20]}"
    for p in range(PARTITIONS):
        rs = got.get(p, [])
        assert [o for o, _ in rs] == list(range(len(rs))), f"partition {p}: offsets not contiguous from 0"
        assert [n for _, n in rs] == list(range(p, stream.count, PARTITIONS)), (
            f"partition {p}: records missing, duplicated or out of order"
        )
        for offset, n in rs:
            # Kafka answers a retried duplicate (one of the producer's last 5 batches) with the
            # original batch's offset, so librdkafka reports a real offset even for retried records
            assert stream.acked[n] != (p, None), f"record {n} acknowledged without an offset"
            assert stream.acked[n] == (p, offset), (
                f"record {n} acked at {stream.acked[n]}, stored at {offset}"
            )


@pytest.mark.parametrize("mode", ["drop_response", "close_after_request"])
def test_retries_after_lost_responses_store_each_record_once(proxied: Proxied, mode: str) -> None:
    topic = f"idem-{uuid.uuid4().hex[:8]}"
    create_topic(proxied.bootstrap, topic, PARTITIONS)
    faults = 8
    stream = Stream(proxied.bootstrap, topic, count=12_000).start()
    wait_until(lambda: len(stream.acked) > 500, 60, "the stream to get going")
    for _ in range(faults):
        before = proxied.proxy.stats["dropped_responses"] + proxied.proxy.stats["closed_after_request"]
        proxied.proxy.fail_next(1, PRODUCE, cast(FaultMode, mode))
        wait_until(
            lambda before=before: (
                proxied.proxy.stats["dropped_responses"] + proxied.proxy.stats["closed_after_request"]
                > before
            ),
            30,
            "the fault to fire",
        )
        time.sleep(0.05)
    fired = dict(proxied.proxy.stats)
    stream.finish(180)
    got = consume_all(proxied.bootstrap, topic, PARTITIONS)
    print(
        f"{mode}: {faults} faults, proxy {fired}, acked {len(stream.acked)}, "
        f"read {sum(len(rs) for rs in got.values())}"
    )
    assert proxied.proxy.stats["connections"] > faults  # the client reconnected after every fault
    check_exactly_once_in_order(stream, got)


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_retries_across_a_broker_restart_store_each_record_once(proxied: Proxied, how: str) -> None:
    """A batch's response is lost, the broker restarts, then the producer retries the batch."""
    topic = f"idem-restart-{uuid.uuid4().hex[:8]}"
    create_topic(proxied.bootstrap, topic, PARTITIONS)
    stream = Stream(proxied.bootstrap, topic, count=9_000, pace_every=50, pace_s=0.02).start()
    restarts = 2
    for n in range(restarts):
        wait_until(lambda n=n: len(stream.acked) > 1000 * (n + 1), 90, "the stream to make progress")
        proxied.proxy.fail_next(1, PRODUCE, "drop_response", then_block=True)
        wait_until(lambda: proxied.proxy.blocked, 30, "a Produce response to be dropped")
        proxied.restart(how)
        time.sleep(0.2)  # let the client retry into the refusing proxy a little
        proxied.proxy.unblock()
    stream.finish(180)
    got = consume_all(proxied.bootstrap, topic, PARTITIONS)
    print(
        f"{how}: {restarts} restarts, proxy {dict(proxied.proxy.stats)}, acked {len(stream.acked)}, "
        f"read {sum(len(rs) for rs in got.values())}"
    )
    assert proxied.proxy.stats["dropped_responses"] == restarts
    check_exactly_once_in_order(stream, got)
