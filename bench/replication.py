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
``produce`` function as bench/produce_consume.py). Everything (client, three brokers, ZooKeeper)
shares the machine's cores, which is what a local cluster costs.

Both deployments start first and stay up; the runs then go in pairs, one run of each leg, the
legs taking turns at going first, never together. Each run has a fresh topic, deleted after the
run and awaited until no broker's log directory holds it, so no run pays for the previous one's
files. ``--warmup`` pairs (default 1) go first and are not counted: the first writes on a fresh
machine pay for page-cache pages the kernel has not handed out before (several times the cost of
reused ones on a VM), and the first runs on a broker grow its heap. ``ratio`` is the median over
the ``--repeat`` measured pairs (default 9) of acks_all_rf3 / acks1_standalone records per
second, so drift in the machine's speed between pairs cancels out; the target is >= 0.5. The
per-leg figures are medians, ``runs`` lists every measured run and ``pair_ratios`` every ratio.

Each run also records the CPU seconds it cost: ``client_cpu_s`` (this process: the producer's
Python loop and librdkafka's threads) and ``brokers_cpu_s`` (every broker process of the leg),
from the first ``produce()`` call's setup to the last acknowledgement. ``cpu_ratio`` is the median
over the pairs of standalone CPU / cluster CPU. When both legs keep every core busy (``cpus``
says how many there are) the throughput ratio can be no higher than ``cpu_ratio``: the two
figures side by side tell a CPU-bound cluster leg from one that waits.

Run (about a minute at the defaults)::

    python bench/replication.py [--records 200000] [--partitions 1] [--repeat 9] [--warmup 1] [--phase-timeout 120]

Prints one JSON line::

    {"bench": "replication", "records": N, "record_bytes": 1024, "partitions": P, "cpus": K,
     "client": {...}, "acks1_standalone": {"produce_mb_s": .., "produce_records_s": ..,
     "produce_s": .., "client_cpu_s": .., "brokers_cpu_s": .., "runs": [..]},
     "acks_all_rf3": {...}, "pair_ratios": [..], "ratio": R, "cpu_ratio": C, "target": 0.5,
     "elapsed_s": T}

If a run fails the line has ``"error": "..."`` and ``"ratio": null`` instead, and the exit
status is 1.
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


def wait_deleted(brokers: list[PyBroker], topic: str, timeout: float) -> None:
    """Until no broker's log directory holds a partition of ``topic`` (its pages are freed)."""
    deadline = time.monotonic() + timeout
    while True:
        left = [d for b in brokers for d in (b.tmp / "logs").glob(f"{topic}-*")]
        if not left:
            return
        if time.monotonic() > deadline:
            raise BenchError(f"{topic} still on disk after {timeout:.0f}s: {left[0]}")
        time.sleep(0.05)


def _client_cpu() -> float:
    """CPU seconds of this process (the producer's Python thread and librdkafka's threads)."""
    times = os.times()
    return times.user + times.system


def _process_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Deployment:
    """One side of the comparison: brokers (and ZooKeeper) that stay up for every run."""

    def __init__(self, name: str, rf: int, acks: Any) -> None:
        self.name, self.rf, self.acks = name, rf, acks
        self.brokers: list[PyBroker] = []
        self.zk_server: ZooKeeperServer | None = None
        self.zk: Any = None
        self.bootstrap = ""

    def start(self) -> None:
        if self.rf == 1:
            self.brokers = [PyBroker()]
        else:
            if not java_available():
                raise BenchError("the cluster leg needs java and Debian's zookeeper package")
            self.zk_server = ZooKeeperServer(tick_ms=500)
            self.zk_server.start()
            self.brokers = [
                PyBroker(
                    {
                        **CLUSTER_OVERRIDES,
                        "broker.id": str(broker_id),
                        "zookeeper.connect": self.zk_server.hosts + CHROOT,
                    }
                )
                for broker_id in range(1, self.rf + 1)
            ]
        self.bootstrap = ",".join(b.start() for b in self.brokers)
        if self.zk_server is not None:
            self.zk = self.zk_server.client(CHROOT)

    def run(self, args: argparse.Namespace, label: str) -> dict[str, Any]:
        """Produce once on a fresh topic, which is deleted (and gone from disk) afterwards."""
        topic = f"bench-{self.name}-{label}-{os.getpid()}"
        create_topic(self.bootstrap, topic, args.partitions, self.rf, {"min.insync.replicas": "2"} if self.rf > 1 else {})
        if self.zk is not None:
            wait_full_isr(self.zk, topic, args.partitions, self.rf, 60)
        client_before, brokers_before = _client_cpu(), self.brokers_cpu()
        seconds = produce(
            self.bootstrap, topic, args.records, RECORD_BYTES, args.phase_timeout, {"acks": self.acks}, args.partitions
        )
        client_cpu, brokers_cpu = _client_cpu() - client_before, self.brokers_cpu() - brokers_before
        delete_topic(self.bootstrap, topic)
        wait_deleted(self.brokers, topic, 60)
        return {
            "produce_mb_s": round(args.records * RECORD_BYTES / 1e6 / seconds, 2),
            "produce_records_s": round(args.records / seconds),
            "produce_s": round(seconds, 3),
            "client_cpu_s": round(client_cpu, 3),
            "brokers_cpu_s": round(brokers_cpu, 3),
        }

    def brokers_cpu(self) -> float:
        """CPU seconds (user + system) the brokers have used so far."""
        return sum(_process_cpu(b.proc.pid) for b in self.brokers if b.proc is not None)

    def stop(self) -> None:
        if self.zk is not None:
            with contextlib.suppress(Exception):
                self.zk.stop()
                self.zk.close()
        for broker in self.brokers:
            broker.stop()
        if self.zk_server is not None:
            self.zk_server.stop()


def _cpu(run: dict[str, Any]) -> float:
    return float(run["client_cpu_s"] + run["brokers_cpu_s"])


def summary(deployment: Deployment, runs: list[dict[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {"command": deployment.brokers[0].command}
    for key in ("produce_mb_s", "produce_records_s", "produce_s", "client_cpu_s", "brokers_cpu_s"):
        result[key] = statistics.median(run[key] for run in runs)
    result["acks"] = deployment.acks
    result["replication_factor"] = deployment.rf
    result["runs"] = runs
    return result


def compare(args: argparse.Namespace, result: dict[str, Any]) -> bool:
    """Warm-up pairs, then ``--repeat`` measured pairs (legs alternating which goes first)."""
    single = Deployment("acks1", 1, 1)
    cluster = Deployment("acksall", 3, "all")
    try:
        single.start()
        cluster.start()
        runs: dict[str, list[dict[str, Any]]] = {"single": [], "cluster": []}
        ratios: list[float] = []
        cpu_ratios: list[float] = []
        for i in range(args.warmup + args.repeat):
            order = (single, cluster) if i % 2 == 0 else (cluster, single)
            pair = {d.name: d.run(args, str(i)) for d in order}
            if i < args.warmup:
                continue
            runs["single"].append(pair["acks1"])
            runs["cluster"].append(pair["acksall"])
            ratios.append(pair["acksall"]["produce_records_s"] / pair["acks1"]["produce_records_s"])
            cpu_ratios.append(_cpu(pair["acks1"]) / _cpu(pair["acksall"]))
        result["acks1_standalone"] = summary(single, runs["single"])
        result["acks_all_rf3"] = summary(cluster, runs["cluster"])
        result["pair_ratios"] = [round(r, 3) for r in ratios]
        result["ratio"] = round(statistics.median(ratios), 3)
        result["cpu_ratio"] = round(statistics.median(cpu_ratios), 3)
        return True
    except Exception as exc:
        result["error"] = str(exc) if isinstance(exc, BenchError) else f"{type(exc).__name__}: {exc}"
        result["ratio"] = None
        return False
    finally:
        cluster.stop()
        single.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=200_000, help="1 KB records per run")
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=9, help="measured pairs of runs; metrics are medians")
    parser.add_argument("--warmup", type=int, default=1, help="pairs of runs first, not counted")
    parser.add_argument("--phase-timeout", type=float, default=120.0, help="seconds allowed per produce")
    args = parser.parse_args()
    args.repeat = max(1, args.repeat)
    args.warmup = max(0, args.warmup)
    started = time.perf_counter()
    import confluent_kafka

    result: dict[str, Any] = {
        "bench": "replication",
        "records": args.records,
        "record_bytes": RECORD_BYTES,
        "partitions": args.partitions,
        "cpus": os.cpu_count(),
        "client": {
            "confluent_kafka": importlib.metadata.version("confluent-kafka"),
            "librdkafka": confluent_kafka.libversion()[0],
            "producer": {k: v for k, v in PRODUCER_CONFIG.items() if k != "acks"},
            "repeat": args.repeat,
            "warmup": args.warmup,
        },
    }
    ok = compare(args, result)
    result["target"] = 0.5
    result["elapsed_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
