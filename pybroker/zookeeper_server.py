"""A private ZooKeeper server from Debian's package, for tests and the local dev cluster.

``ZooKeeperServer`` runs Debian's ZooKeeper (``QuorumPeerMain`` in standalone mode) on
``127.0.0.1`` with its own dataDir and log, never the system service. ``start`` uses
``client_port`` or, when it is 0, picks a free port, writes ``zoo.cfg`` and waits until the server
answers ``ruok`` *and* grants a session; if a picked port was taken in between (``Address already
in use``) it retries on another; any other failure raises with the tail of the server's log.
``stop`` kills it and deletes its directory if it made one (a temporary one). With ``fresh`` (the
default) the dataDir is emptied at each start; without, existing znodes are kept.

The classpath is ``zookeeper.jar`` (its manifest pulls in its dependencies) plus slf4j's
log4j 1.2 binding, so the server logs to ``zookeeper.log``; the wildcard ``/usr/share/java/*``
works too but binds slf4j to "nop" and the log stays empty. The server is started with
``PR_SET_PDEATHSIG`` so it dies with the process that started it.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

JAVA_DIR = Path("/usr/share/java")
CONF_DIR = Path("/etc/zookeeper/conf")
_LOG4J = """\
log4j.rootLogger=INFO, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} %-5p [%t] %c{1} - %m%n
"""
# readiness probes connect before the server listens: their kazoo warnings are expected noise
_PROBE_LOG = logging.getLogger("pybroker.zookeeper_server.probe")
_PROBE_LOG.setLevel(logging.CRITICAL)


def java_available() -> bool:
    return shutil.which("java") is not None and (JAVA_DIR / "zookeeper.jar").exists()


def _classpath() -> str:
    jars = [JAVA_DIR / "zookeeper.jar", JAVA_DIR / "slf4j-log4j12.jar", JAVA_DIR / "log4j-1.2.jar"]
    if all(j.exists() for j in jars):
        return ":".join(str(j) for j in jars)
    return f"{CONF_DIR}:{JAVA_DIR}/*"


def die_with_parent() -> None:
    """In a child before exec: SIGKILL it if its parent dies (Linux), so a killed test run or dev
    cluster leaves nothing behind."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def four_letter(host: str, port: int, cmd: str, timeout: float = 1.0) -> str:
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(cmd.encode())
        chunks = []
        while chunk := s.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


@dataclass
class ZooKeeperServer:
    """A standalone ZooKeeper on loopback; see the module docstring."""

    base_dir: Path | None = None
    tick_ms: int = 200
    host: str = "127.0.0.1"
    client_port: int = 0  # 0: a free port
    fresh: bool = True
    port: int = 0  # the port in use once started
    proc: subprocess.Popen[bytes] | None = None
    _owns_dir: bool = field(default=False, repr=False)

    @property
    def hosts(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        assert self.base_dir is not None
        return self.base_dir / "zookeeper.log"

    def log(self, tail: int = 80) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(lines[-tail:])

    def start(self, timeout: float = 60.0, attempts: int = 5) -> ZooKeeperServer:
        if self.base_dir is None:
            self.base_dir = Path(tempfile.mkdtemp(prefix="pybroker-zk-"))
            self._owns_dir = True
        self.base_dir.mkdir(parents=True, exist_ok=True)
        (self.base_dir / "log4j.properties").write_text(_LOG4J)
        deadline = time.monotonic() + timeout
        last = ""
        for _ in range(attempts if self.client_port == 0 else 1):
            self.port = self.client_port or free_port()
            outcome = self._try_start(deadline)
            if outcome == "ok":
                return self
            last = outcome
            if outcome != "port-taken":
                break
        self.stop()
        raise RuntimeError(f"ZooKeeper did not start ({last}); its log:\n{self.log()}")

    def _try_start(self, deadline: float) -> str:
        assert self.base_dir is not None
        data = self.base_dir / "data"
        if self.fresh:
            shutil.rmtree(data, ignore_errors=True)
        data.mkdir(exist_ok=True)
        cfg = self.base_dir / "zoo.cfg"
        cfg.write_text(
            f"tickTime={self.tick_ms}\n"
            f"dataDir={data}\n"
            f"clientPort={self.port}\n"
            f"clientPortAddress={self.host}\n"
            f"minSessionTimeout={2 * self.tick_ms}\n"
            "maxSessionTimeout=60000\n"
            "maxClientCnxns=0\n"
            "admin.enableServer=false\n"
            "4lw.commands.whitelist=ruok,srvr,cons\n"
            "forceSync=no\n"  # no fsync per write: fast, and survives a killed server (not a crashed host)
        )
        args = [
            "java",
            "-Xmx256m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            f"-Dlog4j.configuration=file:{self.base_dir / 'log4j.properties'}",
            "-Dzookeeper.jmx.log4j.disable=true",
            "-cp",
            _classpath(),
            "org.apache.zookeeper.server.quorum.QuorumPeerMain",
            str(cfg),
        ]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=die_with_parent,
                start_new_session=True,  # a terminal's Ctrl-C is not for it
            )
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.proc = None
                return "port-taken" if "Address already in use" in self.log(400) else "exited"
            try:
                if four_letter(self.host, self.port, "ruok", timeout=0.5) == "imok" and self._session_ok():
                    return "ok"
            except OSError:
                pass
            time.sleep(0.1)
        return "timeout"

    def _session_ok(self) -> bool:
        zk = self.client(timeout=5.0, started=False, logger=_PROBE_LOG)
        try:
            zk.start(timeout=5.0)
            zk.get_children("/")
            return True
        except Exception:
            return False
        finally:
            with contextlib.suppress(Exception):
                zk.stop()
            zk.close()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(10)
            self.proc = None
        if self._owns_dir and self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def client(
        self,
        chroot: str = "",
        timeout: float = 10.0,
        started: bool = True,
        logger: logging.Logger | None = None,
    ) -> Any:
        """A blocking kazoo client (started unless ``started=False``), e.g. for inspection."""
        from kazoo.client import KazooClient

        zk = KazooClient(hosts=self.hosts + chroot, timeout=timeout, logger=logger)
        if started:
            zk.start(timeout=timeout)
        return zk


__all__ = ["ZooKeeperServer", "die_with_parent", "four_letter", "free_port", "java_available"]
