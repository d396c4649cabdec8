"""A durability checker for replicated topics: numbered records in, every acknowledged one out.

:class:`SequenceProducer` is a confluent-kafka producer in a thread writing records whose value is
a sequence number (ASCII decimal), record ``n`` to partition ``n % partitions``, and keeping which
numbers were acknowledged (delivery report without error) and at which offset.
:class:`LiveConsumer` reads the same partitions while that goes on (a consumer that must carry on
through leader changes). :func:`read_all` reads every partition from the beginning up to its high
watermark once the faults are over, and :func:`check` compares:

* ``lost``: acknowledged numbers that are not in the log (must be 0 for acks=all);
* ``duplicated``: extra copies of a number (with an idempotent producer none may appear at all;
  without idempotence a retried batch may be written twice);
* ``out_of_order``: per partition, acknowledged numbers that do not appear in increasing order
  (one producer, so the log must keep its order);
* ``unacked_read``: numbers in the log whose delivery failed or was never reported (allowed: a
  write can succeed after its producer gave up on it).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


class SequenceProducer(threading.Thread):
    """Produces 0, 1, 2, ... at about ``rate`` records/s until :meth:`finish`."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        partitions: int,
        *,
        rate: float = 500.0,
        idempotent: bool = True,
        config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(name=f"producer:{topic}", daemon=True)
        self.topic = topic
        self.partitions = partitions
        self.rate = rate
        self.config: dict[str, Any] = {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "enable.idempotence": idempotent,
            "retries": 1_000_000,
            "retry.backoff.ms": 100,
            "message.timeout.ms": 180_000,
            "request.timeout.ms": 10_000,
            "linger.ms": 5,
            "max.in.flight.requests.per.connection": 5,
            "topic.metadata.refresh.interval.ms": 1000,
            **(config or {}),
        }
        self.acked: dict[int, tuple[int, int]] = {}  # seq -> (partition, offset)
        self.failed: dict[int, str] = {}  # seq -> error
        self.sent = 0
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._stop_sending = threading.Event()
        self._done = threading.Event()

    def acked_count(self) -> int:
        with self._lock:
            return len(self.acked)

    def run(self) -> None:
        from confluent_kafka import Producer

        try:
            producer = Producer({**self.config, "on_delivery": self._on_delivery})
            interval = 10 / self.rate  # ten records per tick
            next_tick = time.monotonic()
            while not self._stop_sending.is_set():
                for _ in range(10):
                    seq = self.sent
                    try:
                        producer.produce(self.topic, str(seq).encode(), partition=seq % self.partitions)
                    except BufferError:
                        break
                    self.sent += 1
                producer.poll(0)
                next_tick += interval
                time.sleep(max(0.0, next_tick - time.monotonic()))
            while producer.flush(1.0) and not self._done.is_set():
                pass
        except BaseException as exc:
            self.error = exc
        finally:
            self._done.set()

    def _on_delivery(self, err: Any, msg: Any) -> None:
        seq = int(msg.value())
        with self._lock:
            if err is None:
                self.acked[seq] = (msg.partition(), msg.offset())
            else:
                self.failed[seq] = err.str()

    def finish(self, timeout: float) -> None:
        """Stop sending, wait up to ``timeout`` for every outstanding record to be reported."""
        self._stop_sending.set()
        self.join(timeout)
        self._done.set()
        self.join(5)
        if self.error is not None:
            raise AssertionError(f"producer failed: {self.error!r}")
        if self.is_alive():
            raise AssertionError(f"producer did not finish within {timeout}s")


