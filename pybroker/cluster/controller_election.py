"""Controller election through ZooKeeper, as Kafka 3.x's ZooKeeper-mode ``KafkaController.elect``.

Znodes (formats in :mod:`pybroker.cluster.zk_layout`)
    ``/controller``: ephemeral, owned by the active controller's session:
    ``{"version":2,"brokerid":N,"timestamp":"<ms>","kraftControllerEpoch":-1}``.
    ``/controller_epoch``: persistent decimal integer, created as ``0`` if absent.

Election (``KafkaZkClient.registerControllerAndIncrementControllerEpoch``)
    Read ``/controller_epoch`` (epoch ``e``, znode version ``v``), then one multi: create the
    ephemeral ``/controller`` *and* set ``/controller_epoch`` to ``e + 1`` conditionally on
    version ``v``. Both or neither happen, so exactly one candidate wins and every change of
    controller increments the epoch. The new znode version of ``/controller_epoch`` is the
    controller's *fence*: its later ZooKeeper writes are multis that start with
    :meth:`ControllerElection.fence` (a check of that version), so a deposed controller's writes
    fail. If the multi fails with NodeExists/BadVersion the candidate checks whether it won
    anyway (a retried multi after connection loss), like Kafka's ``checkControllerAndEpoch``.

Watching and resigning
    Every candidate keeps an ``exists`` watch on ``/controller`` and re-checks whenever it fires
    (or the session reconnects): absent means elect; another owner means "not me" (resigning
    if we thought we were). On session LOST (including a suspension longer than the session
    timeout, see :class:`~pybroker.cluster.zk_client.ZkClient`) the controller resigns at once:
    its ``/controller`` is gone or about to be. If after a local LOST the same session comes
    back still owning ``/controller``, the stale znode is deleted and a fresh election (new
    epoch) is held rather than silently resuming.

Sans-IO core: :class:`ElectionState` takes observations and returns :class:`Step` s; the
:class:`ControllerElection` driver does the ZooKeeper I/O and runs every re-check in one worker
task on the event loop, so observations never interleave. Callbacks (``on_elected(epoch)``,
``on_resigned()``) run on the loop and must not block.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import time
from collections.abc import Callable
from dataclasses import dataclass

from pybroker.cluster import zk_layout as L
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
    first_error,
)
from pybroker.logging import get_logger

log = get_logger("pybroker.cluster.controller")


class Step(enum.Enum):
    ELECT = "elect"  # /controller is absent: try to become the controller
    RESIGN = "resign"  # we were the controller and no longer are: run the resignation
    DELETE_STALE = "delete-stale"  # /controller is ours (same session) but we resigned: delete, re-elect


@dataclass
class ElectionState:
    """What one candidate believes about the controller (pure; no I/O)."""

    broker_id: int
    controller_id: int = L.NO_CONTROLLER
    is_controller: bool = False
    epoch: int = 0  # our tenure's controller epoch while is_controller
    epoch_zk_version: int = -1  # /controller_epoch's znode version for our tenure (the fence)

    def on_controller_znode(self, owner: int | None, owned_by_our_session: bool) -> list[Step]:
        """``/controller`` was read: ``owner`` is its broker id (None: absent)."""
        steps: list[Step] = []
        if owner is None:
            self.controller_id = L.NO_CONTROLLER
            if self.is_controller:
                steps.append(self._resign())
            steps.append(Step.ELECT)
            return steps
        self.controller_id = owner
        ours = owner == self.broker_id and owned_by_our_session
        if self.is_controller and not ours:
            steps.append(self._resign())
        elif not self.is_controller and ours:
            steps.append(Step.DELETE_STALE)
        return steps

    def on_elected(self, epoch: int, epoch_zk_version: int) -> None:
        self.is_controller = True
        self.controller_id = self.broker_id
        self.epoch = epoch
        self.epoch_zk_version = epoch_zk_version

    def on_session_lost(self) -> list[Step]:
        self.controller_id = L.NO_CONTROLLER
        return [self._resign()] if self.is_controller else []

    def _resign(self) -> Step:
        self.is_controller = False
        self.epoch_zk_version = -1
        return Step.RESIGN


@dataclass(frozen=True, slots=True)
class ElectionResult:
    won: bool
    epoch: int = 0
    epoch_zk_version: int = -1


class ControllerElection:
    """One broker's candidacy (see the module docstring)."""

    def __init__(
        self,
        zk: ZkClient,
        broker_id: int,
        *,
        on_elected: Callable[[int], None] | None = None,
        on_resigned: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.time,
        retry_backoff_s: float = 0.2,
        stop_timeout_s: float = 2.0,
    ) -> None:
        self.zk = zk
        self.state = ElectionState(broker_id)
        self.stop_timeout_s = stop_timeout_s
        self._on_elected = on_elected
        self._on_resigned = on_resigned
        self._clock = clock
        self._retry_backoff_s = retry_backoff_s
        self._dirty = False
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._losses = 0  # session LOST events seen: an election spanning one must not claim
        self.elections_won = 0

    # -- observable state ----------------------------------------------------------------------

    @property
    def broker_id(self) -> int:
        return self.state.broker_id

    @property
    def controller_id(self) -> int:
        """The active controller's broker id as last seen, or -1 (none / unknown)."""
        return self.state.controller_id

    @property
    def is_controller(self) -> bool:
        return self.state.is_controller

    @property
    def epoch(self) -> int:
        return self.state.epoch

    def fence(self) -> CheckOp:
        """The op to put first in a controller's multi: fails once another controller was elected."""
        if not self.state.is_controller:
            raise RuntimeError(f"broker {self.broker_id} is not the controller")
        return CheckOp(L.CONTROLLER_EPOCH, self.state.epoch_zk_version)

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self, settle_timeout: float = 10.0) -> None:
        """Join the election and wait (bounded) for the first check to finish."""
        self.zk.add_session_listener(self._on_session)
        self._worker = asyncio.get_running_loop().create_task(self._run())
        self._kick()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), settle_timeout)

    async def stop(self, *, delete_znode: bool = True) -> None:
        """Leave the election. With ``delete_znode`` a controller deletes its ``/controller`` so
        the others take over now (without it, closing the session will)."""
        self.zk.remove_session_listener(self._on_session)
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        if delete_znode and self.state.is_controller and self.zk.connected:
            # best effort and bounded: if ZooKeeper is unreachable, the session's end removes it
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self.stop_timeout_s):
                    await self._delete_own_controller_znode()
        self._apply(self.state.on_session_lost())

    async def _delete_own_controller_znode(self) -> None:
        got = await self.zk.get_or_none(L.CONTROLLER)
        if got is not None and got[1].ephemeralOwner == self.zk.session_id:
            await self.zk.delete(L.CONTROLLER, got[1].version)

    # -- events (on the loop) ------------------------------------------------------------------

    def _on_session(self, event: SessionEvent) -> None:
        if event.state is SessionState.LOST:
            self._losses += 1
            if self.state.is_controller:
                log.warning("zookeeper session lost: resigning as controller", broker_id=self.broker_id)
            self._apply(self.state.on_session_lost())
        elif event.state is SessionState.CONNECTED:
            self._kick()  # watches do not survive a dropped connection: re-arm and re-check

    def _on_watch(self, event: WatchEvent) -> None:
        if event.type != "NONE":  # NONE: the connection dropped; CONNECTED will re-check
            self._kick()

    def _kick(self) -> None:
        self._dirty = True
        self._idle.clear()
        self._wake.set()

    def _apply(self, steps: list[Step]) -> None:
        """Run the steps that need no I/O (resignation callbacks)."""
        for step in steps:
            if step is Step.RESIGN:
                log.info("resigned as controller", broker_id=self.broker_id)
                if self._on_resigned is not None:
                    try:
                        self._on_resigned()
                    except Exception:
                        log.exception("on_resigned callback failed")

    # -- the worker ----------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._dirty and self.zk.connected:
                self._dirty = False
                try:
                    await self._reconcile()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("controller election check failed; retrying", error=repr(exc))
                    self._dirty = True
                    await asyncio.sleep(self._retry_backoff_s)
            if not self._dirty or not self.zk.connected:
                self._idle.set()

    async def _reconcile(self) -> None:
        losses, session = self._losses, self.zk.session_id
        stat = await self.zk.exists(L.CONTROLLER, watch=self._on_watch)
        owner: int | None = None
        owned = False
        version = -1
        if stat is not None:
            got = await self.zk.get_or_none(L.CONTROLLER)
            if got is None:
                self._dirty = True  # deleted in between; the watch fires too
                return
            data, stat = got
            owner = L.decode_controller(data).broker_id
            owned = stat.ephemeralOwner == session
            version = stat.version
        if losses != self._losses or self.zk.session_id != session:
            self._dirty = True  # the session changed while we looked: look again
            return
        steps = self.state.on_controller_znode(owner, owned)
        self._apply(steps)
        if Step.DELETE_STALE in steps:
            log.info("deleting our stale /controller from before a session loss", broker_id=self.broker_id)
            with contextlib.suppress(NoNodeError, BadVersionError):
                await self.zk.delete(L.CONTROLLER, version)
            self._dirty = True
        elif Step.ELECT in steps:
            result = await self._try_elect()
            if not result.won:
                self._dirty = True  # learn who won (and re-arm the watch)
            elif losses != self._losses or self.zk.session_id != session:
                self._dirty = True  # won under a session since lost: not ours to claim
            else:
                self.state.on_elected(result.epoch, result.epoch_zk_version)
                self.elections_won += 1
                log.info("elected controller", broker_id=self.broker_id, epoch=result.epoch)
                if self._on_elected is not None:
                    try:
                        self._on_elected(result.epoch)
                    except Exception:
                        log.exception("on_elected callback failed")

    async def _read_epoch(self) -> tuple[int, int]:
        """(epoch, znode version) of ``/controller_epoch``, creating it as ``0`` if absent."""
        got = await self.zk.get_or_none(L.CONTROLLER_EPOCH)
        if got is None:
            try:
                await self.zk.create(
                    L.CONTROLLER_EPOCH, L.encode_controller_epoch(L.INITIAL_CONTROLLER_EPOCH)
                )
                return L.INITIAL_CONTROLLER_EPOCH, L.INITIAL_CONTROLLER_EPOCH_ZK_VERSION
            except NodeExistsError:
                got = await self.zk.get(L.CONTROLLER_EPOCH)
        data, stat = got
        return L.decode_controller_epoch(data), stat.version

    async def _try_elect(self) -> ElectionResult:
        epoch, epoch_version = await self._read_epoch()
        new_epoch = epoch + 1
        controller = L.encode_controller(self.broker_id, int(self._clock() * 1000))
        results = await self.zk.multi(
            [
                CreateOp(L.CONTROLLER, controller, ephemeral=True),
                SetDataOp(L.CONTROLLER_EPOCH, L.encode_controller_epoch(new_epoch), epoch_version),
            ]
        )
        error = first_error(results)
        if error is None:
            return ElectionResult(True, new_epoch, results[1].version)
        if not isinstance(error, NodeExistsError | BadVersionError):
            raise error
        # Kafka's checkControllerAndEpoch: did an earlier attempt of this very multi succeed?
        got = await self.zk.get_or_none(L.CONTROLLER)
        if (
            got is not None
            and L.decode_controller(got[0]).broker_id == self.broker_id
            and got[1].ephemeralOwner == self.zk.session_id
        ):
            data, stat = await self.zk.get(L.CONTROLLER_EPOCH)
            if L.decode_controller_epoch(data) == new_epoch:
                return ElectionResult(True, new_epoch, stat.version)
        return ElectionResult(False)
