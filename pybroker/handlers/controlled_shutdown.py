"""ControlledShutdown (API key 7), versions 1-3: a broker asks the controller to move its
leaderships away before it stops.

In ZooKeeper mode the active controller does Kafka's ``doControlledShutdown``: leadership of the
partitions (with more than one replica) the broker leads moves to another live ISR member, the
broker leaves the ISR of those it follows and is never elected again until it re-registers; the
answer lists the partitions it still leads. STALE_BROKER_EPOCH for an epoch older than its
registration (v2+; v1 has no epoch), BROKER_NOT_AVAILABLE for a broker that is not registered. A
broker that is not the controller answers NOT_CONTROLLER.

Standalone mode is a one-broker cluster whose only broker is this one: nobody can take its
leaderships, so asking for itself succeeds with every partition still led here; any other id is
BROKER_NOT_AVAILABLE.
"""

from __future__ import annotations

from protocol.error_codes import ErrorCode
from protocol.messages.controlled_shutdown_request import ControlledShutdownRequest
from protocol.messages.controlled_shutdown_response import ControlledShutdownResponse, RemainingPartition
from pybroker.context import RequestContext
from pybroker.handlers.registry import handles


@handles(ControlledShutdownRequest, 1, 3)
async def handle_controlled_shutdown(
    ctx: RequestContext, req: ControlledShutdownRequest
) -> ControlledShutdownResponse:
    broker = ctx.broker
    epoch = req.broker_epoch if ctx.api_version >= 2 else -1
    controller = broker.zk_controller
    if controller is not None:
        error, remaining = await controller.controlled_shutdown(req.broker_id, epoch)
    elif broker.zk_membership is not None:
        error, remaining = ErrorCode.NOT_CONTROLLER, []
    elif req.broker_id != broker.broker_id:
        error, remaining = ErrorCode.BROKER_NOT_AVAILABLE, []
    else:
        error = ErrorCode.NONE
        remaining = sorted((t.name, p) for t in broker.metadata.topics.values() for p in t.partitions)
    return ControlledShutdownResponse(
        error_code=error,
        remaining_partitions=[RemainingPartition(topic_name=t, partition_index=p) for t, p in remaining],
    )
