"""Replica placement for new topics and partitions: Kafka's ``AdminUtils.assignReplicasToBrokers``.

Pure: no I/O. The random start index and replica shift come from an injectable ``random.Random``
(tests pass a seeded one, or fix both with ``fixed_start_index``).

Three goals, as Kafka states them: spread replicas evenly over the brokers; spread the followers
of the partitions a broker leads over the other brokers; and, when every broker has a rack, put
each partition's replicas on as many different racks as possible.

Rack-unaware: the first replica of partition ``p`` is ``brokers[(p + start) % n]``; the others
follow at an increasing shift, bumped every ``n`` partitions so that the same replica sets do not
repeat. Rack-aware: the same round robin over a *rack-alternated* broker list (one broker of
each rack in turn, racks sorted), followers skipping brokers whose rack (or the broker itself)
already holds a replica until every rack (broker) has one.

Errors are :class:`pybroker.standalone.TopicError` with Kafka's codes and messages:
INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR, and for brokers of which only some have a rack
Kafka's ``AdminOperationException``, which reaches clients as UNKNOWN_SERVER_ERROR.

Partition additions (Kafka's ``AdminZkClient.createNewPartitionsAssignment``) continue from the
existing assignment: :func:`start_index_for_new_partitions` gives the fixed start index and the
first new partition id is the current partition count.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from protocol.error_codes import ErrorCode
from pybroker.standalone import TopicError

NOT_ALL_RACKS_MESSAGE = "Not all brokers have rack information for replica rack aware assignment."


@dataclass(frozen=True, slots=True)
class BrokerMetadata:
    """A broker as replica placement sees it: its id and rack (None: no rack)."""

    id: int
    rack: str | None = None


def _replica_index(
    first_replica_index: int, second_replica_shift: int, replica_index: int, n_brokers: int
) -> int:
    shift = 1 + (second_replica_shift + replica_index) % (n_brokers - 1)
    return (first_replica_index + shift) % n_brokers


def rack_alternated_broker_list(broker_racks: Mapping[int, str]) -> list[int]:
    """Brokers alternating by rack: racks sorted, brokers sorted within each rack.

    ``{0: r1, 1: r1, 2: r1, 3: r2, 4: r2, 5: r2}`` gives ``[0, 3, 1, 4, 2, 5]``.
    """
    by_rack: dict[str, list[int]] = {}
    for broker, rack in broker_racks.items():
        by_rack.setdefault(rack, []).append(broker)
    racks = sorted(by_rack)
    iters = {rack: iter(sorted(by_rack[rack])) for rack in racks}
    result: list[int] = []
    i = 0
    while len(result) < len(broker_racks):
        nxt = next(iters[racks[i]], None)
        if nxt is not None:
            result.append(nxt)
        i = (i + 1) % len(racks)
    return result


def assign_replicas_to_brokers(
    brokers: Sequence[BrokerMetadata],
    n_partitions: int,
    replication_factor: int,
    *,
    fixed_start_index: int = -1,
    start_partition_id: int = -1,
    rng: random.Random | None = None,
) -> dict[int, list[int]]:
    """Kafka's ``assignReplicasToBrokers``: partition id -> replicas (the first is the preferred leader).

    ``brokers`` in the order Kafka would list them (callers sort by id). ``fixed_start_index``
    >= 0 fixes both the start index and the replica shift (partition additions);
    ``start_partition_id`` is the first partition id to assign (default 0).
    """
    if n_partitions <= 0:
        raise TopicError(ErrorCode.INVALID_PARTITIONS, "Number of partitions must be larger than 0.")
    if replication_factor <= 0:
        raise TopicError(ErrorCode.INVALID_REPLICATION_FACTOR, "Replication factor must be larger than 0.")
    if replication_factor > len(brokers):
        raise TopicError(
            ErrorCode.INVALID_REPLICATION_FACTOR,
            f"Replication factor: {replication_factor} larger than available brokers: {len(brokers)}.",
        )
    rng = rng or random.Random()
    if all(b.rack is None for b in brokers):
        return _rack_unaware(
            n_partitions,
            replication_factor,
            [b.id for b in brokers],
            fixed_start_index,
            start_partition_id,
            rng,
        )
    if any(b.rack is None for b in brokers):
        raise TopicError(ErrorCode.UNKNOWN_SERVER_ERROR, NOT_ALL_RACKS_MESSAGE)
    return _rack_aware(n_partitions, replication_factor, brokers, fixed_start_index, start_partition_id, rng)


def _rack_unaware(
    n_partitions: int,
    replication_factor: int,
    broker_list: list[int],
    fixed_start_index: int,
    start_partition_id: int,
    rng: random.Random,
) -> dict[int, list[int]]:
    n = len(broker_list)
    start_index = fixed_start_index if fixed_start_index >= 0 else rng.randrange(n)
    current = max(0, start_partition_id)
    shift = fixed_start_index if fixed_start_index >= 0 else rng.randrange(n)
    result: dict[int, list[int]] = {}
    for _ in range(n_partitions):
        if current > 0 and current % n == 0:
            shift += 1
        first = (current + start_index) % n
        replicas = [broker_list[first]]
        replicas.extend(
            broker_list[_replica_index(first, shift, j, n)] for j in range(replication_factor - 1)
        )
        result[current] = replicas
        current += 1
    return result


def _rack_aware(
    n_partitions: int,
    replication_factor: int,
    brokers: Sequence[BrokerMetadata],
    fixed_start_index: int,
    start_partition_id: int,
    rng: random.Random,
) -> dict[int, list[int]]:
    rack_of = {b.id: b.rack for b in brokers if b.rack is not None}
    num_racks = len(set(rack_of.values()))
    arranged = rack_alternated_broker_list(rack_of)
    n = len(arranged)
    start_index = fixed_start_index if fixed_start_index >= 0 else rng.randrange(n)
    current = max(0, start_partition_id)
    shift = fixed_start_index if fixed_start_index >= 0 else rng.randrange(n)
    result: dict[int, list[int]] = {}
    for _ in range(n_partitions):
        if current > 0 and current % n == 0:
            shift += 1
        first = (current + start_index) % n
        leader = arranged[first]
        replicas = [leader]
        racks_with_replicas = {rack_of[leader]}
        brokers_with_replicas = {leader}
        k = 0
        for _j in range(replication_factor - 1):
            while True:
                broker = arranged[_replica_index(first, shift * num_racks, k, n)]
                rack = rack_of[broker]
                k += 1
                # skip a broker whose rack already has a replica while some rack has none, and a
                # broker that already has one while some broker has none
                if (rack not in racks_with_replicas or len(racks_with_replicas) == num_racks) and (
                    broker not in brokers_with_replicas or len(brokers_with_replicas) == n
                ):
                    replicas.append(broker)
                    racks_with_replicas.add(rack)
                    brokers_with_replicas.add(broker)
                    break
        result[current] = replicas
        current += 1
    return result


def start_index_for_new_partitions(
    brokers: Sequence[BrokerMetadata], partition0_replicas: Sequence[int]
) -> int:
    """Kafka's start index for added partitions: the position of the first broker whose id is
    at least partition 0's preferred leader (0 if none)."""
    if not partition0_replicas:
        return 0
    head = partition0_replicas[0]
    return next((i for i, b in enumerate(brokers) if b.id >= head), 0)


