"""The broker's own protocol client (for replication and the controller) against a real broker."""

from __future__ import annotations

import asyncio

import pytest

from protocol.messages import ApiVersionsRequest, MetadataRequest
from pybroker.client import BrokerConnection
from tests.support.broker import BrokerProcess


def test_pipelined_requests_resolve_in_order(shared_broker: BrokerProcess) -> None:
    async def run() -> None:
        conn = await BrokerConnection.connect(shared_broker.host, shared_broker.port)
        try:
            calls = [
                conn.request(3, 12, MetadataRequest(topics=[]))
                if i % 2
                else conn.request(
                    18,
                    3,
                    ApiVersionsRequest(client_software_name="pybroker", client_software_version="0.1.0"),
                )
                for i in range(40)
            ]
            results = await asyncio.gather(*calls)
            for i, resp in enumerate(results):
                if i % 2:
                    assert resp.controller_id == 0
                else:
                    assert resp.error_code == 0 and resp.api_keys
        finally:
            await conn.close()
        with pytest.raises(ConnectionError):
            await conn.request(
                18, 3, ApiVersionsRequest(client_software_name="pybroker", client_software_version="0.1.0")
            )

    asyncio.run(asyncio.wait_for(run(), 30))


def test_broker_going_away_fails_outstanding_requests(tmp_path) -> None:  # type: ignore[no-untyped-def]
    broker = BrokerProcess(tmp_path / "b").start()

    async def run() -> None:
        conn = await BrokerConnection.connect(broker.host, broker.port)
        assert (
            await conn.request(
                18, 3, ApiVersionsRequest(client_software_name="pybroker", client_software_version="0.1.0")
            )
        ).error_code == 0
        broker.kill()
        with pytest.raises(ConnectionError):
            await conn.request(
                18,
                3,
                ApiVersionsRequest(client_software_name="pybroker", client_software_version="0.1.0"),
                timeout=10,
            )
        assert conn.closed
        await conn.close()

    try:
        asyncio.run(asyncio.wait_for(run(), 30))
    finally:
        broker.stop()


def test_a_request_without_an_answer_times_out_and_fails_the_connection() -> None:
    async def run() -> None:
        accepted: list[asyncio.StreamWriter] = []

        async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted.append(writer)  # reads nothing, answers nothing

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        conn = await BrokerConnection.connect("127.0.0.1", port)
        request = ApiVersionsRequest(client_software_name="pybroker", client_software_version="0.1.0")
        try:
            started = asyncio.get_running_loop().time()
            with pytest.raises(ConnectionError, match=r"timed out after 0\.3s"):
                await conn.request(18, 3, request, timeout=0.3)
            assert asyncio.get_running_loop().time() - started >= 0.3
            assert conn.closed
            with pytest.raises(ConnectionError):
                await conn.request(18, 3, request)
        finally:
            await conn.close()
            for writer in accepted:
                writer.close()
            server.close()
            await server.wait_closed()

    asyncio.run(asyncio.wait_for(run(), 30))
