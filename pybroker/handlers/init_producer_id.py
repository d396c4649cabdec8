"""InitProducerId (API key 22), versions 0-5, for idempotent producers.

Without a transactional id every call gets a fresh producer id with epoch 0 (Kafka does the
same: an idempotent producer's epoch is never bumped by the broker). Producer ids come from the
controller's persistent allocator, so they are never reused across restarts. Transactional ids
need the transaction coordinator, which this broker does not run yet: COORDINATOR_NOT_AVAILABLE.
"""

from __future__ import annotations

from protocol.error_codes import ErrorCode
from protocol.messages.init_producer_id_request import InitProducerIdRequest
from protocol.messages.init_producer_id_response import InitProducerIdResponse
from pybroker.context import RequestContext
from pybroker.handlers.registry import handles


@handles(InitProducerIdRequest, 0, 5)
async def handle_init_producer_id(ctx: RequestContext, req: InitProducerIdRequest) -> InitProducerIdResponse:
    if req.transactional_id is not None:
        return InitProducerIdResponse(error_code=ErrorCode.COORDINATOR_NOT_AVAILABLE)
    producer_id = await ctx.broker.topic_admin.allocate_producer_id()
    return InitProducerIdResponse(producer_id=producer_id, producer_epoch=0)
