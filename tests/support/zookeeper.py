"""ZooKeeper for tests: the private server (:mod:`pybroker.zookeeper_server`, shared with the dev
cluster) plus fault helpers (session expiry, network cut) and loop-side polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable

from kazoo.client import KazooClient
from kazoo.protocol.states import KazooState

from pybroker.zookeeper_server import ZooKeeperServer, free_port, java_available


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
        # close() alone does not wake a thread blocked in accept(), which would keep the port
        # listening; shutdown() on a listening socket does (accept fails with EINVAL).
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
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
