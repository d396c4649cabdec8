"""Classic consumer-group state: Kafka's ``GroupMetadata`` and ``MemberMetadata`` as plain objects.

This module is the data model of the coordinator in :mod:`pybroker.coordinator.group_coordinator`:
it holds no clock and no timers (callers pass ``now_ms`` where a timestamp is recorded) and
decides nothing about *when* things happen; it only keeps the bookkeeping consistent.

Group state machine (Kafka 3.9 classic protocol; ``transition_to`` enforces it)::

    to \\ from            Empty  PreparingRebalance  CompletingRebalance  Stable  Dead
    PreparingRebalance     x                             x                  x
    CompletingRebalance           x
    Stable                                               x
    Empty                         x
    Dead                   x      x                      x                  x      x

* Empty -> PreparingRebalance: the first member joins (after group.initial.rebalance.delay.ms).
* PreparingRebalance -> CompletingRebalance: the join phase completes with members (new
  generation, protocol selected, the leader receives every member's metadata).
* PreparingRebalance -> Empty: the join phase completes with no members (generation still bumps).
* CompletingRebalance -> Stable: the leader's SyncGroup stored the assignment.
* CompletingRebalance / Stable -> PreparingRebalance: join with new metadata, leader rejoin,
  leave, session expiry, missing SyncGroup.
* any -> Dead: the group is deleted (DeleteGroups, offsets expired) or unloaded.

Invariants kept by :class:`Group`:

* ``leader_id`` is ``None`` iff the group has no members, else it names a member.
* ``static_members`` maps each ``group.instance.id`` to the member id that currently owns it,
  and every static member is in it (one member per instance id).
* a member id is never both in ``members`` and in ``pending_members`` (KIP-394 ids handed out
  with MEMBER_ID_REQUIRED that have not joined yet); ``pending_sync_members`` is a subset of
  ``members``.
* a member has at most one unresolved JoinGroup (``awaiting_join``) and one unresolved
  SyncGroup (``awaiting_sync``) :class:`Pending`; resolving it clears the field.
* ``protocol_name`` is set iff the group is CompletingRebalance or Stable (or was loaded so).
"""

from __future__ import annotations

import enum
import struct
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, NamedTuple, TypeVar

from protocol.error_codes import ErrorCode
from protocol.messages.consumer_protocol_subscription import ConsumerProtocolSubscription
from pybroker.logging import get_logger

log = get_logger("pybroker.coordinator")

CONSUMER_PROTOCOL_TYPE = "consumer"
"""The protocol type of Java-style consumers; only those groups have parsed subscriptions."""

T = TypeVar("T")


class GroupState(enum.Enum):
    """Classic group states; the values are the names DescribeGroups/ListGroups report."""

    EMPTY = "Empty"
    PREPARING_REBALANCE = "PreparingRebalance"
    COMPLETING_REBALANCE = "CompletingRebalance"
    STABLE = "Stable"
    DEAD = "Dead"


_ALL_STATES = frozenset(GroupState)
VALID_PREVIOUS_STATES: Mapping[GroupState, frozenset[GroupState]] = {
    GroupState.PREPARING_REBALANCE: frozenset(
        {GroupState.STABLE, GroupState.COMPLETING_REBALANCE, GroupState.EMPTY}
    ),
    GroupState.COMPLETING_REBALANCE: frozenset({GroupState.PREPARING_REBALANCE}),
    GroupState.STABLE: frozenset({GroupState.COMPLETING_REBALANCE}),
    GroupState.EMPTY: frozenset({GroupState.PREPARING_REBALANCE}),
    GroupState.DEAD: _ALL_STATES,
}


class TopicPartition(NamedTuple):
    topic: str
    partition: int


@dataclass(frozen=True, slots=True)
class OffsetAndMetadata:
    """A committed offset (the fields of Kafka's ``OffsetCommitValue``).

    ``expire_timestamp`` is only set by OffsetCommit v2-v4 with an explicit retention time;
    ``None`` means the broker-wide offsets.retention.minutes applies.
    """

    offset: int
    leader_epoch: int = -1
    metadata: str = ""
    commit_timestamp: int = 0
    expire_timestamp: int | None = None


