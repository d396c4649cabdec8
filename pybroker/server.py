"""The TCP front end: one asyncio protocol object per client connection.

Each connection reads frames as they arrive (pipelining), queues them, and a single worker task
handles them strictly in order, as Kafka's socket server does by muting a channel while a
request is in flight. One exception: a handler whose work is done and that only waits (an
acks=all produce waiting for its replicas) answers with a
:class:`~pybroker.context.Deferred`; the next request is then taken while it waits, the way a
client pipelining produce requests would have them appended in Kafka. Responses always go out
in request order: a response finished while an earlier one still waits is held (its file
regions read into memory, since the log may change meanwhile) until every earlier one is
written. Back-pressure is explicit: reading pauses while ``queued.max.requests`` frames, or
frames of :data:`READ_AHEAD_BYTES` or more, wait, or while the transport's write buffer is full;
the rest waits in the socket buffers. (Reading far ahead gains nothing, since requests are
handled one at a time, and costs a fresh buffer per queued frame.)

Failure policy (one log line each, the broker and other connections unaffected):

* a frame larger than ``socket.request.max.bytes`` closes the connection before its body is read;
* an undecodable request, an unknown API key, or a version this broker does not implement closes
  the connection, except ApiVersions at an unknown version, which is answered with
  UNSUPPORTED_VERSION in a v0 response;
* a handler raising an unexpected exception closes that connection only;
* ``max.connections`` / ``max.connections.per.ip`` refuse new connections beyond the limit and
  ``connections.max.idle.ms`` closes connections with no traffic for that long.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import deque
from typing import TYPE_CHECKING, cast

from protocol.errors import DecodeError
from protocol.framing import (
    API_VERSIONS_KEY,
    FrameReader,
    FrameTooLargeError,
    OutBuffer,
    UnsupportedVersionError,
    decode_request,
    encode_response,
)
from pybroker.config import Listener
from pybroker.context import Deferred, RequestContext
from pybroker.handlers import HANDLERS
from pybroker.handlers.api_versions import unsupported_version_response
from pybroker.logging import get_logger
from pybroker.socket_options import ReadLowWatermark, own_socket

if TYPE_CHECKING:
    from pybroker.broker import Broker

log = get_logger("pybroker.server")

# requests a connection runs ahead of a deferred response (Kafka clients' usual in-flight cap)
MAX_HELD_RESPONSES = 5
# queued request bytes at which a connection stops reading until half are handled
READ_AHEAD_BYTES = 4 << 20


class Connection(asyncio.BufferedProtocol):
    """One client connection; owns its frame reader, request queue and worker task."""

    def __init__(self, server: KafkaServer, listener: Listener) -> None:
        self.server = server
        self.listener = listener
        self.transport: asyncio.Transport | None = None
        self.peer = ("?", 0)
        self.reader = FrameReader(server.max_request_size)
        self.frames: deque[bytearray] = deque()
        self.queued_bytes = 0  # total size of ``frames``
        self.wakeup: asyncio.Event = asyncio.Event()
        self.writable: asyncio.Event = asyncio.Event()
        self.writable.set()
        self.reading_paused = False
        self.closed = False
        self.in_flight = False
        self.last_active = time.monotonic()
        self.task: asyncio.Task[None] | None = None
        self.sock_fd = -1
        self.sock: socket.socket | None = None  # for the receive low-water mark
        self.low_watermark: ReadLowWatermark | None = None
        # responses in request order while a deferred one waits: [response or None (none due), done]
        self._held: deque[list[object]] = deque()
        self._held_space = asyncio.Event()
        self._held_space.set()

    # -- asyncio.BufferedProtocol----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not subclasses
        sock = transport.get_extra_info("socket")
        self.sock_fd = sock.fileno() if sock is not None else -1
        self.sock = own_socket(transport)
        if self.sock is not None:
            self.low_watermark = ReadLowWatermark(self.sock)
        peer = transport.get_extra_info("peername")
        if peer:
            self.peer = (str(peer[0]), int(peer[1]))
        refusal = self.server.admit(self)
        if refusal is not None:
            log.warning("connection refused", peer=self.peer[0], reason=refusal)
            self.closed = True
            self.transport.abort()
            return
        self.task = asyncio.get_running_loop().create_task(self._serve())

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.reader.get_buffer(sizehint)

    def buffer_updated(self, nbytes: int) -> None:
        if self.closed:
            return
        self.last_active = time.monotonic()
        self.reader.buffer_updated(nbytes)
        if self.low_watermark is not None:
            self.low_watermark.expect(self.reader.missing)
        try:
            while (frame := self.reader.next_frame()) is not None:
                self.frames.append(frame)
                self.queued_bytes += len(frame)
        except FrameTooLargeError as exc:
            self.close(f"request too large: {exc}")
            return
        if self.frames:
            self.wakeup.set()
            if not self.reading_paused and (
                len(self.frames) >= self.server.max_queued_requests or self.queued_bytes >= READ_AHEAD_BYTES
            ):
                self._pause_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.sock is not None:
            self.sock.close()
            self.sock = None
            self.low_watermark = None
        self.server.forget(self)
        self.writable.set()
        self.wakeup.set()
        self._held_space.set()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    # -- request processing ------------------------------------------------------------------

    def _pause_reading(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()
            self.reading_paused = True

    def _resume_reading(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()
        self.reading_paused = False

    async def _serve(self) -> None:
        frames = self.frames
        while not self.closed:
            if len(self._held) >= MAX_HELD_RESPONSES:
                self._held_space.clear()
                await self._held_space.wait()
                continue
            if not frames:
                self.wakeup.clear()
                await self.wakeup.wait()
                continue
            frame = frames.popleft()
            self.queued_bytes -= len(frame)
            if (
                self.reading_paused
                and len(frames) < self.server.max_queued_requests // 2
                and self.queued_bytes < READ_AHEAD_BYTES // 2
            ):
                self._resume_reading()
            self.in_flight = True
            try:
                response = await self._handle(frame)
            finally:
                self.in_flight = False
            # nothing of a request or its response outlives this step: a frame is up to a
            # megabyte, and a response's file regions hold their segment file open (closing
            # the last descriptor of a deleted segment frees its pages, not a job for the loop
            # while the connection idles)
            del frame
            if response is None or self.closed or self.transport is None:
                continue
            if self._held:
                self._hold(response)
            else:
                self._write(response)
            del response
            self.last_active = time.monotonic()
            if not self.writable.is_set():
                await self.writable.wait()

    def _hold(self, response: OutBuffer) -> None:
        """Queue a finished response behind a deferred one (file regions read now)."""
        if response.regions:
            response = _inline_regions(response)
        self._held.append([response, True])

    def _defer(self, deferred: Deferred, correlation_id: int, api_key: int, api_version: int) -> None:
        slot: list[object] = [None, False]
        self._held.append(slot)

        async def complete() -> None:
            try:
                body = await deferred.response
            except Exception:
                log.exception("deferred handler failed", api_key=api_key, peer=self.peer[0])
                self.close("handler failed")
                return
            if body is not None:
                response = encode_response(correlation_id, api_key, api_version, body)
                slot[0] = _inline_regions(response) if response.regions else response
            slot[1] = True
            self._flush_held()

        asyncio.get_running_loop().create_task(complete())

    def _flush_held(self) -> None:
        held = self._held
        while held and held[0][1]:
            response = held.popleft()[0]
            if response is not None and not self.closed and self.transport is not None:
                self._write(cast(OutBuffer, response))
        if len(held) < MAX_HELD_RESPONSES:
            self._held_space.set()

    def _write(self, out: OutBuffer) -> None:
        """Write a response; file regions go out with sendfile when nothing is queued ahead.

        The regions' files cannot change between the handler's read and this write: both run in
        the same event-loop step. If the socket cannot take a whole region at once, the rest is
        read with pread and queued on the transport like any other bytes. The socket is not
        corked: holding the bytes around the regions back for ``TCP_CORK`` cost the cluster's
        brokers 10-17% more CPU per replicated megabyte (bench/replication.py, two A/B runs),
        and a reader that wants whole frames sets its own receive low-water mark.
        """
        transport = self.transport
        assert transport is not None
        if not out.regions:
            transport.write(out)
            return
        view = memoryview(out)
        pos = 0
        for at, region in out.regions:
            if at > pos:
                transport.write(view[pos:at])
                pos = at
            sent = 0
            if self.sock_fd >= 0 and transport.get_write_buffer_size() == 0:
                sent = region.sendfile(self.sock_fd)
            if sent < region.size:
                transport.write(region.pread(sent))
        if pos < len(out):
            transport.write(view[pos:])

    async def _handle(self, frame: bytearray) -> OutBuffer | None:
        try:
            request = decode_request(memoryview(frame))
        except UnsupportedVersionError as exc:
            if exc.header.request_api_key == API_VERSIONS_KEY:
                return encode_response(
                    exc.header.correlation_id, API_VERSIONS_KEY, 0, unsupported_version_response()
                )
            self.close(f"unsupported request version: {exc}")
            return None
        except DecodeError as exc:
            self.close(f"malformed request: {exc}")
            return None
        spec = HANDLERS.get(request.api_key)
        if spec is None or not spec.supports(request.api_version):
            if request.api_key == API_VERSIONS_KEY:
                return encode_response(
                    request.header.correlation_id, API_VERSIONS_KEY, 0, unsupported_version_response()
                )
            self.close(f"unsupported request: api_key={request.api_key} version={request.api_version}")
            return None
        ctx = RequestContext(
            self.server.broker, request.header, request.api_version, self.listener.name, self.peer[0]
        )
        try:
            body = await spec.fn(ctx, request.body)
        except Exception:
            log.exception("handler failed", api=spec.name, version=request.api_version, peer=self.peer[0])
            self.close("handler failed")
            return None
        if ctx.close_connection is not None:
            self.close(ctx.close_connection)
        if isinstance(body, Deferred):
            self._defer(body, request.header.correlation_id, request.api_key, request.api_version)
            return None
        if body is None:
            return None
        return encode_response(request.header.correlation_id, request.api_key, request.api_version, body)

    def close(self, reason: str) -> None:
        if self.closed:
            return
        log.info("closing connection", peer=f"{self.peer[0]}:{self.peer[1]}", reason=reason)
        self.closed = True
        self.wakeup.set()
        self._held_space.set()
        if self.transport is not None:
            self.transport.close()


def _inline_regions(response: OutBuffer) -> OutBuffer:
    """The same frame with its file regions' bytes read into it (no holes left)."""
    out = OutBuffer()
    pos = 0
    for at, region in response.regions:
        out += memoryview(response)[pos:at]
        out += region.pread(0)
        pos = at
    out += memoryview(response)[pos:]
    return out


