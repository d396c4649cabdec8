"""Leader election strategies and ISR rules (Kafka's Election.scala and removeReplicasFromIsr)."""

from __future__ import annotations

from pybroker.cluster import leader_election as E
from pybroker.cluster.zk_layout import LEADER_RECOVERY_RECOVERED, LEADER_RECOVERY_RECOVERING, PartitionState


def st(leader: int, isr: list[int], epoch: int = 5, pe: int = 9) -> PartitionState:
    return PartitionState(leader=leader, leader_epoch=epoch, isr=isr, controller_epoch=3, partition_epoch=pe)


def test_initial_state_first_live_replica_leads() -> None:
    s = E.initial_state([3, 1, 2], {1, 2}, controller_epoch=4)
    assert s is not None
    assert (s.leader, s.isr, s.leader_epoch, s.controller_epoch) == (1, [1, 2], 0, 4)
    assert E.initial_state([3, 1], set(), 4) is None


def test_offline_first_live_isr_member_in_assignment_order() -> None:
    s = E.elect_offline([1, 2, 3], st(1, [1, 3, 2]), live={2, 3}, unclean=False)
    assert s is not None
    assert (s.leader, s.isr, s.leader_epoch, s.partition_epoch, s.controller_epoch) == (2, [3, 2], 6, 9, 3)
    assert s.leader_recovery_state == LEADER_RECOVERY_RECOVERED


def test_offline_no_live_isr_member() -> None:
    assert E.elect_offline([1, 2, 3], st(1, [1]), live={2, 3}, unclean=False) is None
    s = E.elect_offline([1, 3, 2], st(1, [1]), live={2, 3}, unclean=True)
    assert s is not None
    assert (s.leader, s.isr, s.leader_epoch) == (3, [3], 6)
    assert s.leader_recovery_state == LEADER_RECOVERY_RECOVERING
    s = E.elect_offline([1, 3, 2], st(1, [1]), live={2, 3}, unclean=True, leader_recovery_supported=False)
    assert s is not None and s.leader_recovery_state == LEADER_RECOVERY_RECOVERED
    assert E.elect_offline([1, 2], st(1, [1]), live=set(), unclean=True) is None


def test_offline_prefers_clean_even_when_unclean_allowed() -> None:
    s = E.elect_offline([1, 2, 3], st(-1, [3]), live={2, 3}, unclean=True)
    assert s is not None and (s.leader, s.isr) == (3, [3])
    assert s.leader_recovery_state == LEADER_RECOVERY_RECOVERED


def test_reassignment_leader_from_target_keeps_isr() -> None:
    s = E.elect_reassigned([4, 5, 2], st(1, [1, 2, 5]), live={1, 2, 4, 5})
    assert s is not None and (s.leader, s.isr, s.leader_epoch) == (5, [1, 2, 5], 6)
    assert E.elect_reassigned([4], st(1, [1, 2]), live={4}) is None


def test_preferred() -> None:
    s = E.elect_preferred([2, 1], st(1, [1, 2]), live={1, 2})
    assert s is not None and (s.leader, s.isr, s.leader_epoch) == (2, [1, 2], 6)
    assert E.elect_preferred([2, 1], st(1, [1]), live={1, 2}) is None  # not in ISR
    assert E.elect_preferred([2, 1], st(1, [1, 2]), live={1}) is None  # not live
    assert E.preferred_leader([], [1], {1}) is None


def test_controlled_shutdown() -> None:
    s = E.elect_controlled_shutdown([1, 2, 3], st(1, [1, 2, 3]), {1, 2, 3}, shutting_down={1})
    assert s is not None and (s.leader, s.isr, s.leader_epoch) == (2, [2, 3], 6)
    # the only other replica is out of sync: no election (the broker keeps leading)
    assert E.elect_controlled_shutdown([1, 2], st(1, [1]), {1, 2}, shutting_down={1}) is None
    # two brokers shutting down at once
    s = E.elect_controlled_shutdown([1, 2, 3], st(1, [1, 2, 3]), {1, 2, 3}, shutting_down={1, 2})
    assert s is not None and (s.leader, s.isr) == (3, [3])


def test_remove_replica_from_isr() -> None:
    follower = E.remove_replica_from_isr(st(1, [1, 2, 3]), 2)
    assert follower is not None and (follower.leader, follower.isr, follower.leader_epoch) == (1, [1, 3], 6)
    leader = E.remove_replica_from_isr(st(1, [1, 2]), 1)
    assert leader is not None and (leader.leader, leader.isr) == (-1, [2])
    last = E.remove_replica_from_isr(st(1, [1]), 1)
    assert last is not None and (last.leader, last.isr, last.leader_epoch) == (-1, [1], 6)
    assert E.remove_replica_from_isr(st(1, [1]), 2) is None


def test_new_epoch_keeps_everything_else() -> None:
    s = E.new_epoch(st(2, [2, 3]))
    assert (s.leader, s.isr, s.leader_epoch, s.partition_epoch) == (2, [2, 3], 6, 9)


def test_replica_assignment_reassign_to() -> None:
    a = E.ReplicaAssignment.of([1, 2, 3])
    r = a.reassign_to([3, 4, 2])
    assert (r.replicas, r.adding, r.removing) == ((3, 4, 2, 1), (4,), (1,))
    assert r.origin == [3, 2, 1] and r.target == [3, 4, 2] and r.is_being_reassigned
    # replacing a reassignment keeps the original replicas as the origin
    r2 = r.reassign_to([5, 6])
    assert (r2.replicas, r2.adding, r2.removing) == ((5, 6, 3, 2, 1), (5, 6), (3, 2, 1))
    # cancelling: back to the origin (order of the in-flight replica set)
    c = r.reassign_to(r.origin)
    assert (c.replicas, c.adding, c.removing) == ((3, 2, 1), (), ())
    assert not c.is_being_reassigned
    same = a.reassign_to([1, 2, 3])
    assert same == a
    assert r.remove_replica(4) == E.ReplicaAssignment.of([3, 2, 1], [], [1])
