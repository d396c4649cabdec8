"""ZkAdmin against a real ZooKeeper: the znodes it writes and Kafka's errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from protocol.error_codes import ErrorCode
from pybroker.cluster import zk_layout as L
from pybroker.cluster.registration import ensure_persistent_paths
from pybroker.cluster.zk_admin import ZkAdmin
from pybroker.cluster.zk_client import ZkClient
from pybroker.standalone import TopicError
from tests.cluster.fake_brokers import FakeBrokers

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def brokers(zk_connect: str) -> AsyncIterator[FakeBrokers]:
    fb = FakeBrokers(zk_connect)
    yield fb
    await fb.close()


@pytest.fixture
async def zk(zk_connect: str) -> AsyncIterator[ZkClient]:
    client = ZkClient(zk_connect, session_timeout_ms=4000, connection_timeout_ms=10000)
    await client.start()
    await ensure_persistent_paths(client)
    yield client
    await client.close()


async def create(
    admin: ZkAdmin, name: str, partitions: int = 3, rf: int = 2, **kw: object
) -> L.TopicAssignment:
    return await admin.create_topic(
        name,
        partitions,
        rf,
        kw.pop("configs", {}),
        default_partitions=1,
        default_replication_factor=1,
        **kw,  # type: ignore[arg-type]
    )


async def error_of(coro: object) -> tuple[ErrorCode, str]:
    with pytest.raises(TopicError) as e:
        await coro  # type: ignore[misc]
    return e.value.code, e.value.message


async def test_create_topic_writes_config_then_assignment(zk: ZkClient, brokers: FakeBrokers) -> None:
    for b in (1, 2, 3):
        await brokers.start(b)
    admin = ZkAdmin(zk)
    assert sorted(await admin.live_brokers()) == [1, 2, 3]
    result = await create(admin, "orders", 6, 2, configs={"retention.ms": "1000"})
    data, _ = await zk.get(L.topic_path("orders"))
    obj = json.loads(data)
    assert obj["version"] == 3 and obj["adding_replicas"] == {} and obj["removing_replicas"] == {}
    assert isinstance(obj["topic_id"], str) and len(obj["topic_id"]) == 22
    assert obj["topic_id"] == result.topic_id
    parts = {int(p): r for p, r in obj["partitions"].items()}
    assert sorted(parts) == list(range(6)) and all(len(r) == 2 and len(set(r)) == 2 for r in parts.values())
    leaders = sorted(r[0] for r in parts.values())
    assert leaders == [1, 1, 2, 2, 3, 3]  # leaders spread evenly
    cfg, _ = await zk.get(L.topic_config_path("orders"))
    assert json.loads(cfg) == {"version": 1, "config": {"retention.ms": "1000"}}
    # defaults: -1 takes the defaults given by the caller
    d = await admin.create_topic("d", -1, -1, {}, default_partitions=4, default_replication_factor=3)
    assert len(d.partitions) == 4 and all(len(r) == 3 for r in d.partitions.values())


async def test_create_topic_errors(zk: ZkClient, brokers: FakeBrokers) -> None:
    for b in (1, 2):
        await brokers.start(b)
    admin = ZkAdmin(zk)
    assert await error_of(create(admin, "t", 1, 3)) == (
        ErrorCode.INVALID_REPLICATION_FACTOR,
        "Replication factor: 3 larger than available brokers: 2.",
    )
    assert await error_of(create(admin, "t", 0, 1)) == (
        ErrorCode.INVALID_PARTITIONS,
        "Number of partitions must be larger than 0.",
    )
    assert (await error_of(create(admin, "bad/name")))[0] == ErrorCode.INVALID_TOPIC_EXCEPTION
    assert (await error_of(create(admin, "t", configs={"retention.ms": "x"})))[0] == ErrorCode.INVALID_CONFIG
    assert await error_of(create(admin, "t", configs={"retention.ms": None})) == (
        ErrorCode.INVALID_CONFIG,
        "Null value not supported for topic configs: retention.ms",
    )
    assert (await error_of(create(admin, "t", 1, -1, assignment={0: [1]})))[0] == ErrorCode.INVALID_REQUEST
    assert await zk.exists(L.topic_path("t")) is None  # nothing written by failed attempts
    assert await zk.exists(L.topic_config_path("t")) is None

    await create(admin, "a.b", 1, 1)
    assert await error_of(create(admin, "a.b", 1, 1)) == (
        ErrorCode.TOPIC_ALREADY_EXISTS,
        "Topic 'a.b' already exists.",
    )
    assert await error_of(create(admin, "a_b", 1, 1)) == (
        ErrorCode.INVALID_TOPIC_EXCEPTION,
        "Topic 'a_b' collides with existing topics: a.b",
    )
    await admin.delete_topic("a.b")
    # pending deletion: still there (Kafka's metadata cache still has it)
    assert await error_of(create(admin, "a.b", 1, 1)) == (
        ErrorCode.TOPIC_ALREADY_EXISTS,
        "Topic 'a.b' already exists.",
    )
    # the controller deletes the topic znode before the deletion marker: in between, this
    await zk.delete_recursive(L.topic_path("a.b"))
    assert await error_of(create(admin, "a.b", 1, 1)) == (
        ErrorCode.TOPIC_ALREADY_EXISTS,
        "Topic 'a.b' is marked for deletion.",
    )


async def test_manual_assignments(zk: ZkClient, brokers: FakeBrokers) -> None:
    await brokers.start(1)
    admin = ZkAdmin(zk)

    async def manual(assignment: dict[int, list[int]]) -> tuple[ErrorCode, str]:
        return await error_of(create(admin, "m", -1, -1, assignment=assignment))

    assert await manual({0: [1, 2], 1: [1]}) == (
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        "All partitions should have the same number of replicas",
    )
    code, msg = await manual({0: [1, 1]})
    assert code == ErrorCode.INVALID_REPLICA_ASSIGNMENT and msg.startswith(
        "Duplicate replica assignment found:"
    )
    assert await manual({0: [1], 2: [1]}) == (
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        "partitions should be a consecutive 0-based integer sequence",
    )
    # as Kafka, brokers of a manual creation are not checked against the live ones
    t = await create(admin, "m", -1, -1, assignment={0: [7, 1], 1: [1, 7]})
    assert t.partitions == {0: [7, 1], 1: [1, 7]}


async def test_validate_only_writes_nothing(zk: ZkClient, brokers: FakeBrokers) -> None:
    await brokers.start(1)
    admin = ZkAdmin(zk)
    t = await create(admin, "v", 2, 1, validate_only=True)
    assert t.partitions == {0: [1], 1: [1]}
    assert await zk.exists(L.topic_path("v")) is None and await zk.exists(L.topic_config_path("v")) is None


async def test_mixed_racks_is_kafkas_admin_operation_error(zk: ZkClient, brokers: FakeBrokers) -> None:
    await brokers.start(1, rack="r1")
    await brokers.start(2)
    admin = ZkAdmin(zk)
    code, msg = await error_of(create(admin, "r", 2, 2))
    assert code == ErrorCode.UNKNOWN_SERVER_ERROR and "Not all brokers have rack information" in msg
    await brokers.start(3, rack="r2")
    await brokers.kill(2)
    t = await create(admin, "r", 4, 2)
    assert all({1, 3} == set(r) for r in t.partitions.values())  # one replica per rack


async def test_delete_topic_marks_it(zk: ZkClient, brokers: FakeBrokers) -> None:
    await brokers.start(1)
    admin = ZkAdmin(zk)
    assert await error_of(admin.delete_topic("nope")) == (
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        "Topic `nope` to delete does not exist",
    )
    await create(admin, "gone", 1, 1)
    await admin.delete_topic("gone")
    await admin.delete_topic("gone")  # idempotent while pending
    assert await zk.get_children(L.DELETE_TOPICS) == ["gone"]


async def test_create_partitions(zk: ZkClient, brokers: FakeBrokers) -> None:
    for b in (1, 2, 3):
        await brokers.start(b)
    admin = ZkAdmin(zk)
    t = await admin.create_topic(
        "p", -1, -1, {}, {0: [2, 3], 1: [3, 1]}, default_partitions=1, default_replication_factor=1
    )
    await admin.create_partitions("p", 4, None)
    after = L.decode_topic("p", (await zk.get(L.topic_path("p")))[0])
    assert after.topic_id == t.topic_id
    assert after.partitions[0] == [2, 3] and after.partitions[1] == [3, 1]
    # continues from partition 0's leader (broker 2, index 1): fixed start 1, partition ids 2, 3
    assert after.partitions[2] == [1, 3] and after.partitions[3] == [2, 3]
    await admin.create_partitions("p", 5, [[3, 2]])
    assert L.decode_topic("p", (await zk.get(L.topic_path("p")))[0]).partitions[4] == [3, 2]

    async def err(
        count: int, assignment: list[list[int]] | None = None, name: str = "p"
    ) -> tuple[ErrorCode, str]:
        return await error_of(admin.create_partitions(name, count, assignment))

    assert await err(3) == (
        ErrorCode.INVALID_PARTITIONS,
        "Topic currently has 5 partitions, which is higher than the requested 3.",
    )
    assert await err(5) == (ErrorCode.INVALID_PARTITIONS, "Topic already has 5 partitions.")
    assert await err(6, name="x") == (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "The topic 'x' does not exist.")
    assert await err(6, [[9, 1]]) == (
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        "Unknown broker(s) in replica assignment: 9.",
    )
    assert await err(7, [[2, 1]]) == (
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        "Increasing the number of partitions by 2 but 1 assignments provided.",
    )
    assert await err(6, [[1, 1]]) == (
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        "Duplicate brokers not allowed in replica assignment: 1, 1 for partition id 5.",
    )
    assert await err(6, [[1]]) == (
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        "Inconsistent replication factor between partitions, partition 0 has 2 while partitions [5] have "
        "replication factors [1], respectively.",
    )
    assert await err(6, [[]]) == (
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        "Cannot have replication factor of 0 for partition id 5.",
    )
    await admin.create_partitions("p", 8, None, validate_only=True)
    assert len(L.decode_topic("p", (await zk.get(L.topic_path("p")))[0]).partitions) == 5
    # a reassignment in flight blocks additions
    moving = L.TopicAssignment({0: [2, 3, 1], 1: [3, 1]}, t.topic_id, adding_replicas={0: [1]})
    await zk.set(L.topic_path("p"), L.encode_topic(moving))
    assert await err(6) == (
        ErrorCode.REASSIGNMENT_IN_PROGRESS,
        "A partition reassignment is in progress for the topic 'p'.",
    )


async def test_set_topic_config_notifies(zk: ZkClient, brokers: FakeBrokers) -> None:
    await brokers.start(1)
    admin = ZkAdmin(zk)
    await create(admin, "c", 1, 1)
    await admin.set_topic_config("c", {"cleanup.policy": "compact"})
    cfg, _ = await zk.get(L.topic_config_path("c"))
    assert json.loads(cfg)["config"] == {"cleanup.policy": "compact"}
    changes = await zk.get_children(L.CONFIG_CHANGES)
    assert len(changes) == 1 and changes[0].startswith("config_change_") and len(changes[0]) == 24
    data, _ = await zk.get(f"{L.CONFIG_CHANGES}/{changes[0]}")
    assert json.loads(data) == {"version": 2, "entity_path": "topics/c"}
    assert await error_of(admin.set_topic_config("zz", {})) == (
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        "Topic 'zz' does not exist.",
    )
    assert (await error_of(admin.set_topic_config("c", {"nope": "1"})))[0] == ErrorCode.INVALID_CONFIG


async def test_producer_id_blocks_never_overlap(zk: ZkClient, zk_connect: str) -> None:
    admin = ZkAdmin(zk)
    assert await admin.allocate_producer_ids(1) == (0, 999)
    other = ZkClient(zk_connect, session_timeout_ms=4000, connection_timeout_ms=10000)
    await other.start()
    try:
        admin2 = ZkAdmin(other)
        blocks = await asyncio.gather(
            *(a.allocate_producer_ids(i) for i in range(5) for a in (admin, admin2))
        )
    finally:
        await other.close()
    starts = sorted(s for s, _ in blocks)
    assert starts == [1000 * i for i in range(1, 11)] and all(e == s + 999 for s, e in blocks)
    data, _ = await zk.get(L.PRODUCER_ID_BLOCK)
    obj = json.loads(data)
    assert obj["version"] == 1 and obj["block_start"] == "10000" and obj["block_end"] == "10999"
