"""A minimal asyncio Kafka protocol client for the broker's own requests to other brokers.

Replica fetchers and the controller talk to brokers with the same wire protocol clients use.
:class:`BrokerConnection` keeps one TCP connection, pipelines requests and matches responses to
them by correlation id (Kafka answers in order, which is checked). Bodies are the generated
message classes; framing comes from ``protocol.framing``. Any connection failure fails every
outstanding request with :class:`ConnectionError` and the connection must be replaced.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections import deque
from typing import Any, cast

from protocol.errors import DecodeError
from protocol.framing import FrameReader, decode_response, encode_request
from protocol.message import Message
from pybroker.socket_options import ReadLowWatermark, own_socket

MAX_RESPONSE_BYTES = 1 << 30


class BrokerConnection(asyncio.BufferedProtocol):
    """One connection to ``host:port``; create with :meth:`connect`, close with :meth:`close`.

    Responses are read straight into their frame buffers (``BufferedProtocol``), so a large
    Fetch response is copied once, from the socket into the frame its records are appended
    from."""

    def __init__(self, client_id: str) -> None:
        self.client_id = client_id
        self._transport: asyncio.Transport | None = None
        self._correlation = itertools.count(1)
        self._pending: deque[tuple[int, int, int, asyncio.Future[Any]]] = deque()
        self._frames = FrameReader(MAX_RESPONSE_BYTES)
        self._closed = False
        self._sock: socket.socket | None = None
        self._low_watermark: ReadLowWatermark | None = None

    @classmethod
    async def connect(
        cls, host: str, port: int, client_id: str = "pybroker", timeout: float = 10.0
    ) -> BrokerConnection:
        loop = asyncio.get_running_loop()
        _, protocol = await asyncio.wait_for(
            loop.create_connection(lambda: cls(client_id), host, port), timeout
        )
        return protocol

    @property
    def closed(self) -> bool:
        return self._closed

    async def request(self, api_key: int, api_version: int, body: Message, timeout: float = 30.0) -> Any:
        """Send one request and wait for its response body."""
        if self._closed or self._transport is None:
            raise ConnectionError("connection closed")
        correlation_id = next(self._correlation) & 0x7FFFFFFF
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append((correlation_id, api_key, api_version, future))
        self._transport.write(encode_request(api_key, api_version, correlation_id, self.client_id, body))
        # a timer rather than asyncio.wait_for: the response wakes this task directly (wait_for
        # adds a waiter future and a loop pass per request, which a replica fetcher pays per
        # fetch)
        timer = loop.call_later(timeout, self._expire, future, api_key, api_version, timeout)
        try:
            return await future
        finally:
            timer.cancel()

    def _expire(self, future: asyncio.Future[Any], api_key: int, api_version: int, timeout: float) -> None:
        if not future.done():
            self._fail(ConnectionError(f"request {api_key} v{api_version} timed out after {timeout}s"))

    # -- asyncio.BufferedProtocol --------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        self._sock = own_socket(transport)
        if self._sock is not None:
            self._low_watermark = ReadLowWatermark(self._sock)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._frames.get_buffer(sizehint)

    def buffer_updated(self, nbytes: int) -> None:
        self._frames.buffer_updated(nbytes)
        if self._low_watermark is not None:
            self._low_watermark.expect(self._frames.missing)
        try:
            while (frame := self._frames.next_frame()) is not None:
                if not self._pending:
                    raise ConnectionError("response without a request")
                correlation_id, api_key, api_version, future = self._pending.popleft()
                # a view: records fields become slices of the frame, not copies
                got, body = decode_response(memoryview(frame), api_key, api_version)
                if got != correlation_id:
                    raise ConnectionError(f"correlation id {got} does not match request {correlation_id}")
                if not future.done():
                    future.set_result(body)
        except (ConnectionError, DecodeError) as exc:
            self._fail(exc if isinstance(exc, ConnectionError) else ConnectionError(str(exc)))

    def eof_received(self) -> bool:
        self._fail(ConnectionError("connection closed by the broker"))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(ConnectionError(str(exc) if exc else "connection closed by the broker"))
        if self._sock is not None:
            self._sock.close()
            self._sock = None
            self._low_watermark = None

    def _fail(self, exc: ConnectionError) -> None:
        self._closed = True
        while self._pending:
            future = self._pending.popleft()[3]
            if not future.done():
                future.set_exception(exc)
        if self._transport is not None:
            self._transport.close()

    async def close(self) -> None:
        self._fail(ConnectionError("connection closed"))
