"""Unit tests for storage.producer_state (Kafka's ProducerStateManager semantics and snapshot files)."""

from __future__ import annotations

import dataclasses
import struct
import tempfile
from pathlib import Path

import crc32c
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.error_codes import ErrorCode
from protocol.records import (
    BatchHeader,
    EndTxnMarker,
    build_batch,
    build_end_txn_marker_batch,
    decode_records,
    parse_end_txn_marker,
    read_batch_header,
)
from storage.producer_state import (
    NUM_BATCHES_TO_RETAIN,
    AppendOrigin,
    BatchMetadata,
    CompletedTxn,
    CorruptSnapshotError,
    ProducerStateEntry,
    ProducerStateError,
    ProducerStateManager,
    decrement_sequence,
    read_snapshot,
    snapshot_path,
    write_snapshot,
)

INT32_MAX = 2**31 - 1
T0 = 1_700_000_000_000
DAY_MS = 86_400_000


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def data_batch(
    pid: int, epoch: int, seq: int, count: int = 1, *, txn: bool = False, ts: int = T0
) -> BatchHeader:
    raw = build_batch(
        [(b"k", b"v", (), ts)] * count,
        producer_id=pid,
        producer_epoch=epoch,
        base_sequence=seq,
        is_transactional=txn,
    )
    return read_batch_header(raw)


def marker_batch(
    pid: int, epoch: int, *, commit: bool = True, coordinator_epoch: int = 0, ts: int = T0
) -> tuple[BatchHeader, EndTxnMarker]:
    raw = build_end_txn_marker_batch(
        commit=commit,
        producer_id=pid,
        producer_epoch=epoch,
        coordinator_epoch=coordinator_epoch,
        timestamp=ts,
    )
    return read_batch_header(raw), parse_end_txn_marker(decode_records(raw)[0])


class FakeLog:
    """Drives a manager the way the partition layer will: check, append, update."""

    def __init__(self, psm: ProducerStateManager, start: int = 0) -> None:
        self.psm = psm
        self.end = start
        self.items: list[tuple[BatchHeader, EndTxnMarker | None]] = []
        self.completed: list[CompletedTxn] = []

    def produce(
        self,
        header: BatchHeader,
        *,
        origin: AppendOrigin = AppendOrigin.CLIENT,
        marker: EndTxnMarker | None = None,
    ) -> tuple[int, int, bool]:
        """(first offset, last offset, was duplicate); ProducerStateError propagates."""
        dup = self.psm.check(header, origin=origin, marker=marker)
        if dup is not None:
            return dup.first_offset, dup.last_offset, True
        first = self.end
        last = first + header.last_offset_delta
        stored = dataclasses.replace(header, base_offset=first)
        done = self.psm.update(stored, first, last, header.max_timestamp, marker=marker)
        if done is not None:
            self.completed.append(done)
        self.items.append((stored, marker))
        self.end = last + 1
        return first, last, False

    def marker(
        self, pid: int, epoch: int, *, commit: bool = True, coordinator_epoch: int = 0, ts: int = T0
    ) -> tuple[int, int, bool]:
        header, marker = marker_batch(pid, epoch, commit=commit, coordinator_epoch=coordinator_epoch, ts=ts)
        return self.produce(header, origin=AppendOrigin.COORDINATOR, marker=marker)


@pytest.fixture
def psm(tmp_path: Path) -> ProducerStateManager:
    return ProducerStateManager(tmp_path)


@pytest.fixture
def log(psm: ProducerStateManager) -> FakeLog:
    return FakeLog(psm)


def error_of(
    log: FakeLog,
    header: BatchHeader,
    *,
    origin: AppendOrigin = AppendOrigin.CLIENT,
    marker: EndTxnMarker | None = None,
) -> ErrorCode:
    before = dict(log.psm.active_producers)
    with pytest.raises(ProducerStateError) as info:
        log.produce(header, origin=origin, marker=marker)
    assert dict(log.psm.active_producers) == before, "a rejected batch must leave the state unchanged"
    return info.value.error_code


# --------------------------------------------------------------------------------------------
# Sequence and epoch validation
# --------------------------------------------------------------------------------------------


