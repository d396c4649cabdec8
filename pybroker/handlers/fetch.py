"""Fetch (API key 1), versions 4-17.

Versions 0-3 can only carry legacy message sets (a broker would have to down-convert), so they are
not advertised. Consumers read below the high watermark (``isolation_level`` 0) or the last stable
offset (1). The first partition that has data returns at least one whole batch even if it is
larger than the size limits (KIP-74); a fetch starting inside a batch returns that whole batch.
The broker's ``fetch.max.bytes`` lowers ``max_bytes``, and ``min_bytes`` to at most that, for
followers too, as in Kafka. When fewer than ``min_bytes`` are available the request waits up to
``max_wait_ms`` for appends to any of its partitions. Versions 7+ use incremental fetch sessions
(KIP-227), 13+ name topics by id. From version 12 a fetch carrying ``last_fetched_epoch`` whose
epoch ends before ``fetch_offset`` on this log gets ``diverging_epoch`` instead of records
(KIP-320), so the reader truncates. A follower's fetch (``replica_id`` >= 0) reads up to the log
end offset and reports the follower's progress, which moves the high watermark and the ISR. Record
bytes are sent from the segment files (see ``FileRecords``).
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from protocol.error_codes import ErrorCode
from protocol.messages.fetch_request import FetchRequest
from protocol.messages.fetch_response import (
    EpochEndOffset,
    FetchableTopicResponse,
    FetchResponse,
    PartitionData,
)
from protocol.primitives import ZERO_UUID
from pybroker.context import RequestContext
from pybroker.fetch_session import FetchSession, FetchSessionError, PartitionRequest
from pybroker.handlers.registry import handles
from pybroker.partition import Partition, ReadResult


@dataclass(slots=True)
class _Target:
    key: Hashable
    name: str
    topic_id: UUID
    index: int
    fetch_offset: int
    max_bytes: int
    current_leader_epoch: int
    last_fetched_epoch: int


def _resolve(ctx: RequestContext, key: Any, use_ids: bool) -> tuple[str | None, UUID]:
    topic_ref = key[0]
    info = ctx.broker.metadata.by_id(topic_ref) if use_ids else ctx.broker.metadata.get(topic_ref)
    if info is None:
        return None, topic_ref if use_ids else ZERO_UUID
    return info.name, info.topic_id


def _read(
    ctx: RequestContext,
    targets: list[_Target],
    req: FetchRequest,
    fetch_max: int,
    use_ids: bool,
    replica_id: int,
) -> tuple[list[PartitionData], int]:
    replicas = ctx.broker.replica_manager
    remaining = fetch_max
    min_one = True
    total = 0
    out: list[PartitionData] = []
    for t in targets:
        pd = PartitionData(partition_index=t.index, records=b"")
        out.append(pd)
        if not t.name:
            pd.error_code = ErrorCode.UNKNOWN_TOPIC_ID if use_ids else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            continue
        partition: Partition | None = replicas.get(t.name, t.index)
        if partition is None:
            pd.error_code = replicas.not_hosted_error(t.name, t.index)
            continue
        result: ReadResult = partition.read(
            t.fetch_offset,
            min(t.max_bytes, max(remaining, 0)),
            req.isolation_level,
            t.current_leader_epoch,
            t.last_fetched_epoch,
            min_one,
            replica_id,
        )
        pd.error_code = result.error
        pd.high_watermark = result.high_watermark
        pd.last_stable_offset = result.last_stable_offset
        pd.log_start_offset = result.log_start_offset
        if result.diverging_epoch is not None:
            pd.diverging_epoch = EpochEndOffset(*result.diverging_epoch)
        if req.isolation_level == 1:
            pd.aborted_transactions = []
        if result.records is not None and result.size:
            pd.records = result.records
            remaining -= result.size
            total += result.size
            min_one = False
    return out, total


@handles(FetchRequest, 4, 17)
async def handle_fetch(ctx: RequestContext, req: FetchRequest) -> FetchResponse:
    version = ctx.api_version
    use_ids = version >= 13
    # a follower's fetch (replica_id >= 0; v15+ carries it in replica_state) reads to the log end
    replica_id = req.replica_state.replica_id if version >= 15 else req.replica_id
    requests = [
        PartitionRequest(
            (t.topic_id if use_ids else t.topic, p.partition),
            p.fetch_offset,
            p.partition_max_bytes,
            p.log_start_offset,
            p.current_leader_epoch,
            p.last_fetched_epoch,
        )
        for t in req.topics
        for p in t.partitions
    ]
    session: FetchSession | None = None
    incremental = False
    sessions = ctx.broker.fetch_sessions
    if version >= 7 and req.session_epoch > 0:
        forgotten: list[Hashable] = [
            (f.topic_id if use_ids else f.topic, i) for f in req.forgotten_topics_data for i in f.partitions
        ]
        try:
            session = sessions.resume(req.session_id, req.session_epoch, requests, forgotten)
        except FetchSessionError as exc:
            return FetchResponse(error_code=exc.code, session_id=0)
        incremental = True
        entries = [
            (k, p.fetch_offset, p.max_bytes, p.current_leader_epoch, p.last_fetched_epoch)
            for k, p in session.partitions.items()
        ]
    else:
        if version >= 7:
            session = sessions.open(req.session_id, req.session_epoch, requests)
        entries = [
            (r.key, r.fetch_offset, r.max_bytes, r.current_leader_epoch, r.last_fetched_epoch)
            for r in requests
        ]

    targets = []
    for key, offset, max_bytes, leader_epoch, last_epoch in entries:
        name, topic_id = _resolve(ctx, key, use_ids)
        index: int = key[1]  # type: ignore[index]
        targets.append(_Target(key, name or "", topic_id, index, offset, max_bytes, leader_epoch, last_epoch))

    # the broker's fetch.max.bytes caps every fetch, a follower's too, and min_bytes with it
    fetch_max = min(req.max_bytes, ctx.broker.config.get("fetch.max.bytes"))
    fetch_min = min(req.min_bytes, fetch_max)
    datas, total = _read(ctx, targets, req, fetch_max, use_ids, replica_id)
    if total < fetch_min and req.max_wait_ms > 0 and all(d.error_code == 0 for d in datas) and targets:
        deadline = time.monotonic() + req.max_wait_ms / 1000
        keys = [(t.name, t.index) for t in targets]
        while total < fetch_min:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            await ctx.broker.replica_manager.wait_for_data(keys, left)
            datas, total = _read(ctx, targets, req, fetch_max, use_ids, replica_id)

    by_topic: dict[Any, FetchableTopicResponse] = {}
    topics: list[FetchableTopicResponse] = []
    for t, pd in zip(targets, datas, strict=True):
        if session is not None:
            send = session.should_send(
                t.key,
                len(pd.records) > 0,
                pd.error_code,
                pd.high_watermark,
                pd.last_stable_offset,
                pd.log_start_offset,
            )
            if incremental and not send:
                continue
        topic_key = t.key[0]  # type: ignore[index]
        entry = by_topic.get(topic_key)
        if entry is None or entry is not (topics[-1] if topics else None):
            entry = FetchableTopicResponse(
                topic="" if use_ids else t.name or str(topic_key), topic_id=t.topic_id
            )
            topics.append(entry)
            by_topic[topic_key] = entry
        entry.partitions.append(pd)
    return FetchResponse(session_id=session.id if session is not None else 0, responses=topics)
