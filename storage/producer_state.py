"""Idempotent/transactional producer state of one partition (Kafka's ``ProducerStateManager``).

Synchronous and sans-IO except for its own snapshot files.  Follows Kafka 3.9
(``storage/.../internals/log/ProducerStateManager.java``, ``ProducerAppendInfo.java``,
``ProducerStateEntry.java``, ``BatchMetadata.java`` and ``UnifiedLog.analyzeAndValidateProducerState``).

Ownership and calling protocol
==============================

One :class:`ProducerStateManager` per partition, owned by the partition object and called only from
the event loop (no locking).  Around each append of a produce request the partition layer does, for
every batch in order::

    dup = psm.check(header)              # before offsets are assigned; raises ProducerStateError
    if dup is not None:                  # a retry of a batch that is already in the log:
        answer with dup.first_offset / dup.last_offset / dup.timestamp, append nothing
    ... the log appends the batch at [first_offset, last_offset] ...
    psm.update(header, first_offset, last_offset, max_timestamp)

``update`` of batch N happens before ``check`` of batch N+1, so a request carrying several batches of
one producer is validated against the state including its earlier batches (what Kafka's
``ProducerAppendInfo`` accumulates).  ``check`` never mutates anything: a rejected batch leaves the
state unchanged.  Batches without a producer id may be passed too (``check`` returns ``None``,
``update`` only advances :attr:`~ProducerStateManager.map_end_offset`).

On log load / truncation: ``truncate_and_reload(log_start, log_end, now_ms)`` then
``load(headers of the batches from map_end_offset to log_end)``; then ``take_snapshot(log_end)``
(Kafka does this after recovery, at segment rolls and on clean shutdown).

In-memory structure
===================

``_producers: dict[producer_id, ProducerStateEntry]`` where an entry is immutable and holds the
producer epoch, the coordinator epoch of the last transaction marker, the last timestamp (max
timestamp of the last batch or marker; used for expiration), the first offset of the producer's
ongoing transaction (or ``None``), and the metadata of its last <= 5 data batches
(:data:`NUM_BATCHES_TO_RETAIN`) of the *current* epoch, oldest first: ``BatchMetadata(last_seq,
last_offset, offset_delta, timestamp)``; first seq/offset are derived as in Kafka.  An epoch change
drops the retained batches.  Besides: ``_ongoing_txns`` (first offset -> producer id of every open
transaction), ``_unreplicated_txns`` (first offset -> marker offset of completed transactions whose
marker is not yet below the high watermark) for :meth:`~ProducerStateManager.first_unstable_offset`,
``map_end_offset`` (the state reflects every batch below it) and the index of snapshot files.

Snapshot files
==============

``<offset, 20 digits>.snapshot`` in the partition directory holds the state of all producers as of
``offset`` (exclusive: batches at ``offset`` and above are not in it).  Byte-compatible with Kafka's
``PID_SNAPSHOT_MAP_SCHEMA`` version 1, big-endian::

    version                int16   1
    crc                    uint32  CRC-32C of every byte after this field
    producer_entries       int32 count, then per producer (42 bytes):
      producer_id              int64
      epoch                    int16
      last_sequence            int32   -1 if no batch retained
      last_offset              int64   -1 if no batch retained
      offset_delta             int32   last_offset - first offset of the last batch (0 if none)
      timestamp                int64   the entry's last timestamp
      coordinator_epoch        int32
      current_txn_first_offset int64   -1 if no ongoing transaction

Like Kafka, only the *last* batch of each producer is stored: after loading a snapshot a retry of one
of the older retained batches is no longer recognised as a duplicate (it fails as out of order) unless
the batches after the snapshot are replayed.  Entries are written sorted by producer id.

Crash behaviour: a snapshot is written to ``<name>.tmp``, fsynced, renamed over the final name and
the directory fsynced, so a crash leaves either no file or a complete one (Kafka writes in place;
leftover ``.tmp`` files are deleted when the manager starts).  The snapshot a segment roll takes
skips both fsyncs (Kafka 3.9 likewise defers them off its log lock): the log's next flush makes
it durable together with the rolled segment, and a crash before that may leave it empty or torn.
A snapshot that cannot be read (bad version, CRC mismatch, wrong length) is deleted and the next
older one is tried; with none left, the state is rebuilt from the log start.  Snapshots are only
an optimisation: state can always be rebuilt by replaying the log, except for producers whose
batches were all deleted by retention (Kafka has the same limitation; such producers are treated
as unknown, see below).

Kafka behaviour kept (3.9)
==========================

* Validation order for a client batch with a producer id (``UnifiedLog`` then ``ProducerAppendInfo``):
  duplicate check first (same epoch and same first/last sequence as one of the retained batches ->
  that batch's metadata), then epoch (lower -> ``INVALID_PRODUCER_EPOCH``; Kafka >= 2.7 answers
  produce with this instead of ``PRODUCER_FENCED``), then sequence: a new epoch must start at 0
  unless the producer has no known epoch; the same epoch must continue at last seq + 1 (int32 max
  wraps to 0), else ``OUT_OF_ORDER_SEQUENCE_NUMBER``.
* A producer id without state (never seen, expired, or its data removed by retention) is accepted
  with any sequence: since KIP-360 (Kafka 2.5) the broker no longer returns ``UNKNOWN_PRODUCER_ID``
  from the append path.  The same holds for an entry whose epoch is unknown (-1).
* ``COORDINATOR`` origin (transaction markers, transactional offset commits) checks the epoch but not
  sequences; ``REPLICATION`` (followers, log recovery) checks neither.  A non-transactional batch
  while the producer has an open transaction is ``INVALID_TXN_STATE`` for every origin (as Kafka).  A
  marker with a coordinator epoch below the stored one is ``TRANSACTION_COORDINATOR_FENCED``.
* Expiration: a producer without an open transaction whose last timestamp is at least
  ``producer.id.expiration.ms`` (default 1 day) old is dropped by :meth:`remove_expired` and skipped
  when a snapshot is loaded.
* ``truncate_and_reload`` deletes snapshots above the log end and below the log start.  Kafka also
  deletes one *at* the log start offset; we keep it, since it describes exactly the state at the log
  start and loading it only preserves more producer state.
* Not implemented here (later transaction work): KIP-890 verification guards and the late
  transaction detection (``hasLateTransaction``).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from types import MappingProxyType

import crc32c

from protocol.error_codes import ErrorCode
from protocol.records import (
    CONTROL_TYPE_ABORT,
    NO_PRODUCER_EPOCH,
    NO_SEQUENCE,
    NO_TIMESTAMP,
    BatchHeader,
    EndTxnMarker,
)
from storage.checkpoint import write_atomically

__all__ = [
    "DEFAULT_PRODUCER_ID_EXPIRATION_MS",
    "NUM_BATCHES_TO_RETAIN",
    "SNAPSHOT_SUFFIX",
    "SNAPSHOT_VERSION",
    "AppendOrigin",
    "BatchMetadata",
    "CompletedTxn",
    "CorruptSnapshotError",
    "ProducerStateEntry",
    "ProducerStateError",
    "ProducerStateManager",
    "decrement_sequence",
    "read_snapshot",
    "snapshot_path",
    "write_snapshot",
]

NUM_BATCHES_TO_RETAIN = 5
DEFAULT_PRODUCER_ID_EXPIRATION_MS = 86_400_000  # producer.id.expiration.ms
SNAPSHOT_VERSION = 1
SNAPSHOT_SUFFIX = ".snapshot"
_TMP_SUFFIX = ".tmp"  # what write_atomically writes first
_SNAPSHOT_NAME = re.compile(r"^(\d{20})\.snapshot$")
_INT32_MAX = 2**31 - 1
_NO_COORDINATOR_EPOCH = -1

_HEAD = struct.Struct(">hIi")  # version, crc, entry count
_ENTRY = struct.Struct(">qhiqiqiq")
_CRC_START = 6  # version (2) + crc (4)


# --------------------------------------------------------------------------------------------
# Value types
# --------------------------------------------------------------------------------------------


class AppendOrigin(Enum):
    """Who is appending, which decides how much is validated (Kafka's ``AppendOrigin``)."""

    CLIENT = "client"  # produce requests: duplicates, epoch, sequence, transaction state
    COORDINATOR = "coordinator"  # markers and offset commits from coordinators: epoch, txn state
    REPLICATION = "replication"  # followers fetching from the leader: transaction state only


def decrement_sequence(sequence: int, decrement: int) -> int:
    """``sequence - decrement`` wrapping below 0 to int32 max, as Kafka's ``decrementSequence``."""
    if sequence < decrement:
        return _INT32_MAX - (decrement - sequence) + 1
    return sequence - decrement


def _in_sequence(last_seq: int, next_seq: int) -> bool:
    return next_seq == last_seq + 1 or (next_seq == 0 and last_seq == _INT32_MAX)


@dataclass(frozen=True, slots=True)
class BatchMetadata:
    """What is remembered of one appended data batch (Kafka's ``BatchMetadata``)."""

    last_seq: int
    last_offset: int
    offset_delta: int  # last_offset - first_offset
    timestamp: int  # the batch's max timestamp (log append time for LogAppendTime topics)

    @property
    def first_seq(self) -> int:
        return decrement_sequence(self.last_seq, self.offset_delta)

    @property
    def first_offset(self) -> int:
        return self.last_offset - self.offset_delta


@dataclass(frozen=True, slots=True)
class ProducerStateEntry:
    """Immutable state of one producer id (Kafka's ``ProducerStateEntry``)."""

    producer_id: int
    producer_epoch: int = NO_PRODUCER_EPOCH
    coordinator_epoch: int = _NO_COORDINATOR_EPOCH
    last_timestamp: int = NO_TIMESTAMP
    current_txn_first_offset: int | None = None
    batches: tuple[BatchMetadata, ...] = ()  # oldest first, at most NUM_BATCHES_TO_RETAIN

    @property
    def is_empty(self) -> bool:
        """No batch retained (new producer, marker-only producer, or just bumped epoch)."""
        return not self.batches

    @property
    def first_seq(self) -> int:
        return self.batches[0].first_seq if self.batches else NO_SEQUENCE

    @property
    def last_seq(self) -> int:
        return self.batches[-1].last_seq if self.batches else NO_SEQUENCE

    @property
    def last_data_offset(self) -> int:
        return self.batches[-1].last_offset if self.batches else -1

    @property
    def last_offset_delta(self) -> int:
        return self.batches[-1].offset_delta if self.batches else 0

    def find_duplicate(self, header: BatchHeader) -> BatchMetadata | None:
        """The retained batch with this batch's epoch and exact sequence range, if any."""
        if header.producer_epoch != self.producer_epoch:
            return None
        first_seq, last_seq = header.base_sequence, header.last_sequence
        for batch in self.batches:
            if batch.last_seq == last_seq and batch.first_seq == first_seq:
                return batch
        return None


@dataclass(frozen=True, slots=True)
class CompletedTxn:
    """A transaction ended by a COMMIT/ABORT marker (Kafka's ``CompletedTxn``).

    ``last_stable_offset`` is what Kafka's ``lastStableOffset(completedTxn)`` returns at completion
    time (the first offset of the oldest transaction still open on the partition, or
    ``last_offset + 1``); the transaction index stores it for aborted transactions.
    """

    producer_id: int
    first_offset: int
    last_offset: int  # offset of the marker
    is_aborted: bool
    last_stable_offset: int


class ProducerStateError(Exception):
    """A batch fails producer validation; ``error_code`` is the Produce/WriteTxnMarkers answer."""

    def __init__(self, error_code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message


class CorruptSnapshotError(Exception):
    """A producer snapshot file cannot be used (bad version, CRC, or length)."""


# --------------------------------------------------------------------------------------------
# Snapshot files
# --------------------------------------------------------------------------------------------


def snapshot_path(partition_dir: Path, offset: int) -> Path:
    """``<partition_dir>/<offset zero-padded to 20 digits>.snapshot``."""
    return partition_dir / f"{offset:020d}{SNAPSHOT_SUFFIX}"


def _encode_snapshot(entries: Iterable[ProducerStateEntry]) -> bytes:
    items = sorted(entries, key=lambda e: e.producer_id)
    body = bytearray(_HEAD.size + _ENTRY.size * len(items))
    pos = _HEAD.size
    for e in items:
        _ENTRY.pack_into(
            body,
            pos,
            e.producer_id,
            e.producer_epoch,
            e.last_seq,
            e.last_data_offset,
            e.last_offset_delta,
            e.last_timestamp,
            e.coordinator_epoch,
            -1 if e.current_txn_first_offset is None else e.current_txn_first_offset,
        )
        pos += _ENTRY.size
    struct.pack_into(">i", body, _CRC_START, len(items))
    crc = crc32c.crc32c(memoryview(body)[_CRC_START:])
    struct.pack_into(">hI", body, 0, SNAPSHOT_VERSION, crc)
    return bytes(body)


def _decode_snapshot(data: bytes) -> list[ProducerStateEntry]:
    if len(data) < _HEAD.size:
        raise CorruptSnapshotError(
            f"snapshot is {len(data)} bytes, shorter than its {_HEAD.size}-byte header"
        )
    version, crc, count = _HEAD.unpack_from(data, 0)
    if version != SNAPSHOT_VERSION:
        raise CorruptSnapshotError(f"snapshot contained an unknown file version {version}")
    computed = crc32c.crc32c(memoryview(data)[_CRC_START:])
    if crc != computed:
        raise CorruptSnapshotError(
            f"snapshot is corrupt (CRC is no longer valid): stored {crc}, computed {computed}"
        )
    if count < 0 or len(data) != _HEAD.size + count * _ENTRY.size:
        raise CorruptSnapshotError(f"snapshot declares {count} entries but has {len(data)} bytes")
    entries = []
    for pid, epoch, seq, offset, delta, ts, coord, txn_first in _ENTRY.iter_unpack(data[_HEAD.size :]):
        batches = (BatchMetadata(seq, offset, delta, ts),) if offset >= 0 else ()
        entries.append(
            ProducerStateEntry(pid, epoch, coord, ts, txn_first if txn_first >= 0 else None, batches)
        )
    return entries


def read_snapshot(path: Path) -> list[ProducerStateEntry]:
    """Decode a snapshot file; :class:`CorruptSnapshotError` if unusable, ``OSError`` if unreadable."""
    return _decode_snapshot(path.read_bytes())


def write_snapshot(path: Path, entries: Iterable[ProducerStateEntry], *, sync: bool = True) -> None:
    """Write a snapshot atomically: ``<path>.tmp``, fsync, rename over ``path``, fsync the directory.

    ``sync=False`` leaves out both fsyncs (the caller makes the file durable later); a crash
    may then leave the file empty or torn, which loading detects and skips."""
    write_atomically(path, _encode_snapshot(entries), sync=sync)


# --------------------------------------------------------------------------------------------
# State transitions (pure)
# --------------------------------------------------------------------------------------------


def _with_data_batch(
    entry: ProducerStateEntry, header: BatchHeader, first_offset: int, last_offset: int, timestamp: int
) -> ProducerStateEntry:
    epoch = header.producer_epoch
    kept = entry.batches if epoch == entry.producer_epoch else ()
    if len(kept) >= NUM_BATCHES_TO_RETAIN:
        kept = kept[len(kept) - NUM_BATCHES_TO_RETAIN + 1 :]
    batch = BatchMetadata(header.last_sequence, last_offset, last_offset - first_offset, timestamp)
    txn_first = entry.current_txn_first_offset
    if txn_first is None and header.is_transactional:
        txn_first = first_offset
    return ProducerStateEntry(
        entry.producer_id, epoch, entry.coordinator_epoch, timestamp, txn_first, (*kept, batch)
    )


def _with_marker(
    entry: ProducerStateEntry, header: BatchHeader, marker: EndTxnMarker | None, timestamp: int
) -> ProducerStateEntry:
    epoch = header.producer_epoch
    return ProducerStateEntry(
        entry.producer_id,
        epoch,
        entry.coordinator_epoch if marker is None else marker.coordinator_epoch,
        timestamp,
        None,
        entry.batches if epoch == entry.producer_epoch else (),
    )


# --------------------------------------------------------------------------------------------
# The manager
# --------------------------------------------------------------------------------------------


class ProducerStateManager:
    """Producer ids, epochs, recent sequences and open transactions of one partition."""

    def __init__(
        self, partition_dir: Path, max_producer_id_expiration_ms: int = DEFAULT_PRODUCER_ID_EXPIRATION_MS
    ) -> None:
        self._dir = Path(partition_dir)
        self._expiration_ms = max_producer_id_expiration_ms
        self._producers: dict[int, ProducerStateEntry] = {}
        self._ongoing_txns: dict[int, int] = {}  # first offset -> producer id
        self._unreplicated_txns: dict[int, int] = {}  # first offset -> marker offset
        self._map_end_offset = 0
        self._last_snap_offset = 0
        self._snapshots: dict[int, Path] = self._scan_snapshots()

    # -- reading ---------------------------------------------------------------------------

    @property
    def partition_dir(self) -> Path:
        return self._dir

    @property
    def map_end_offset(self) -> int:
        """Every batch below this offset is reflected in the state (Kafka's ``mapEndOffset``)."""
        return self._map_end_offset

    @property
    def active_producers(self) -> Mapping[int, ProducerStateEntry]:
        """Read-only live view of producer id -> entry."""
        return MappingProxyType(self._producers)

    @property
    def producer_count(self) -> int:
        return len(self._producers)

    def is_empty(self) -> bool:
        return not self._producers and not self._unreplicated_txns

    def last_entry(self, producer_id: int) -> ProducerStateEntry | None:
        return self._producers.get(producer_id)

    def first_undecided_offset(self) -> int | None:
        """First offset of the oldest transaction without a marker yet."""
        return min(self._ongoing_txns, default=None)

    def first_unstable_offset(self) -> int | None:
        """First offset of the oldest transaction that is open or whose marker is above the HW.

        The last stable offset is ``min(this, high watermark)``, the high watermark when ``None``.
        """
        return min((*self._ongoing_txns, *self._unreplicated_txns), default=None)

    # -- validation ------------------------------------------------------------------------

    def check(
        self,
        header: BatchHeader,
        *,
        origin: AppendOrigin = AppendOrigin.CLIENT,
        marker: EndTxnMarker | None = None,
    ) -> BatchMetadata | None:
        """Validate ``header`` against the current state; pure.

        Returns the metadata of the already appended batch if this is a duplicate (client origin
        only); the caller then answers with its offsets and timestamp and appends nothing.  Raises
        :class:`ProducerStateError` if the batch must be rejected.  ``marker`` is the decoded control
        record of a control batch (for the coordinator epoch check; skipped when ``None``).
        """
        pid = header.producer_id
        if pid < 0:
            return None
        if origin is AppendOrigin.CLIENT:
            # LogValidator's rules; the partition layer may have checked these already.
            if header.is_control:
                raise ProducerStateError(
                    ErrorCode.INVALID_RECORD, "clients are not allowed to write control records"
                )
            if header.base_sequence < 0:
                raise ProducerStateError(
                    ErrorCode.INVALID_RECORD,
                    f"invalid sequence number {header.base_sequence} in record batch with producerId {pid}",
                )
        entry = self._producers.get(pid)
        if entry is None:
            entry = ProducerStateEntry(pid)
        elif origin is AppendOrigin.CLIENT:
            duplicate = entry.find_duplicate(header)
            if duplicate is not None:
                return duplicate

        epoch = header.producer_epoch
        if epoch < entry.producer_epoch and origin is not AppendOrigin.REPLICATION:
            raise ProducerStateError(
                ErrorCode.INVALID_PRODUCER_EPOCH,
                f"epoch of producer {pid} is {epoch}, which is smaller than the last seen epoch "
                f"{entry.producer_epoch}",
            )

        if header.is_control:
            if (
                marker is not None
                and origin is not AppendOrigin.REPLICATION
                and entry.coordinator_epoch > marker.coordinator_epoch
            ):
                raise ProducerStateError(
                    ErrorCode.TRANSACTION_COORDINATOR_FENCED,
                    f"invalid coordinator epoch for producerId {pid}: {marker.coordinator_epoch} (zombie), "
                    f"{entry.coordinator_epoch} (current)",
                )
            return None

        if origin is AppendOrigin.CLIENT:
            self._check_sequence(entry, header)
        if entry.current_txn_first_offset is not None and not header.is_transactional:
            raise ProducerStateError(
                ErrorCode.INVALID_TXN_STATE,
                f"expected transactional write from producer {pid}: its transaction started at offset "
                f"{entry.current_txn_first_offset} is still open",
            )
        return None

    @staticmethod
    def _check_sequence(entry: ProducerStateEntry, header: BatchHeader) -> None:
        epoch, first_seq = header.producer_epoch, header.base_sequence
        if epoch != entry.producer_epoch:
            if first_seq != 0 and entry.producer_epoch != NO_PRODUCER_EPOCH:
                raise ProducerStateError(
                    ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
                    f"invalid sequence number for new epoch of producer {header.producer_id}: {epoch} "
                    f"(request epoch), {first_seq} (seq. number), {entry.producer_epoch} (current producer epoch)",
                )
        elif entry.producer_epoch != NO_PRODUCER_EPOCH and not _in_sequence(entry.last_seq, first_seq):
            raise ProducerStateError(
                ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
                f"out of order sequence number for producer {header.producer_id}: {first_seq} "
                f"(incoming seq. number), {entry.last_seq} (current end sequence number)",
            )

    # -- mutation --------------------------------------------------------------------------

    def update(
        self,
        header: BatchHeader,
        first_offset: int,
        last_offset: int,
        timestamp_ms: int,
        *,
        marker: EndTxnMarker | None = None,
    ) -> CompletedTxn | None:
        """Record a batch the log appended at ``[first_offset, last_offset]``; no validation.

        ``timestamp_ms`` is the batch's max timestamp as stored (the log append time for
        LogAppendTime topics).  A control batch with records needs its decoded ``marker``; the
        returned :class:`CompletedTxn` says which transaction it ended, if any.
        """
        if header.is_control and marker is None and header.records_count > 0:
            raise ValueError("update() of a control batch needs its EndTxnMarker")
        return self._apply(header, first_offset, last_offset, timestamp_ms, marker)

    def load(self, batches: Iterable[BatchHeader | tuple[BatchHeader, EndTxnMarker | None]]) -> None:
        """Replay batches read from the log (recovery), without validation.

        Items are headers as stored (offsets assigned) or ``(header, marker)`` pairs; give the
        marker of control batches to restore coordinator epochs exactly (without it the previous
        coordinator epoch is kept, the transaction still ends).  Batches that end below
        :attr:`map_end_offset` are skipped, so feeding from a segment start is fine.
        """
        for item in batches:
            header, marker = item if isinstance(item, tuple) else (item, None)
            if header.last_offset < self._map_end_offset:
                continue
            self._apply(header, header.base_offset, header.last_offset, header.max_timestamp, marker)

    def _apply(
        self,
        header: BatchHeader,
        first_offset: int,
        last_offset: int,
        timestamp: int,
        marker: EndTxnMarker | None,
    ) -> CompletedTxn | None:
        if last_offset < first_offset:
            raise ValueError(f"last offset {last_offset} is below first offset {first_offset}")
        self._map_end_offset = max(self._map_end_offset, last_offset + 1)
        pid = header.producer_id
        if pid < 0 or (header.is_control and header.records_count == 0):
            # no producer, or a control batch emptied by the cleaner: nothing to record
            return None
        entry = self._producers.get(pid) or ProducerStateEntry(pid)
        completed: CompletedTxn | None = None
        if header.is_control:
            txn_first = entry.current_txn_first_offset
            if txn_first is not None:
                lso = min(
                    (offset for offset, owner in self._ongoing_txns.items() if owner != pid),
                    default=first_offset + 1,
                )
                completed = CompletedTxn(
                    pid,
                    txn_first,
                    first_offset,
                    marker is not None and marker.control_type == CONTROL_TYPE_ABORT,
                    lso,
                )
                self._ongoing_txns.pop(txn_first, None)
                self._unreplicated_txns[txn_first] = first_offset
            self._producers[pid] = _with_marker(entry, header, marker, timestamp)
        else:
            new = _with_data_batch(entry, header, first_offset, last_offset, timestamp)
            if entry.current_txn_first_offset is None and new.current_txn_first_offset is not None:
                self._ongoing_txns[new.current_txn_first_offset] = pid
            self._producers[pid] = new
        return completed

    def update_map_end_offset(self, offset: int) -> None:
        """Declare that the state reflects every batch below ``offset`` (no producer batches since)."""
        if offset < self._map_end_offset:
            raise ValueError(f"map end offset cannot go back from {self._map_end_offset} to {offset}")
        self._map_end_offset = offset

    def on_high_watermark_updated(self, high_watermark: int) -> None:
        """Forget completed transactions whose marker is now below the high watermark."""
        self._remove_unreplicated_txns(high_watermark)

    def on_log_start_offset_incremented(self, log_start_offset: int) -> None:
        self._remove_unreplicated_txns(log_start_offset)
        self._map_end_offset = max(self._map_end_offset, log_start_offset)
        latest = self.latest_snapshot_offset()
        self._last_snap_offset = log_start_offset if latest is None else latest

    def _remove_unreplicated_txns(self, offset: int) -> None:
        for first, last in list(self._unreplicated_txns.items()):
            if last < offset:
                del self._unreplicated_txns[first]

    def _is_expired(self, entry: ProducerStateEntry, now_ms: int) -> bool:
        return entry.current_txn_first_offset is None and now_ms - entry.last_timestamp >= self._expiration_ms

    def remove_expired(self, now_ms: int) -> list[int]:
        """Drop producers idle for at least the expiration time (not those with an open transaction)."""
        expired = sorted(pid for pid, entry in self._producers.items() if self._is_expired(entry, now_ms))
        for pid in expired:
            del self._producers[pid]
        return expired

    # -- snapshots -------------------------------------------------------------------------

    def _scan_snapshots(self) -> dict[int, Path]:
        found: dict[int, Path] = {}
        if not self._dir.is_dir():
            return found
        for path in self._dir.iterdir():
            name = path.name
            if name.endswith(SNAPSHOT_SUFFIX + _TMP_SUFFIX) and _SNAPSHOT_NAME.match(
                name[: -len(_TMP_SUFFIX)]
            ):
                path.unlink(missing_ok=True)  # a write interrupted by a crash
                continue
            match = _SNAPSHOT_NAME.match(name)
            if match is not None and path.is_file():
                found[int(match.group(1))] = path
        return dict(sorted(found.items()))

    def snapshot_offsets(self) -> list[int]:
        return sorted(self._snapshots)

    def latest_snapshot_offset(self) -> int | None:
        return max(self._snapshots, default=None)

    def oldest_snapshot_offset(self) -> int | None:
        return min(self._snapshots, default=None)

    def take_snapshot(self, log_end_offset: int, *, sync: bool = True) -> Path | None:
        """Persist the state as of ``log_end_offset``; ``None`` if no newer than the last snapshot.

        ``log_end_offset`` must be >= :attr:`map_end_offset` (the state must not contain batches at
        or above the snapshot offset); it becomes the new map end offset. ``sync=False``: written
        without fsync (a roll's snapshot, made durable with the rolled segment's flush).
        """
        self.update_map_end_offset(log_end_offset)
        if log_end_offset <= self._last_snap_offset:
            return None  # Kafka: "if not a new offset, then it is not worth taking another snapshot"
        path = snapshot_path(self._dir, log_end_offset)
        write_snapshot(path, self._producers.values(), sync=sync)
        self._snapshots[log_end_offset] = path
        self._last_snap_offset = log_end_offset
        return path

    def _delete_snapshot(self, offset: int) -> None:
        path = self._snapshots.pop(offset, None)
        if path is not None:
            path.unlink(missing_ok=True)

    def delete_snapshots_before(self, offset: int) -> None:
        """Delete the snapshot files below ``offset`` (exclusive), e.g. after segment deletion."""
        for snap in [o for o in self._snapshots if o < offset]:
            self._delete_snapshot(snap)

    def truncate_fully_and_start_at(self, offset: int) -> None:
        """Forget everything, delete all snapshots; the state now describes an empty log at ``offset``."""
        self._producers.clear()
        self._ongoing_txns.clear()
        self._unreplicated_txns.clear()
        for snap in list(self._snapshots):
            self._delete_snapshot(snap)
        self._last_snap_offset = 0
        self._map_end_offset = offset

    def truncate_and_reload(self, log_start_offset: int, log_end_offset: int, now_ms: int) -> None:
        """Match the state to a log spanning ``[log_start_offset, log_end_offset)``.

        Deletes snapshots above the log end and below the log start.  If the state is not already
        at ``log_end_offset``, it is replaced by the latest usable snapshot (corrupt ones are
        deleted; expired producers skipped) or emptied at ``log_start_offset``; the caller then
        replays the log from :attr:`map_end_offset` to ``log_end_offset`` with :meth:`load`.
        """
        for snap in [o for o in self._snapshots if o > log_end_offset or o < log_start_offset]:
            self._delete_snapshot(snap)
        if log_end_offset == self._map_end_offset:
            self.on_log_start_offset_incremented(log_start_offset)
            return
        self._producers.clear()
        self._ongoing_txns.clear()
        self._unreplicated_txns.clear()
        self._load_latest_snapshot(log_start_offset, now_ms)

    def _load_latest_snapshot(self, log_start_offset: int, now_ms: int) -> None:
        while self._snapshots:
            offset = max(self._snapshots)
            try:
                entries = read_snapshot(self._snapshots[offset])
            except (CorruptSnapshotError, FileNotFoundError):
                self._delete_snapshot(offset)
                continue
            for entry in entries:
                if self._is_expired(entry, now_ms):
                    continue
                self._producers[entry.producer_id] = entry
                if entry.current_txn_first_offset is not None:
                    self._ongoing_txns[entry.current_txn_first_offset] = entry.producer_id
            self._map_end_offset = self._last_snap_offset = offset
            return
        self._map_end_offset = self._last_snap_offset = log_start_offset