def test_in_sequence_appends(log: FakeLog) -> None:
    assert log.produce(data_batch(1, 0, 0, 3)) == (0, 2, False)
    assert log.produce(data_batch(1, 0, 3, 2)) == (3, 4, False)
    assert log.produce(data_batch(1, 0, 5, 1)) == (5, 5, False)
    entry = log.psm.last_entry(1)
    assert entry is not None
    assert (entry.producer_epoch, entry.first_seq, entry.last_seq) == (0, 0, 5)
    assert entry.last_data_offset == 5
    assert [(b.first_seq, b.last_seq, b.first_offset, b.last_offset) for b in entry.batches] == [
        (0, 2, 0, 2),
        (3, 4, 3, 4),
        (5, 5, 5, 5),
    ]
    assert log.psm.map_end_offset == 6
    assert log.psm.last_entry(2) is None


def test_producers_are_independent(log: FakeLog) -> None:
    log.produce(data_batch(1, 0, 0))
    log.produce(data_batch(2, 7, 0))
    log.produce(data_batch(1, 0, 1))
    log.produce(data_batch(2, 7, 1))
    assert error_of(log, data_batch(2, 7, 5)) == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    assert log.psm.producer_count == 2


@pytest.mark.parametrize("index", range(NUM_BATCHES_TO_RETAIN))
def test_duplicate_of_each_retained_batch_answers_original_offsets(log: FakeLog, index: int) -> None:
    log.produce(data_batch(9, 0, 0, 4))  # the 6th-oldest once the loop is done
    originals = []
    seq = 4
    for i in range(NUM_BATCHES_TO_RETAIN):
        count = i + 1
        header = data_batch(9, 0, seq, count, ts=T0 + i)
        originals.append((header, log.produce(header)))
        seq += count
    end, state = log.end, log.psm.last_entry(9)
    header, (first, last, _) = originals[index]
    assert log.produce(header) == (first, last, True)
    dup = log.psm.check(header)
    assert dup == BatchMetadata(header.last_sequence, last, last - first, T0 + index)
    assert log.end == end and log.psm.last_entry(9) == state


def test_sixth_oldest_batch_is_not_retained(log: FakeLog) -> None:
    for i in range(NUM_BATCHES_TO_RETAIN + 1):
        log.produce(data_batch(9, 0, 2 * i, 2))
    entry = log.psm.last_entry(9)
    assert entry is not None and len(entry.batches) == NUM_BATCHES_TO_RETAIN
    assert entry.first_seq == 2
    assert error_of(log, data_batch(9, 0, 0, 2)) == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    assert log.produce(data_batch(9, 0, 2, 2))[2] is True


def test_duplicate_needs_exact_sequence_range(log: FakeLog) -> None:
    log.produce(data_batch(1, 0, 0, 3))
    log.produce(data_batch(1, 0, 3, 3))
    # same first seq, different length: not a duplicate, and out of sequence
    assert error_of(log, data_batch(1, 0, 0, 2)) == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    assert error_of(log, data_batch(1, 0, 3, 4)) == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER


@pytest.mark.parametrize("seq", [0, 4, 6, 100, INT32_MAX])
def test_gap_or_rewind_is_out_of_order(log: FakeLog, seq: int) -> None:
    log.produce(data_batch(1, 0, 0, 3))
    log.produce(data_batch(1, 0, 3, 2))  # last seq 4
    assert error_of(log, data_batch(1, 0, seq)) == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    assert log.produce(data_batch(1, 0, 5)) == (5, 5, False)


def test_lower_epoch_is_invalid_producer_epoch(log: FakeLog) -> None:
    log.produce(data_batch(1, 3, 0, 2))
    assert error_of(log, data_batch(1, 2, 2)) == ErrorCode.INVALID_PRODUCER_EPOCH
    # a retry of the same sequences under an older epoch is not a duplicate either
    assert error_of(log, data_batch(1, 2, 0, 2)) == ErrorCode.INVALID_PRODUCER_EPOCH
    marker, value = marker_batch(1, 2)
    with pytest.raises(ProducerStateError) as info:
        log.psm.check(marker, origin=AppendOrigin.COORDINATOR, marker=value)
    assert info.value.error_code == ErrorCode.INVALID_PRODUCER_EPOCH


