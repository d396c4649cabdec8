"""OffsetFetch (API key 9), versions 1-9.

Committed offsets from the group coordinator (:mod:`pybroker.coordinator`); a partition without
one answers offset -1 with empty metadata. Versions 1-7 ask for one group, 8+ for a batch of
groups (KIP-709), each answered with its own error. A null topic list (v2+) asks for every
committed partition of the group. A group-level error (NOT_COORDINATOR,
COORDINATOR_LOAD_IN_PROGRESS) goes into every requested partition at v1, the top-level error at
v2-v7 and the group's error at v8+. Version 5+ returns the leader epoch; ``require_stable`` (v7+)
needs no waiting since this broker has no transactional offset commits. Version 0 (offsets kept
in ZooKeeper) is not served.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from protocol.error_codes import ErrorCode
from protocol.messages.offset_fetch_request import (
    OffsetFetchRequest,
    OffsetFetchRequestTopic,
    OffsetFetchRequestTopics,
)
from protocol.messages.offset_fetch_response import (
    OffsetFetchResponse,
    OffsetFetchResponseGroup,
    OffsetFetchResponsePartition,
    OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic,
    OffsetFetchResponseTopics,
)
from pybroker.context import RequestContext
from pybroker.coordinator import OffsetAndMetadata, TopicPartition
from pybroker.handlers.registry import handles

Requested = Sequence[OffsetFetchRequestTopic] | Sequence[OffsetFetchRequestTopics] | None


def _fetch(
    ctx: RequestContext, group_id: str, topics: Requested
) -> tuple[ErrorCode, list[tuple[str, list[tuple[int, OffsetAndMetadata | None]]]]]:
    """The group's error and, per topic in answer order, (partition, committed offset)."""
    wanted = (
        None if topics is None else [TopicPartition(t.name, p) for t in topics for p in t.partition_indexes]
    )
    result = ctx.broker.group_coordinator.fetch_offsets(group_id, wanted)
    if result.error != ErrorCode.NONE:
        return result.error, []
    by_topic: dict[str, list[tuple[int, OffsetAndMetadata | None]]] = {}
    if topics is None:
        for tp, value in sorted(result.offsets.items()):
            by_topic.setdefault(tp.topic, []).append((tp.partition, value))
    else:
        for t in topics:
            entries = by_topic.setdefault(t.name, [])
            entries.extend((p, result.offsets.get(TopicPartition(t.name, p))) for p in t.partition_indexes)
    return ErrorCode.NONE, list(by_topic.items())


P = TypeVar("P", OffsetFetchResponsePartition, OffsetFetchResponsePartitions)


def _partition(
    cls: type[P], index: int, value: OffsetAndMetadata | None, error: ErrorCode = ErrorCode.NONE
) -> P:
    if value is None:
        return cls(partition_index=index, committed_offset=-1, metadata="", error_code=error)
    return cls(
        partition_index=index,
        committed_offset=value.offset,
        committed_leader_epoch=value.leader_epoch,
        metadata=value.metadata,
        error_code=error,
    )


@handles(OffsetFetchRequest, 1, 9)
async def handle_offset_fetch(ctx: RequestContext, req: OffsetFetchRequest) -> OffsetFetchResponse:
    version = ctx.api_version
    if version >= 8:
        groups = []
        for g in req.groups:
            error, found = _fetch(ctx, g.group_id, g.topics)
            groups.append(
                OffsetFetchResponseGroup(
                    group_id=g.group_id,
                    error_code=error,
                    topics=[
                        OffsetFetchResponseTopics(
                            name=name,
                            partitions=[_partition(OffsetFetchResponsePartitions, i, v) for i, v in parts],
                        )
                        for name, parts in found
                    ],
                )
            )
        return OffsetFetchResponse(groups=groups)
    error, found = _fetch(ctx, req.group_id, req.topics)
    if error != ErrorCode.NONE and version == 1:
        found = [(t.name, [(p, None) for p in t.partition_indexes]) for t in req.topics or ()]
    partition_error = error if version == 1 else ErrorCode.NONE
    topics = [
        OffsetFetchResponseTopic(
            name=name,
            partitions=[_partition(OffsetFetchResponsePartition, i, v, partition_error) for i, v in parts],
        )
        for name, parts in found
    ]
    return OffsetFetchResponse(topics=topics, error_code=error)
