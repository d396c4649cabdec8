"""The broker process: configuration, identity, listeners and the state handlers read.

The event loop owns all of this state; handlers run on the loop and read it directly.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from pybroker import meta_properties
from pybroker.config import BrokerConfig
from pybroker.logging import get_logger
from pybroker.server import KafkaServer

log = get_logger("pybroker.broker")


@dataclass(frozen=True, slots=True)
class BrokerEndpoint:
    """How clients reach one broker through one listener."""

    broker_id: int
    host: str
    port: int
    rack: str | None


class Broker:
    """A single broker. Without ``zookeeper.connect`` it is its own controller (standalone)."""

    def __init__(self, config: BrokerConfig) -> None:
        self.config = config
        self.broker_id = config.broker_id
        self.cluster_id = ""
        self.rack: str | None = config.get("broker.rack")
        self.server = KafkaServer(self)

    @property
    def controller_id(self) -> int:
        return self.broker_id

    async def start(self) -> None:
        self.broker_id, self.cluster_id = meta_properties.ensure(
            self.config.log_dirs, self.config.broker_id, None
        )
        await self.server.start()
        log.info(
            "broker started",
            broker_id=self.broker_id,
            cluster_id=self.cluster_id,
            listeners=",".join(f"{n}://{h}:{p}" for n, (h, p) in self.advertised().items()),
        )

    async def stop(self) -> None:
        await self.server.stop()
        log.info("broker stopped", broker_id=self.broker_id)

    def advertised(self) -> dict[str, tuple[str, int]]:
        """Advertised (host, port) per listener name; port 0 resolves to the bound port."""
        result = {}
        for ln in self.config.advertised_listeners:
            host = ln.host or socket.getfqdn()
            port = ln.port or self.server.bound_ports.get(ln.name, 0)
            result[ln.name] = (host, port)
        return result

    def live_brokers(self, listener_name: str) -> list[BrokerEndpoint]:
        """Brokers reachable through ``listener_name``; standalone: this broker only."""
        endpoint = self.advertised().get(listener_name)
        if endpoint is None:
            return []
        return [BrokerEndpoint(self.broker_id, endpoint[0], endpoint[1], self.rack)]
