"""Open segment files and zero-copy slices of them.

:class:`SegmentFile` owns one file descriptor of a segment's ``.log`` file.  Its descriptor is
closed when the last reference to the object goes away (``__del__``; CPython's reference
counting makes that immediate), never explicitly while something may still use it.  The segment
holds one reference while the file is open (always for the active segment, on demand for
inactive ones, see :mod:`storage.file_cache`), and every :class:`FileSlice` handed to the broker
holds another.  So a fetch response that is still being written keeps its descriptor valid even
if the segment is evicted from the open-file cache, rolled, or deleted by retention meanwhile
(the data of an unlinked file stays readable through an open descriptor) — and a descriptor
number is never reused under a pending ``sendfile``.

:class:`FileSlice` is ``size`` bytes at ``position`` of such a file: hand ``fd``, ``position`` and
``size`` to ``os.sendfile`` / ``loop.sendfile``, or call :meth:`FileSlice.sendfile` /
:meth:`FileSlice.pread`.  Keep the slice object alive until the bytes are sent.
"""

from __future__ import annotations

import os
from pathlib import Path

from storage import block_reserve

__all__ = ["FileSlice", "SegmentFile"]


class SegmentFile:
    """An open descriptor of a segment's log file, closed when no longer referenced.

    Writes reserve the file's blocks ahead of them (:mod:`storage.block_reserve`, the size is
    unchanged); the writer calls :meth:`release_reserved` when it is done with the file.
    """

    __slots__ = ("__weakref__", "_fd", "_reserved", "path")

    def __init__(self, path: Path, *, create: bool = False) -> None:
        flags = os.O_RDWR | os.O_CLOEXEC | (os.O_CREAT if create else 0)
        self._fd = os.open(path, flags, 0o644)
        self._reserved = 0  # blocks are known to be reserved up to here
        self.path = path

    @property
    def fd(self) -> int:
        if self._fd < 0:
            raise ValueError(f"segment file {self.path} is closed")
        return self._fd

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def pread(self, size: int, position: int) -> bytes:
        return os.pread(self.fd, size, position)

    def write_at(self, data: bytes | bytearray | memoryview, position: int) -> None:
        """Write all of ``data`` at ``position`` (looping over short writes)."""
        view = memoryview(data)
        fd = self.fd
        end = position + len(view)
        if end > self._reserved:
            self._reserved = block_reserve.reserve(fd, max(position, self._reserved), end)
        while view:
            n = os.pwrite(fd, view, position)
            if n <= 0:
                raise OSError(f"short write to {self.path}")
            view = view[n:]
            position += n

    def truncate(self, size: int) -> None:
        """Cut the file to ``size`` bytes (blocks reserved past it go too)."""
        os.ftruncate(self.fd, size)
        self._reserved = 0

    def release_reserved(self) -> None:
        """Free blocks reserved past the end: the writer is done (roll, close) or a crash left
        them behind (recovery)."""
        block_reserve.release(self.fd)
        self._reserved = 0

    def fsync(self) -> None:
        os.fsync(self.fd)

    def _close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)

    def __del__(self) -> None:
        self._close()

    def __repr__(self) -> str:
        return f"SegmentFile({self.path.name}, fd={self._fd})"


class FileSlice:
    """``size`` bytes at ``position`` of an open segment file, to be sent without copying."""

    __slots__ = ("_file", "position", "size")

    def __init__(self, file: SegmentFile, position: int, size: int) -> None:
        self._file = file
        self.position = position
        self.size = size

    @property
    def fd(self) -> int:
        return self._file.fd

    @property
    def path(self) -> Path:
        return self._file.path

    def __len__(self) -> int:
        return self.size

    def slice(self, start: int, size: int | None = None) -> FileSlice:
        """A sub-slice relative to this one (clamped to its bounds)."""
        start = max(0, min(start, self.size))
        end = self.size if size is None else min(self.size, start + max(size, 0))
        return FileSlice(self._file, self.position + start, end - start)

    def pread(self, start: int = 0) -> bytes:
        """The bytes from ``start`` (relative) to the end of the slice."""
        want = self.size - start
        if want <= 0:
            return b""
        data = os.pread(self._file.fd, want, self.position + start)
        if len(data) != want:
            raise OSError(f"short read of {self._file.path}: {len(data)} of {want} bytes")
        return data

    def read(self) -> bytes:
        """All bytes of the slice (tests, logging, small control reads)."""
        return self.pread(0)

    def sendfile(self, sock_fd: int, start: int = 0) -> int:
        """Send from ``start`` as much as a non-blocking socket takes; returns bytes sent."""
        sent = 0
        fd = self._file.fd
        while start + sent < self.size:
            try:
                n = os.sendfile(sock_fd, fd, self.position + start + sent, self.size - start - sent)
            except (BlockingIOError, InterruptedError):
                break
            if n == 0:
                break
            sent += n
        return sent

    def __repr__(self) -> str:
        return f"FileSlice({self._file.path.name}, position={self.position}, size={self.size})"
