"""IncrementalAlterConfigs (API key 44), versions 0-1.

Changes only the named keys of a topic's overrides: SET (0), DELETE (1, back to the broker
default), and for list-type keys (``cleanup.policy``, the throttled-replica lists) APPEND (2)
and SUBTRACT (3) of comma-separated items, starting from the effective value when the topic has
no override. ``validate_only`` stops after validation. Checks per resource, as in Kafka 3.9: a
resource named twice, a key named twice, a null value for anything but DELETE or an unknown
operation is INVALID_REQUEST, as is APPEND/SUBTRACT on a key that is not a list; an unknown key
or bad value is INVALID_CONFIG (the whole resultant set of overrides is validated). A valid
change is persisted by the controller and applied at once to the partitions' logs.

BROKER resources (this broker's id or empty): DELETE of any key succeeds (pybroker has no
dynamic broker configs, so there is nothing to remove); SET/APPEND/SUBTRACT fail with
INVALID_REQUEST, the error Kafka gives for a read-only broker config. BROKER_LOGGER resources
(this broker's id): log levels cannot be changed, INVALID_REQUEST unless the change is empty.
"""

from __future__ import annotations

from protocol.error_codes import ErrorCode
from protocol.messages.incremental_alter_configs_request import IncrementalAlterConfigsRequest
from protocol.messages.incremental_alter_configs_response import (
    AlterConfigsResourceResponse,
    IncrementalAlterConfigsResponse,
)
from pybroker.config_describe import OpType, ResourceError, ResourceType, apply_incremental, check_broker_id
from pybroker.context import RequestContext
from pybroker.handlers.alter_configs import (
    check_broker_change,
    check_entries,
    commit_topic_configs,
    repeated_resources,
    topic_to_alter,
)
from pybroker.handlers.registry import handles

_OPS = frozenset(OpType)


@handles(IncrementalAlterConfigsRequest, 0, 1)
async def handle_incremental_alter_configs(
    ctx: RequestContext, req: IncrementalAlterConfigsRequest
) -> IncrementalAlterConfigsResponse:
    repeated = repeated_resources([(r.resource_type, r.resource_name) for r in req.resources])
    responses = []
    for r in req.resources:
        response = AlterConfigsResourceResponse(
            error_message=None, resource_type=r.resource_type, resource_name=r.resource_name
        )
        responses.append(response)
        try:
            if (r.resource_type, r.resource_name) in repeated:
                raise ResourceError(ErrorCode.INVALID_REQUEST, "Each resource must appear at most once.")
            check_entries(
                [c.name for c in r.configs],
                [c.name for c in r.configs if c.config_operation != OpType.DELETE and c.value is None],
            )
            for c in r.configs:
                if c.config_operation not in _OPS:
                    raise ResourceError(
                        ErrorCode.INVALID_REQUEST, f"Unknown operations type {c.config_operation}"
                    )
            if r.resource_type == ResourceType.TOPIC:
                topic = topic_to_alter(ctx, r.resource_name)
                ops = [(c.name, OpType(c.config_operation), c.value) for c in r.configs]
                overrides = apply_incremental(topic.configs, ops, ctx.broker.log_defaults)
                await commit_topic_configs(ctx, topic, overrides, req.validate_only)
            elif r.resource_type == ResourceType.BROKER:
                check_broker_change(
                    ctx, r.resource_name, [c.name for c in r.configs if c.config_operation != OpType.DELETE]
                )
            elif r.resource_type == ResourceType.BROKER_LOGGER:
                check_broker_id(r.resource_name, ctx.broker.broker_id, allow_empty=False)
                if r.configs:
                    raise ResourceError(
                        ErrorCode.INVALID_REQUEST, "pybroker does not support changing log levels"
                    )
            else:
                raise ResourceError(ErrorCode.INVALID_REQUEST, f"Unknown resource type {r.resource_type}")
        except ResourceError as exc:
            response.error_code, response.error_message = exc.code, exc.message
    return IncrementalAlterConfigsResponse(responses=responses)
