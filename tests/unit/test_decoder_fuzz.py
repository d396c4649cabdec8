"""Fuzzing the request decoder: random and mutated frames raise only DecodeError.

The corpus is every request API at every version, encoded once with all fields populated.
Mutations flip bits, overwrite bytes with extreme values (so lengths and counts become huge or
negative), truncate, splice and append. Each decode must return or raise ``DecodeError``;
anything else, a hang (bounded by the test timeout) or an allocation far beyond the frame size
fails the test.
"""

from __future__ import annotations

import random
import tracemalloc
from typing import Any
from uuid import UUID

import pytest

from protocol.errors import DecodeError
from protocol.framing import FrameReader, FrameTooLargeError, decode_request, encode_request
from protocol.messages import REQUESTS
from protocol.schema import in_range

SCALARS: dict[str, Any] = {
    "bool": True,
    "int8": 1,
    "int16": 2,
    "uint16": 3,
    "int32": 4,
    "uint32": 5,
    "int64": 6,
    "float64": 1.5,
    "string": "ab",
    "bytes": b"xyz",
    "records": b"\x00" * 8,
    "uuid": UUID(int=7),
}


def populated(cls: Any, version: int) -> Any:
    """An instance of ``cls`` with every field of ``version`` set, arrays holding two items."""
    kwargs = {}
    for f in cls.FIELDS:
        if not in_range(version, f.versions):
            continue
        value = populated(f.struct, version) if f.struct is not None else SCALARS[f.element_type]
        kwargs[f.name] = [value, value] if f.is_array else value
    return cls(**kwargs)


def corpus() -> list[bytes]:
    frames = []
    for key, cls in REQUESTS.items():
        lo, hi = cls.SPEC.valid
        for v in range(lo, hi + 1):
            frame = encode_request(key, v, 42, "fuzz", populated(cls, v))
            frames.append(bytes(frame[4:]))
    return frames


EXTREMES = [b"\xff", b"\x7f", b"\x80", b"\x00", b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff", b"\x80\x00\x00\x00"]


def mutate(rng: random.Random, frame: bytes, pool: list[bytes]) -> bytes:
    data = bytearray(frame)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        if op == 0 and data:  # bit flip
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
        elif op == 1 and data:  # extreme value at a random position
            i = rng.randrange(len(data))
            ext = rng.choice(EXTREMES)
            data[i : i + len(ext)] = ext
        elif op == 2:  # truncate
            del data[rng.randrange(len(data) + 1) :]
        elif op == 3:  # append random bytes
            data += rng.randbytes(rng.randint(1, 16))
        elif op == 4:  # splice with another frame
            other = rng.choice(pool)
            cut = rng.randrange(len(data) + 1)
            data = data[:cut] + other[rng.randrange(len(other) + 1) :]
        else:  # random bytes, keeping a valid api key/version prefix sometimes
            data = bytearray(data[:4] if rng.random() < 0.5 else b"") + rng.randbytes(rng.randint(0, 64))
    return bytes(data)


def test_corpus_decodes() -> None:
    frames = corpus()
    assert len(frames) > 300
    for frame in frames:
        decode_request(frame)


@pytest.mark.timeout(600)
def test_fuzz_request_decoder() -> None:
    rng = random.Random(20261124)
    pool = corpus()
    outcomes = {"ok": 0, "error": 0}
    tracemalloc.start()
    try:
        for i in range(100_000):
            frame = mutate(rng, rng.choice(pool), pool)
            if i % 997 == 0:
                tracemalloc.reset_peak()
                base = tracemalloc.get_traced_memory()[0]
            try:
                # the server decodes a memoryview of a writable frame; tests cover both forms
                decode_request(frame if i % 2 else memoryview(bytearray(frame)))
                outcomes["ok"] += 1
            except DecodeError:
                outcomes["error"] += 1
            if i % 997 == 0:
                peak = tracemalloc.get_traced_memory()[1] - base
                # decoded objects may be larger than the frame, but never by more than a constant
                # factor: nothing is allocated from a declared length that was not checked
                assert peak < 64 * len(frame) + 200_000, (peak, len(frame))
    finally:
        tracemalloc.stop()
    assert outcomes["ok"] + outcomes["error"] == 100_000
    assert outcomes["error"] > 10_000 and outcomes["ok"] > 1_000, outcomes


def test_frame_reader_rejects_oversized_before_body() -> None:
    reader = FrameReader(max_size=1000)
    reader.receive_data(b"\x00\x00\x03\xe9")  # 1001
    with pytest.raises(FrameTooLargeError):
        reader.next_frame()
    reader = FrameReader(max_size=1000)
    reader.receive_data(b"\xff\xff\xff\xfe")
    with pytest.raises(FrameTooLargeError):
        reader.next_frame()


def test_frame_reader_splits_arbitrary_chunks() -> None:
    frames = [b"a" * n for n in (0, 1, 5, 300)]
    stream = b"".join(len(f).to_bytes(4, "big") + f for f in frames)
    rng = random.Random(1)
    reader = FrameReader(max_size=1000)
    got = []
    pos = 0
    while pos < len(stream):
        step = rng.randint(1, 7)
        reader.receive_data(stream[pos : pos + step])
        pos += step
        while (frame := reader.next_frame()) is not None:
            got.append(frame)
    assert got == frames
    assert reader.next_frame() is None


def test_frame_reader_as_a_buffered_protocol_fills_large_frames_in_place() -> None:
    """get_buffer/buffer_updated (asyncio.BufferedProtocol): reads of any size, small frames
    through the scratch buffer, large ones straight into the frame."""
    rng = random.Random(2)
    frames = [bytes(rng.getrandbits(8) for _ in range(n)) for n in (3, 0, 200_000, 70_000, 9, 1 << 17)]
    stream = b"".join(len(f).to_bytes(4, "big") + f for f in frames)
    bodies = []  # (start, end) of each frame body in the stream
    at = 0
    for f in frames:
        bodies.append((at + 4, at + 4 + len(f)))
        at += 4 + len(f)
    reader = FrameReader(max_size=1 << 20)
    scratch = reader.get_buffer(-1).obj  # between frames: the scratch buffer
    got = []
    pos = 0
    direct_reads = 0
    while pos < len(stream):
        buf = reader.get_buffer(-1)
        n = min(len(buf), rng.choice([1, 5, 4096, 100_000]), len(stream) - pos)
        buf[:n] = stream[pos : pos + n]
        direct_reads += buf.obj is not scratch
        reader.buffer_updated(n)
        pos += n
        # what the socket's low-water mark is set from: the rest of a body under way, else 0
        assert reader.missing == next((end - pos for start, end in bodies if start <= pos < end), 0)
        while (frame := reader.next_frame()) is not None:
            got.append(bytes(frame))
    assert got == frames
    assert direct_reads > 0
    assert reader.next_frame() is None
