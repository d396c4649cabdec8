"""JoinGroup (API key 11), versions 0-9.

Served by the group coordinator (:mod:`pybroker.coordinator`); the response waits until the
join phase completes. Version 0 has no rebalance timeout (the session timeout is used), 4+
requires a known member id (KIP-394: an unknown member first gets MEMBER_ID_REQUIRED with its
id), 5+ carries ``group.instance.id`` (static membership, KIP-345), 7+ may answer a null
protocol type/name, 8+ carries a reason (KIP-800) and 9+ lets a returning static leader skip
the assignment (KIP-814). The member's client host is recorded as Kafka does ("/" + address).
"""

from __future__ import annotations

from protocol.messages.join_group_request import JoinGroupRequest
from protocol.messages.join_group_response import JoinGroupResponse, JoinGroupResponseMember
from pybroker.context import RequestContext
from pybroker.handlers.registry import handles


@handles(JoinGroupRequest, 0, 9)
async def handle_join_group(ctx: RequestContext, req: JoinGroupRequest) -> JoinGroupResponse:
    version = ctx.api_version
    result = await ctx.broker.group_coordinator.join_group(
        req.group_id,
        req.member_id,
        protocol_type=req.protocol_type,
        protocols=[(p.name, bytes(p.metadata)) for p in req.protocols],
        session_timeout_ms=req.session_timeout_ms,
        rebalance_timeout_ms=req.session_timeout_ms if version == 0 else req.rebalance_timeout_ms,
        group_instance_id=req.group_instance_id,
        client_id=ctx.client_id or "",
        client_host=f"/{ctx.client_host}",
        require_known_member_id=version >= 4,
        supports_skipping_assignment=version >= 9,
        reason=req.reason,
    )
    protocol_name = result.protocol_name
    if protocol_name is None and version < 7:
        protocol_name = ""
    return JoinGroupResponse(
        error_code=result.error,
        generation_id=result.generation_id,
        protocol_type=result.protocol_type,
        protocol_name=protocol_name,
        leader=result.leader,
        skip_assignment=result.skip_assignment,
        member_id=result.member_id,
        members=[
            JoinGroupResponseMember(
                member_id=m.member_id, group_instance_id=m.group_instance_id, metadata=m.metadata
            )
            for m in result.members
        ],
    )
