"""ElectLeaders (API key 43), versions 0-2: preferred (0) or unclean (1) leader elections.

In ZooKeeper mode the active controller runs the elections (Kafka's
``processReplicaLeaderElection``): ELECTION_NOT_NEEDED where the leader already is the preferred
replica (preferred) or is live (unclean), PREFERRED_LEADER_NOT_AVAILABLE /
ELIGIBLE_LEADERS_NOT_AVAILABLE when nobody can lead, UNKNOWN_TOPIC_OR_PARTITION for partitions
that do not exist. Without ``topic_partitions`` every partition is considered and, as Kafka's
KafkaApis does, those that needed no election are left out of the answer. A broker that is not
the controller answers NOT_CONTROLLER per partition. Version 0 (preferred only) has no top-level
error code. An election type other than 0 or 1 fails every partition (and the request, v1+)
with UNKNOWN_SERVER_ERROR, Kafka's answer to its ``ElectionType.valueOf`` failure.

Standalone mode is a one-broker cluster: this broker leads every partition and is every
partition's preferred replica, so each existing partition gets ELECTION_NOT_NEEDED.
"""

from __future__ import annotations

from protocol.error_codes import ErrorCode
from protocol.messages.elect_leaders_request import ElectLeadersRequest
from protocol.messages.elect_leaders_response import (
    ElectLeadersResponse,
    PartitionResult,
    ReplicaElectionResult,
)
from pybroker.context import RequestContext
from pybroker.handlers.registry import handles

ELECTION_NOT_NEEDED_MESSAGE = "Leader election not needed for topic partition."
NO_PARTITION_MESSAGE = "The partition does not exist."


def _response(
    results: dict[tuple[str, int], tuple[ErrorCode, str | None]], error: int = 0
) -> ElectLeadersResponse:
    by_topic: dict[str, list[PartitionResult]] = {}
    for (topic, p), (code, message) in results.items():
        by_topic.setdefault(topic, []).append(
            PartitionResult(partition_id=p, error_code=code, error_message=message)
        )
    return ElectLeadersResponse(
        error_code=error,
        replica_election_results=[
            ReplicaElectionResult(topic=t, partition_result=ps) for t, ps in by_topic.items()
        ],
    )


@handles(ElectLeadersRequest, 0, 2)
async def handle_elect_leaders(ctx: RequestContext, req: ElectLeadersRequest) -> ElectLeadersResponse:
    broker = ctx.broker
    election_type = req.election_type if ctx.api_version >= 1 else 0
    requested: list[tuple[str, int]] | None = None
    if req.topic_partitions is not None:
        requested = list(dict.fromkeys((t.topic, p) for t in req.topic_partitions for p in t.partitions))
    if election_type not in (0, 1):
        return _response(
            {tp: (ErrorCode.UNKNOWN_SERVER_ERROR, None) for tp in requested or []},
            ErrorCode.UNKNOWN_SERVER_ERROR,
        )
    controller = broker.zk_controller
    if controller is not None:
        return _response(await controller.elect_leaders(election_type, requested))
    known = {(t.name, p) for t in broker.metadata.topics.values() for p in t.partitions}
    if broker.zk_membership is not None:  # not the controller
        partitions = sorted(known) if requested is None else requested
        return _response({tp: (ErrorCode.NOT_CONTROLLER, None) for tp in partitions})
    if requested is None:
        return _response({})  # nothing needs an election in a one-broker cluster
    return _response(
        {
            tp: (ErrorCode.ELECTION_NOT_NEEDED, ELECTION_NOT_NEEDED_MESSAGE)
            if tp in known
            else (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, NO_PARTITION_MESSAGE)
            for tp in requested
        }
    )