def broker_metadatas(brokers: Iterable[tuple[int, str | None]]) -> list[BrokerMetadata]:
    """``(id, rack)`` pairs as a list sorted by id, as Kafka's ``getBrokerMetadatas`` returns them."""
    return sorted((BrokerMetadata(i, r) for i, r in brokers), key=lambda b: b.id)


# -- reassignment validation (KIP-455), shared by the controller and the one-broker answers ------


def scala_buffer(values: Iterable[int]) -> str:
    """A list as Kafka's error messages print it (``ArrayBuffer(1, 2)``)."""
    return f"ArrayBuffer({', '.join(str(v) for v in values)})"


def scala_set(values: Iterable[int]) -> str:
    """A set as Kafka's error messages print it (``Set(1, 2)``, ``HashSet`` beyond four)."""
    vs = sorted(values)
    return f"{'Set' if len(vs) <= 4 else 'HashSet'}({', '.join(str(v) for v in vs)})"


def replica_list_error(replicas: Sequence[int]) -> tuple[ErrorCode, str] | None:
    """Kafka's checks of a reassignment's target list before any broker is looked at."""
    if not replicas:
        return ErrorCode.INVALID_REPLICA_ASSIGNMENT, "Empty replica list specified in partition reassignment."
    if len(set(replicas)) != len(replicas):
        return (
            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            f"Duplicate replica ids in partition reassignment replica list: {scala_buffer(replicas)}",
        )
    if any(r < 0 for r in replicas):
        return (
            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            f"Invalid broker id in replica list: {scala_buffer(replicas)}",
        )
    return None


def dead_replicas_error(adding: Sequence[int], live: Iterable[int]) -> tuple[ErrorCode, str] | None:
    """A reassignment may only add live brokers."""
    live_ids = set(live)
    if set(adding) <= live_ids:
        return None
    return (
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        f"Replica assignment has brokers that are not alive. Replica list: {scala_buffer(adding)}, "
        f"live broker list: {scala_set(live_ids)}",
    )
