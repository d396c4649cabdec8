"""DeleteRecords (API key 21), versions 0-2.

Moves each partition's log start offset up to the requested offset (-1: the high watermark) and
answers the new low watermark, as Kafka's ``ReplicaManager.deleteRecords``: a partition not in
the metadata is UNKNOWN_TOPIC_OR_PARTITION, one not led here NOT_LEADER_OR_FOLLOWER, an internal
topic INVALID_TOPIC_EXCEPTION, a topic without ``delete`` in ``cleanup.policy``
POLICY_VIOLATION, and an offset above the high watermark (or negative other than -1)
OFFSET_OUT_OF_RANGE; failed partitions report low watermark -1. An offset below the current log
start changes nothing and reports the current start. A partition named twice is answered once,
for its last offset. Fetches below the new start get OFFSET_OUT_OF_RANGE, ListOffsets earliest
answers it, the start is checkpointed at once (so it survives any restart) and the segments
wholly below it are removed at the next retention check. ``timeout_ms`` is not needed: a
standalone leader's low watermark is its own log start offset.
"""

from __future__ import annotations

from protocol.error_codes import ErrorCode
from protocol.messages.delete_records_request import DeleteRecordsRequest
from protocol.messages.delete_records_response import (
    DeleteRecordsPartitionResult,
    DeleteRecordsResponse,
    DeleteRecordsTopicResult,
)
from pybroker.context import RequestContext
from pybroker.handlers.registry import handles


@handles(DeleteRecordsRequest, 0, 2)
async def handle_delete_records(ctx: RequestContext, req: DeleteRecordsRequest) -> DeleteRecordsResponse:
    broker = ctx.broker
    offsets: dict[str, dict[int, int]] = {}
    for t in req.topics:
        for p in t.partitions:
            offsets.setdefault(t.name, {})[p.partition_index] = p.offset
    topics = []
    for name, partitions in offsets.items():
        info = broker.metadata.get(name)
        results = []
        for index, offset in partitions.items():
            if info is None or index not in info.partitions:
                error, low_watermark = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1
            else:
                error, low_watermark = broker.replica_manager.delete_records(name, index, offset)
            results.append(
                DeleteRecordsPartitionResult(
                    partition_index=index, low_watermark=low_watermark, error_code=error
                )
            )
        topics.append(DeleteRecordsTopicResult(name=name, partitions=results))
    return DeleteRecordsResponse(topics=topics)
