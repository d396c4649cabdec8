"""``meta.properties``: the identity stamped into every log directory.

Format (Kafka's, version 0): a Java properties file with ``version=0``, ``broker.id`` and
``cluster.id``. It is written once, atomically (temporary file, fsync, rename), when a log
directory is first used; afterwards a mismatch between the directory and the broker's
configuration or the cluster is a startup error, so a broker never serves another broker's data.
"""

from __future__ import annotations

import os
from pathlib import Path

from protocol.uuid_text import new_uuid_text
from pybroker.config import ConfigError, parse_properties

FILE_NAME = "meta.properties"


def read(log_dir: Path) -> dict[str, str] | None:
    path = log_dir / FILE_NAME
    if not path.exists():
        return None
    return parse_properties(path.read_text())


def write(log_dir: Path, broker_id: int, cluster_id: str) -> None:
    log_dir.mkdir(parents=True, exist_ok=True)
    tmp = log_dir / (FILE_NAME + ".tmp")
    with open(tmp, "w") as f:
        f.write(f"#Written by pybroker\nversion=0\nbroker.id={broker_id}\ncluster.id={cluster_id}\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, log_dir / FILE_NAME)
    fd = os.open(log_dir, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure(log_dirs: list[Path], broker_id: int, cluster_id: str | None) -> tuple[int, str]:
    """Check or create meta.properties in every log dir; returns (broker id, cluster id).

    ``broker_id`` of -1 takes the id already recorded on disk, else 0. ``cluster_id`` of None
    takes the recorded cluster id, else a new one.
    """
    found = [(d, read(d)) for d in log_dirs]
    ids = {int(m["broker.id"]) for _, m in found if m and "broker.id" in m}
    clusters = {m["cluster.id"] for _, m in found if m and "cluster.id" in m}
    if len(ids) > 1 or len(clusters) > 1:
        raise ConfigError(f"log.dirs: directories disagree on broker.id {ids} or cluster.id {clusters}")
    if broker_id < 0:
        broker_id = ids.pop() if ids else 0
    elif ids and broker_id not in ids:
        raise ConfigError(f"broker.id={broker_id} does not match broker.id={ids.pop()} stored in {FILE_NAME}")
    if cluster_id is None:
        cluster_id = clusters.pop() if clusters else new_uuid_text()
    elif clusters and cluster_id not in clusters:
        raise ConfigError(f"cluster id {cluster_id} does not match {clusters.pop()} stored in {FILE_NAME}")
    for d, meta in found:
        if meta is None:
            write(d, broker_id, cluster_id)
    return broker_id, cluster_id