def test_epoch_bump_with_seq_zero_resets(log: FakeLog) -> None:
    for i in range(3):
        log.produce(data_batch(1, 0, i))
    assert error_of(log, data_batch(1, 1, 3)) == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    assert log.produce(data_batch(1, 1, 0, 2)) == (3, 4, False)
    entry = log.psm.last_entry(1)
    assert entry is not None
    assert entry.producer_epoch == 1 and len(entry.batches) == 1 and entry.last_seq == 1
    # the old epoch's batches are gone: an old retry is now fenced
    assert error_of(log, data_batch(1, 0, 2)) == ErrorCode.INVALID_PRODUCER_EPOCH


def test_unknown_producer_accepts_any_sequence(log: FakeLog) -> None:
    # Kafka >= 2.5 (KIP-360): no UNKNOWN_PRODUCER_ID from the append path
    assert log.produce(data_batch(5, 4, 1234, 2)) == (0, 1, False)
    assert log.produce(data_batch(5, 4, 1236)) == (2, 2, False)
    assert error_of(log, data_batch(5, 4, 1240)) == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER


def test_marker_only_producer_needs_sequence_zero(log: FakeLog) -> None:
    log.marker(4, 2, commit=False)
    entry = log.psm.last_entry(4)
    assert entry is not None and entry.is_empty and entry.producer_epoch == 2
    assert error_of(log, data_batch(4, 2, 7)) == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    assert error_of(log, data_batch(4, 3, 7)) == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    assert log.produce(data_batch(4, 2, 0))[2] is False


def test_sequence_wraps_at_int32_max(log: FakeLog) -> None:
    log.produce(data_batch(1, 0, INT32_MAX - 1, 3))  # seqs MAX-1, MAX, 0
    entry = log.psm.last_entry(1)
    assert entry is not None and entry.last_seq == 0 and entry.first_seq == INT32_MAX - 1
    assert error_of(log, data_batch(1, 0, INT32_MAX)) == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    assert log.produce(data_batch(1, 0, 1, 2)) == (3, 4, False)
    assert log.produce(data_batch(1, 0, INT32_MAX - 1, 3)) == (0, 2, True)  # wrapped duplicate


def test_last_sequence_int32_max_continues_at_zero(log: FakeLog) -> None:
    log.produce(data_batch(1, 0, INT32_MAX - 1, 2))
    assert log.produce(data_batch(1, 0, 0)) == (2, 2, False)


def test_decrement_sequence() -> None:
    assert decrement_sequence(10, 3) == 7
    assert decrement_sequence(0, 2) == INT32_MAX - 1
    assert decrement_sequence(1, 2) == INT32_MAX


def test_several_batches_of_one_request(log: FakeLog) -> None:
    # check of batch N+1 sees batch N once it is updated
    first = data_batch(1, 0, 0, 2)
    second = data_batch(1, 0, 2, 2)
    assert log.psm.check(first) is None
    assert log.psm.check(second) is None  # unknown producer: any sequence
    log.produce(first)
    assert log.psm.check(second) is None
    assert error_of(log, data_batch(1, 0, 5)) == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    log.produce(second)
    assert log.psm.check(second) is not None  # now a duplicate


def test_check_is_pure(log: FakeLog) -> None:
    log.produce(data_batch(1, 0, 0))
    before = log.psm.last_entry(1)
    for _ in range(3):
        assert log.psm.check(data_batch(1, 0, 1, 4, txn=True)) is None
        assert log.psm.check(data_batch(1, 1, 0)) is None
    assert log.psm.last_entry(1) == before and log.psm.first_unstable_offset() is None


def test_client_rules_from_log_validator(log: FakeLog) -> None:
    header, _ = marker_batch(1, 0)
    assert error_of(log, header) == ErrorCode.INVALID_RECORD
    assert error_of(log, data_batch(1, 0, -1)) == ErrorCode.INVALID_RECORD


def test_non_idempotent_batches_only_advance_the_map_end(log: FakeLog) -> None:
    header = data_batch(-1, -1, -1, 3)
    assert log.psm.check(header) is None
    assert log.produce(header) == (0, 2, False)
    assert log.psm.map_end_offset == 3 and log.psm.is_empty()


def test_replication_origin_skips_validation(log: FakeLog) -> None:
    replication = AppendOrigin.REPLICATION
    log.produce(data_batch(1, 5, 0, 2))
    assert log.produce(data_batch(1, 5, 10), origin=replication)[2] is False  # gap accepted
    assert log.produce(data_batch(1, 5, 10), origin=replication)[2] is False  # no duplicate detection
    assert log.produce(data_batch(1, 4, 3), origin=replication)[2] is False  # lower epoch accepted
    entry = log.psm.last_entry(1)
    assert entry is not None and entry.producer_epoch == 4 and len(entry.batches) == 1


