"""OffsetDelete (API key 47), version 0.

Deletes committed offsets of a group (KIP-496) through the group coordinator
(:mod:`pybroker.coordinator`), writing tombstones to ``__consumer_offsets``: any partition of an
Empty group; for a consumer group with members only partitions of topics none of them subscribes
to (GROUP_SUBSCRIBED_TO_TOPIC otherwise). Partitions of unknown topics get
UNKNOWN_TOPIC_OR_PARTITION. A group-level error (GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP,
NOT_COORDINATOR, INVALID_GROUP_ID for an empty id ...) is answered without topics.
"""

from __future__ import annotations

from protocol.error_codes import ErrorCode
from protocol.messages.offset_delete_request import OffsetDeleteRequest
from protocol.messages.offset_delete_response import (
    OffsetDeleteResponse,
    OffsetDeleteResponsePartition,
    OffsetDeleteResponseTopic,
)
from pybroker.context import RequestContext
from pybroker.coordinator import TopicPartition
from pybroker.handlers.registry import handles


@handles(OffsetDeleteRequest, 0, 0)
async def handle_offset_delete(ctx: RequestContext, req: OffsetDeleteRequest) -> OffsetDeleteResponse:
    metadata = ctx.broker.metadata
    known: list[TopicPartition] = []
    for t in req.topics:
        topic = metadata.get(t.name)
        known.extend(
            TopicPartition(t.name, p.partition_index)
            for p in t.partitions
            if topic is not None and p.partition_index in topic.partitions
        )
    result = ctx.broker.group_coordinator.delete_offsets(req.group_id, known)
    if result.error != ErrorCode.NONE:
        return OffsetDeleteResponse(error_code=result.error)
    return OffsetDeleteResponse(
        topics=[
            OffsetDeleteResponseTopic(
                name=t.name,
                partitions=[
                    OffsetDeleteResponsePartition(
                        partition_index=p.partition_index,
                        error_code=result.partition_errors.get(
                            TopicPartition(t.name, p.partition_index), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                        ),
                    )
                    for p in t.partitions
                ],
            )
            for t in req.topics
        ]
    )
