"""ListPartitionReassignments (API key 46), version 0: the reassignments in progress.

In ZooKeeper mode the active controller answers (Kafka's ``processListPartitionReassignments``):
with ``topics`` null every reassigning partition, otherwise those of the named partitions that
are being reassigned (others, known or not, are left out), each with its full replica set and
the replicas being added and removed. A broker that is not the controller answers a top-level
NOT_CONTROLLER. Standalone mode never has a reassignment in progress: the list is empty.
"""

from __future__ import annotations

from protocol.error_codes import ErrorCode
from protocol.messages.list_partition_reassignments_request import ListPartitionReassignmentsRequest
from protocol.messages.list_partition_reassignments_response import (
    ListPartitionReassignmentsResponse,
    OngoingPartitionReassignment,
    OngoingTopicReassignment,
)
from pybroker.cluster.controller import ControllerMovedError
from pybroker.context import RequestContext
from pybroker.handlers.registry import handles

NOT_CONTROLLER_MESSAGE = "This is not the correct controller for this cluster."


@handles(ListPartitionReassignmentsRequest, 0, 0)
async def handle_list_partition_reassignments(
    ctx: RequestContext, req: ListPartitionReassignmentsRequest
) -> ListPartitionReassignmentsResponse:
    broker = ctx.broker
    controller = broker.zk_controller
    if controller is None:
        if broker.zk_membership is not None:
            return ListPartitionReassignmentsResponse(
                error_code=ErrorCode.NOT_CONTROLLER, error_message=NOT_CONTROLLER_MESSAGE
            )
        return ListPartitionReassignmentsResponse(error_message=None)
    wanted = None
    if req.topics is not None:
        wanted = list(dict.fromkeys((t.name, p) for t in req.topics for p in t.partition_indexes))
    try:
        ongoing = controller.list_reassignments(wanted)
    except ControllerMovedError:
        return ListPartitionReassignmentsResponse(
            error_code=ErrorCode.NOT_CONTROLLER, error_message=NOT_CONTROLLER_MESSAGE
        )
    by_topic: dict[str, list[OngoingPartitionReassignment]] = {}
    for (topic, p), (replicas, adding, removing) in ongoing.items():
        by_topic.setdefault(topic, []).append(
            OngoingPartitionReassignment(
                partition_index=p, replicas=replicas, adding_replicas=adding, removing_replicas=removing
            )
        )
    return ListPartitionReassignmentsResponse(
        error_message=None,
        topics=[OngoingTopicReassignment(name=t, partitions=ps) for t, ps in by_topic.items()],
    )
