"""Kafka's text form of a ``Uuid`` (``Uuid.toString`` / ``Uuid.fromString``): the 16 bytes in
URL-safe base64 without padding, 22 characters. Cluster ids and topic ids are written this way
in ``meta.properties``, ZooKeeper znodes and ``partition.metadata``."""

from __future__ import annotations

import base64
import uuid


def uuid_text(value: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(value.bytes).decode("ascii").rstrip("=")


def parse_uuid_text(text: str) -> uuid.UUID:
    """The UUID ``text`` names; ValueError if it is not 16 bytes of URL-safe base64."""
    return uuid.UUID(bytes=base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def new_uuid_text() -> str:
    """A random UUID in Kafka's text form (new cluster ids and topic ids)."""
    return uuid_text(uuid.uuid4())
