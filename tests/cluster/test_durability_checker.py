"""Durability under repeated broker failures: no acknowledged record is ever lost.

One idempotent confluent-kafka producer (``enable.idempotence=true``, hence acks=all, retries,
at most 5 in flight) writes uniquely numbered records (value = sequence number) to a topic with
replication factor 3, three partitions and ``min.insync.replicas=2``, while a random broker is
killed and restarted again and again (mostly ``kill -9``, one in four with SIGTERM, i.e. a
controlled shutdown), one broker down at a time: before each kill every partition's ISR must be
back to all three brokers. Afterwards every partition is read from the beginning and checked by
:func:`tests.cluster.durability.check`: nothing acknowledged is lost, acknowledged records keep
their order within each partition, and nothing appears twice (the producer is idempotent, so
not even a retried batch may be written twice).

``DURABILITY_CYCLES`` (default 20) and ``DURABILITY_SEED`` (default: random, printed) change the
run; the summary line starts with ``durability:``.
"""

from __future__ import annotations

import os
import random
import time

import pytest

from tests.cluster.durability import SequenceProducer, check, read_all
from tests.support.cluster import BrokerCluster, ready_topic

TOPIC = "durable"
PARTITIONS = 3
CYCLES = int(os.environ.get("DURABILITY_CYCLES", "20"))


@pytest.mark.timeout(330)
def test_acknowledged_records_survive_repeated_broker_failures(cluster3: BrokerCluster) -> None:
    seed = int(os.environ.get("DURABILITY_SEED", str(random.randrange(1 << 30))))
    rng = random.Random(seed)
    print(f"durability seed={seed}")
    started = time.monotonic()
    ready_topic(cluster3, TOPIC, PARTITIONS, min_insync_replicas="2")

    producer = SequenceProducer(cluster3.bootstrap, TOPIC, PARTITIONS, rate=400, idempotent=True)
    producer.start()
    kills = terms = 0
    history: list[str] = []
    try:
        cluster3.wait_for("the first acked records", lambda: producer.acked_count() >= 100 or None, 30)
        for cycle in range(CYCLES):
            assert producer.is_alive(), f"producer stopped: {producer.error!r}"
            victim = rng.choice([1, 2, 3])
            leads = [p for p in range(PARTITIONS) if cluster3.leader(TOPIC, p) == victim]
            before = producer.acked_count()
            if rng.random() < 0.25:
                code = cluster3.stop(victim)
                assert code == 0, f"broker {victim} exited with {code} on SIGTERM"
                terms += 1
                how = "SIGTERM"
            else:
                cluster3.kill(victim)
                kills += 1
                how = "kill -9"
            time.sleep(rng.uniform(0.2, 2.0))  # the producer runs against a two-broker cluster
            cluster3.restart(victim)
            cluster3.wait_all_isr(TOPIC, PARTITIONS, 3, timeout=60)
            history.append(f"{cycle}:{how} {victim} (led {leads}) acked +{producer.acked_count() - before}")
            time.sleep(rng.uniform(0.0, 0.5))
        # progress after the last restart
        target = producer.acked_count() + 100
        cluster3.wait_for(
            "acked records after the last cycle", lambda: producer.acked_count() >= target or None, 30
        )
    finally:
        producer.finish(90)
    print("\n".join(history))
    assert not producer.failed, (
        f"{len(producer.failed)} deliveries failed, e.g. {list(producer.failed.items())[:3]}"
    )
    read = read_all(cluster3.bootstrap, TOPIC, PARTITIONS, timeout=90)
    report = check(producer.acked, read)
    print(
        report.line(
            sent=producer.sent,
            cycles=CYCLES,
            kill9=kills,
            sigterm=terms,
            seconds=round(time.monotonic() - started, 1),
            seed=seed,
        )
    )
    assert report.lost == [], f"{len(report.lost)} acknowledged records lost, e.g. {report.lost[:10]}"
    assert report.out_of_order == [], report.out_of_order[:10]
    assert report.duplicated == 0, f"{report.duplicated} duplicate copies with an idempotent producer"
    # every acked offset holds the acked record
    for seq, (partition, offset) in list(producer.acked.items())[:: max(1, len(producer.acked) // 2000)]:
        assert read[partition][offset] == seq, (seq, partition, offset)
