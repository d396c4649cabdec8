"""Base class of every generated message: version-checked encode and decode entry points."""

from __future__ import annotations

import struct
from typing import Any, ClassVar, Self

from protocol.errors import DecodeError
from protocol.primitives import Buffer
from protocol.schema import FieldSpec, MessageSpec


class Struct:
    """A generated struct; ``FIELDS`` describes its schema for tests and introspection."""

    __slots__ = ()
    FIELDS: ClassVar[tuple[FieldSpec, ...]]


class Message(Struct):
    """A top-level generated message (request, response, header or data record)."""

    __slots__ = ()
    SPEC: ClassVar[MessageSpec]

    def encode_into(self, out: bytearray, version: int) -> None:
        spec = self.SPEC
        if not spec.valid[0] <= version <= spec.valid[1]:
            raise ValueError(f"{spec.name} has no version {version}")
        encoder = spec.encoders[version]
        assert encoder is not None
        encoder(out, self)

    def encode(self, version: int) -> bytearray:
        out = bytearray()
        self.encode_into(out, version)
        return out

    @classmethod
    def decode_from(cls, buf: Buffer, pos: int, version: int) -> tuple[Self, int]:
        """Decode one message starting at ``pos``; returns it and the position after it."""
        spec = cls.SPEC
        if not spec.valid[0] <= version <= spec.valid[1]:
            raise DecodeError(f"{spec.name} has no version {version}")
        decoder = spec.decoders[version]
        assert decoder is not None
        try:
            obj, end = decoder(buf, pos)
        except (struct.error, IndexError) as exc:
            # generated decoders read fixed-width fields and length bytes without a bounds check
            # of their own; running off the end of the buffer surfaces here
            raise DecodeError(f"truncated {spec.name} v{version}: {exc}") from None
        result: Self = obj
        return result, end

    @classmethod
    def decode(cls, buf: Buffer, version: int) -> Self:
        """Decode a buffer that holds exactly one message of ``version``."""
        obj, end = cls.decode_from(buf, 0, version)
        if end != len(buf):
            raise DecodeError(f"{len(buf) - end} unexpected bytes after {cls.SPEC.name} v{version}")
        return obj


def field_values(obj: Any) -> dict[str, Any]:
    """The fields of a generated struct as a dict (for logging and tests)."""
    return {f.name: getattr(obj, f.name) for f in obj.FIELDS}
