"""Fake brokers for controller and admin tests: just ``/brokers/ids/<id>`` znodes, each owned by
its own ZooKeeper session, so closing that session "kills" the broker."""

from __future__ import annotations

from dataclasses import dataclass, field

from pybroker.cluster import zk_layout as L
from pybroker.cluster.registration import ensure_persistent_paths
from pybroker.cluster.zk_client import ZkClient


@dataclass
class FakeBrokers:
    connect: str
    sessions: dict[int, ZkClient] = field(default_factory=dict)
    closed: list[ZkClient] = field(default_factory=list)

    async def start(self, broker_id: int, rack: str | None = None) -> int:
        """Register ``broker_id`` in a new session; returns its broker epoch (the znode's czxid)."""
        zk = ZkClient(self.connect, session_timeout_ms=4000, connection_timeout_ms=10000)
        await zk.start()
        await ensure_persistent_paths(zk)
        reg = L.BrokerRegistration(
            broker_id, (L.EndPoint("PLAINTEXT", "127.0.0.1", 19000 + broker_id),), 1700000000000, rack=rack
        )
        await zk.create(L.broker_path(broker_id), L.encode_broker(reg), ephemeral=True)
        _, stat = await zk.get(L.broker_path(broker_id))
        self.sessions[broker_id] = zk
        return int(stat.czxid)

    async def kill(self, broker_id: int) -> None:
        zk = self.sessions.pop(broker_id)
        await zk.close()

    async def close(self) -> None:
        for zk in self.sessions.values():
            await zk.close()
        self.sessions.clear()
