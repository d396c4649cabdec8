"""The broker's view of cluster metadata: topics, partitions, leaders, replicas, configs.

One :class:`MetadataCache` per broker, owned by the event loop. In standalone mode the local
controller (``pybroker.standalone``) is its only writer; in a ZooKeeper cluster the controller's
decisions arrive through ZooKeeper. Handlers only read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID


@dataclass(slots=True)
class PartitionState:
    """Leadership of one partition, as the controller decided it (Kafka's LeaderAndIsr)."""

    index: int
    leader: int
    leader_epoch: int
    replicas: list[int]
    isr: list[int]
    offline_replicas: list[int] = field(default_factory=list)


@dataclass(slots=True)
class TopicInfo:
    name: str
    topic_id: UUID
    partitions: dict[int, PartitionState]
    configs: dict[str, str] = field(default_factory=dict)  # topic-level overrides only

    @property
    def internal(self) -> bool:
        return self.name in INTERNAL_TOPICS


INTERNAL_TOPICS = frozenset({"__consumer_offsets", "__transaction_state"})


class MetadataCache:
    """Topics by name and by id."""

    def __init__(self) -> None:
        self.topics: dict[str, TopicInfo] = {}
        self.topic_ids: dict[UUID, TopicInfo] = {}

    def put(self, topic: TopicInfo) -> None:
        self.topics[topic.name] = topic
        self.topic_ids[topic.topic_id] = topic

    def remove(self, name: str) -> TopicInfo | None:
        topic = self.topics.pop(name, None)
        if topic is not None:
            self.topic_ids.pop(topic.topic_id, None)
        return topic

    def get(self, name: str) -> TopicInfo | None:
        return self.topics.get(name)

    def by_id(self, topic_id: UUID) -> TopicInfo | None:
        return self.topic_ids.get(topic_id)
