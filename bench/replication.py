"""Replication cost: acks=all on a three-broker cluster (RF 3) against acks=1 on one broker.

Two legs, same client (confluent-kafka), same record size (1 KB values, no keys), same count,
same producer settings as bench/produce_consume.py except ``acks``:

* ``acks1_standalone``: one pybroker without ZooKeeper (``python -m pybroker
  config/server.properties`` on a free loopback port, data in a temporary directory), a topic
  with ``--partitions`` partitions and replication factor 1, produced with ``acks=1``;
* ``acks_all_rf3``: a private ZooKeeper (Debian's package, :mod:`pybroker.zookeeper_server`,
  free port, temporary data) and three pybrokers (``broker.id`` 1-3, ``zookeeper.connect`` with
  chroot ``/bench``, free loopback ports, own data directories), a topic with the same
  partitions, replication factor 3 and ``min.insync.replicas=2``, produced with ``acks=all``
  once every partition's ISR (read from ZooKeeper) holds all three brokers.

Records go round-robin to the partitions (explicit partition = i % partitions). The produce time
runs from the first ``produce()`` call to the moment every record is acknowledged (the same
``produce`` function as bench/produce_consume.py). The legs run one after the other, never
together; every process is stopped and every directory removed at the end. Everything (client,
three brokers, ZooKeeper) shares the machine's cores, which is what a local cluster costs.

Run (about half a minute at the defaults)::

    python bench/replication.py [--records 200000] [--partitions 1] [--repeat 1] [--phase-timeout 120]

Prints one JSON line::

    {"bench": "replication", "records": N, "record_bytes": 1024, "partitions": P, "client": {...},
     "acks1_standalone": {"produce_mb_s": .., "produce_records_s": .., "produce_s": ..},
     "acks_all_rf3": {...}, "ratio": R, "target": 0.5, "elapsed_s": T}

``ratio`` is acks_all_rf3 / acks1_standalone records per second (the target is >= 0.5). With
``--repeat R`` > 1 each metric is the median of R runs (each on a fresh topic, deleted after the run so that its files and page cache do not weigh on the next) and ``runs`` lists
them. A leg that failed has ``{"error": "..."}`` instead and the exit status is 1.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from produce_consume import PRODUCER_CONFIG, BenchError, PyBroker, produce

from pybroker.zookeeper_server import ZooKeeperServer, java_available

RECORD_BYTES = 1024
CHROOT = "/bench"
CLUSTER_OVERRIDES = {
    "zookeeper.session.timeout.ms": "18000",
    "offsets.topic.replication.factor": "3",
}


def create_topic(bootstrap: str, topic: str, partitions: int, rf: int, config: dict[str, str]) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

    admin = AdminClient({"bootstrap.servers": bootstrap})
    future = admin.create_topics(
        [NewTopic(topic, partitions, rf, config=config)], operation_timeout=30, request_timeout=30
    )[topic]
    try:
        future.result(timeout=30)
    except Exception as exc:
        raise BenchError(f"create_topics({topic}, rf={rf}) failed: {exc}") from None


def delete_topic(bootstrap: str, topic: str) -> None:
    """Delete a run's topic (its files and page cache go), so every run starts from the same state."""
    from confluent_kafka.admin import AdminClient  # type: ignore[attr-defined]

    admin = AdminClient({"bootstrap.servers": bootstrap})
    future = admin.delete_topics([topic], operation_timeout=30, request_timeout=30)[topic]
    try:
        future.result(timeout=30)
    except Exception as exc:
        raise BenchError(f"delete_topics({topic}) failed: {exc}") from None


def wait_full_isr(zk: Any, topic: str, partitions: int, replicas: int, timeout: float) -> None:
    """Until every partition's ISR in ZooKeeper has ``replicas`` members (and a leader)."""
    deadline = time.monotonic() + timeout
    for p in range(partitions):
        path = f"/brokers/topics/{topic}/partitions/{p}/state"
        while True:
            state: dict[str, Any] = {}
            with contextlib.suppress(Exception):
                state = json.loads(zk.get(path)[0])
            if state.get("leader", -1) >= 0 and len(state.get("isr", [])) == replicas:
                break
            if time.monotonic() > deadline:
                raise BenchError(f"{topic}-{p} has no full ISR after {timeout:.0f}s (state {state})")
            time.sleep(0.1)


