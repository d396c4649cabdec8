"""The broker's periodic storage duties wait for the disk off the event loop: the deferred fsync
of a rolled segment, the checkpoint files and the removal of a deleted partition's directory run
in the broker's storage-io thread, and their results (the recovery point) are committed back on
the loop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from protocol.messages.fetch_request import FetchPartition, FetchRequest, FetchTopic
from pybroker.broker import Broker
from pybroker.client import BrokerConnection
from pybroker.config import BrokerConfig
from pybroker.partition import Partition
from storage.checkpoint import OffsetCheckpointFile
from storage.log_manager import HIGH_WATERMARK_CHECKPOINT_FILE, RECOVERY_POINT_CHECKPOINT_FILE
from tests.unit.test_storage_support import batch

pytestmark = pytest.mark.timeout(60)


@contextlib.asynccontextmanager
async def broker_with_topic(
    tmp_path: Path, overrides: dict[str, str]
) -> AsyncIterator[tuple[Broker, Partition]]:
    """An in-process standalone broker logging to ``tmp_path`` with topic ``t`` (one partition)."""
    broker = Broker(
        BrokerConfig({"listeners": "PLAINTEXT://127.0.0.1:0", "log.dirs": str(tmp_path), **overrides})
    )
    await broker.start()
    try:
        broker.replica_manager.ensure_partitions(broker.controller.create_topic("t", 1, 1, {}))
        partition = broker.replica_manager.get("t", 0)
        assert partition is not None
        yield broker, partition
    finally:
        await broker.stop()


async def wait_removed(tmp_path: Path, deadline: float) -> None:
    """Until no directory of partition ``t-0`` (renamed for deletion or not) is left."""
    while any(p.name.startswith("t-0") for p in tmp_path.iterdir()):
        assert time.monotonic() < deadline, "the deleted partition's directory stayed"
        await asyncio.sleep(0.05)


async def test_roll_fsync_checkpoints_and_deletion_run_in_the_storage_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    overrides = {
        "log.segment.bytes": "300",
        "log.flush.offset.checkpoint.interval.ms": "1",
        "replica.high.watermark.checkpoint.interval.ms": "1",
    }
    async with broker_with_topic(tmp_path, overrides) as (broker, partition):
        fsync_threads: list[str] = []
        real_fsync = os.fsync

        def fsync(fd: int) -> None:
            fsync_threads.append(threading.current_thread().name)
            real_fsync(fd)

        monkeypatch.setattr(os, "fsync", fsync)
        for _ in range(6):
            partition.log.append_as_leader(batch(1, value_size=100), 0)
        rolled_to = partition.log.active_segment.base_offset
        assert rolled_to > 0
        recovery_points = OffsetCheckpointFile(tmp_path / RECOVERY_POINT_CHECKPOINT_FILE)
        deadline = time.monotonic() + 10
        # the broker's ticks (every second): the first flushes the rolled segments and commits
        # the recovery point, a later one checkpoints it
        while partition.log.recovery_point < rolled_to or recovery_points.read().get(("t", 0)) != rolled_to:
            assert time.monotonic() < deadline, "the rolled segments were not flushed and checkpointed"
            await asyncio.sleep(0.05)
        assert (tmp_path / HIGH_WATERMARK_CHECKPOINT_FILE).exists()
        assert fsync_threads and all(name.startswith("storage-io") for name in fsync_threads), fsync_threads
        assert threading.current_thread().name not in fsync_threads

        removed_in: list[str] = []
        real_rmtree = shutil.rmtree

        def rmtree(path: Path, ignore_errors: bool = False) -> None:
            removed_in.append(threading.current_thread().name)
            real_rmtree(path, ignore_errors=ignore_errors)

        monkeypatch.setattr(shutil, "rmtree", rmtree)
        await broker.topic_admin.delete_topic("t")
        assert not (tmp_path / "t-0").exists()  # renamed at once
        await wait_removed(tmp_path, deadline + 10)
        assert removed_in and all(name.startswith("storage-io") for name in removed_in), removed_in


def _open_deleted_files(under: Path) -> list[str]:
    """This process's descriptors of files under ``under`` that have been unlinked."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(under)) and target.endswith("(deleted)"):
            found.append(target)
    return found


async def test_an_idle_connection_keeps_no_deleted_segment_open(tmp_path: Path) -> None:
    """A Fetch response's file regions hold their segment file open only until it is written: a
    consumer connection that then goes quiet must not keep a deleted topic's segment (and so
    the freeing of its pages, later, on the loop) alive."""
    async with broker_with_topic(tmp_path, {}) as (broker, partition):
        partition.append_from_client(batch(5, value_size=100), 1)
        conn = await BrokerConnection.connect("127.0.0.1", broker.server.bound_ports["PLAINTEXT"])
        try:
            response = await conn.request(
                1,
                12,
                FetchRequest(
                    replica_id=-1,
                    max_wait_ms=0,
                    max_bytes=1 << 20,
                    session_epoch=-1,
                    topics=[FetchTopic(topic="t", partitions=[FetchPartition(partition=0, fetch_offset=0)])],
                ),
            )
            assert len(response.responses[0].partitions[0].records) > 0  # sent from the segment file
            del response
            await broker.topic_admin.delete_topic("t")
            await wait_removed(tmp_path, time.monotonic() + 10)
            assert _open_deleted_files(tmp_path) == []  # the connection is still open and idle
        finally:
            await conn.close()
