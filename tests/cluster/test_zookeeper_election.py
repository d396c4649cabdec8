"""Controller election: the pure state machine, then three in-process candidates on a real ZooKeeper."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from pybroker.cluster import zk_layout as L
from pybroker.cluster.controller_election import ControllerElection, ElectionState, Step
from pybroker.cluster.zk_client import (
    BadVersionError,
    SessionEvent,
    SessionState,
    SetDataOp,
    ZkClient,
    first_error,
)
from tests.support.zookeeper import TcpCutter, ZooKeeperServer, expire_session, in_thread, wait_until

pytestmark = pytest.mark.timeout(60)

# -- the pure core -----------------------------------------------------------------------------


def test_state_absent_controller_means_elect() -> None:
    s = ElectionState(1)
    assert s.on_controller_znode(None, False) == [Step.ELECT]
    s.on_elected(epoch=3, epoch_zk_version=3)
    assert s.is_controller and s.controller_id == 1 and s.epoch == 3
    assert s.on_controller_znode(1, True) == []  # our own znode: nothing to do


def test_state_another_owner_deposes_us() -> None:
    s = ElectionState(1)
    s.on_elected(2, 2)
    assert s.on_controller_znode(2, False) == [Step.RESIGN]
    assert not s.is_controller and s.controller_id == 2 and s.epoch_zk_version == -1
    assert s.on_controller_znode(2, False) == []  # already resigned


def test_state_absent_while_controller_resigns_then_elects() -> None:
    s = ElectionState(1)
    s.on_elected(2, 2)
    assert s.on_controller_znode(None, False) == [Step.RESIGN, Step.ELECT]


def test_state_session_loss_and_stale_own_node() -> None:
    s = ElectionState(1)
    s.on_elected(4, 4)
    assert s.on_session_lost() == [Step.RESIGN]
    assert s.controller_id == L.NO_CONTROLLER
    assert s.on_session_lost() == []
    # the same session came back still owning /controller: delete it and hold a fresh election
    assert s.on_controller_znode(1, True) == [Step.DELETE_STALE]
    # our id under an *old* session: ZooKeeper removes it; just wait for the watch
    assert s.on_controller_znode(1, False) == []


# -- against ZooKeeper -------------------------------------------------------------------------


@dataclass
class Candidate:
    zk: ZkClient
    election: ControllerElection
    events: list[tuple[str, int]] = field(default_factory=list)  # ("elected", epoch) / ("resigned", -1)


NewCandidate = Callable[..., Awaitable[Candidate]]


@pytest.fixture
async def candidates(zk_connect: str) -> AsyncIterator[NewCandidate]:
    made: list[Candidate] = []

    async def new_candidate(
        broker_id: int, *, session_timeout_ms: int = 4000, hosts: str | None = None, start: bool = True
    ) -> Candidate:
        connect = zk_connect if hosts is None else hosts + zk_connect[zk_connect.index("/") :]
        zk = ZkClient(connect, session_timeout_ms=session_timeout_ms, connection_timeout_ms=10000)
        await zk.start()
        events: list[tuple[str, int]] = []
        election = ControllerElection(
            zk,
            broker_id,
            on_elected=lambda epoch: events.append(("elected", epoch)),
            on_resigned=lambda: events.append(("resigned", -1)),
        )
        c = Candidate(zk, election, events)
        made.append(c)
        if start:
            await election.start()
        return c

    yield new_candidate
    for c in made:
        await c.election.stop(delete_znode=False)  # closing the session removes it
        await c.zk.close()


def controllers(cs: list[Candidate]) -> list[int]:
    return [c.election.broker_id for c in cs if c.election.is_controller]


async def read_controller(zk: ZkClient) -> tuple[int, int]:
    """(controller broker id or -1, /controller_epoch) as stored in ZooKeeper."""
    got = await zk.get_or_none(L.CONTROLLER)
    epoch, _ = await zk.get(L.CONTROLLER_EPOCH)
    return (L.decode_controller(got[0]).broker_id if got else -1), L.decode_controller_epoch(epoch)


async def settle(cs: list[Candidate], timeout: float = 10.0) -> int:
    """Wait until exactly one live candidate is controller and all agree on it; returns its id."""

    def agreed() -> bool:
        ids = controllers(cs)
        return len(ids) == 1 and all(c.election.controller_id == ids[0] for c in cs)

    await wait_until(agreed, timeout, f"one agreed controller among {[c.election.broker_id for c in cs]}")
    return controllers(cs)[0]


async def test_exactly_one_of_three_wins_and_failover_increments_the_epoch(
    candidates: NewCandidate,
) -> None:
    cs = list(await asyncio.gather(*(candidates(i, start=False) for i in (1, 2, 3))))
    await asyncio.gather(*(c.election.start() for c in cs))  # a simultaneous start: a real race
    winner = await settle(cs)
    observer = cs[0].zk
    assert await read_controller(observer) == (winner, 1)
    data, stat = await observer.get(L.CONTROLLER)
    obj = json.loads(data)
    assert obj["version"] == 2 and obj["brokerid"] == winner and obj["kraftControllerEpoch"] == -1
    assert isinstance(obj["timestamp"], str)
    won = next(c for c in cs if c.election.broker_id == winner)
    assert stat.ephemeralOwner == won.zk.session_id
    assert won.events == [("elected", 1)] and won.election.epoch == 1
    assert sum(c.election.elections_won for c in cs) == 1

    # the controller dies (its session closes): another takes over at once, with epoch 2, ...
    epochs = [1]
    live = list(cs)
    for expected_epoch in (2, 3):
        dead = next(c for c in live if c.election.is_controller)
        live.remove(dead)
        await dead.zk.close()
        assert dead.events[-1] == ("resigned", -1) and not dead.election.is_controller
        new = await settle(live, timeout=10)
        assert new != dead.election.broker_id
        assert await read_controller(live[0].zk) == (new, expected_epoch)
        successor = next(c for c in live if c.election.broker_id == new)
        assert successor.events[-1] == ("elected", expected_epoch)
        epochs.append(successor.election.epoch)
    assert epochs == [1, 2, 3]


async def test_session_expiry_resigns_the_controller_and_it_rejoins_as_follower(
    zk_server: ZooKeeperServer, candidates: NewCandidate
) -> None:
    cs = [await candidates(i) for i in (1, 2, 3)]
    first = await settle(cs)
    old = next(c for c in cs if c.election.broker_id == first)
    session_id, password = old.zk.kazoo.client_id
    await in_thread(lambda: expire_session(zk_server.hosts, session_id, password))

    await wait_until(lambda: ("resigned", -1) in old.events, 10, "the expired controller to resign")
    second = await settle(cs, timeout=15)
    assert second != first or old.election.epoch == 2  # the old one may win again, in a new epoch
    assert (await read_controller(cs[0].zk))[1] == 2
    if second != first:
        assert old.election.controller_id == second and not old.election.is_controller


async def test_a_candidate_cut_off_from_zookeeper_stops_claiming(
    zk_server: ZooKeeperServer, candidates: NewCandidate
) -> None:
    cutter = TcpCutter((zk_server.host, zk_server.port))
    try:
        cut = await candidates(1, session_timeout_ms=2000, hosts=cutter.hosts)
        await wait_until(lambda: cut.election.is_controller, 10, "candidate 1 to win alone")
        fence = cut.election.fence()
        others = [await candidates(i, session_timeout_ms=2000) for i in (2, 3)]
        assert await settle([cut, *others]) == 1

        cutter.cut()  # a partition: candidate 1 can no longer reach ZooKeeper
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await wait_until(
            lambda: not cut.election.is_controller, 2 * 2.0 + 2, "the cut-off controller to resign"
        )
        assert loop.time() - t0 < 2 * 2.0 + 2
        assert cut.events[-1] == ("resigned", -1)
        assert cut.election.controller_id == L.NO_CONTROLLER  # it no longer knows who leads

        new = await settle(others, timeout=15)  # ZooKeeper expired its session: a new election
        assert new in (2, 3)
        assert not cut.election.is_controller
        assert (await read_controller(others[0].zk)) == (new, 2)

        cutter.heal()  # back: a new session, a follower of the new controller
        await wait_until(
            lambda: cut.election.controller_id == new, 20, "candidate 1 to see the new controller"
        )
        assert not cut.election.is_controller and controllers([cut, *others]) == [new]
        # its old fence is void: a write guarded by it fails
        results = await cut.zk.multi([fence, SetDataOp(L.CONTROLLER_EPOCH, b"999")])
        assert isinstance(first_error(results), BadVersionError)
        assert (await read_controller(others[0].zk))[1] == 2
    finally:
        cutter.close()


async def test_a_connection_blip_keeps_the_session_and_re_arms_the_watch(
    zk_server: ZooKeeperServer, candidates: NewCandidate
) -> None:
    cutter = TcpCutter((zk_server.host, zk_server.port))
    try:
        leader = await candidates(1)
        await wait_until(lambda: leader.election.is_controller, 10, "candidate 1 to win")
        follower = await candidates(2, hosts=cutter.hosts)
        await settle([leader, follower])
        session = follower.zk.session_id
        cutter.cut()  # kazoo drops its watches when the connection drops...
        await wait_until(lambda: follower.zk.state is SessionState.SUSPENDED, 5, "SUSPENDED")
        cutter.heal()
        await wait_until(lambda: follower.zk.connected, 10, "reconnection")
        assert follower.zk.session_id == session and follower.events == []
        await asyncio.sleep(0.3)  # let the follower re-check /controller
        await leader.zk.close()  # ...so only a re-armed watch lets the follower notice this
        await wait_until(lambda: follower.election.is_controller, 10, "the follower to take over")
        assert follower.election.epoch == 2
    finally:
        cutter.close()


async def test_same_session_back_after_a_local_loss_holds_a_fresh_election(candidates: NewCandidate) -> None:
    """A suspension this side declared LOST, but the server kept the session (say ZooKeeper
    itself was down): the old /controller is still ours. It must not be silently resumed."""
    c = await candidates(1)
    await wait_until(lambda: c.election.is_controller, 10, "candidate 1 to win")
    session = c.zk.session_id
    # what ZkClient reports in that case: LOST (local), then CONNECTED with the same session
    c.zk._set_state(SessionEvent(SessionState.LOST, session, local=True))
    assert not c.election.is_controller and c.events[-1] == ("resigned", -1)
    c.zk._set_state(SessionEvent(SessionState.CONNECTED, session))
    await wait_until(lambda: c.election.is_controller, 10, "a fresh election")
    assert c.zk.session_id == session
    assert c.events == [("elected", 1), ("resigned", -1), ("elected", 2)]
    assert (await read_controller(c.zk)) == (1, 2)


async def test_stop_hands_over_promptly(candidates: NewCandidate) -> None:
    cs = [await candidates(i) for i in (1, 2)]
    first = await settle(cs)
    leaving = next(c for c in cs if c.election.broker_id == first)
    staying = next(c for c in cs if c.election.broker_id != first)
    await leaving.election.stop()  # deletes /controller although the session stays open
    assert leaving.events[-1] == ("resigned", -1)
    await wait_until(lambda: staying.election.is_controller, 5, "the other candidate to take over")
    assert staying.election.epoch == 2
    with pytest.raises(RuntimeError):
        leaving.election.fence()
