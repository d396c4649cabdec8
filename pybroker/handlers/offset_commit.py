"""OffsetCommit (API key 8), versions 1-9.

Commits go to the group coordinator (:mod:`pybroker.coordinator`) and are answered once written
to ``__consumer_offsets``. Partitions of topics this broker does not know get
UNKNOWN_TOPIC_OR_PARTITION and are not stored. Version 1 carries a commit timestamp per
partition (-1: now), 2-4 a retention time (-1: ``offsets.retention.minutes``), 6+ the leader
epoch, 7+ ``group.instance.id``; 9's member epoch is the generation for classic groups. A
generation of -1 with no member id is a standalone commit (admin clients, manual assignment),
accepted while the group has no members. Version 0 (offsets kept in ZooKeeper) is not served.
"""

from __future__ import annotations

from protocol.error_codes import ErrorCode
from protocol.messages.offset_commit_request import OffsetCommitRequest
from protocol.messages.offset_commit_response import (
    OffsetCommitResponse,
    OffsetCommitResponsePartition,
    OffsetCommitResponseTopic,
)
from pybroker.context import RequestContext
from pybroker.coordinator import PartitionOffset, TopicPartition
from pybroker.handlers.registry import handles


@handles(OffsetCommitRequest, 1, 9)
async def handle_offset_commit(ctx: RequestContext, req: OffsetCommitRequest) -> OffsetCommitResponse:
    version = ctx.api_version
    metadata = ctx.broker.metadata
    offsets: dict[TopicPartition, PartitionOffset] = {}
    for t in req.topics:
        topic = metadata.get(t.name)
        for p in t.partitions:
            if topic is not None and p.partition_index in topic.partitions:
                offsets[TopicPartition(t.name, p.partition_index)] = PartitionOffset(
                    p.committed_offset,
                    p.committed_leader_epoch,
                    p.committed_metadata,
                    p.commit_timestamp if version == 1 else -1,
                )
    errors = (
        await ctx.broker.group_coordinator.commit_offsets(
            req.group_id,
            offsets,
            generation_id=req.generation_id_or_member_epoch,
            member_id=req.member_id,
            group_instance_id=req.group_instance_id,
            retention_time_ms=req.retention_time_ms if 2 <= version <= 4 else -1,
        )
        if offsets
        else {}
    )
    return OffsetCommitResponse(
        topics=[
            OffsetCommitResponseTopic(
                name=t.name,
                partitions=[
                    OffsetCommitResponsePartition(
                        partition_index=p.partition_index,
                        error_code=errors.get(
                            TopicPartition(t.name, p.partition_index), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                        ),
                    )
                    for p in t.partitions
                ],
            )
            for t in req.topics
        ]
    )