class Pending(Generic[T]):
    """A response that may only be known later (Kafka's join/sync callbacks).

    The coordinator resolves it exactly once, synchronously, from inside whichever call made
    the outcome known (another member's join, the leader's sync, :meth:`GroupCoordinator.tick`).
    Callbacks run at resolution (or at once when added to a resolved one).
    """

    __slots__ = ("_callbacks", "_done", "_value")

    def __init__(self) -> None:
        self._done = False
        self._value: T | None = None
        self._callbacks: list[Callable[[T], None]] = []

    @classmethod
    def resolved(cls, value: T) -> Pending[T]:
        pending: Pending[T] = cls()
        pending.set_result(value)
        return pending

    @property
    def done(self) -> bool:
        return self._done

    def result(self) -> T:
        """The value; raises :class:`RuntimeError` while unresolved."""
        if not self._done:
            raise RuntimeError("pending result is not resolved yet")
        return self._value  # type: ignore[return-value]

    def add_done_callback(self, callback: Callable[[T], None]) -> None:
        if self._done:
            callback(self._value)  # type: ignore[arg-type]
        else:
            self._callbacks.append(callback)

    def set_result(self, value: T) -> None:
        """Resolve (coordinator only). A callback raising is logged, never propagated."""
        if self._done:
            raise RuntimeError("pending result already resolved")
        self._done = True
        self._value = value
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            try:
                callback(value)
            except Exception:
                log.exception("pending_callback_failed")


@dataclass(frozen=True, slots=True)
class JoinMember:
    """One member as the leader sees it in its JoinGroup response."""

    member_id: str
    group_instance_id: str | None
    metadata: bytes


@dataclass(frozen=True, slots=True)
class JoinResult:
    """A JoinGroup response (fields as in ``JoinGroupResponse``)."""

    error: ErrorCode
    member_id: str
    generation_id: int = -1
    protocol_type: str | None = None
    protocol_name: str | None = None
    leader: str = ""
    skip_assignment: bool = False
    members: tuple[JoinMember, ...] = ()

    @classmethod
    def failure(cls, member_id: str, error: ErrorCode) -> JoinResult:
        return cls(error, member_id)


@dataclass(frozen=True, slots=True)
class SyncResult:
    """A SyncGroup response; protocol type/name are only set on success (v5+ fields)."""

    error: ErrorCode
    assignment: bytes = b""
    protocol_type: str | None = None
    protocol_name: str | None = None


@dataclass(frozen=True, slots=True)
class MemberSnapshot:
    """A member as persisted (Kafka's ``GroupMetadataValue.MemberMetadata``)."""

    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    rebalance_timeout: int
    session_timeout: int
    subscription: bytes
    assignment: bytes


@dataclass(frozen=True, slots=True)
class GroupSnapshot:
    """A group as persisted (Kafka's ``GroupMetadataValue``): written after each completed
    rebalance (leader sync), when the group becomes Empty, and on static member replacement.

    ``current_state_timestamp`` is -1 when unknown (records older than v2).
    """

    protocol_type: str
    generation: int
    protocol: str | None
    leader: str | None
    current_state_timestamp: int
    members: tuple[MemberSnapshot, ...] = ()


@dataclass(frozen=True, slots=True)
class MemberDescription:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    metadata: bytes
    assignment: bytes


@dataclass(frozen=True, slots=True)
class GroupDescription:
    """A DescribeGroups entry; ``protocol`` and member metadata/assignment only when Stable."""

    group_id: str
    error: ErrorCode
    state: str
    protocol_type: str = ""
    protocol: str = ""
    members: tuple[MemberDescription, ...] = ()


@dataclass(frozen=True, slots=True)
class GroupOverview:
    """A ListGroups entry."""

    group_id: str
    protocol_type: str
    state: str


