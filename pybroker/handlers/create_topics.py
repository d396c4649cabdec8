"""CreateTopics (API key 19), versions 0-7.

Per topic: name validity, existence, partition count (-1 takes ``num.partitions``),
replication factor (-1 takes ``default.replication.factor``), manual assignments, and topic
configs are checked by the controller; ``validate_only`` stops after the checks. Duplicate
names in one request all fail with INVALID_REQUEST, as in Kafka.
"""

from __future__ import annotations

from collections import Counter

from protocol.error_codes import ErrorCode
from protocol.messages.create_topics_request import CreatableTopic, CreateTopicsRequest
from protocol.messages.create_topics_response import CreatableTopicResult, CreateTopicsResponse
from pybroker.context import RequestContext
from pybroker.handlers.registry import handles
from pybroker.standalone import TopicError


async def _create_one(
    ctx: RequestContext, t: CreatableTopic, validate_only: bool, timeout_ms: int
) -> CreatableTopicResult:
    broker = ctx.broker
    configs = {c.name: c.value for c in t.configs}
    num_partitions, replication_factor = t.num_partitions, t.replication_factor
    if t.assignments:
        if num_partitions != -1 or replication_factor != -1:
            raise TopicError(
                ErrorCode.INVALID_REQUEST,
                "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.",
            )
        # standalone: only this broker can hold a replica; a cluster takes any broker id, live
        # or not, as Kafka's ZooKeeper mode does (the ids are checked by the ZooKeeper admin)
        live = (
            {b.broker_id for b in broker.live_brokers(ctx.listener_name)}
            if broker.zk_membership is None
            else None
        )
        sizes = {len(a.broker_ids) for a in t.assignments}
        indexes = sorted(a.partition_index for a in t.assignments)
        if indexes != list(range(len(indexes))) or len(sizes) != 1:
            raise TopicError(
                ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                "Partitions must be numbered 0..n-1 with equal replica counts.",
            )
        for a in t.assignments:
            if len(set(a.broker_ids)) != len(a.broker_ids) or (
                live is not None and not set(a.broker_ids) <= live
            ):
                raise TopicError(
                    ErrorCode.INVALID_REPLICA_ASSIGNMENT, f"Invalid replica assignment {a.broker_ids}."
                )
    elif replication_factor == -1:
        replication_factor = broker.config.get("default.replication.factor")
    assignment = {a.partition_index: list(a.broker_ids) for a in t.assignments} if t.assignments else None
    count, topic_id = await broker.topic_admin.create_topic(
        t.name,
        num_partitions,
        replication_factor,
        configs,
        assignment,
        validate_only=validate_only,
        timeout_ms=timeout_ms,
    )
    if assignment:
        replication_factor = len(next(iter(assignment.values())))
    result = CreatableTopicResult(
        name=t.name, num_partitions=count, replication_factor=replication_factor, configs=[]
    )
    if topic_id is not None:
        result.topic_id = topic_id
    return result


@handles(CreateTopicsRequest, 0, 7)
async def handle_create_topics(ctx: RequestContext, req: CreateTopicsRequest) -> CreateTopicsResponse:
    counts = Counter(t.name for t in req.topics)
    results = []
    for t in req.topics:
        if counts[t.name] > 1:
            results.append(
                CreatableTopicResult(
                    name=t.name,
                    error_code=ErrorCode.INVALID_REQUEST,
                    error_message="Duplicate topic name.",
                )
            )
            continue
        try:
            results.append(await _create_one(ctx, t, req.validate_only, req.timeout_ms))
        except TopicError as exc:
            results.append(CreatableTopicResult(name=t.name, error_code=exc.code, error_message=exc.message))
    return CreateTopicsResponse(topics=results)
