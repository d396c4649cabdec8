"""ListOffsets (API key 2), versions 1-9.

Special timestamps: -1 latest (the high watermark, or the last stable offset for
READ_COMMITTED), -2 earliest (log start offset), -3 the offset of the largest timestamp (v7+),
-4 earliest local (v8+; equal to earliest without tiered storage), -5 latest tiered (v9+; none
without tiered storage, answered as offset -1). Any other timestamp finds the first offset whose
timestamp is at least that value; none gives offset -1. Version 0 (several old-style offsets) is
not served.
"""

from __future__ import annotations

from protocol.error_codes import ErrorCode
from protocol.messages.list_offsets_request import ListOffsetsRequest
from protocol.messages.list_offsets_response import (
    ListOffsetsPartitionResponse,
    ListOffsetsResponse,
    ListOffsetsTopicResponse,
)
from pybroker.context import RequestContext
from pybroker.handlers.registry import handles

MIN_TIMESTAMP_BY_VERSION = {-3: 7, -4: 8, -5: 9}


DEBUGGING_REPLICA_ID = -2  # may read a follower's offsets (Kafka's ListOffsetsRequest.DEBUGGING_REPLICA_ID)


@handles(ListOffsetsRequest, 1, 9)
async def handle_list_offsets(ctx: RequestContext, req: ListOffsetsRequest) -> ListOffsetsResponse:
    replicas = ctx.broker.replica_manager
    seen: set[tuple[str, int]] = set()
    duplicates = {
        (t.name, p.partition_index)
        for t in req.topics
        for p in t.partitions
        if (t.name, p.partition_index) in seen or seen.add((t.name, p.partition_index))  # type: ignore[func-returns-value]
    }
    topics = []
    for t in req.topics:
        parts = []
        for p in t.partitions:
            resp = ListOffsetsPartitionResponse(partition_index=p.partition_index)
            parts.append(resp)
            if (t.name, p.partition_index) in duplicates:
                resp.error_code = ErrorCode.INVALID_REQUEST
                continue
            partition = replicas.get(t.name, p.partition_index)
            if partition is None:
                resp.error_code = replicas.not_hosted_error(t.name, p.partition_index)
                continue
            if p.timestamp < -1 and ctx.api_version < MIN_TIMESTAMP_BY_VERSION.get(p.timestamp, 0):
                resp.error_code = ErrorCode.UNSUPPORTED_VERSION
                continue
            error, offset, timestamp, epoch = partition.offset_for_timestamp(
                p.timestamp,
                req.isolation_level,
                p.current_leader_epoch,
                from_consumer=req.replica_id < 0,
                require_leader=req.replica_id != DEBUGGING_REPLICA_ID,
            )
            resp.error_code, resp.offset, resp.timestamp, resp.leader_epoch = error, offset, timestamp, epoch
        topics.append(ListOffsetsTopicResponse(name=t.name, partitions=parts))
    return ListOffsetsResponse(topics=topics)
