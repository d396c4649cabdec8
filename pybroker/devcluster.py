"""A three-broker cluster on this machine in one command: ``python -m pybroker.devcluster``.

Starts a private ZooKeeper (Debian's ``zookeeper`` package and a JRE; see
:mod:`pybroker.zookeeper_server`) on ``127.0.0.1:2181`` with its data in ``DIR/zookeeper``, then
brokers 1-3 from ``config/cluster/broker-{1,2,3}.properties`` (``127.0.0.1:9092``-``9094``,
chroot ``/pybroker``), each with its log dir ``DIR/broker-N/logs`` and its output in
``DIR/broker-N/broker.log``. Once every broker accepts connections it prints the bootstrap string
and waits. Ctrl-C (or SIGTERM) stops the brokers one at a time with SIGTERM, i.e. a controlled
shutdown that hands their leaderships to the others, then ZooKeeper. Data is kept between runs
(``--fresh`` wipes ``DIR`` first); a broker that dies is reported and the rest keep running.

    python -m pybroker.devcluster [--dir /tmp/pybroker-cluster] [--zk-port 2181] [--fresh]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from pybroker.zookeeper_server import ZooKeeperServer, die_with_parent, java_available

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG_DIR = REPO / "config" / "cluster"
DEFAULT_DIR = Path("/tmp/pybroker-cluster")
BROKER_IDS = (1, 2, 3)
CHROOT = "/pybroker"


class DevBroker:
    """One broker subprocess in its own session (so a terminal's Ctrl-C reaches only us)."""

    def __init__(self, broker_id: int, config: Path, data_dir: Path, zk_connect: str) -> None:
        self.broker_id = broker_id
        self.config = config
        self.data_dir = data_dir
        self.zk_connect = zk_connect
        self.ready_file = data_dir / "ready.json"
        self.log_path = data_dir / "broker.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.bootstrap = ""

    def launch(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.ready_file.unlink(missing_ok=True)
        args = [
            sys.executable,
            "-m",
            "pybroker",
            str(self.config),
            "--override",
            f"log.dirs={self.data_dir / 'logs'}",
            "--override",
            f"zookeeper.connect={self.zk_connect}",
            "--ready-file",
            str(self.ready_file),
        ]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                args,
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                start_new_session=True,
                preexec_fn=die_with_parent,
            )

    def wait_ready(self, deadline: float) -> str:
        assert self.proc is not None
        while not self.ready_file.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"broker {self.broker_id} exited with {self.proc.returncode}; see {self.log_path}:\n"
                    + tail(self.log_path)
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"broker {self.broker_id} not ready in time; see {self.log_path}")
            time.sleep(0.05)
        host, port = json.loads(self.ready_file.read_text())["listeners"]["PLAINTEXT"]
        self.bootstrap = f"{host}:{port}"
        return self.bootstrap

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float) -> int | None:
        """SIGTERM (controlled shutdown) and wait; SIGKILL after ``timeout``."""
        return None if self.proc is None else terminate(self.proc, timeout)


def terminate(proc: subprocess.Popen[bytes], timeout: float) -> int:
    """SIGTERM a child and wait for it; SIGKILL it if it is still running after ``timeout``
    seconds. Returns its exit status (also used by the tests' broker processes)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def tail(path: Path, lines: int = 10) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pybroker.devcluster",
        description="ZooKeeper plus three pybroker brokers on 127.0.0.1 (Ctrl-C stops them cleanly).",
    )
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="data and logs (default: %(default)s)")
    parser.add_argument("--zk-port", type=int, default=2181, help="ZooKeeper's client port (default: 2181)")
    parser.add_argument(
        "--config-dir",
        type=Path,
        default=DEFAULT_CONFIG_DIR,
        help="directory with broker-1.properties .. broker-3.properties",
    )
    parser.add_argument("--fresh", action="store_true", help="delete DIR first (a new, empty cluster)")
    parser.add_argument("--stop-timeout", type=float, default=60.0, help="seconds per broker to stop")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not java_available():
        print(
            "devcluster needs java and Debian's zookeeper package (apt-get install zookeeper)",
            file=sys.stderr,
        )
        return 1
    base: Path = args.dir.resolve()
    if args.fresh:
        shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True, exist_ok=True)

    stopping = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    zk = ZooKeeperServer(base_dir=base / "zookeeper", client_port=args.zk_port, fresh=False, tick_ms=2000)
    brokers: list[DevBroker] = []
    try:
        print(
            f"devcluster: starting ZooKeeper on 127.0.0.1:{args.zk_port} (data in {zk.base_dir})", flush=True
        )
        zk.start()
        connect = zk.hosts + CHROOT
        for broker_id in BROKER_IDS:
            config = args.config_dir / f"broker-{broker_id}.properties"
            broker = DevBroker(broker_id, config, base / f"broker-{broker_id}", connect)
            broker.launch()
            brokers.append(broker)
        deadline = time.monotonic() + 60
        for broker in brokers:
            broker.wait_ready(deadline)
            print(
                f"devcluster: broker {broker.broker_id} on {broker.bootstrap} (log {broker.log_path})",
                flush=True,
            )
        bootstrap = ",".join(b.bootstrap for b in brokers)
        print(f"devcluster: ready; bootstrap servers: {bootstrap}", flush=True)
        print(f"BOOTSTRAP={bootstrap}", flush=True)
        reported: set[int] = set()
        while not stopping.is_set():
            for broker in brokers:
                if broker.broker_id not in reported and not broker.running():
                    reported.add(broker.broker_id)
                    code = broker.proc.returncode if broker.proc is not None else None
                    print(
                        f"devcluster: broker {broker.broker_id} exited with {code}; see {broker.log_path}",
                        flush=True,
                    )
            if len(reported) == len(brokers):
                print("devcluster: every broker has exited", flush=True)
                return 1
            stopping.wait(0.5)
        return 0
    except RuntimeError as exc:
        print(f"devcluster: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        # one at a time, so each controlled shutdown can hand its leaderships to running brokers
        for broker in reversed(brokers):
            if broker.running():
                print(f"devcluster: stopping broker {broker.broker_id} (controlled shutdown)", flush=True)
                code = broker.stop(args.stop_timeout)
                print(f"devcluster: broker {broker.broker_id} exited with {code}", flush=True)
        zk.stop()
        print("devcluster: stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
