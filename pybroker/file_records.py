"""A records field served straight from a segment file (zero-copy Fetch responses).

:class:`FileRecords` names ``size`` bytes at ``position`` of an open segment file. Encoding a
response writes only its length prefix and leaves a hole (see ``protocol.framing.OutBuffer``);
the connection then sends the bytes with ``os.sendfile`` from the page cache to the socket, or,
when the socket is busy, with one ``os.pread``. The file descriptor belongs to the storage layer
and stays open until the response is written, which happens in the same event-loop step as the
read that produced this object.
"""

from __future__ import annotations

import os

from protocol.framing import OutBuffer
from protocol.primitives import INT32, write_uvarint


class FileRecords:
    __slots__ = ("fd", "position", "size")

    def __init__(self, fd: int, position: int, size: int) -> None:
        self.fd = fd
        self.position = position
        self.size = size

    def __len__(self) -> int:
        return self.size

    def write_records(self, out: bytearray, compact: bool) -> None:
        if compact:
            write_uvarint(out, self.size + 1)
        else:
            out += INT32.pack(self.size)
        if isinstance(out, OutBuffer):
            out.add_region(self, self.size)
        else:  # encoding outside a response frame (tests, logging): inline the bytes
            out += self.pread(0)

    def sendfile(self, sock_fd: int) -> int:
        """Send as much as the socket takes without blocking; returns the bytes sent."""
        sent = 0
        while sent < self.size:
            try:
                n = os.sendfile(sock_fd, self.fd, self.position + sent, self.size - sent)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break  # let the regular write path report the socket's state
            if n == 0:
                break
            sent += n
        return sent

    def pread(self, start: int) -> bytes:
        """The bytes from ``start`` to the end of the region."""
        want = self.size - start
        data = os.pread(self.fd, want, self.position + start)
        if len(data) != want:
            raise OSError(f"short read of segment: {len(data)} of {want} bytes")
        return data
