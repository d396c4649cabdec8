"""Controlled shutdown from the broker's side: SIGTERM makes a broker ask the controller to move
its leaderships away (ControlledShutdown) before it leaves ZooKeeper, so its partitions change
leader while it is still registered, and a producer writing with acks=all sees no failure."""

from __future__ import annotations

import threading
import time

import pytest
from confluent_kafka import Producer

from tests.support.cluster import BrokerCluster, ready_topic

pytestmark = pytest.mark.timeout(120)

TOPIC = "graceful"


def test_sigterm_moves_leadership_away_before_the_broker_leaves(cluster3: BrokerCluster) -> None:
    leaders = ready_topic(cluster3, TOPIC, partitions=3, min_insync_replicas="2")
    victim = leaders[0]
    led = sorted(p for p, b in leaders.items() if b == victim)
    epochs = {p: cluster3.partition_state(TOPIC, p)["leader_epoch"] for p in led}  # type: ignore[index]

    failures: list[str] = []
    acked = 0
    stop = threading.Event()

    def on_delivery(err: object, msg: object) -> None:
        nonlocal acked
        if err is not None:
            failures.append(str(err))
        else:
            acked += 1

    def produce() -> None:
        producer = Producer(
            {
                "bootstrap.servers": cluster3.bootstrap,
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 5,
            }
        )
        i = 0
        while not stop.is_set():
            producer.produce(TOPIC, str(i).encode(), partition=i % 3, on_delivery=on_delivery)
            producer.poll(0)
            i += 1
            time.sleep(0.002)
        producer.flush(30)

    writer = threading.Thread(target=produce, daemon=True)
    writer.start()
    cluster3.wait_for("the first acknowledged records", lambda: acked >= 50 or None, 30)

    assert cluster3.stop(victim) == 0
    log = cluster3.brokers[victim].log_path.read_text(errors="replace")  # type: ignore[union-attr]
    assert "controlled shutdown succeeded" in log
    for p in led:
        state = cluster3.partition_state(TOPIC, p)
        assert state is not None
        assert state["leader"] not in (victim, -1), state
        assert victim not in state["isr"] and state["leader_epoch"] > epochs[p], state

    time.sleep(1)
    stop.set()
    writer.join(60)
    assert not writer.is_alive()
    assert failures == []
    assert acked > 50
