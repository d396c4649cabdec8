"""Retention on a running broker: old segments go, the log start offset moves, readers follow."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from protocol.error_codes import ErrorCode
from protocol.records import RecordSpec, build_batch
from tests.integration.test_data_path_protocol import create, fetch, list_offsets, produce
from tests.support.broker import BrokerProcess


@pytest.fixture(scope="module")
def fast_retention_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    proc = BrokerProcess(
        tmp_path_factory.mktemp("retention"), overrides={"log.retention.check.interval.ms": "200"}
    ).start()
    try:
        yield proc
    finally:
        proc.stop()


def wait_for_log_start(sock: Any, topic: str, minimum: int, timeout: float = 20.0) -> int:
    deadline = time.monotonic() + timeout
    while True:
        error, start, _ = list_offsets(sock, topic, -2)
        assert error == 0
        if start >= minimum or time.monotonic() > deadline:
            return start
        time.sleep(0.1)


def segment_files(broker: BrokerProcess, topic: str) -> list[Path]:
    return sorted((broker.data_dir / "logs" / f"{topic}-0").glob("*.log"))


def test_time_retention_deletes_old_segments(fast_retention_broker: BrokerProcess) -> None:
    old = int(time.time() * 1000) - 3_600_000  # an hour ago: beyond retention.ms at once
    with fast_retention_broker.connect() as sock:
        create(sock, "ret-time", segment_bytes="1024", retention_ms="60000")
        for i in range(20):
            produce(sock, "ret-time", build_batch([RecordSpec(b"k%d" % i, b"x" * 300, timestamp=old)]))
        # the records written now stay: their segment is newer than retention.ms
        produce(sock, "ret-time", build_batch([RecordSpec(b"fresh", b"y" * 600)]))  # rolls a new segment
        start = wait_for_log_start(sock, "ret-time", 20)
        assert start == 20
        assert (
            fetch(sock, "ret-time", 0).responses[0].partitions[0].error_code == ErrorCode.OFFSET_OUT_OF_RANGE
        )
        p = fetch(sock, "ret-time", start).responses[0].partitions[0]
        assert p.error_code == 0 and p.log_start_offset == 20 and p.high_watermark == 21
    assert len(segment_files(fast_retention_broker, "ret-time")) <= 2


def test_size_retention_keeps_the_newest_bytes(fast_retention_broker: BrokerProcess) -> None:
    with fast_retention_broker.connect() as sock:
        create(sock, "ret-size", segment_bytes="1024", retention_bytes="2048")
        for i in range(30):
            produce(sock, "ret-size", build_batch([RecordSpec(b"k%d" % i, b"x" * 300)]))
        start = wait_for_log_start(sock, "ret-size", 1)
        assert 0 < start < 30
        total = sum(f.stat().st_size for f in segment_files(fast_retention_broker, "ret-size"))
        # what is left is at most retention.bytes plus the active segment
        assert total <= 2048 + 1024
        assert list_offsets(sock, "ret-size", -1)[1] == 30
