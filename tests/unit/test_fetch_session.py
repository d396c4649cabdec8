"""KIP-227 fetch sessions: creation, epochs, incremental updates and what gets resent."""

from __future__ import annotations

import random

import pytest

from protocol.error_codes import ErrorCode
from pybroker.fetch_session import FetchSessionCache, FetchSessionError, PartitionRequest


def req(key: str, offset: int) -> PartitionRequest:
    return PartitionRequest(key, offset, 1 << 20, -1, -1)


def test_full_fetch_with_epoch_0_creates_session_and_incremental_advances_epoch() -> None:
    cache = FetchSessionCache(10, random.Random(1))
    session = cache.open(0, 0, [req("a", 0), req("b", 5)])
    assert session is not None and session.id != 0 and session.epoch == 1
    resumed = cache.resume(session.id, 1, [req("a", 10)], ["b"])
    assert resumed is session and session.epoch == 2
    assert {k: p.fetch_offset for k, p in session.partitions.items()} == {"a": 10}
    with pytest.raises(FetchSessionError) as exc:
        cache.resume(session.id, 1, [], [])
    assert exc.value.code == ErrorCode.INVALID_FETCH_SESSION_EPOCH
    with pytest.raises(FetchSessionError) as exc:
        cache.resume(session.id + 1, 2, [], [])
    assert exc.value.code == ErrorCode.FETCH_SESSION_ID_NOT_FOUND


def test_sessionless_and_close() -> None:
    cache = FetchSessionCache(10)
    assert cache.open(0, -1, [req("a", 0)]) is None
    session = cache.open(0, 0, [req("a", 0)])
    assert session is not None
    assert cache.open(session.id, -1, []) is None  # epoch -1 with an id closes the session
    assert session.id not in cache.sessions


def test_only_changed_partitions_are_resent() -> None:
    cache = FetchSessionCache(10)
    session = cache.open(0, 0, [req("a", 0), req("b", 0)])
    assert session is not None
    assert session.should_send("a", False, 0, 10, 10, 0)  # first answer carries everything
    assert session.should_send("b", False, 0, 0, 0, 0)
    assert not session.should_send("b", False, 0, 0, 0, 0)  # nothing new
    assert session.should_send("b", False, 0, 3, 3, 0)  # high watermark moved
    assert session.should_send("b", False, ErrorCode.OFFSET_OUT_OF_RANGE, 3, 3, 0)  # errors always
    assert session.should_send("a", True, 0, 10, 10, 0)  # records always
    assert list(session.partitions) == ["b", "a"]  # partitions with data rotate to the back


def test_cache_evicts_least_recently_used() -> None:
    cache = FetchSessionCache(2)
    s1 = cache.open(0, 0, [])
    s2 = cache.open(0, 0, [])
    assert s1 is not None and s2 is not None
    cache.resume(s1.id, 1, [], [])  # s1 is now most recently used
    s3 = cache.open(0, 0, [])
    assert s3 is not None
    assert set(cache.sessions) == {s1.id, s3.id}


def test_epoch_wraps_to_1() -> None:
    cache = FetchSessionCache(1)
    session = cache.open(0, 0, [])
    assert session is not None
    session.epoch = 2**31 - 1
    cache.resume(session.id, 2**31 - 1, [], [])
    assert session.epoch == 1
