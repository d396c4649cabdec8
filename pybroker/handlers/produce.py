"""Produce (API key 0), versions 3-11.

Versions 0-2 carry legacy (magic 0/1) message sets only, which this broker does not store, so
they are not advertised. Each partition's records must be exactly one v2 record batch (Kafka's
``ProduceRequest.validateRecords``). ``acks=0`` sends no response; ``acks=1`` answers once the
leader appended; ``acks=-1`` once every in-sync replica has the batch (immediately on a single
broker, whose ISR is itself). A failed ``acks=0`` produce closes the connection, as in Kafka.
"""

from __future__ import annotations

from protocol.error_codes import ErrorCode
from protocol.messages.produce_request import ProduceRequest
from protocol.messages.produce_response import (
    PartitionProduceResponse,
    ProduceResponse,
    TopicProduceResponse,
)
from pybroker.context import Deferred, RequestContext
from pybroker.handlers.registry import handles


@handles(ProduceRequest, 3, 11)
async def handle_produce(ctx: RequestContext, req: ProduceRequest) -> ProduceResponse | Deferred | None:
    replicas = ctx.broker.replica_manager
    acks = req.acks
    responses: list[TopicProduceResponse] = []
    pending = []
    for topic in req.topic_data:
        parts: list[PartitionProduceResponse] = []
        for pdata in topic.partition_data:
            if acks not in (-1, 0, 1):
                parts.append(
                    PartitionProduceResponse(index=pdata.index, error_code=ErrorCode.INVALID_REQUIRED_ACKS)
                )
                continue
            result = replicas.append(topic.name, pdata.index, pdata.records, acks, ctx.client_id)
            resp = PartitionProduceResponse(
                index=pdata.index,
                error_code=result.error,
                base_offset=result.base_offset,
                log_append_time_ms=result.log_append_time,
                log_start_offset=result.log_start_offset,
                error_message=result.error_message,
            )
            parts.append(resp)
            if result.wait is not None:
                pending.append((resp, result.wait))
        responses.append(TopicProduceResponse(name=topic.name, partition_responses=parts))
    if pending:
        # appended: the connection may take its next request while the replicas catch up
        async def replicated() -> ProduceResponse:
            await replicas.await_acks(pending, req.timeout_ms)
            return ProduceResponse(responses=responses)

        return Deferred(replicated())
    if acks == 0:
        # acks=0 has no response to carry an error: Kafka closes the connection instead, so the
        # client notices and refreshes its metadata
        if any(p.error_code for t in responses for p in t.partition_responses):
            ctx.close_connection = "acks=0 produce failed"
        return None
    return ProduceResponse(responses=responses)
