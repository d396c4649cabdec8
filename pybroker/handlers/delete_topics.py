"""DeleteTopics (API key 20), versions 0-6.

Topics are named (v0-5 ``topic_names``, v6 ``topics`` by name or id). Deleting removes the
topic from metadata at once and its partition logs from disk; ``delete.topic.enable=false``
answers TOPIC_DELETION_DISABLED. Groups' committed offsets for the topic are deleted too
(tombstones in ``__consumer_offsets``), as in Kafka.
"""

from __future__ import annotations

from protocol.error_codes import ErrorCode
from protocol.messages.delete_topics_request import DeleteTopicsRequest
from protocol.messages.delete_topics_response import DeletableTopicResult, DeleteTopicsResponse
from protocol.primitives import ZERO_UUID
from pybroker.context import RequestContext
from pybroker.coordinator import TopicPartition
from pybroker.handlers.registry import handles
from pybroker.standalone import TopicError


@handles(DeleteTopicsRequest, 0, 6)
async def handle_delete_topics(ctx: RequestContext, req: DeleteTopicsRequest) -> DeleteTopicsResponse:
    broker = ctx.broker
    wanted = (
        [(name, ZERO_UUID) for name in req.topic_names]
        if ctx.api_version < 6
        else [(t.name, t.topic_id) for t in req.topics]
    )
    results = []
    for name, topic_id in wanted:
        result = DeletableTopicResult(name=name, topic_id=topic_id)
        results.append(result)
        if not broker.config.get("delete.topic.enable"):
            result.error_code = ErrorCode.TOPIC_DELETION_DISABLED
            continue
        if name is None:
            info = broker.metadata.by_id(topic_id)
            if info is None:
                result.error_code = ErrorCode.UNKNOWN_TOPIC_ID
                result.error_message = "Topic id does not exist"
                continue
            name = result.name = info.name
        info = broker.metadata.get(name)
        try:
            result.topic_id = await broker.topic_admin.delete_topic(name, req.timeout_ms)
        except TopicError as exc:
            result.error_code, result.error_message = exc.code, exc.message
            continue
        if info is not None and broker.zk_membership is None:  # a cluster's brokers do this on the change
            broker.group_coordinator.on_partitions_deleted(
                [TopicPartition(info.name, p) for p in info.partitions]
            )
    return DeleteTopicsResponse(responses=results)
