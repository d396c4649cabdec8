"""Classic group coordinator core, driven with a fake clock in the orders Kafka's
``GroupCoordinatorTest`` covers: joins, syncs, heartbeats, leaves, timeouts, static membership,
offsets and admin operations, plus the persistence records and reloading."""

from __future__ import annotations

import itertools
import struct
from collections.abc import Sequence

import pytest

from protocol.error_codes import ErrorCode
from protocol.messages.consumer_protocol_subscription import ConsumerProtocolSubscription
from pybroker.coordinator import (
    GroupCoordinator,
    GroupCoordinatorConfig,
    GroupMetadataRecord,
    GroupSnapshot,
    GroupState,
    JoinCall,
    JoinResult,
    LeavingMember,
    OffsetAndMetadata,
    OffsetCommitRecord,
    PartitionOffset,
    Pending,
    Record,
    SyncCall,
    SyncResult,
    TopicPartition,
)
from pybroker.coordinator.group import Group, parse_subscribed_topics

GROUP = "g"
SESSION = 10_000
REBALANCE = 60_000
E = ErrorCode


def sub(*topics: str) -> bytes:
    """Consumer protocol subscription bytes (int16 version, then the v0 struct)."""
    return struct.pack(">h", 0) + bytes(ConsumerProtocolSubscription(topics=list(topics)).encode(0))


PROTOCOLS = [("range", sub("t1")), ("roundrobin", sub("t1"))]
TP0 = TopicPartition("t1", 0)
TP1 = TopicPartition("t1", 1)
OTHER = TopicPartition("other", 0)