def test_coordinator_origin_checks_epoch_not_sequence(log: FakeLog) -> None:
    coordinator = AppendOrigin.COORDINATOR
    log.produce(data_batch(1, 2, 0))
    assert log.produce(data_batch(1, 2, -1), origin=coordinator)[2] is False
    assert error_of(log, data_batch(1, 1, -1), origin=coordinator) == ErrorCode.INVALID_PRODUCER_EPOCH


# --------------------------------------------------------------------------------------------
# Transactions
# --------------------------------------------------------------------------------------------


def test_transaction_lifecycle_and_unstable_offsets(log: FakeLog) -> None:
    psm = log.psm
    log.produce(data_batch(7, 0, 0))  # offset 0, not transactional
    log.produce(data_batch(1, 0, 0, 2, txn=True))  # offsets 1-2: txn of 1 starts at 1
    log.produce(data_batch(2, 0, 0, txn=True))  # offset 3: txn of 2 starts at 3
    log.produce(data_batch(1, 0, 2, txn=True))  # offset 4
    assert psm.first_undecided_offset() == 1 and psm.first_unstable_offset() == 1
    entry = psm.last_entry(1)
    assert entry is not None and entry.current_txn_first_offset == 1
    assert error_of(log, data_batch(1, 0, 3)) == ErrorCode.INVALID_TXN_STATE

    log.marker(1, 0, commit=False, coordinator_epoch=3)  # offset 5
    assert log.completed == [CompletedTxn(1, 1, 5, True, 3)]  # LSO: producer 2's txn still open
    assert psm.first_undecided_offset() == 3
    assert psm.first_unstable_offset() == 1  # marker not yet below the high watermark
    psm.on_high_watermark_updated(5)
    assert psm.first_unstable_offset() == 1
    psm.on_high_watermark_updated(6)
    assert psm.first_unstable_offset() == 3
    entry = psm.last_entry(1)
    assert entry is not None and entry.current_txn_first_offset is None and entry.coordinator_epoch == 3
    assert len(entry.batches) == 2  # markers keep the data batches of the same epoch
    assert log.produce(data_batch(1, 0, 3))[2] is False  # offset 6: non-transactional is fine again

    log.marker(2, 0, commit=True, coordinator_epoch=3)  # offset 7
    assert log.completed[-1] == CompletedTxn(2, 3, 7, False, 8)
    psm.on_high_watermark_updated(8)
    assert psm.first_unstable_offset() is None and psm.first_undecided_offset() is None


def test_marker_without_transaction_completes_nothing(log: FakeLog) -> None:
    log.produce(data_batch(1, 0, 0))
    log.marker(1, 1)
    assert log.completed == []
    entry = log.psm.last_entry(1)
    assert entry is not None and entry.producer_epoch == 1 and entry.is_empty


def test_zombie_coordinator_is_fenced(log: FakeLog) -> None:
    log.produce(data_batch(1, 0, 0, txn=True))
    log.marker(1, 0, coordinator_epoch=5)
    log.produce(data_batch(1, 0, 1, txn=True))
    header, marker = marker_batch(1, 0, coordinator_epoch=4)
    assert (
        error_of(log, header, origin=AppendOrigin.COORDINATOR, marker=marker)
        == ErrorCode.TRANSACTION_COORDINATOR_FENCED
    )
    assert log.produce(header, origin=AppendOrigin.REPLICATION, marker=marker)[2] is False


def test_update_of_control_batch_needs_marker(psm: ProducerStateManager) -> None:
    header, _ = marker_batch(1, 0)
    with pytest.raises(ValueError):
        psm.update(header, 0, 0, T0)


# --------------------------------------------------------------------------------------------
# Expiration
# --------------------------------------------------------------------------------------------


