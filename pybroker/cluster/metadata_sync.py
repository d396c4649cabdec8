"""Every broker's view of the cluster, mirrored from ZooKeeper by watches.

pybroker's controller and brokers talk only through ZooKeeper (no LeaderAndIsr/UpdateMetadata
requests): the controller writes partition state znodes, leaders write their ISR changes, and
every broker watches

* ``/brokers/ids`` and each ``/brokers/ids/<id>``: live brokers and their endpoints;
* ``/brokers/topics`` and each ``/brokers/topics/<t>``: topics, replica assignments, topic ids;
* each ``/brokers/topics/<t>/partitions/<p>/state``: leader, leader epoch, ISR (znode version);
* each ``/config/topics/<t>``: topic config overrides.

Watch callbacks only mark a znode dirty; one reconcile task re-reads dirty znodes (setting the
next watch with the read, so no change between two reads is missed), then reports the topics
that changed or disappeared and whether the broker set changed to the :class:`SyncListener`.
A new session (after expiry) loses every watch, so everything is marked dirty and re-read; the
loss itself is reported first (``on_session_lost``) so the broker stops acting on a view it can
no longer keep current. Owned by the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

from protocol.uuid_text import parse_uuid_text
from pybroker.cluster import zk_layout
from pybroker.cluster.zk_client import (
    NoNodeError,
    SessionEvent,
    SessionState,
    WatchEvent,
    ZkClient,
)
from pybroker.logging import get_logger
from pybroker.metadata import PartitionState, TopicInfo

log = get_logger("pybroker.cluster.metadata_sync")

Key = tuple[str, ...]


class SyncListener(Protocol):
    def on_cluster_change(self, changed: set[str], deleted: set[str], brokers_changed: bool) -> None: ...

    def on_session_lost(self) -> None: ...


def decode_topic_id(name: str, text: str | None) -> uuid.UUID:
    """Kafka's base64 ``Uuid`` text; a topic written without one (old tools) gets a UUID derived
    from its name, the same on every broker."""
    if text:
        with contextlib.suppress(ValueError):
            return parse_uuid_text(text)
    return uuid.uuid5(uuid.NAMESPACE_URL, f"pybroker-topic:{name}")


class ZkMetadataSync:
    """The ZooKeeper mirror; see the module docstring."""

    def __init__(self, zk: ZkClient, listener: SyncListener) -> None:
        self.zk = zk
        self.listener = listener
        self.brokers: dict[int, zk_layout.BrokerRegistration] = {}
        self.broker_epochs: dict[int, int] = {}  # czxid of each /brokers/ids/<id>
        self.assignments: dict[str, zk_layout.TopicAssignment] = {}
        self.states: dict[tuple[str, int], zk_layout.PartitionState] = {}
        self.configs: dict[str, dict[str, str]] = {}
        self._dirty: set[Key] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._session_id: int | None = None
        self._report_all = False  # after a new session: re-report every topic, changed or not

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Read everything once (watches set), report it, then keep following changes."""
        self._session_id = self.zk.session_id
        self.zk.add_session_listener(self._on_session)
        self._mark_all()
        await self._reconcile()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        self.zk.remove_session_listener(self._on_session)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    # -- views -------------------------------------------------------------------------------

    def topic_info(self, name: str) -> TopicInfo | None:
        """The topic as the metadata cache holds it; partitions without a state znode yet have
        no leader (-1)."""
        assignment = self.assignments.get(name)
        if assignment is None:
            return None
        partitions = {}
        for index, replicas in assignment.partitions.items():
            state = self.states.get((name, index))
            partitions[index] = PartitionState(
                index,
                state.leader if state is not None else -1,
                state.leader_epoch if state is not None else -1,
                list(replicas),
                list(state.isr) if state is not None else [],
                [r for r in replicas if r not in self.brokers],
            )
        return TopicInfo(
            name, decode_topic_id(name, assignment.topic_id), partitions, dict(self.configs.get(name, {}))
        )

    def state_version(self, topic: str, index: int) -> int:
        state = self.states.get((topic, index))
        return state.partition_epoch if state is not None else -1

    def record_state(self, topic: str, index: int, state: zk_layout.PartitionState) -> None:
        """This broker wrote ``state`` (an ISR change); remember it so the echo is no change."""
        self.states[(topic, index)] = state

    # -- watches -----------------------------------------------------------------------------

    def _mark(self, key: Key) -> None:
        self._dirty.add(key)
        self._wake.set()

    def _mark_all(self) -> None:
        self._mark(("brokers",))
        self._mark(("topics",))
        for b in self.brokers:
            self._mark(("broker", str(b)))
        for t in self.assignments:
            self._mark(("topic", t))
            self._mark(("config", t))
        for t, p in self.states:
            self._mark(("state", t, str(p)))

    def _watch(self, key: Key) -> Callable[[WatchEvent], None]:
        def fired(event: WatchEvent) -> None:
            self._mark(key)

        return fired

    def _on_session(self, event: SessionEvent) -> None:
        if event.state is SessionState.LOST:
            log.warning("ZooKeeper session lost; leaving every partition role", local=event.local)
            self._session_id = None
            self.listener.on_session_lost()
        elif event.state is SessionState.CONNECTED and event.session_id != self._session_id:
            self._session_id = event.session_id
            self._report_all = True  # the broker left its roles when the old session was lost
            self._mark_all()  # a new session has none of the old watches

    # -- reconciling -------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            try:
                await self._reconcile()
            except Exception as exc:  # ZooKeeper unreachable: keep the marks, try again
                log.info("metadata sync failed, retrying", error=str(exc))
                await asyncio.sleep(0.5)

    async def _reconcile(self) -> None:
        changed: set[str] = set()
        deleted: set[str] = set()
        brokers_changed = False
        while self._dirty:
            self._wake.clear()
            batch, self._dirty = self._dirty, set()
            reads: list[Awaitable[None]] = []
            results: list[tuple[str, str | None]] = []
            for key in batch:
                reads.append(self._read(key, results))
            outcome = await asyncio.gather(*reads, return_exceptions=True)
            failed = [k for k, r in zip(batch, outcome, strict=True) if isinstance(r, BaseException)]
            if failed:
                self._dirty.update(failed)
                first = next(r for r in outcome if isinstance(r, BaseException))
                if isinstance(first, asyncio.CancelledError):
                    raise first
                self._report(changed, deleted, brokers_changed)
                raise first
            for what, topic in results:
                if what == "brokers":
                    brokers_changed = True
                elif what == "deleted" and topic is not None:
                    deleted.add(topic)
                    changed.discard(topic)
                elif topic is not None:
                    changed.add(topic)
                    deleted.discard(topic)
        self._report(changed, deleted, brokers_changed)

    def _report(self, changed: set[str], deleted: set[str], brokers_changed: bool) -> None:
        if self._report_all and not self._dirty:
            self._report_all = False
            brokers_changed = True
        if brokers_changed:
            # offline replicas depend on the live brokers: every topic's view changes
            changed |= set(self.assignments)
        if changed or deleted or brokers_changed:
            self.listener.on_cluster_change(set(changed), set(deleted), brokers_changed)
            changed.clear()
            deleted.clear()

    async def _read(self, key: Key, results: list[tuple[str, str | None]]) -> None:
        kind = key[0]
        zk = self.zk
        if kind == "brokers":
            children = await zk.get_children(zk_layout.BROKER_IDS, watch=self._watch(key))
            ids = set(zk_layout.sorted_broker_ids(children))
            for gone in set(self.brokers) - ids:
                del self.brokers[gone]
                self.broker_epochs.pop(gone, None)
                results.append(("brokers", None))
            for new in ids - set(self.brokers):
                await self._read(("broker", str(new)), results)
        elif kind == "broker":
            broker_id = int(key[1])
            try:
                data, stat = await zk.get(zk_layout.broker_path(broker_id), watch=self._watch(key))
            except NoNodeError:
                if self.brokers.pop(broker_id, None) is not None:
                    self.broker_epochs.pop(broker_id, None)
                    results.append(("brokers", None))
                return
            registration = zk_layout.decode_broker(broker_id, data)
            if self.brokers.get(broker_id) != registration or self.broker_epochs.get(broker_id) != stat.czxid:
                self.brokers[broker_id] = registration
                self.broker_epochs[broker_id] = stat.czxid
                results.append(("brokers", None))
        elif kind == "topics":
            names = set(await zk.get_children(zk_layout.BROKER_TOPICS, watch=self._watch(key)))
            for removed in set(self.assignments) - names:
                self._forget_topic(removed)
                results.append(("deleted", removed))
            for topic in names - set(self.assignments):
                await self._read(("topic", topic), results)
                await self._read(("config", topic), results)
        elif kind == "topic":
            name = key[1]
            try:
                data, _ = await zk.get(zk_layout.topic_path(name), watch=self._watch(key))
            except NoNodeError:
                if name in self.assignments:
                    self._forget_topic(name)
                    results.append(("deleted", name))
                return
            assignment = zk_layout.decode_topic(name, data)
            old = self.assignments.get(name)
            self.assignments[name] = assignment
            if old != assignment:
                results.append(("topic", name))
            new_partitions = set(assignment.partitions) - (set(old.partitions) if old is not None else set())
            await asyncio.gather(
                *(self._read(("state", name, str(p)), results) for p in sorted(new_partitions))
            )
        elif kind == "state":
            name, index = key[1], int(key[2])
            if name not in self.assignments:
                return  # the topic went away
            path = zk_layout.partition_state_path(name, index)
            try:
                data, stat = await zk.get(path, watch=self._watch(key))
            except NoNodeError:
                # not created yet (the controller has not initialised it): be told when it is
                if await zk.exists(path, watch=self._watch(key)) is not None:
                    self._mark(key)
                return
            state = zk_layout.decode_partition_state(data, stat.version, path)
            if self.states.get((name, index)) != state:
                self.states[(name, index)] = state
                results.append(("state", name))
        elif kind == "config":
            name = key[1]
            path = zk_layout.topic_config_path(name)
            try:
                data, _ = await zk.get(path, watch=self._watch(key))
            except NoNodeError:
                if await zk.exists(path, watch=self._watch(key)) is not None:
                    self._mark(key)
                config: dict[str, str] = {}
            else:
                config = zk_layout.decode_config(data)
            if name in self.assignments and self.configs.get(name, {}) != config:
                self.configs[name] = config
                results.append(("config", name))

    def _forget_topic(self, name: str) -> None:
        assignment = self.assignments.pop(name, None)
        self.configs.pop(name, None)
        if assignment is not None:
            for p in assignment.partitions:
                self.states.pop((name, p), None)


def live_endpoint(
    registration: zk_layout.BrokerRegistration | None, listener_names: Iterable[str]
) -> tuple[str, int] | None:
    """The first of ``listener_names`` the broker registered, as (host, port)."""
    if registration is None:
        return None
    for name in listener_names:
        endpoint = registration.endpoint(name)
        if endpoint is not None and endpoint.host is not None:
            return endpoint.host, endpoint.port
    return None
