"""OffsetForLeaderEpoch (API key 23), versions 0-4.

For each partition: the largest epoch at most the requested one that the leader knows, and the
offset where it ends (the start of the next epoch, or the log end offset for the latest epoch);
(-1, -1) when the requested epoch is older than anything in the log. Clients use it after a
leader change to detect log truncation; followers use it to find their divergence point.
"""

from __future__ import annotations

from protocol.messages.offset_for_leader_epoch_request import OffsetForLeaderEpochRequest
from protocol.messages.offset_for_leader_epoch_response import (
    EpochEndOffset,
    OffsetForLeaderEpochResponse,
    OffsetForLeaderTopicResult,
)
from pybroker.context import RequestContext
from pybroker.handlers.registry import handles


@handles(OffsetForLeaderEpochRequest, 0, 4)
async def handle_offset_for_leader_epoch(
    ctx: RequestContext, req: OffsetForLeaderEpochRequest
) -> OffsetForLeaderEpochResponse:
    replicas = ctx.broker.replica_manager
    topics = []
    for t in req.topics:
        parts = []
        for p in t.partitions:
            result = EpochEndOffset(partition=p.partition)
            parts.append(result)
            partition = replicas.get(t.topic, p.partition)
            if partition is None:
                result.error_code = replicas.not_hosted_error(t.topic, p.partition)
                continue
            # only the leader answers, except for the debugging replica id (-2)
            error = partition.check_leader_epoch(p.current_leader_epoch, require_leader=req.replica_id != -2)
            if error:
                result.error_code = error
                continue
            result.leader_epoch, result.end_offset = partition.end_offset_for_epoch(p.leader_epoch)
        topics.append(OffsetForLeaderTopicResult(topic=t.topic, partitions=parts))
    return OffsetForLeaderEpochResponse(topics=topics)
