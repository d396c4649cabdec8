"""AlterPartitionReassignments (API key 45), version 0: start, replace or cancel reassignments.

In ZooKeeper mode the active controller handles them (KIP-455, Kafka's
``processApiPartitionReassignment``): a replica list starts (or replaces) a reassignment, a null
one cancels it. Per-partition errors as Kafka's controller: INVALID_REPLICA_ASSIGNMENT (empty,
duplicate or negative ids, new replicas on brokers that are not alive),
NO_REASSIGNMENT_IN_PROGRESS (cancelling nothing), UNKNOWN_TOPIC_OR_PARTITION. A broker that is
not the controller answers a top-level NOT_CONTROLLER.

Standalone mode is a one-broker cluster: the same validation with this broker as the only live
one, so the only valid target is this broker alone, which is the current assignment and
completes at once (NONE); nothing is ever in progress to cancel.
"""

from __future__ import annotations

from protocol.error_codes import ErrorCode
from protocol.messages.alter_partition_reassignments_request import AlterPartitionReassignmentsRequest
from protocol.messages.alter_partition_reassignments_response import (
    AlterPartitionReassignmentsResponse,
    ReassignablePartitionResponse,
    ReassignableTopicResponse,
)
from pybroker.cluster.assignment import dead_replicas_error, replica_list_error
from pybroker.cluster.controller import ControllerMovedError
from pybroker.context import RequestContext
from pybroker.handlers.registry import handles

NOT_CONTROLLER_MESSAGE = "This is not the correct controller for this cluster."


def _standalone(
    broker_id: int, known: set[tuple[str, int]], tp: tuple[str, int], replicas: list[int] | None
) -> tuple[ErrorCode, str | None]:
    """Kafka's controller logic for a cluster whose only live broker is ``broker_id``."""
    if replicas is not None:
        current = [broker_id] if tp in known else []
        error = replica_list_error(replicas) or dead_replicas_error(
            [r for r in replicas if r not in current], [broker_id]
        )
        if error is not None:
            return error
    if replicas is None:
        return ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, "No partition reassignment is in progress."
    if tp not in known:
        return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "The partition does not exist."
    return ErrorCode.NONE, None


@handles(AlterPartitionReassignmentsRequest, 0, 0)
async def handle_alter_partition_reassignments(
    ctx: RequestContext, req: AlterPartitionReassignmentsRequest
) -> AlterPartitionReassignmentsResponse:
    broker = ctx.broker
    targets: dict[tuple[str, int], list[int] | None] = {}
    for t in req.topics:
        for part in t.partitions:
            targets[(t.name, part.partition_index)] = None if part.replicas is None else list(part.replicas)
    controller = broker.zk_controller
    if controller is None and broker.zk_membership is not None:
        return AlterPartitionReassignmentsResponse(
            error_code=ErrorCode.NOT_CONTROLLER, error_message=NOT_CONTROLLER_MESSAGE
        )
    if controller is not None:
        try:
            results = await controller.alter_reassignments(targets)
        except ControllerMovedError:
            return AlterPartitionReassignmentsResponse(
                error_code=ErrorCode.NOT_CONTROLLER, error_message=NOT_CONTROLLER_MESSAGE
            )
    else:
        known = {(t.name, p) for t in broker.metadata.topics.values() for p in t.partitions}
        results = {tp: _standalone(broker.broker_id, known, tp, r) for tp, r in targets.items()}
    by_topic: dict[str, list[ReassignablePartitionResponse]] = {}
    for (topic, p), (code, message) in results.items():
        by_topic.setdefault(topic, []).append(
            ReassignablePartitionResponse(partition_index=p, error_code=code, error_message=message)
        )
    return AlterPartitionReassignmentsResponse(
        error_message=None,
        responses=[ReassignableTopicResponse(name=t, partitions=ps) for t, ps in by_topic.items()],
    )
