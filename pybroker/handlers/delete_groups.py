"""DeleteGroups (API key 42), versions 0-2.

Deletes groups with no members, and their committed offsets, through the group coordinator
(:mod:`pybroker.coordinator`), writing tombstones to ``__consumer_offsets``. Per group:
NON_EMPTY_GROUP while it has members, GROUP_ID_NOT_FOUND when unknown, NOT_COORDINATOR when its
partition is not led here.
"""

from __future__ import annotations

from protocol.messages.delete_groups_request import DeleteGroupsRequest
from protocol.messages.delete_groups_response import DeletableGroupResult, DeleteGroupsResponse
from pybroker.context import RequestContext
from pybroker.handlers.registry import handles


@handles(DeleteGroupsRequest, 0, 2)
async def handle_delete_groups(ctx: RequestContext, req: DeleteGroupsRequest) -> DeleteGroupsResponse:
    errors = ctx.broker.group_coordinator.delete_groups(req.groups_names)
    return DeleteGroupsResponse(
        results=[DeletableGroupResult(group_id=g, error_code=errors[g]) for g in req.groups_names]
    )
