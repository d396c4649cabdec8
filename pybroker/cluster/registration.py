"""Broker registration in ZooKeeper and the cluster id, as a Kafka 3.x ZooKeeper-mode broker does.

Znodes (formats in :mod:`pybroker.cluster.zk_layout`)
    ``/brokers/ids/<id>``: ephemeral, owned by this broker's ZooKeeper session; version-5 JSON
    with the advertised endpoints. Created like Kafka's ``CheckedEphemeral``: one multi of
    "create empty ephemeral" + "set data at version 0", whose stat's ``czxid`` is the *broker
    epoch*. If the znode exists and its ``ephemeralOwner`` is our own session (a retry after
    connection loss, or a suspension this side declared lost that the server survived), it is
    adopted; any other owner is another live broker with our id: :class:`BrokerIdAlreadyRegisteredError`.
    ``/cluster/id``: persistent, ``{"version":"1","id":...}``; read, or created when absent
    (losing a creation race means reading the winner's). :func:`check_cluster_id` compares it
    with ``meta.properties`` in the log dirs: a mismatch means the broker points at the wrong
    cluster (or the wrong chroot) and must not start.
    The persistent paths a Kafka broker creates at startup (``ZkData.PersistentZkPaths``):
    :func:`ensure_persistent_paths`.

Ownership and re-registration
    :class:`BrokerRegistrar` owns ``/brokers/ids/<id>`` for one broker. When the session is
    LOST the registration is void; on the next CONNECTED (a new session, or the same one after
    a local LOST) it registers again with a fresh timestamp, in a task on the loop, retrying
    transient ZooKeeper errors. A conflict at startup raises; a conflict when re-registering is
    logged and left in :attr:`BrokerRegistrar.last_error` (the id was taken while we were away).

Threading: everything runs on the event loop; ZooKeeper I/O goes through :class:`ZkClient`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from protocol.uuid_text import new_uuid_text
from pybroker import meta_properties
from pybroker.cluster import zk_layout as L
from pybroker.cluster.zk_client import (
    BadVersionError,
    CreateOp,
    NodeExistsError,
    NoNodeError,
    SessionEvent,
    SessionState,
    SetDataOp,
    ZkClient,
    ZnodeStat,
    first_error,
)
from pybroker.logging import get_logger

log = get_logger("pybroker.cluster.registration")


class ClusterMembershipError(RuntimeError):
    """The broker cannot join the cluster as configured."""


class BrokerIdAlreadyRegisteredError(ClusterMembershipError):
    """``/brokers/ids/<id>`` belongs to another live ZooKeeper session (another broker)."""


class InconsistentClusterIdError(ClusterMembershipError):
    """ZooKeeper's cluster id differs from the one recorded in the log dirs."""


# -- cluster id --------------------------------------------------------------------------------


async def ensure_persistent_paths(zk: ZkClient) -> None:
    """Kafka's ``createTopLevelPaths``: the persistent znodes every broker expects."""
    for path in L.PERSISTENT_PATHS:
        await zk.ensure_path(path)


async def get_or_create_cluster_id(zk: ZkClient, proposed: str | None = None) -> str:
    """Kafka's ``getOrGenerateClusterId``: read ``/cluster/id``, else create it with a new id."""
    got = await zk.get_or_none(L.CLUSTER_ID)
    if got is not None:
        return L.decode_cluster_id(got[0])
    cluster_id = proposed or new_uuid_text()
    try:
        await zk.create(L.CLUSTER_ID, L.encode_cluster_id(cluster_id), makepath=True)
        log.info("created cluster id", cluster_id=cluster_id)
        return cluster_id
    except NodeExistsError:
        got = await zk.get_or_none(L.CLUSTER_ID)
        if got is None:
            raise ClusterMembershipError(
                f"failed to get the cluster id from ZooKeeper: {L.CLUSTER_ID} was deleted"
            ) from None
        return L.decode_cluster_id(got[0])


def check_cluster_id(zk_cluster_id: str, log_dirs: Iterable[Path]) -> None:
    """Refuse to start if any log dir's ``meta.properties`` records another cluster id."""
    for d in log_dirs:
        meta = meta_properties.read(d)
        stored = meta.get("cluster.id") if meta else None
        if stored and stored != zk_cluster_id:
            raise InconsistentClusterIdError(
                f"The Cluster ID {zk_cluster_id} doesn't match stored clusterId {stored} in "
                f"{d / meta_properties.FILE_NAME}. The broker is trying to join the wrong cluster. "
                "Configured zookeeper.connect may be wrong."
            )


# -- registration ----------------------------------------------------------------------------


class ExistingNode(enum.Enum):
    ADOPT = "adopt"  # our own session created it: it is our registration
    CONFLICT = "conflict"  # another session's: another broker has this id


def classify_existing(ephemeral_owner: int, our_session: int | None) -> ExistingNode:
    """What a NodeExists on ``/brokers/ids/<id>`` means (pure)."""
    return (
        ExistingNode.ADOPT
        if our_session is not None and ephemeral_owner == our_session
        else ExistingNode.CONFLICT
    )


def broker_registration(
    broker_id: int,
    endpoints: Iterable[L.EndPoint],
    rack: str | None = None,
    features: dict[str, L.VersionRange] | None = None,
) -> L.BrokerRegistration:
    """A version-5 registration template; the timestamp is stamped at each (re)registration."""
    return L.BrokerRegistration(broker_id, tuple(endpoints), -1, rack, -1, features or {})


