"""FindCoordinator (API key 10), versions 0-6.

Group keys (``key_type`` 0, the only type below v1) are answered with the leader of the group's
``__consumer_offsets`` partition, reachable through the request's listener; the first group
lookup creates that topic (see :mod:`pybroker.coordinator.service`), answered at once since
creation is synchronous here. Transaction keys (type 1) get COORDINATOR_NOT_AVAILABLE: this
broker runs no transaction coordinator yet. Other key types (share groups, v6) get
INVALID_REQUEST: there is no share coordinator. Versions 0-3 look up one ``key``; 4+ answer each of
``coordinator_keys`` in ``coordinators``.
"""

from __future__ import annotations

from protocol.error_codes import ErrorCode
from protocol.messages.find_coordinator_request import FindCoordinatorRequest
from protocol.messages.find_coordinator_response import Coordinator, FindCoordinatorResponse
from pybroker.context import RequestContext
from pybroker.handlers.registry import handles

GROUP = 0
TRANSACTION = 1


async def _find(ctx: RequestContext, key: str, key_type: int) -> Coordinator:
    """One key's coordinator; error messages are Kafka's (``Errors.message()``, "NONE" on success)."""
    message = "The coordinator is not available."
    error = ErrorCode.COORDINATOR_NOT_AVAILABLE
    if key_type == GROUP:
        error, endpoint = await ctx.broker.group_coordinator.find_coordinator(key, ctx.listener_name)
        if endpoint is not None:
            return Coordinator(
                key=key,
                node_id=endpoint.broker_id,
                host=endpoint.host,
                port=endpoint.port,
                error_message="NONE",
            )
    elif key_type != TRANSACTION:
        error, message = ErrorCode.INVALID_REQUEST, f"Unknown coordinator type {key_type}"
    return Coordinator(key=key, node_id=-1, host="", port=-1, error_code=error, error_message=message)


@handles(FindCoordinatorRequest, 0, 6)
async def handle_find_coordinator(
    ctx: RequestContext, req: FindCoordinatorRequest
) -> FindCoordinatorResponse:
    if ctx.api_version >= 4:
        return FindCoordinatorResponse(
            coordinators=[await _find(ctx, key, req.key_type) for key in req.coordinator_keys]
        )
    found = await _find(ctx, req.key, req.key_type)
    return FindCoordinatorResponse(
        error_code=found.error_code,
        error_message=found.error_message,
        node_id=found.node_id,
        host=found.host,
        port=found.port,
    )
