"""AlterConfigs (API key 33), versions 0-2.

Replaces the whole set of a topic's overrides (keys left out return to the broker default), as
Kafka's legacy AlterConfigs does; ``validate_only`` stops after validation. Per resource, as
Kafka 3.9 checks them: a resource named twice, a config key named twice or a null value is
INVALID_REQUEST; for a topic, the empty name is INVALID_REQUEST, an unknown topic
UNKNOWN_TOPIC_OR_PARTITION and an unknown key or bad value INVALID_CONFIG. A valid change is
persisted by the controller and applied at once to the partitions' logs (``max.message.bytes``
on the next produce, retention at the next retention check).

BROKER resources: pybroker has no dynamic broker configs, so any change fails with
INVALID_REQUEST ("Cannot update these configs dynamically"), the error Kafka gives for a
read-only broker config; an empty change succeeds (there is nothing to reset). Other resource
types are INVALID_REQUEST.

The helpers here are shared with IncrementalAlterConfigs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from protocol.error_codes import ErrorCode
from protocol.messages.alter_configs_request import AlterConfigsRequest
from protocol.messages.alter_configs_response import AlterConfigsResourceResponse, AlterConfigsResponse
from pybroker.config_describe import ResourceError, ResourceType, check_broker_id, validate_topic_overrides
from pybroker.context import RequestContext
from pybroker.handlers.registry import handles
from pybroker.metadata import TopicInfo


def repeated_resources(resources: Sequence[tuple[int, str]]) -> set[tuple[int, str]]:
    """The (type, name) pairs named more than once in one request."""
    return {key for key, n in Counter(resources).items() if n > 1}


def check_entries(names: Sequence[str], null_names: Sequence[str]) -> None:
    """Kafka's per-resource preprocessing: no key twice, no null value where one is needed."""
    if len(set(names)) != len(names):
        raise ResourceError(ErrorCode.INVALID_REQUEST, "Error due to duplicate config keys")
    if null_names:
        raise ResourceError(
            ErrorCode.INVALID_REQUEST, "Null value not supported for : " + ", ".join(null_names)
        )


def check_broker_change(ctx: RequestContext, name: str, changed: Iterable[str]) -> None:
    """A BROKER resource: this broker (or empty); any key to set fails, configs being static."""
    check_broker_id(name, ctx.broker.broker_id, allow_empty=True)
    keys = sorted(set(changed))
    if keys:
        raise ResourceError(
            ErrorCode.INVALID_REQUEST,
            f"Cannot update these configs dynamically: {', '.join(keys)} "
            "(pybroker has no dynamic broker configs: set them in server.properties)",
        )


def topic_to_alter(ctx: RequestContext, name: str) -> TopicInfo:
    if not name:
        raise ResourceError(ErrorCode.INVALID_REQUEST, "Default topic resources are not allowed.")
    topic = ctx.broker.metadata.get(name)
    if topic is None:
        raise ResourceError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"The topic '{name}' does not exist.")
    return topic


async def commit_topic_configs(
    ctx: RequestContext, topic: TopicInfo, overrides: Mapping[str, str], validate_only: bool
) -> None:
    """Validate a topic's complete new overrides; unless ``validate_only``, persist and apply them."""
    broker = ctx.broker
    validate_topic_overrides(topic.name, broker.log_defaults, overrides)
    if validate_only:
        return
    await broker.topic_admin.set_topic_configs(topic, overrides)


@handles(AlterConfigsRequest, 0, 2)
async def handle_alter_configs(ctx: RequestContext, req: AlterConfigsRequest) -> AlterConfigsResponse:
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
            check_entries([c.name for c in r.configs], [c.name for c in r.configs if c.value is None])
            configs = {c.name: c.value for c in r.configs if c.value is not None}
            if r.resource_type == ResourceType.TOPIC:
                topic = topic_to_alter(ctx, r.resource_name)
                await commit_topic_configs(ctx, topic, configs, req.validate_only)
            elif r.resource_type == ResourceType.BROKER:
                check_broker_change(ctx, r.resource_name, configs)
            else:
                raise ResourceError(ErrorCode.INVALID_REQUEST, f"Unknown resource type {r.resource_type}")
        except ResourceError as exc:
            response.error_code, response.error_message = exc.code, exc.message
    return AlterConfigsResponse(responses=responses)
