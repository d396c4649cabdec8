"""Injectable wall clock: every time-dependent storage decision reads a :data:`Clock`.

Storage never calls ``time`` directly except through :func:`system_clock_ms`, the default; tests
pass a callable returning whatever milliseconds they want (or pass ``now_ms`` to a method).
"""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], int]
"""A callable returning wall-clock milliseconds since the epoch."""


def system_clock_ms() -> int:
    """Milliseconds since the Unix epoch from the system clock."""
    return time.time_ns() // 1_000_000