def test_remove_expired(tmp_path: Path) -> None:
    psm = ProducerStateManager(tmp_path, max_producer_id_expiration_ms=1000)
    log = FakeLog(psm)
    log.produce(data_batch(1, 0, 0, ts=T0))
    log.produce(data_batch(2, 0, 0, ts=T0 + 500))
    log.produce(data_batch(3, 0, 0, ts=T0, txn=True))  # open transaction: never expires
    assert psm.remove_expired(T0 + 999) == []
    assert psm.remove_expired(T0 + 1000) == [1]
    assert psm.remove_expired(T0 + 10_000) == [2]
    assert sorted(psm.active_producers) == [3]
    # an expired producer is unknown again: any sequence is accepted
    assert log.produce(data_batch(1, 0, 77))[2] is False


def test_expired_producers_are_skipped_when_loading_a_snapshot(tmp_path: Path) -> None:
    psm = ProducerStateManager(tmp_path, max_producer_id_expiration_ms=DAY_MS)
    log = FakeLog(psm)
    log.produce(data_batch(1, 0, 0, ts=T0))
    log.produce(data_batch(2, 0, 0, ts=T0 + DAY_MS))
    log.produce(data_batch(3, 0, 0, ts=T0, txn=True))
    psm.take_snapshot(log.end)
    fresh = ProducerStateManager(tmp_path, max_producer_id_expiration_ms=DAY_MS)
    fresh.truncate_and_reload(0, log.end, T0 + DAY_MS)
    assert sorted(fresh.active_producers) == [2, 3]
    assert fresh.first_undecided_offset() == 2


# --------------------------------------------------------------------------------------------
# Snapshots
# --------------------------------------------------------------------------------------------


def test_snapshot_file_name_and_bytes(tmp_path: Path) -> None:
    psm = ProducerStateManager(tmp_path)
    log = FakeLog(psm)
    log.produce(data_batch(7, 1, 10, 3, ts=T0 + 5))  # offsets 0-2
    log.produce(data_batch(3, 0, 0, 1, txn=True, ts=T0 + 6))  # offset 3
    log.marker(9, 4, coordinator_epoch=2, ts=T0 + 7)  # offset 4: marker-only producer
    path = psm.take_snapshot(log.end)
    assert path == tmp_path / "00000000000000000005.snapshot" == snapshot_path(tmp_path, 5)
    data = path.read_bytes()
    entries = struct.pack(">i", 3)
    entries += struct.pack(">qhiqiqiq", 3, 0, 0, 3, 0, T0 + 6, -1, 3)
    entries += struct.pack(">qhiqiqiq", 7, 1, 12, 2, 2, T0 + 5, -1, -1)
    entries += struct.pack(">qhiqiqiq", 9, 4, -1, -1, 0, T0 + 7, 2, -1)
    assert data == struct.pack(">hI", 1, crc32c.crc32c(entries)) + entries
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind


def test_snapshot_round_trip(tmp_path: Path) -> None:
    psm = ProducerStateManager(tmp_path)
    log = FakeLog(psm)
    for i in range(7):
        log.produce(data_batch(1, 0, 2 * i, 2, ts=T0 + i))
    log.produce(data_batch(2, 3, 0, txn=True, ts=T0 + 100))
    log.marker(4, 1, coordinator_epoch=6, ts=T0 + 200)
    psm.take_snapshot(log.end)
    fresh = ProducerStateManager(tmp_path)
    assert fresh.latest_snapshot_offset() == log.end
    fresh.truncate_and_reload(0, log.end, T0)
    assert fresh.map_end_offset == log.end
    assert fresh.first_undecided_offset() == psm.first_undecided_offset() == 14
    for pid, entry in psm.active_producers.items():
        loaded = fresh.last_entry(pid)
        assert loaded is not None
        # Kafka's format keeps only the last batch of each producer
        assert loaded == dataclasses.replace(entry, batches=entry.batches[-1:])
    # the loaded state keeps validating: the last batch is still a duplicate, the next seq is in order
    assert FakeLog(fresh, log.end).produce(data_batch(1, 0, 12, 2)) == (12, 13, True)
    assert FakeLog(fresh, log.end).produce(data_batch(1, 0, 14))[2] is False


def test_read_snapshot_written_by_kafka_layout(tmp_path: Path) -> None:
    entries = struct.pack(">i", 2)
    entries += struct.pack(">qhiqiqiq", 42, 3, 99, 1000, 4, T0, 7, 990)
    entries += struct.pack(">qhiqiqiq", 43, 0, -1, -1, 0, T0, -1, -1)
    path = tmp_path / "00000000000000001001.snapshot"
    path.write_bytes(struct.pack(">hI", 1, crc32c.crc32c(entries)) + entries)
    assert read_snapshot(path) == [
        ProducerStateEntry(42, 3, 7, T0, 990, (BatchMetadata(99, 1000, 4, T0),)),
        ProducerStateEntry(43, 0, -1, T0, None, ()),
    ]


