"""One module per Kafka API; importing this package registers them all in ``HANDLERS``."""

from pybroker.handlers import api_versions, metadata
from pybroker.handlers.registry import HANDLERS, HandlerSpec

__all__ = ["HANDLERS", "HandlerSpec", "api_versions", "metadata"]
