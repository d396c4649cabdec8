"""Sans-IO framing and request/response headers of the Kafka protocol.

A frame is an int32 size followed by that many bytes. A request frame holds a request header
then the request body; a response frame holds a response header then the body.

Header versions (Kafka's ``ApiKeys.requestHeaderVersion`` / ``responseHeaderVersion``):

* request header v2 (with tagged fields) for flexible request versions, v1 otherwise, and v0
  only for ControlledShutdown v0 (it has no client id);
* response header v1 (with tagged fields) for flexible versions, v0 otherwise, except that the
  ApiVersions response always uses header v0 so that a client can parse it whatever version it
  sent.

:class:`FrameReader` splits a byte stream into frames (``receive_data`` in, frames out) and
rejects a frame whose declared size exceeds the limit before any of its body is buffered.
"""

from __future__ import annotations

import ctypes
from collections import deque
from dataclasses import dataclass
from typing import Any

from protocol.errors import DecodeError
from protocol.message import Message
from protocol.messages import REQUESTS, RESPONSES, RequestHeader, ResponseHeader
from protocol.primitives import INT32, Buffer

API_VERSIONS_KEY = 18
CONTROLLED_SHUTDOWN_KEY = 7

# CPython's PyByteArray_FromStringAndSize(NULL, n): a bytearray whose bytes are not zeroed first.
# FrameReader fills every byte of a frame from the socket before handing it out, so zeroing a
# megabyte frame would only be wasted work.
_new_bytearray = ctypes.pythonapi.PyByteArray_FromStringAndSize
_new_bytearray.argtypes = (ctypes.c_void_p, ctypes.c_ssize_t)
_new_bytearray.restype = ctypes.py_object


def _unfilled_bytearray(size: int) -> bytearray:
    buf: bytearray = _new_bytearray(None, size)
    return buf


class FrameTooLargeError(DecodeError):
    """A frame's declared size is negative or above the configured maximum."""


class UnknownApiKeyError(DecodeError):
    """The request names an API key the protocol does not define."""


class UnsupportedVersionError(DecodeError):
    """The request names a version the codec does not know for its API."""

    def __init__(self, message: str, header: RequestHeader) -> None:
        super().__init__(message)
        self.header = header


class FrameReader:
    """Accumulates stream bytes and yields complete frame payloads in order.

    ``max_size`` is ``socket.request.max.bytes``; a larger (or negative) size raises
    :class:`FrameTooLargeError` from :meth:`next_frame` once the frames before it are taken.
    After an error the reader must be discarded (the connection is closed).

    Each frame is allocated once its 4 size bytes are known and filled in place, so every byte
    is copied once. Bytes arrive either as objects (:meth:`receive_data`) or, for an asyncio
    ``BufferedProtocol``, straight from the socket into the buffer :meth:`get_buffer` hands out:
    the rest of the frame being filled when much of it is missing (no copy at all), else a
    scratch buffer that :meth:`buffer_updated` then splits into frames.
    """

    __slots__ = ("_direct", "_error", "_filled", "_frame", "_head", "_ready", "_scratch", "max_size")

    DIRECT_MIN = 1 << 16  # read straight into a frame when at least this much of it is missing
    # Between frames a read goes to the scratch buffer, and whatever of a large frame it took
    # is copied once more into the frame; DIRECT_MIN bounds that to 64 KiB per frame (a fetch
    # response arrives whole, so a larger scratch would double-copy that much more of it).
    SCRATCH_BYTES = DIRECT_MIN

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self._head = bytearray()  # a size prefix being read
        self._frame: bytearray | None = None  # the frame being filled
        self._filled = 0
        self._ready: deque[bytearray] = deque()
        self._error: FrameTooLargeError | None = None
        self._scratch: bytearray | None = None
        self._direct = False

    def receive_data(self, data: Buffer) -> None:
        view = memoryview(data).cast("B")
        pos, total = 0, len(view)
        while pos < total and self._error is None:
            frame = self._frame
            if frame is None:
                take = min(4 - len(self._head), total - pos)
                self._head += view[pos : pos + take]
                pos += take
                if len(self._head) == 4:
                    self._start_frame()
                continue
            n = min(len(frame) - self._filled, total - pos)
            # through a memoryview: a bytearray slice assignment would copy the source first
            memoryview(frame)[self._filled : self._filled + n] = view[pos : pos + n]
            pos += n
            self._filled += n
            if self._filled == len(frame):
                self._finish_frame()

    def _start_frame(self) -> None:
        (size,) = INT32.unpack_from(self._head, 0)
        self._head = bytearray()
        if size < 0 or size > self.max_size:
            self._error = FrameTooLargeError(f"frame size {size} outside [0, {self.max_size}]")
            return
        self._frame = _unfilled_bytearray(size) if size >= self.DIRECT_MIN else bytearray(size)
        self._filled = 0
        if size == 0:
            self._finish_frame()

    def _finish_frame(self) -> None:
        assert self._frame is not None
        self._ready.append(self._frame)
        self._frame = None

    @property
    def missing(self) -> int:
        """Bytes of the frame being filled that have not arrived yet (0 between frames)."""
        frame = self._frame
        return 0 if frame is None else len(frame) - self._filled

    def get_buffer(self, sizehint: int = -1) -> memoryview:
        """Where the next socket read should go (``BufferedProtocol.get_buffer``)."""
        frame = self._frame
        if frame is not None and len(frame) - self._filled >= self.DIRECT_MIN:
            self._direct = True
            return memoryview(frame)[self._filled :]
        self._direct = False
        if self._scratch is None:
            self._scratch = bytearray(self.SCRATCH_BYTES)
        return memoryview(self._scratch)

    def buffer_updated(self, nbytes: int) -> None:
        """``nbytes`` were read into the last :meth:`get_buffer` buffer."""
        if self._direct:
            self._filled += nbytes
            if self._frame is not None and self._filled == len(self._frame):
                self._finish_frame()
        else:
            assert self._scratch is not None
            self.receive_data(memoryview(self._scratch)[:nbytes])

    def next_frame(self) -> bytearray | None:
        """The next complete frame payload, or None until more data arrives.

        The frame is a private, writable buffer: the produce path patches record batches
        (offsets, leader epoch) inside it in place.
        """
        if self._ready:
            return self._ready.popleft()
        if self._error is not None:
            raise self._error
        return None


