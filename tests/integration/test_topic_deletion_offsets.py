"""Deleting a topic deletes the groups' committed offsets for it, as in Kafka."""

from __future__ import annotations

import time

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from tests.support.broker import BrokerProcess


def committed(admin: AdminClient, group: str) -> dict[tuple[str, int], int]:
    future = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group]
    result = future.result(timeout=20)
    return {(tp.topic, tp.partition): tp.offset for tp in result.topic_partitions}


def test_deleting_a_topic_drops_its_committed_offsets(shared_broker: BrokerProcess) -> None:
    admin = AdminClient({"bootstrap.servers": shared_broker.bootstrap})
    for topic in ("del-gone", "del-kept"):
        admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(timeout=20)
    consumer = Consumer({"bootstrap.servers": shared_broker.bootstrap, "group.id": "del-group"})
    try:
        consumer.commit(
            offsets=[TopicPartition("del-gone", 0, 5), TopicPartition("del-kept", 0, 7)], asynchronous=False
        )
    finally:
        consumer.close()
    assert committed(admin, "del-group") == {("del-gone", 0): 5, ("del-kept", 0): 7}
    admin.delete_topics(["del-gone"])["del-gone"].result(timeout=20)
    deadline = time.monotonic() + 20
    while committed(admin, "del-group") != {("del-kept", 0): 7} and time.monotonic() < deadline:
        time.sleep(0.2)
    assert committed(admin, "del-group") == {("del-kept", 0): 7}
