"""Stock clients complete their handshake (ApiVersions + Metadata) against a real broker."""

from __future__ import annotations

import asyncio
import shutil
import subprocess

import pytest
from aiokafka.client import AIOKafkaClient
from confluent_kafka.admin import AdminClient
from kafka.admin import KafkaAdminClient

from tests.support.broker import BrokerProcess


def test_kcat_lists_the_broker(shared_broker: BrokerProcess) -> None:
    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    assert kcat is not None, "kcat must be installed (apt-get install kcat)"
    out = subprocess.run(
        [kcat, "-L", "-b", shared_broker.bootstrap, "-m", "10"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    assert "1 brokers:" in out
    assert f"broker 0 at {shared_broker.bootstrap} (controller)" in out


def test_confluent_admin_list_topics(shared_broker: BrokerProcess) -> None:
    admin = AdminClient({"bootstrap.servers": shared_broker.bootstrap})
    md = admin.list_topics(timeout=10)
    assert list(md.brokers) == [0]
    assert (md.brokers[0].host, md.brokers[0].port) == (shared_broker.host, shared_broker.port)
    assert md.controller_id == 0
    assert md.cluster_id and len(md.cluster_id) == 22
    assert md.topics == {}


def test_kafka_python_admin_client(shared_broker: BrokerProcess) -> None:
    admin = KafkaAdminClient(bootstrap_servers=shared_broker.bootstrap, request_timeout_ms=10000)
    try:
        cluster = admin.describe_cluster()
        assert cluster["controller_id"] == 0
        assert [(b["broker_id"], b["host"], b["port"]) for b in cluster["brokers"]] == [
            (0, shared_broker.host, shared_broker.port)
        ]
        assert admin.list_topics() == []
    finally:
        admin.close()


def test_aiokafka_bootstrap(shared_broker: BrokerProcess) -> None:
    async def bootstrap() -> list[tuple[int, str, int]]:
        client = AIOKafkaClient(bootstrap_servers=shared_broker.bootstrap, request_timeout_ms=10000)
        try:
            await client.bootstrap()
            return [(b.nodeId, b.host, b.port) for b in client.cluster.brokers()]
        finally:
            await client.close()

    assert asyncio.run(asyncio.wait_for(bootstrap(), 30)) == [(0, shared_broker.host, shared_broker.port)]


@pytest.mark.parametrize("version", range(0, 13))
def test_metadata_every_version_unknown_invalid_and_auto_created_topics(
    shared_broker: BrokerProcess, version: int
) -> None:
    from protocol.messages import MetadataRequest
    from protocol.messages.metadata_request import MetadataRequestTopic
    from tests.support.broker import roundtrip

    name = f"auto-v{version}"
    request = MetadataRequest(
        topics=[MetadataRequestTopic(name=name), MetadataRequestTopic(name="bad/name")],
        allow_auto_topic_creation=False,
    )
    with shared_broker.connect() as sock:
        resp = roundtrip(sock, 3, version, request)
    assert [(b.node_id, b.port) for b in resp.brokers] == [(0, shared_broker.port)]  # type: ignore[attr-defined]
    topics = resp.topics  # type: ignore[attr-defined]
    if version < 4:  # no allow_auto_topic_creation field: the broker's auto.create.topics.enable decides
        assert [(t.name, t.error_code, len(t.partitions)) for t in topics] == [(name, 0, 1), ("bad/name", 17, 0)]
        assert topics[0].partitions[0].leader_id == 0
    else:
        assert [(t.name, t.error_code) for t in topics] == [(name, 3), ("bad/name", 17)]
