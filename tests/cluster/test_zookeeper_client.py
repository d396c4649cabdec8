"""ZkClient against a real ZooKeeper: chroot creation, operations, and the loop handoff."""

from __future__ import annotations

import asyncio
import threading

import pytest

from pybroker.cluster.zk_client import (
    BadVersionError,
    CheckOp,
    CreateOp,
    NodeExistsError,
    NoNodeError,
    SessionEvent,
    SessionState,
    SetDataOp,
    WatchEvent,
    ZkClient,
    ZkTimeoutError,
    first_error,
)
from tests.support.zookeeper import TcpCutter, ZooKeeperServer, expire_session, in_thread, wait_until

pytestmark = pytest.mark.timeout(60)


async def test_chroot_created_and_operations(
    zk_server: ZooKeeperServer, zk_chroot: str, zk_connect: str
) -> None:
    zk = ZkClient(zk_connect, session_timeout_ms=6000, connection_timeout_ms=10000)
    await zk.start()
    try:
        assert zk.connected and zk.session_id is not None
        assert zk.chroot == zk_chroot
        await zk.create("/a/b", b"x", makepath=True)
        data, stat = await zk.get("/a/b")
        assert data == b"x" and stat.version == 0
        stat = await zk.set("/a/b", b"y", version=0)
        assert stat.version == 1
        with pytest.raises(BadVersionError):
            await zk.set("/a/b", b"z", version=0)
        with pytest.raises(NodeExistsError):
            await zk.create("/a/b")
        with pytest.raises(NoNodeError):
            await zk.get("/missing")
        assert await zk.get_or_none("/missing") is None
        assert await zk.exists("/missing") is None
        assert await zk.get_children("/a") == ["b"]
        await zk.ensure_path("/x/y/z")
        assert await zk.exists("/x/y/z") is not None

        ok = await zk.multi([CheckOp("/a/b", 1), SetDataOp("/a/b", b"w", 1), CreateOp("/a/c", b"c")])
        assert first_error(ok) is None and ok[2] == "/a/c"
        failed = await zk.multi([CreateOp("/a/d"), SetDataOp("/a/b", b"v", 99)])
        assert isinstance(first_error(failed), BadVersionError)
        assert await zk.exists("/a/d") is None  # all or nothing

        # the chroot is real: an outside client sees the znodes under it
        def outside() -> bytes:
            admin = zk_server.client()
            try:
                return bytes(admin.get(zk_chroot + "/a/b")[0])
            finally:
                admin.stop()
                admin.close()

        assert await in_thread(outside) == b"w"
        await zk.delete_recursive("/x")
        assert await zk.exists("/x") is None
    finally:
        await zk.close()
    assert not zk.connected


async def test_watches_and_session_events_run_on_the_loop(
    zk_server: ZooKeeperServer, zk_connect: str
) -> None:
    loop_thread = threading.get_ident()
    seen: list[tuple[WatchEvent, int]] = []
    sessions: list[tuple[SessionEvent, int]] = []
    zk = ZkClient(zk_connect, session_timeout_ms=4000, connection_timeout_ms=10000)
    zk.add_session_listener(lambda ev: sessions.append((ev, threading.get_ident())))
    await zk.start()
    try:
        first_session = zk.session_id

        def on_watch(ev: WatchEvent) -> None:
            seen.append((ev, threading.get_ident()))

        assert await zk.exists("/w", watch=on_watch) is None
        await zk.create("/w", b"1")
        await wait_until(lambda: len(seen) == 1, 10, "the CREATED watch")
        assert seen[0][0] == WatchEvent("CREATED", "/w")  # chroot-relative path
        await zk.get("/w", watch=on_watch)
        await zk.get("/w", watch=on_watch)  # re-arming with the same callback does not duplicate
        await zk.set("/w", b"2")
        await wait_until(lambda: len(seen) == 2, 10, "the CHANGED watch")
        await asyncio.sleep(0.2)
        assert [e.type for e, _ in seen] == ["CREATED", "CHANGED"]
        assert all(tid == loop_thread for _, tid in seen)

        # expire the session from outside: LOST, then CONNECTED with a new session, on the loop
        kz = zk.kazoo
        session_id, password = kz.client_id
        await in_thread(lambda: expire_session(zk_server.hosts, session_id, password))
        await wait_until(
            lambda: zk.connected and zk.session_id not in (None, first_session), 20, "a new session"
        )
        states = [ev.state for ev, _ in sessions]
        assert SessionState.LOST in states and states[-1] is SessionState.CONNECTED
        assert all(tid == loop_thread for _, tid in sessions)
        assert await zk.get("/w") is not None  # usable again
    finally:
        await zk.close()


async def test_suspension_longer_than_session_timeout_is_declared_lost(
    zk_server: ZooKeeperServer, zk_chroot: str
) -> None:
    cutter = TcpCutter((zk_server.host, zk_server.port))
    events: list[SessionEvent] = []
    zk = ZkClient(cutter.hosts + zk_chroot, session_timeout_ms=1500, connection_timeout_ms=10000)
    zk.add_session_listener(events.append)
    await zk.start()
    try:
        cutter.cut()
        await wait_until(lambda: zk.state is SessionState.SUSPENDED, 10, "SUSPENDED")
        with pytest.raises(ZkTimeoutError):
            await _get_with_short_timeout(zk)  # kazoo would queue it until reconnected
        await wait_until(lambda: zk.state is SessionState.LOST, 10, "a local LOST")
        assert events[-1].state is SessionState.LOST and events[-1].local
        cutter.heal()
        await wait_until(lambda: zk.connected, 20, "reconnection")
        assert [e.state for e in events][-1] is SessionState.CONNECTED
    finally:
        await zk.close()
        cutter.close()


async def _get_with_short_timeout(zk: ZkClient) -> object:
    zk.request_timeout_ms, saved = 300, zk.request_timeout_ms
    try:
        return await zk.get("/")
    finally:
        zk.request_timeout_ms = saved


async def test_unreachable_server_times_out_cleanly() -> None:
    from tests.support.zookeeper import free_port

    zk = ZkClient(f"127.0.0.1:{free_port()}", session_timeout_ms=2000, connection_timeout_ms=1000)
    with pytest.raises(ZkTimeoutError):
        await zk.start()
    assert not zk.connected
