"""Registration of request handlers; the registry is also what ApiVersions advertises.

Each API lives in its own module under ``pybroker.handlers`` and registers one coroutine with
the range of versions it implements and is tested at. Nothing else feeds ApiVersions, so the
broker never advertises a version it cannot serve.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from protocol.message import Message

if TYPE_CHECKING:
    from pybroker.context import Deferred, RequestContext

Handler = Callable[["RequestContext", Any], Awaitable["Message | Deferred | None"]]
H = TypeVar("H", bound=Handler)


@dataclass(frozen=True, slots=True)
class HandlerSpec:
    api_key: int
    name: str
    min_version: int
    max_version: int
    fn: Handler

    def supports(self, version: int) -> bool:
        return self.min_version <= version <= self.max_version


HANDLERS: dict[int, HandlerSpec] = {}


def handles(request_cls: type[Message], min_version: int, max_version: int) -> Callable[[H], H]:
    """Register ``fn`` as the handler of ``request_cls`` for the given versions.

    The handler returns the response body, or None when no response is sent (Produce acks=0).
    """
    spec = request_cls.SPEC
    assert spec.api_key is not None
    api_key: int = spec.api_key
    if not (spec.valid[0] <= min_version <= max_version <= spec.valid[1]):
        raise ValueError(
            f"{spec.name}: versions {min_version}-{max_version} outside the schema's {spec.valid}"
        )

    def register(fn: H) -> H:
        if api_key in HANDLERS:
            raise ValueError(f"{spec.name} registered twice")
        HANDLERS[api_key] = HandlerSpec(
            api_key, spec.name.removesuffix("Request"), min_version, max_version, fn
        )
        return fn

    return register
