"""The classic group coordinator (Kafka 3.9 ``GroupCoordinator.scala``) as a sans-IO state machine.

No sockets, no asyncio, no wall clock: every public method reads the injected ``clock`` once
and runs to completion. What Kafka parks in purgatories is modelled with two tools:

* :class:`~pybroker.coordinator.group.Pending` results. ``join_group`` and ``sync_group``
  return one inside a :class:`JoinCall` / :class:`SyncCall`; it is resolved synchronously by
  whichever later call completes it (another member's join, the leader's sync, a leave, a
  timer in :meth:`GroupCoordinator.tick`). Every parked request is eventually resolved.
* explicit timers, one per key, in a lazy-deletion heap: member session (or new-member join)
  expiry, KIP-394 pending member expiry, the join phase (rebalance timeout, or the
  group.initial.rebalance.delay.ms initial delay for an Empty group, re-armed while members
  keep arriving), the sync phase (members that never send SyncGroup), and the periodic offsets
  retention check. An adapter sleeps until :meth:`GroupCoordinator.next_deadline` and calls
  :meth:`GroupCoordinator.tick`. A timer armed during a tick fires at the next tick at the
  earliest.

Persistence: operations that Kafka follows with a write to ``__consumer_offsets`` return the
records to append (:data:`~pybroker.coordinator.group.Record`): the group snapshot after the
leader's sync, when the group becomes Empty and on static member replacement; one offset
record per committed partition; tombstones for deleted/expired offsets and deleted groups.
The state is updated at once (the lead appends the records and should release the responses
produced by the same call after the append). ``begin_load`` / ``load_group`` /
``load_offset`` / ``complete_load`` rebuild the state from the log at startup.

Join phase (PreparingRebalance) completes when every member has rejoined and no KIP-394
pending member is outstanding, or when its timer fires: dynamic members that did not rejoin
are then removed (static ones stay and are expected to sync), the leader is re-elected among
rejoined members, the generation is bumped and all parked joins are answered together.
"""

from __future__ import annotations

import heapq
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from protocol.error_codes import ErrorCode
from pybroker.coordinator.group import (
    Group,
    GroupDescription,
    GroupMetadataRecord,
    GroupOverview,
    GroupSnapshot,
    GroupState,
    JoinResult,
    Member,
    OffsetAndMetadata,
    OffsetCommitRecord,
    Pending,
    Record,
    SyncResult,
    TopicPartition,
    log,
)

Clock = Callable[[], int]
"""Returns the current time in milliseconds."""

UNKNOWN_MEMBER_ID = ""
NO_GENERATION = -1
DEFAULT_RETENTION = -1
INT32_MAX = 2**31 - 1


@dataclass(frozen=True, slots=True)
class GroupCoordinatorConfig:
    """Broker settings of the classic group coordinator, Kafka defaults."""

    group_min_session_timeout_ms: int = 6000
    group_max_session_timeout_ms: int = 1_800_000
    group_max_size: int = INT32_MAX
    group_initial_rebalance_delay_ms: int = 3000
    offset_metadata_max_bytes: int = 4096
    offsets_retention_ms: int = 10080 * 60_000
    offsets_retention_check_interval_ms: int = 600_000
    new_member_join_timeout_ms: int = 300_000

    @classmethod
    def from_properties(cls, props: Mapping[str, str]) -> GroupCoordinatorConfig:
        """From broker properties (``group.*``, ``offset.metadata.max.bytes``, ``offsets.*``)."""
        d = cls()

        def get(key: str, default: int) -> int:
            raw = props.get(key)
            return default if raw is None else int(raw.strip())

        return cls(
            group_min_session_timeout_ms=get("group.min.session.timeout.ms", d.group_min_session_timeout_ms),
            group_max_session_timeout_ms=get("group.max.session.timeout.ms", d.group_max_session_timeout_ms),
            group_max_size=get("group.max.size", d.group_max_size),
            group_initial_rebalance_delay_ms=get(
                "group.initial.rebalance.delay.ms", d.group_initial_rebalance_delay_ms
            ),
            offset_metadata_max_bytes=get("offset.metadata.max.bytes", d.offset_metadata_max_bytes),
            offsets_retention_ms=get("offsets.retention.minutes", d.offsets_retention_ms // 60_000) * 60_000,
            offsets_retention_check_interval_ms=get(
                "offsets.retention.check.interval.ms", d.offsets_retention_check_interval_ms
            ),
        )


# -- call results -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JoinCall:
    """``pending`` resolves to the JoinGroup response (maybe already); ``records`` must be
    appended (this call may have completed other members' requests too)."""

    pending: Pending[JoinResult]
    records: tuple[Record, ...] = ()


@dataclass(frozen=True, slots=True)
class SyncCall:
    pending: Pending[SyncResult]
    records: tuple[Record, ...] = ()


@dataclass(frozen=True, slots=True)
class LeavingMember:
    """One entry of LeaveGroup v3+ (v0-v2: a single entry with the member id)."""

    member_id: str = UNKNOWN_MEMBER_ID
    group_instance_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class LeaveMemberResult:
    member_id: str
    group_instance_id: str | None
    error: ErrorCode


@dataclass(frozen=True, slots=True)
class LeaveResult:
    error: ErrorCode
    members: tuple[LeaveMemberResult, ...] = ()
    records: tuple[Record, ...] = ()


@dataclass(frozen=True, slots=True)
class PartitionOffset:
    """One partition of an OffsetCommit request. ``commit_timestamp`` -1 means now (only v1
    carries one); ``metadata`` None is stored as ""."""

    offset: int
    leader_epoch: int = -1
    metadata: str | None = ""
    commit_timestamp: int = -1


@dataclass(frozen=True, slots=True)
class OffsetCommitResult:
    errors: dict[TopicPartition, ErrorCode]
    records: tuple[Record, ...] = ()


@dataclass(frozen=True, slots=True)
class OffsetFetchResult:
    """``offsets`` maps each requested (or, with no topics, each committed) partition to its
    committed offset, ``None`` when there is none (answer offset -1, metadata "")."""

    error: ErrorCode
    offsets: dict[TopicPartition, OffsetAndMetadata | None]


@dataclass(frozen=True, slots=True)
class OffsetDeleteResult:
    """A group-level ``error`` leaves ``partition_errors`` empty."""

    error: ErrorCode
    partition_errors: dict[TopicPartition, ErrorCode]
    records: tuple[Record, ...] = ()


@dataclass(frozen=True, slots=True)
class ListGroupsResult:
    error: ErrorCode
    groups: tuple[GroupOverview, ...]


@dataclass(frozen=True, slots=True)
class DeleteGroupsResult:
    errors: dict[str, ErrorCode]
    records: tuple[Record, ...] = ()


@dataclass(frozen=True, slots=True)
class TickResult:
    records: tuple[Record, ...] = ()


# -- timers -------------------------------------------------------------------------------

_HEARTBEAT = "heartbeat"  # member session / new-member join expiry
_PENDING = "pending"  # KIP-394 pending member id expiry
_JOIN = "join"  # join phase: rebalance timeout or initial delay
_SYNC = "sync"  # sync phase: members that never sent SyncGroup
_OFFSETS = "offsets"  # offsets retention check


class _TimerKey(NamedTuple):
    kind: str
    group_id: str = ""
    member_id: str = ""


_OFFSETS_KEY = _TimerKey(_OFFSETS)


class _TimerQueue:
    """One deadline per key; rescheduling or cancelling leaves stale heap entries that are
    skipped (and compacted away when they dominate)."""

    __slots__ = ("_heap", "_live", "seq")

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, _TimerKey]] = []
        self._live: dict[_TimerKey, tuple[int, int]] = {}  # key -> (seq, deadline)
        self.seq = 0

    def schedule(self, key: _TimerKey, deadline: int) -> None:
        self.seq += 1
        self._live[key] = (self.seq, deadline)
        heapq.heappush(self._heap, (deadline, self.seq, key))
        if len(self._heap) > 64 + 4 * len(self._live):
            self._heap = [(d, s, k) for k, (s, d) in self._live.items()]
            heapq.heapify(self._heap)

    def cancel(self, key: _TimerKey) -> None:
        self._live.pop(key, None)

    def deadline(self, key: _TimerKey) -> int | None:
        entry = self._live.get(key)
        return None if entry is None else entry[1]

    def _is_live(self, seq: int, key: _TimerKey) -> bool:
        entry = self._live.get(key)
        return entry is not None and entry[0] == seq

    def next_deadline(self) -> int | None:
        heap = self._heap
        while heap and not self._is_live(heap[0][1], heap[0][2]):
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def pop_due(self, now: int, max_seq: int) -> _TimerKey | None:
        """The earliest live key due at ``now`` that was armed with a sequence <= ``max_seq``."""
        heap = self._heap
        skipped: list[tuple[int, int, _TimerKey]] = []
        found: _TimerKey | None = None
        while heap:
            deadline, seq, key = heap[0]
            if not self._is_live(seq, key):
                heapq.heappop(heap)
                continue
            if deadline > now:
                break
            entry = heapq.heappop(heap)
            if seq > max_seq:
                skipped.append(entry)
                continue
            del self._live[key]
            found = key
            break
        for entry in skipped:
            heapq.heappush(heap, entry)
        return found