@dataclass(slots=True, eq=False)
class Member:
    """One member of a classic group (Kafka's ``MemberMetadata``).

    ``protocols`` keeps the client's preference order; ``is_new`` marks a member that joined
    but has not yet been part of a completed join phase (it may be expired while awaiting join).
    """

    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    rebalance_timeout_ms: int
    session_timeout_ms: int
    protocol_type: str
    protocols: list[tuple[str, bytes]]
    assignment: bytes = b""
    awaiting_join: Pending[JoinResult] | None = None
    awaiting_sync: Pending[SyncResult] | None = None
    is_new: bool = False

    @property
    def is_static(self) -> bool:
        return self.group_instance_id is not None

    def protocol_names(self) -> list[str]:
        return [name for name, _ in self.protocols]

    def metadata(self, protocol: str) -> bytes:
        for name, metadata in self.protocols:
            if name == protocol:
                return metadata
        raise ValueError(f"member {self.member_id} does not support protocol {protocol}")

    def matches(self, protocols: Sequence[tuple[str, bytes]]) -> bool:
        """Same protocols, in the same order, with the same metadata bytes."""
        return len(protocols) == len(self.protocols) and all(
            a[0] == b[0] and bytes(a[1]) == bytes(b[1])
            for a, b in zip(protocols, self.protocols, strict=True)
        )

    def vote(self, candidates: frozenset[str]) -> str:
        """This member's most preferred protocol among ``candidates``."""
        for name, _ in self.protocols:
            if name in candidates:
                return name
        raise ValueError(f"member {self.member_id} supports none of {sorted(candidates)}")

    def survives_heartbeat_expiry(self) -> bool:
        """Kafka's ``hasSatisfiedHeartbeat`` at the moment the session deadline passes: members
        parked in a JoinGroup or SyncGroup are alive, except new members (whose join timed out)."""
        return not self.is_new and (self.awaiting_join is not None or self.awaiting_sync is not None)

    def snapshot(self, protocol: str, assignment: bytes) -> MemberSnapshot:
        return MemberSnapshot(
            self.member_id,
            self.group_instance_id,
            self.client_id,
            self.client_host,
            self.rebalance_timeout_ms,
            self.session_timeout_ms,
            self.metadata(protocol),
            assignment,
        )


