"""Standalone mode: topic metadata kept on local disk, this broker its own controller.

Without ``zookeeper.connect`` the broker is a one-node cluster. It leads every partition, so the
controller's work reduces to validating topic operations and remembering their outcome.

On-disk format: ``__pybroker_metadata.json`` in the first log directory, a JSON object
``{"version": 1, "producer_id_block_end", "topics": [{"name", "id" (hex UUID), "partitions"
(count), "leader_epoch", "configs" (topic overrides)}]}``. It is rewritten atomically (temporary file, fsync, rename,
directory fsync) after every change, so a crash leaves either the old or the new state. Every
start bumps each partition's leader epoch, as a ZooKeeper controller does when it re-elects a
broker that came back, so leader-epoch checkpoints stay meaningful across restarts.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Mapping
from pathlib import Path

from protocol.error_codes import ErrorCode
from pybroker.metadata import MetadataCache, PartitionState, TopicInfo
from storage.config import LogConfig

FILE_NAME = "__pybroker_metadata.json"
PRODUCER_ID_BLOCK = 1000
MAX_TOPIC_LENGTH = 249
_LEGAL = re.compile(r"[a-zA-Z0-9._-]+")


class TopicError(Exception):
    """A topic operation failed with a Kafka error code."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def validate_topic_name(name: str) -> None:
    """Kafka's ``Topic.validate``: raises INVALID_TOPIC_EXCEPTION with Kafka's reasons."""
    if not name:
        raise TopicError(ErrorCode.INVALID_TOPIC_EXCEPTION, "Topic name is illegal, it can't be empty")
    if name in (".", ".."):
        raise TopicError(ErrorCode.INVALID_TOPIC_EXCEPTION, 'Topic name cannot be "." or ".."')
    if len(name) > MAX_TOPIC_LENGTH:
        raise TopicError(
            ErrorCode.INVALID_TOPIC_EXCEPTION,
            f"Topic name is illegal, it can't be longer than {MAX_TOPIC_LENGTH} characters",
        )
    if not _LEGAL.fullmatch(name):
        raise TopicError(
            ErrorCode.INVALID_TOPIC_EXCEPTION,
            f"Topic name \"{name}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'",
        )


def validate_topic_configs(configs: Mapping[str, str | None]) -> None:
    """Reject unknown keys or bad values with INVALID_CONFIG, as Kafka's LogConfig.validate."""
    try:
        LogConfig.validate_overrides({k: v for k, v in configs.items() if v is not None})
    except ValueError as exc:
        raise TopicError(ErrorCode.INVALID_CONFIG, str(exc)) from None


