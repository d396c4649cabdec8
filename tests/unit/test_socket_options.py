"""ReadLowWatermark on a real loopback TCP connection: readiness waits for the missing bytes."""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator

import pytest

from pybroker.socket_options import LOW_WATERMARK_MAX, LOW_WATERMARK_MIN, ReadLowWatermark


@pytest.fixture
def tcp_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    with socket.create_server(("127.0.0.1", 0)) as server:
        sender = socket.create_connection(server.getsockname(), timeout=5)
        receiver, _ = server.accept()
    with sender, receiver:
        yield sender, receiver


def readable(sock: socket.socket, timeout: float) -> bool:
    return bool(select.select([sock], [], [], timeout)[0])


def lowat(sock: socket.socket) -> int:
    return sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT)


def test_mark_follows_the_missing_bytes_of_large_frames(tcp_pair: tuple[socket.socket, socket.socket]) -> None:
    _, receiver = tcp_pair
    mark = ReadLowWatermark(receiver)
    mark.expect(300_000)
    assert lowat(receiver) == 300_000
    mark.expect(LOW_WATERMARK_MIN - 1)  # small remainders are read as they come
    assert lowat(receiver) == 1
    mark.expect(1 << 30)
    assert lowat(receiver) <= LOW_WATERMARK_MAX
    mark.expect(0)
    assert lowat(receiver) == 1


def test_reader_wakes_once_the_frame_is_there_or_the_peer_closes(
    tcp_pair: tuple[socket.socket, socket.socket],
) -> None:
    sender, receiver = tcp_pair
    ReadLowWatermark(receiver).expect(200_000)
    sender.sendall(b"x" * 100_000)
    assert not readable(receiver, 0.3)
    sender.sendall(b"x" * 100_000)
    assert readable(receiver, 5)
    got = 0
    while got < 200_000:
        got += len(receiver.recv(1 << 20))
    sender.sendall(b"x" * 10)
    sender.close()  # end of stream wakes the reader below the mark
    assert readable(receiver, 5)