class Group:
    """One classic group: membership, generation, protocol and committed offsets."""

    __slots__ = (
        "current_state_timestamp",
        "generation_id",
        "group_id",
        "leader_id",
        "members",
        "new_member_added",
        "offsets",
        "pending_members",
        "pending_sync_members",
        "protocol_name",
        "protocol_type",
        "state",
        "static_members",
        "subscribed_topics",
    )

    def __init__(self, group_id: str, now_ms: int, state: GroupState = GroupState.EMPTY) -> None:
        self.group_id = group_id
        self.state = state
        self.current_state_timestamp: int | None = now_ms
        self.protocol_type: str | None = None
        self.protocol_name: str | None = None
        self.generation_id = 0
        self.leader_id: str | None = None
        self.members: dict[str, Member] = {}
        self.static_members: dict[str, str] = {}
        self.pending_members: set[str] = set()
        self.pending_sync_members: set[str] = set()
        self.offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        # topics the consumer-protocol members subscribe to; None = unknown (assume all)
        self.subscribed_topics: frozenset[str] | None = None
        # a member joined during the initial (generation 0) delayed join: extend the delay
        self.new_member_added = False

    # -- basic queries --------------------------------------------------------------------

    def is_(self, state: GroupState) -> bool:
        return self.state is state

    def has(self, member_id: str) -> bool:
        return member_id in self.members

    def get(self, member_id: str) -> Member:
        return self.members[member_id]

    @property
    def size(self) -> int:
        return len(self.members)

    def is_leader(self, member_id: str) -> bool:
        return self.leader_id == member_id

    @property
    def is_consumer_group(self) -> bool:
        return self.protocol_type == CONSUMER_PROTOCOL_TYPE

    def num_awaiting_join(self) -> int:
        return sum(1 for m in self.members.values() if m.awaiting_join is not None)

    def has_all_members_joined(self) -> bool:
        return self.num_awaiting_join() == len(self.members) and not self.pending_members

    def not_yet_rejoined_members(self) -> list[Member]:
        return [m for m in self.members.values() if m.awaiting_join is None]

    def rebalance_timeout_ms(self) -> int:
        return max((m.rebalance_timeout_ms for m in self.members.values()), default=0)

    def current_static_member_id(self, group_instance_id: str) -> str | None:
        return self.static_members.get(group_instance_id)

    def is_pending_member(self, member_id: str) -> bool:
        return member_id in self.pending_members

    def can_rebalance(self) -> bool:
        return self.state in VALID_PREVIOUS_STATES[GroupState.PREPARING_REBALANCE]

    # -- transitions ----------------------------------------------------------------------

    def transition_to(self, state: GroupState, now_ms: int) -> None:
        if self.state not in VALID_PREVIOUS_STATES[state]:
            raise RuntimeError(
                f"group {self.group_id}: invalid transition {self.state.value} -> {state.value}"
            )
        self.state = state
        self.current_state_timestamp = now_ms

    def init_next_generation(self, now_ms: int) -> None:
        """Bump the generation at the end of a join phase: CompletingRebalance with the selected
        protocol, or Empty when nobody is left."""
        self.generation_id += 1
        if self.members:
            self.protocol_name = self.select_protocol()
            self.subscribed_topics = self.compute_subscribed_topics()
            self.transition_to(GroupState.COMPLETING_REBALANCE, now_ms)
        else:
            self.protocol_name = None
            self.subscribed_topics = self.compute_subscribed_topics()
            self.transition_to(GroupState.EMPTY, now_ms)
        self.pending_sync_members.clear()

    # -- membership -----------------------------------------------------------------------

    def add(self, member: Member, pending: Pending[JoinResult] | None = None) -> None:
        if member.group_instance_id is not None:
            if member.group_instance_id in self.static_members:
                raise RuntimeError(f"static member {member.group_instance_id} is already in the group")
            self.static_members[member.group_instance_id] = member.member_id
        if not self.members:
            self.protocol_type = member.protocol_type
        if self.leader_id is None:
            self.leader_id = member.member_id
        self.members[member.member_id] = member
        member.awaiting_join = pending
        self.pending_members.discard(member.member_id)

    def remove(self, member_id: str) -> Member | None:
        """Drop a member (or a pending member id); re-elects the leader if it was the leader."""
        member = self.members.pop(member_id, None)
        if member is not None and member.group_instance_id is not None:
            self.static_members.pop(member.group_instance_id, None)
        if self.leader_id == member_id:
            self.leader_id = next(iter(self.members), None)
        self.pending_members.discard(member_id)
        self.pending_sync_members.discard(member_id)
        return member

    def add_pending_member(self, member_id: str) -> None:
        if member_id in self.members:
            raise RuntimeError(f"pending member {member_id} is already a member")
        self.pending_members.add(member_id)

    def update_member(
        self,
        member: Member,
        protocols: Sequence[tuple[str, bytes]],
        rebalance_timeout_ms: int,
        session_timeout_ms: int,
        pending: Pending[JoinResult] | None,
    ) -> None:
        """New protocols/timeouts; ``pending`` becomes the member's parked JoinGroup. A JoinGroup
        it supersedes (the client gave up on it) is answered REBALANCE_IN_PROGRESS."""
        member.protocols = [(name, bytes(md)) for name, md in protocols]
        member.rebalance_timeout_ms = rebalance_timeout_ms
        member.session_timeout_ms = session_timeout_ms
        previous, member.awaiting_join = member.awaiting_join, pending
        if previous is not None and previous is not pending:
            previous.set_result(JoinResult.failure(member.member_id, ErrorCode.REBALANCE_IN_PROGRESS))

    def replace_static_member(self, group_instance_id: str, old_member_id: str, new_member_id: str) -> Member:
        """Give a static member's slot (protocols, assignment, leadership) to a new member id;
        parked requests of the old id are fenced."""
        member = self.members.pop(old_member_id)
        self.maybe_invoke_join(member, JoinResult.failure(old_member_id, ErrorCode.FENCED_INSTANCE_ID))
        self.maybe_invoke_sync(member, SyncResult(ErrorCode.FENCED_INSTANCE_ID))
        member.member_id = new_member_id
        self.members[new_member_id] = member
        if self.leader_id == old_member_id:
            self.leader_id = new_member_id
        if old_member_id in self.pending_sync_members:
            self.pending_sync_members.discard(old_member_id)
            self.pending_sync_members.add(new_member_id)
        self.static_members[group_instance_id] = new_member_id
        return member

    def maybe_elect_new_joined_leader(self) -> bool:
        """Keep the leader if it rejoined, else pick any rejoined member; False if the group has
        no leader or nobody rejoined."""
        if self.leader_id is None:
            return False
        if self.members[self.leader_id].awaiting_join is not None:
            return True
        for member_id, member in self.members.items():
            if member.awaiting_join is not None:
                log.info("group_leader_replaced", group=self.group_id, old=self.leader_id, new=member_id)
                self.leader_id = member_id
                return True
        return False

    def maybe_invoke_join(self, member: Member, result: JoinResult) -> bool:
        pending, member.awaiting_join = member.awaiting_join, None
        if pending is None:
            return False
        pending.set_result(result)
        return True

    def maybe_invoke_sync(self, member: Member, result: SyncResult) -> bool:
        pending, member.awaiting_sync = member.awaiting_sync, None
        if pending is None:
            return False
        pending.set_result(result)
        return True

    # -- protocols ------------------------------------------------------------------------

    def candidate_protocols(self) -> frozenset[str]:
        """Protocols every member supports."""
        sets = [frozenset(m.protocol_names()) for m in self.members.values()]
        return frozenset.intersection(*sets) if sets else frozenset()

    def supports_protocols(self, protocol_type: str, protocols: Iterable[str]) -> bool:
        names = set(protocols)
        if self.is_(GroupState.EMPTY):
            return bool(protocol_type) and bool(names)
        if self.protocol_type != protocol_type:
            return False
        if not self.members:
            return bool(names)
        return bool(names & self.candidate_protocols())

    def select_protocol(self) -> str:
        """Each member votes for its most preferred common protocol; most votes wins (ties go
        to the protocol voted first, in member join order)."""
        if not self.members:
            raise RuntimeError("cannot select a protocol for a group without members")
        candidates = self.candidate_protocols()
        votes = Counter(m.vote(candidates) for m in self.members.values())
        return votes.most_common(1)[0][0]

    def current_member_metadata(self) -> tuple[JoinMember, ...]:
        """What the leader receives: every member's metadata for the selected protocol."""
        if self.protocol_name is None or self.state in (GroupState.DEAD, GroupState.PREPARING_REBALANCE):
            raise RuntimeError(f"no member metadata for group in state {self.state.value}")
        protocol = self.protocol_name
        return tuple(
            JoinMember(m.member_id, m.group_instance_id, m.metadata(protocol)) for m in self.members.values()
        )

    # -- subscriptions (consumer protocol) ------------------------------------------------

    def compute_subscribed_topics(self) -> frozenset[str] | None:
        """Union of the members' subscribed topics for consumer groups; None when unknown (not a
        consumer group, no protocol yet, or unparsable metadata)."""
        if self.protocol_type != CONSUMER_PROTOCOL_TYPE:
            return None
        if not self.members:
            return frozenset()
        if self.protocol_name is None:
            return None
        topics: set[str] = set()
        try:
            for member in self.members.values():
                topics.update(parse_subscribed_topics(member.metadata(self.protocol_name)))
        except ValueError:
            log.warning("consumer_protocol_unparsable", group=self.group_id, protocol=self.protocol_name)
            return None
        return frozenset(topics)

    def is_subscribed_to_topic(self, topic: str) -> bool:
        return self.subscribed_topics is None or topic in self.subscribed_topics

    # -- offsets --------------------------------------------------------------------------

    def remove_offsets(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, OffsetAndMetadata]:
        removed: dict[TopicPartition, OffsetAndMetadata] = {}
        for tp in partitions:
            value = self.offsets.pop(tp, None)
            if value is not None:
                removed[tp] = value
        return removed

    def remove_expired_offsets(
        self, now_ms: int, retention_ms: int
    ) -> dict[TopicPartition, OffsetAndMetadata]:
        """Kafka 2.1+ (KIP-211) expiration.

        * Empty group with a protocol type: expire once retention has passed since the group
          became Empty (its state timestamp; the commit time if unknown).
        * Stable consumer group with known subscriptions: expire offsets of topics nobody
          subscribes to, retention after their commit.
        * Standalone group (offsets only, no protocol type): retention after commit.
        * Otherwise nothing expires. An explicit ``expire_timestamp`` (OffsetCommit v2-v4) wins.
        """
        exclude: frozenset[str] = frozenset()
        state_ts: int | None = None
        if self.protocol_type is not None and self.is_(GroupState.EMPTY):
            state_ts = self.current_state_timestamp
        elif (
            self.protocol_type == CONSUMER_PROTOCOL_TYPE
            and self.subscribed_topics is not None
            and self.is_(GroupState.STABLE)
        ):
            exclude = self.subscribed_topics
        elif self.protocol_type is not None:
            return {}

        def expired(tp: TopicPartition, o: OffsetAndMetadata) -> bool:
            if tp.topic in exclude:
                return False
            if o.expire_timestamp is not None:
                return now_ms >= o.expire_timestamp
            base = o.commit_timestamp if state_ts is None else state_ts
            return now_ms - base >= retention_ms

        return self.remove_offsets([tp for tp, o in self.offsets.items() if expired(tp, o)])

    # -- persistence and admin views ------------------------------------------------------

    def snapshot(self, assignment: Mapping[str, bytes]) -> GroupSnapshot:
        """The ``GroupMetadataValue`` to persist, with ``assignment`` per member id."""
        members: tuple[MemberSnapshot, ...] = ()
        if self.protocol_name is not None:
            protocol = self.protocol_name
            members = tuple(
                m.snapshot(protocol, assignment.get(m.member_id, b"")) for m in self.members.values()
            )
        return GroupSnapshot(
            protocol_type=self.protocol_type or "",
            generation=self.generation_id,
            protocol=self.protocol_name,
            leader=self.leader_id,
            current_state_timestamp=-1
            if self.current_state_timestamp is None
            else self.current_state_timestamp,
            members=members,
        )

    @classmethod
    def from_snapshot(cls, group_id: str, snapshot: GroupSnapshot) -> Group:
        """Rebuild a group read back from ``__consumer_offsets``: Stable with its members, or
        Empty."""
        state = GroupState.STABLE if snapshot.members else GroupState.EMPTY
        ts = snapshot.current_state_timestamp
        group = cls(group_id, 0, state)
        group.current_state_timestamp = None if ts < 0 else ts
        group.generation_id = snapshot.generation
        group.protocol_type = snapshot.protocol_type or None
        group.protocol_name = snapshot.protocol
        for ms in snapshot.members:
            protocols = [(snapshot.protocol or "", bytes(ms.subscription))]
            member = Member(
                ms.member_id,
                ms.group_instance_id,
                ms.client_id,
                ms.client_host,
                ms.rebalance_timeout,
                ms.session_timeout,
                snapshot.protocol_type,
                protocols,
                assignment=bytes(ms.assignment),
            )
            group.add(member)
        if snapshot.leader is not None and snapshot.leader in group.members:
            group.leader_id = snapshot.leader
        group.subscribed_topics = group.compute_subscribed_topics()
        return group

    def describe(self) -> GroupDescription:
        stable = self.is_(GroupState.STABLE) and self.protocol_name is not None
        protocol = self.protocol_name or ""
        members = tuple(
            MemberDescription(
                m.member_id,
                m.group_instance_id,
                m.client_id,
                m.client_host,
                m.metadata(protocol) if stable else b"",
                m.assignment if stable else b"",
            )
            for m in self.members.values()
        )
        return GroupDescription(
            self.group_id,
            ErrorCode.NONE,
            self.state.value,
            self.protocol_type or "",
            protocol if stable else "",
            members,
        )

    def overview(self) -> GroupOverview:
        return GroupOverview(self.group_id, self.protocol_type or "", self.state.value)

    def __repr__(self) -> str:
        return (
            f"Group({self.group_id!r}, {self.state.value}, generation={self.generation_id}, "
            f"members={list(self.members)})"
        )


