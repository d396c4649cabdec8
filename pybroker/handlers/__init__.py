"""One module per Kafka API; importing this package registers them all in ``HANDLERS``."""

from pybroker.handlers import (
    api_versions,
    create_partitions,
    create_topics,
    delete_topics,
    describe_cluster,
    fetch,
    init_producer_id,
    list_offsets,
    metadata,
    offset_for_leader_epoch,
    produce,
)
from pybroker.handlers.registry import HANDLERS, HandlerSpec

__all__ = [
    "HANDLERS",
    "HandlerSpec",
    "api_versions",
    "create_partitions",
    "create_topics",
    "delete_topics",
    "describe_cluster",
    "fetch",
    "init_producer_id",
    "list_offsets",
    "metadata",
    "offset_for_leader_epoch",
    "produce",
]
