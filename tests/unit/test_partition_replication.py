"""A partition's replication duties on real logs, without sockets: the leader's high watermark,
acks=all waits, ISR changes through the writer, role changes, and a follower appending the
leader's bytes and truncating a divergent tail."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from protocol.error_codes import ErrorCode
from protocol.records import RecordSpec, build_batch, iter_batches
from pybroker.metadata import PartitionState
from pybroker.partition import Partition
from storage.config import LogConfig
from storage.log import Log


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000

    def __call__(self) -> int:
        return self.now


class IsrWriter:
    """Records every ISR the leader asks to commit; answers as ZooKeeper would (or fences)."""

    def __init__(self, accept: bool = True) -> None:
        self.accept = accept
        self.calls: list[list[int]] = []

    async def __call__(self, partition: Partition, isr: list[int]) -> bool:
        self.calls.append(sorted(isr))
        return self.accept


def make(
    tmp_path: Path,
    broker_id: int,
    state: PartitionState,
    clock: Clock,
    min_isr: int = 1,
    name: str = "t-0",
) -> Partition:
    config = LogConfig(segment_index_bytes=4096, min_insync_replicas=min_isr)
    log = Log.open(tmp_path / name, config, clock=clock)
    return Partition(broker_id, "t", 0, uuid.uuid4(), state, log, config, clock)


def records(n: int, tag: str = "v") -> bytearray:
    return bytearray(build_batch([RecordSpec(None, f"{tag}{i}".encode()) for i in range(n)]))


def rf3(leader: int = 1, epoch: int = 5, isr: list[int] | None = None) -> PartitionState:
    return PartitionState(0, leader, epoch, [1, 2, 3], list(isr if isr is not None else [1, 2, 3]))


async def test_acks_all_waits_until_every_isr_member_has_fetched_past_the_batch(tmp_path: Path) -> None:
    clock = Clock()
    leader = make(tmp_path, 1, rf3(), clock)
    result = leader.append_from_client(records(3), acks=-1)
    assert result.error == ErrorCode.NONE and result.base_offset == 0
    assert result.wait is not None and not result.wait.done()
    assert leader.log.high_watermark == 0

    # follower 2 has everything, follower 3 has not fetched yet: the ISR minimum is still 0
    assert leader.on_follower_fetch(2, 3)
    assert leader.log.high_watermark == 0 and not result.wait.done()
    assert leader.on_follower_fetch(3, 3)
    assert leader.log.high_watermark == 3
    assert result.wait.done() and result.wait.result() == ErrorCode.NONE
    # acks=1 answers at once and never waits
    assert leader.append_from_client(records(1), acks=1).wait is None


async def test_consumers_read_below_the_high_watermark_followers_to_the_log_end(tmp_path: Path) -> None:
    clock = Clock()
    leader = make(tmp_path, 1, rf3(), clock)
    leader.append_from_client(records(4), acks=1)
    consumer = leader.read(0, 1 << 20, 0, -1, -1, True)
    assert consumer.error == ErrorCode.NONE and consumer.size == 0 and consumer.high_watermark == 0
    follower = leader.read(0, 1 << 20, 0, 5, -1, True, replica_id=2)
    assert follower.error == ErrorCode.NONE and follower.size > 0
    # an unknown replica id is refused
    assert leader.read(0, 1 << 20, 0, 5, -1, True, replica_id=9).error == ErrorCode.NOT_LEADER_OR_FOLLOWER


async def test_lagging_follower_leaves_the_isr_through_the_writer(tmp_path: Path) -> None:
    clock = Clock()
    writer = IsrWriter()
    leader = make(tmp_path, 1, rf3(), clock, min_isr=2)
    leader.isr_writer = writer
    result = leader.append_from_client(records(2), acks=-1)
    assert result.wait is not None
    leader.on_follower_fetch(2, 2)
    clock.now += 10_001
    leader.on_follower_fetch(2, 2)  # 2 keeps up, 3 never fetches
    leader.maybe_shrink_isr(10_000)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert writer.calls == [[1, 2]]
    assert leader.isr == [1, 2]
    assert leader.log.high_watermark == 2
    assert result.wait.result() == ErrorCode.NONE  # 2 in-sync replicas satisfy min.insync.replicas=2


async def test_shrink_below_min_isr_answers_not_enough_replicas_after_append(tmp_path: Path) -> None:
    clock = Clock()
    writer = IsrWriter()
    leader = make(tmp_path, 1, rf3(), clock, min_isr=2)
    leader.isr_writer = writer
    result = leader.append_from_client(records(1), acks=-1)
    clock.now += 10_001
    leader.maybe_shrink_isr(10_000)
    for _ in range(3):
        await asyncio.sleep(0)
    assert writer.calls == [[1]]
    assert result.wait is not None and result.wait.result() == ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND
    # and now the ISR is too small to take acks=all at all
    refused = leader.append_from_client(records(1), acks=-1)
    assert refused.error == ErrorCode.NOT_ENOUGH_REPLICAS


async def test_fenced_isr_change_is_not_applied(tmp_path: Path) -> None:
    clock = Clock()
    leader = make(tmp_path, 1, rf3(), clock)
    leader.isr_writer = IsrWriter(accept=False)
    clock.now += 10_001
    leader.maybe_shrink_isr(10_000)
    for _ in range(3):
        await asyncio.sleep(0)
    assert leader.isr == [1, 2, 3]


async def test_caught_up_follower_rejoins_the_isr(tmp_path: Path) -> None:
    clock = Clock()
    writer = IsrWriter()
    leader = make(tmp_path, 1, rf3(isr=[1, 2]), clock)
    leader.isr_writer = writer
    leader.append_from_client(records(3), acks=1)
    leader.on_follower_fetch(2, 3)
    assert leader.log.high_watermark == 3
    leader.on_follower_fetch(3, 1)  # below the high watermark: not yet
    await asyncio.sleep(0)
    assert writer.calls == []
    leader.on_follower_fetch(3, 3)
    for _ in range(3):
        await asyncio.sleep(0)
    assert writer.calls == [[1, 2, 3]] and leader.isr == [1, 2, 3]


async def test_losing_leadership_fails_waiting_produces_and_refuses_clients(tmp_path: Path) -> None:
    clock = Clock()
    leader = make(tmp_path, 1, rf3(), clock)
    result = leader.append_from_client(records(1), acks=-1)
    assert leader.make_follower(rf3(leader=2, epoch=6), 7)
    assert result.wait is not None and result.wait.result() == ErrorCode.NOT_LEADER_OR_FOLLOWER
    assert leader.append_from_client(records(1), acks=1).error == ErrorCode.NOT_LEADER_OR_FOLLOWER
    assert leader.read(0, 1 << 20, 0, -1, -1, True).error == ErrorCode.NOT_LEADER_OR_FOLLOWER
    assert leader.read(0, 1 << 20, 0, 5, -1, True).error == ErrorCode.FENCED_LEADER_EPOCH
    # same leader and epoch again is no change; a new epoch is
    assert not leader.make_follower(rf3(leader=2, epoch=6), 8)
    assert leader.make_follower(rf3(leader=2, epoch=7), 9)


async def test_follower_appends_the_leaders_bytes_and_takes_its_high_watermark(tmp_path: Path) -> None:
    clock = Clock()
    leader = make(tmp_path, 1, rf3(), clock, name="t-1")
    follower = make(tmp_path, 2, rf3(), clock, name="t-2")
    follower.make_follower(rf3(), 0)
    leader.append_from_client(records(3, "a"), acks=1)
    leader.append_from_client(records(2, "b"), acks=1)
    data = leader.read(0, 1 << 20, 0, 5, -1, True, replica_id=2)
    assert data.records is not None
    payload = data.records.pread(0)
    follower.append_as_follower(payload, leader_high_watermark=3, leader_log_start=0)
    assert follower.log.log_end_offset == 5
    assert follower.log.high_watermark == 3
    assert follower.log.latest_epoch == 5
    assert [h.base_offset for _, h in iter_batches(payload)] == [0, 3]


async def test_new_leader_epoch_starts_at_the_log_end(tmp_path: Path) -> None:
    clock = Clock()
    partition = make(tmp_path, 1, rf3(epoch=5), clock)
    partition.append_from_client(records(4), acks=1)
    assert partition.make_follower(rf3(leader=2, epoch=6), 3)
    assert partition.make_leader(rf3(leader=1, epoch=7), 4)
    assert partition.log.end_offset_for_epoch(5) == (5, 4)
    assert partition.log.latest_epoch == 7
    # the same epoch again only updates the replica set
    assert not partition.make_leader(rf3(leader=1, epoch=7, isr=[1, 3]), 5)
    assert partition.isr == [1, 3]


async def test_truncation_drops_the_divergent_tail_and_its_producer_state(tmp_path: Path) -> None:
    clock = Clock()
    partition = make(tmp_path, 1, rf3(), clock)
    idempotent = bytearray(
        build_batch([RecordSpec(None, b"x")], producer_id=7, producer_epoch=0, base_sequence=0)
    )
    partition.append_from_client(records(3), acks=1)
    partition.append_from_client(idempotent, acks=1)
    assert partition.producers.last_entry(7) is not None
    partition.make_follower(rf3(leader=2, epoch=6), 1)
    partition.truncate_to(3)
    assert partition.log.log_end_offset == 3
    assert partition.producers.last_entry(7) is None


@pytest.mark.parametrize("acks", [0, 1])
async def test_acks_0_and_1_never_wait(tmp_path: Path, acks: int) -> None:
    leader = make(tmp_path, 1, rf3(), Clock())
    assert leader.append_from_client(records(1), acks=acks).wait is None


async def test_truncating_at_the_log_end_drops_an_epoch_led_without_appending(tmp_path: Path) -> None:
    """A replica that led an epoch but appended nothing must forget that epoch when the new
    leader says it diverges there, or it would be told to truncate forever."""
    partition = make(tmp_path, 1, rf3(epoch=5), Clock())
    partition.append_from_client(records(4), acks=1)
    partition.make_follower(rf3(leader=2, epoch=6), 1)
    partition.make_leader(rf3(leader=1, epoch=7), 2)
    partition.make_follower(rf3(leader=3, epoch=8), 3)
    assert partition.log.latest_epoch == 7
    partition.truncate_to(4)
    assert partition.log.log_end_offset == 4 and partition.log.latest_epoch == 5


def test_acks_all_wait_ends_at_the_timeout_and_keeps_what_completed() -> None:
    """ReplicaManager.await_acks: completed appends keep their result, the rest time out (and
    their futures are cancelled, so a later high-watermark move does not touch them)."""
    from pybroker.metadata import MetadataCache
    from pybroker.replica_manager import ReplicaManager

    class Response:
        error_code = ErrorCode.NONE

    async def run() -> None:
        replicas = ReplicaManager(1, MetadataCache(), lambda _topic: LogConfig())
        loop = asyncio.get_running_loop()
        done_early, late, never = loop.create_future(), loop.create_future(), loop.create_future()
        done_early.set_result(ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND)
        loop.call_later(0.05, late.set_result, ErrorCode.NONE)
        responses = [Response(), Response(), Response()]
        started = loop.time()
        await replicas.await_acks(zip(responses, [done_early, late, never], strict=True), 300)
        assert loop.time() - started >= 0.3
        assert [r.error_code for r in responses] == [
            ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
            ErrorCode.NONE,
            ErrorCode.REQUEST_TIMED_OUT,
        ]
        assert never.cancelled()
        # all replicated in time: no waiting for the timeout
        ok = [loop.create_future() for _ in range(2)]
        for f in ok:
            loop.call_later(0.01, f.set_result, ErrorCode.NONE)
        started = loop.time()
        fresh = [Response(), Response()]
        await replicas.await_acks(zip(fresh, ok, strict=True), 5_000)
        assert loop.time() - started < 1 and [r.error_code for r in fresh] == [ErrorCode.NONE] * 2

    asyncio.run(run())


def test_parked_fetch_wakes_on_data_or_returns_at_its_timeout() -> None:
    from pybroker.metadata import MetadataCache
    from pybroker.replica_manager import ReplicaManager

    async def run() -> None:
        replicas = ReplicaManager(1, MetadataCache(), lambda _topic: LogConfig())
        loop = asyncio.get_running_loop()
        started = loop.time()
        await replicas.wait_for_data([("t", 0)], 0.2)
        assert loop.time() - started >= 0.2
        loop.call_later(0.02, replicas._wake, ("t", 0))
        started = loop.time()
        await replicas.wait_for_data([("t", 0), ("u", 1)], 5)
        assert loop.time() - started < 1
        assert not replicas._waiters  # both keys unregistered

    asyncio.run(run())


async def test_every_roll_snapshots_producer_state_and_a_moved_log_start_drops_older_ones(
    tmp_path: Path,
) -> None:
    """Kafka's snapshot per roll, at the new segment's base offset and holding the state of the
    batches below it (so recovery after a crash replays at most one segment); retention or
    DeleteRecords moving the log start removes the snapshots below it."""
    from storage.producer_state import read_snapshot, snapshot_path

    clock = Clock()
    config = LogConfig(segment_bytes=600, segment_index_bytes=4096)
    log = Log.open(tmp_path / "t-0", config, clock=clock)
    partition = Partition(1, "t", 0, uuid.uuid4(), PartitionState(0, 1, 5, [1], [1]), log, config, clock)
    for seq in range(0, 24, 2):
        data = build_batch(
            [RecordSpec(None, b"x" * 100), RecordSpec(None, b"y" * 100)],
            producer_id=7,
            producer_epoch=0,
            base_sequence=seq,
        )
        assert partition.append_from_client(bytearray(data), 1).error == ErrorCode.NONE
    bases = [segment.base_offset for segment in log.segments]
    assert len(bases) >= 4
    assert partition.producers.snapshot_offsets() == bases[1:]
    for base in bases[1:]:
        (entry,) = read_snapshot(snapshot_path(log.dir, base))
        assert entry.producer_id == 7 and entry.batches[-1].last_seq == base - 1  # offsets = sequences

    assert log.maybe_increment_log_start_offset(bases[2]) == bases[2]
    assert partition.producers.snapshot_offsets() == bases[2:]
    assert not snapshot_path(log.dir, bases[1]).exists()
    log.close()
