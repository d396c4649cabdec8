"""Metadata (API key 3), versions 0-12.

Answers with the brokers reachable through the listener the request arrived on, the cluster id,
the controller id and the requested topics with their partitions' leaders, epochs, replicas and
ISR. A null topic list (or an empty one at v0) asks for every topic. Invalid names get
INVALID_TOPIC_EXCEPTION; unknown ones are created when ``auto.create.topics.enable`` is set and
the request allows it (always below v4), with ``num.partitions`` and
``default.replication.factor``, else UNKNOWN_TOPIC_OR_PARTITION. A topic created here is
answered ready: creation is synchronous on this broker, where Kafka answers
LEADER_NOT_AVAILABLE until its controller has elected leaders.
"""

from __future__ import annotations

from protocol.error_codes import ErrorCode
from protocol.messages.metadata_request import MetadataRequest
from protocol.messages.metadata_response import (
    MetadataResponse,
    MetadataResponseBroker,
    MetadataResponsePartition,
    MetadataResponseTopic,
)
from pybroker.context import RequestContext
from pybroker.handlers.registry import handles
from pybroker.metadata import INTERNAL_TOPICS, PartitionState, TopicInfo
from pybroker.standalone import TopicError, validate_topic_name


def _partition(p: PartitionState, live: set[int]) -> MetadataResponsePartition:
    """Kafka's ``getPartitionMetadata``: a partition whose leader is not a live broker is
    LEADER_NOT_AVAILABLE with no leader."""
    led = p.leader >= 0 and p.leader in live
    return MetadataResponsePartition(
        error_code=ErrorCode.NONE if led else ErrorCode.LEADER_NOT_AVAILABLE,
        partition_index=p.index,
        leader_id=p.leader if led else -1,
        leader_epoch=p.leader_epoch,
        replica_nodes=list(p.replicas),
        isr_nodes=list(p.isr),
        offline_replicas=list(p.offline_replicas),
    )


def topic_metadata(topic: TopicInfo, live: set[int]) -> MetadataResponseTopic:
    return MetadataResponseTopic(
        error_code=ErrorCode.NONE,
        name=topic.name,
        topic_id=topic.topic_id,
        is_internal=topic.internal,
        partitions=[_partition(p, live) for p in sorted(topic.partitions.values(), key=lambda p: p.index)],
    )


@handles(MetadataRequest, 0, 12)
async def handle_metadata(ctx: RequestContext, req: MetadataRequest) -> MetadataResponse:
    broker = ctx.broker
    brokers = [
        MetadataResponseBroker(node_id=b.broker_id, host=b.host, port=b.port, rack=b.rack)
        for b in broker.live_brokers(ctx.listener_name)
    ]
    live = {b.node_id for b in brokers}
    requested = req.topics
    if ctx.api_version == 0 and not requested:
        requested = None
    allow_create = broker.config.get("auto.create.topics.enable") and (
        ctx.api_version < 4 or req.allow_auto_topic_creation
    )
    topics = []
    if requested is None:
        topics = [
            topic_metadata(t, live) for t in sorted(broker.metadata.topics.values(), key=lambda t: t.name)
        ]
    else:
        for t in requested:
            if t.name is None:
                info = broker.metadata.by_id(t.topic_id)
                if info is None:
                    topics.append(
                        MetadataResponseTopic(
                            error_code=ErrorCode.UNKNOWN_TOPIC_ID, name=None, topic_id=t.topic_id
                        )
                    )
                else:
                    topics.append(topic_metadata(info, live))
                continue
            info = broker.metadata.get(t.name)
            if info is None:
                try:
                    validate_topic_name(t.name)
                except TopicError:
                    topics.append(
                        MetadataResponseTopic(error_code=ErrorCode.INVALID_TOPIC_EXCEPTION, name=t.name)
                    )
                    continue
                if allow_create and t.name not in INTERNAL_TOPICS:
                    try:
                        await broker.topic_admin.create_topic(
                            t.name,
                            -1,
                            broker.config.get("default.replication.factor"),
                            {},
                            timeout_ms=0,
                            require_controller=False,
                        )
                    except TopicError as exc:
                        code = (
                            ErrorCode.LEADER_NOT_AVAILABLE
                            if exc.code == ErrorCode.TOPIC_ALREADY_EXISTS
                            else exc.code
                        )
                        topics.append(MetadataResponseTopic(error_code=code, name=t.name))
                        continue
                    info = broker.metadata.get(t.name)
                    if info is None:  # created in ZooKeeper; the controller has not acted yet
                        topics.append(
                            MetadataResponseTopic(error_code=ErrorCode.LEADER_NOT_AVAILABLE, name=t.name)
                        )
                        continue
                else:
                    topics.append(
                        MetadataResponseTopic(error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name=t.name)
                    )
                    continue
            topics.append(topic_metadata(info, live))
    return MetadataResponse(
        brokers=brokers,
        cluster_id=broker.cluster_id,
        controller_id=broker.controller_id,
        topics=topics,
    )
