"""Hypothesis strategies that build random generated messages for a given version.

Fields absent from the version keep their defaults (what the decoder produces for them), so
``decode(encode(obj, v), v) == obj`` must hold for every generated object.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from hypothesis import strategies as st

from protocol.schema import FieldSpec, in_range

INT_RANGES = {
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
}

_text = st.text(max_size=12)
_blob = st.binary(max_size=24)


def _scalar(ftype: str) -> st.SearchStrategy[Any]:
    if ftype in INT_RANGES:
        lo, hi = INT_RANGES[ftype]
        return st.integers(lo, hi)
    if ftype == "bool":
        return st.booleans()
    if ftype == "float64":
        return st.floats(allow_nan=False)
    if ftype == "string":
        return _text
    if ftype in ("bytes", "records"):
        return _blob
    if ftype == "uuid":
        return st.builds(UUID, int=st.integers(0, 2**128 - 1))
    raise ValueError(ftype)


def _field(f: FieldSpec, version: int, flexible: bool) -> st.SearchStrategy[Any]:
    elem = f.element_type
    if f.struct is not None:
        inner = struct_strategy(f.struct, version, flexible)
    else:
        inner = _scalar(elem)
    value = st.lists(inner, max_size=3) if f.is_array else inner
    if in_range(version, f.nullable) or (f.type == "records"):
        value = st.none() | value
    return value


def struct_strategy(cls: type, version: int, flexible: bool) -> st.SearchStrategy[Any]:
    """Random instances of ``cls`` holding only what ``version`` carries on the wire."""
    kwargs: dict[str, st.SearchStrategy[Any]] = {}
    for f in cls.FIELDS:  # type: ignore[attr-defined]
        if not in_range(version, f.versions):
            continue
        if f.tagged is not None and in_range(version, f.tagged) and not flexible:
            continue
        kwargs[f.name] = _field(f, version, flexible)
    return st.builds(cls, **kwargs)


def message_strategy(cls: type, version: int) -> st.SearchStrategy[Any]:
    spec = cls.SPEC  # type: ignore[attr-defined]
    return struct_strategy(cls, version, spec.is_flexible(version))
