"""Connection-level behaviour: versions, pipelining, and bad input that must not hurt others."""

from __future__ import annotations

import socket
import struct
import time

import pytest

from protocol.error_codes import ErrorCode
from protocol.framing import decode_response, encode_request
from protocol.messages import ApiVersionsRequest, ApiVersionsResponse, DescribeQuorumRequest, MetadataRequest
from pybroker.handlers import HANDLERS
from tests.support.broker import BrokerProcess, recv_frame, roundtrip


def _closed(sock: socket.socket, timeout: float = 5.0) -> bool:
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


@pytest.mark.parametrize("version", range(0, 5))
def test_api_versions_advertises_exactly_the_registered_handlers(
    shared_broker: BrokerProcess, version: int
) -> None:
    with shared_broker.connect() as sock:
        resp = roundtrip(
            sock,
            18,
            version,
            ApiVersionsRequest(client_software_name="pytest", client_software_version="1.0"),
        )
    assert isinstance(resp, ApiVersionsResponse)
    assert resp.error_code == 0
    advertised = {k.api_key: (k.min_version, k.max_version) for k in resp.api_keys}
    assert advertised == {h.api_key: (h.min_version, h.max_version) for h in HANDLERS.values()}
    assert advertised[18] == (0, 4) and advertised[3] == (0, 12)


def test_api_versions_unknown_version_gets_v0_unsupported_version(shared_broker: BrokerProcess) -> None:
    with shared_broker.connect() as sock:
        # version 99: header v2 (flexible), body unknown; the answer is a v0 response
        frame = bytearray(encode_request(18, 4, 7, "pytest", ApiVersionsRequest()))
        frame[6:8] = struct.pack(">h", 99)
        sock.sendall(frame)
        corr, resp = decode_response(recv_frame(sock), 18, 0)
        assert corr == 7
        assert resp.error_code == ErrorCode.UNSUPPORTED_VERSION
        assert [(k.api_key, k.min_version, k.max_version) for k in resp.api_keys] == [(18, 0, 4)]
        # the connection stays usable, as with Kafka
        assert (
            roundtrip(
                sock, 18, 3, ApiVersionsRequest(client_software_name="a", client_software_version="1")
            ).error_code
            == 0
        )


def test_api_versions_v3_validates_client_software(shared_broker: BrokerProcess) -> None:
    with shared_broker.connect() as sock:
        resp = roundtrip(
            sock, 18, 3, ApiVersionsRequest(client_software_name="bad name!", client_software_version="1")
        )
    assert resp.error_code == ErrorCode.INVALID_REQUEST  # type: ignore[attr-defined]


def test_pipelined_requests_are_answered_in_order(shared_broker: BrokerProcess) -> None:
    with shared_broker.connect() as sock:
        batch = bytearray()
        for corr in range(1, 51):
            if corr % 2:
                batch += encode_request(3, 12, corr, "pytest", MetadataRequest(topics=[]))
            else:
                batch += encode_request(
                    18,
                    3,
                    corr,
                    "pytest",
                    ApiVersionsRequest(client_software_name="x", client_software_version="1"),
                )
        sock.sendall(batch)
        for corr in range(1, 51):
            api = 3 if corr % 2 else 18
            got, _ = decode_response(recv_frame(sock), api, 12 if api == 3 else 3)
            assert got == corr


def test_unknown_api_key_closes_only_that_connection(shared_broker: BrokerProcess) -> None:
    with shared_broker.connect() as bystander, shared_broker.connect() as sock:
        sock.sendall(struct.pack(">ihhi", 8, 999, 0, 1))
        assert _closed(sock)
        assert roundtrip(bystander, 3, 12, MetadataRequest(topics=[])).brokers  # type: ignore[attr-defined]


def test_unimplemented_version_closes_connection(shared_broker: BrokerProcess) -> None:
    with shared_broker.connect() as sock:
        # DescribeQuorum (55) is a KRaft controller API this broker does not serve: the codec
        # knows it, no handler does, and Kafka closes the connection for such requests
        assert 55 not in HANDLERS
        sock.sendall(encode_request(55, 0, 1, "pytest", DescribeQuorumRequest()))
        assert _closed(sock)


def test_oversized_frame_is_rejected_before_its_body(tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc = BrokerProcess(tmp_path / "b", overrides={"socket.request.max.bytes": "1000"}).start()
    try:
        with proc.connect() as bystander, proc.connect() as sock:
            sock.sendall(struct.pack(">i", 2_000_000_000))  # no body follows: must not wait for it
            assert _closed(sock)
            assert roundtrip(bystander, 3, 12, MetadataRequest(topics=[])).brokers  # type: ignore[attr-defined]
        assert "request too large" in proc.log()
    finally:
        assert proc.stop() == 0


def test_garbage_and_truncated_frames_close_the_connection(shared_broker: BrokerProcess) -> None:
    with shared_broker.connect() as bystander:
        for payload in (
            b"\x00\x03\x00\x0c\x00",
            b"\x00\x12\x00\x03\x00\x00\x00\x01\xff\xff\xff\x7f",
            bytes(range(40)),
        ):
            with shared_broker.connect() as sock:
                sock.sendall(struct.pack(">i", len(payload)) + payload)
                assert _closed(sock)
        assert roundtrip(bystander, 18, 0, ApiVersionsRequest()).error_code == 0  # type: ignore[attr-defined]


def test_slow_client_does_not_stall_others(shared_broker: BrokerProcess) -> None:
    with shared_broker.connect() as slow, shared_broker.connect() as fast:
        frame = encode_request(3, 12, 1, "pytest", MetadataRequest(topics=[]))
        slow.sendall(frame[:7])  # half a frame, then silence
        start = time.monotonic()
        for corr in range(20):
            assert roundtrip(fast, 3, 12, MetadataRequest(topics=[]), correlation_id=corr).brokers  # type: ignore[attr-defined]
        slow.sendall(frame[7:])
        corr, _ = decode_response(recv_frame(slow), 3, 12)
        assert corr == 1
        assert time.monotonic() - start < 30


def test_max_connections_and_idle_close(tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc = BrokerProcess(
        tmp_path / "b", overrides={"max.connections": "2", "connections.max.idle.ms": "500"}
    ).start()
    try:
        a, b = proc.connect(), proc.connect()
        roundtrip(a, 18, 0, ApiVersionsRequest())
        roundtrip(b, 18, 0, ApiVersionsRequest())
        c = proc.connect()
        assert _closed(c)  # over max.connections
        assert _closed(a, timeout=10) and _closed(b, timeout=10)  # idle for > 500 ms
        d = proc.connect()  # slots are free again
        assert roundtrip(d, 18, 0, ApiVersionsRequest()).error_code == 0  # type: ignore[attr-defined]
        for s in (a, b, c, d):
            s.close()
    finally:
        proc.stop()