@dataclass(slots=True)
class Request:
    """A decoded request: its header and body, and the API key/version it was sent with."""

    header: RequestHeader
    body: Message
    api_key: int
    api_version: int
    size: int


def request_header_version(api_key: int, api_version: int) -> int:
    if api_key == CONTROLLED_SHUTDOWN_KEY and api_version == 0:
        return 0
    cls = REQUESTS.get(api_key)
    if cls is not None and cls.SPEC.is_flexible(api_version):
        return 2
    return 1


def response_header_version(api_key: int, api_version: int) -> int:
    if api_key == API_VERSIONS_KEY:
        return 0
    return 1 if RESPONSES[api_key].SPEC.is_flexible(api_version) else 0


def decode_request_header(frame: Buffer) -> tuple[RequestHeader, int]:
    """Decode the header of a request frame; returns it and the offset of the body."""
    if len(frame) < 4:
        raise DecodeError(f"request of {len(frame)} bytes is shorter than a header")
    api_key, api_version = frame[0] << 8 | frame[1], frame[2] << 8 | frame[3]
    api_key = api_key - 0x10000 if api_key & 0x8000 else api_key
    api_version = api_version - 0x10000 if api_version & 0x8000 else api_version
    if api_key not in REQUESTS:
        raise UnknownApiKeyError(f"unknown API key {api_key}")
    return RequestHeader.decode_from(frame, 0, request_header_version(api_key, api_version))


def decode_request(frame: Buffer) -> Request:
    """Decode a whole request frame payload.

    Raises :class:`DecodeError` (or a subclass) for any malformed input; an unknown version
    raises :class:`UnsupportedVersionError` carrying the parsed header, so the caller can answer
    ApiVersions the way Kafka does.
    """
    header, pos = decode_request_header(frame)
    cls = REQUESTS[header.request_api_key]
    lo, hi = cls.SPEC.valid
    if not lo <= header.request_api_version <= hi:
        raise UnsupportedVersionError(
            f"{cls.SPEC.name} version {header.request_api_version} not in [{lo}, {hi}]", header
        )
    # Bytes after the body are ignored, as Kafka ignores them: librdkafka, for one, sends a
    # Metadata v9+ "all topics" request with a 4-byte placeholder where a 1-byte null goes.
    body, _ = cls.decode_from(frame, pos, header.request_api_version)
    return Request(header, body, header.request_api_key, header.request_api_version, len(frame))


class OutBuffer(bytearray):
    """An encoded frame that may leave holes for file regions sent separately (zero-copy).

    ``regions`` lists ``(position, region)``: the region's ``size`` bytes belong at
    ``position`` in the frame but are not in the buffer; a records value adds itself there
    through :meth:`add_region` after writing its length prefix.
    """

    __slots__ = ("region_bytes", "regions")

    def __init__(self, initial: bytes = b"") -> None:
        super().__init__(initial)
        self.regions: list[tuple[int, Any]] = []
        self.region_bytes = 0

    def add_region(self, region: Any, size: int) -> None:
        self.regions.append((len(self), region))
        self.region_bytes += size


def encode_response(correlation_id: int, api_key: int, api_version: int, body: Message) -> OutBuffer:
    """Encode a response frame (size prefix, header, body), file regions left as holes."""
    out = OutBuffer(b"\0\0\0\0")
    ResponseHeader(correlation_id).encode_into(out, response_header_version(api_key, api_version))
    body.encode_into(out, api_version)
    out[0:4] = INT32.pack(len(out) - 4 + out.region_bytes)
    return out


def encode_request(
    api_key: int, api_version: int, correlation_id: int, client_id: str | None, body: Message
) -> bytearray:
    """Encode a request frame; used by tests and by the broker's own inter-broker client."""
    out = bytearray(4)
    header = RequestHeader(api_key, api_version, correlation_id, client_id)
    header.encode_into(out, request_header_version(api_key, api_version))
    body.encode_into(out, api_version)
    out[0:4] = INT32.pack(len(out) - 4)
    return out


def decode_response(frame: Buffer, api_key: int, api_version: int) -> tuple[int, Any]:
    """Decode a response frame payload; returns (correlation id, body)."""
    header, pos = ResponseHeader.decode_from(frame, 0, response_header_version(api_key, api_version))
    body, end = RESPONSES[api_key].decode_from(frame, pos, api_version)
    if end != len(frame):
        raise DecodeError(f"{len(frame) - end} unexpected bytes after response")
    return header.correlation_id, body
