"""Round trip of every generated message at every version: decode(encode(m)) == m."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import protocol.coordinator_records as coordinator_records
import protocol.messages as messages
from tests.strategies import message_strategy


def _cases() -> list[Any]:
    cases = []
    for module in (messages, coordinator_records):
        for name in module.__all__:
            cls = getattr(module, name)
            if not hasattr(cls, "SPEC"):
                continue
            lo, hi = cls.SPEC.valid
            cases += [pytest.param(cls, v, id=f"{name}-v{v}") for v in range(lo, hi + 1)]
    return cases


CASES = _cases()


def test_every_schema_is_generated() -> None:
    # 88 request/response pairs plus the two headers and the data types
    assert len(messages.REQUESTS) == len(messages.RESPONSES) == 88
    assert len(CASES) == 716


@pytest.mark.parametrize(("cls", "version"), CASES)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_round_trip(cls: Any, version: int, data: st.DataObject) -> None:
    obj = data.draw(message_strategy(cls, version))
    encoded = bytes(obj.encode(version))
    decoded = cls.decode(encoded, version)
    assert decoded == obj
    assert bytes(decoded.encode(version)) == encoded
