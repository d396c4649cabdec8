"""Metadata (API key 3), versions 0-12.

Answers with the brokers reachable through the listener the request arrived on, the cluster id,
the controller id and the requested topics. A null topic list (or an empty one at v0) asks for
every topic. Topic names that are invalid get INVALID_TOPIC_EXCEPTION; unknown ones
UNKNOWN_TOPIC_OR_PARTITION.
"""

from __future__ import annotations

import re

from protocol.error_codes import ErrorCode
from protocol.messages.metadata_request import MetadataRequest
from protocol.messages.metadata_response import (
    MetadataResponse,
    MetadataResponseBroker,
    MetadataResponseTopic,
)
from protocol.primitives import ZERO_UUID
from pybroker.context import RequestContext
from pybroker.handlers.registry import handles

_LEGAL_TOPIC = re.compile(r"[a-zA-Z0-9._-]{1,249}")


def valid_topic_name(name: str) -> bool:
    """Kafka's ``Topic.validate``: 1-249 of [a-zA-Z0-9._-], and not "." or ".."."""
    return bool(_LEGAL_TOPIC.fullmatch(name)) and name not in (".", "..")


@handles(MetadataRequest, 0, 12)
async def handle_metadata(ctx: RequestContext, req: MetadataRequest) -> MetadataResponse:
    broker = ctx.broker
    brokers = [
        MetadataResponseBroker(node_id=b.broker_id, host=b.host, port=b.port, rack=b.rack)
        for b in broker.live_brokers(ctx.listener_name)
    ]
    requested = req.topics
    if ctx.api_version == 0 and not requested:
        requested = None
    topics = []
    if requested is not None:
        for t in requested:
            name = t.name
            if name is None:
                topics.append(
                    MetadataResponseTopic(
                        error_code=ErrorCode.UNKNOWN_TOPIC_ID, name=None, topic_id=t.topic_id
                    )
                )
                continue
            error = (
                ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                if valid_topic_name(name)
                else ErrorCode.INVALID_TOPIC_EXCEPTION
            )
            topics.append(MetadataResponseTopic(error_code=error, name=name, topic_id=ZERO_UUID))
    return MetadataResponse(
        brokers=brokers,
        cluster_id=broker.cluster_id,
        controller_id=broker.controller_id,
        topics=topics,
    )
