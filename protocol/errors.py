"""The one exception type that the wire decoders raise.

Every malformed input (a truncated frame, a length or count larger than the bytes that remain,
an invalid varint, bad UTF-8, an unknown API key or version) surfaces as :class:`DecodeError`
carrying a human-readable reason. Callers catch this type and nothing else; any other exception
escaping a decoder is a bug.
"""


class DecodeError(ValueError):
    """Input bytes do not form a valid message; ``str(exc)`` says why."""
