"""Sans-IO partition storage: segment files, offset and time indexes, recovery, retention."""
