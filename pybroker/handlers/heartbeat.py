"""Heartbeat (API key 12), versions 0-4.

Renews a member's session with the group coordinator (:mod:`pybroker.coordinator`);
REBALANCE_IN_PROGRESS tells the member to rejoin. Version 3+ carries ``group.instance.id``.
While the group's partition is loading the heartbeat is answered NONE, as Kafka does.
"""

from __future__ import annotations

from protocol.messages.heartbeat_request import HeartbeatRequest
from protocol.messages.heartbeat_response import HeartbeatResponse
from pybroker.context import RequestContext
from pybroker.handlers.registry import handles


@handles(HeartbeatRequest, 0, 4)
async def handle_heartbeat(ctx: RequestContext, req: HeartbeatRequest) -> HeartbeatResponse:
    error = ctx.broker.group_coordinator.heartbeat(
        req.group_id, req.generation_id, req.member_id, req.group_instance_id
    )
    return HeartbeatResponse(error_code=error)
