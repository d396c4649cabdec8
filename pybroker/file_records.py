"""A records field served straight from a segment file (zero-copy Fetch responses).

:class:`FileRecords` wraps a storage :class:`~storage.file_slice.FileSlice`. Encoding a response
writes only its length prefix and leaves a hole (see ``protocol.framing.OutBuffer``); the
connection then sends the bytes with ``os.sendfile`` from the page cache to the socket, or, when
the socket is busy, with one ``os.pread``. Holding the slice keeps its file descriptor open
until the response is written, whatever retention or the open-file cache do meanwhile.
"""

from __future__ import annotations

from protocol.framing import OutBuffer
from protocol.primitives import INT32, write_uvarint
from storage.file_slice import FileSlice


class FileRecords:
    __slots__ = ("size", "slice")

    def __init__(self, file_slice: FileSlice) -> None:
        self.slice = file_slice
        self.size = file_slice.size

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
            out += self.slice.pread(0)

    def sendfile(self, sock_fd: int) -> int:
        """Send as much as the socket takes without blocking; returns the bytes sent."""
        try:
            return self.slice.sendfile(sock_fd)
        except OSError:
            return 0  # the regular write path then reports the socket's state

    def pread(self, start: int) -> bytes:
        """The bytes from ``start`` to the end of the region."""
        return self.slice.pread(start)
