"""A private ZooKeeper server for tests, plus fault helpers (session expiry, network cut).

``ZooKeeperServer`` runs Debian's ZooKeeper (``QuorumPeerMain`` in standalone mode) on
``127.0.0.1:<free port>`` with its own dataDir and log, never the system service. ``start``
picks a free port, writes ``zoo.cfg`` and waits until the server answers ``ruok`` *and* grants a
session; if the port was taken in between (``Address already in use``) it retries on another;
any other failure raises with the tail of the server's log. ``stop`` kills it and deletes its
directory.

The classpath is ``zookeeper.jar`` (its manifest pulls in its dependencies) plus slf4j's
log4j 1.2 binding, so the server logs to ``zookeeper.log``; the wildcard ``/usr/share/java/*``
works too but binds slf4j to "nop" and the log stays empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kazoo.client import KazooClient
from kazoo.protocol.states import KazooState

JAVA_DIR = Path("/usr/share/java")
CONF_DIR = Path("/etc/zookeeper/conf")
_LOG4J = """\
log4j.rootLogger=INFO, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} %-5p [%t] %c{1} - %m%n
"""


def java_available() -> bool:
    return shutil.which("java") is not None and (JAVA_DIR / "zookeeper.jar").exists()


def _classpath() -> str:
    jars = [JAVA_DIR / "zookeeper.jar", JAVA_DIR / "slf4j-log4j12.jar", JAVA_DIR / "log4j-1.2.jar"]
    if all(j.exists() for j in jars):
        return ":".join(str(j) for j in jars)
    return f"{CONF_DIR}:{JAVA_DIR}/*"


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL it if the test process dies (Linux), so a killed
    pytest leaves no ZooKeeper behind."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    port: int = 0
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
        for _ in range(attempts):
            self.port = free_port()
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
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir()
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
            "forceSync=no\n"  # tests need no durability; fsync per write is slow
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
                preexec_fn=_die_with_parent,
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
        zk = KazooClient(hosts=self.hosts, timeout=5.0)
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

    def client(self, chroot: str = "", timeout: float = 10.0) -> KazooClient:
        """A started blocking kazoo client (for test setup and inspection)."""
        zk = KazooClient(hosts=self.hosts + chroot, timeout=timeout)
        zk.start(timeout=timeout)
        return zk


def expire_session(hosts: str, session_id: int, password: bytes, timeout: float = 10.0) -> None:
    """Expire a session from outside: attach a second client to it and close it.

    The server then ends the session (deleting its ephemeral znodes); its own client learns so
    on its next contact and reports LOST. (kazoo's test harness does the same.)
    """
    zk = KazooClient(hosts=hosts, client_id=(session_id, password), timeout=timeout)
    zk.start(timeout=timeout)
    zk.stop()
    zk.close()


class TcpCutter:
    """A loopback TCP relay to ``upstream`` that a test can cut: ``cut()`` closes every relayed
    connection and refuses new ones (a network partition); ``heal()`` restores service.

    Runs in daemon threads; all methods are thread-safe.
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._socks: set[socket.socket] = set()
        self._cut = False
        self._closed = False
        threading.Thread(target=self._accept, name=f"cutter:{self.port}", daemon=True).start()

    @property
    def hosts(self) -> str:
        return f"127.0.0.1:{self.port}"

    def cut(self) -> None:
        with self._lock:
            self._cut = True
            socks, self._socks = self._socks, set()
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def heal(self) -> None:
        with self._lock:
            self._cut = False

    def close(self) -> None:
        self._closed = True
        self.cut()
        with contextlib.suppress(OSError):
            self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                refused = self._cut
            if refused:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=2.0)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._socks.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            with self._lock:
                self._socks.discard(src)
            src.close()  # every socket is the source of exactly one pump


async def wait_until(predicate: Callable[[], bool], timeout: float, what: str = "condition") -> None:
    """Poll ``predicate`` on the loop every 20 ms until true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


async def in_thread(fn: Callable[[], object]) -> object:
    """Run a blocking (kazoo) call off the loop."""
    return await asyncio.get_running_loop().run_in_executor(None, fn)


def kazoo_connected(zk: KazooClient) -> bool:
    return bool(zk.state == KazooState.CONNECTED)


__all__ = [
    "TcpCutter",
    "ZooKeeperServer",
    "expire_session",
    "free_port",
    "in_thread",
    "java_available",
    "kazoo_connected",
    "wait_until",
]
