"""Broker registration and the cluster id against a real ZooKeeper."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from pybroker import meta_properties
from pybroker.cluster import zk_layout as L
from pybroker.cluster.registration import (
    BrokerIdAlreadyRegisteredError,
    BrokerRegistrar,
    ExistingNode,
    InconsistentClusterIdError,
    broker_registration,
    check_cluster_id,
    classify_existing,
    ensure_persistent_paths,
    get_or_create_cluster_id,
)
from pybroker.cluster.zk_client import SessionEvent, SessionState, ZkClient
from tests.support.zookeeper import ZooKeeperServer, expire_session, in_thread

pytestmark = pytest.mark.timeout(60)

NewClient = Callable[[], Awaitable[ZkClient]]


@pytest.fixture
async def clients(zk_connect: str) -> AsyncIterator[NewClient]:
    """``await new_client()`` -> a started ZkClient on this test's chroot; all closed afterwards."""
    made: list[ZkClient] = []

    async def new_client() -> ZkClient:
        zk = ZkClient(zk_connect, session_timeout_ms=4000, connection_timeout_ms=10000)
        await zk.start()
        made.append(zk)
        return zk

    yield new_client
    for zk in made:
        await zk.close()


def registration(broker_id: int, port: int, rack: str | None = None) -> L.BrokerRegistration:
    return broker_registration(broker_id, [L.EndPoint("PLAINTEXT", "127.0.0.1", port)], rack)


async def test_registration_is_visible_in_kafkas_format(clients: NewClient) -> None:
    zk: ZkClient = await clients()
    observer: ZkClient = await clients()
    await ensure_persistent_paths(zk)
    registrar = BrokerRegistrar(zk, registration(3, 19092, rack="r1"), clock=lambda: 1700000000.5)
    await registrar.start()
    assert registrar.registered and registrar.broker_epoch > 0

    assert await observer.get_children("/brokers/ids") == ["3"]
    data, stat = await observer.get("/brokers/ids/3")
    assert stat.ephemeralOwner == zk.session_id
    assert stat.czxid == registrar.broker_epoch
    assert json.loads(data) == {
        "version": 5,
        "host": "127.0.0.1",
        "port": 19092,
        "endpoints": ["PLAINTEXT://127.0.0.1:19092"],
        "jmx_port": -1,
        "timestamp": "1700000000500",
        "rack": "r1",
        "listener_security_protocol_map": {"PLAINTEXT": "PLAINTEXT"},
        "features": {},
    }
    for path in L.PERSISTENT_PATHS:
        assert await observer.exists(path) is not None, path

    await registrar.stop()
    assert await observer.exists("/brokers/ids/3") is None  # deregistered at once


async def test_second_registration_with_the_same_id_fails_clearly(clients: NewClient) -> None:
    first: ZkClient = await clients()
    second: ZkClient = await clients()
    await BrokerRegistrar(first, registration(1, 19092)).start()
    other = BrokerRegistrar(second, registration(1, 19093))
    with pytest.raises(BrokerIdAlreadyRegisteredError, match="broker id 1 already registered"):
        await other.start()
    assert not other.registered
    data, _ = await second.get("/brokers/ids/1")
    assert json.loads(data)["port"] == 19092  # the first broker's registration is untouched


async def test_registering_twice_in_one_session_adopts_the_node(clients: NewClient) -> None:
    zk: ZkClient = await clients()
    a = BrokerRegistrar(zk, registration(2, 19092), clock=lambda: 1.0)
    await a.start()
    b = BrokerRegistrar(zk, registration(2, 19099), clock=lambda: 2.0)  # e.g. a retry after connection loss
    await b.start()
    data, _ = await zk.get("/brokers/ids/2")
    assert json.loads(data)["port"] == 19099 and json.loads(data)["timestamp"] == "2000"
    assert classify_existing(5, 5) is ExistingNode.ADOPT
    assert classify_existing(5, 6) is ExistingNode.CONFLICT
    assert classify_existing(5, None) is ExistingNode.CONFLICT


async def test_session_expiry_re_registers(zk_server: ZooKeeperServer, clients: NewClient) -> None:
    zk: ZkClient = await clients()
    observer: ZkClient = await clients()
    registrar = BrokerRegistrar(zk, registration(4, 19092))
    await registrar.start()
    old_session, old_epoch = zk.session_id, registrar.broker_epoch
    done = registrar.registrations

    session_id, password = zk.kazoo.client_id
    await in_thread(lambda: expire_session(zk_server.hosts, session_id, password))
    await registrar.wait_registered(20, after=done)

    assert zk.session_id != old_session
    assert registrar.registered_session == zk.session_id
    assert registrar.broker_epoch > old_epoch  # a new czxid: a new broker epoch
    _, stat = await observer.get("/brokers/ids/4")
    assert stat.ephemeralOwner == zk.session_id


async def test_same_session_back_after_a_local_loss_re_registers(clients: NewClient) -> None:
    zk = await clients()
    registrar = BrokerRegistrar(zk, registration(6, 19092))
    await registrar.start()
    session, epoch, done = zk.session_id, registrar.broker_epoch, registrar.registrations
    # ZkClient's view of a long suspension the server survived: LOST (local), then CONNECTED
    zk._set_state(SessionEvent(SessionState.LOST, session, local=True))
    assert not registrar.registered
    zk._set_state(SessionEvent(SessionState.CONNECTED, session))
    await registrar.wait_registered(10, after=done)
    assert registrar.registered_session == session
    assert registrar.broker_epoch == epoch  # the same znode, adopted rather than recreated
    _, stat = await zk.get("/brokers/ids/6")
    assert stat.ephemeralOwner == session


async def test_closing_the_session_removes_the_registration(clients: NewClient) -> None:
    zk: ZkClient = await clients()
    observer: ZkClient = await clients()
    await BrokerRegistrar(zk, registration(5, 19092)).start()
    await zk.close()  # a crash or a clean stop: the session ends
    assert await observer.exists("/brokers/ids/5") is None
    # and the id is free for another broker
    await BrokerRegistrar(observer, registration(5, 19093)).start()


async def test_cluster_id_created_once_and_checked_against_meta_properties(
    clients: NewClient, tmp_path: Path
) -> None:
    a: ZkClient = await clients()
    b: ZkClient = await clients()
    cid = await get_or_create_cluster_id(a)
    assert len(cid) == 22
    assert await get_or_create_cluster_id(b, proposed="something-else") == cid  # read, not replaced
    data, _ = await b.get("/cluster/id")
    assert json.loads(data) == {"version": "1", "id": cid}

    fresh, same, other = tmp_path / "fresh", tmp_path / "same", tmp_path / "other"
    meta_properties.write(same, 0, cid)
    meta_properties.write(other, 0, "AAAAAAAAAAAAAAAAAAAAAA")
    check_cluster_id(cid, [fresh, same])  # no meta.properties yet, or a matching one: fine
    with pytest.raises(
        InconsistentClusterIdError, match="doesn't match stored clusterId AAAAAAAAAAAAAAAAAAAAAA"
    ):
        check_cluster_id(cid, [same, other])
