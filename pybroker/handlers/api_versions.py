"""ApiVersions (API key 18), versions 0-4.

Advertises exactly the handlers registered in ``HANDLERS``. A request at a version this broker
does not know never reaches this handler: the connection layer answers it with a v0 response
carrying UNSUPPORTED_VERSION and the ApiVersions range, as Kafka does (KIP-511).
"""

from __future__ import annotations

import re

from protocol.error_codes import ErrorCode
from protocol.messages.api_versions_request import ApiVersionsRequest
from protocol.messages.api_versions_response import ApiVersion, ApiVersionsResponse
from pybroker.context import RequestContext
from pybroker.handlers.registry import HANDLERS, handles

# Kafka's ApiVersionsRequest.isValid(): client software name and version (v3+)
_SOFTWARE = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?")


def advertised_versions() -> list[ApiVersion]:
    return [
        ApiVersion(h.api_key, h.min_version, h.max_version)
        for h in sorted(HANDLERS.values(), key=lambda h: h.api_key)
    ]


def unsupported_version_response() -> ApiVersionsResponse:
    """The answer to an ApiVersions request at an unknown version (always sent as v0)."""
    spec = HANDLERS[ApiVersionsRequest.SPEC.api_key or 0]
    return ApiVersionsResponse(
        error_code=ErrorCode.UNSUPPORTED_VERSION,
        api_keys=[ApiVersion(spec.api_key, spec.min_version, spec.max_version)],
    )


@handles(ApiVersionsRequest, 0, 4)
async def handle_api_versions(ctx: RequestContext, req: ApiVersionsRequest) -> ApiVersionsResponse:
    if ctx.api_version >= 3 and not (
        _SOFTWARE.fullmatch(req.client_software_name) and _SOFTWARE.fullmatch(req.client_software_version)
    ):
        return ApiVersionsResponse(error_code=ErrorCode.INVALID_REQUEST)
    return ApiVersionsResponse(error_code=ErrorCode.NONE, api_keys=advertised_versions())
