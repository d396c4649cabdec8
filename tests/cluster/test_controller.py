"""The ZooKeeper-mode controller against a real ZooKeeper: fake brokers (ephemeral registrations
in their own sessions) and the partition state znodes the controller writes."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from protocol.error_codes import ErrorCode
from pybroker.cluster import zk_layout as L
from pybroker.cluster.controller import Controller, ControllerMovedError
from pybroker.cluster.controller_election import ControllerElection
from pybroker.cluster.registration import ensure_persistent_paths
from pybroker.cluster.zk_admin import ZkAdmin
from pybroker.cluster.zk_client import ZkClient
from pybroker.config import BrokerConfig
from tests.cluster.fake_brokers import FakeBrokers
from tests.support.zookeeper import wait_until

pytestmark = pytest.mark.timeout(60)


@dataclass
class Env:
    connect: str
    zk: ZkClient  # an observer session (also what tests write through, as a leader would)
    brokers: FakeBrokers
    made: list[tuple[ZkClient, ControllerElection, Controller | None]] = field(default_factory=list)

    async def candidate(self, broker_id: int = 100) -> tuple[ZkClient, ControllerElection]:
        zk = ZkClient(self.connect, session_timeout_ms=4000, connection_timeout_ms=10000)
        await zk.start()
        election = ControllerElection(zk, broker_id)
        await election.start()
        self.made.append((zk, election, None))
        return zk, election

    async def controller(self, broker_id: int = 100, **overrides: str) -> Controller:
        zk, election = await self.candidate(broker_id)
        await wait_until(lambda: election.is_controller, 10, f"candidate {broker_id} to win")
        return await self.run_controller(zk, election, **overrides)

    async def run_controller(
        self, zk: ZkClient, election: ControllerElection, **overrides: str
    ) -> Controller:
        props = {"broker.id": str(election.broker_id), "auto.leader.rebalance.enable": "false"}
        props.update({k.replace("_", "."): v for k, v in overrides.items()})
        c = Controller(zk, election, BrokerConfig(props))
        await c.start()
        self.made.append((zk, election, c))
        return c

    async def create(
        self, name: str, assignment: dict[int, list[int]], configs: dict[str, str] | None = None
    ) -> None:
        await ZkAdmin(self.zk).create_topic(
            name, -1, -1, configs or {}, assignment, default_partitions=1, default_replication_factor=1
        )

    async def state(self, topic: str, p: int) -> L.PartitionState | None:
        got = await self.zk.get_or_none(L.partition_state_path(topic, p))
        return None if got is None else L.decode_partition_state(got[0], got[1].version)

    async def topic(self, name: str) -> L.TopicAssignment | None:
        got = await self.zk.get_or_none(L.topic_path(name))
        return None if got is None else L.decode_topic(name, got[0])

    async def leader_writes_isr(self, topic: str, p: int, isr: list[int]) -> None:
        """What a partition leader does: rewrite the ISR at the version it read, keeping the rest."""
        s = await self.state(topic, p)
        assert s is not None
        new = L.PartitionState(s.leader, s.leader_epoch, isr, s.controller_epoch, s.leader_recovery_state)
        await self.zk.set(L.partition_state_path(topic, p), L.encode_partition_state(new), s.partition_epoch)


async def eventually(
    read: Callable[[], Awaitable[Any]], pred: Callable[[Any], bool], what: str, timeout: float = 10
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await read()
        if pred(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {value!r}")
        await asyncio.sleep(0.02)


def led(leader: int, isr: list[int]) -> Callable[[L.PartitionState | None], bool]:
    return lambda s: s is not None and s.leader == leader and s.isr == isr


@pytest.fixture
async def env(zk_connect: str) -> AsyncIterator[Env]:
    zk = ZkClient(zk_connect, session_timeout_ms=4000, connection_timeout_ms=10000)
    await zk.start()
    await ensure_persistent_paths(zk)
    e = Env(zk_connect, zk, FakeBrokers(zk_connect))
    yield e
    for czk, election, c in reversed(e.made):
        if c is not None:
            await c.stop()
        else:
            await election.stop(delete_znode=False)
            await czk.close()
    await e.brokers.close()
    await zk.close()


async def test_new_topics_and_partitions_get_initial_states(env: Env) -> None:
    for b in (1, 2, 3):
        await env.brokers.start(b)
    c = await env.controller()
    assert c.epoch == 1
    await env.create("t", {0: [1, 2], 1: [2, 3], 2: [3, 1]})
    for p, replicas in {0: [1, 2], 1: [2, 3], 2: [3, 1]}.items():
        s = await eventually(lambda p=p: env.state("t", p), lambda s: s is not None, f"state of t-{p}")
        assert (s.leader, s.isr, s.leader_epoch, s.controller_epoch) == (replicas[0], replicas, 0, 1)
    data, _ = await env.zk.get(L.partition_state_path("t", 0))
    assert json.loads(data) == {
        "controller_epoch": 1,
        "leader": 1,
        "version": 1,
        "leader_epoch": 0,
        "isr": [1, 2],
    }
    # partitions added by any broker (ZkAdmin) get their states too
    await ZkAdmin(env.zk).create_partitions("t", 4, [[2, 1]])
    await eventually(lambda: env.state("t", 3), led(2, [2, 1]), "state of t-3")
    # a replica that is down is left out of the initial ISR
    await env.create("u", {0: [4, 1]})
    await eventually(lambda: env.state("u", 0), led(1, [1]), "state of u-0")
    # a topic written without a topic id (an old tool) gets one
    await env.zk.create(L.topic_path("old"), json.dumps({"version": 1, "partitions": {"0": [3]}}).encode())
    t = await eventually(
        lambda: env.topic("old"), lambda t: t is not None and t.topic_id is not None, "topic id"
    )
    assert len(t.topic_id) == 22
    await eventually(lambda: env.state("old", 0), led(3, [3]), "state of old-0")


async def test_leader_failover_from_the_isr_and_follower_leaves_isr(env: Env) -> None:
    for b in (1, 2, 3):
        await env.brokers.start(b)
    await env.controller()
    await env.create("f", {0: [1, 2, 3], 1: [2, 1, 3]})
    await eventually(lambda: env.state("f", 1), led(2, [2, 1, 3]), "f-1 online")
    await env.leader_writes_isr("f", 0, [1, 3, 2])
    await env.brokers.kill(1)
    s0 = await eventually(
        lambda: env.state("f", 0), led(2, [3, 2]), "f-0 led by the first live ISR member in assignment order"
    )
    assert s0.leader_epoch == 1 and s0.controller_epoch == 1
    s1 = await eventually(lambda: env.state("f", 1), led(2, [2, 3]), "broker 1 out of f-1's ISR")
    assert s1.leader_epoch == 1


async def test_no_leader_when_no_isr_member_is_live_then_recovery(env: Env) -> None:
    for b in (1, 2):
        await env.brokers.start(b)
    await env.controller()
    await env.create("n", {0: [1, 2]})
    await eventually(lambda: env.state("n", 0), led(1, [1, 2]), "n-0 online")
    await env.leader_writes_isr("n", 0, [1])  # broker 2 fell behind
    await env.brokers.kill(1)
    s = await eventually(lambda: env.state("n", 0), led(-1, [1]), "no leader, ISR keeps its last member")
    assert s.leader_epoch == 1
    await asyncio.sleep(0.2)
    assert (await env.state("n", 0)) == s  # broker 2 is not elected: unclean election is off
    await env.brokers.start(1)  # it comes back
    s = await eventually(lambda: env.state("n", 0), led(1, [1]), "the ISR member leads again")
    assert s.leader_epoch == 2
    # a partition none of whose replicas is live waits uninitialised until one registers
    await env.create("late", {0: [5, 2]})
    await env.brokers.kill(2)
    await env.create("later", {0: [5]})
    await asyncio.sleep(0.3)
    assert await env.state("later", 0) is None
    await env.brokers.start(5)
    await eventually(lambda: env.state("later", 0), led(5, [5]), "later-0 initialised by broker 5's arrival")


async def test_unclean_election_by_topic_config_and_by_elect_leaders(env: Env) -> None:
    for b in (1, 2):
        await env.brokers.start(b)
    c = await env.controller()
    await env.create("dirty", {0: [1, 2]}, {"unclean.leader.election.enable": "true"})
    await env.create("clean", {0: [1, 2]})
    for t in ("dirty", "clean"):
        await eventually(lambda t=t: env.state(t, 0), led(1, [1, 2]), f"{t}-0 online")
        await env.leader_writes_isr(t, 0, [1])
    await env.brokers.kill(1)
    s = await eventually(lambda: env.state("dirty", 0), led(2, [2]), "unclean leader")
    assert s.leader_recovery_state == L.LEADER_RECOVERY_RECOVERING
    await eventually(lambda: env.state("clean", 0), led(-1, [1]), "clean-0 without leader")
    # preferred election cannot help, an unclean one (ElectLeaders type 1) can
    res = await c.elect_leaders(0, [("clean", 0)])
    assert res == {
        ("clean", 0): (
            ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
            "Failed to elect leader for partition clean-0 under strategy PreferredReplicaPartitionLeaderElectionStrategy",
        )
    }
    res = await c.elect_leaders(1, [("clean", 0), ("dirty", 0), ("nope", 0)])
    assert res[("clean", 0)] == (ErrorCode.NONE, None)
    assert res[("dirty", 0)] == (
        ErrorCode.ELECTION_NOT_NEEDED,
        "Leader election not needed for topic partition.",
    )
    assert res[("nope", 0)] == (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "The partition does not exist.")
    assert led(2, [2])(await env.state("clean", 0))


async def test_unclean_enabled_later_by_config_change(env: Env) -> None:
    for b in (1, 2):
        await env.brokers.start(b)
    await env.controller()
    await env.create("x", {0: [1, 2]})
    await eventually(lambda: env.state("x", 0), led(1, [1, 2]), "x-0 online")
    await env.leader_writes_isr("x", 0, [1])
    await env.brokers.kill(1)
    await eventually(lambda: env.state("x", 0), led(-1, [1]), "x-0 without leader")
    await ZkAdmin(env.zk).set_topic_config("x", {"unclean.leader.election.enable": "true"})
    await eventually(lambda: env.state("x", 0), led(2, [2]), "unclean election after the config change")


async def test_topic_deletion(env: Env) -> None:
    await env.brokers.start(1)
    await env.controller()
    await env.create("del", {0: [1], 1: [1]}, {"retention.ms": "1000"})
    await eventually(lambda: env.state("del", 1), led(1, [1]), "del online")
    await ZkAdmin(env.zk).delete_topic("del")

    async def gone() -> list[bool]:
        return [
            await env.zk.exists(p) is None
            for p in (L.topic_path("del"), L.topic_config_path("del"), L.delete_topic_path("del"))
        ]

    await eventually(gone, all, "the topic, its config and the marker to go")
    # a marker for a topic that does not exist is just removed
    await env.zk.create(L.delete_topic_path("ghost"))
    await eventually(lambda: env.zk.exists(L.delete_topic_path("ghost")), lambda s: s is None, "ghost marker")
    # the name can be used again at once
    await env.create("del", {0: [1]})
    await eventually(lambda: env.state("del", 0), led(1, [1]), "re-created del-0")


async def test_controlled_shutdown(env: Env) -> None:
    epochs = {b: await env.brokers.start(b) for b in (1, 2, 3)}
    c = await env.controller()
    await env.create("cs", {0: [1, 2], 1: [2, 1], 2: [1, 3]})
    await env.create("single", {0: [1]})
    await eventually(lambda: env.state("cs", 2), led(1, [1, 3]), "cs online")
    await eventually(lambda: env.state("single", 0), led(1, [1]), "single online")
    await env.leader_writes_isr("cs", 2, [1])  # broker 3 out of sync: 1 cannot hand cs-2 over
    assert await c.controlled_shutdown(1, epochs[1] - 1) == (ErrorCode.STALE_BROKER_EPOCH, [])
    assert await c.controlled_shutdown(9, -1) == (ErrorCode.BROKER_NOT_AVAILABLE, [])
    error, remaining = await c.controlled_shutdown(1, epochs[1])
    assert error == ErrorCode.NONE and sorted(remaining) == [("cs", 2), ("single", 0)]
    s0 = await env.state("cs", 0)
    assert led(2, [2])(s0) and s0 is not None and s0.leader_epoch == 1
    assert led(2, [2])(await env.state("cs", 1))
    assert led(1, [1])(await env.state("cs", 2))  # no other ISR member: still led by 1
    assert led(1, [1])(await env.state("single", 0))  # single replica: untouched
    # a shutting-down broker is never elected, even if a leader put it back in an ISR
    await env.leader_writes_isr("cs", 1, [2, 1])
    await env.brokers.kill(2)
    await eventually(lambda: env.state("cs", 1), led(-1, [1]), "cs-1 without leader")
    await asyncio.sleep(0.2)
    assert (await env.state("cs", 1)).leader == -1  # type: ignore[union-attr]
    # ...until it registers again (a new broker epoch)
    await env.brokers.kill(1)
    await env.brokers.start(1)
    await eventually(lambda: env.state("cs", 1), led(1, [1]), "broker 1 leads again after re-registering")
    assert await c.controlled_shutdown(1, -1) == (ErrorCode.NONE, [("cs", 1), ("cs", 2), ("single", 0)])


async def test_preferred_leader_election(env: Env) -> None:
    for b in (1, 2):
        await env.brokers.start(b)
    c = await env.controller()
    await env.create("pr", {0: [1, 2], 1: [2, 1]})
    await eventually(lambda: env.state("pr", 1), led(2, [2, 1]), "pr online")
    await env.brokers.kill(1)
    await eventually(lambda: env.state("pr", 0), led(2, [2]), "pr-0 failed over")
    await env.brokers.start(1)
    await asyncio.sleep(0.2)
    assert led(2, [2])(await env.state("pr", 0))  # back, but out of the ISR: no change
    res = await c.elect_leaders(0, None)
    assert list(res) == [("pr", 0)] and res[("pr", 0)][0] == ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE
    await env.leader_writes_isr("pr", 0, [2, 1])  # caught up
    await eventually(lambda: env.state("pr", 0), lambda s: s is not None and s.isr == [2, 1], "ISR write")
    res = await c.elect_leaders(0, [("pr", 0), ("pr", 1), ("pr", 7)])
    assert res == {
        ("pr", 0): (ErrorCode.NONE, None),
        ("pr", 1): (ErrorCode.ELECTION_NOT_NEEDED, "Leader election not needed for topic partition."),
        ("pr", 7): (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "The partition does not exist."),
    }
    s = await env.state("pr", 0)
    assert led(1, [2, 1])(s) and s is not None and s.leader_epoch == 2
    assert await c.elect_leaders(0, None) == {}  # nothing needs an election


async def test_auto_leader_rebalance(env: Env) -> None:
    for b in (1, 2):
        await env.brokers.start(b)
    await env.controller(
        **{"auto_leader_rebalance_enable": "true", "leader_imbalance_check_interval_seconds": "1"}
    )
    await env.create("ar", {0: [1, 2]})
    await eventually(lambda: env.state("ar", 0), led(1, [1, 2]), "ar online")
    await env.brokers.kill(1)
    await eventually(lambda: env.state("ar", 0), led(2, [2]), "ar-0 failed over")
    await env.brokers.start(1)
    await env.leader_writes_isr("ar", 0, [2, 1])
    await eventually(
        lambda: env.state("ar", 0), led(1, [2, 1]), "the preferred leader back by auto rebalance"
    )


async def test_reassignment_start_complete_and_cancel(env: Env) -> None:
    for b in (1, 2, 3):
        await env.brokers.start(b)
    c = await env.controller()
    await env.create("r", {0: [1, 2], 1: [1, 2]})
    await eventually(lambda: env.state("r", 1), led(1, [1, 2]), "r online")
    res = await c.alter_reassignments({("r", 0): [2, 3], ("r", 1): [3, 2]})
    assert res == {("r", 0): (ErrorCode.NONE, None), ("r", 1): (ErrorCode.NONE, None)}
    t = await env.topic("r")
    assert t is not None
    assert t.partitions == {0: [2, 3, 1], 1: [3, 2, 1]}
    assert t.adding_replicas == {0: [3], 1: [3]} and t.removing_replicas == {0: [1], 1: [1]}
    s = await env.state("r", 0)
    assert led(1, [1, 2])(s) and s is not None and s.leader_epoch == 1  # bumped: the leader learns RS
    assert c.list_reassignments(None) == {("r", 0): ([2, 3, 1], [3], [1]), ("r", 1): ([3, 2, 1], [3], [1])}
    assert c.list_reassignments([("r", 1), ("r", 5)]) == {("r", 1): ([3, 2, 1], [3], [1])}
    # the new replica catches up: the leader adds it to the ISR, the controller completes
    await env.leader_writes_isr("r", 0, [1, 2, 3])
    s = await eventually(
        lambda: env.state("r", 0), led(2, [2, 3]), "r-0 led from the target, RR out of the ISR"
    )
    t = await eventually(
        lambda: env.topic("r"), lambda t: t is not None and t.partitions[0] == [2, 3], "r-0 assignment = TRS"
    )
    assert t.adding_replicas == {1: [3]} and t.removing_replicas == {1: [1]}
    assert list(c.list_reassignments(None)) == [("r", 1)]
    # cancelling r-1 reverts to the original replicas
    assert await c.alter_reassignments({("r", 1): None}) == {("r", 1): (ErrorCode.NONE, None)}
    t = await env.topic("r")
    assert t is not None and t.partitions == {0: [2, 3], 1: [2, 1]} and not t.adding_replicas
    assert t.removing_replicas == {}
    assert c.list_reassignments(None) == {}
    # errors, as Kafka's controller reports them
    await env.brokers.kill(3)
    await eventually(lambda: env.state("r", 0), led(2, [2]), "broker 3 out of r-0's ISR")
    res = await c.alter_reassignments(
        {
            ("r", 1): None,
            ("r", 0): [4, 2],
            ("r", 9): [1],
            ("nope", 0): [1],
            ("r", 2): [],
        }
    )
    assert res[("r", 1)] == (
        ErrorCode.NO_REASSIGNMENT_IN_PROGRESS,
        "No partition reassignment is in progress.",
    )
    assert res[("r", 0)] == (
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        "Replica assignment has brokers that are not alive. Replica list: ArrayBuffer(4), live broker list: Set(1, 2)",
    )
    assert res[("r", 9)] == (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "The partition does not exist.")
    assert res[("nope", 0)] == (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "The partition does not exist.")
    assert res[("r", 2)] == (
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        "Empty replica list specified in partition reassignment.",
    )


async def test_failover_resumes_reassignment_and_pending_deletion(env: Env) -> None:
    for b in (1, 2, 3):
        await env.brokers.start(b)
    first = await env.controller(100)
    zk2, election2 = await env.candidate(101)
    await env.create("keep", {0: [1, 2]})
    await env.create("drop", {0: [1]})
    await eventually(lambda: env.state("drop", 0), led(1, [1]), "drop online")
    await eventually(lambda: env.state("keep", 0), led(1, [1, 2]), "keep online")
    await first.alter_reassignments({("keep", 0): [3, 2]})
    await first.stop()
    await first.zk.close()  # the controller dies: its session ends
    # while nobody is controller: a deletion request, a broker death, the new replica catches up
    await ZkAdmin(env.zk).delete_topic("drop")
    await env.brokers.kill(1)
    await wait_until(lambda: election2.is_controller, 10, "the second candidate to win")
    second = await env.run_controller(zk2, election2)
    assert second.epoch == 2
    await eventually(
        lambda: env.zk.exists(L.topic_path("drop")), lambda s: s is None, "pending deletion done"
    )
    s = await eventually(lambda: env.state("keep", 0), led(2, [2]), "keep-0 failed over to 2")
    assert s.controller_epoch == 2
    assert second.list_reassignments(None) == {("keep", 0): ([3, 2, 1], [3], [1])}
    await env.leader_writes_isr("keep", 0, [2, 3])
    await eventually(
        lambda: env.topic("keep"), lambda t: t is not None and t.partitions[0] == [3, 2], "completed"
    )


async def test_a_deposed_controller_cannot_write(env: Env) -> None:
    for b in (1, 2):
        await env.brokers.start(b)
    c = await env.controller()
    await env.create("fz", {0: [1, 2]})
    await eventually(lambda: env.state("fz", 0), led(1, [1, 2]), "fz online")
    # another controller was elected meanwhile: /controller_epoch moved on
    _, stat = await env.zk.get(L.CONTROLLER_EPOCH)
    await env.zk.set(L.CONTROLLER_EPOCH, b"7", stat.version)
    before = await env.state("fz", 0)
    await env.brokers.kill(1)  # the deposed controller tries to react and fails its fence
    await wait_until(lambda: not c.active, 10, "the deposed controller to stop")
    assert await env.state("fz", 0) == before
    assert await c.controlled_shutdown(2, -1) == (ErrorCode.NOT_CONTROLLER, [])
    assert await c.elect_leaders(0, [("fz", 0)]) == {("fz", 0): (ErrorCode.NOT_CONTROLLER, None)}
    with pytest.raises(ControllerMovedError):
        await c.alter_reassignments({("fz", 0): [2]})
    with pytest.raises(ControllerMovedError):
        c.list_reassignments(None)
