"""DescribeCluster (API key 60), versions 0-1.

The brokers reachable through the request's listener, the cluster id and the controller.
Version 1 adds ``endpoint_type``; only brokers (1) are described, controllers (2) get
UNSUPPORTED_ENDPOINT_TYPE as on a ZooKeeper-mode Kafka broker.
"""

from __future__ import annotations

from protocol.error_codes import ErrorCode
from protocol.messages.describe_cluster_request import DescribeClusterRequest
from protocol.messages.describe_cluster_response import DescribeClusterBroker, DescribeClusterResponse
from pybroker.context import RequestContext
from pybroker.handlers.registry import handles

BROKER_ENDPOINTS = 1


@handles(DescribeClusterRequest, 0, 1)
async def handle_describe_cluster(
    ctx: RequestContext, req: DescribeClusterRequest
) -> DescribeClusterResponse:
    broker = ctx.broker
    if req.endpoint_type != BROKER_ENDPOINTS:
        return DescribeClusterResponse(
            error_code=ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
            error_message="The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER",
            endpoint_type=req.endpoint_type,
        )
    return DescribeClusterResponse(
        cluster_id=broker.cluster_id,
        controller_id=broker.controller_id,
        endpoint_type=BROKER_ENDPOINTS,
        brokers=[
            DescribeClusterBroker(broker_id=b.broker_id, host=b.host, port=b.port, rack=b.rack)
            for b in broker.live_brokers(ctx.listener_name)
        ],
    )
