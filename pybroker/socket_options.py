"""Per-connection TCP options that cut wakeups: our own socket handle and a receive low-water
mark.

uvloop hands out a stand-in for the socket whose every call costs a ``getsockname``;
:func:`own_socket` duplicates the descriptor instead (the connection closes the copy in
``connection_lost``, after which the peer sees the close).

:class:`ReadLowWatermark` keeps ``SO_RCVLOWAT`` at the bytes still missing from a large frame,
so the event loop is told once the frame can be read whole rather than at every packet (a
megabyte frame otherwise takes several wakeups, each a read and a Python callback). Linux caps
the mark at half of ``tcp_rmem``'s maximum, grows the receive buffer to fit it, and wakes the
reader anyway when the buffer comes under memory pressure, so a mark cannot stall a connection.
End of stream always wakes the reader.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket

LOW_WATERMARK_MIN = 1 << 16  # frames missing less than this are read as bytes arrive
LOW_WATERMARK_MAX = 1 << 22


def own_socket(transport: asyncio.BaseTransport) -> socket.socket | None:
    """A duplicate of a TCP transport's socket (None for other transports)."""
    sock = transport.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return None
    try:
        fd = os.dup(sock.fileno())
    except OSError:  # out of descriptors: the connection works on without these options
        return None
    try:
        return socket.socket(fileno=fd)
    except OSError:
        os.close(fd)
        return None


class ReadLowWatermark:
    """``SO_RCVLOWAT`` of one socket, changed only when the wanted value changes."""

    __slots__ = ("_current", "_sock")

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._current = 1

    def expect(self, missing: int) -> None:
        """``missing`` bytes of the frame being read have not arrived yet (0 between frames)."""
        want = min(missing, LOW_WATERMARK_MAX) if missing >= LOW_WATERMARK_MIN else 1
        if want != self._current:
            self._current = want
            with contextlib.suppress(OSError):  # the connection is going away; its close path tells
                self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, want)
