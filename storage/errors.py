"""Exceptions raised by the storage layer, each carrying the Kafka error code a broker answers with.

The record-format errors come from :mod:`protocol.records` and are re-exported here so a caller
can catch everything storage raises from one module (:func:`error_code_for` maps any of them):

* :class:`CorruptRecordError` (``CORRUPT_MESSAGE``): CRC mismatch, torn batch, bad framing;
* :class:`InvalidRecordError` (``INVALID_RECORD``): well-formed bytes with invalid content;
* :class:`InvalidTimestampError` (``INVALID_TIMESTAMP``): a subclass of the latter.

Storage-specific errors derive from :class:`StorageError` and carry an ``error_code`` class
attribute (a :class:`protocol.error_codes.ErrorCode`).  ``OSError`` from the disk is not wrapped:
it maps to ``KAFKA_STORAGE_ERROR``.
"""

from __future__ import annotations

from typing import ClassVar

from protocol.error_codes import ErrorCode
from protocol.records import CorruptRecordError, InvalidRecordError, UnsupportedMagicError

__all__ = [
    "CorruptIndexError",
    "CorruptRecordError",
    "InvalidOffsetError",
    "InvalidRecordError",
    "InvalidTimestampError",
    "LogSegmentOffsetOverflowError",
    "OffsetOutOfRangeError",
    "OffsetsOutOfOrderError",
    "RecordBatchTooLargeError",
    "RecordTooLargeError",
    "StorageError",
    "UnexpectedAppendOffsetError",
    "UnsupportedMagicError",
    "error_code_for",
]


class StorageError(Exception):
    """Base class of the errors this package defines."""

    error_code: ClassVar[ErrorCode] = ErrorCode.UNKNOWN_SERVER_ERROR


class OffsetOutOfRangeError(StorageError):
    """A read or log-start-offset change outside ``[log_start_offset, log_end_offset]``."""

    error_code = ErrorCode.OFFSET_OUT_OF_RANGE


class RecordTooLargeError(StorageError):
    """A batch larger than the topic's ``max.message.bytes`` (Kafka ``MESSAGE_TOO_LARGE``)."""

    error_code = ErrorCode.MESSAGE_TOO_LARGE


class RecordBatchTooLargeError(StorageError):
    """An append larger than ``segment.bytes``: it could never fit in one segment."""

    error_code = ErrorCode.RECORD_LIST_TOO_LARGE


class InvalidTimestampError(InvalidRecordError):
    """A CreateTime record outside ``message.timestamp.before/after.max.ms`` of the broker clock."""

    error_code: ClassVar[ErrorCode] = ErrorCode.INVALID_TIMESTAMP


class UnexpectedAppendOffsetError(StorageError):
    """A follower append whose first offset is below the log end offset."""

    def __init__(self, message: str, first_offset: int, last_offset: int) -> None:
        super().__init__(message)
        self.first_offset = first_offset
        self.last_offset = last_offset


class OffsetsOutOfOrderError(StorageError):
    """A follower append whose batches' offsets do not increase."""


class LogSegmentOffsetOverflowError(StorageError):
    """An offset that does not fit the segment's 32-bit relative offsets."""


class CorruptIndexError(StorageError):
    """An index file that fails its sanity check; the segment's indexes are rebuilt from the log."""


class InvalidOffsetError(StorageError):
    """An index append that does not increase (a bug in the caller, never client input)."""


def error_code_for(exc: BaseException) -> ErrorCode:
    """The Kafka error code for an exception raised by storage (``UNKNOWN_SERVER_ERROR`` if none)."""
    code = getattr(exc, "error_code", None)
    if isinstance(code, ErrorCode):
        return code
    if isinstance(exc, CorruptRecordError):
        return ErrorCode.CORRUPT_MESSAGE
    if isinstance(exc, (InvalidRecordError, UnsupportedMagicError)):
        return ErrorCode.INVALID_RECORD
    if isinstance(exc, OSError):
        return ErrorCode.KAFKA_STORAGE_ERROR
    return ErrorCode.UNKNOWN_SERVER_ERROR