@dataclass(slots=True)
class _DelayedJoin:
    """The join phase timer: Kafka's DelayedJoin, or InitialDelayedJoin (``initial``) which only
    ends on expiry and re-arms itself while new members arrive (up to the rebalance timeout)."""

    initial: bool
    delay_ms: int
    remaining_ms: int = 0


@dataclass(frozen=True, slots=True)
class _JoinRequest:
    group_id: str
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    rebalance_timeout_ms: int
    session_timeout_ms: int
    protocol_type: str
    protocols: list[tuple[str, bytes]]
    require_known_member_id: bool
    supports_skipping_assignment: bool
    reason: str


class GroupCoordinator:
    """Classic-protocol group membership and offset bookkeeping for every group of this broker."""

    def __init__(
        self,
        config: GroupCoordinatorConfig | None = None,
        *,
        clock: Clock,
        new_uuid: Callable[[], str] | None = None,
    ) -> None:
        self.config = config or GroupCoordinatorConfig()
        self._clock = clock
        self._new_uuid: Callable[[], str] = new_uuid or (lambda: str(uuid.uuid4()))
        self._groups: dict[str, Group] = {}
        self._timers = _TimerQueue()
        self._join_ops: dict[str, _DelayedJoin] = {}
        self._sync_ops: dict[str, int] = {}  # group id -> generation the sync timer watches
        self._records: list[Record] = []
        self._loading = False
        self._staged_groups: dict[str, GroupSnapshot | None] = {}
        self._staged_offsets: dict[str, dict[TopicPartition, OffsetAndMetadata | None]] = {}
        self._now = clock()
        self._timers.schedule(_OFFSETS_KEY, self._now + self.config.offsets_retention_check_interval_ms)

    # -- inspection -----------------------------------------------------------------------

    def group(self, group_id: str) -> Group | None:
        return self._groups.get(group_id)

    def group_ids(self) -> list[str]:
        return list(self._groups)

    # -- timers ---------------------------------------------------------------------------

    def next_deadline(self) -> int | None:
        """When :meth:`tick` next has work (milliseconds, clock time)."""
        return self._timers.next_deadline()

    def tick(self, now_ms: int | None = None) -> TickResult:
        """Fire every timer due at ``now_ms`` (default: the clock), in deadline order.

        A timer armed by this very tick waits for the next call even if already due (so a
        zero delay cannot spin here): call again while ``next_deadline() <= now``."""
        self._now = self._clock() if now_ms is None else now_ms
        armed_before = self._timers.seq
        while (key := self._timers.pop_due(self._now, armed_before)) is not None:
            self._fire(key)
        return TickResult(self._take_records())

    def _fire(self, key: _TimerKey) -> None:
        if key.kind == _OFFSETS:
            self._cleanup_expired_offsets()
            self._timers.schedule(_OFFSETS_KEY, self._now + self.config.offsets_retention_check_interval_ms)
            return
        group = self._groups.get(key.group_id)
        if group is None or group.is_(GroupState.DEAD):
            return
        if key.kind == _HEARTBEAT:
            member = group.members.get(key.member_id)
            if member is not None and not member.survives_heartbeat_expiry():
                log.info("member_session_expired", group=group.group_id, member=member.member_id)
                self._remove_member_and_update_group(group, member)
        elif key.kind == _PENDING:
            if group.is_pending_member(key.member_id):
                self._remove_pending_member_and_update_group(group, key.member_id)
        elif key.kind == _JOIN:
            self._on_join_timer(group)
        elif key.kind == _SYNC:
            generation = self._sync_ops.pop(group.group_id, None)
            if generation is not None:
                self._on_expire_pending_sync(group, generation)

    def _schedule_heartbeat(self, group: Group, member: Member, timeout_ms: int | None = None) -> None:
        timeout = member.session_timeout_ms if timeout_ms is None else timeout_ms
        self._timers.schedule(_TimerKey(_HEARTBEAT, group.group_id, member.member_id), self._now + timeout)

    def _cancel_heartbeat(self, group: Group, member_id: str) -> None:
        self._timers.cancel(_TimerKey(_HEARTBEAT, group.group_id, member_id))

    def heartbeat_deadline(self, group_id: str, member_id: str) -> int | None:
        """When the member's session (or new-member join) expires unless renewed."""
        return self._timers.deadline(_TimerKey(_HEARTBEAT, group_id, member_id))

    def _take_records(self) -> tuple[Record, ...]:
        records, self._records = tuple(self._records), []
        return records

    # -- JoinGroup ------------------------------------------------------------------------

    def join_group(
        self,
        group_id: str,
        member_id: str,
        *,
        protocol_type: str,
        protocols: Sequence[tuple[str, bytes]],
        session_timeout_ms: int,
        rebalance_timeout_ms: int,
        group_instance_id: str | None = None,
        client_id: str = "",
        client_host: str = "",
        require_known_member_id: bool = False,
        supports_skipping_assignment: bool = False,
        reason: str | None = None,
    ) -> JoinCall:
        """JoinGroup. ``require_known_member_id`` is True for v4+ (KIP-394);
        ``supports_skipping_assignment`` for v9+ (KIP-814). v0 callers pass the session timeout
        as ``rebalance_timeout_ms``."""
        self._now = self._clock()
        request = _JoinRequest(
            group_id,
            member_id,
            group_instance_id,
            client_id,
            client_host,
            rebalance_timeout_ms,
            session_timeout_ms,
            protocol_type,
            [(name, bytes(md)) for name, md in protocols],
            require_known_member_id,
            supports_skipping_assignment,
            reason or "not provided",
        )
        pending: Pending[JoinResult] = Pending()
        self._join(request, pending)
        return JoinCall(pending, self._take_records())

    def _join(self, req: _JoinRequest, pending: Pending[JoinResult]) -> None:
        def fail(error: ErrorCode, member_id: str = req.member_id) -> None:
            pending.set_result(JoinResult.failure(member_id, error))

        if not req.group_id:
            return fail(ErrorCode.INVALID_GROUP_ID)
        if self._loading:
            return fail(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)
        cfg = self.config
        if not cfg.group_min_session_timeout_ms <= req.session_timeout_ms <= cfg.group_max_session_timeout_ms:
            return fail(ErrorCode.INVALID_SESSION_TIMEOUT)
        is_unknown = req.member_id == UNKNOWN_MEMBER_ID
        group = self._groups.get(req.group_id)
        if group is None:
            if not is_unknown:
                return fail(ErrorCode.UNKNOWN_MEMBER_ID)
            group = self._groups[req.group_id] = Group(req.group_id, self._now)
        if not self._accept_joining_member(group, req.member_id):
            group.remove(req.member_id)
            fail(ErrorCode.GROUP_MAX_SIZE_REACHED, UNKNOWN_MEMBER_ID)
        elif group.is_(GroupState.DEAD):
            fail(ErrorCode.COORDINATOR_NOT_AVAILABLE)
        elif not group.supports_protocols(req.protocol_type, (name for name, _ in req.protocols)):
            fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
        elif is_unknown:
            prefix = req.client_id if req.group_instance_id is None else req.group_instance_id
            new_member_id = f"{prefix}-{self._new_uuid()}"
            old_member_id = (
                None
                if req.group_instance_id is None
                else group.current_static_member_id(req.group_instance_id)
            )
            if old_member_id is not None:
                self._update_static_member_and_rebalance(group, req, pending, old_member_id, new_member_id)
            elif req.group_instance_id is None and req.require_known_member_id:
                # KIP-394: hand out the id and wait for the member to come back with it
                group.add_pending_member(new_member_id)
                key = _TimerKey(_PENDING, req.group_id, new_member_id)
                self._timers.schedule(key, self._now + req.session_timeout_ms)
                fail(ErrorCode.MEMBER_ID_REQUIRED, new_member_id)
            else:
                self._add_member_and_rebalance(group, req, pending, new_member_id)
        elif group.is_pending_member(req.member_id):
            if req.group_instance_id is not None:
                # pending ids are only handed to dynamic members (Kafka: IllegalStateException)
                fail(ErrorCode.UNKNOWN_MEMBER_ID)
            else:
                self._timers.cancel(_TimerKey(_PENDING, req.group_id, req.member_id))
                self._add_member_and_rebalance(group, req, pending, req.member_id)
        else:
            self._current_member_join(group, req, pending)
        if group.is_(GroupState.PREPARING_REBALANCE):
            self._try_complete_join(group)
        return None

    def _accept_joining_member(self, group: Group, member_id: str) -> bool:
        """group.max.size: awaiting members count while preparing, all members otherwise."""
        max_size = self.config.group_max_size
        if group.state in (GroupState.EMPTY, GroupState.DEAD):
            return True
        if group.is_(GroupState.PREPARING_REBALANCE):
            member = group.members.get(member_id)
            return (
                member is not None and member.awaiting_join is not None
            ) or group.num_awaiting_join() < max_size
        return group.has(member_id) or group.size < max_size

    def _validate_current_member(
        self, group: Group, member_id: str, instance_id: str | None
    ) -> ErrorCode | None:
        """Static: the instance id must exist and map to ``member_id`` (else FENCED); any: the
        member must exist."""
        if instance_id is not None:
            current = group.current_static_member_id(instance_id)
            if current is None:
                return ErrorCode.UNKNOWN_MEMBER_ID
            if current != member_id:
                return ErrorCode.FENCED_INSTANCE_ID
        if not group.has(member_id):
            return ErrorCode.UNKNOWN_MEMBER_ID
        return None

    def _current_member_join(self, group: Group, req: _JoinRequest, pending: Pending[JoinResult]) -> None:
        member_id, reason = req.member_id, req.reason
        error = self._validate_current_member(group, member_id, req.group_instance_id)
        if error is not None:
            pending.set_result(JoinResult.failure(member_id, error))
            return
        member = group.get(member_id)

        def rejoin(why: str) -> None:
            group.update_member(
                member, req.protocols, req.rebalance_timeout_ms, req.session_timeout_ms, pending
            )
            self._maybe_prepare_rebalance(group, f"{why}; client reason: {reason}")

        def current_generation(with_members: bool) -> JoinResult:
            return JoinResult(
                ErrorCode.NONE,
                member_id,
                group.generation_id,
                group.protocol_type,
                group.protocol_name,
                group.leader_id or "",
                False,
                group.current_member_metadata() if with_members else (),
            )

        if group.is_(GroupState.PREPARING_REBALANCE):
            rejoin(f"member {member_id} joining during PreparingRebalance")
        elif group.is_(GroupState.COMPLETING_REBALANCE):
            if member.matches(req.protocols):
                # the member missed the join response: answer with the current generation
                pending.set_result(current_generation(group.is_leader(member_id)))
            else:
                rejoin(f"member {member_id} changed metadata during CompletingRebalance")
        elif group.is_(GroupState.STABLE):
            if group.is_leader(member_id):
                rejoin(f"leader {member_id} rejoining a Stable group")
            elif not member.matches(req.protocols):
                rejoin(f"member {member_id} changed metadata")
            else:
                pending.set_result(current_generation(False))
        else:
            pending.set_result(JoinResult.failure(member_id, ErrorCode.UNKNOWN_MEMBER_ID))

    def _add_member_and_rebalance(
        self, group: Group, req: _JoinRequest, pending: Pending[JoinResult], member_id: str
    ) -> None:
        member = Member(
            member_id,
            req.group_instance_id,
            req.client_id,
            req.client_host,
            req.rebalance_timeout_ms,
            req.session_timeout_ms,
            req.protocol_type,
            list(req.protocols),
            is_new=True,
        )
        if group.is_(GroupState.PREPARING_REBALANCE) and group.generation_id == 0:
            group.new_member_added = True
        group.add(member, pending)
        # a new member cannot heartbeat before its first join response: bound its wait instead
        self._schedule_heartbeat(group, member, self.config.new_member_join_timeout_ms)
        self._maybe_prepare_rebalance(group, f"adding new member {member_id}; client reason: {req.reason}")

    def _update_static_member_and_rebalance(
        self,
        group: Group,
        req: _JoinRequest,
        pending: Pending[JoinResult],
        old_member_id: str,
        new_member_id: str,
    ) -> None:
        """A known static member came back with an unknown member id (KIP-345)."""
        instance_id = req.group_instance_id
        assert instance_id is not None
        previous_leader = group.leader_id or ""
        member = group.replace_static_member(instance_id, old_member_id, new_member_id)
        self._cancel_heartbeat(group, old_member_id)
        self._schedule_heartbeat(group, member)
        group.update_member(member, req.protocols, req.rebalance_timeout_ms, req.session_timeout_ms, pending)
        why = f"static member {instance_id} rejoined as {new_member_id}; client reason: {req.reason}"
        if group.is_(GroupState.STABLE):
            if group.protocol_name == group.select_protocol():
                # nothing the assignment depends on changed: persist the new id, keep the
                # assignment, no rebalance
                self._store_group(group, {m.member_id: m.assignment for m in group.members.values()})
                if req.supports_skipping_assignment:
                    is_leader = group.is_leader(new_member_id)
                    result = JoinResult(
                        ErrorCode.NONE,
                        new_member_id,
                        group.generation_id,
                        group.protocol_type,
                        group.protocol_name,
                        group.leader_id or "",
                        is_leader,
                        group.current_member_metadata() if is_leader else (),
                    )
                else:
                    # answer with the old leader id so that a returning leader does not run a
                    # (useless) assignment: a Stable group ignores it
                    result = JoinResult(
                        ErrorCode.NONE,
                        new_member_id,
                        group.generation_id,
                        group.protocol_type,
                        group.protocol_name,
                        previous_leader,
                    )
                group.maybe_invoke_join(member, result)
            else:
                self._maybe_prepare_rebalance(group, why + " (selected protocol changes)")
        elif group.is_(GroupState.COMPLETING_REBALANCE):
            # the leader may already be assigning for the old member id
            self._prepare_rebalance(group, why)
        elif not group.is_(GroupState.PREPARING_REBALANCE):
            raise RuntimeError(f"static member rejoin in unexpected state {group.state.value}")

    # -- rebalance ------------------------------------------------------------------------

    def _maybe_prepare_rebalance(self, group: Group, reason: str) -> None:
        if group.can_rebalance():
            self._prepare_rebalance(group, reason)

    def _prepare_rebalance(self, group: Group, reason: str) -> None:
        if group.is_(GroupState.COMPLETING_REBALANCE):
            self._reset_and_propagate_assignment_error(group, ErrorCode.REBALANCE_IN_PROGRESS)
        self._remove_sync_expiration(group)
        if group.is_(GroupState.EMPTY):
            delay = self.config.group_initial_rebalance_delay_ms
            op = _DelayedJoin(True, delay, max(group.rebalance_timeout_ms() - delay, 0))
        else:
            op = _DelayedJoin(False, group.rebalance_timeout_ms())
        group.transition_to(GroupState.PREPARING_REBALANCE, self._now)
        log.info(
            "group_preparing_rebalance",
            group=group.group_id,
            generation=group.generation_id,
            reason=reason,
        )
        self._arm_join(group, op)

    def _arm_join(self, group: Group, op: _DelayedJoin) -> None:
        self._join_ops[group.group_id] = op
        self._timers.schedule(_TimerKey(_JOIN, group.group_id), self._now + op.delay_ms)
        self._try_complete_join(group)

    def _try_complete_join(self, group: Group) -> None:
        op = self._join_ops.get(group.group_id)
        if op is not None and not op.initial and group.has_all_members_joined():
            self._complete_join_op(group)

    def _complete_join_op(self, group: Group) -> None:
        self._join_ops.pop(group.group_id, None)
        self._timers.cancel(_TimerKey(_JOIN, group.group_id))
        self._on_complete_join(group)

    def _on_join_timer(self, group: Group) -> None:
        op = self._join_ops.pop(group.group_id, None)
        if op is None:
            return
        if op.initial and group.new_member_added and op.remaining_ms != 0:
            group.new_member_added = False
            delay = min(self.config.group_initial_rebalance_delay_ms, op.remaining_ms)
            self._arm_join(group, _DelayedJoin(True, delay, max(op.remaining_ms - op.delay_ms, 0)))
        else:
            self._on_complete_join(group)

    def _on_complete_join(self, group: Group) -> None:
        for member in group.not_yet_rejoined_members():
            if not member.is_static:
                group.remove(member.member_id)
                self._cancel_heartbeat(group, member.member_id)
                self._resolve_sync_of_removed(member)
        if group.is_(GroupState.DEAD):
            return
        if not group.maybe_elect_new_joined_leader() and group.members:
            # nobody rejoined (only static members left): wait another rebalance timeout
            log.warning("group_rebalance_no_member_rejoined", group=group.group_id)
            self._arm_join(group, _DelayedJoin(False, group.rebalance_timeout_ms()))
            return
        group.init_next_generation(self._now)
        if group.is_(GroupState.EMPTY):
            log.info("group_empty", group=group.group_id, generation=group.generation_id)
            self._store_group(group, {})
            return
        log.info(
            "group_rebalance_joined",
            group=group.group_id,
            generation=group.generation_id,
            members=group.size,
            protocol=group.protocol_name,
        )
        leader_view = group.current_member_metadata()
        for member in list(group.members.values()):
            result = JoinResult(
                ErrorCode.NONE,
                member.member_id,
                group.generation_id,
                group.protocol_type,
                group.protocol_name,
                group.leader_id or "",
                False,
                leader_view if group.is_leader(member.member_id) else (),
            )
            group.maybe_invoke_join(member, result)
            self._schedule_heartbeat(group, member)
            member.is_new = False
            group.pending_sync_members.add(member.member_id)
        self._sync_ops[group.group_id] = group.generation_id
        self._timers.schedule(_TimerKey(_SYNC, group.group_id), self._now + group.rebalance_timeout_ms())

    def _remove_sync_expiration(self, group: Group) -> None:
        group.pending_sync_members.clear()
        self._maybe_complete_sync_expiration(group)

    def _maybe_complete_sync_expiration(self, group: Group) -> None:
        generation = self._sync_ops.get(group.group_id)
        if generation is None:
            return
        if (
            generation != group.generation_id
            or group.state in (GroupState.DEAD, GroupState.EMPTY, GroupState.PREPARING_REBALANCE)
            or not group.pending_sync_members
        ):
            del self._sync_ops[group.group_id]
            self._timers.cancel(_TimerKey(_SYNC, group.group_id))

    def _on_expire_pending_sync(self, group: Group, generation: int) -> None:
        if generation != group.generation_id or group.state not in (
            GroupState.COMPLETING_REBALANCE,
            GroupState.STABLE,
        ):
            return
        if group.pending_sync_members:
            missing = sorted(group.pending_sync_members)
            for member_id in missing:
                member = group.remove(member_id)
                self._cancel_heartbeat(group, member_id)
                if member is not None:
                    self._resolve_sync_of_removed(member)
            self._prepare_rebalance(group, f"members {missing} did not send SyncGroup in time")

    def _remove_member_and_update_group(self, group: Group, member: Member) -> None:
        group.maybe_invoke_join(member, JoinResult.failure(UNKNOWN_MEMBER_ID, ErrorCode.UNKNOWN_MEMBER_ID))
        group.remove(member.member_id)
        self._cancel_heartbeat(group, member.member_id)
        self._resolve_sync_of_removed(member)
        if group.state in (GroupState.STABLE, GroupState.COMPLETING_REBALANCE):
            self._maybe_prepare_rebalance(group, f"removing member {member.member_id}")
        elif group.is_(GroupState.PREPARING_REBALANCE):
            self._try_complete_join(group)

    def _resolve_sync_of_removed(self, member: Member) -> None:
        # Kafka drops such a parked SyncGroup on the floor; answer it rather than leave it hanging
        pending, member.awaiting_sync = member.awaiting_sync, None
        if pending is not None:
            pending.set_result(SyncResult(ErrorCode.UNKNOWN_MEMBER_ID))

    def _remove_pending_member_and_update_group(self, group: Group, member_id: str) -> None:
        group.remove(member_id)
        self._timers.cancel(_TimerKey(_PENDING, group.group_id, member_id))
        if group.is_(GroupState.PREPARING_REBALANCE):
            self._try_complete_join(group)

    def _reset_and_propagate_assignment_error(self, group: Group, error: ErrorCode) -> None:
        for member in group.members.values():
            member.assignment = b""
        self._propagate_assignment(group, error)

    def _propagate_assignment(self, group: Group, error: ErrorCode) -> None:
        ok = error == ErrorCode.NONE
        for member in group.members.values():
            result = (
                SyncResult(error, member.assignment, group.protocol_type, group.protocol_name)
                if ok
                else SyncResult(error)
            )
            if group.maybe_invoke_sync(member, result):
                # sessions may have lapsed while parked: restart them now
                self._schedule_heartbeat(group, member)

    def _store_group(self, group: Group, assignment: Mapping[str, bytes]) -> None:
        self._records.append(GroupMetadataRecord(group.group_id, group.snapshot(assignment)))

    # -- SyncGroup ------------------------------------------------------------------------

    def sync_group(
        self,
        group_id: str,
        generation_id: int,
        member_id: str,
        *,
        assignments: Mapping[str, bytes] | None = None,
        group_instance_id: str | None = None,
        protocol_type: str | None = None,
        protocol_name: str | None = None,
    ) -> SyncCall:
        """SyncGroup. Followers (and a leader whose assignment is pending) are parked until the
        leader's sync; members missing from the leader's ``assignments`` get empty bytes."""
        self._now = self._clock()
        pending: Pending[SyncResult] = Pending()
        self._sync(
            pending,
            group_id,
            generation_id,
            member_id,
            assignments or {},
            group_instance_id,
            protocol_type,
            protocol_name,
        )
        return SyncCall(pending, self._take_records())

    def _sync(
        self,
        pending: Pending[SyncResult],
        group_id: str,
        generation_id: int,
        member_id: str,
        assignments: Mapping[str, bytes],
        instance_id: str | None,
        protocol_type: str | None,
        protocol_name: str | None,
    ) -> None:
        def fail(error: ErrorCode) -> None:
            pending.set_result(SyncResult(error))

        if not group_id:
            return fail(ErrorCode.INVALID_GROUP_ID)
        if self._loading:
            # the rebalance state was lost: make the member rejoin (older clients do not
            # expect COORDINATOR_LOAD_IN_PROGRESS here)
            return fail(ErrorCode.REBALANCE_IN_PROGRESS)
        group = self._groups.get(group_id)
        if group is None:
            return fail(ErrorCode.UNKNOWN_MEMBER_ID)
        if group.is_(GroupState.DEAD):
            return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE)
        error = self._validate_current_member(group, member_id, instance_id)
        if error is None:
            if generation_id != group.generation_id:
                error = ErrorCode.ILLEGAL_GENERATION
            elif (protocol_type is not None and protocol_type != group.protocol_type) or (
                protocol_name is not None and protocol_name != group.protocol_name
            ):
                error = ErrorCode.INCONSISTENT_GROUP_PROTOCOL
        if error is not None:
            return fail(error)
        if group.is_(GroupState.EMPTY):
            return fail(ErrorCode.UNKNOWN_MEMBER_ID)
        if group.is_(GroupState.PREPARING_REBALANCE):
            return fail(ErrorCode.REBALANCE_IN_PROGRESS)
        member = group.get(member_id)
        if group.is_(GroupState.STABLE):
            self._remove_pending_sync_member(group, member_id)
            pending.set_result(
                SyncResult(ErrorCode.NONE, member.assignment, group.protocol_type, group.protocol_name)
            )
            self._schedule_heartbeat(group, member)
            return None
        # CompletingRebalance: park until the leader's assignment
        previous, member.awaiting_sync = member.awaiting_sync, pending
        if previous is not None:
            previous.set_result(SyncResult(ErrorCode.REBALANCE_IN_PROGRESS))
        self._remove_pending_sync_member(group, member_id)
        if group.is_leader(member_id):
            assignment = {mid: bytes(assignments.get(mid, b"")) for mid in group.members}
            missing = [mid for mid in group.members if mid not in assignments]
            if missing:
                log.warning("sync_empty_assignments", group=group_id, members=missing)
            log.info("group_assignment_received", group=group_id, generation=group.generation_id)
            self._store_group(group, assignment)
            for m in group.members.values():
                m.assignment = assignment[m.member_id]
            self._propagate_assignment(group, ErrorCode.NONE)
            group.transition_to(GroupState.STABLE, self._now)
        return None

    def _remove_pending_sync_member(self, group: Group, member_id: str) -> None:
        group.pending_sync_members.discard(member_id)
        self._maybe_complete_sync_expiration(group)

    # -- Heartbeat ------------------------------------------------------------------------

    def heartbeat(
        self,
        group_id: str,
        generation_id: int,
        member_id: str,
        group_instance_id: str | None = None,
    ) -> ErrorCode:
        """Heartbeat: renews the member's session; REBALANCE_IN_PROGRESS tells it to rejoin."""
        self._now = self._clock()
        if not group_id:
            return ErrorCode.INVALID_GROUP_ID
        if self._loading:
            return ErrorCode.NONE
        group = self._groups.get(group_id)
        if group is None:
            return ErrorCode.UNKNOWN_MEMBER_ID
        if group.is_(GroupState.DEAD):
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        error = self._validate_current_member(group, member_id, group_instance_id)
        if error is not None:
            return error
        if generation_id != group.generation_id:
            return ErrorCode.ILLEGAL_GENERATION
        if group.is_(GroupState.EMPTY):
            return ErrorCode.UNKNOWN_MEMBER_ID
        self._schedule_heartbeat(group, group.get(member_id))
        if group.is_(GroupState.PREPARING_REBALANCE):
            return ErrorCode.REBALANCE_IN_PROGRESS
        return ErrorCode.NONE

    # -- LeaveGroup -----------------------------------------------------------------------

    def leave_group(self, group_id: str, members: Sequence[LeavingMember]) -> LeaveResult:
        """LeaveGroup with per-member results. A member given only by ``group_instance_id``
        (admin removal, KIP-345) removes whoever holds that instance id."""
        self._now = self._clock()
        if not group_id:
            return LeaveResult(ErrorCode.INVALID_GROUP_ID)
        if self._loading:
            return LeaveResult(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)
        group = self._groups.get(group_id)

        def result(leaving: LeavingMember, error: ErrorCode) -> LeaveMemberResult:
            return LeaveMemberResult(leaving.member_id, leaving.group_instance_id, error)

        if group is None:
            return LeaveResult(ErrorCode.NONE, tuple(result(m, ErrorCode.UNKNOWN_MEMBER_ID) for m in members))
        if group.is_(GroupState.DEAD):
            return LeaveResult(ErrorCode.COORDINATOR_NOT_AVAILABLE)
        out: list[LeaveMemberResult] = []
        for leaving in members:
            if leaving.member_id == UNKNOWN_MEMBER_ID:
                current = (
                    None
                    if leaving.group_instance_id is None
                    else group.current_static_member_id(leaving.group_instance_id)
                )
                if current is None:
                    out.append(result(leaving, ErrorCode.UNKNOWN_MEMBER_ID))
                else:
                    self._leave(group, current, leaving.reason)
                    out.append(result(leaving, ErrorCode.NONE))
            elif group.is_pending_member(leaving.member_id):
                self._remove_pending_member_and_update_group(group, leaving.member_id)
                out.append(result(leaving, ErrorCode.NONE))
            else:
                error = self._validate_current_member(group, leaving.member_id, leaving.group_instance_id)
                if error is None:
                    self._leave(group, leaving.member_id, leaving.reason)
                    out.append(result(leaving, ErrorCode.NONE))
                else:
                    out.append(result(leaving, error))
        return LeaveResult(ErrorCode.NONE, tuple(out), self._take_records())

    def _leave(self, group: Group, member_id: str, reason: str | None) -> None:
        log.info("member_left", group=group.group_id, member=member_id, reason=reason or "not provided")
        self._remove_member_and_update_group(group, group.get(member_id))

    # -- offsets --------------------------------------------------------------------------

    def commit_offsets(
        self,
        group_id: str,
        offsets: Mapping[TopicPartition, PartitionOffset],
        *,
        generation_id: int = NO_GENERATION,
        member_id: str = UNKNOWN_MEMBER_ID,
        group_instance_id: str | None = None,
        retention_time_ms: int = DEFAULT_RETENTION,
    ) -> OffsetCommitResult:
        """OffsetCommit. Generation -1 with no member id is a standalone (simple / admin)
        commit, accepted only while the group is Empty (it creates the group if needed)."""
        self._now = self._clock()

        def all_fail(error: ErrorCode) -> OffsetCommitResult:
            return OffsetCommitResult(dict.fromkeys(offsets, error))

        if self._loading:
            return all_fail(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)
        group = self._groups.get(group_id)
        if group is None:
            if generation_id >= 0:
                return all_fail(ErrorCode.ILLEGAL_GENERATION)
            log.info("group_created_by_offset_commit", group=group_id)
            group = self._groups[group_id] = Group(group_id, self._now)
        error = self._validate_offset_commit(group, generation_id, member_id, group_instance_id)
        if error is not None:
            return all_fail(error)
        if group.is_(GroupState.COMPLETING_REBALANCE):
            # a valid member of the new generation that has not synced yet
            return all_fail(ErrorCode.REBALANCE_IN_PROGRESS)
        if group.state in (GroupState.STABLE, GroupState.PREPARING_REBALANCE):
            # commits are allowed while preparing; the heartbeat will report the rebalance
            self._schedule_heartbeat(group, group.get(member_id))
        errors = self._store_offsets(group, offsets, retention_time_ms)
        return OffsetCommitResult(errors, self._take_records())

    def _validate_offset_commit(
        self, group: Group, generation_id: int, member_id: str, instance_id: str | None
    ) -> ErrorCode | None:
        if group.is_(GroupState.DEAD):
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        if generation_id < 0 and group.is_(GroupState.EMPTY):
            return None
        if generation_id >= 0 or member_id != UNKNOWN_MEMBER_ID or instance_id is not None:
            error = self._validate_current_member(group, member_id, instance_id)
            if error is not None:
                return error
            return ErrorCode.ILLEGAL_GENERATION if generation_id != group.generation_id else None
        if not group.is_(GroupState.EMPTY):
            # only members may commit for a group with members
            return ErrorCode.UNKNOWN_MEMBER_ID
        return None

    def _store_offsets(
        self, group: Group, offsets: Mapping[TopicPartition, PartitionOffset], retention_time_ms: int
    ) -> dict[TopicPartition, ErrorCode]:
        errors: dict[TopicPartition, ErrorCode] = {}
        expire = None if retention_time_ms == DEFAULT_RETENTION else self._now + retention_time_ms
        for tp, po in offsets.items():
            metadata = po.metadata or ""
            if len(metadata) > self.config.offset_metadata_max_bytes:
                errors[tp] = ErrorCode.OFFSET_METADATA_TOO_LARGE
                continue
            commit_ts = self._now if po.commit_timestamp == -1 else po.commit_timestamp
            value = OffsetAndMetadata(po.offset, po.leader_epoch, metadata, commit_ts, expire)
            group.offsets[tp] = value
            self._records.append(OffsetCommitRecord(group.group_id, tp.topic, tp.partition, value))
            errors[tp] = ErrorCode.NONE
        return errors

    def fetch_offsets(
        self, group_id: str, partitions: Sequence[TopicPartition] | None = None
    ) -> OffsetFetchResult:
        """OffsetFetch; ``partitions`` None means every committed partition of the group.
        Answers regardless of group state (the group may use Kafka for offsets only)."""
        self._now = self._clock()
        if self._loading:
            return OffsetFetchResult(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, {})
        group = self._groups.get(group_id)
        if group is None or group.is_(GroupState.DEAD):
            return OffsetFetchResult(ErrorCode.NONE, dict.fromkeys(partitions or ()))
        if partitions is None:
            return OffsetFetchResult(ErrorCode.NONE, dict(group.offsets))
        return OffsetFetchResult(ErrorCode.NONE, {tp: group.offsets.get(tp) for tp in partitions})

    def delete_offsets(self, group_id: str, partitions: Sequence[TopicPartition]) -> OffsetDeleteResult:
        """OffsetDelete (KIP-496): any partition of an Empty group; for a consumer group with
        members only partitions of topics no member subscribes to (GROUP_SUBSCRIBED_TO_TOPIC);
        NON_EMPTY_GROUP for other groups with members."""
        self._now = self._clock()
        if self._loading:
            return OffsetDeleteResult(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, {})
        group = self._groups.get(group_id)
        if group is None or group.is_(GroupState.DEAD):
            return OffsetDeleteResult(ErrorCode.GROUP_ID_NOT_FOUND, {})
        errors: dict[TopicPartition, ErrorCode] = {}
        if group.is_(GroupState.EMPTY):
            eligible = list(partitions)
        elif group.is_consumer_group:
            eligible = []
            for tp in partitions:
                if group.is_subscribed_to_topic(tp.topic):
                    errors[tp] = ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC
                else:
                    eligible.append(tp)
        else:
            return OffsetDeleteResult(ErrorCode.NON_EMPTY_GROUP, {})
        if eligible:
            self._cleanup_group(group, group.remove_offsets(eligible))
            errors.update(dict.fromkeys(eligible, ErrorCode.NONE))
        return OffsetDeleteResult(ErrorCode.NONE, errors, self._take_records())

    def on_partitions_deleted(self, partitions: Collection[TopicPartition]) -> TickResult:
        """Topic deletion: drop every group's offsets for ``partitions`` (tombstones)."""
        self._now = self._clock()
        for group in list(self._groups.values()):
            self._cleanup_group(group, group.remove_offsets(partitions))
        return TickResult(self._take_records())

    def _cleanup_expired_offsets(self) -> None:
        for group in list(self._groups.values()):
            self._cleanup_group(
                group, group.remove_expired_offsets(self._now, self.config.offsets_retention_ms)
            )

    def _cleanup_group(self, group: Group, removed: Mapping[TopicPartition, OffsetAndMetadata]) -> None:
        """Kafka's ``cleanupGroupMetadata``: tombstone ``removed`` offsets; an Empty group left
        without offsets dies (tombstoned if it ever had a generation)."""
        for tp in removed:
            self._records.append(OffsetCommitRecord(group.group_id, tp.topic, tp.partition, None))
        if group.is_(GroupState.EMPTY) and not group.offsets:
            group.transition_to(GroupState.DEAD, self._now)
        if group.is_(GroupState.DEAD):
            self._drop_group(group)

    def _drop_group(self, group: Group, tombstone: bool = True) -> None:
        if self._groups.get(group.group_id) is not group:
            return
        del self._groups[group.group_id]
        self._join_ops.pop(group.group_id, None)
        self._sync_ops.pop(group.group_id, None)
        self._timers.cancel(_TimerKey(_JOIN, group.group_id))
        self._timers.cancel(_TimerKey(_SYNC, group.group_id))
        for member_id in list(group.members):
            self._cancel_heartbeat(group, member_id)
        for member_id in group.pending_members:
            self._timers.cancel(_TimerKey(_PENDING, group.group_id, member_id))
        if tombstone and group.generation_id > 0:
            self._records.append(GroupMetadataRecord(group.group_id, None))
        log.info("group_removed", group=group.group_id, generation=group.generation_id)

    # -- admin ----------------------------------------------------------------------------

    def describe_groups(self, group_ids: Sequence[str]) -> list[GroupDescription]:
        """DescribeGroups; an unknown group is "Dead" with GROUP_ID_NOT_FOUND (the handler
        answers NONE to versions before 6)."""
        self._now = self._clock()
        out: list[GroupDescription] = []
        for group_id in group_ids:
            if self._loading:
                out.append(GroupDescription(group_id, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ""))
                continue
            group = self._groups.get(group_id)
            if group is None:
                out.append(GroupDescription(group_id, ErrorCode.GROUP_ID_NOT_FOUND, GroupState.DEAD.value))
            else:
                out.append(group.describe())
        return out

    def list_groups(self, states: Collection[str] = (), types: Collection[str] = ()) -> ListGroupsResult:
        """ListGroups; filters are case-insensitive, empty means all. Every group here is a
        "classic" group."""
        self._now = self._clock()
        wanted_states = {s.lower() for s in states}
        wanted_types = {t.lower() for t in types}
        if wanted_types and "classic" not in wanted_types:
            return ListGroupsResult(ErrorCode.NONE, ())
        groups = tuple(
            g.overview()
            for g in self._groups.values()
            if not wanted_states or g.state.value.lower() in wanted_states
        )
        error = ErrorCode.COORDINATOR_LOAD_IN_PROGRESS if self._loading else ErrorCode.NONE
        return ListGroupsResult(error, groups)

    def delete_groups(self, group_ids: Iterable[str]) -> DeleteGroupsResult:
        """DeleteGroups: only Empty groups (NON_EMPTY_GROUP otherwise); removes their offsets."""
        self._now = self._clock()
        errors: dict[str, ErrorCode] = {}
        for group_id in group_ids:
            if self._loading:
                errors[group_id] = ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
                continue
            group = self._groups.get(group_id)
            if group is None or group.is_(GroupState.DEAD):
                errors[group_id] = ErrorCode.GROUP_ID_NOT_FOUND
            elif group.is_(GroupState.EMPTY):
                group.transition_to(GroupState.DEAD, self._now)
                self._cleanup_group(group, group.remove_offsets(list(group.offsets)))
                errors[group_id] = ErrorCode.NONE
            else:
                errors[group_id] = ErrorCode.NON_EMPTY_GROUP
        return DeleteGroupsResult(errors, self._take_records())

    # -- loading from __consumer_offsets --------------------------------------------------

    def begin_load(self) -> None:
        """Until :meth:`complete_load`, requests answer COORDINATOR_LOAD_IN_PROGRESS (heartbeats
        NONE, syncs REBALANCE_IN_PROGRESS) as Kafka does while loading."""
        self._loading = True

    def load_group(self, group_id: str, snapshot: GroupSnapshot | None) -> None:
        """Replay a ``GroupMetadata`` record in log order; ``None`` is a tombstone."""
        self._staged_groups[group_id] = snapshot

    def load_offset(self, group_id: str, partition: TopicPartition, value: OffsetAndMetadata | None) -> None:
        """Replay an ``OffsetCommit`` record in log order; ``None`` is a tombstone."""
        self._staged_offsets.setdefault(group_id, {})[partition] = value

    def complete_load(self) -> None:
        """Install the replayed state: groups with members come back Stable (their sessions
        restart now), groups with only offsets come back Empty; a group over group.max.size
        rebalances."""
        self._now = self._clock()
        for group_id in {*self._staged_groups, *self._staged_offsets}:
            snapshot = self._staged_groups.get(group_id)
            offsets = {tp: v for tp, v in self._staged_offsets.get(group_id, {}).items() if v is not None}
            if snapshot is None and not offsets:
                continue
            group = (
                Group.from_snapshot(group_id, snapshot)
                if snapshot is not None
                else Group(group_id, self._now)
            )
            group.offsets.update(offsets)
            old = self._groups.get(group_id)
            if old is not None:
                self._abandon(old, ErrorCode.NOT_COORDINATOR)
            self._groups[group_id] = group
            for member in group.members.values():
                self._schedule_heartbeat(group, member)
            if group.size > self.config.group_max_size:
                self._prepare_rebalance(group, "loaded group is over group.max.size")
        self._staged_groups.clear()
        self._staged_offsets.clear()
        self._loading = False

    def unload(self) -> None:
        """Forget every group (the coordinator stops serving): parked requests get
        NOT_COORDINATOR."""
        self._now = self._clock()
        for group in list(self._groups.values()):
            self._abandon(group, ErrorCode.NOT_COORDINATOR)

    def _abandon(self, group: Group, error: ErrorCode) -> None:
        for member in group.members.values():
            group.maybe_invoke_join(member, JoinResult.failure(member.member_id, error))
            group.maybe_invoke_sync(member, SyncResult(error))
        group.transition_to(GroupState.DEAD, self._now)
        self._drop_group(group, tombstone=False)  # the group lives on in the log
