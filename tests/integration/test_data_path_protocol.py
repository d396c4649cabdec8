"""Produce, Fetch and ListOffsets edge cases checked on the wire against a real broker.

Raw requests (not a client library) so each Kafka rule is exercised exactly: per-partition
errors, idempotent sequence checks, fetches starting inside a batch, long polls woken by data,
incremental fetch sessions, and offsets by timestamp.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from protocol.error_codes import ErrorCode
from protocol.framing import decode_response, encode_request
from protocol.messages import FetchRequest, InitProducerIdRequest, ListOffsetsRequest, ProduceRequest
from protocol.messages.create_topics_request import CreatableTopic, CreatableTopicConfig, CreateTopicsRequest
from protocol.messages.fetch_request import FetchPartition, FetchTopic, ForgottenTopic
from protocol.messages.list_offsets_request import ListOffsetsPartition, ListOffsetsTopic
from protocol.messages.produce_request import PartitionProduceData, TopicProduceData
from protocol.records import RecordSpec, build_batch, decode_records, iter_batch_headers, iter_batches
from tests.support.broker import BrokerProcess, roundtrip


def create(sock: socket.socket, name: str, partitions: int = 1, **configs: str) -> None:
    topic = CreatableTopic(
        name=name,
        num_partitions=partitions,
        replication_factor=1,
        configs=[CreatableTopicConfig(name=k.replace("_", "."), value=v) for k, v in configs.items()],
    )
    resp: Any = roundtrip(sock, 19, 7, CreateTopicsRequest(topics=[topic]))
    assert resp.topics[0].error_code == 0, resp


def produce(
    sock: socket.socket, topic: str, records: bytes | None, acks: int = -1, partition: int = 0
) -> Any:
    req = ProduceRequest(
        acks=acks,
        timeout_ms=5000,
        topic_data=[
            TopicProduceData(
                name=topic, partition_data=[PartitionProduceData(index=partition, records=records)]
            )
        ],
    )
    resp: Any = roundtrip(sock, 0, 9, req)
    return resp.responses[0].partition_responses[0]


def batch(n: int, start: int = 0, ts: int | None = None, **kw: Any) -> bytes:
    return build_batch(
        [RecordSpec(f"k{i}".encode(), f"v{i}".encode(), timestamp=ts) for i in range(start, start + n)], **kw
    )


def fetch(sock: socket.socket, topic: str, offset: int, *, version: int = 11, **kw: Any) -> Any:
    req = FetchRequest(
        max_wait_ms=kw.pop("max_wait_ms", 0),
        min_bytes=kw.pop("min_bytes", 1),
        max_bytes=kw.pop("max_bytes", 10_000_000),
        session_id=kw.pop("session_id", 0),
        session_epoch=kw.pop("session_epoch", -1),
        topics=[
            FetchTopic(
                topic=topic,
                partitions=[
                    FetchPartition(
                        partition=0,
                        fetch_offset=offset,
                        partition_max_bytes=kw.pop("partition_max_bytes", 1_000_000),
                    )
                ],
            )
        ],
        forgotten_topics_data=kw.pop("forgotten", []),
    )
    assert not kw
    return roundtrip(sock, 1, version, req)


@pytest.fixture
def sock(shared_broker: BrokerProcess) -> Any:
    with shared_broker.connect() as s:
        yield s


def test_produce_errors_per_partition(sock: socket.socket) -> None:
    create(sock, "errs", max_message_bytes="2000")
    assert produce(sock, "errs", batch(3)).error_code == 0
    corrupt = bytearray(batch(3))
    corrupt[-1] ^= 0xFF
    assert produce(sock, "errs", bytes(corrupt)).error_code == ErrorCode.CORRUPT_MESSAGE
    big = build_batch([RecordSpec(b"k", b"x" * 5000)])
    assert produce(sock, "errs", big).error_code == ErrorCode.MESSAGE_TOO_LARGE
    assert produce(sock, "errs", batch(1) + batch(1)).error_code == ErrorCode.INVALID_RECORD
    assert produce(sock, "errs", b"").error_code == ErrorCode.INVALID_RECORD
    assert produce(sock, "errs", batch(1), acks=2).error_code == ErrorCode.INVALID_REQUIRED_ACKS
    assert produce(sock, "no-such-topic", batch(1)).error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    assert produce(sock, "errs", batch(1), partition=7).error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    # nothing bad reached the log: the next append continues right after the first one
    assert produce(sock, "errs", batch(2)).base_offset == 3


def test_failed_acks0_produce_closes_connection(shared_broker: BrokerProcess) -> None:
    with shared_broker.connect() as s:
        req = ProduceRequest(
            acks=0,
            timeout_ms=1000,
            topic_data=[
                TopicProduceData(
                    name="nope-acks0", partition_data=[PartitionProduceData(index=0, records=batch(1))]
                )
            ],
        )
        from protocol.framing import encode_request

        s.sendall(encode_request(0, 9, 1, "t", req))
        s.settimeout(5)
        assert s.recv(1) == b""


def test_idempotent_producer_duplicates_and_gaps(sock: socket.socket) -> None:
    create(sock, "idem")
    init: Any = roundtrip(
        sock, 22, 4, InitProducerIdRequest(transactional_id=None, transaction_timeout_ms=60000)
    )
    assert init.error_code == 0 and init.producer_id >= 0
    pid = init.producer_id
    first = produce(sock, "idem", batch(5, producer_id=pid, producer_epoch=0, base_sequence=0))
    assert (first.error_code, first.base_offset) == (0, 0)
    # a retry of the same batch is answered with the original offset and not stored again
    dup = produce(sock, "idem", batch(5, producer_id=pid, producer_epoch=0, base_sequence=0))
    assert (dup.error_code, dup.base_offset) == (0, 0)
    gap = produce(sock, "idem", batch(1, producer_id=pid, producer_epoch=0, base_sequence=9))
    assert gap.error_code == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    nxt = produce(sock, "idem", batch(2, producer_id=pid, producer_epoch=0, base_sequence=5))
    assert (nxt.error_code, nxt.base_offset) == (0, 5)
    again: Any = roundtrip(
        sock, 22, 4, InitProducerIdRequest(transactional_id=None, transaction_timeout_ms=60000)
    )
    assert again.producer_id != pid  # ids are never reused


def test_fetch_inside_a_batch_returns_the_whole_batch_and_bounds(sock: socket.socket) -> None:
    create(sock, "inside")
    produce(sock, "inside", batch(10))
    resp = fetch(sock, "inside", 4)
    p = resp.responses[0].partitions[0]
    headers = list(iter_batch_headers(bytes(p.records), verify=True))
    assert [(h.base_offset, h.last_offset) for h in headers] == [(0, 9)]
    assert (p.high_watermark, p.log_start_offset) == (10, 0)
    assert fetch(sock, "inside", 10).responses[0].partitions[0].records == b""
    out = fetch(sock, "inside", 11).responses[0].partitions[0]
    assert out.error_code == ErrorCode.OFFSET_OUT_OF_RANGE


def test_first_batch_is_returned_even_if_larger_than_limits(sock: socket.socket) -> None:
    create(sock, "kip74")
    produce(sock, "kip74", build_batch([RecordSpec(b"k", b"x" * 50_000)]))
    produce(sock, "kip74", batch(1))
    p = fetch(sock, "kip74", 0, max_bytes=100, partition_max_bytes=100).responses[0].partitions[0]
    assert [h.base_offset for h in iter_batch_headers(bytes(p.records))] == [0]


def test_broker_fetch_max_bytes_caps_max_bytes_and_min_bytes(tmp_path: Path) -> None:
    """Kafka's KafkaApis: max_bytes = min(request, fetch.max.bytes), min_bytes = min(request,
    that). The first batch (over the cap) still comes back whole (KIP-74); the second partition's
    batch no longer fits; and a min_bytes far above the cap is met at once instead of parking
    the fetch for its minute-long max_wait_ms (the socket gives up after 10 s)."""
    broker = BrokerProcess(tmp_path / "broker", overrides={"fetch.max.bytes": "1024"}).start()
    try:
        with broker.connect() as s:
            create(s, "capped", partitions=2)
            produce(s, "capped", build_batch([RecordSpec(b"k", b"x" * 1500)]), partition=0)
            produce(s, "capped", build_batch([RecordSpec(b"k", b"y" * 300)]), partition=1)
            parts = [FetchPartition(partition=i, fetch_offset=0, partition_max_bytes=1 << 20) for i in (0, 1)]
            req = FetchRequest(
                max_wait_ms=60_000,
                min_bytes=5_000_000,
                max_bytes=10_000_000,
                session_epoch=-1,
                topics=[FetchTopic(topic="capped", partitions=parts)],
            )
            resp: Any = roundtrip(s, 1, 11, req)
    finally:
        broker.stop()
    p0, p1 = resp.responses[0].partitions
    assert [r.value for r in decode_records(bytes(p0.records))] == [b"x" * 1500]
    assert (p1.error_code, p1.high_watermark, p1.records) == (0, 1, b"")


def test_long_poll_is_woken_by_new_data(shared_broker: BrokerProcess, sock: socket.socket) -> None:
    create(sock, "longpoll")

    def later() -> None:
        time.sleep(0.5)
        with shared_broker.connect() as other:
            produce(other, "longpoll", batch(2))

    t = threading.Thread(target=later)
    start = time.monotonic()
    t.start()
    resp = fetch(sock, "longpoll", 0, max_wait_ms=20_000, min_bytes=1)
    waited = time.monotonic() - start
    t.join()
    p = resp.responses[0].partitions[0]
    assert [r.key for r in decode_records(bytes(p.records))] == [b"k0", b"k1"]
    assert 0.3 < waited < 15  # woken by the append, long before max_wait_ms
    # with nothing arriving, the fetch returns empty when max_wait_ms passes
    empty = fetch(sock, "longpoll", 2, max_wait_ms=300, min_bytes=1)
    assert empty.responses[0].partitions[0].records == b""


def test_incremental_fetch_session(sock: socket.socket) -> None:
    create(sock, "sess")
    produce(sock, "sess", batch(3))
    full = fetch(sock, "sess", 0, version=12, session_id=0, session_epoch=0)
    assert full.session_id != 0
    assert len(full.responses[0].partitions) == 1
    sid = full.session_id
    # nothing changed: the incremental answer carries no partitions
    inc = fetch(sock, "sess", 3, version=12, session_id=sid, session_epoch=1)
    assert inc.error_code == 0 and inc.responses == []
    produce(sock, "sess", batch(2, 3))
    inc2 = fetch(sock, "sess", 3, version=12, session_id=sid, session_epoch=2)
    [t] = inc2.responses
    assert [r.key for r in decode_records(bytes(t.partitions[0].records))] == [b"k3", b"k4"]
    stale = fetch(sock, "sess", 5, version=12, session_id=sid, session_epoch=2)
    assert stale.error_code == ErrorCode.INVALID_FETCH_SESSION_EPOCH
    unknown = fetch(sock, "sess", 5, version=12, session_id=sid + 1, session_epoch=1)
    assert unknown.error_code == ErrorCode.FETCH_SESSION_ID_NOT_FOUND
    forgot = fetch(
        sock,
        "sess",
        5,
        version=12,
        session_id=sid,
        session_epoch=3,
        forgotten=[ForgottenTopic(topic="sess", partitions=[0])],
    )
    assert forgot.error_code == 0


def list_offsets(sock: socket.socket, topic: str, timestamp: int, version: int = 7) -> tuple[int, int, int]:
    req = ListOffsetsRequest(
        replica_id=-1,
        topics=[
            ListOffsetsTopic(
                name=topic, partitions=[ListOffsetsPartition(partition_index=0, timestamp=timestamp)]
            )
        ],
    )
    resp: Any = roundtrip(sock, 2, version, req)
    p = resp.partitions if hasattr(resp, "partitions") else resp.topics[0].partitions[0]
    return p.error_code, p.offset, p.timestamp


def test_list_offsets_by_time(sock: socket.socket) -> None:
    create(sock, "times")
    for i, ts in enumerate([1_000, 5_000, 3_000]):
        produce(sock, "times", batch(1, i, ts=ts))
    assert list_offsets(sock, "times", -2) == (0, 0, -1)
    assert list_offsets(sock, "times", -1) == (0, 3, -1)
    assert list_offsets(sock, "times", 2_000) == (0, 1, 5_000)
    assert list_offsets(sock, "times", 5_000) == (0, 1, 5_000)
    assert list_offsets(sock, "times", 6_000) == (0, -1, -1)
    assert list_offsets(sock, "times", -3) == (0, 1, 5_000)
    assert list_offsets(sock, "times", -3, version=6)[0] == ErrorCode.UNSUPPORTED_VERSION


def test_log_append_time_topic(sock: socket.socket) -> None:
    create(sock, "lat", message_timestamp_type="LogAppendTime")
    before = int(time.time() * 1000)
    r = produce(sock, "lat", batch(2, ts=42))
    assert r.error_code == 0 and r.log_append_time_ms >= before
    p = fetch(sock, "lat", 0).responses[0].partitions[0]
    assert {rec.timestamp for rec in decode_records(bytes(p.records))} == {r.log_append_time_ms}


def test_produce_frame_is_not_copied_into_a_bad_state_by_pipelining(sock: socket.socket) -> None:
    # many produce requests in one write: each gets its own offsets, in order
    create(sock, "pipe")
    from protocol.framing import decode_response, encode_request
    from tests.support.broker import recv_frame

    reqs = b"".join(
        bytes(
            encode_request(
                0,
                9,
                i,
                "t",
                ProduceRequest(
                    acks=1,
                    timeout_ms=1000,
                    topic_data=[
                        TopicProduceData(
                            name="pipe",
                            partition_data=[PartitionProduceData(index=0, records=batch(2, 2 * i))],
                        )
                    ],
                ),
            )
        )
        for i in range(20)
    )
    sock.sendall(reqs)
    offsets = []
    for i in range(20):
        corr, resp = decode_response(recv_frame(sock), 0, 9)
        assert corr == i
        offsets.append(resp.responses[0].partition_responses[0].base_offset)
    assert offsets == list(range(0, 40, 2))


def test_large_fetches_to_a_slow_reader_arrive_whole_and_in_order(shared_broker: BrokerProcess) -> None:
    """File regions larger than the socket can take go out in several sendfile calls while the
    reader drains slowly; pipelined responses (several regions each) stay byte-exact and in order."""
    topic = "slow-reader"
    payload = [bytes([i % 251]) * 200_000 for i in range(40)]
    with shared_broker.connect() as sock:
        create(sock, topic)
        for i, value in enumerate(payload):
            assert produce(sock, topic, build_batch([RecordSpec(None, value)]), acks=1).base_offset == i
    with shared_broker.connect() as slow:
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        starts = (0, 8, 16, 24, 32)  # 5 x 1.6 MB pipelined: more than the socket buffers hold
        for corr, offset in enumerate(starts, start=1):
            req = FetchRequest(
                max_wait_ms=0,
                min_bytes=1,
                max_bytes=10_000_000,
                topics=[
                    FetchTopic(
                        topic=topic,
                        partitions=[
                            FetchPartition(partition=0, fetch_offset=offset, partition_max_bytes=1_600_000)
                        ],
                    )
                ],
            )
            slow.sendall(encode_request(1, 11, corr, "pytest", req))
        time.sleep(0.5)  # let the broker fill the socket and wait for the reader
        for corr, offset in enumerate(starts, start=1):
            size = int.from_bytes(recv_exact_slowly(slow, 4), "big")
            got, resp = decode_response(recv_exact_slowly(slow, size), 1, 11)
            assert got == corr
            data: Any = resp.responses[0].partitions[0]
            raw = bytes(data.records)
            assert len(raw) > 1_000_000
            batches = list(iter_batches(raw, verify=True, allow_partial_tail=True))  # CRCs intact
            assert [h.base_offset for _, h in batches] == list(range(offset, offset + len(batches)))
            assert len(batches) >= 7
            values = [decode_records(raw, pos)[0].value for pos, _ in batches]
            assert values == payload[offset : offset + len(batches)]


def recv_exact_slowly(sock: socket.socket, n: int) -> bytes:
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(min(65536, n - len(data)))
        if not chunk:
            raise ConnectionError("connection closed")
        data += chunk
        if len(data) % 8 == 0:
            time.sleep(0.0005)  # drain slowly now and then, so the broker keeps meeting a full socket
    return bytes(data)