def leg(
    name: str, bootstrap: str, args: argparse.Namespace, rf: int, acks: Any, zk: Any | None
) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    for i in range(args.repeat):
        topic = f"bench-{name}-{i}-{os.getpid()}"
        create_topic(bootstrap, topic, args.partitions, rf, {"min.insync.replicas": "2"} if rf > 1 else {})
        if zk is not None:
            wait_full_isr(zk, topic, args.partitions, rf, 60)
        seconds = produce(
            bootstrap, topic, args.records, RECORD_BYTES, args.phase_timeout, {"acks": acks}, args.partitions
        )
        delete_topic(bootstrap, topic)
        runs.append(
            {
                "produce_mb_s": round(args.records * RECORD_BYTES / 1e6 / seconds, 2),
                "produce_records_s": round(args.records / seconds),
                "produce_s": round(seconds, 3),
            }
        )
    result: dict[str, Any] = {
        key: statistics.median(run[key] for run in runs)
        for key in ("produce_mb_s", "produce_records_s", "produce_s")
    }
    result["acks"] = acks
    result["replication_factor"] = rf
    if args.repeat > 1:
        result["runs"] = runs
    return result


def standalone_leg(args: argparse.Namespace) -> dict[str, Any]:
    broker = PyBroker()
    try:
        bootstrap = broker.start()
        return {"command": broker.command, **leg("acks1", bootstrap, args, 1, 1, None)}
    finally:
        broker.stop()


def cluster_leg(args: argparse.Namespace) -> dict[str, Any]:
    if not java_available():
        raise BenchError("the cluster leg needs java and Debian's zookeeper package")
    zk_server = ZooKeeperServer(tick_ms=500)
    brokers: list[PyBroker] = []
    zk: Any = None
    try:
        zk_server.start()
        for broker_id in (1, 2, 3):
            brokers.append(
                PyBroker(
                    {
                        **CLUSTER_OVERRIDES,
                        "broker.id": str(broker_id),
                        "zookeeper.connect": zk_server.hosts + CHROOT,
                    }
                )
            )
        bootstrap = ",".join(b.start() for b in brokers)
        zk = zk_server.client(CHROOT)
        return {"command": brokers[0].command, **leg("acksall", bootstrap, args, 3, "all", zk)}
    finally:
        if zk is not None:
            with contextlib.suppress(Exception):
                zk.stop()
                zk.close()
        for broker in brokers:
            broker.stop()
        zk_server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=200_000, help="1 KB records per run")
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="runs per leg; metrics are medians")
    parser.add_argument("--phase-timeout", type=float, default=120.0, help="seconds allowed per produce")
    args = parser.parse_args()
    args.repeat = max(1, args.repeat)
    started = time.perf_counter()
    import confluent_kafka

    result: dict[str, Any] = {
        "bench": "replication",
        "records": args.records,
        "record_bytes": RECORD_BYTES,
        "partitions": args.partitions,
        "client": {
            "confluent_kafka": importlib.metadata.version("confluent-kafka"),
            "librdkafka": confluent_kafka.libversion()[0],
            "producer": {k: v for k, v in PRODUCER_CONFIG.items() if k != "acks"},
            "repeat": args.repeat,
        },
    }
    for name, run in (("acks1_standalone", standalone_leg), ("acks_all_rf3", cluster_leg)):
        try:
            result[name] = run(args)
        except BenchError as exc:
            result[name] = {"error": str(exc)}
        except Exception as exc:
            result[name] = {"error": f"{type(exc).__name__}: {exc}"}
    a, b = result["acks_all_rf3"], result["acks1_standalone"]
    ok = "produce_records_s" in a and "produce_records_s" in b
    result["ratio"] = round(a["produce_records_s"] / b["produce_records_s"], 3) if ok else None
    result["target"] = 0.5
    result["elapsed_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
