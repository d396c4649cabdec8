"""pybroker.memory: freed megabyte buffers are reused instead of faulting in fresh pages."""

from __future__ import annotations

import subprocess
import sys

# 200 cycles of ~1 MiB buffers (5 alive at a time, as request frames are); prints minor faults
CHURN = """
import resource, sys
from pybroker.memory import keep_freed_memory
if sys.argv[1] == "tuned" and not keep_freed_memory():
    raise SystemExit("mallopt refused")
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
alive = []
before = faults()
for i in range(200):
    alive.append(bytearray((1 << 20) + 4096 * (i % 7)))
    if len(alive) > 5:
        alive.pop(0)
print(faults() - before)
"""


def churn_faults(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", CHURN, mode], capture_output=True, text=True, timeout=60, check=True)
    return int(done.stdout)


def test_freed_buffers_are_reused() -> None:
    pages_allocated = 200 * 256  # 4 KiB pages in 200 one-MiB buffers
    default, tuned = churn_faults("default"), churn_faults("tuned")
    # glibc's defaults give back many freed buffers (a third of the pages fault here); tuned,
    # only the first few buffers fault
    assert tuned < pages_allocated // 10 < default