class FakeClock:
    def __init__(self, now: int = 1_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


class Harness:
    def __init__(self, **config: int) -> None:
        self.clock = FakeClock()
        ids = itertools.count()
        cfg = GroupCoordinatorConfig(**{"group_initial_rebalance_delay_ms": 0, **config})
        self.c = GroupCoordinator(cfg, clock=self.clock, new_uuid=lambda: f"u{next(ids)}")

    def state(self) -> GroupState:
        return self.group.state

    @property
    def group(self) -> Group:
        group = self.c.group(GROUP)
        assert group is not None
        return group

    def settle(self) -> list[Record]:
        """Fire the timers that are due now."""
        return self.advance(0)

    def advance(self, ms: int) -> list[Record]:
        """Move the clock forward, waking at every deadline on the way (a punctual adapter)."""
        target = self.clock.now + ms
        records: list[Record] = []
        for _ in range(10_000):
            deadline = self.c.next_deadline()
            if deadline is None or deadline > target:
                break
            self.clock.now = max(self.clock.now, deadline)
            records += self.c.tick().records
        else:
            raise AssertionError("timers keep firing")
        self.clock.now = target
        return records

    def join(
        self,
        member_id: str = "",
        *,
        instance: str | None = None,
        protocols: Sequence[tuple[str, bytes]] = PROTOCOLS,
        protocol_type: str = "consumer",
        session: int = SESSION,
        rebalance: int = REBALANCE,
        require_known: bool = False,
        skip: bool = False,
        group: str = GROUP,
    ) -> JoinCall:
        return self.c.join_group(
            group,
            member_id,
            protocol_type=protocol_type,
            protocols=protocols,
            session_timeout_ms=session,
            rebalance_timeout_ms=rebalance,
            group_instance_id=instance,
            client_id="client",
            client_host="/127.0.0.1",
            require_known_member_id=require_known,
            supports_skipping_assignment=skip,
        )

    def sync(
        self,
        member_id: str,
        generation: int,
        assignments: dict[str, bytes] | None = None,
        *,
        instance: str | None = None,
        protocol_type: str | None = None,
        protocol_name: str | None = None,
    ) -> SyncCall:
        return self.c.sync_group(
            GROUP,
            generation,
            member_id,
            assignments=assignments,
            group_instance_id=instance,
            protocol_type=protocol_type,
            protocol_name=protocol_name,
        )

    def heartbeat(self, member_id: str, generation: int, instance: str | None = None) -> ErrorCode:
        return self.c.heartbeat(GROUP, generation, member_id, instance)

    def commit(
        self,
        member_id: str = "",
        generation: int = -1,
        offsets: dict[TopicPartition, PartitionOffset] | None = None,
    ) -> dict[TopicPartition, ErrorCode]:
        result = self.c.commit_offsets(
            GROUP, offsets or {TP0: PartitionOffset(42)}, generation_id=generation, member_id=member_id
        )
        return result.errors

    def stable(
        self, n: int = 1, instances: Sequence[str | None] = (), rebalance: int = REBALANCE
    ) -> list[str]:
        """n members joined and synced; ids leader first."""
        inst = list(instances) + [None] * (n - len(instances))
        calls = [self.join(instance=inst[i], rebalance=rebalance) for i in range(n)]
        self.settle()
        results = [call.pending.result() for call in calls]
        assert all(r.error == E.NONE for r in results), results
        leader = results[0].leader
        generation = results[0].generation_id
        ids = [r.member_id for r in results]
        ids.sort(key=lambda m: m != leader)
        self.sync(leader, generation, {m: b"assign-" + m.encode() for m in ids})
        for m in ids[1:]:
            assert self.sync(m, generation).pending.result().error == E.NONE
        assert self.group.state is GroupState.STABLE
        return ids


def done(call: JoinCall) -> JoinResult:
    assert call.pending.done
    return call.pending.result()


def synced(call: SyncCall) -> SyncResult:
    assert call.pending.done
    return call.pending.result()


# -- JoinGroup ----------------------------------------------------------------------------


def test_join_rejects_invalid_arguments() -> None:
    h = Harness()
    assert done(h.join(group="")).error == E.INVALID_GROUP_ID
    assert done(h.join(session=5_999)).error == E.INVALID_SESSION_TIMEOUT
    assert done(h.join(session=1_800_001)).error == E.INVALID_SESSION_TIMEOUT
    assert done(h.join("someone")).error == E.UNKNOWN_MEMBER_ID  # unknown group + known id
    assert h.c.group(GROUP) is None
    assert done(h.join(protocol_type="")).error == E.INCONSISTENT_GROUP_PROTOCOL
    assert done(h.join(protocols=[])).error == E.INCONSISTENT_GROUP_PROTOCOL


def test_first_join_waits_for_initial_delay_and_leader_gets_all_metadata() -> None:
    h = Harness(group_initial_rebalance_delay_ms=3000)
    call = h.join()
    assert not call.pending.done and h.state() is GroupState.PREPARING_REBALANCE
    assert h.c.next_deadline() == h.clock.now + 3000
    assert h.advance(2999) == [] and not call.pending.done
    h.advance(1)
    r = done(call)
    assert r.error == E.NONE and r.member_id == "client-u0" and r.leader == r.member_id
    assert (r.generation_id, r.protocol_type, r.protocol_name) == (1, "consumer", "range")
    assert [(m.member_id, m.metadata) for m in r.members] == [(r.member_id, sub("t1"))]
    assert h.state() is GroupState.COMPLETING_REBALANCE


def test_member_id_required_then_join_with_the_given_id() -> None:
    h = Harness()
    r = done(h.join(require_known=True))
    assert r.error == E.MEMBER_ID_REQUIRED and r.member_id == "client-u0"
    assert h.group.pending_members == {"client-u0"} and h.state() is GroupState.EMPTY
    call = h.join("client-u0", require_known=True)
    h.settle()
    assert done(call).error == E.NONE and done(call).member_id == "client-u0"
    assert h.group.pending_members == set()


def test_pending_member_expires_after_session_timeout() -> None:
    h = Harness()
    member_id = done(h.join(require_known=True)).member_id
    h.advance(SESSION)
    assert not h.group.is_pending_member(member_id)
    assert done(h.join(member_id, require_known=True)).error == E.UNKNOWN_MEMBER_ID


def test_pending_member_holds_the_join_phase_until_it_joins() -> None:
    h = Harness()
    (leader,) = h.stable(1)
    pending_id = done(h.join(require_known=True)).member_id
    leader_call = h.join(leader)  # leader rejoin: rebalance
    assert h.state() is GroupState.PREPARING_REBALANCE and not leader_call.pending.done
    new_call = h.join(pending_id, require_known=True)
    assert done(leader_call).generation_id == 2 == done(new_call).generation_id
    assert {m.member_id for m in done(leader_call).members} == {leader, pending_id}


def test_join_unknown_member_of_existing_group() -> None:
    h = Harness()
    h.stable(1)
    assert done(h.join("nobody")).error == E.UNKNOWN_MEMBER_ID


def test_join_inconsistent_protocol_type_and_protocols() -> None:
    h = Harness()
    h.stable(1)
    assert done(h.join(protocol_type="connect")).error == E.INCONSISTENT_GROUP_PROTOCOL
    assert done(h.join(protocols=[("sticky", b"")])).error == E.INCONSISTENT_GROUP_PROTOCOL


def test_protocol_selected_by_votes_among_common_protocols() -> None:
    h = Harness()
    calls = [
        h.join(protocols=[("range", sub("t1")), ("roundrobin", sub("t1")), ("sticky", sub("t1"))]),
        h.join(protocols=[("roundrobin", sub("t1")), ("range", sub("t1"))]),
        h.join(protocols=[("sticky", sub("t1")), ("roundrobin", sub("t1")), ("range", sub("t1"))]),
    ]
    h.settle()
    assert {done(c).protocol_name for c in calls} == {"roundrobin"}


def test_several_members_get_one_generation_and_only_the_leader_gets_metadata() -> None:
    h = Harness()
    a, b = h.join(), h.join()
    assert not a.pending.done and not b.pending.done
    h.settle()
    ra, rb = done(a), done(b)
    assert ra.generation_id == rb.generation_id == 1
    assert ra.leader == rb.leader == ra.member_id
    assert {m.member_id for m in ra.members} == {ra.member_id, rb.member_id} and rb.members == ()


def test_initial_delay_is_extended_while_members_arrive_up_to_the_rebalance_timeout() -> None:
    h = Harness(group_initial_rebalance_delay_ms=3000)
    first = h.join(rebalance=10_000)
    h.advance(2000)
    h.join(rebalance=10_000)
    h.advance(1000)  # t=3000: a member arrived during the delay: wait another 3000
    assert not first.pending.done
    h.advance(3000)  # t=6000: nobody new: complete
    assert done(first).error == E.NONE and len(done(first).members) == 2

    h = Harness(group_initial_rebalance_delay_ms=3000)
    first = h.join(rebalance=10_000)
    for _ in range(3):  # keep members arriving: t=2500, 5000, 7500
        h.advance(2500)
        h.join(rebalance=10_000)
    h.advance(1500)  # t=9000: delay re-armed for the last 1000 ms
    assert not first.pending.done
    h.advance(1000)  # t=10000 = the rebalance timeout
    assert h.clock.now - 1_000_000 == 10_000 and len(done(first).members) == 4


def test_follower_rejoin_with_same_metadata_in_stable_gets_current_generation() -> None:
    h = Harness()
    _leader, follower = h.stable(2)
    r = done(h.join(follower))
    assert (r.error, r.generation_id, r.members) == (E.NONE, 1, ())
    assert h.state() is GroupState.STABLE


@pytest.mark.parametrize("who", ["leader", "changed-follower"])
def test_leader_rejoin_or_metadata_change_triggers_rebalance(who: str) -> None:
    h = Harness()
    leader, follower = h.stable(2)
    if who == "leader":
        first = h.join(leader)
    else:
        first = h.join(follower, protocols=[("range", sub("t1", "t2"))])
    assert not first.pending.done and h.state() is GroupState.PREPARING_REBALANCE
    second = h.join(follower if who == "leader" else leader)
    assert done(first).generation_id == done(second).generation_id == 2
    if who == "changed-follower":
        assert dict((m.member_id, m.metadata) for m in done(second).members)[follower] == sub("t1", "t2")


def test_rejoin_during_completing_rebalance_with_same_metadata_returns_the_generation() -> None:
    h = Harness()
    a, b = h.join(), h.join()
    h.settle()
    leader, follower = done(a).member_id, done(b).member_id
    again = done(h.join(leader))
    assert again.generation_id == 1 and len(again.members) == 2
    assert done(h.join(follower)).members == ()
    assert h.state() is GroupState.COMPLETING_REBALANCE
    changed = h.join(follower, protocols=[("range", b"x")])
    assert not changed.pending.done and h.state() is GroupState.PREPARING_REBALANCE


def test_rebalance_timeout_removes_dynamic_members_that_did_not_rejoin() -> None:
    h = Harness()
    leader, follower = h.stable(2)
    call = h.join(leader)
    for _ in range(REBALANCE // 5000 - 1):
        h.advance(5000)
        assert h.heartbeat(follower, 1) == E.REBALANCE_IN_PROGRESS  # alive but not rejoining
    h.advance(5000)
    r = done(call)
    assert r.generation_id == 2 and [m.member_id for m in r.members] == [leader]
    assert h.heartbeat(follower, 1) == E.UNKNOWN_MEMBER_ID


def test_leader_that_does_not_rejoin_is_replaced() -> None:
    h = Harness()
    leader, follower = h.stable(2)
    call = h.join(follower, protocols=[("range", b"changed")])
    for _ in range(REBALANCE // 5000):
        h.advance(5000)
        h.heartbeat(leader, 1)
    r = done(call)
    assert r.leader == follower and [m.member_id for m in r.members] == [follower]


def test_static_member_that_does_not_rejoin_stays_through_the_rebalance() -> None:
    h = Harness()
    leader, static = h.stable(2, [None, "i1"])
    call = h.join(leader)
    h.advance(SESSION)  # its session lapses first (it is parked nowhere): removed, join completes
    assert not h.group.has(static) and done(call).generation_id == 2

    h = Harness()
    leader, static = h.stable(2, [None, "i1"], rebalance=5000)
    call = h.join(leader, rebalance=5000)
    h.advance(5000)  # rebalance timeout (5 s) before the static session (10 s) lapses
    r = done(call)
    assert h.group.has(static) and {m.member_id for m in r.members} == {leader, static}
    assert r.generation_id == 2 and h.group.pending_sync_members == {leader, static}


def test_new_member_join_times_out() -> None:
    h = Harness(new_member_join_timeout_ms=20_000)
    (leader,) = h.stable(1)
    newcomer = h.join(rebalance=REBALANCE * 10)
    for _ in range(4):
        h.advance(5000)
        assert h.heartbeat(leader, 1) == E.REBALANCE_IN_PROGRESS
    assert done(newcomer).error == E.UNKNOWN_MEMBER_ID and h.group.size == 1
    leader_call = h.join(leader)
    assert done(leader_call).generation_id == 2 and len(done(leader_call).members) == 1


def test_group_max_size() -> None:
    h = Harness(group_max_size=2)
    a, b = h.join(), h.join()
    r = done(h.join())
    assert (r.error, r.member_id) == (E.GROUP_MAX_SIZE_REACHED, "")
    h.settle()
    assert done(a).error == done(b).error == E.NONE and h.group.size == 2
    assert done(h.join()).error == E.GROUP_MAX_SIZE_REACHED  # CompletingRebalance: full
    assert done(h.join(done(a).member_id)).error == E.NONE  # members may rejoin


# -- SyncGroup ----------------------------------------------------------------------------


def test_leader_sync_first_then_follower_gets_assignment_immediately() -> None:
    h = Harness()
    a, b = h.join(), h.join()
    h.settle()
    leader, follower = done(a).member_id, done(b).member_id
    call = h.sync(leader, 1, {leader: b"L", follower: b"F"})
    assert synced(call) == SyncResult(E.NONE, b"L", "consumer", "range")
    assert h.state() is GroupState.STABLE
    assert synced(h.sync(follower, 1)).assignment == b"F"
    [record] = call.records
    assert isinstance(record, GroupMetadataRecord) and record.value is not None
    snap = record.value
    assert (snap.protocol_type, snap.generation, snap.protocol, snap.leader) == (
        "consumer",
        1,
        "range",
        leader,
    )
    assert snap.current_state_timestamp == h.clock.now
    assert [(m.member_id, m.subscription, m.assignment, m.session_timeout) for m in snap.members] == [
        (leader, sub("t1"), b"L", SESSION),
        (follower, sub("t1"), b"F", SESSION),
    ]


def test_follower_sync_waits_for_the_leader() -> None:
    h = Harness()
    a, b = h.join(), h.join()
    h.settle()
    leader, follower = done(a).member_id, done(b).member_id
    waiting = h.sync(follower, 1)
    assert not waiting.pending.done and h.state() is GroupState.COMPLETING_REBALANCE
    seen: list[SyncResult] = []
    waiting.pending.add_done_callback(seen.append)
    h.sync(leader, 1, {leader: b"L"})  # the follower is missing: empty assignment
    assert seen == [SyncResult(E.NONE, b"", "consumer", "range")]


def test_sync_errors() -> None:
    h = Harness()
    assert synced(h.sync("x", 1)).error == E.UNKNOWN_MEMBER_ID  # no group
    a, b = h.join(), h.join()
    h.settle()
    leader, follower = done(a).member_id, done(b).member_id
    assert synced(h.sync("x", 1)).error == E.UNKNOWN_MEMBER_ID
    assert synced(h.sync(leader, 2)).error == E.ILLEGAL_GENERATION
    assert synced(h.sync(leader, 1, protocol_type="connect")).error == E.INCONSISTENT_GROUP_PROTOCOL
    assert synced(h.sync(leader, 1, protocol_name="sticky")).error == E.INCONSISTENT_GROUP_PROTOCOL
    assert synced(h.sync(leader, 1, instance="i9")).error == E.UNKNOWN_MEMBER_ID
    h.join(leader, protocols=[("range", b"new")])  # rebalance
    assert synced(h.sync(follower, 1)).error == E.REBALANCE_IN_PROGRESS
    assert synced(h.c.sync_group("", 1, leader)).error == E.INVALID_GROUP_ID


def test_rebalance_during_completing_rebalance_fails_parked_syncs() -> None:
    h = Harness()
    a, b = h.join(), h.join()
    h.settle()
    follower = done(b).member_id
    parked = h.sync(follower, 1)
    newcomer = h.join()
    assert synced(parked).error == E.REBALANCE_IN_PROGRESS
    assert not newcomer.pending.done and h.state() is GroupState.PREPARING_REBALANCE
    assert h.group.get(follower).assignment == b""
    leader_again, follower_again = h.join(done(a).member_id), h.join(follower)
    assert done(newcomer).generation_id == 2 == done(leader_again).generation_id
    assert len(done(leader_again).members) == 3 and done(follower_again).members == ()


def test_members_that_never_sync_are_removed_after_the_rebalance_timeout() -> None:
    h = Harness()
    a, b = h.join(), h.join()
    h.settle()
    leader, follower = done(a).member_id, done(b).member_id
    h.sync(leader, 1, {leader: b"L", follower: b"F"})
    for _ in range(REBALANCE // 5000):
        h.advance(5000)
        h.heartbeat(follower, 1)  # heartbeats do not replace the missing SyncGroup
        h.heartbeat(leader, 1)
    assert not h.group.has(follower)
    assert h.state() is GroupState.PREPARING_REBALANCE
    assert h.heartbeat(leader, 1) == E.REBALANCE_IN_PROGRESS


# -- Heartbeat ----------------------------------------------------------------------------


def test_heartbeat_errors() -> None:
    h = Harness()
    assert h.heartbeat("x", 1) == E.UNKNOWN_MEMBER_ID  # no group
    (member,) = h.stable(1, ["i1"])
    assert h.heartbeat("x", 1) == E.UNKNOWN_MEMBER_ID
    assert h.heartbeat(member, 2) == E.ILLEGAL_GENERATION
    assert h.heartbeat("old-id", 1, "i1") == E.FENCED_INSTANCE_ID
    assert h.heartbeat(member, 1, "i2") == E.UNKNOWN_MEMBER_ID
    assert h.heartbeat(member, 1, "i1") == E.NONE
    assert h.c.heartbeat("", 1, member) == E.INVALID_GROUP_ID


def test_heartbeat_states() -> None:
    h = Harness()
    a, b = h.join(), h.join()
    h.settle()
    leader, follower = done(a).member_id, done(b).member_id
    assert h.heartbeat(follower, 1) == E.NONE  # CompletingRebalance
    h.sync(leader, 1, {})
    assert h.heartbeat(follower, 1) == E.NONE  # Stable
    h.join(leader)
    assert h.heartbeat(follower, 1) == E.REBALANCE_IN_PROGRESS


def test_heartbeats_keep_the_session_alive() -> None:
    h = Harness()
    (member,) = h.stable(1)
    for _ in range(10):
        h.advance(SESSION - 1)
        assert h.heartbeat(member, 1) == E.NONE
    assert h.c.heartbeat_deadline(GROUP, member) == h.clock.now + SESSION
    h.advance(SESSION)
    assert h.state() is GroupState.EMPTY and h.heartbeat(member, 1) == E.UNKNOWN_MEMBER_ID


def test_session_expiry_in_stable_triggers_rebalance() -> None:
    h = Harness()
    leader, follower = h.stable(2)
    h.advance(SESSION // 2)
    h.heartbeat(leader, 1)
    h.advance(SESSION // 2)  # the follower's session lapses
    assert not h.group.has(follower) and h.state() is GroupState.PREPARING_REBALANCE
    assert h.heartbeat(leader, 1) == E.REBALANCE_IN_PROGRESS
    r = done(h.join(leader))
    assert r.generation_id == 2 and [m.member_id for m in r.members] == [leader]


def test_session_expiry_in_completing_rebalance() -> None:
    h = Harness()
    a, b = h.join(), h.join()
    h.settle()
    leader, follower = done(a).member_id, done(b).member_id
    h.advance(SESSION - 1)
    h.heartbeat(leader, 1)
    h.advance(1)
    assert not h.group.has(follower) and h.state() is GroupState.PREPARING_REBALANCE
    assert synced(h.sync(leader, 1, {})).error == E.REBALANCE_IN_PROGRESS


def test_session_expiry_of_last_member_empties_the_group_and_writes_it() -> None:
    h = Harness()
    h.stable(1)
    records = h.advance(SESSION)
    g = h.group
    assert g.state is GroupState.EMPTY and g.generation_id == 2 and g.protocol_name is None
    assert records == [GroupMetadataRecord(GROUP, GroupSnapshot("consumer", 2, None, None, h.clock.now, ()))]


def test_member_parked_in_sync_outlives_its_session() -> None:
    h = Harness()
    a, b = h.join(), h.join()
    h.settle()
    leader, follower = done(a).member_id, done(b).member_id
    parked = h.sync(follower, 1)
    h.advance(SESSION)  # the leader never syncs nor heartbeats: it expires, the follower not
    assert not h.group.has(leader) and h.group.has(follower)
    assert synced(parked).error == E.REBALANCE_IN_PROGRESS
    assert h.group.leader_id == follower


# -- LeaveGroup ---------------------------------------------------------------------------


def test_leave_batch_with_per_member_errors() -> None:
    h = Harness()
    dynamic, static = h.stable(2, [None, "i1"])
    pending_id = done(h.join(require_known=True)).member_id
    result = h.c.leave_group(
        GROUP,
        [
            LeavingMember("wrong", "i1"),
            LeavingMember(dynamic),
            LeavingMember("", "i1"),
            LeavingMember(pending_id),
            LeavingMember("nobody"),
            LeavingMember("", "ghost"),
        ],
    )
    assert result.error == E.NONE
    assert [m.error for m in result.members] == [
        E.FENCED_INSTANCE_ID,
        E.NONE,
        E.NONE,
        E.NONE,
        E.UNKNOWN_MEMBER_ID,
        E.UNKNOWN_MEMBER_ID,
    ]
    assert h.state() is GroupState.EMPTY and h.group.size == 0 and not h.group.pending_members
    assert [
        r.value.generation if isinstance(r, GroupMetadataRecord) and r.value else None for r in result.records
    ] == [2]
    assert static not in h.group.static_members.values()


def test_leave_unknown_group_and_invalid_id() -> None:
    h = Harness()
    result = h.c.leave_group(GROUP, [LeavingMember("a"), LeavingMember("", "i1")])
    assert result.error == E.NONE and [m.error for m in result.members] == [E.UNKNOWN_MEMBER_ID] * 2
    assert h.c.leave_group("", [LeavingMember("a")]).error == E.INVALID_GROUP_ID


def test_leave_during_rebalance_completes_the_join_phase() -> None:
    h = Harness()
    leader, follower = h.stable(2)
    call = h.join(leader)
    assert not call.pending.done
    h.c.leave_group(GROUP, [LeavingMember(follower)])
    assert done(call).generation_id == 2 and len(done(call).members) == 1


def test_leave_of_a_member_parked_in_join_answers_it() -> None:
    h = Harness()
    leader, follower = h.stable(2)
    parked = h.join(follower, protocols=[("range", b"changed")])
    h.c.leave_group(GROUP, [LeavingMember(follower)])
    assert done(parked).error == E.UNKNOWN_MEMBER_ID
    assert h.group.size == 1 and h.group.leader_id == leader


# -- static membership (KIP-345) ----------------------------------------------------------


def test_static_member_rejoin_in_stable_keeps_assignment_without_rebalance() -> None:
    h = Harness()
    old_id, follower = h.stable(2, ["i1"])
    call = h.join(instance="i1")
    r = done(call)
    assert r.error == E.NONE and r.member_id == "i1-u2" and r.generation_id == 1
    assert r.leader == old_id and r.members == ()  # old leader id: do not run the assignor
    assert h.state() is GroupState.STABLE and h.group.leader_id == "i1-u2"
    [record] = call.records
    assert isinstance(record, GroupMetadataRecord) and record.value is not None
    assert {(m.member_id, m.group_instance_id, m.assignment) for m in record.value.members} == {
        ("i1-u2", "i1", b"assign-" + old_id.encode()),
        (follower, None, b"assign-" + follower.encode()),
    }
    assert synced(h.sync("i1-u2", 1, instance="i1")).assignment == b"assign-" + old_id.encode()
    assert h.heartbeat(old_id, 1, "i1") == E.FENCED_INSTANCE_ID
    assert h.heartbeat("i1-u2", 1, "i1") == E.NONE
    assert h.heartbeat(follower, 1) == E.NONE


def test_static_leader_rejoin_with_skip_assignment() -> None:
    h = Harness()
    _old, follower = h.stable(2, ["i1"])
    r = done(h.join(instance="i1", skip=True))
    assert r.leader == r.member_id and r.skip_assignment
    assert {m.member_id for m in r.members} == {r.member_id, follower}
    assert h.state() is GroupState.STABLE


def test_static_member_rejoin_changing_the_selected_protocol_rebalances() -> None:
    h = Harness()
    h.stable(2, ["i1"])
    call = h.join(instance="i1", protocols=[("roundrobin", sub("t1"))])
    assert not call.pending.done and h.state() is GroupState.PREPARING_REBALANCE


def test_static_member_rejoin_during_completing_rebalance_fences_the_old_sync() -> None:
    h = Harness()
    a, b = h.join(instance="i1"), h.join(instance="i2")
    h.settle()
    old_i2 = done(b).member_id
    parked = h.sync(old_i2, 1, instance="i2")
    call = h.join(instance="i2")
    assert synced(parked).error == E.FENCED_INSTANCE_ID
    assert h.state() is GroupState.PREPARING_REBALANCE and not call.pending.done
    leader_call = h.join(done(a).member_id, instance="i1")
    assert done(call).generation_id == 2 == done(leader_call).generation_id


def test_fenced_instance_id_on_join_commit_and_known_id_rejoin() -> None:
    h = Harness()
    (member,) = h.stable(1, ["i1"])
    assert done(h.join("stale", instance="i1")).error == E.FENCED_INSTANCE_ID
    assert done(h.join(member, instance="i2")).error == E.UNKNOWN_MEMBER_ID
    errors = h.c.commit_offsets(
        GROUP, {TP0: PartitionOffset(1)}, generation_id=1, member_id="stale", group_instance_id="i1"
    ).errors
    assert errors == {TP0: E.FENCED_INSTANCE_ID}
    r = done(h.join(member, instance="i1"))  # the leader rejoins: rebalance, completes at once
    assert r.error == E.NONE and r.generation_id == 2


def test_static_member_replacing_itself_in_preparing_rebalance() -> None:
    h = Harness()
    leader, _static = h.stable(2, [None, "i1"])
    leader_call = h.join(leader)
    new_static = h.join(instance="i1")
    assert done(leader_call).generation_id == 2 == done(new_static).generation_id
    assert done(new_static).member_id == "i1-u2" and h.group.static_members == {"i1": "i1-u2"}


# -- offsets ------------------------------------------------------------------------------


def test_standalone_commit_creates_an_empty_group_and_fetch_returns_it() -> None:
    h = Harness()
    result = h.c.commit_offsets(GROUP, {TP0: PartitionOffset(5, 3, "meta")})
    assert result.errors == {TP0: E.NONE}
    value = OffsetAndMetadata(5, 3, "meta", h.clock.now, None)
    assert result.records == (OffsetCommitRecord(GROUP, "t1", 0, value),)
    assert h.state() is GroupState.EMPTY and h.group.protocol_type is None
    fetched = h.c.fetch_offsets(GROUP, [TP0, TP1])
    assert fetched.error == E.NONE and fetched.offsets == {TP0: value, TP1: None}
    assert h.c.fetch_offsets(GROUP).offsets == {TP0: value}
    assert h.c.fetch_offsets("nope", [TP0]).offsets == {TP0: None}
    assert h.c.fetch_offsets("nope").offsets == {}


def test_commit_to_unknown_group_with_a_generation_is_illegal() -> None:
    h = Harness()
    assert h.commit("m", 1) == {TP0: E.ILLEGAL_GENERATION}
    assert h.c.group(GROUP) is None


def test_commit_validation_per_state() -> None:
    h = Harness()
    a, b = h.join(), h.join()
    h.settle()
    leader, follower = done(a).member_id, done(b).member_id
    assert h.commit(leader, 1) == {TP0: E.REBALANCE_IN_PROGRESS}  # CompletingRebalance
    h.sync(leader, 1, {})
    assert h.commit(leader, 1) == {TP0: E.NONE}  # Stable
    assert h.commit(leader, 0) == {TP0: E.ILLEGAL_GENERATION}
    assert h.commit("nobody", 1) == {TP0: E.UNKNOWN_MEMBER_ID}
    assert h.commit("", -1) == {TP0: E.UNKNOWN_MEMBER_ID}  # standalone commit, group has members
    h.join(leader)  # PreparingRebalance: the previous generation may still commit
    assert h.commit(follower, 1) == {TP0: E.NONE}
    h.c.leave_group(GROUP, [LeavingMember(leader), LeavingMember(follower)])
    assert h.state() is GroupState.EMPTY
    assert h.commit("", -1) == {TP0: E.NONE}  # Empty: standalone commits allowed again
    assert h.commit(leader, 2) == {TP0: E.UNKNOWN_MEMBER_ID}


def test_commit_metadata_too_large_and_timestamps() -> None:
    h = Harness(offset_metadata_max_bytes=10)
    result = h.c.commit_offsets(
        GROUP,
        {
            TP0: PartitionOffset(1, metadata="x" * 11),
            TP1: PartitionOffset(2, metadata=None, commit_timestamp=7),
        },
        retention_time_ms=1000,
    )
    assert result.errors == {TP0: E.OFFSET_METADATA_TOO_LARGE, TP1: E.NONE}
    assert result.records == (
        OffsetCommitRecord(GROUP, "t1", 1, OffsetAndMetadata(2, -1, "", 7, h.clock.now + 1000)),
    )


def test_commit_renews_the_session() -> None:
    h = Harness()
    (member,) = h.stable(1)
    for _ in range(5):
        h.advance(SESSION - 1)
        assert h.commit(member, 1) == {TP0: E.NONE}
    assert h.group.has(member)


def test_offsets_of_an_empty_group_expire_retention_after_it_became_empty() -> None:
    h = Harness(offsets_retention_ms=100_000, offsets_retention_check_interval_ms=10_000)
    (member,) = h.stable(1)
    h.commit(member, 1)
    h.advance(5_000)
    h.c.leave_group(GROUP, [LeavingMember(member)])  # Empty since t=5000
    empty_since = h.clock.now
    records = h.advance(100_000 - 5_000 - 1)  # check at t=100000: not yet (retention from Empty)
    assert records == [] and h.group.offsets
    records = h.advance(10_001)  # check at t=110000
    assert records == [OffsetCommitRecord(GROUP, "t1", 0, None), GroupMetadataRecord(GROUP, None)]
    assert h.c.group(GROUP) is None and h.clock.now - empty_since >= 100_000


def test_standalone_offsets_expire_retention_after_commit_or_at_their_expire_timestamp() -> None:
    h = Harness(offsets_retention_ms=100_000, offsets_retention_check_interval_ms=10_000)
    h.commit()  # t=0
    h.advance(50_000)
    h.c.commit_offsets(GROUP, {TP1: PartitionOffset(1)})  # t=50000
    h.c.commit_offsets(GROUP, {OTHER: PartitionOffset(1)}, retention_time_ms=15_000)
    assert h.advance(20_000) == [OffsetCommitRecord(GROUP, "other", 0, None)]  # t=70000
    assert h.advance(30_000) == [OffsetCommitRecord(GROUP, "t1", 0, None)]  # t=100000
    # the last offset expires at t=150000; the group (generation 0) dies without a tombstone
    assert h.advance(50_000) == [OffsetCommitRecord(GROUP, "t1", 1, None)]
    assert h.c.group(GROUP) is None


def test_stable_consumer_group_expires_only_offsets_of_unsubscribed_topics() -> None:
    h = Harness(offsets_retention_ms=100_000, offsets_retention_check_interval_ms=10_000)
    (member,) = h.stable(1)
    h.commit(member, 1, {TP0: PartitionOffset(1), OTHER: PartitionOffset(2)})
    for _ in range(12):
        h.advance(SESSION - 1)  # ~108 s
        h.heartbeat(member, 1)
    assert set(h.group.offsets) == {TP0}


def test_delete_offsets() -> None:
    h = Harness()
    assert h.c.delete_offsets(GROUP, [TP0]).error == E.GROUP_ID_NOT_FOUND
    (member,) = h.stable(1)
    h.commit(member, 1, {TP0: PartitionOffset(1), OTHER: PartitionOffset(2)})
    result = h.c.delete_offsets(GROUP, [TP0, OTHER])
    assert result.error == E.NONE
    assert result.partition_errors == {TP0: E.GROUP_SUBSCRIBED_TO_TOPIC, OTHER: E.NONE}
    assert result.records == (OffsetCommitRecord(GROUP, "other", 0, None),)
    h.c.leave_group(GROUP, [LeavingMember(member)])
    result = h.c.delete_offsets(GROUP, [TP0])  # Empty: anything goes; no offsets left: group dies
    assert result.partition_errors == {TP0: E.NONE}
    assert result.records == (OffsetCommitRecord(GROUP, "t1", 0, None), GroupMetadataRecord(GROUP, None))
    assert h.c.group(GROUP) is None


def test_delete_offsets_of_non_consumer_or_unparsable_groups() -> None:
    h = Harness()
    h.join(protocol_type="connect", protocols=[("v1", b"")])
    h.settle()
    assert h.c.delete_offsets(GROUP, [TP0]).error == E.NON_EMPTY_GROUP
    h = Harness()
    call = h.join(protocols=[("range", b"\x00")])  # unparsable subscription: assume subscribed
    h.settle()
    assert done(call).error == E.NONE and h.group.subscribed_topics is None
    assert h.c.delete_offsets(GROUP, [OTHER]).partition_errors == {OTHER: E.GROUP_SUBSCRIBED_TO_TOPIC}


def test_deleted_partitions_drop_offsets_of_every_group() -> None:
    h = Harness()
    h.commit()
    h.c.commit_offsets("g2", {TP0: PartitionOffset(1), OTHER: PartitionOffset(1)})
    result = h.c.on_partitions_deleted([TP0])
    assert set(result.records) == {
        OffsetCommitRecord(GROUP, "t1", 0, None),
        OffsetCommitRecord("g2", "t1", 0, None),
    }
    assert h.c.group(GROUP) is None and h.c.group("g2") is not None


# -- admin --------------------------------------------------------------------------------


def test_describe_groups() -> None:
    h = Harness()
    leader, follower = h.stable(2)
    [d, missing] = h.c.describe_groups([GROUP, "nope"])
    assert (d.error, d.state, d.protocol_type, d.protocol) == (E.NONE, "Stable", "consumer", "range")
    assert [(m.member_id, m.client_id, m.client_host, m.metadata, m.assignment) for m in d.members] == [
        (leader, "client", "/127.0.0.1", sub("t1"), b"assign-" + leader.encode()),
        (follower, "client", "/127.0.0.1", sub("t1"), b"assign-" + follower.encode()),
    ]
    assert (missing.error, missing.state) == (E.GROUP_ID_NOT_FOUND, "Dead")
    h.join(leader)
    [d] = h.c.describe_groups([GROUP])
    assert d.state == "PreparingRebalance" and d.protocol == ""
    assert {(m.metadata, m.assignment) for m in d.members} == {(b"", b"")}


def test_list_groups_with_state_filter() -> None:
    h = Harness()
    h.stable(1)
    h.c.commit_offsets("simple", {TP0: PartitionOffset(1)})
    assert {(g.group_id, g.protocol_type, g.state) for g in h.c.list_groups().groups} == {
        (GROUP, "consumer", "Stable"),
        ("simple", "", "Empty"),
    }
    assert [g.group_id for g in h.c.list_groups(["empty"]).groups] == ["simple"]
    assert [g.group_id for g in h.c.list_groups(["Stable", "Dead"]).groups] == [GROUP]
    assert len(h.c.list_groups(types=["Classic"]).groups) == 2
    assert h.c.list_groups(types=["consumer"]).groups == ()


def test_delete_groups() -> None:
    h = Harness()
    (member,) = h.stable(1)
    h.commit(member, 1)
    h.c.commit_offsets("simple", {TP0: PartitionOffset(1)})
    result = h.c.delete_groups([GROUP, "simple", "nope"])
    assert result.errors == {GROUP: E.NON_EMPTY_GROUP, "simple": E.NONE, "nope": E.GROUP_ID_NOT_FOUND}
    assert result.records == (
        OffsetCommitRecord("simple", "t1", 0, None),
    )  # generation 0: no group tombstone
    h.c.leave_group(GROUP, [LeavingMember(member)])
    result = h.c.delete_groups([GROUP])
    assert result.errors == {GROUP: E.NONE}
    assert result.records == (OffsetCommitRecord(GROUP, "t1", 0, None), GroupMetadataRecord(GROUP, None))
    assert h.c.group_ids() == []


# -- persistence round trip ---------------------------------------------------------------


def test_reload_from_records() -> None:
    h = Harness()
    leader, follower = h.stable(2, [None, "i1"])
    snapshot = h.group.snapshot({m.member_id: m.assignment for m in h.group.members.values()})
    log: list[Record] = [GroupMetadataRecord(GROUP, snapshot)]
    log += h.c.commit_offsets(GROUP, {TP0: PartitionOffset(9)}, generation_id=1, member_id=leader).records
    log += [
        OffsetCommitRecord("gone", "t1", 0, OffsetAndMetadata(1)),
        GroupMetadataRecord("gone", GroupSnapshot("consumer", 3, None, None, 0)),
        OffsetCommitRecord("gone", "t1", 0, None),
        GroupMetadataRecord("gone", None),
        OffsetCommitRecord("simple", "t1", 0, OffsetAndMetadata(4)),
    ]

    h2 = Harness()
    h2.clock.now = h.clock.now
    h2.c.begin_load()
    assert done(h2.join()).error == E.COORDINATOR_LOAD_IN_PROGRESS
    assert h2.heartbeat(leader, 1) == E.NONE
    assert synced(h2.sync(leader, 1)).error == E.REBALANCE_IN_PROGRESS
    for record in log:
        if isinstance(record, GroupMetadataRecord):
            h2.c.load_group(record.group_id, record.value)
        else:
            h2.c.load_offset(record.group_id, TopicPartition(record.topic, record.partition), record.value)
    h2.c.complete_load()
    assert sorted(h2.c.group_ids()) == [GROUP, "simple"]
    g = h2.group
    assert (g.state, g.generation_id, g.leader_id, g.protocol_name) == (GroupState.STABLE, 1, leader, "range")
    assert g.static_members == {"i1": follower} and g.subscribed_topics == frozenset({"t1"})
    assert g.get(follower).assignment == b"assign-" + follower.encode()
    assert h2.c.fetch_offsets(GROUP, [TP0]).offsets[TP0] == OffsetAndMetadata(9, -1, "", h.clock.now)
    assert h2.heartbeat(leader, 1) == E.NONE
    assert synced(h2.sync(follower, 1, instance="i1")).assignment == b"assign-" + follower.encode()
    h2.advance(SESSION // 2)
    h2.heartbeat(leader, 1)
    h2.advance(SESSION // 2)  # the follower did not heartbeat after the load: it expires
    assert not g.has(follower) and g.state is GroupState.PREPARING_REBALANCE
    simple = h2.c.group("simple")
    assert simple is not None and simple.state is GroupState.EMPTY and simple.protocol_type is None


def test_unload_answers_parked_requests() -> None:
    h = Harness()
    _leader, follower = h.stable(2)
    parked = h.join(follower, protocols=[("range", b"new")])
    h.c.unload()
    assert done(parked).error == E.NOT_COORDINATOR and h.c.group_ids() == []


# -- small pieces -------------------------------------------------------------------------


def test_pending_callbacks() -> None:
    pending: Pending[int] = Pending()
    seen: list[int] = []
    pending.add_done_callback(seen.append)

    def broken(_: int) -> None:
        raise ZeroDivisionError

    pending.add_done_callback(broken)  # logged, not raised
    pending.add_done_callback(lambda v: seen.append(v + 1))
    with pytest.raises(RuntimeError):
        pending.result()
    pending.set_result(1)
    assert seen == [1, 2] and pending.done and pending.result() == 1
    pending.add_done_callback(seen.append)
    assert seen == [1, 2, 1]
    with pytest.raises(RuntimeError):
        pending.set_result(2)
    assert Pending.resolved("x").result() == "x"


def test_subscription_parsing() -> None:
    assert parse_subscribed_topics(sub("a", "b")) == ["a", "b"]
    v3 = struct.pack(">h", 3) + bytes(ConsumerProtocolSubscription(topics=["c"], rack_id="r").encode(3))
    assert parse_subscribed_topics(v3) == ["c"]
    for bad in (b"", b"\x00", b"\xff\xff" + sub("a")[2:], b"\x00\x00\x00\x00\x00\x05"):
        with pytest.raises(ValueError):
            parse_subscribed_topics(bad)


def test_timers_are_explicit() -> None:
    h = Harness(offsets_retention_check_interval_ms=1_000_000)
    assert h.c.next_deadline() == h.clock.now + 1_000_000
    (member,) = h.stable(1)
    assert h.c.next_deadline() == h.clock.now + SESSION
    for _ in range(1000):  # rescheduling leaves stale entries behind; they never fire
        h.heartbeat(member, 1)
    assert h.c.tick().records == () and h.c.next_deadline() == h.clock.now + SESSION
    assert h.c.tick(h.clock.now + SESSION).records != ()  # an explicit now_ms works too
    assert h.c.group(GROUP) is not None and h.state() is GroupState.EMPTY


def test_config_from_properties() -> None:
    cfg = GroupCoordinatorConfig.from_properties(
        {"group.max.size": "5", "offsets.retention.minutes": "2", "group.initial.rebalance.delay.ms": " 0 "}
    )
    assert (cfg.group_max_size, cfg.offsets_retention_ms, cfg.group_initial_rebalance_delay_ms) == (
        5,
        120_000,
        0,
    )
    assert cfg.group_min_session_timeout_ms == 6000
