"""The C allocator's settings for a broker's allocation pattern.

A broker allocates and frees buffers of a megabyte or more at the request rate: every request
frame is read into its own buffer, and held responses read their file regions into memory.
With glibc's defaults such a block goes back to the kernel as soon as it is freed (an ``munmap``,
or a trim of the heap's top), so the next one is made of fresh pages: one page fault and one
zeroed page per 4 KiB. On a replication leader that was about a sixth of its CPU time
(``bench/replication.py``, measured with ``perf``).

:func:`keep_freed_memory` raises glibc's thresholds so that blocks up to 32 MiB come from the
heap and up to 256 MiB of freed heap stays with the process for the next buffers. Other C
libraries are left as they are.
"""

from __future__ import annotations

import ctypes

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3
TRIM_THRESHOLD_BYTES = 256 << 20
MMAP_THRESHOLD_BYTES = 32 << 20  # glibc's upper bound for this setting on 64-bit systems


def keep_freed_memory() -> bool:
    """Apply the thresholds; False where the C library has no ``mallopt`` or refuses them."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    )
