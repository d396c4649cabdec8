"""A tiny Kafka-aware TCP fault-injection proxy for tests.

``FaultProxy`` listens on ``127.0.0.1:<ephemeral>`` (bound in the constructor, so its port can be
put into the broker's ``advertised.listeners`` before the broker starts) and forwards every client
connection to ``upstream`` (the broker), frame by frame. It reads the Kafka request header of each
client frame (api key, version, correlation id) and the correlation id of each response, which
lets a test inject faults tied to a particular request:

* ``drop_response``: forward the request, wait for the broker's response, swallow it and close
  both sides of the connection. The broker has done the work (e.g. appended a Produce batch) but
  the client never learns it, so it must retry: the classic duplicate that idempotence removes.
* ``close_after_request``: forward the request and close both sides at once, without waiting;
  whether the broker handled it first is a race.

A fault may also ``block`` the proxy once it fires: every connection is severed and new ones are
accepted and closed immediately until :meth:`FaultProxy.unblock`, so that the client's retry
cannot reach the broker before the test (say) restarts it.

The proxy runs an asyncio loop in a daemon thread; all public methods are thread-safe.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

PRODUCE = 0
FETCH = 1
METADATA = 3

FaultMode = Literal["drop_response", "close_after_request"]


@dataclass(frozen=True)
class Fault:
    api_key: int
    mode: FaultMode
    then_block: bool = False


@dataclass(eq=False)
class _Link:
    """One proxied client connection and its upstream connection."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    doomed: dict[int, Fault] = field(default_factory=dict)  # correlation id -> fault to fire on reply
    closed: bool = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            for w in (self.client, self.upstream):
                w.transport.abort()


class FaultProxy:
    """Frame-aware TCP proxy; see the module docstring."""

    def __init__(self, host: str = "127.0.0.1", upstream: tuple[str, int] | None = None) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self._sock.listen(128)
        self._sock.setblocking(False)
        self.host: str = host
        self.port: int = self._sock.getsockname()[1]
        self._upstream: tuple[str, int] | None = None
        self.upstream = upstream
        self.stats: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._faults: deque[Fault] = deque()
        self._blocked = False
        self._links: set[_Link] = set()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"proxy:{self.port}", daemon=True)

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def upstream(self) -> tuple[str, int] | None:
        return self._upstream

    @upstream.setter
    def upstream(self, address: tuple[str, int] | None) -> None:
        if address is not None and address[1] == self.port and address[0] in (self.host, "localhost"):
            raise ValueError(f"the proxy's upstream {address} is the proxy itself")
        self._upstream = address

    def start(self) -> FaultProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(10)
        return self

    async def _serve(self) -> None:
        self._server = await asyncio.start_server(self._handle, sock=self._sock)

    def close(self) -> None:
        if not self._thread.is_alive():
            self._sock.close()
            return

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for link in list(self._links):
                link.close()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._sock.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- fault control -----------------------------------------------------------------------

    def fail_next(
        self,
        count: int = 1,
        api_key: int = PRODUCE,
        mode: FaultMode = "drop_response",
        then_block: bool = False,
    ) -> None:
        """Arm ``count`` faults, each fired by the next request with ``api_key``."""
        with self._lock:
            self._faults.extend(Fault(api_key, mode, then_block) for _ in range(count))

    @property
    def armed(self) -> int:
        with self._lock:
            return len(self._faults)

    @property
    def blocked(self) -> bool:
        return self._blocked

    def block(self) -> None:
        """Sever every connection and refuse (accept, then close) new ones until ``unblock``."""
        self._blocked = True
        self._loop.call_soon_threadsafe(self._sever_all)

    def unblock(self) -> None:
        self._blocked = False

    def sever_all(self) -> None:
        self._loop.call_soon_threadsafe(self._sever_all)

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    # -- the loop side -----------------------------------------------------------------------

    def _sever_all(self) -> None:
        for link in list(self._links):
            link.close()

    def _take_fault(self, api_key: int) -> Fault | None:
        with self._lock:
            if self._faults and self._faults[0].api_key == api_key:
                return self._faults.popleft()
            return None

    async def _handle(self, creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter) -> None:
        self.stats["accepted"] += 1
        if self._blocked or self._upstream is None:
            self.stats["refused"] += 1
            cwriter.transport.abort()
            return
        try:
            ureader, uwriter = await asyncio.open_connection(*self._upstream)
        except OSError:
            self.stats["upstream_unreachable"] += 1
            cwriter.transport.abort()
            return
        link = _Link(cwriter, uwriter)
        self._links.add(link)
        self.stats["connections"] += 1
        try:
            await asyncio.gather(self._requests(link, creader), self._responses(link, ureader))
        finally:
            link.close()
            self._links.discard(link)

    async def _requests(self, link: _Link, reader: asyncio.StreamReader) -> None:
        try:
            while not link.closed:
                size_bytes = await reader.readexactly(4)
                (size,) = struct.unpack(">i", size_bytes)
                body = await reader.readexactly(size)
                api_key, _version, correlation_id = struct.unpack_from(">hhi", body, 0)
                self.stats[f"request:{api_key}"] += 1
                fault = self._take_fault(api_key)
                if fault is not None and fault.mode == "drop_response":
                    link.doomed[correlation_id] = fault
                link.upstream.write(size_bytes + body)
                await link.upstream.drain()
                if fault is not None and fault.mode == "close_after_request":
                    self.stats["closed_after_request"] += 1
                    self._fire(link, fault)
                    return
        except (asyncio.IncompleteReadError, OSError, struct.error):
            pass
        finally:
            link.close()

    async def _responses(self, link: _Link, reader: asyncio.StreamReader) -> None:
        try:
            while not link.closed:
                size_bytes = await reader.readexactly(4)
                (size,) = struct.unpack(">i", size_bytes)
                body = await reader.readexactly(size)
                (correlation_id,) = struct.unpack_from(">i", body, 0)
                fault = link.doomed.pop(correlation_id, None)
                if fault is not None:
                    self.stats["dropped_responses"] += 1
                    self._fire(link, fault)
                    return
                link.client.write(size_bytes + body)
                await link.client.drain()
        except (asyncio.IncompleteReadError, OSError, struct.error):
            pass
        finally:
            link.close()

    def _fire(self, link: _Link, fault: Fault) -> None:
        if fault.then_block:
            self._blocked = True
            self._sever_all()
        link.close()
