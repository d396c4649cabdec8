"""What a handler knows about the request it is serving."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from protocol.messages.request_header import RequestHeader

if TYPE_CHECKING:
    from pybroker.broker import Broker


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
