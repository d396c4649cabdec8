"""A thin asyncio wrapper over kazoo: the only module that touches kazoo's threads.

Threading model
    kazoo runs its own threads: a connection thread (socket I/O, session state) and a
    completion thread (results of ``*_async`` calls and watch callbacks). Nothing of ours runs
    on them except tiny trampolines that hand work to the event loop with
    ``loop.call_soon_threadsafe``:

    * every operation is one of kazoo's ``*_async`` calls; its ``IAsyncResult`` is linked to an
      ``asyncio.Future`` that is settled *on the loop*, so coroutines simply ``await`` it;
    * watch callbacks are wrapped: the kazoo thread posts a :class:`WatchEvent` to the loop and
      the caller's callback runs there;
    * session state changes (kazoo's CONNECTED/SUSPENDED/LOST listener) are posted to the loop
      as :class:`SessionEvent` and fanned out to :meth:`ZkClient.add_session_listener`
      callbacks, in the order kazoo saw them.

    The blocking calls (``start``, ``stop``, ``close``, creating the chroot, the recursive
    delete) run in the loop's default executor. All public state (``state``, ``session_id``) is owned by the loop and
    changes only in callbacks running there, so loop code needs no locks.

Session semantics
    CONNECTED carries the live session id; callers compare it with the session their ephemeral
    znodes were created under (a new id means the old ones are gone). SUSPENDED means the
    connection dropped and the session may or may not survive. LOST means the session is gone:
    kazoo reports it when the server says so on reconnection, and this client also declares it
    *locally* (``SessionEvent.local``) when a suspension outlasts the session timeout, because
    the server has expired the session by then and another broker may already hold our
    ephemeral znodes' names. A local LOST may be followed by CONNECTED with the *same* session
    id if the server turns out to have kept it (e.g. ZooKeeper itself was down); callers then
    still treat their earlier claims as void and re-establish them.

Requests are retried on connection loss until the connection is back (as Kafka's
``retryRequestUntilConnected``), bounded by ``request_timeout_ms`` (:class:`ZkTimeoutError`; a
request given up on may still be applied if kazoo sends it after reconnecting). Session expiry
and the other ZooKeeper errors propagate as kazoo's exceptions, re-exported here.

The connect string is ZooKeeper's ``host:port[,host:port...][/chroot]``; as Kafka does, a missing
chroot is created (through a short-lived chroot-less session) before the real session starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kazoo.client import KazooClient
from kazoo.exceptions import (
    BadVersionError,
    ConnectionClosedError,
    ConnectionLoss,
    NodeExistsError,
    NoNodeError,
    NotEmptyError,
    OperationTimeoutError,
    RolledBackError,
    RuntimeInconsistency,
    SessionExpiredError,
    ZookeeperError,
)
from kazoo.protocol.states import KazooState, ZnodeStat
from kazoo.retry import KazooRetry

from pybroker.logging import get_logger

__all__ = [
    "BadVersionError",
    "CheckOp",
    "ConnectionClosedError",
    "ConnectionLoss",
    "CreateOp",
    "DeleteOp",
    "NoNodeError",
    "NodeExistsError",
    "NotEmptyError",
    "Op",
    "SessionEvent",
    "SessionExpiredError",
    "SessionState",
    "SetDataOp",
    "WatchEvent",
    "ZkClient",
    "ZkTimeoutError",
    "ZnodeStat",
    "ZookeeperError",
    "first_error",
    "parse_connect",
]

log = get_logger("pybroker.cluster.zk")


class ZkTimeoutError(TimeoutError):
    """ZooKeeper could not be reached (or a request completed) within the configured time."""


class SessionState(enum.Enum):
    CONNECTED = "CONNECTED"
    SUSPENDED = "SUSPENDED"
    LOST = "LOST"


@dataclass(frozen=True, slots=True)
class SessionEvent:
    """A session state change, delivered on the event loop.

    ``session_id`` is the live session for CONNECTED, else the session that was suspended or
    lost. ``local`` marks a LOST declared by this client (suspended beyond the session timeout).
    """

    state: SessionState
    session_id: int | None
    local: bool = False


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """A fired watch: ``type`` is CREATED, DELETED, CHANGED, CHILD, or NONE (connection dropped:
    the watch is gone and nothing is known about the znode); ``path`` is chroot-relative."""

    type: str
    path: str | None


# -- multi-op descriptions (sans-IO; ZkClient.multi executes them) --------------------------


@dataclass(frozen=True, slots=True)
class CreateOp:
    path: str
    data: bytes = b""
    ephemeral: bool = False
    sequence: bool = False


@dataclass(frozen=True, slots=True)
class SetDataOp:
    path: str
    data: bytes
    version: int = -1


@dataclass(frozen=True, slots=True)
class CheckOp:
    path: str
    version: int


@dataclass(frozen=True, slots=True)
class DeleteOp:
    path: str
    version: int = -1


Op = CreateOp | SetDataOp | CheckOp | DeleteOp


def first_error(results: Sequence[object]) -> Exception | None:
    """The error that failed a multi (the others are kazoo's rolled-back placeholders)."""
    errors = [r for r in results if isinstance(r, Exception)]
    real = [e for e in errors if not isinstance(e, RolledBackError | RuntimeInconsistency)]
    if real:
        return real[0]
    return errors[0] if errors else None


def parse_connect(connect: str) -> tuple[str, str]:
    """Split ``hosts[/chroot]`` into the host list and the chroot ("" for none)."""
    hosts, slash, chroot = connect.strip().partition("/")
    if not hosts:
        raise ValueError(f"zookeeper.connect {connect!r} names no host")
    chroot = ("/" + chroot).rstrip("/") if slash else ""
    if "//" in chroot:
        raise ValueError(f"zookeeper.connect {connect!r}: invalid chroot {chroot!r}")
    return hosts, chroot


SessionListener = Callable[[SessionEvent], None]
WatchCallback = Callable[[WatchEvent], None]


class ZkClient:
    """An asyncio ZooKeeper session (see the module docstring).

    Single use (``start`` once, ``close`` once) and from one event loop only. kazoo reconnects
    by itself, with new sessions after expiry, until ``close``."""

    def __init__(
        self,
        connect: str,
        *,
        session_timeout_ms: int = 18000,
        connection_timeout_ms: int | None = None,
        request_timeout_ms: int | None = None,
        create_chroot: bool = True,
    ) -> None:
        self.connect_string = connect
        self.hosts, self.chroot = parse_connect(connect)
        self.session_timeout_ms = session_timeout_ms
        self.connection_timeout_ms = connection_timeout_ms or session_timeout_ms
        self.request_timeout_ms = request_timeout_ms or max(session_timeout_ms, self.connection_timeout_ms)
        self._create_chroot = create_chroot
        self._loop: asyncio.AbstractEventLoop | None = None
        self._kazoo: KazooClient | None = None
        self._state = SessionState.LOST
        self._session_id: int | None = None
        self._connected = asyncio.Event()
        self._listeners: list[SessionListener] = []
        self._watch_bridges: dict[WatchCallback, Callable[[Any], None]] = {}
        self._expiry_timer: asyncio.TimerHandle | None = None
        self._closed = False

    # -- state (loop-owned) ------------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        return self._state

    @property
    def connected(self) -> bool:
        return self._state is SessionState.CONNECTED

    @property
    def session_id(self) -> int | None:
        """The live session's id while CONNECTED, else None."""
        return self._session_id if self._state is SessionState.CONNECTED else None

    @property
    def kazoo(self) -> KazooClient:
        """The underlying kazoo client (tests; never call its blocking methods on the loop)."""
        if self._kazoo is None:
            raise ConnectionClosedError("not started")
        return self._kazoo

    def add_session_listener(self, listener: SessionListener) -> None:
        self._listeners.append(listener)

    def remove_session_listener(self, listener: SessionListener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    async def wait_connected(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
        except TimeoutError:
            raise ZkTimeoutError(f"no ZooKeeper session with {self.hosts} after {timeout:.1f}s") from None

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Create the chroot if missing, open the session and wait until it is CONNECTED."""
        if self._kazoo is not None:
            raise RuntimeError("ZkClient.start called twice")
        loop = self._loop = asyncio.get_running_loop()
        connect_s = self.connection_timeout_ms / 1000
        if self.chroot and self._create_chroot:
            await loop.run_in_executor(None, self._ensure_chroot_blocking, connect_s)
        retry = KazooRetry(max_tries=-1, delay=0.05, backoff=1.5, max_jitter=0.2, max_delay=1.0)
        self._kazoo = KazooClient(
            hosts=self.connect_string,
            timeout=self.session_timeout_ms / 1000,
            connection_retry=retry,
        )
        self._kazoo.add_listener(self._on_kazoo_state)
        try:
            await loop.run_in_executor(None, self._kazoo.start, connect_s)
            await self.wait_connected(connect_s)
        except Exception as exc:
            await self.close()
            if isinstance(exc, ZkTimeoutError):
                raise
            raise ZkTimeoutError(
                f"could not connect to ZooKeeper at {self.hosts} within {connect_s:.1f}s"
            ) from exc
        log.info(
            "zookeeper session started", hosts=self.hosts, chroot=self.chroot, session=self._hex_session()
        )

    def _ensure_chroot_blocking(self, connect_s: float) -> None:
        """Kafka's ``createChrootIfNecessary``: a chroot-less session creates the path (executor)."""
        admin = KazooClient(hosts=self.hosts, timeout=self.session_timeout_ms / 1000)
        try:
            admin.start(timeout=connect_s)
        except Exception as exc:
            admin.close()
            raise ZkTimeoutError(
                f"could not connect to ZooKeeper at {self.hosts} within {connect_s:.1f}s"
            ) from exc
        try:
            admin.ensure_path(self.chroot)
        finally:
            admin.stop()
            admin.close()

    async def close(self) -> None:
        """End the session (its ephemeral znodes go at once) and release kazoo's threads.

        Listeners get a final LOST event first (unless the session was already lost)."""
        if self._closed:
            return
        self._cancel_expiry_timer()
        if self._state is not SessionState.LOST:  # listeners learn that their claims are void
            self._set_state(SessionEvent(SessionState.LOST, self._session_id))
        self._closed = True
        kz, self._kazoo = self._kazoo, None
        if kz is None:
            return
        kz.remove_listener(self._on_kazoo_state)
        loop = asyncio.get_running_loop()
        with contextlib.suppress(Exception):
            await loop.run_in_executor(None, kz.stop)
        with contextlib.suppress(Exception):
            await loop.run_in_executor(None, kz.close)

    def _hex_session(self) -> str:
        return f"0x{self._session_id:x}" if self._session_id is not None else "none"

    # -- kazoo thread -> loop ------------------------------------------------------------------

    def _post(self, fn: Callable[..., None], *args: Any) -> None:
        """Run ``fn(*args)`` on the loop; called from kazoo's threads. Dropped once closed."""
        loop = self._loop
        if loop is None or self._closed:
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is listening
            loop.call_soon_threadsafe(fn, *args)

    def _on_kazoo_state(self, state: str) -> None:
        """kazoo's listener, on kazoo's connection thread: must not block."""
        kz = self._kazoo
        client_id = kz.client_id if kz is not None and state == KazooState.CONNECTED else None
        self._post(self._on_state, state, client_id[0] if client_id else None)

    def _on_state(self, kazoo_state: str, session_id: int | None) -> None:
        """On the loop: translate kazoo's state into ours and notify listeners."""
        if self._closed:
            return
        if kazoo_state == KazooState.CONNECTED:
            self._cancel_expiry_timer()
            self._session_id = session_id
            self._set_state(SessionEvent(SessionState.CONNECTED, session_id))
        elif kazoo_state == KazooState.SUSPENDED:
            if self._state is SessionState.CONNECTED:
                assert self._loop is not None
                self._expiry_timer = self._loop.call_later(
                    self.session_timeout_ms / 1000, self._suspended_too_long
                )
                self._set_state(SessionEvent(SessionState.SUSPENDED, self._session_id))
        elif kazoo_state == KazooState.LOST:
            self._cancel_expiry_timer()
            if self._state is not SessionState.LOST:
                self._set_state(SessionEvent(SessionState.LOST, self._session_id))

    def _suspended_too_long(self) -> None:
        self._expiry_timer = None
        if self._state is SessionState.SUSPENDED and not self._closed:
            log.warning(
                "zookeeper connection down longer than the session timeout: session presumed lost",
                session=self._hex_session(),
                session_timeout_ms=self.session_timeout_ms,
            )
            self._set_state(SessionEvent(SessionState.LOST, self._session_id, local=True))

    def _cancel_expiry_timer(self) -> None:
        if self._expiry_timer is not None:
            self._expiry_timer.cancel()
            self._expiry_timer = None

    def _set_state(self, event: SessionEvent) -> None:
        self._state = event.state
        if event.state is SessionState.CONNECTED:
            self._connected.set()
        else:
            self._connected.clear()
        log.info(
            "zookeeper session state", state=event.state.value, session=self._hex_session(), local=event.local
        )
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("zookeeper session listener failed")

    def _bridge_watch(self, callback: WatchCallback | None) -> Callable[[Any], None] | None:
        """One kazoo-side trampoline per callback, so re-arming a watch does not duplicate it."""
        if callback is None:
            return None
        bridge = self._watch_bridges.get(callback)
        if bridge is None:

            def bridge(event: Any, _cb: WatchCallback = callback) -> None:  # a kazoo thread
                self._post(self._deliver_watch, _cb, WatchEvent(str(event.type), event.path))

            self._watch_bridges[callback] = bridge
        return bridge

    def _deliver_watch(self, callback: WatchCallback, event: WatchEvent) -> None:
        try:
            callback(event)
        except Exception:
            log.exception("zookeeper watch callback failed", path=event.path)

    async def _await_kazoo(self, async_result: Any) -> Any:
        """Await a kazoo ``IAsyncResult``: its completion is settled on the loop."""
        loop = self._loop
        assert loop is not None
        future: asyncio.Future[Any] = loop.create_future()

        def settle(result: Any) -> None:  # on the loop
            if future.done():
                return
            exc = result.exception
            if exc is not None:
                future.set_exception(exc)
            else:
                future.set_result(result.value)

        def done(result: Any) -> None:  # kazoo's completion thread
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(settle, result)

        async_result.rawlink(done)
        return await future

    async def _call(self, what: str, submit: Callable[[KazooClient], Any]) -> Any:
        """Submit (and on connection loss resubmit) a kazoo async call until it completes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.request_timeout_ms / 1000
        while True:
            kz = self._kazoo
            if kz is None or self._closed:
                raise ConnectionClosedError(f"{what}: the ZooKeeper client is closed")
            try:
                # kazoo queues a request while it reconnects and may never fail it, so bound
                # the wait; a request given up on may still reach the server later.
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation
                # that races the answer, which would hang whoever cancels this call
                async with asyncio.timeout(max(deadline - loop.time(), 0.001)):
                    return await self._await_kazoo(submit(kz))
            except TimeoutError:
                raise ZkTimeoutError(
                    f"{what}: no answer from ZooKeeper in {self.request_timeout_ms} ms"
                ) from None
            except (ConnectionLoss, OperationTimeoutError) as exc:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise ZkTimeoutError(
                        f"{what}: no ZooKeeper connection for {self.request_timeout_ms} ms"
                    ) from exc
                await asyncio.sleep(min(0.05, remaining))
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(deadline - loop.time(), 0.001)):
                        await self._connected.wait()

    # -- operations ----------------------------------------------------------------------------

    async def get(self, path: str, watch: WatchCallback | None = None) -> tuple[bytes, ZnodeStat]:
        w = self._bridge_watch(watch)
        data, stat = await self._call(f"get {path}", lambda kz: kz.get_async(path, watch=w))
        return data or b"", stat

    async def get_or_none(self, path: str) -> tuple[bytes, ZnodeStat] | None:
        try:
            return await self.get(path)
        except NoNodeError:
            return None

    async def exists(self, path: str, watch: WatchCallback | None = None) -> ZnodeStat | None:
        """The znode's stat, or None; a watch is set either way (fires on create/delete/change)."""
        w = self._bridge_watch(watch)
        stat: ZnodeStat | None = await self._call(f"exists {path}", lambda kz: kz.exists_async(path, watch=w))
        return stat

    async def get_children(self, path: str, watch: WatchCallback | None = None) -> list[str]:
        w = self._bridge_watch(watch)
        children: list[str] = await self._call(
            f"get_children {path}", lambda kz: kz.get_children_async(path, watch=w)
        )
        return children

    async def create(
        self,
        path: str,
        data: bytes = b"",
        *,
        ephemeral: bool = False,
        sequence: bool = False,
        makepath: bool = False,
    ) -> str:
        """Create a znode; returns its path (with the sequence suffix, if any).

        A retry after connection loss can meet the znode its own first attempt created
        (``NodeExistsError``): callers that care check the owner, as registration does.
        """
        created: str = await self._call(
            f"create {path}",
            lambda kz: kz.create_async(path, data, ephemeral=ephemeral, sequence=sequence, makepath=makepath),
        )
        return created

    async def set(self, path: str, data: bytes, version: int = -1) -> ZnodeStat:
        stat: ZnodeStat = await self._call(f"set {path}", lambda kz: kz.set_async(path, data, version))
        return stat

    async def delete(self, path: str, version: int = -1) -> None:
        await self._call(f"delete {path}", lambda kz: kz.delete_async(path, version))

    async def delete_recursive(self, path: str) -> None:
        """Delete a subtree (kazoo's blocking recursive delete, in the executor)."""
        kz = self.kazoo
        with contextlib.suppress(NoNodeError):
            await asyncio.get_running_loop().run_in_executor(None, lambda: kz.delete(path, recursive=True))

    async def ensure_path(self, path: str) -> None:
        """Create ``path`` and its missing parents as empty persistent znodes."""
        await self._call(f"ensure_path {path}", lambda kz: kz.ensure_path_async(path))

    async def multi(self, ops: Sequence[Op]) -> list[Any]:
        """Run ``ops`` atomically. Returns one entry per op: its result (path for a create, a
        stat for a set, True for check/delete) or, if the multi failed, an exception instance
        (see :func:`first_error`)."""

        def submit(kz: KazooClient) -> Any:
            tx = kz.transaction()
            for op in ops:
                if isinstance(op, CreateOp):
                    tx.create(op.path, op.data, ephemeral=op.ephemeral, sequence=op.sequence)
                elif isinstance(op, SetDataOp):
                    tx.set_data(op.path, op.data, op.version)
                elif isinstance(op, CheckOp):
                    tx.check(op.path, op.version)
                else:
                    tx.delete(op.path, op.version)
            return tx.commit_async()

        results: list[Any] = await self._call(f"multi {[type(o).__name__ for o in ops]}", submit)
        return results
