"""Leader election and ISR rules of Kafka's ZooKeeper controller (``Election.scala``,
``PartitionLeaderElectionAlgorithms``, ``ReplicaStateMachine.removeReplicasFromIsr``).

Pure: every function takes the partition's assignment, its current
:class:`~pybroker.cluster.zk_layout.PartitionState` and the set of brokers that count as live,
and returns the state to write (or None: no eligible leader / nothing to change). The caller
writes the result conditionally on the state znode's version and stamps its own controller
epoch; the functions keep ``partition_epoch`` (the version to write against) and
``controller_epoch`` unchanged.

Every result bumps ``leader_epoch``, as Kafka's ``LeaderAndIsr.newLeaderAndIsr`` /
``newLeader`` / ``newEpoch`` do: a new leader, an ISR shrink by the controller, a reassignment's
replica set change.

Strategies
    offline: the first replica, in assignment order, that is live and in the ISR; the ISR keeps its
        live members. With unclean election allowed and no live ISR member, the first live replica
        leads and the ISR becomes just it, with ``leader_recovery_state`` RECOVERING (Kafka 3.2+).
    reassignment: the first target replica that is live and in the ISR; the ISR is unchanged.
    preferred: the first assigned replica, if live and in the ISR; the ISR is unchanged.
    controlled shutdown: the first replica that is live (shutting-down brokers count), in the ISR
        and not shutting down; shutting-down brokers leave the ISR.

:class:`ReplicaAssignment` is Kafka's ``ReplicaAssignment`` (KIP-455): the full replica set RS
with the replicas being added (AR) and removed (RR) while a reassignment runs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from pybroker.cluster.zk_layout import LEADER_RECOVERY_RECOVERING, PartitionState

NO_LEADER = -1


@dataclass(frozen=True, slots=True)
class ReplicaAssignment:
    """RS, AR and RR of one partition. ``origin`` = RS - AR, ``target`` = RS - RR."""

    replicas: tuple[int, ...]
    adding: tuple[int, ...] = field(default=())
    removing: tuple[int, ...] = field(default=())

    @classmethod
    def of(
        cls, replicas: Sequence[int], adding: Sequence[int] = (), removing: Sequence[int] = ()
    ) -> ReplicaAssignment:
        return cls(tuple(replicas), tuple(adding), tuple(removing))

    @property
    def origin(self) -> list[int]:
        return [r for r in self.replicas if r not in self.adding]

    @property
    def target(self) -> list[int]:
        return [r for r in self.replicas if r not in self.removing]

    @property
    def is_being_reassigned(self) -> bool:
        return bool(self.adding or self.removing)

    def reassign_to(self, target: Sequence[int]) -> ReplicaAssignment:
        """Kafka's ``reassignTo``: RS = TRS + (ORS - TRS), AR = RS - ORS, RR = RS - TRS."""
        origin = self.origin
        full: list[int] = []
        for r in [*target, *origin]:
            if r not in full:
                full.append(r)
        return ReplicaAssignment(
            tuple(full),
            tuple(r for r in full if r not in origin),
            tuple(r for r in full if r not in target),
        )

    def remove_replica(self, replica: int) -> ReplicaAssignment:
        return ReplicaAssignment(
            tuple(r for r in self.replicas if r != replica),
            tuple(r for r in self.adding if r != replica),
            tuple(r for r in self.removing if r != replica),
        )


def new_leader_and_isr(state: PartitionState, leader: int, isr: Sequence[int]) -> PartitionState:
    """A new leader and ISR with the leader epoch bumped (recovery state kept)."""
    return dataclasses.replace(state, leader=leader, isr=list(isr), leader_epoch=state.leader_epoch + 1)


def new_epoch(state: PartitionState) -> PartitionState:
    """Same leader and ISR, leader epoch + 1 (Kafka's ``newEpoch``)."""
    return dataclasses.replace(state, leader_epoch=state.leader_epoch + 1)


def initial_state(
    assignment: Sequence[int], live: Collection[int], controller_epoch: int
) -> PartitionState | None:
    """A new partition: the first live replica leads, the live replicas are the ISR (epoch 0).
    None when no replica is live (the partition stays uninitialised)."""
    live_replicas = [r for r in assignment if r in live]
    if not live_replicas:
        return None
    return PartitionState(
        leader=live_replicas[0], leader_epoch=0, isr=live_replicas, controller_epoch=controller_epoch
    )


def offline_leader(
    assignment: Sequence[int], isr: Collection[int], live: Collection[int], unclean: bool
) -> int | None:
    """``offlinePartitionLeaderElection``: first live ISR member, else (unclean) first live replica."""
    leader = next((r for r in assignment if r in live and r in isr), None)
    if leader is None and unclean:
        leader = next((r for r in assignment if r in live), None)
    return leader


def elect_offline(
    assignment: Sequence[int],
    state: PartitionState,
    live: Collection[int],
    unclean: bool,
    *,
    leader_recovery_supported: bool = True,
) -> PartitionState | None:
    """Kafka's ``leaderForOffline``: None when no replica may lead."""
    leader = offline_leader(assignment, state.isr, live, unclean)
    if leader is None:
        return None
    if leader in state.isr:
        return new_leader_and_isr(state, leader, [r for r in state.isr if r in live])
    result = new_leader_and_isr(state, leader, [leader])
    if leader_recovery_supported:
        result = dataclasses.replace(result, leader_recovery_state=LEADER_RECOVERY_RECOVERING)
    return result


def elect_reassigned(
    target: Sequence[int], state: PartitionState, live: Collection[int]
) -> PartitionState | None:
    """Kafka's ``leaderForReassign``: the first live target replica in the ISR; ISR unchanged."""
    leader = next((r for r in target if r in live and r in state.isr), None)
    return None if leader is None else new_leader_and_isr(state, leader, state.isr)


def preferred_leader(assignment: Sequence[int], isr: Collection[int], live: Collection[int]) -> int | None:
    """The preferred (first) replica if it is live and in the ISR."""
    if assignment and assignment[0] in live and assignment[0] in isr:
        return assignment[0]
    return None


def elect_preferred(
    assignment: Sequence[int], state: PartitionState, live: Collection[int]
) -> PartitionState | None:
    """Kafka's ``leaderForPreferredReplica``: ISR unchanged."""
    leader = preferred_leader(assignment, state.isr, live)
    return None if leader is None else new_leader_and_isr(state, leader, state.isr)


def elect_controlled_shutdown(
    assignment: Sequence[int],
    state: PartitionState,
    live_or_shutting_down: Collection[int],
    shutting_down: Collection[int],
) -> PartitionState | None:
    """Kafka's ``leaderForControlledShutdown``: shutting-down brokers neither lead nor stay in the ISR."""
    leader = next(
        (r for r in assignment if r in live_or_shutting_down and r in state.isr and r not in shutting_down),
        None,
    )
    if leader is None:
        return None
    return new_leader_and_isr(state, leader, [r for r in state.isr if r not in shutting_down])


def remove_replica_from_isr(state: PartitionState, replica: int) -> PartitionState | None:
    """Kafka's ``removeReplicasFromIsr`` for one replica going offline; None if it is not in the ISR.

    A leaving leader leaves no leader (-1). The ISR never becomes empty: a sole member stays, so
    the partition can come back with it (and only it) once it returns.
    """
    if replica not in state.isr:
        return None
    leader = NO_LEADER if replica == state.leader else state.leader
    isr = list(state.isr) if len(state.isr) == 1 else [r for r in state.isr if r != replica]
    return new_leader_and_isr(state, leader, isr)
