"""Leader-side replica tracking: follower progress, high watermark and ISR changes.

Kafka's ``Partition``/``Replica`` bookkeeping for a partition this broker leads, sans-IO: the
caller feeds follower fetches and the clock, and acts on what this returns (persisting an ISR
change through the controller's store, completing parked acks=all produces).

Rules (Kafka 3.9):

* A follower fetching at offset ``o`` has log end offset ``o``. It is *caught up* at the fetch
  time if ``o`` reaches the leader's log end offset at that time, or at its previous fetch time
  if ``o`` reaches what the leader's log end offset was at that previous fetch
  (``Replica.updateFetchStateOrThrow``).
* The high watermark is the smallest log end offset among the in-sync replicas (the leader
  included); it never moves backwards.
* An out-of-sync follower joins the ISR once its log end offset reaches the high watermark and
  the start of the leader's current epoch (``isFollowerInSync``, ``maybeExpandIsr``).
* A follower leaves the ISR when it has not been caught up for ``replica.lag.time.max.ms``
  (``getOutOfSyncReplicas``); the leader itself never does.

Owned by the leader's partition object on the event loop; no locking.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(slots=True)
class FollowerProgress:
    """What the leader knows of one follower's log (Kafka's ``ReplicaState``)."""

    broker_id: int
    log_end_offset: int = -1
    last_caught_up_ms: int = 0
    last_fetch_ms: int = 0
    last_fetch_leader_leo: int = -1


class LeaderReplicaTracker:
    """Follower progress and the derived high watermark and ISR for one led partition."""

    def __init__(
        self,
        leader_id: int,
        replicas: Iterable[int],
        isr: Iterable[int],
        high_watermark: int,
        leader_epoch_start_offset: int,
        now_ms: int,
    ) -> None:
        self.leader_id = leader_id
        self.isr: set[int] = set(isr) | {leader_id}
        self.high_watermark = high_watermark
        self.leader_epoch_start_offset = leader_epoch_start_offset
        # followers start as caught up "now": a new leader gives them a full lag window
        self.followers: dict[int, FollowerProgress] = {
            r: FollowerProgress(r, last_caught_up_ms=now_ms, last_fetch_ms=now_ms)
            for r in replicas
            if r != leader_id
        }

    def update_replicas(self, replicas: Iterable[int], isr: Iterable[int], now_ms: int) -> None:
        """The controller changed the assignment or ISR (LeaderAndIsr for the same leader)."""
        wanted = {r for r in replicas if r != self.leader_id}
        for r in list(self.followers):
            if r not in wanted:
                del self.followers[r]
        for r in wanted - set(self.followers):
            self.followers[r] = FollowerProgress(r, last_caught_up_ms=now_ms, last_fetch_ms=now_ms)
        self.isr = set(isr) | {self.leader_id}

    def on_follower_fetch(self, replica_id: int, fetch_offset: int, leader_leo: int, now_ms: int) -> bool:
        """Record a follower fetch; True if it is a known replica (else the fetch is refused)."""
        progress = self.followers.get(replica_id)
        if progress is None:
            return False
        if fetch_offset >= leader_leo:
            progress.last_caught_up_ms = now_ms
        elif fetch_offset >= progress.last_fetch_leader_leo >= 0:
            progress.last_caught_up_ms = max(progress.last_caught_up_ms, progress.last_fetch_ms)
        progress.log_end_offset = fetch_offset
        progress.last_fetch_ms = now_ms
        progress.last_fetch_leader_leo = leader_leo
        return True

    def isr_candidates(self) -> list[int]:
        """Out-of-sync followers that have caught up and should join the ISR."""
        return sorted(
            r
            for r, p in self.followers.items()
            if r not in self.isr
            and p.log_end_offset >= self.high_watermark
            and p.log_end_offset >= self.leader_epoch_start_offset
        )

    def out_of_sync(self, now_ms: int, max_lag_ms: int) -> list[int]:
        """In-sync followers that have not caught up within ``max_lag_ms``."""
        return sorted(
            r
            for r in self.isr
            if r != self.leader_id
            and (r not in self.followers or now_ms - self.followers[r].last_caught_up_ms > max_lag_ms)
        )

    def maybe_advance_high_watermark(self, leader_leo: int) -> bool:
        """Move the high watermark to the smallest ISR log end offset; True if it moved."""
        lowest = leader_leo
        for r in self.isr:
            if r != self.leader_id:
                progress = self.followers.get(r)
                lowest = min(lowest, progress.log_end_offset if progress is not None else -1)
        if lowest > self.high_watermark:
            self.high_watermark = lowest
            return True
        return False