class BrokerRegistrar:
    """Keeps ``/brokers/ids/<id>`` registered for the lifetime of the broker (see module doc)."""

    def __init__(
        self,
        zk: ZkClient,
        registration: L.BrokerRegistration,
        *,
        clock: Callable[[], float] = time.time,
        retry_backoff_s: float = 0.2,
        stop_timeout_s: float = 2.0,
    ) -> None:
        self.zk = zk
        self.template = registration
        self.stop_timeout_s = stop_timeout_s
        self._clock = clock
        self._retry_backoff_s = retry_backoff_s
        self.registered = False
        self.broker_epoch = -1  # czxid of our znode
        self.registered_session: int | None = None
        self.registrations = 0  # successful (re)registrations, for observers and tests
        self.last_error: Exception | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        self._changed = asyncio.Event()

    @property
    def broker_id(self) -> int:
        return self.template.broker_id

    @property
    def path(self) -> str:
        return L.broker_path(self.broker_id)

    async def start(self) -> None:
        """Register now (raising :class:`BrokerIdAlreadyRegisteredError` on conflict), then
        keep the registration across session loss."""
        self.zk.add_session_listener(self._on_session)
        try:
            await self._register()
        except BaseException:
            self.zk.remove_session_listener(self._on_session)
            raise

    async def stop(self, *, deregister: bool = True) -> None:
        """Stop re-registering; with ``deregister``, delete our znode now (if it is ours)."""
        self._stopped = True
        self.zk.remove_session_listener(self._on_session)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if deregister and self.registered and self.zk.connected:
            # best effort and bounded: if ZooKeeper is unreachable, the session's end removes it
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self.stop_timeout_s):
                    await self._delete_own_znode()
        self._mark(False)

    async def _delete_own_znode(self) -> None:
        got = await self.zk.get_or_none(self.path)
        if got is not None and got[1].ephemeralOwner == self.zk.session_id:
            await self.zk.delete(self.path, got[1].version)

    async def wait_registered(self, timeout: float, *, after: int = 0) -> None:
        """Wait until registered with more than ``after`` registrations done so far."""
        async with asyncio.timeout(timeout):
            while not (self.registered and self.registrations > after):
                self._changed.clear()
                await self._changed.wait()

    def _mark(self, registered: bool) -> None:
        self.registered = registered
        if not registered:
            self.registered_session = None
        self._changed.set()

    def _on_session(self, event: SessionEvent) -> None:
        if event.state is SessionState.LOST:
            if self.registered:
                log.warning("zookeeper session lost: broker registration void", broker_id=self.broker_id)
            self._mark(False)
        elif (
            event.state is SessionState.CONNECTED
            and not self._stopped
            and (not self.registered or self.registered_session != event.session_id)
        ):
            self._mark(False)
            if self._task is None or self._task.done():
                self._task = asyncio.get_running_loop().create_task(self._reregister())

    async def _reregister(self) -> None:
        while not self._stopped and self.zk.connected and not self.registered:
            try:
                await self._register()
            except BrokerIdAlreadyRegisteredError as exc:
                self.last_error = exc
                log.error("re-registration failed", broker_id=self.broker_id, error=str(exc))
                return
            except Exception as exc:
                self.last_error = exc
                log.warning(
                    "re-registration attempt failed; retrying", broker_id=self.broker_id, error=repr(exc)
                )
                await asyncio.sleep(self._retry_backoff_s)

    async def _register(self) -> None:
        session = self.zk.session_id
        reg = dataclasses.replace(self.template, timestamp_ms=int(self._clock() * 1000))
        data = L.encode_broker(reg)
        stat = await self._checked_ephemeral_create(data, session)
        if self.zk.session_id != session or session is None:
            return  # the session changed under us: the CONNECTED listener registers again
        self.broker_epoch = stat.czxid
        self.registered_session = session
        self.registrations += 1
        self.last_error = None
        self._mark(True)
        log.info(
            "registered broker",
            broker_id=self.broker_id,
            path=self.path,
            endpoints=",".join(e.connection_string for e in reg.endpoints),
            broker_epoch=stat.czxid,
        )

    async def _checked_ephemeral_create(self, data: bytes, session: int | None) -> ZnodeStat:
        path = self.path
        for _ in range(10):
            results = await self.zk.multi([CreateOp(path, b"", ephemeral=True), SetDataOp(path, data, 0)])
            error = first_error(results)
            if error is None:
                stat: ZnodeStat = results[1]
                return stat
            if isinstance(error, NoNodeError):  # /brokers/ids itself is missing
                await self.zk.ensure_path(L.BROKER_IDS)
                continue
            if not isinstance(error, NodeExistsError):
                raise error
            got = await self.zk.get_or_none(path)
            if got is None:
                continue  # it went away (an old session's node expiring): create again
            _, existing = got
            owner = existing.ephemeralOwner
            if classify_existing(owner, session) is ExistingNode.CONFLICT:
                raise BrokerIdAlreadyRegisteredError(
                    f"broker id {self.broker_id} already registered: {path} exists and is owned by "
                    f"ZooKeeper session 0x{owner:x}, not this broker's session 0x{session or 0:x}. "
                    f"Is another broker running with broker.id={self.broker_id}?"
                )
            try:  # ours: bring its data up to date
                return await self.zk.set(path, data, existing.version)
            except (NoNodeError, BadVersionError):
                continue
        raise ClusterMembershipError(f"could not register {path}: it kept appearing and disappearing")