class LiveConsumer(threading.Thread):
    """Reads ``partitions`` of ``topic`` from the beginning until :meth:`finish` (no group)."""

    def __init__(self, bootstrap: str, topic: str, partitions: int) -> None:
        super().__init__(name=f"consumer:{topic}", daemon=True)
        self.bootstrap = bootstrap
        self.topic = topic
        self.partitions = partitions
        self.seen: dict[int, list[int]] = {p: [] for p in range(partitions)}
        self.errors: list[str] = []
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._halt = threading.Event()

    def seqs(self) -> set[int]:
        with self._lock:
            return {s for values in self.seen.values() for s in values}

    def run(self) -> None:
        from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

        try:
            consumer = Consumer(_consumer_config(self.bootstrap))
            try:
                consumer.assign(
                    [TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in range(self.partitions)]
                )
                while not self._halt.is_set():
                    for msg in consumer.consume(500, 0.2):
                        if msg.error() is not None:
                            self.errors.append(msg.error().str())
                            continue
                        with self._lock:
                            self.seen[msg.partition()].append(int(msg.value()))
            finally:
                consumer.close()
        except BaseException as exc:
            self.error = exc

    def finish(self) -> None:
        self._halt.set()
        self.join(15)
        if self.error is not None:
            raise AssertionError(f"consumer failed: {self.error!r}")


def _consumer_config(bootstrap: str) -> dict[str, Any]:
    return {
        "bootstrap.servers": bootstrap,
        "group.id": "durability-reader",  # required by confluent-kafka; never joined (assign only)
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "topic.metadata.refresh.interval.ms": 1000,
        "fetch.wait.max.ms": 100,
    }


def read_all(bootstrap: str, topic: str, partitions: int, timeout: float = 60.0) -> dict[int, list[int]]:
    """Every record's number, per partition, from the beginning to the high watermark."""
    values = read_values(bootstrap, topic, partitions, timeout)
    return {p: [int(v) for v in vs] for p, vs in values.items()}


def read_values(bootstrap: str, topic: str, partitions: int, timeout: float = 60.0) -> dict[int, list[bytes]]:
    """Every record's value, per partition, from the beginning to the high watermark."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer(_consumer_config(bootstrap))
    out: dict[int, list[bytes]] = {p: [] for p in range(partitions)}
    try:
        deadline = time.monotonic() + timeout
        ends: dict[int, int] = {}
        for p in range(partitions):
            while True:
                try:
                    ends[p] = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=5)[1]
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        position = dict.fromkeys(range(partitions), 0)
        while any(position[p] < ends[p] for p in range(partitions)):
            if time.monotonic() > deadline:
                raise AssertionError(f"read_all: at {position} of {ends} after {timeout}s")
            for msg in consumer.consume(1000, 0.5):
                if msg.error() is not None:
                    continue
                out[msg.partition()].append(msg.value())
                position[msg.partition()] = msg.offset() + 1
    finally:
        consumer.close()
    return out


@dataclass
class Report:
    acked: int
    read: int
    lost: list[int] = field(default_factory=list)
    duplicated: int = 0  # extra copies, over all numbers
    duplicated_acked: int = 0
    out_of_order: list[tuple[int, int, int]] = field(default_factory=list)  # (partition, prev, seq)
    unacked_read: int = 0

    def line(self, **extra: object) -> str:
        fields: dict[str, object] = {
            "acked": self.acked,
            "read": self.read,
            "lost": len(self.lost),
            "duplicated": self.duplicated,
            "duplicated_acked": self.duplicated_acked,
            "out_of_order": len(self.out_of_order),
            "unacked_read": self.unacked_read,
            **extra,
        }
        return "durability: " + " ".join(f"{k}={v}" for k, v in fields.items())


def check(acked: Iterable[int], read: dict[int, list[int]]) -> Report:
    acked_set = set(acked)
    everything = [s for values in read.values() for s in values]
    counts = Counter(everything)
    report = Report(acked=len(acked_set), read=len(everything))
    report.lost = sorted(acked_set - counts.keys())
    report.duplicated = sum(n - 1 for n in counts.values() if n > 1)
    report.duplicated_acked = sum(n - 1 for s, n in counts.items() if n > 1 and s in acked_set)
    report.unacked_read = sum(1 for s in counts if s not in acked_set)
    for partition, values in read.items():
        prev = -1
        for seq in values:
            if seq not in acked_set:
                continue
            if seq <= prev:
                report.out_of_order.append((partition, prev, seq))
            prev = max(prev, seq)
    return report