class KafkaServer:
    """Listens on every configured listener and tracks live connections."""

    def __init__(self, broker: Broker) -> None:
        config = broker.config
        self.broker = broker
        self.max_request_size: int = config.get("socket.request.max.bytes")
        self.max_queued_requests: int = config.get("queued.max.requests")
        self.max_connections: int = config.get("max.connections")
        self.max_connections_per_ip: int = config.get("max.connections.per.ip")
        self.idle_ms: int = config.get("connections.max.idle.ms")
        self.connections: set[Connection] = set()
        self.per_ip: dict[str, int] = {}
        self.bound_ports: dict[str, int] = {}
        self._servers: list[asyncio.Server] = []
        self._idle_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        for listener in self.broker.config.listeners:
            server = await loop.create_server(
                lambda listener=listener: Connection(self, listener),
                host=listener.host or None,
                port=listener.port,
                reuse_address=True,
                backlog=1024,
            )
            self._servers.append(server)
            self.bound_ports[listener.name] = server.sockets[0].getsockname()[1]
        if self.idle_ms >= 0:
            self._idle_task = loop.create_task(self._close_idle())

    def admit(self, conn: Connection) -> str | None:
        """Register a new connection, or say why it is refused."""
        if len(self.connections) >= self.max_connections:
            return f"max.connections={self.max_connections} reached"
        ip = conn.peer[0]
        if self.per_ip.get(ip, 0) >= self.max_connections_per_ip:
            return f"max.connections.per.ip={self.max_connections_per_ip} reached"
        self.connections.add(conn)
        self.per_ip[ip] = self.per_ip.get(ip, 0) + 1
        return None

    def forget(self, conn: Connection) -> None:
        if conn in self.connections:
            self.connections.discard(conn)
            ip = conn.peer[0]
            self.per_ip[ip] -= 1
            if not self.per_ip[ip]:
                del self.per_ip[ip]

    async def _close_idle(self) -> None:
        interval = min(max(self.idle_ms / 10_000, 0.05), 10.0)
        while True:
            await asyncio.sleep(interval)
            deadline = time.monotonic() - self.idle_ms / 1000
            for conn in list(self.connections):
                if conn.last_active < deadline and not conn.frames and not conn.in_flight:
                    conn.close(f"idle for more than connections.max.idle.ms={self.idle_ms}")

    async def stop(self) -> None:
        if self._idle_task is not None:
            self._idle_task.cancel()
        for server in self._servers:
            server.close()
        for conn in list(self.connections):
            conn.close("broker shutting down")
        for server in self._servers:
            await server.wait_closed()
