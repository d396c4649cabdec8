"""Leader-side follower tracking: caught-up times, high watermark, ISR expansion and shrink."""

from __future__ import annotations

from pybroker.replication.isr import LeaderReplicaTracker


def tracker(isr: tuple[int, ...] = (1, 2, 3), hw: int = 0) -> LeaderReplicaTracker:
    return LeaderReplicaTracker(1, [1, 2, 3], isr, hw, leader_epoch_start_offset=0, now_ms=0)


def test_high_watermark_is_the_lowest_isr_log_end_and_never_decreases() -> None:
    t = tracker()
    assert t.on_follower_fetch(2, 10, leader_leo=10, now_ms=1)
    assert t.on_follower_fetch(3, 7, leader_leo=10, now_ms=1)
    assert t.maybe_advance_high_watermark(10)
    assert t.high_watermark == 7
    assert t.on_follower_fetch(3, 5, leader_leo=10, now_ms=2)  # a follower that truncated
    assert not t.maybe_advance_high_watermark(10)
    assert t.high_watermark == 7


def test_unknown_replica_fetch_is_refused() -> None:
    assert not tracker().on_follower_fetch(9, 0, leader_leo=0, now_ms=0)


def test_lagging_follower_leaves_and_rejoins_the_isr() -> None:
    t = tracker()
    t.on_follower_fetch(2, 100, leader_leo=100, now_ms=1_000)
    t.on_follower_fetch(3, 50, leader_leo=100, now_ms=1_000)  # behind, not caught up
    assert t.out_of_sync(now_ms=20_000, max_lag_ms=30_000) == []
    assert t.out_of_sync(now_ms=30_001, max_lag_ms=30_000) == [3]  # caught up last at start (0)
    t.isr.discard(3)
    t.maybe_advance_high_watermark(100)
    assert t.high_watermark == 100  # without 3, the ISR is at 100
    t.on_follower_fetch(3, 90, leader_leo=120, now_ms=31_000)
    assert t.isr_candidates() == []  # below the high watermark
    t.on_follower_fetch(3, 110, leader_leo=120, now_ms=32_000)
    assert t.isr_candidates() == [3]


def test_caught_up_to_the_previous_fetch_counts_from_that_fetch() -> None:
    t = tracker()
    t.on_follower_fetch(2, 10, leader_leo=20, now_ms=5_000)  # behind at 5s; leader was at 20
    t.on_follower_fetch(2, 20, leader_leo=30, now_ms=9_000)  # reached 20: caught up as of 5s
    assert t.followers[2].last_caught_up_ms == 5_000
    t.on_follower_fetch(2, 30, leader_leo=30, now_ms=10_000)
    assert t.followers[2].last_caught_up_ms == 10_000


def test_expansion_waits_for_the_leader_epoch_start() -> None:
    t = LeaderReplicaTracker(1, [1, 2], [1], high_watermark=5, leader_epoch_start_offset=8, now_ms=0)
    t.on_follower_fetch(2, 6, leader_leo=10, now_ms=1)
    assert t.isr_candidates() == []
    t.on_follower_fetch(2, 8, leader_leo=10, now_ms=2)
    assert t.isr_candidates() == [2]


def test_reassignment_updates_followers() -> None:
    t = tracker()
    t.update_replicas([1, 3, 4], [1, 3], now_ms=100)
    assert set(t.followers) == {3, 4}
    assert t.isr == {1, 3}
