"""Replica placement: Kafka's AdminUtilsTest / AdminRackAwareTest cases, ported."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from protocol.error_codes import ErrorCode
from pybroker.cluster.assignment import (
    NOT_ALL_RACKS_MESSAGE,
    BrokerMetadata,
    assign_replicas_to_brokers,
    broker_metadatas,
    rack_alternated_broker_list,
    start_index_for_new_partitions,
)
from pybroker.standalone import TopicError


def racked(mapping: dict[int, str]) -> list[BrokerMetadata]:
    return broker_metadatas(mapping.items())


def check_distribution(
    assignment: dict[int, list[int]],
    racks: dict[int, str],
    n_brokers: int,
    n_partitions: int,
    rf: int,
    *,
    rack_aware: bool = True,
    leaders: bool = True,
    replicas: bool = True,
) -> None:
    """Kafka's RackAwareTest.checkReplicaDistribution."""
    for brokers in assignment.values():
        assert len(set(brokers)) == len(brokers), "a broker holds two replicas of one partition"
    if rack_aware:
        assert [len({racks[b] for b in bs}) for bs in assignment.values()] == [rf] * n_partitions
    if leaders:
        counts = Counter(bs[0] for bs in assignment.values())
        assert sorted(counts.values()) == [n_partitions // n_brokers] * n_brokers
    if replicas:
        counts = Counter(b for bs in assignment.values() for b in bs)
        assert sorted(counts.values()) == [n_partitions * rf // n_brokers] * n_brokers


SIX = {0: "rack1", 1: "rack2", 2: "rack2", 3: "rack3", 4: "rack3", 5: "rack1"}


def test_rack_alternated_list_and_fixed_assignment() -> None:
    rack_map = {0: "rack1", 1: "rack3", 2: "rack3", 3: "rack2", 4: "rack2", 5: "rack1"}
    assert rack_alternated_broker_list(rack_map) == [0, 3, 1, 5, 4, 2]
    assert rack_alternated_broker_list({k: v for k, v in rack_map.items() if k != 5}) == [0, 3, 1, 4, 2]
    got = assign_replicas_to_brokers(racked(rack_map), 7, 3, fixed_start_index=0, start_partition_id=0)
    assert got == {
        0: [0, 3, 1],
        1: [3, 1, 5],
        2: [1, 5, 4],
        3: [5, 4, 2],
        4: [4, 2, 0],
        5: [2, 0, 3],
        6: [0, 4, 2],
    }


def test_rack_aware_fixed_start() -> None:
    got = assign_replicas_to_brokers(racked(SIX), 6, 3, fixed_start_index=2, start_partition_id=0)
    check_distribution(got, SIX, 6, 6, 3)


@pytest.mark.parametrize("seed", range(20))
def test_rack_aware_random_start(seed: int) -> None:
    got = assign_replicas_to_brokers(racked(SIX), 6, 3, rng=random.Random(seed))
    check_distribution(got, SIX, 6, 6, 3)


def test_rack_aware_uneven_replicas() -> None:
    got = assign_replicas_to_brokers(racked(SIX), 13, 3, fixed_start_index=0, start_partition_id=0)
    check_distribution(got, SIX, 6, 13, 3, leaders=False, replicas=False)


@pytest.mark.parametrize("seed", range(10))
def test_rack_aware_uneven_racks(seed: int) -> None:
    racks = {0: "rack1", 1: "rack1", 2: "rack2", 3: "rack3", 4: "rack3", 5: "rack1"}
    got = assign_replicas_to_brokers(racked(racks), 12, 3, rng=random.Random(seed))
    check_distribution(got, racks, 6, 12, 3, replicas=False)


@pytest.mark.parametrize("seed", range(10))
def test_two_replicas_rack_aware(seed: int) -> None:
    check_distribution(assign_replicas_to_brokers(racked(SIX), 12, 2, rng=random.Random(seed)), SIX, 6, 12, 2)
    check_distribution(assign_replicas_to_brokers(racked(SIX), 6, 2, rng=random.Random(seed)), SIX, 6, 6, 2)
    three = {0: "rack1", 1: "rack2", 4: "rack3"}
    check_distribution(
        assign_replicas_to_brokers(racked(three), 3, 2, rng=random.Random(seed)), three, 3, 3, 2
    )


def test_rack_aware_expansion() -> None:
    racks = {6: "rack1", 7: "rack2", 8: "rack2", 9: "rack3", 10: "rack3", 11: "rack1"}
    got = assign_replicas_to_brokers(racked(racks), 12, 2, start_partition_id=12, rng=random.Random(3))
    assert sorted(got) == list(range(12, 24))
    check_distribution(got, racks, 6, 12, 2)


def test_large_number_of_partitions() -> None:
    racks = {0: "rack1", 1: "rack2", 2: "rack2", 3: "rack3", 4: "rack3", 5: "rack1"}
    racks |= {6: "rack1", 7: "rack2", 8: "rack2", 9: "rack3", 10: "rack1", 11: "rack3"}
    got = assign_replicas_to_brokers(racked(racks), 96, 3, rng=random.Random(7))
    check_distribution(got, racks, 12, 96, 3)


def test_more_and_fewer_replicas_than_racks() -> None:
    racks = {0: "rack1", 1: "rack2", 2: "rack2", 3: "rack3", 4: "rack3", 5: "rack2"}
    more = assign_replicas_to_brokers(racked(racks), 6, 5, rng=random.Random(1))
    assert all(len(r) == 5 and len({racks[b] for b in r}) == 3 for r in more.values())
    fewer = assign_replicas_to_brokers(racked(racks), 6, 2, rng=random.Random(1))
    assert all(len(r) == 2 and len({racks[b] for b in r}) == 2 for r in fewer.values())


def test_single_rack() -> None:
    racks = dict.fromkeys(range(6), "rack1")
    got = assign_replicas_to_brokers(racked(racks), 6, 3, rng=random.Random(5))
    assert all(len(r) == 3 for r in got.values())
    assert Counter(r[0] for r in got.values()) == dict.fromkeys(range(6), 1)


def test_skip_broker_with_replica_already_assigned() -> None:
    racks = {0: "a", 1: "b", 2: "c", 3: "a", 4: "a"}
    got = assign_replicas_to_brokers(racked(racks), 6, 4, fixed_start_index=2, start_partition_id=-1)
    check_distribution(got, racks, 5, 6, 4, rack_aware=False, leaders=False, replicas=False)


def test_rack_unaware_fixed_assignment() -> None:
    brokers = broker_metadatas((i, None) for i in range(5))
    assert assign_replicas_to_brokers(brokers, 10, 3, fixed_start_index=0) == {
        0: [0, 1, 2],
        1: [1, 2, 3],
        2: [2, 3, 4],
        3: [3, 4, 0],
        4: [4, 0, 1],
        5: [0, 2, 3],
        6: [1, 3, 4],
        7: [2, 4, 0],
        8: [3, 0, 1],
        9: [4, 1, 2],
    }


@pytest.mark.parametrize("seed", range(10))
def test_rack_unaware_spreads_leaders_and_replicas(seed: int) -> None:
    brokers = broker_metadatas((i, None) for i in (1, 2, 3, 4))
    got = assign_replicas_to_brokers(brokers, 8, 3, rng=random.Random(seed))
    racks = {b.id: str(b.id) for b in brokers}
    check_distribution(got, racks, 4, 8, 3)


def test_errors() -> None:
    plain = broker_metadatas((i, None) for i in range(5))
    with pytest.raises(TopicError) as e:
        assign_replicas_to_brokers(plain, 10, 0)
    assert e.value.code == ErrorCode.INVALID_REPLICATION_FACTOR
    assert e.value.message == "Replication factor must be larger than 0."
    with pytest.raises(TopicError) as e:
        assign_replicas_to_brokers(plain, 10, 6)
    assert (e.value.code, e.value.message) == (
        ErrorCode.INVALID_REPLICATION_FACTOR,
        "Replication factor: 6 larger than available brokers: 5.",
    )
    with pytest.raises(TopicError) as e:
        assign_replicas_to_brokers(plain, 0, 1)
    assert (e.value.code, e.value.message) == (
        ErrorCode.INVALID_PARTITIONS,
        "Number of partitions must be larger than 0.",
    )
    mixed = [BrokerMetadata(0, "rack1"), BrokerMetadata(1, "rack3"), BrokerMetadata(4, None)]
    with pytest.raises(TopicError) as e:
        assign_replicas_to_brokers(mixed, 10, 3)
    assert (e.value.code, e.value.message) == (ErrorCode.UNKNOWN_SERVER_ERROR, NOT_ALL_RACKS_MESSAGE)


def test_partition_addition_continues_from_partition_zero() -> None:
    brokers = broker_metadatas((i, None) for i in (1, 2, 3))
    assert start_index_for_new_partitions(brokers, [2, 3]) == 1
    assert start_index_for_new_partitions(brokers, [7, 1]) == 0  # no broker id >= 7
    existing = assign_replicas_to_brokers(brokers, 3, 2, fixed_start_index=1)
    added = assign_replicas_to_brokers(brokers, 3, 2, fixed_start_index=1, start_partition_id=3)
    assert sorted(added) == [3, 4, 5]
    whole = assign_replicas_to_brokers(brokers, 6, 2, fixed_start_index=1)
    assert existing | added == whole  # adding continues exactly where creation would have gone
