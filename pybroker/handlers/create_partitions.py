"""CreatePartitions (API key 37), versions 0-3: grow a topic's partition count."""

from __future__ import annotations

from collections import Counter

from protocol.error_codes import ErrorCode
from protocol.messages.create_partitions_request import CreatePartitionsRequest
from protocol.messages.create_partitions_response import CreatePartitionsResponse, CreatePartitionsTopicResult
from pybroker.context import RequestContext
from pybroker.handlers.registry import handles
from pybroker.standalone import TopicError


@handles(CreatePartitionsRequest, 0, 3)
async def handle_create_partitions(
    ctx: RequestContext, req: CreatePartitionsRequest
) -> CreatePartitionsResponse:
    broker = ctx.broker
    counts = Counter(t.name for t in req.topics)
    results = []
    for t in req.topics:
        result = CreatePartitionsTopicResult(name=t.name)
        results.append(result)
        if counts[t.name] > 1:
            result.error_code, result.error_message = ErrorCode.INVALID_REQUEST, "Duplicate topic in request."
            continue
        try:
            if t.assignments is not None:
                live = {b.broker_id for b in broker.live_brokers(ctx.listener_name)}
                if any(not set(a.broker_ids) <= live for a in t.assignments):
                    raise TopicError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, "Unknown broker in assignment.")
            await broker.topic_admin.create_partitions(
                t.name,
                t.count,
                [list(a.broker_ids) for a in t.assignments] if t.assignments is not None else None,
                validate_only=req.validate_only,
                timeout_ms=req.timeout_ms,
            )
        except TopicError as exc:
            result.error_code, result.error_message = exc.code, exc.message
    return CreatePartitionsResponse(results=results)
