"""Incremental fetch sessions (KIP-227), as Kafka's ``FetchSession`` / ``FetchSessionCache``.

A client opens a session with a full fetch (epoch 0) and then sends incremental fetches that
list only the partitions whose fetch position changed, plus partitions to forget. The broker
remembers the session's partitions and answers an incremental fetch with only the partitions
that have something new: records, an error, or a changed high watermark, last stable offset or
log start offset.

Epochs: ``-1`` is a sessionless full fetch (a non-zero session id with epoch -1 closes that
session); ``0`` is a full fetch that (re)creates a session; ``n > 0`` must equal the session's
expected epoch, which advances by one per fetch (wrapping from 2^31-1 to 1).

The cache is bounded by ``max.incremental.fetch.session.cache.slots`` (counted in sessions here,
where Kafka weighs them by partition count) and evicts the least recently used session when
full. Owned by the event loop; no locking.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

from protocol.error_codes import ErrorCode

INITIAL_EPOCH = 0
FINAL_EPOCH = -1
INVALID_SESSION_ID = 0

PartitionKey = Hashable  # (topic name or id, partition index)


@dataclass(slots=True)
class SessionPartition:
    """What the session remembers of one partition: the client's position and what it was told."""

    fetch_offset: int
    max_bytes: int
    log_start_offset: int
    current_leader_epoch: int
    last_fetched_epoch: int = -1
    last_high_watermark: int = -1
    last_stable_offset: int = -1
    last_log_start_offset: int = -1


@dataclass(slots=True)
class PartitionRequest:
    key: PartitionKey
    fetch_offset: int
    max_bytes: int
    log_start_offset: int
    current_leader_epoch: int
    last_fetched_epoch: int = -1


class FetchSession:
    """One session: its id, next expected epoch and partitions in fetch order."""

    __slots__ = ("epoch", "id", "partitions")

    def __init__(self, session_id: int) -> None:
        self.id = session_id
        self.epoch = 1
        self.partitions: OrderedDict[PartitionKey, SessionPartition] = OrderedDict()

    def update(self, requests: Iterable[PartitionRequest], forgotten: Iterable[PartitionKey]) -> None:
        for req in requests:
            entry = self.partitions.get(req.key)
            if entry is None:
                self.partitions[req.key] = SessionPartition(
                    req.fetch_offset,
                    req.max_bytes,
                    req.log_start_offset,
                    req.current_leader_epoch,
                    req.last_fetched_epoch,
                )
            else:
                entry.fetch_offset = req.fetch_offset
                entry.max_bytes = req.max_bytes
                entry.log_start_offset = req.log_start_offset
                entry.current_leader_epoch = req.current_leader_epoch
                entry.last_fetched_epoch = req.last_fetched_epoch
        for key in forgotten:
            self.partitions.pop(key, None)

    def next_epoch(self) -> None:
        self.epoch = 1 if self.epoch >= 2**31 - 1 else self.epoch + 1

    def should_send(
        self, key: PartitionKey, has_records: bool, error: int, high_watermark: int, lso: int, log_start: int
    ) -> bool:
        """Record what the response tells the client; True if the partition must be included."""
        entry = self.partitions.get(key)
        if entry is None:
            return True
        changed = (
            entry.last_high_watermark != high_watermark
            or entry.last_stable_offset != lso
            or entry.last_log_start_offset != log_start
        )
        entry.last_high_watermark = high_watermark
        entry.last_stable_offset = lso
        entry.last_log_start_offset = log_start
        if has_records:
            # round-robin fairness: partitions that returned data go to the back of the line
            self.partitions.move_to_end(key)
        return has_records or error != ErrorCode.NONE or changed


class FetchSessionError(Exception):
    def __init__(self, code: ErrorCode) -> None:
        super().__init__(code.name)
        self.code = code


class FetchSessionCache:
    """Live sessions by id, least recently used first."""

    def __init__(self, max_sessions: int, rng: random.Random | None = None) -> None:
        self.max_sessions = max_sessions
        self.sessions: OrderedDict[int, FetchSession] = OrderedDict()
        self._rng = rng or random.Random()

    def _new_id(self) -> int:
        while True:
            session_id = self._rng.randint(1, 2**31 - 1)
            if session_id not in self.sessions:
                return session_id

    def open(self, session_id: int, epoch: int, requests: list[PartitionRequest]) -> FetchSession | None:
        """Handle the session part of a full fetch (epoch 0 or -1).

        Closes ``session_id`` if given; for epoch 0 creates a new session holding ``requests``
        (None if sessions are disabled). For epoch -1 returns None: the fetch is sessionless.
        """
        if session_id != INVALID_SESSION_ID:
            self.sessions.pop(session_id, None)
        if epoch != INITIAL_EPOCH or self.max_sessions <= 0:
            return None
        if len(self.sessions) >= self.max_sessions:
            self.sessions.popitem(last=False)
        session = FetchSession(self._new_id())
        session.update(requests, ())
        self.sessions[session.id] = session
        return session

    def resume(
        self, session_id: int, epoch: int, requests: list[PartitionRequest], forgotten: list[PartitionKey]
    ) -> FetchSession:
        """An incremental fetch: validate id and epoch, apply the changes, advance the epoch."""
        session = self.sessions.get(session_id)
        if session is None:
            raise FetchSessionError(ErrorCode.FETCH_SESSION_ID_NOT_FOUND)
        if session.epoch != epoch:
            raise FetchSessionError(ErrorCode.INVALID_FETCH_SESSION_EPOCH)
        session.update(requests, forgotten)
        session.next_epoch()
        self.sessions.move_to_end(session_id)
        return session

    def remove(self, session_id: int) -> None:
        self.sessions.pop(session_id, None)
