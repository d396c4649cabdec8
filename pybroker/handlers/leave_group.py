"""LeaveGroup (API key 13), versions 0-5.

Versions 0-2 remove the one ``member_id`` and answer a single error (the group's, else the
member's). Version 3+ removes a batch of members (KIP-345), each by member id and/or
``group.instance.id`` (an instance id alone removes whoever holds it, as the admin client
does), and answers per member; 5+ carries a reason per member (KIP-800).
"""

from __future__ import annotations

from protocol.error_codes import ErrorCode
from protocol.messages.leave_group_request import LeaveGroupRequest
from protocol.messages.leave_group_response import LeaveGroupResponse, MemberResponse
from pybroker.context import RequestContext
from pybroker.coordinator import LeavingMember
from pybroker.handlers.registry import handles


@handles(LeaveGroupRequest, 0, 5)
async def handle_leave_group(ctx: RequestContext, req: LeaveGroupRequest) -> LeaveGroupResponse:
    if ctx.api_version < 3:
        members = [LeavingMember(req.member_id)]
    else:
        members = [LeavingMember(m.member_id, m.group_instance_id, m.reason) for m in req.members]
    result = ctx.broker.group_coordinator.leave_group(req.group_id, members)
    if ctx.api_version < 3:
        error = result.error
        if error == ErrorCode.NONE:
            error = next((m.error for m in result.members if m.error != ErrorCode.NONE), ErrorCode.NONE)
        return LeaveGroupResponse(error_code=error)
    return LeaveGroupResponse(
        error_code=result.error,
        members=[
            MemberResponse(member_id=m.member_id, group_instance_id=m.group_instance_id, error_code=m.error)
            for m in result.members
        ],
    )
