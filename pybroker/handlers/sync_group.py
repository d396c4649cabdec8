"""SyncGroup (API key 14), versions 0-5.

Served by the group coordinator (:mod:`pybroker.coordinator`): followers wait for the leader's
assignment, which is written to ``__consumer_offsets`` before anyone is answered. Version 3+
carries ``group.instance.id``; 5+ carries the protocol type and name, which must match the
group's (else INCONSISTENT_GROUP_PROTOCOL) and are returned on success.
"""

from __future__ import annotations

from protocol.messages.sync_group_request import SyncGroupRequest
from protocol.messages.sync_group_response import SyncGroupResponse
from pybroker.context import RequestContext
from pybroker.handlers.registry import handles


@handles(SyncGroupRequest, 0, 5)
async def handle_sync_group(ctx: RequestContext, req: SyncGroupRequest) -> SyncGroupResponse:
    result = await ctx.broker.group_coordinator.sync_group(
        req.group_id,
        req.generation_id,
        req.member_id,
        assignments={a.member_id: bytes(a.assignment) for a in req.assignments},
        group_instance_id=req.group_instance_id,
        protocol_type=req.protocol_type,
        protocol_name=req.protocol_name,
    )
    return SyncGroupResponse(
        error_code=result.error,
        protocol_type=result.protocol_type,
        protocol_name=result.protocol_name,
        assignment=result.assignment,
    )
