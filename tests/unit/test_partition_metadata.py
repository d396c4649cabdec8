"""partition.metadata (KIP-516): Kafka's file format, and a broker dropping the log of an earlier
topic that had the same name."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from protocol.records import set_base_offset
from pybroker.metadata import MetadataCache, PartitionState, TopicInfo
from pybroker.replica_manager import ReplicaManager
from storage.config import LogConfig
from storage.log_manager import LogManager
from storage.partition_metadata import (
    PARTITION_METADATA_FILE,
    PartitionMetadataError,
    read_topic_id,
    write_topic_id,
)
from tests.unit.test_storage_support import batch

TOPIC_ID = uuid.UUID("6c1a8a5e-3b0f-4d2c-9a57-0e6f2b1d4c33")


def test_written_as_kafka_writes_it(tmp_path: Path) -> None:
    write_topic_id(tmp_path, TOPIC_ID)
    # Kafka: "version: " + version + "\ntopic_id: " + Uuid.toString() (URL-safe base64, no padding)
    assert (tmp_path / PARTITION_METADATA_FILE).read_text() == "version: 0\ntopic_id: bBqKXjsPTSyaVw5vKx1MMw"
    assert read_topic_id(tmp_path) == TOPIC_ID
    assert read_topic_id(tmp_path / "elsewhere") is None


def test_reader_takes_kafka_spacing_and_rejects_other_files(tmp_path: Path) -> None:
    (tmp_path / PARTITION_METADATA_FILE).write_text("version:   0\ntopic_id:\tbBqKXjsPTSyaVw5vKx1MMw\n")
    assert read_topic_id(tmp_path) == TOPIC_ID
    for text in ("version: 1\ntopic_id: bBqKXjsPTSyaVw5vKx1MMw", "version: 0\n", "version: 0\ntopic_id: !!"):
        (tmp_path / PARTITION_METADATA_FILE).write_text(text)
        with pytest.raises(PartitionMetadataError):
            read_topic_id(tmp_path)


def open_partition(manager: LogManager, topic_id: uuid.UUID) -> ReplicaManager:
    """A standalone-style replica manager that hosts (leads) partition 0 of topic ``t``."""
    metadata = MetadataCache()
    replicas = ReplicaManager(1, metadata, lambda _topic: LogConfig(segment_index_bytes=4096))
    replicas.log_manager = manager
    replicas.ensure_partitions(TopicInfo("t", topic_id, {0: PartitionState(0, 1, 0, [1], [1])}))
    return replicas


def test_log_of_an_earlier_topic_with_the_same_name_is_dropped(tmp_path: Path) -> None:
    first = LogManager([tmp_path], LogConfig(segment_index_bytes=4096))
    hosting = open_partition(first, TOPIC_ID)
    log = hosting.partitions[("t", 0)].log
    assert read_topic_id(log.dir) == TOPIC_ID  # recorded when the partition was first opened
    data = bytearray(batch(3))
    set_base_offset(data, 0, 0)
    log.append_as_follower(data)
    first.close()

    same = LogManager([tmp_path], LogConfig(segment_index_bytes=4096))
    assert open_partition(same, TOPIC_ID).partitions[("t", 0)].log.log_end_offset == 3  # same topic: kept
    same.close()

    reborn = uuid.UUID("0f0e0d0c-0b0a-4908-8706-050403020100")
    again = LogManager([tmp_path], LogConfig(segment_index_bytes=4096))
    log = open_partition(again, reborn).partitions[("t", 0)].log
    assert log.log_end_offset == 0 and log.log_start_offset == 0  # the old records are gone
    assert read_topic_id(log.dir) == reborn
    again.tick()  # removes the old directory (renamed "-delete" at once)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("t-0")] == ["t-0"]
    again.close()
