"""Byte-for-byte cross-check of the generated codec against kafka-python's own encoders.

kafka-python 3.x builds its request/response classes from the same Kafka JSON schemas with
an independent implementation. For each API below and each version both sides know, a random
message is encoded by both and the bytes must be identical; kafka-python's bytes must also
decode with ours to the same message.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kafka.protocol.consumer import FetchRequest as KFetchRequest
from kafka.protocol.consumer import FetchResponse as KFetchResponse
from kafka.protocol.consumer.group import JoinGroupRequest as KJoinGroupRequest
from kafka.protocol.consumer.group import JoinGroupResponse as KJoinGroupResponse
from kafka.protocol.consumer.group import OffsetCommitRequest as KOffsetCommitRequest
from kafka.protocol.consumer.group import OffsetCommitResponse as KOffsetCommitResponse
from kafka.protocol.metadata import ApiVersionsRequest as KApiVersionsRequest
from kafka.protocol.metadata import ApiVersionsResponse as KApiVersionsResponse
from kafka.protocol.metadata import MetadataRequest as KMetadataRequest
from kafka.protocol.metadata import MetadataResponse as KMetadataResponse
from kafka.protocol.producer import ProduceRequest as KProduceRequest
from kafka.protocol.producer import ProduceResponse as KProduceResponse

from protocol import messages as m
from protocol.schema import in_range
from tests.strategies import message_strategy

PAIRS = [
    (m.ProduceRequest, KProduceRequest),
    (m.ProduceResponse, KProduceResponse),
    (m.FetchRequest, KFetchRequest),
    (m.FetchResponse, KFetchResponse),
    (m.MetadataRequest, KMetadataRequest),
    (m.MetadataResponse, KMetadataResponse),
    (m.ApiVersionsRequest, KApiVersionsRequest),
    (m.ApiVersionsResponse, KApiVersionsResponse),
    (m.JoinGroupRequest, KJoinGroupRequest),
    (m.JoinGroupResponse, KJoinGroupResponse),
    (m.OffsetCommitRequest, KOffsetCommitRequest),
    (m.OffsetCommitResponse, KOffsetCommitResponse),
]


def _cases() -> list[Any]:
    cases = []
    for ours, theirs in PAIRS:
        lo = max(ours.SPEC.valid[0], theirs.valid_versions[0])
        hi = min(ours.SPEC.valid[1], theirs.valid_versions[1])
        cases += [pytest.param(ours, theirs, v, id=f"{ours.__name__}-v{v}") for v in range(lo, hi + 1)]
    return cases


def _to_kafka_python(obj: Any, kcls: Any, version: int, flexible: bool) -> Any:
    """Rebuild one of our structs as the equivalent kafka-python data object."""
    kwargs = {}
    for f in obj.FIELDS:
        if not in_range(version, f.versions):
            continue
        value = getattr(obj, f.name)
        if flexible and in_range(version, f.tagged):
            if value == type(obj)().__getattribute__(f.name):
                continue  # default tagged fields are not written by either side
        elif f.tagged is not None and not flexible:
            continue
        if f.struct is not None and value is not None:
            sub = getattr(kcls, f.element_type)
            if f.is_array:
                value = [_to_kafka_python(e, sub, version, flexible) for e in value]
            else:
                value = _to_kafka_python(value, sub, version, flexible)
        elif RENAMED.get(f.name, f.name) == "authorized_operations":
            value = {bit for bit in range(32) if value & (1 << bit)}  # kafka-python's BitField
        elif f.type == "records" and value is not None:
            value = bytes(value)
        kwargs[RENAMED.get(f.name, f.name)] = value
    return kcls(**kwargs)


CASES = _cases()
# Fields that kafka-python's newer schemas renamed (same wire position and type).
RENAMED = {
    "cluster_authorized_operations": "authorized_operations",
    "topic_authorized_operations": "authorized_operations",
}


def test_enough_versions_are_cross_checked() -> None:
    assert len(CASES) >= 80


@pytest.mark.parametrize(("ours", "theirs", "version"), CASES)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_same_bytes_as_kafka_python(ours: Any, theirs: Any, version: int, data: st.DataObject) -> None:
    obj = data.draw(message_strategy(ours, version))
    flexible = ours.SPEC.is_flexible(version)
    kobj = _to_kafka_python(obj, theirs, version, flexible)
    their_bytes = bytes(kobj.encode(version=version))
    our_bytes = bytes(obj.encode(version))
    assert our_bytes == their_bytes
    assert ours.decode(their_bytes, version) == obj