@pytest.mark.parametrize(
    "damage",
    ["flip_entry_byte", "flip_crc", "bad_version", "truncated", "trailing", "empty", "negative_count"],
)
def test_corrupt_snapshot_is_rejected(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "x.snapshot"
    write_snapshot(path, [ProducerStateEntry(1, 0, -1, T0, None, (BatchMetadata(0, 0, 0, T0),))])
    data = bytearray(path.read_bytes())
    if damage == "flip_entry_byte":
        data[20] ^= 0x01
    elif damage == "flip_crc":
        data[3] ^= 0x80
    elif damage == "bad_version":
        data[1] = 2
    elif damage == "truncated":
        del data[-1]
    elif damage == "trailing":
        data += b"\x00"
    elif damage == "empty":
        data.clear()
    else:
        bad = struct.pack(">i", -1)
        data = bytearray(struct.pack(">hI", 1, crc32c.crc32c(bad)) + bad)
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptSnapshotError):
        read_snapshot(path)


def test_corrupt_latest_snapshot_is_deleted_and_older_one_used(tmp_path: Path) -> None:
    psm = ProducerStateManager(tmp_path)
    log = FakeLog(psm)
    log.produce(data_batch(1, 0, 0, 2))
    first_snap = psm.take_snapshot(log.end)
    log.produce(data_batch(1, 0, 2, 2))
    second_snap = psm.take_snapshot(log.end)
    assert first_snap is not None and second_snap is not None
    data = bytearray(second_snap.read_bytes())
    data[-1] ^= 0xFF
    second_snap.write_bytes(bytes(data))

    fresh = ProducerStateManager(tmp_path)
    fresh.truncate_and_reload(0, log.end, T0)
    assert not second_snap.exists() and first_snap.exists()
    assert fresh.map_end_offset == 2 and fresh.snapshot_offsets() == [2]
    fresh.load(header for header, _ in log.items)
    assert fresh.last_entry(1) == psm.last_entry(1)

    # with every snapshot corrupt the state is rebuilt from the log start
    first_snap.write_bytes(b"garbage")
    fresh = ProducerStateManager(tmp_path)
    fresh.truncate_and_reload(0, log.end, T0)
    assert fresh.snapshot_offsets() == [] and fresh.map_end_offset == 0 and fresh.is_empty()
    fresh.load(log.items)
    assert fresh.active_producers == psm.active_producers


def test_take_snapshot_only_when_newer(psm: ProducerStateManager, log: FakeLog) -> None:
    assert psm.take_snapshot(0) is None  # nothing since the (empty) start
    log.produce(data_batch(1, 0, 0, 3))
    with pytest.raises(ValueError):
        psm.take_snapshot(2)  # the state already contains offset 2
    assert psm.take_snapshot(3) is not None
    assert psm.take_snapshot(3) is None
    assert psm.take_snapshot(10) is not None  # non-producer batches in between
    assert psm.map_end_offset == 10 and psm.snapshot_offsets() == [3, 10]


def test_stray_files_are_ignored_and_temporaries_removed(tmp_path: Path) -> None:
    (tmp_path / "00000000000000000007.snapshot.tmp").write_bytes(b"half written")
    (tmp_path / "00000000000000000000.log").write_bytes(b"")
    (tmp_path / "7.snapshot").write_bytes(b"")
    (tmp_path / "00000000000000000003.snapshot.deleted").write_bytes(b"")
    psm = ProducerStateManager(tmp_path)
    assert psm.snapshot_offsets() == []
    assert not (tmp_path / "00000000000000000007.snapshot.tmp").exists()
    assert (tmp_path / "00000000000000000000.log").exists()


def test_missing_partition_dir_is_fine(tmp_path: Path) -> None:
    psm = ProducerStateManager(tmp_path / "absent")
    psm.truncate_and_reload(0, 10, T0)
    assert psm.map_end_offset == 0 and psm.latest_snapshot_offset() is None


