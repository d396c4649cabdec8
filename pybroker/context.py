"""What a handler knows about the request it is serving."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from protocol.message import Message
from protocol.messages.request_header import RequestHeader

if TYPE_CHECKING:
    from pybroker.broker import Broker


@dataclass(frozen=True, slots=True)
class Deferred:
    """A handler's answer that is only waiting now: its side effects are done, so the
    connection may take its next request while ``response`` completes (an acks=all produce
    waiting for the ISR). Responses still go out in request order."""

    response: Awaitable[Message | None]


@dataclass(slots=True)
class RequestContext:
    broker: Broker
    header: RequestHeader
    api_version: int
    listener_name: str
    client_host: str
    close_connection: str | None = None  # set by a handler: close after this request, with the reason

    @property
    def client_id(self) -> str | None:
        return self.header.client_id