_INT16 = struct.Struct(">h")


def parse_subscribed_topics(metadata: bytes) -> list[str]:
    """Topics of a consumer-protocol subscription: an int16 version, then (at least) the v0
    fields, which every later version extends. Raises ``ValueError`` when malformed."""
    if len(metadata) < 2:
        raise ValueError("consumer protocol metadata shorter than its version")
    (version,) = _INT16.unpack_from(metadata, 0)
    if version < 0:
        raise ValueError(f"unsupported consumer protocol version {version}")
    subscription, _ = ConsumerProtocolSubscription.decode_from(metadata, 2, 0)
    return list(subscription.topics)


@dataclass(frozen=True, slots=True)
class GroupMetadataRecord:
    """Write ``value`` under ``GroupMetadataKey(group_id)``; ``None`` is a tombstone."""

    group_id: str
    value: GroupSnapshot | None


@dataclass(frozen=True, slots=True)
class OffsetCommitRecord:
    """Write ``value`` under ``OffsetCommitKey(group_id, topic, partition)``; ``None`` is a
    tombstone."""

    group_id: str
    topic: str
    partition: int
    value: OffsetAndMetadata | None


Record = GroupMetadataRecord | OffsetCommitRecord
"""Something the persistence layer must append to ``__consumer_offsets``."""
