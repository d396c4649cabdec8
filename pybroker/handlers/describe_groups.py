"""DescribeGroups (API key 15), versions 0-5.

Each group's state, protocol and members from the group coordinator
(:mod:`pybroker.coordinator`); member metadata and assignments and the protocol name only while
the group is Stable, as in Kafka. An unknown group is described as "Dead" with no error (the
GROUP_ID_NOT_FOUND error is a version 6 addition), a group of a partition this broker does not
lead gets NOT_COORDINATOR and an empty state. Version 3+ answers ``authorized_operations`` when
asked: with no authorizer, every operation a group supports (READ, DELETE, DESCRIBE); 4+
carries ``group.instance.id``.
"""

from __future__ import annotations

from protocol.error_codes import ErrorCode
from protocol.messages.describe_groups_request import DescribeGroupsRequest
from protocol.messages.describe_groups_response import (
    DescribedGroup,
    DescribedGroupMember,
    DescribeGroupsResponse,
)
from pybroker.context import RequestContext
from pybroker.handlers.registry import handles

# AclOperation codes READ (3), DELETE (6), DESCRIBE (8) as a bit field
GROUP_OPERATIONS = (1 << 3) | (1 << 6) | (1 << 8)
OPERATIONS_OMITTED = -(2**31)


@handles(DescribeGroupsRequest, 0, 5)
async def handle_describe_groups(ctx: RequestContext, req: DescribeGroupsRequest) -> DescribeGroupsResponse:
    operations = GROUP_OPERATIONS if req.include_authorized_operations else OPERATIONS_OMITTED
    groups = []
    for d in ctx.broker.group_coordinator.describe_groups(req.groups):
        error = ErrorCode.NONE if d.error == ErrorCode.GROUP_ID_NOT_FOUND else d.error
        groups.append(
            DescribedGroup(
                error_code=error,
                group_id=d.group_id,
                group_state=d.state,
                protocol_type=d.protocol_type,
                protocol_data=d.protocol,
                members=[
                    DescribedGroupMember(
                        member_id=m.member_id,
                        group_instance_id=m.group_instance_id,
                        client_id=m.client_id,
                        client_host=m.client_host,
                        member_metadata=m.metadata,
                        member_assignment=m.assignment,
                    )
                    for m in d.members
                ],
                authorized_operations=operations if error == ErrorCode.NONE else OPERATIONS_OMITTED,
            )
        )
    return DescribeGroupsResponse(groups=groups)
