"""A broker process started with ``zookeeper.connect`` joins ZooKeeper as a Kafka broker would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pybroker import meta_properties
from tests.support.broker import BrokerProcess
from tests.support.zookeeper import ZooKeeperServer

pytestmark = pytest.mark.timeout(90)


def test_broker_registers_is_elected_and_refuses_conflicts(
    zk_server: ZooKeeperServer, zk_chroot: str, tmp_path: Path
) -> None:
    connect = zk_server.hosts + zk_chroot  # the chroot does not exist yet: the broker creates it
    overrides = {"zookeeper.connect": connect, "zookeeper.session.timeout.ms": "6000"}
    broker = BrokerProcess(tmp_path / "b0", overrides={**overrides, "broker.id": "0"}).start()
    admin = zk_server.client(zk_chroot)
    try:
        assert admin.get_children("/brokers/ids") == ["0"]
        reg = json.loads(admin.get("/brokers/ids/0")[0])
        assert reg["version"] == 5
        assert reg["endpoints"] == [f"PLAINTEXT://{broker.host}:{broker.port}"]
        assert (reg["host"], reg["port"]) == (broker.host, broker.port)
        assert reg["listener_security_protocol_map"] == {"PLAINTEXT": "PLAINTEXT"}
        assert reg["jmx_port"] == -1 and isinstance(reg["timestamp"], str)

        controller = json.loads(admin.get("/controller")[0])
        assert controller["brokerid"] == 0 and controller["version"] == 2
        assert admin.get("/controller_epoch")[0] == b"1"

        zk_cluster_id = json.loads(admin.get("/cluster/id")[0])["id"]
        ready = json.loads((tmp_path / "b0" / "ready.json").read_text())
        assert ready["cluster_id"] == zk_cluster_id
        meta = meta_properties.read(tmp_path / "b0" / "logs")
        assert meta is not None and meta["cluster.id"] == zk_cluster_id

        # a second broker with the same id must not start
        twin = BrokerProcess(tmp_path / "twin", overrides={**overrides, "broker.id": "0"})
        with pytest.raises(RuntimeError, match="broker id 0 already registered"):
            twin.start(timeout=30)
        twin.kill()

        # nor one whose log dir belongs to another cluster
        stranger_dir = tmp_path / "stranger"
        meta_properties.write(stranger_dir / "logs", 1, "AAAAAAAAAAAAAAAAAAAAAA")
        stranger = BrokerProcess(stranger_dir, overrides={**overrides, "broker.id": "1"})
        with pytest.raises(RuntimeError, match="doesn't match stored clusterId"):
            stranger.start(timeout=30)
        stranger.kill()
        assert admin.get_children("/brokers/ids") == ["0"]
    finally:
        assert broker.stop() == 0
        try:
            # a clean stop leaves the cluster at once: no registration, no controller
            assert admin.get_children("/brokers/ids") == []
            assert admin.exists("/controller") is None
        finally:
            admin.stop()
            admin.close()
