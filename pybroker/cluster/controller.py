"""The active controller of a ZooKeeper-mode cluster: Kafka's ``KafkaController`` (ZooKeeper mode)
reduced to what pybroker's brokers need, talking to them only through znodes.

Who writes what
    The controller is the only writer of partition state znodes
    (``/brokers/topics/<t>/partitions/<p>/state``) except for ISR changes by a partition's
    leader, which writes the state with the znode version it last read. Every controller write
    is one ZooKeeper multi that starts with ``election.fence()`` (a check of
    ``/controller_epoch``'s version) and writes states conditionally on their znode version: a
    failed fence means another controller was elected, and this one stops
    (:class:`ControllerMovedError`); a failed state version means the leader changed the ISR in
    between, so the state is read again and the decision retried (Kafka's ``updateLeaderAndIsr``
    retry loop). Brokers derive their roles from the znodes; nothing is sent to them.

Events
    As Kafka's ``ControllerEventManager``: watch callbacks and API calls only enqueue; one task
    processes events one at a time, so the in-memory view needs no locks. Watches (all one-shot,
    re-armed by the handler that reads the znode):

    * ``/brokers/ids`` children: brokers registered, gone, or bounced (a new czxid, the broker
      epoch). A gone broker's partitions without a live leader get one from their live ISR
      (``onBrokerFailure``) and it leaves the ISR of the others; a new broker may lead
      partitions that had no leader, and initialises partitions that had no live replica
      (``onBrokerStartup``).
    * ``/brokers/topics`` children and each ``/brokers/topics/<t>``: new topics and partitions
      get their first state (the first live replica leads, the live replicas are the ISR, leader
      epoch 0); a topic without a topic id gets one.
    * ``/admin/delete_topics`` children: queued topics are deleted (topic subtree, config and the
      marker in one fenced multi) unless a reassignment of theirs is in flight.
    * ``/config/changes`` children: a config change may enable unclean election for a topic, so
      partitions without a leader are looked at again.
    * the state znode of each partition being reassigned: the reassignment completes once its
      target replicas are all in the ISR.

Decisions follow :mod:`pybroker.cluster.leader_election` (Kafka's Election.scala). Unclean
election follows the topic's ``unclean.leader.election.enable`` (else the broker's). A
partition is offline when its leader is -1 or not a live, non-shutting-down broker; elections
that find nobody eligible write nothing.

Reassignment (KIP-455, the API flavour): RS = TRS + (ORS - TRS) with adding/removing recorded in
the topic znode, the leader epoch bumped so that the leader notices; once TRS is in the ISR a
leader in TRS is elected if needed, RR leave the ISR and the assignment becomes TRS.
Cancelling reverts to the original replicas.

Auto leader rebalance (``auto.leader.rebalance.enable``): every
``leader.imbalance.check.interval.seconds`` (first check after at most 5 s), brokers whose share
of partitions led by someone else exceeds ``leader.imbalance.per.broker.percentage`` get a
preferred-replica election for those partitions where the preferred replica can lead.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

from protocol.error_codes import ErrorCode
from protocol.uuid_text import new_uuid_text
from pybroker.cluster import leader_election as E
from pybroker.cluster import zk_layout as L
from pybroker.cluster.assignment import dead_replicas_error, replica_list_error
from pybroker.cluster.controller_election import ControllerElection
from pybroker.cluster.leader_election import ReplicaAssignment
from pybroker.cluster.zk_client import (
    BadVersionError,
    CreateOp,
    DeleteOp,
    NodeExistsError,
    NoNodeError,
    NotEmptyError,
    Op,
    SessionEvent,
    SessionState,
    SetDataOp,
    WatchEvent,
    ZkClient,
    first_error,
)
from pybroker.config import BrokerConfig
from pybroker.logging import get_logger

log = get_logger("pybroker.cluster.controller")

T = TypeVar("T")
TP = tuple[str, int]

ELECTION_PREFERRED = 0
ELECTION_UNCLEAN = 1
_MAX_VERSION_RETRIES = 50
_FIRST_REBALANCE_DELAY_S = 5.0


class ControllerMovedError(Exception):
    """This controller was deposed (its fence failed) or stopped: NOT_CONTROLLER."""


class _Failed(Exception):
    """A state change that could not be made (Kafka's StateChangeFailedException)."""


def _tp_str(tp: TP) -> str:
    return f"{tp[0]}-{tp[1]}"


class Controller:
    """The controller's event loop and state (see the module docstring)."""

    def __init__(self, zk: ZkClient, election: ControllerElection, config: BrokerConfig) -> None:
        self.zk = zk
        self.election = election
        self.config = config
        self.broker_id = config.broker_id
        self.epoch = -1
        # the controller context
        self.live: dict[int, int] = {}  # live or shutting-down broker id -> broker epoch (czxid)
        self.shutting_down: set[int] = set()
        self.assignments: dict[str, dict[int, ReplicaAssignment]] = {}
        self.topic_ids: dict[str, str | None] = {}
        self.states: dict[TP, L.PartitionState] = {}
        self.topics_to_delete: set[str] = set()
        self.reassigning: set[TP] = set()
        # machinery
        self._queue: asyncio.Queue[tuple[Callable[[], Awaitable[Any]], asyncio.Future[Any] | None]] = (
            asyncio.Queue()
        )
        self._worker: asyncio.Task[None] | None = None
        self._rebalancer: asyncio.Task[None] | None = None
        self._stopped = False
        self._unclean_cache: dict[str, bool] = {}

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the cluster's state, set the watches and bring every partition online that can be.

        Returns once that failover work is done (events that arrived meanwhile run after it)."""
        if not self.election.is_controller:
            raise ControllerMovedError(f"broker {self.broker_id} is not the controller")
        self.epoch = self.election.epoch
        self._worker = asyncio.get_running_loop().create_task(self._run(), name="zk-controller")
        self.zk.add_session_listener(self._on_session)
        await self._submit(self._on_failover)
        if self.config.get("auto.leader.rebalance.enable"):
            self._rebalancer = asyncio.get_running_loop().create_task(
                self._rebalance_loop(), name="zk-controller-rebalance"
            )

    async def stop(self) -> None:
        """Stop processing (resignation or shutdown): later watch events are ignored."""
        self._stopped = True
        self.zk.remove_session_listener(self._on_session)
        for task in (self._rebalancer, self._worker):
            # Python 3.11's wait_for (used by ZkClient) can swallow a cancellation that races a
            # completing request: cancel until the task is really done
            while task is not None and not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=0.2)
        self._rebalancer = self._worker = None
        self._fail_pending()
        log.info("controller stopped", broker_id=self.broker_id, epoch=self.epoch)

    @property
    def active(self) -> bool:
        return not self._stopped and self.election.is_controller

    def _fail_pending(self) -> None:
        while not self._queue.empty():
            _, fut = self._queue.get_nowait()
            if fut is not None and not fut.done():
                fut.set_exception(ControllerMovedError("the controller stopped"))

    # -- the event queue -------------------------------------------------------------------------

    def _enqueue(self, fn: Callable[[], Awaitable[Any]]) -> None:
        if not self._stopped:
            self._queue.put_nowait((fn, None))

    async def _submit(self, fn: Callable[[], Awaitable[T]]) -> T:
        if not self.active:
            raise ControllerMovedError(f"broker {self.broker_id} is not the active controller")
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((fn, fut))
        return await fut

    async def _run(self) -> None:
        while not self._stopped:
            fn, fut = await self._queue.get()
            if fut is not None and fut.done():
                continue
            try:
                result = await fn()
            except asyncio.CancelledError:
                if fut is not None and not fut.done():
                    fut.set_exception(ControllerMovedError("the controller stopped"))
                raise
            except ControllerMovedError as exc:
                log.warning(
                    "controller moved: stopping", broker_id=self.broker_id, epoch=self.epoch, reason=str(exc)
                )
                self._stopped = True
                if fut is not None and not fut.done():
                    fut.set_exception(exc)
                self._fail_pending()
                return
            except Exception as exc:
                log.exception("controller event failed", handler=getattr(fn, "__name__", repr(fn)))
                if fut is not None and not fut.done():
                    fut.set_exception(exc)
            else:
                if fut is not None and not fut.done():
                    fut.set_result(result)

    # -- watches and session (callbacks on the loop: enqueue only) ------------------------------

    def _on_session(self, event: SessionEvent) -> None:
        if event.state is SessionState.CONNECTED:
            self._enqueue(self._resync)  # watches may not have survived the disconnection

    def _on_brokers_watch(self, event: WatchEvent) -> None:
        if event.type != "NONE":
            self._enqueue(self._process_broker_change)

    def _on_topics_watch(self, event: WatchEvent) -> None:
        if event.type != "NONE":
            self._enqueue(self._process_topic_change)

    def _on_topic_watch(self, event: WatchEvent) -> None:
        if event.type == "NONE" or not event.path:
            return
        topic = event.path.rsplit("/", 1)[-1]

        async def modified() -> None:
            await self._process_partition_modifications(topic)

        modified.__name__ = f"partition_modifications({topic})"
        self._enqueue(modified)

    def _on_delete_watch(self, event: WatchEvent) -> None:
        if event.type != "NONE":
            self._enqueue(self._process_topic_deletion)

    def _on_config_changes_watch(self, event: WatchEvent) -> None:
        if event.type != "NONE":
            self._enqueue(self._process_config_change)

    def _on_state_watch(self, event: WatchEvent) -> None:
        if event.type == "NONE" or not event.path:
            return
        parts = event.path.split("/")  # /brokers/topics/<t>/partitions/<p>/state
        try:
            tp = (parts[-4], int(parts[-2]))
        except (IndexError, ValueError):
            return

        async def isr_changed() -> None:
            await self._process_reassignment_isr_change(tp)

        isr_changed.__name__ = f"reassignment_isr_change({_tp_str(tp)})"
        self._enqueue(isr_changed)

    # -- the view --------------------------------------------------------------------------------

    @property
    def live_ids(self) -> set[int]:
        """Brokers that count as online: registered and not shutting down."""
        return set(self.live) - self.shutting_down

    def partitions(self, topics: Iterable[str] | None = None) -> list[TP]:
        names = sorted(self.assignments) if topics is None else [t for t in topics if t in self.assignments]
        return [(t, p) for t in names for p in sorted(self.assignments[t])]

    def assignment(self, tp: TP) -> ReplicaAssignment:
        return self.assignments.get(tp[0], {}).get(tp[1], ReplicaAssignment(()))

    def _is_offline(self, tp: TP) -> bool:
        state = self.states.get(tp)
        return state is None or state.leader not in self.live_ids

    # -- ZooKeeper helpers -----------------------------------------------------------------------

    async def _write(self, ops: Sequence[Op]) -> list[Any]:
        """Run ``ops`` behind the controller fence; raises ControllerMovedError if it fails."""
        if self._stopped:
            raise ControllerMovedError("the controller stopped")
        try:
            fence = self.election.fence()
        except RuntimeError as exc:
            raise ControllerMovedError(str(exc)) from None
        results = await self.zk.multi([fence, *ops])
        error = first_error(results)
        if error is None:
            return results[1:]
        if results[0] is error:
            raise ControllerMovedError(f"controller epoch fence failed: {error!r}")
        raise error

    async def _read_state(self, tp: TP, *, watch: bool = False) -> L.PartitionState | None:
        path = L.partition_state_path(*tp)
        try:
            data, stat = await self.zk.get(path, watch=self._on_state_watch if watch else None)
        except NoNodeError:
            self.states.pop(tp, None)
            return None
        state = L.decode_partition_state(data, stat.version, path)
        if state.controller_epoch > self.epoch:
            raise ControllerMovedError(
                f"the state of {_tp_str(tp)} was written by controller epoch {state.controller_epoch} > {self.epoch}"
            )
        self.states[tp] = state
        return state

    async def _update_state(
        self, tp: TP, compute: Callable[[L.PartitionState], L.PartitionState | None], why: str
    ) -> L.PartitionState | None:
        """Read the state, compute the new one and write it at the read version (retrying if the
        leader changed it meanwhile). None when there is no state or nothing to write."""
        path = L.partition_state_path(*tp)
        for _ in range(_MAX_VERSION_RETRIES):
            state = await self._read_state(tp)
            if state is None:
                return None
            new = compute(state)
            if new is None:
                return None
            new = dataclasses.replace(new, controller_epoch=self.epoch)
            try:
                (stat,) = await self._write(
                    [SetDataOp(path, L.encode_partition_state(new), state.partition_epoch)]
                )
            except BadVersionError:
                continue
            except NoNodeError:
                self.states.pop(tp, None)
                return None
            new = dataclasses.replace(new, partition_epoch=stat.version)
            self.states[tp] = new
            log.info(
                "partition state changed",
                partition=_tp_str(tp),
                why=why,
                leader=new.leader,
                leader_epoch=new.leader_epoch,
                isr=new.isr,
                recovering=new.leader_recovery_state == L.LEADER_RECOVERY_RECOVERING,
                previous_leader=state.leader,
                previous_isr=state.isr,
            )
            return new
        raise _Failed(f"the state of {_tp_str(tp)} kept changing")

    async def _read_topic(self, topic: str, *, watch: bool) -> tuple[L.TopicAssignment, int] | None:
        path = L.topic_path(topic)
        try:
            data, stat = await self.zk.get(path, watch=self._on_topic_watch if watch else None)
        except NoNodeError:
            if watch:  # learn about a re-creation
                await self.zk.exists(path, watch=self._on_topic_watch)
            return None
        return L.decode_topic(topic, data), stat.version

    async def _write_topic(
        self, topic: str, mutate: Callable[[L.TopicAssignment], L.TopicAssignment], why: str
    ) -> L.TopicAssignment | None:
        """Rewrite the topic znode from its current content (fenced, at the read version)."""
        for _ in range(_MAX_VERSION_RETRIES):
            got = await self._read_topic(topic, watch=False)
            if got is None:
                return None
            current, version = got
            new = mutate(current)
            try:
                await self._write([SetDataOp(L.topic_path(topic), L.encode_topic(new), version)])
            except BadVersionError:
                continue
            except NoNodeError:
                return None
            log.info(
                "topic assignment written",
                topic=topic,
                why=why,
                adding={p: r for p, r in new.adding_replicas.items() if r},
                removing={p: r for p, r in new.removing_replicas.items() if r},
            )
            return new
        raise _Failed(f"topic {topic} kept changing")

    async def _write_partition_assignment(self, tp: TP, ra: ReplicaAssignment, why: str) -> None:
        def mutate(cur: L.TopicAssignment) -> L.TopicAssignment:
            partitions = dict(cur.partitions)
            adding = {p: r for p, r in cur.adding_replicas.items() if p != tp[1]}
            removing = {p: r for p, r in cur.removing_replicas.items() if p != tp[1]}
            partitions[tp[1]] = list(ra.replicas)
            if ra.adding:
                adding[tp[1]] = list(ra.adding)
            if ra.removing:
                removing[tp[1]] = list(ra.removing)
            return L.TopicAssignment(partitions, cur.topic_id, adding, removing)

        if await self._write_topic(tp[0], mutate, why) is None:
            raise _Failed(f"topic {tp[0]} has no assignment")
        self.assignments.setdefault(tp[0], {})[tp[1]] = ra

    async def _unclean_allowed(self, topic: str) -> bool:
        """The topic's ``unclean.leader.election.enable``, else the broker's."""
        default = bool(self.config.get("unclean.leader.election.enable"))
        got = await self.zk.get_or_none(L.topic_config_path(topic))
        value = L.decode_config(got[0] if got else None).get("unclean.leader.election.enable")
        return default if value is None else value.strip().lower() == "true"

    # -- failover --------------------------------------------------------------------------------

    async def _on_failover(self) -> None:
        """Kafka's ``onControllerFailover``, minus the broker requests."""
        log.info("controller failover starting", broker_id=self.broker_id, epoch=self.epoch)
        for path in (L.BROKER_IDS, L.BROKER_TOPICS, L.DELETE_TOPICS, L.CONFIG_CHANGES):
            await self.zk.ensure_path(path)
        self.live = await self._read_brokers()
        self.shutting_down.clear()
        await self.zk.get_children(L.CONFIG_CHANGES, watch=self._on_config_changes_watch)
        topics = await self.zk.get_children(L.BROKER_TOPICS, watch=self._on_topics_watch)
        for topic in sorted(topics):
            await self._load_topic(topic)
        for tp in self.partitions():
            await self._read_state(tp)
        log.info(
            "controller context loaded",
            live_brokers=sorted(self.live),
            topics=len(self.assignments),
            partitions=sum(len(a) for a in self.assignments.values()),
            initialised=len(self.states),
        )
        await self._trigger_online_partitions()
        for tp in self.partitions():
            ra = self.assignment(tp)
            if ra.is_being_reassigned and tp[0] not in self.topics_to_delete:
                await self._guard(tp, self._on_partition_reassignment(tp, ra), "resume reassignment")
        await self._process_topic_deletion()
        log.info("controller ready", broker_id=self.broker_id, epoch=self.epoch)

    async def _resync(self) -> None:
        """Re-arm every watch and catch up with whatever changed while the connection was down."""
        if self._stopped:
            return
        await self.zk.get_children(L.CONFIG_CHANGES, watch=self._on_config_changes_watch)
        await self._process_broker_change()
        await self._process_topic_change()
        for topic in sorted(self.assignments):
            await self._process_partition_modifications(topic)
        for tp in sorted(self.reassigning):
            await self._process_reassignment_isr_change(tp)
        await self._process_topic_deletion()

    async def _read_brokers(self) -> dict[int, int]:
        ids = L.sorted_broker_ids(await self.zk.get_children(L.BROKER_IDS, watch=self._on_brokers_watch))
        out: dict[int, int] = {}
        for broker_id in ids:
            stat = await self.zk.exists(L.broker_path(broker_id))
            if stat is not None:
                out[broker_id] = int(stat.czxid)
        return out

    async def _load_topic(self, topic: str) -> bool:
        """Read (and watch) a topic's assignment into memory; assigns a topic id if it has none."""
        got = await self._read_topic(topic, watch=True)
        if got is None:
            return False
        assignment, _ = got
        if assignment.topic_id is None:
            topic_id = new_uuid_text()
            written = await self._write_topic(
                topic, lambda cur: dataclasses.replace(cur, topic_id=cur.topic_id or topic_id), "set topic id"
            )
            if written is None:
                return False
            assignment = written
        self.topic_ids[topic] = assignment.topic_id
        self.assignments[topic] = {
            p: ReplicaAssignment.of(
                r, assignment.adding_replicas.get(p, ()), assignment.removing_replicas.get(p, ())
            )
            for p, r in assignment.partitions.items()
        }
        for p, ra in self.assignments[topic].items():
            if ra.is_being_reassigned:
                self.reassigning.add((topic, p))
        return True

    def _forget_topic(self, topic: str) -> None:
        self.assignments.pop(topic, None)
        self.topic_ids.pop(topic, None)
        self.topics_to_delete.discard(topic)
        for tp in [tp for tp in self.states if tp[0] == topic]:
            del self.states[tp]
        self.reassigning = {tp for tp in self.reassigning if tp[0] != topic}

    async def _guard(self, tp: TP, coro: Awaitable[Any], what: str) -> bool:
        """Run one partition's state change; a failure is logged and does not stop the others."""
        try:
            await coro
            return True
        except ControllerMovedError:
            raise
        except Exception as exc:
            log.warning("partition state change failed", partition=_tp_str(tp), what=what, error=repr(exc))
            return False

    # -- partition state machine ------------------------------------------------------------------

    async def _initialize_partition(self, tp: TP) -> L.PartitionState | None:
        """NewPartition -> OnlinePartition: create the state znode (None: no live replica yet)."""
        replicas = list(self.assignment(tp).replicas)
        state = E.initial_state(replicas, self.live_ids, self.epoch)
        if state is None:
            log.warning(
                "partition not initialised: no assigned replica is alive",
                partition=_tp_str(tp),
                replicas=replicas,
                live_brokers=sorted(self.live_ids),
            )
            return None
        partitions_path = L.topic_partitions_path(tp[0])
        partition_path = L.partition_path(*tp)
        for _ in range(_MAX_VERSION_RETRIES):
            ops: list[Op] = []
            if await self.zk.exists(partitions_path) is None:
                ops.append(CreateOp(partitions_path))
            if await self.zk.exists(partition_path) is None:
                ops.append(CreateOp(partition_path))
            ops.append(CreateOp(L.partition_state_path(*tp), L.encode_partition_state(state)))
            try:
                await self._write(ops)
            except NodeExistsError:
                if await self.zk.exists(L.partition_state_path(*tp)) is not None:
                    return await self._read_state(tp)  # someone (a previous controller) did it
                continue
            except NoNodeError:
                return None  # the topic went away
            self.states[tp] = state
            log.info(
                "partition initialised",
                partition=_tp_str(tp),
                leader=state.leader,
                isr=state.isr,
                replicas=replicas,
            )
            return state
        raise _Failed(f"could not create the state of {_tp_str(tp)}")

    async def _elect_offline(self, tp: TP, allow_unclean: bool = False) -> L.PartitionState | None:
        """OfflinePartitionLeaderElectionStrategy for one partition."""
        unclean = allow_unclean or await self._unclean_allowed(tp[0])
        replicas = list(self.assignment(tp).replicas)
        live = self.live_ids
        return await self._update_state(
            tp, lambda s: E.elect_offline(replicas, s, live, unclean), "offline partition election"
        )

    async def _trigger_online_partitions(self, topics: Iterable[str] | None = None) -> None:
        """Kafka's ``triggerOnlinePartitionStateChange``: initialise new partitions and elect leaders
        for offline ones (topics queued for deletion excluded)."""
        for tp in self.partitions(topics):
            if tp[0] in self.topics_to_delete or not self._is_offline(tp):
                continue
            if tp not in self.states:
                await self._guard(tp, self._initialize_partition(tp), "initialise")
            else:
                await self._guard(tp, self._elect_offline(tp), "offline election")

    async def _remove_replica_from_isr(self, tp: TP, replica: int, why: str) -> L.PartitionState | None:
        return await self._update_state(tp, lambda s: E.remove_replica_from_isr(s, replica), why)

    async def _bump_leader_epoch(self, tp: TP, why: str) -> L.PartitionState | None:
        return await self._update_state(tp, E.new_epoch, why)

    # -- brokers ---------------------------------------------------------------------------------

    async def _process_broker_change(self) -> None:
        current = await self._read_brokers()
        known = self.live
        new = sorted(set(current) - set(known))
        dead = sorted(set(known) - set(current))
        bounced = sorted(b for b in set(current) & set(known) if current[b] > known[b])
        if not (new or dead or bounced):
            return
        log.info("broker change", new=new, dead=dead, bounced=bounced, live=sorted(current), epoch=self.epoch)
        if new:
            for b in new:
                self.live[b] = current[b]
            await self._on_broker_startup(new)
        if bounced:
            for b in bounced:
                del self.live[b]
            await self._on_broker_failure(bounced)
            for b in bounced:
                self.live[b] = current[b]
            await self._on_broker_startup(bounced)
        if dead:
            for b in dead:
                self.live.pop(b, None)
            await self._on_broker_failure(dead)

    async def _on_broker_startup(self, brokers: list[int]) -> None:
        """Kafka's ``onBrokerStartup``: offline and new partitions may have a leader now."""
        log.info("broker startup", brokers=brokers)
        await self._trigger_online_partitions()
        started = set(brokers)
        for tp in sorted(self.reassigning):
            ra = self.assignment(tp)
            if started & set(ra.target) and tp[0] not in self.topics_to_delete:
                await self._guard(tp, self._on_partition_reassignment(tp, ra), "resume reassignment")

    async def _on_broker_failure(self, brokers: list[int]) -> None:
        """Kafka's ``onBrokerFailure``: re-elect where the leader died, then drop the dead replicas
        from the ISRs."""
        log.info("broker failure", brokers=brokers)
        self.shutting_down -= set(brokers)
        await self._trigger_online_partitions()
        for b in brokers:
            for tp in self.partitions():
                if tp[0] in self.topics_to_delete or b not in self.assignment(tp).replicas:
                    continue
                if tp in self.states:
                    await self._guard(
                        tp, self._remove_replica_from_isr(tp, b, f"broker {b} is gone"), "shrink ISR"
                    )

    # -- topics ----------------------------------------------------------------------------------

    async def _process_topic_change(self) -> None:
        topics = set(await self.zk.get_children(L.BROKER_TOPICS, watch=self._on_topics_watch))
        new = sorted(topics - set(self.assignments))
        deleted = sorted(set(self.assignments) - topics)
        for topic in deleted:
            self._forget_topic(topic)
        if new or deleted:
            log.info("topic change", new=new, deleted=deleted)
        for topic in new:
            if await self._load_topic(topic):
                await self._on_new_partitions(self.partitions([topic]))

    async def _on_new_partitions(self, partitions: list[TP]) -> None:
        """Kafka's ``onNewPartitionCreation``: each new partition gets its first state."""
        for tp in partitions:
            if await self.zk.exists(L.partition_state_path(*tp)) is not None:
                await self._read_state(tp)  # already there (a re-read after a failover)
                if self._is_offline(tp):
                    await self._guard(tp, self._elect_offline(tp), "offline election")
            else:
                await self._guard(tp, self._initialize_partition(tp), "initialise")

    async def _process_partition_modifications(self, topic: str) -> None:
        got = await self._read_topic(topic, watch=True)
        if got is None:
            return  # deleted: the /brokers/topics children watch handles it
        assignment, _ = got
        known = self.assignments.get(topic)
        if known is None or (
            assignment.topic_id is not None
            and self.topic_ids.get(topic) is not None
            and assignment.topic_id != self.topic_ids.get(topic)
        ):
            # unseen (or deleted and re-created between two looks): a new topic
            self._forget_topic(topic)
            if await self._load_topic(topic):
                log.info("topic created", topic=topic, partitions=len(self.assignments[topic]))
                await self._on_new_partitions(self.partitions([topic]))
            return
        added = {p: r for p, r in assignment.partitions.items() if p not in known}
        if not added:
            return
        if topic in self.topics_to_delete:
            log.warning(
                "not adding partitions to a topic being deleted", topic=topic, partitions=sorted(added)
            )
            await self._write_topic(
                topic,
                lambda cur: L.TopicAssignment(
                    {p: r for p, r in cur.partitions.items() if p in known},
                    cur.topic_id,
                    cur.adding_replicas,
                    cur.removing_replicas,
                ),
                "restore assignment of a topic being deleted",
            )
            return
        log.info("partitions added", topic=topic, partitions={p: added[p] for p in sorted(added)})
        for p, r in added.items():
            known[p] = ReplicaAssignment.of(r)
        await self._on_new_partitions([(topic, p) for p in sorted(added)])

    async def _process_config_change(self) -> None:
        await self.zk.get_children(L.CONFIG_CHANGES, watch=self._on_config_changes_watch)
        await self._trigger_online_partitions()  # unclean election may have been enabled

    # -- deletion --------------------------------------------------------------------------------

    async def _process_topic_deletion(self) -> None:
        queued = set(await self.zk.get_children(L.DELETE_TOPICS, watch=self._on_delete_watch))
        nonexistent = sorted(queued - set(self.assignments))
        if nonexistent:
            log.warning("ignoring deletion of topics that do not exist", topics=nonexistent)
            for topic in nonexistent:
                with contextlib.suppress(NoNodeError):
                    await self._write([DeleteOp(L.delete_topic_path(topic))])
        queued -= set(nonexistent)
        if not self.config.get("delete.topic.enable"):
            if queued:
                log.info("removing topic deletions: delete.topic.enable is false", topics=sorted(queued))
            for topic in sorted(queued):
                with contextlib.suppress(NoNodeError):
                    await self._write([DeleteOp(L.delete_topic_path(topic))])
            return
        new = queued - self.topics_to_delete
        if new:
            log.info("topics queued for deletion", topics=sorted(new))
        self.topics_to_delete |= queued
        await self._try_delete_topics()

    async def _try_delete_topics(self) -> None:
        for topic in sorted(self.topics_to_delete):
            moving = sorted(p for t, p in self.reassigning if t == topic)
            if moving:
                log.info("topic deletion waits for reassignments", topic=topic, partitions=moving)
                continue
            try:
                await self._delete_topic(topic)
            except ControllerMovedError:
                raise
            except Exception as exc:
                log.warning("topic deletion failed; will retry", topic=topic, error=repr(exc))

    async def _subtree(self, path: str) -> list[str]:
        """``path`` and everything under it, children before parents."""
        try:
            children = await self.zk.get_children(path)
        except NoNodeError:
            return []
        out: list[str] = []
        for child in children:
            out.extend(await self._subtree(f"{path}/{child}"))
        out.append(path)
        return out

    async def _delete_topic(self, topic: str) -> None:
        """Topic subtree, its config and the deletion marker, in one fenced multi."""
        for _ in range(_MAX_VERSION_RETRIES):
            paths = await self._subtree(L.topic_path(topic))
            if await self.zk.exists(L.topic_config_path(topic)) is not None:
                paths.append(L.topic_config_path(topic))
            if await self.zk.exists(L.delete_topic_path(topic)) is not None:
                paths.append(L.delete_topic_path(topic))
            try:
                await self._write([DeleteOp(p) for p in paths])
            except (NoNodeError, NotEmptyError):
                continue  # changed while we looked
            self._forget_topic(topic)
            log.info("topic deleted", topic=topic)
            return
        raise _Failed(f"topic {topic} kept changing during deletion")

    # -- controlled shutdown ---------------------------------------------------------------------

    async def controlled_shutdown(self, broker_id: int, broker_epoch: int) -> tuple[ErrorCode, list[TP]]:
        """Kafka's ``doControlledShutdown``: (error, partitions the broker still leads).

        ``broker_epoch`` -1 (ControlledShutdown v0-1) skips the epoch check."""
        try:
            return await self._submit(lambda: self._do_controlled_shutdown(broker_id, broker_epoch))
        except ControllerMovedError:
            return ErrorCode.NOT_CONTROLLER, []
        except Exception:
            log.exception("controlled shutdown failed", broker=broker_id)
            return ErrorCode.UNKNOWN_SERVER_ERROR, []

    async def _do_controlled_shutdown(self, broker_id: int, broker_epoch: int) -> tuple[ErrorCode, list[TP]]:
        if broker_epoch != -1:
            cached = self.live.get(broker_id)
            if cached is None:  # Kafka: a failed map lookup, i.e. an unknown server error
                log.info("controlled shutdown of an unknown broker", broker=broker_id)
                return ErrorCode.UNKNOWN_SERVER_ERROR, []
            if broker_epoch < cached:
                log.info(
                    "controlled shutdown request from an old broker epoch",
                    broker=broker_id,
                    broker_epoch=broker_epoch,
                    current=cached,
                )
                return ErrorCode.STALE_BROKER_EPOCH, []
        if broker_id not in self.live:
            return ErrorCode.BROKER_NOT_AVAILABLE, []
        self.shutting_down.add(broker_id)
        log.info("shutting down broker", broker=broker_id, shutting_down=sorted(self.shutting_down))
        led: list[TP] = []
        followed: list[TP] = []
        for tp in self.partitions():
            replicas = self.assignment(tp).replicas
            state = self.states.get(tp)
            if (
                broker_id not in replicas
                or len(replicas) <= 1
                or state is None
                or tp[0] in self.topics_to_delete
            ):
                continue
            (led if state.leader == broker_id else followed).append(tp)
        live_or_shutting = set(self.live)
        for tp in led:
            replicas_l = list(self.assignment(tp).replicas)
            shutting = set(self.shutting_down)
            await self._guard(
                tp,
                self._update_state(
                    tp,
                    functools.partial(
                        E.elect_controlled_shutdown,
                        replicas_l,
                        live_or_shutting_down=live_or_shutting,
                        shutting_down=shutting,
                    ),
                    f"controlled shutdown of broker {broker_id}",
                ),
                "controlled shutdown election",
            )
        for tp in followed:
            await self._guard(
                tp,
                self._remove_replica_from_isr(tp, broker_id, f"controlled shutdown of broker {broker_id}"),
                "shrink ISR",
            )
        remaining = [
            tp for tp in self.partitions() if (s := self.states.get(tp)) is not None and s.leader == broker_id
        ]
        log.info(
            "controlled shutdown done", broker=broker_id, still_leading=[_tp_str(tp) for tp in remaining]
        )
        return ErrorCode.NONE, remaining

    # -- leader elections (ElectLeaders) ---------------------------------------------------------

    async def elect_leaders(
        self, election_type: int, partitions: list[TP] | None
    ) -> dict[TP, tuple[ErrorCode, str | None]]:
        """ElectLeaders: 0 preferred, 1 unclean. ``None`` = every partition, reporting only those
        that needed an election (as Kafka's KafkaApis filters ELECTION_NOT_NEEDED)."""
        try:
            results = await self._submit(lambda: self._do_elect_leaders(election_type, partitions))
        except ControllerMovedError:
            return {tp: (ErrorCode.NOT_CONTROLLER, None) for tp in partitions or []}
        if partitions is None:
            results = {tp: r for tp, r in results.items() if r[0] != ErrorCode.ELECTION_NOT_NEEDED}
        return results

    async def _do_elect_leaders(
        self, election_type: int, partitions: list[TP] | None
    ) -> dict[TP, tuple[ErrorCode, str | None]]:
        wanted = self.partitions() if partitions is None else list(dict.fromkeys(partitions))
        results: dict[TP, tuple[ErrorCode, str | None]] = {}
        preferred = election_type == ELECTION_PREFERRED
        strategy = (
            "PreferredReplicaPartitionLeaderElectionStrategy"
            if preferred
            else "OfflinePartitionLeaderElectionStrategy(true)"
        )
        failed_code = (
            ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE
            if preferred
            else ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE
        )
        electable: list[TP] = []
        for tp in wanted:
            replicas = self.assignment(tp).replicas
            if not replicas:
                results[tp] = (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "The partition does not exist.")
            elif tp[0] in self.topics_to_delete:
                results[tp] = (ErrorCode.INVALID_TOPIC_EXCEPTION, "The topic is being deleted")
            else:
                state = self.states.get(tp)
                leader = state.leader if state is not None else E.NO_LEADER
                needed = leader != replicas[0] if preferred else leader not in self.live_ids
                if needed:
                    electable.append(tp)
                else:
                    results[tp] = (
                        ErrorCode.ELECTION_NOT_NEEDED,
                        "Leader election not needed for topic partition.",
                    )
        log.info(
            "replica leader election",
            type="preferred" if preferred else "unclean",
            partitions=[_tp_str(tp) for tp in electable],
        )
        for tp in electable:
            replicas_l = list(self.assignment(tp).replicas)
            live = self.live_ids
            try:
                if preferred:
                    new = await self._update_state(
                        tp,
                        functools.partial(E.elect_preferred, replicas_l, live=live),
                        "preferred replica election",
                    )
                else:
                    new = await self._update_state(
                        tp,
                        functools.partial(E.elect_offline, replicas_l, live=live, unclean=True),
                        "unclean leader election",
                    )
            except ControllerMovedError:
                raise
            except Exception as exc:
                log.warning("leader election failed", partition=_tp_str(tp), error=repr(exc))
                results[tp] = (ErrorCode.UNKNOWN_SERVER_ERROR, None)
                continue
            if new is None:
                results[tp] = (
                    failed_code,
                    f"Failed to elect leader for partition {_tp_str(tp)} under strategy {strategy}",
                )
            else:
                results[tp] = (ErrorCode.NONE, None)
        return results

    # -- auto leader rebalance -------------------------------------------------------------------

    async def _rebalance_loop(self) -> None:
        interval = float(self.config.get("leader.imbalance.check.interval.seconds"))
        await asyncio.sleep(min(_FIRST_REBALANCE_DELAY_S, interval))
        while not self._stopped:
            self._enqueue(self._check_auto_rebalance)
            await asyncio.sleep(interval)

    async def _check_auto_rebalance(self) -> None:
        """Kafka's ``checkAndTriggerAutoLeaderRebalance``."""
        threshold = int(self.config.get("leader.imbalance.per.broker.percentage")) / 100
        by_preferred: dict[int, list[TP]] = {}
        for tp in self.partitions():
            replicas = self.assignment(tp).replicas
            if tp[0] not in self.topics_to_delete and replicas:
                by_preferred.setdefault(replicas[0], []).append(tp)
        for broker, tps in sorted(by_preferred.items()):
            not_preferred = [
                tp for tp in tps if (s := self.states.get(tp)) is not None and s.leader != broker
            ]
            ratio = len(not_preferred) / len(tps)
            if ratio <= threshold:
                continue
            candidates = []
            for tp in not_preferred:  # leaders change ISRs without telling us: read them
                s = await self._read_state(tp)
                if (
                    s is not None
                    and E.preferred_leader(list(self.assignment(tp).replicas), s.isr, self.live_ids)
                    is not None
                ):
                    candidates.append(tp)
            if not candidates:
                continue
            log.info(
                "leader imbalance: preferred replica election",
                broker=broker,
                imbalance=round(ratio, 3),
                partitions=[_tp_str(tp) for tp in candidates],
            )
            for tp in candidates:
                replicas_l = list(self.assignment(tp).replicas)
                live = self.live_ids
                await self._guard(
                    tp,
                    self._update_state(
                        tp,
                        functools.partial(E.elect_preferred, replicas_l, live=live),
                        "auto preferred replica election",
                    ),
                    "auto rebalance",
                )

    # -- reassignment ----------------------------------------------------------------------------

    def list_reassignments(
        self, partitions: list[TP] | None
    ) -> dict[TP, tuple[list[int], list[int], list[int]]]:
        """Ongoing reassignments: partition -> (replicas, adding, removing). Raises
        :class:`ControllerMovedError` when this controller is no longer active."""
        if not self.active:
            raise ControllerMovedError(f"broker {self.broker_id} is not the active controller")
        wanted = sorted(self.reassigning) if partitions is None else partitions
        out: dict[TP, tuple[list[int], list[int], list[int]]] = {}
        for tp in wanted:
            ra = self.assignment(tp)
            if ra.is_being_reassigned:
                out[tp] = (list(ra.replicas), list(ra.adding), list(ra.removing))
        return out

    async def alter_reassignments(
        self, targets: dict[TP, list[int] | None]
    ) -> dict[TP, tuple[ErrorCode, str | None]]:
        """Start, replace (a list of replicas) or cancel (None) reassignments, as Kafka's
        ``processApiPartitionReassignment``. Raises :class:`ControllerMovedError` when not the
        active controller (a top-level NOT_CONTROLLER)."""
        return await self._submit(lambda: self._do_alter_reassignments(targets))

    def _validate_replicas(self, tp: TP, replicas: list[int]) -> tuple[ErrorCode, str] | None:
        return replica_list_error(replicas) or dead_replicas_error(
            self.assignment(tp).reassign_to(replicas).adding, self.live_ids
        )

    async def _do_alter_reassignments(
        self, targets: dict[TP, list[int] | None]
    ) -> dict[TP, tuple[ErrorCode, str | None]]:
        results: dict[TP, tuple[ErrorCode, str | None]] = {}
        for tp, target in targets.items():
            if target is not None:
                error = self._validate_replicas(tp, target)
                if error is not None:
                    results[tp] = error
                    continue
            current = self.assignment(tp)
            if current.is_being_reassigned:
                built: ReplicaAssignment | None = current.reassign_to(
                    current.origin if target is None else target
                )
            else:
                built = None if target is None else current.reassign_to(target)
            if built is None:
                results[tp] = (
                    ErrorCode.NO_REASSIGNMENT_IN_PROGRESS,
                    "No partition reassignment is in progress.",
                )
                continue
            if tp[0] in self.topics_to_delete or not current.replicas:
                results[tp] = (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "The partition does not exist.")
                continue
            log.info(
                "reassignment requested",
                partition=_tp_str(tp),
                target=target,
                replicas=list(built.replicas),
                adding=list(built.adding),
                removing=list(built.removing),
            )
            try:
                await self._on_partition_reassignment(tp, built)
            except ControllerMovedError:
                raise
            except Exception as exc:
                log.warning("reassignment failed", partition=_tp_str(tp), error=repr(exc))
                results[tp] = (ErrorCode.UNKNOWN_SERVER_ERROR, None)
                continue
            results[tp] = (ErrorCode.NONE, None)
        return results

    async def _is_reassignment_complete(self, tp: TP, ra: ReplicaAssignment) -> bool:
        """TRS within the ISR (reading the state also re-arms its watch)."""
        state = await self._read_state(tp, watch=True)
        if not ra.is_being_reassigned:
            return True
        return state is not None and set(ra.target) <= set(state.isr)

    async def _on_partition_reassignment(self, tp: TP, ra: ReplicaAssignment) -> None:
        """Kafka's ``onPartitionReassignment``: phase U, then A (not caught up) or B (complete)."""
        current = self.assignment(tp)
        if current != ra:  # U1/U2: record RS, AR, RR; replicas no longer needed leave the ISR
            await self._write_partition_assignment(tp, ra, f"reassignment of {_tp_str(tp)}")
            for r in (r for r in current.replicas if r not in ra.replicas):
                await self._remove_replica_from_isr(tp, r, "replica dropped by a new reassignment")
        self.reassigning.add(tp)
        if not await self._is_reassignment_complete(tp, ra):
            await self._bump_leader_epoch(tp, "reassignment started")  # A1
            return
        # B: complete
        completed = ReplicaAssignment.of(ra.target)
        self.assignments.setdefault(tp[0], {})[tp[1]] = completed
        state = self.states.get(tp)
        live = self.live_ids
        target = list(completed.replicas)
        if state is not None:
            if state.leader not in target or state.leader not in live:
                await self._update_state(
                    tp, lambda s: E.elect_reassigned(target, s, live), "reassignment: leader not in target"
                )
            else:
                await self._bump_leader_epoch(tp, "reassignment completed")
        for r in ra.removing:
            await self._remove_replica_from_isr(tp, r, "replica removed by reassignment")
        await self._write_partition_assignment(tp, completed, f"reassignment of {_tp_str(tp)} completed")
        self.reassigning.discard(tp)
        log.info("reassignment completed", partition=_tp_str(tp), replicas=target)
        if tp[0] in self.topics_to_delete:
            await self._try_delete_topics()

    async def _process_reassignment_isr_change(self, tp: TP) -> None:
        if tp not in self.reassigning:
            return
        ra = self.assignment(tp)
        if await self._is_reassignment_complete(tp, ra):
            log.info("reassignment target replicas in sync", partition=_tp_str(tp), target=ra.target)
            await self._guard(tp, self._on_partition_reassignment(tp, ra), "complete reassignment")