def test_delete_snapshots_before(psm: ProducerStateManager, log: FakeLog) -> None:
    for i in range(4):
        log.produce(data_batch(1, 0, i))
        psm.take_snapshot(log.end)
    assert psm.snapshot_offsets() == [1, 2, 3, 4]
    psm.delete_snapshots_before(3)
    assert psm.snapshot_offsets() == [3, 4] and psm.oldest_snapshot_offset() == 3
    assert sorted(p.name for p in psm.partition_dir.iterdir()) == [
        "00000000000000000003.snapshot",
        "00000000000000000004.snapshot",
    ]


# --------------------------------------------------------------------------------------------
# truncate_and_reload
# --------------------------------------------------------------------------------------------


def _log_with_snapshots(tmp_path: Path) -> tuple[ProducerStateManager, FakeLog]:
    psm = ProducerStateManager(tmp_path)
    log = FakeLog(psm)
    for i in range(6):  # snapshots at 2, 4, 6, 8, 10, 12
        log.produce(data_batch(1, 0, 2 * i, 2, ts=T0 + i))
        psm.take_snapshot(log.end)
    return psm, log


def test_truncate_and_reload_after_log_truncation(tmp_path: Path) -> None:
    psm, log = _log_with_snapshots(tmp_path)
    psm.truncate_and_reload(4, 6, T0)  # log is now [4, 6): e.g. a follower truncated its tail
    assert psm.snapshot_offsets() == [4, 6]  # the one at the log start is kept (Kafka deletes it)
    assert psm.map_end_offset == 6
    entry = psm.last_entry(1)
    assert entry is not None and entry.last_seq == 5 and entry.last_data_offset == 5
    psm.load(header for header, _ in log.items if header.last_offset < 6)  # all below the map end
    assert psm.last_entry(1) == entry
    # a snapshot above the new log end is gone even if the log grows back past it
    psm.truncate_and_reload(4, 12, T0)
    assert psm.map_end_offset == 6
    psm.load(log.items)
    assert psm.last_entry(1) == log.psm.last_entry(1)
    entry = psm.last_entry(1)
    assert entry is not None and entry.last_data_offset == 11 and len(entry.batches) == 4


def test_truncate_and_reload_without_usable_snapshot_starts_at_log_start(tmp_path: Path) -> None:
    psm, log = _log_with_snapshots(tmp_path)
    psm.truncate_and_reload(9, 11, T0)
    assert psm.snapshot_offsets() == [10]
    assert psm.map_end_offset == 10
    psm.truncate_and_reload(11, 11, T0)
    assert psm.snapshot_offsets() == []
    assert psm.map_end_offset == 11 and psm.is_empty()
    psm.load(log.items)  # batches below the map end are skipped
    entry = psm.last_entry(1)
    assert entry is not None and entry.last_data_offset == 11


def test_truncate_and_reload_at_map_end_keeps_state(tmp_path: Path) -> None:
    psm, log = _log_with_snapshots(tmp_path)
    log.produce(data_batch(1, 0, 12, 1, txn=True))  # offset 12
    log.marker(1, 0, ts=T0 + 50)  # offset 13
    before = dict(psm.active_producers)
    assert psm.first_unstable_offset() == 12  # marker not yet replicated
    psm.truncate_and_reload(7, log.end, T0)  # only the log start moved (retention)
    assert dict(psm.active_producers) == before
    assert psm.snapshot_offsets() == [8, 10, 12]
    assert psm.first_unstable_offset() == 12
    psm.truncate_and_reload(14, log.end, T0)
    assert psm.first_unstable_offset() is None  # the marker is below the new log start
    assert dict(psm.active_producers) == before


def test_truncate_fully_and_start_at(tmp_path: Path) -> None:
    psm, _ = _log_with_snapshots(tmp_path)
    psm.truncate_fully_and_start_at(100)
    assert psm.is_empty() and psm.snapshot_offsets() == [] and psm.map_end_offset == 100
    assert list(tmp_path.iterdir()) == []
    assert psm.take_snapshot(100) is not None  # Kafka: a snapshot of the empty state at 100


# --------------------------------------------------------------------------------------------
# Rebuild from snapshot + log equals the live state (property)
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Producer:
    epoch: int = 0
    next_seq: int = 0
    in_txn: bool = False
    coordinator_epoch: int = 0
    sent: list[tuple[BatchHeader, tuple[int, int]]] = dataclasses.field(default_factory=list)