class StandaloneController:
    """Creates, deletes and alters topics for a one-broker cluster, persisting every change."""

    def __init__(self, broker_id: int, log_dir: Path, cache: MetadataCache, default_partitions: int) -> None:
        self.broker_id = broker_id
        self.path = log_dir / FILE_NAME
        self.cache = cache
        self.default_partitions = default_partitions
        self.next_producer_id = 0
        self._reserved = 0

    # -- persistence -------------------------------------------------------------------------

    def load(self) -> None:
        """Load topics from disk and bump every leader epoch (this start is a new election)."""
        if self.path.exists():
            data = json.loads(self.path.read_text())
            for t in data["topics"]:
                epoch = int(t.get("leader_epoch", 0)) + 1
                partitions = {
                    p: PartitionState(p, self.broker_id, epoch, [self.broker_id], [self.broker_id])
                    for p in range(int(t["partitions"]))
                }
                self.cache.put(
                    TopicInfo(t["name"], uuid.UUID(hex=t["id"]), partitions, dict(t.get("configs", {})))
                )
            # ids handed out before a crash are never reused: skip past the saved high-water mark
            self.next_producer_id = self._reserved = int(data.get("producer_id_block_end", 0))
        self._save()

    def _save(self) -> None:
        topics = [
            {
                "name": t.name,
                "id": t.topic_id.hex,
                "partitions": len(t.partitions),
                "leader_epoch": max((p.leader_epoch for p in t.partitions.values()), default=0),
                "configs": t.configs,
            }
            for t in sorted(self.cache.topics.values(), key=lambda t: t.name)
        ]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w") as f:
            json.dump({"version": 1, "producer_id_block_end": self._reserved, "topics": topics}, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def allocate_producer_id(self) -> int:
        """A producer id never handed out before, in this cluster's lifetime.

        Ids are reserved in blocks of ``PRODUCER_ID_BLOCK`` whose end is written to disk before
        any id of the block is used (Kafka's controller allocates blocks the same way), so a
        crash skips the rest of a block rather than ever reusing an id.
        """
        if self.next_producer_id >= self._reserved:
            self._reserved = self.next_producer_id + PRODUCER_ID_BLOCK
            self._save()
        pid = self.next_producer_id
        self.next_producer_id += 1
        return pid

    # -- topic operations --------------------------------------------------------------------

    def check_create(
        self, name: str, num_partitions: int, replication_factor: int, configs: Mapping[str, str | None]
    ) -> int:
        """Validate a topic creation; returns the partition count it would get."""
        validate_topic_name(name)
        if name in self.cache.topics:
            raise TopicError(ErrorCode.TOPIC_ALREADY_EXISTS, f"Topic '{name}' already exists.")
        collides = name.replace(".", "_")
        for existing in self.cache.topics:
            if existing.replace(".", "_") == collides:
                raise TopicError(
                    ErrorCode.INVALID_TOPIC_EXCEPTION,
                    f"Topic '{name}' collides with existing topic: {existing}",
                )
        if num_partitions == -1:
            num_partitions = self.default_partitions
        if num_partitions <= 0:
            raise TopicError(ErrorCode.INVALID_PARTITIONS, "Number of partitions must be larger than 0.")
        if replication_factor == 0 or replication_factor < -1:
            raise TopicError(
                ErrorCode.INVALID_REPLICATION_FACTOR, "Replication factor must be larger than 0."
            )
        if replication_factor > 1:
            raise TopicError(
                ErrorCode.INVALID_REPLICATION_FACTOR,
                f"Unable to replicate the partition {replication_factor} time(s): The target replication factor "
                f"of {replication_factor} cannot be reached because only 1 broker(s) are registered.",
            )
        validate_topic_configs(configs)
        return num_partitions

    def create_topic(
        self, name: str, num_partitions: int, replication_factor: int, configs: Mapping[str, str | None]
    ) -> TopicInfo:
        count = self.check_create(name, num_partitions, replication_factor, configs)
        partitions = {
            p: PartitionState(p, self.broker_id, 0, [self.broker_id], [self.broker_id]) for p in range(count)
        }
        topic = TopicInfo(name, uuid.uuid4(), partitions, {k: v for k, v in configs.items() if v is not None})
        self.cache.put(topic)
        self._save()
        return topic

    def delete_topic(self, name: str) -> TopicInfo:
        topic = self.cache.get(name)
        if topic is None:
            raise TopicError(
                ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "This server does not host this topic-partition."
            )
        self.cache.remove(name)
        self._save()
        return topic

    def check_create_partitions(self, name: str, count: int) -> TopicInfo:
        topic = self.cache.get(name)
        if topic is None:
            raise TopicError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"The topic '{name}' does not exist.")
        current = len(topic.partitions)
        if count < current:
            raise TopicError(
                ErrorCode.INVALID_PARTITIONS,
                f"Topic currently has {current} partitions, which is higher than the requested {count}.",
            )
        if count == current:
            raise TopicError(ErrorCode.INVALID_PARTITIONS, f"Topic already has {current} partitions.")
        return topic

    def create_partitions(self, name: str, count: int) -> TopicInfo:
        topic = self.check_create_partitions(name, count)
        for p in range(len(topic.partitions), count):
            topic.partitions[p] = PartitionState(p, self.broker_id, 0, [self.broker_id], [self.broker_id])
        self._save()
        return topic

    def set_topic_configs(self, name: str, configs: Mapping[str, str]) -> None:
        """Replace a topic's overrides (already validated by the caller)."""
        topic = self.cache.get(name)
        if topic is None:
            raise TopicError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Topic {name} does not exist.")
        topic.configs = dict(configs)
        self._save()
