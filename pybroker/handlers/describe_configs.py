"""DescribeConfigs (API key 32), versions 0-4.

TOPIC resources: every topic config with its effective value and source (v1+), synonyms when
``include_synonyms`` (v1+), type and documentation (v3+, documentation only when
``include_documentation``); v0 reports ``is_default`` instead of a source. BROKER resources: this
broker's id gives every broker config (all read-only: pybroker has no dynamic broker configs);
the empty name (cluster-wide dynamic defaults) gives none. BROKER_LOGGER: this broker's id gives
an empty list (log levels are not exposed). ``configuration_keys`` null or empty means all keys.
Errors are per resource, as in Kafka: an illegal topic name is INVALID_TOPIC_EXCEPTION, an unknown
topic UNKNOWN_TOPIC_OR_PARTITION, another broker's id or an unsupported resource type
INVALID_REQUEST. See :mod:`pybroker.config_describe`.
"""

from __future__ import annotations

from protocol.error_codes import ErrorCode
from protocol.messages.describe_configs_request import DescribeConfigsRequest, DescribeConfigsResource
from protocol.messages.describe_configs_response import (
    DescribeConfigsResourceResult,
    DescribeConfigsResponse,
    DescribeConfigsResult,
    DescribeConfigsSynonym,
)
from pybroker.config_describe import (
    ConfigSource,
    DescribedConfig,
    ResourceError,
    ResourceType,
    check_broker_id,
    describe_broker,
    describe_topic,
)
from pybroker.context import RequestContext
from pybroker.handlers.registry import handles
from pybroker.standalone import TopicError, validate_topic_name


def _configs(ctx: RequestContext, resource: DescribeConfigsResource) -> list[DescribedConfig]:
    broker = ctx.broker
    name = resource.resource_name
    kind = resource.resource_type
    if kind == ResourceType.TOPIC:
        try:
            validate_topic_name(name)
        except TopicError as exc:
            raise ResourceError(exc.code, exc.message) from None
        topic = broker.metadata.get(name)
        if topic is None:
            raise ResourceError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"The topic '{name}' does not exist.")
        return describe_topic(broker.topic_config(topic), topic.configs, broker.config.raw)
    if kind == ResourceType.BROKER:
        check_broker_id(name, broker.broker_id, allow_empty=True)
        return describe_broker(broker.config.raw) if name else []
    if kind == ResourceType.BROKER_LOGGER:
        check_broker_id(name, broker.broker_id, allow_empty=False)
        return []
    raise ResourceError(ErrorCode.INVALID_REQUEST, f"Unsupported resource type: {kind}")


def _entry(c: DescribedConfig, synonyms: bool, documentation: bool) -> DescribeConfigsResourceResult:
    return DescribeConfigsResourceResult(
        name=c.name,
        value=c.value,
        read_only=c.read_only,
        is_default=c.source == ConfigSource.DEFAULT_CONFIG,
        config_source=c.source,
        is_sensitive=c.sensitive,
        synonyms=[DescribeConfigsSynonym(s.name, s.value, s.source) for s in c.synonyms] if synonyms else [],
        config_type=c.type,
        documentation=c.doc if documentation else None,
    )


@handles(DescribeConfigsRequest, 0, 4)
async def handle_describe_configs(
    ctx: RequestContext, req: DescribeConfigsRequest
) -> DescribeConfigsResponse:
    results = []
    for resource in req.resources:
        result = DescribeConfigsResult(
            error_message=None, resource_type=resource.resource_type, resource_name=resource.resource_name
        )
        results.append(result)
        try:
            configs = _configs(ctx, resource)
        except ResourceError as exc:
            result.error_code, result.error_message = exc.code, exc.message
            continue
        wanted = set(resource.configuration_keys or ())
        result.configs = [
            _entry(c, req.include_synonyms, req.include_documentation)
            for c in configs
            if not wanted or c.name in wanted
        ]
    return DescribeConfigsResponse(results=results)
