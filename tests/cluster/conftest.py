"""ZooKeeper fixtures: one private server per test session, one chroot per test; a three-broker
cluster on that chroot (``cluster3``)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.cluster import BrokerCluster
from tests.support.zookeeper import ZooKeeperServer, in_thread, java_available


@pytest.fixture(scope="session")
def zk_server() -> Iterator[ZooKeeperServer]:
    if not java_available():
        pytest.skip("java and Debian's zookeeper package are needed for the ZooKeeper tests")
    server = ZooKeeperServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def zk_chroot(zk_server: ZooKeeperServer) -> AsyncIterator[str]:
    """A fresh chroot (``/t-<uuid>``, not yet created); deleted with its subtree afterwards."""
    chroot = f"/t-{uuid.uuid4().hex[:12]}"
    yield chroot

    def cleanup() -> None:
        admin = zk_server.client()
        try:
            with contextlib.suppress(Exception):
                admin.delete(chroot, recursive=True)
        finally:
            admin.stop()
            admin.close()

    await in_thread(cleanup)


@pytest.fixture
def zk_connect(zk_server: ZooKeeperServer, zk_chroot: str) -> str:
    """``127.0.0.1:<port>/t-<uuid>``: a connect string with this test's chroot."""
    return zk_server.hosts + zk_chroot


@pytest.fixture
def cluster3(zk_server: ZooKeeperServer, zk_chroot: str, tmp_path: Path) -> Iterator[BrokerCluster]:
    """Three brokers (ids 1-3) in ZooKeeper mode on this test's chroot; killed afterwards."""
    cluster = BrokerCluster(zk_server, zk_chroot, tmp_path / "cluster", size=3).start()
    try:
        yield cluster
    finally:
        cluster.close()
