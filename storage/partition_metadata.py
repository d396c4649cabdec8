"""``partition.metadata``: the topic id a partition directory belongs to (Kafka's KIP-516 file).

A topic can be deleted and created again under the same name while a replica's broker is down;
the directory that broker still has is then named like the new topic's but holds the old one's
records. The topic id tells them apart. Format (Kafka's ``PartitionMetadataFile``), UTF-8::

    version: 0
    topic_id: <the id as Kafka prints a Uuid: URL-safe base64 of its 16 bytes, no padding>

with no newline after the id, as Kafka writes it. Written atomically (temporary file, fsync, rename, directory fsync) when a broker first opens the
partition for a topic with a known id; never changed afterwards. A directory from before topic
ids has no file and takes the id of the topic that opens it.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from protocol.uuid_text import parse_uuid_text, uuid_text
from storage.checkpoint import write_atomically

PARTITION_METADATA_FILE = "partition.metadata"
VERSION = 0
_SEPARATOR = re.compile(r":\s+")  # Kafka's reader splits each line on this


class PartitionMetadataError(ValueError):
    """The file exists but is not a version-0 ``partition.metadata``."""


def read_topic_id(directory: Path) -> uuid.UUID | None:
    """The topic id recorded in ``directory``, or None if it has no ``partition.metadata``."""
    try:
        text = (directory / PARTITION_METADATA_FILE).read_text("utf-8")
    except FileNotFoundError:
        return None
    fields = dict(_SEPARATOR.split(line.strip(), 1) for line in text.splitlines() if _SEPARATOR.search(line))
    if fields.get("version") != str(VERSION) or "topic_id" not in fields:
        raise PartitionMetadataError(f"unreadable {directory / PARTITION_METADATA_FILE}: {text[:100]!r}")
    encoded = fields["topic_id"].strip()
    try:
        return parse_uuid_text(encoded)
    except ValueError as exc:
        raise PartitionMetadataError(f"bad topic id {encoded!r} in {directory / PARTITION_METADATA_FILE}") from exc


def write_topic_id(directory: Path, topic_id: uuid.UUID) -> None:
    text = f"version: {VERSION}\ntopic_id: {uuid_text(topic_id)}"
    write_atomically(directory / PARTITION_METADATA_FILE, text.encode("utf-8"))
