"""ListGroups (API key 16), versions 0-5.

Every group of the ``__consumer_offsets`` partitions this broker leads, from the group
coordinator (:mod:`pybroker.coordinator`), with COORDINATOR_LOAD_IN_PROGRESS (and the groups
already loaded) while a partition is loading. Version 4+ filters by state and answers each
group's state (KIP-518), 5+ filters by type and answers it (KIP-848): every group here is a
"classic" group. Filters are case-insensitive; an empty filter matches everything.
"""

from __future__ import annotations

from protocol.messages.list_groups_request import ListGroupsRequest
from protocol.messages.list_groups_response import ListedGroup, ListGroupsResponse
from pybroker.context import RequestContext
from pybroker.handlers.registry import handles

CLASSIC = "classic"


@handles(ListGroupsRequest, 0, 5)
async def handle_list_groups(ctx: RequestContext, req: ListGroupsRequest) -> ListGroupsResponse:
    result = ctx.broker.group_coordinator.list_groups(req.states_filter, req.types_filter)
    return ListGroupsResponse(
        error_code=result.error,
        groups=[
            ListedGroup(
                group_id=g.group_id, protocol_type=g.protocol_type, group_state=g.state, group_type=CLASSIC
            )
            for g in result.groups
        ],
    )
