"""Descriptions of generated messages, kept next to the generated code.

The code generator (``tools/codegen``) writes, for every message and struct, a tuple of
:class:`FieldSpec` and for every top-level message a :class:`MessageSpec`. The codec itself does
not interpret them (encoders and decoders are straight-line generated functions); they exist so
tests can build random messages for every version and so the broker can introspect versions.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from protocol.primitives import Buffer

VersionRange = tuple[int, int]
Encoder = Callable[[bytearray, Any], None]
Decoder = Callable[[Buffer, int], tuple[Any, int]]


def in_range(version: int, rng: VersionRange | None) -> bool:
    return rng is not None and rng[0] <= version <= rng[1]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of a message or struct as Kafka's JSON schema declares it.

    ``type`` is a primitive name (``int32``, ``string``, ``records`` ...), a struct class name,
    or either of those prefixed by ``[]`` for arrays; ``struct`` is the class for struct types.
    """

    name: str
    type: str
    versions: VersionRange
    nullable: VersionRange | None
    tagged: VersionRange | None
    tag: int | None
    struct: builtins.type | None

    @property
    def is_array(self) -> bool:
        return self.type.startswith("[]")

    @property
    def element_type(self) -> str:
        return self.type[2:] if self.is_array else self.type


@dataclass(frozen=True, slots=True)
class MessageSpec:
    """A top-level message: its versions and the generated codec for each version.

    ``encoders[v]`` / ``decoders[v]`` are ``None`` for versions below ``valid[0]``.
    ``flexible`` is the first flexible version, or ``None`` when no version is flexible.
    """

    name: str
    kind: str  # request, response, header or data
    api_key: int | None
    valid: VersionRange
    flexible: int | None
    latest_unstable: bool
    listeners: tuple[str, ...]
    encoders: tuple[Encoder | None, ...]
    decoders: tuple[Decoder | None, ...]

    def is_flexible(self, version: int) -> bool:
        return self.flexible is not None and version >= self.flexible
