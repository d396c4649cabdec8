"""Codec throughput: decode and encode rates (messages/s) for two representative messages.

* a Metadata v12 response describing 100 topics of 10 partitions each (3 replicas);
* a Produce v9 request carrying 10 partitions of one topic, a 16 KiB record batch each.

kafka-python's codec (built from the same schemas) encodes and decodes the same messages in the
same run, so the ratio column is comparable across noisy machines. Decoding takes a memoryview
of the frame, as the server does (records fields stay zero-copy slices). Prints one JSON line.

    python bench/codec.py [--seconds 1.0]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from protocol.messages.metadata_response import (
    MetadataResponse,
    MetadataResponseBroker,
    MetadataResponsePartition,
    MetadataResponseTopic,
)
from protocol.messages.produce_request import PartitionProduceData, ProduceRequest, TopicProduceData


def metadata_response() -> MetadataResponse:
    brokers = [MetadataResponseBroker(node_id=i, host=f"broker-{i}.example", port=9092, rack=None) for i in range(3)]
    topics = [
        MetadataResponseTopic(
            error_code=0,
            name=f"topic-{t:03d}",
            topic_id=UUID(int=t + 1),
            is_internal=False,
            partitions=[
                MetadataResponsePartition(
                    error_code=0,
                    partition_index=p,
                    leader_id=p % 3,
                    leader_epoch=5,
                    replica_nodes=[0, 1, 2],
                    isr_nodes=[0, 1, 2],
                    offline_replicas=[],
                )
                for p in range(10)
            ],
            topic_authorized_operations=-2147483648,
        )
        for t in range(100)
    ]
    return MetadataResponse(brokers=brokers, cluster_id="bench-cluster-id-00000", controller_id=0, topics=topics)


def produce_request() -> ProduceRequest:
    batch = bytes(16 * 1024)
    return ProduceRequest(
        transactional_id=None,
        acks=-1,
        timeout_ms=30000,
        topic_data=[
            TopicProduceData(
                name="bench",
                partition_data=[PartitionProduceData(index=p, records=batch) for p in range(10)],
            )
        ],
    )


def rate(fn: Callable[[], Any], seconds: float) -> float:
    n, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(20):
            fn()
        n += 20
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - start)


def kafka_python_pair(name: str, obj: Any, version: int) -> tuple[Any, Any]:
    """The same message in kafka-python's classes, and its class (for decoding)."""
    from kafka.protocol.metadata import MetadataResponse as KMetadataResponse
    from kafka.protocol.producer import ProduceRequest as KProduceRequest

    from tests.unit.test_codec_kafka_python import _to_kafka_python

    kcls = {"metadata": KMetadataResponse, "produce": KProduceRequest}[name]
    return _to_kafka_python(obj, kcls, version, True), kcls


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    result: dict[str, Any] = {"bench": "codec"}
    for name, obj, cls, version in (
        ("metadata_v12_100_topics", metadata_response(), MetadataResponse, 12),
        ("produce_v9_10x16KiB", produce_request(), ProduceRequest, 9),
    ):
        data = bytes(obj.encode(version))
        assert cls.decode(data, version) == obj
        # the server decodes a memoryview of its (writable) frame buffer: records stay slices of it
        view = memoryview(bytearray(data))
        ours_dec = rate(lambda cls=cls, view=view, version=version: cls.decode(view, version), args.seconds)
        ours_enc = rate(lambda obj=obj, version=version: obj.encode(version), args.seconds)
        kobj, kcls = kafka_python_pair(name.split("_")[0], obj, version)
        assert bytes(kobj.encode(version=version)) == data
        k_dec = rate(lambda kcls=kcls, data=data, version=version: kcls.decode(data, version=version), args.seconds)
        k_enc = rate(lambda kobj=kobj, version=version: kobj.encode(version=version), args.seconds)
        result[name] = {
            "bytes": len(data),
            "decode_per_s": round(ours_dec),
            "encode_per_s": round(ours_enc),
            "kafka_python_decode_per_s": round(k_dec),
            "kafka_python_encode_per_s": round(k_enc),
            "decode_ratio": round(ours_dec / k_dec, 2),
            "encode_ratio": round(ours_enc / k_enc, 2),
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
