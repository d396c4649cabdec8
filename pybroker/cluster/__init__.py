"""ZooKeeper cluster membership: Kafka 3.x's znode layout, broker registration, controller election.

Modules
    :mod:`~pybroker.cluster.zk_layout` (pure): znode paths and their JSON, as Kafka writes them.
    :mod:`~pybroker.cluster.zk_client`: an asyncio wrapper over kazoo; the only code that meets
    kazoo's threads, handing every result, watch and session change to the event loop.
    :mod:`~pybroker.cluster.registration`: ``/cluster/id`` and the ephemeral ``/brokers/ids/<id>``.
    :mod:`~pybroker.cluster.controller_election`: ``/controller`` and ``/controller_epoch``.

:class:`ZkClusterMembership` bundles them for a broker started with ``zookeeper.connect``:
``connect()`` opens the session (creating the chroot), creates Kafka's persistent paths and
gets or creates the cluster id; the broker checks it against ``meta.properties``
(:func:`check_cluster_id`) before touching its logs; ``join()`` registers the broker's
advertised endpoints once its listeners are bound and enters the controller election;
``stop()`` leaves (deleting its ephemeral znodes at once by closing the session). Everything
runs on the broker's event loop; the ZooKeeper session is owned by this object.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping

from pybroker.cluster import zk_layout
from pybroker.cluster.controller_election import ControllerElection, ElectionState, Step
from pybroker.cluster.registration import (
    BrokerIdAlreadyRegisteredError,
    BrokerRegistrar,
    ClusterMembershipError,
    InconsistentClusterIdError,
    broker_registration,
    check_cluster_id,
    ensure_persistent_paths,
    get_or_create_cluster_id,
)
from pybroker.cluster.zk_client import SessionEvent, SessionState, ZkClient, ZkTimeoutError
from pybroker.logging import get_logger

__all__ = [
    "BrokerIdAlreadyRegisteredError",
    "BrokerRegistrar",
    "ClusterMembershipError",
    "ControllerElection",
    "ElectionState",
    "InconsistentClusterIdError",
    "SessionEvent",
    "SessionState",
    "Step",
    "ZkClient",
    "ZkClusterMembership",
    "ZkTimeoutError",
    "broker_registration",
    "check_cluster_id",
    "ensure_persistent_paths",
    "get_or_create_cluster_id",
    "zk_layout",
]

log = get_logger("pybroker.cluster")


class ZkClusterMembership:
    """A broker's ZooKeeper presence: session, cluster id, registration and candidacy."""

    def __init__(
        self,
        connect: str,
        *,
        session_timeout_ms: int = 18000,
        connection_timeout_ms: int | None = None,
        on_elected: Callable[[int], None] | None = None,
        on_resigned: Callable[[], None] | None = None,
    ) -> None:
        self.zk = ZkClient(
            connect, session_timeout_ms=session_timeout_ms, connection_timeout_ms=connection_timeout_ms
        )
        self.cluster_id = ""
        self.registrar: BrokerRegistrar | None = None
        self.election: ControllerElection | None = None
        self._on_elected = on_elected
        self._on_resigned = on_resigned

    @property
    def controller_id(self) -> int:
        """The active controller's broker id as last seen, or -1."""
        return self.election.controller_id if self.election is not None else zk_layout.NO_CONTROLLER

    @property
    def is_controller(self) -> bool:
        return self.election is not None and self.election.is_controller

    async def connect(self) -> str:
        """Open the session, create the persistent paths; returns the cluster id."""
        await self.zk.start()
        try:
            await ensure_persistent_paths(self.zk)
            self.cluster_id = await get_or_create_cluster_id(self.zk)
        except BaseException:
            await self.zk.close()
            raise
        return self.cluster_id

    async def join(
        self,
        broker_id: int,
        advertised: Mapping[str, tuple[str, int]],
        security_protocols: Mapping[str, str],
        rack: str | None = None,
        wait_for_stale_ms: int = 0,
    ) -> None:
        """Register ``advertised`` (listener name -> bound host/port) and enter the election.

        Raises :class:`BrokerIdAlreadyRegisteredError` if another live broker has this id after
        ``wait_for_stale_ms``: a broker restarted right after being killed finds its previous
        session's znode until that session expires, so it waits that long rather than fail.
        """
        endpoints: Iterable[zk_layout.EndPoint] = (
            zk_layout.EndPoint(name, host, port, security_protocols.get(name, "PLAINTEXT"))
            for name, (host, port) in advertised.items()
        )
        registration = broker_registration(broker_id, endpoints, rack)
        deadline = time.monotonic() + wait_for_stale_ms / 1000
        while True:
            self.registrar = BrokerRegistrar(self.zk, registration)
            try:
                await self.registrar.start()
                break
            except BrokerIdAlreadyRegisteredError:
                if time.monotonic() >= deadline:
                    raise
                log.info("broker id still registered by an older session; waiting", broker_id=broker_id)
                await asyncio.sleep(0.5)
        self.election = ControllerElection(
            self.zk, broker_id, on_elected=self._on_elected, on_resigned=self._on_resigned
        )
        await self.election.start()
        log.info(
            "joined the cluster",
            broker_id=broker_id,
            cluster_id=self.cluster_id,
            controller_id=self.election.controller_id,
        )

    async def stop(self) -> None:
        """Leave the election, deregister and close the session (idempotent).

        Closing the session removes ``/controller`` (if ours) and ``/brokers/ids/<id>`` in one
        step, so the others see the broker leave and elect a new controller at once."""
        if self.election is not None:
            await self.election.stop(delete_znode=False)
        if self.registrar is not None:
            await self.registrar.stop(deregister=False)
        await self.zk.close()