def _assert_rebuilt_matches(live: ProducerStateManager, rebuilt: ProducerStateManager, exact: bool) -> None:
    assert rebuilt.map_end_offset == live.map_end_offset
    assert rebuilt.first_undecided_offset() == live.first_undecided_offset()
    assert sorted(rebuilt.active_producers) == sorted(live.active_producers)
    for pid, entry in live.active_producers.items():
        got = rebuilt.last_entry(pid)
        assert got is not None
        if exact:
            assert got == entry
            continue
        # a snapshot keeps only the last batch (with the entry's last timestamp): the rebuilt
        # batches are a suffix of the live ones, all but the oldest identical
        assert dataclasses.replace(got, batches=()) == dataclasses.replace(entry, batches=())
        n = len(got.batches)
        assert (n == 0) == (len(entry.batches) == 0)
        if n:
            tail = entry.batches[len(entry.batches) - n :]
            assert got.batches[1:] == tail[1:]
            assert dataclasses.replace(got.batches[0], timestamp=0) == dataclasses.replace(
                tail[0], timestamp=0
            )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_rebuild_from_snapshot_and_log_equals_live_state(data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        live = ProducerStateManager(directory)
        log = FakeLog(live)
        producers: dict[int, _Producer] = {}
        clock = T0
        steps = data.draw(st.integers(1, 60), label="steps")
        snapshot_at = set(data.draw(st.lists(st.integers(0, steps), max_size=3), label="snapshots"))
        for step in range(steps + 1):
            if step in snapshot_at:
                live.take_snapshot(log.end)
            if step == steps:
                break
            clock += data.draw(st.integers(0, 1000))
            pid = data.draw(st.integers(1, 4), label="pid")
            p = producers.setdefault(pid, _Producer())
            action = data.draw(st.sampled_from(["data", "data", "data", "dup", "bump", "marker", "plain"]))
            if action == "plain":
                log.produce(data_batch(-1, -1, -1, data.draw(st.integers(1, 3)), ts=clock))
            elif action == "dup" and p.sent:
                header, offsets = data.draw(st.sampled_from(p.sent[-NUM_BATCHES_TO_RETAIN:]))
                assert log.produce(header) == (*offsets, True)
            elif action == "bump" and not p.in_txn:
                p.epoch += 1
                p.next_seq = 0
                p.sent.clear()
            elif action == "marker":
                p.coordinator_epoch += data.draw(st.integers(0, 1))
                commit = data.draw(st.booleans())
                log.marker(pid, p.epoch, commit=commit, coordinator_epoch=p.coordinator_epoch, ts=clock)
                p.in_txn = False
            else:
                if pid not in live.active_producers and data.draw(st.booleans()):
                    p.next_seq = data.draw(st.sampled_from([INT32_MAX - 1, 12345]))  # unknown: any seq
                count = data.draw(st.integers(1, 3))
                txn = p.in_txn or data.draw(st.booleans())
                header = data_batch(pid, p.epoch, p.next_seq, count, txn=txn, ts=clock)
                first, last, dup = log.produce(header)
                assert not dup
                p.sent.append((header, (first, last)))
                p.next_seq = (p.next_seq + count) % (INT32_MAX + 1)
                p.in_txn = txn
        live.on_high_watermark_updated(log.end)

        latest = live.latest_snapshot_offset()
        corrupt_latest = latest is not None and data.draw(st.booleans(), label="corrupt latest")
        if corrupt_latest and latest is not None:
            snapshot_path(directory, latest).write_bytes(b"\x00\x01broken")

        rebuilt = ProducerStateManager(directory)
        rebuilt.truncate_and_reload(0, log.end, clock)
        used_snapshot = rebuilt.map_end_offset > 0  # take_snapshot(0) never writes one
        assert rebuilt.map_end_offset in {0, *rebuilt.snapshot_offsets()}
        if corrupt_latest:
            assert rebuilt.latest_snapshot_offset() != latest
        rebuilt.load(log.items)
        rebuilt.on_high_watermark_updated(log.end)
        _assert_rebuilt_matches(live, rebuilt, exact=not used_snapshot)

        # replaying from the log start only is always exact
        scratch = ProducerStateManager(directory / "none")
        scratch.load(log.items)
        scratch.on_high_watermark_updated(log.end)
        _assert_rebuilt_matches(live, scratch, exact=True)
