"""DescribeLogDirs (API key 35), versions 0-4.

One result per configured log dir (``log.dirs`` order), named by its absolute path, with the
requested partitions it holds: size in bytes (all segments), offset lag (high watermark minus
log end offset, never negative: 0 for a leader; -1 for a log of a partition not hosted) and
``is_future_key`` false (no replica moves between dirs). Null ``topics`` means every partition.
v4 adds the file system's total and usable bytes (``statvfs``); a dir that cannot be read is
KAFKA_STORAGE_ERROR. Topics with none of the requested partitions in a dir are left out (Kafka
lists them with an empty partition list).
"""

from __future__ import annotations

import os
from collections import defaultdict

from protocol.error_codes import ErrorCode
from protocol.messages.describe_log_dirs_request import DescribeLogDirsRequest
from protocol.messages.describe_log_dirs_response import (
    DescribeLogDirsPartition,
    DescribeLogDirsResponse,
    DescribeLogDirsResult,
    DescribeLogDirsTopic,
)
from pybroker.context import RequestContext
from pybroker.handlers.registry import handles
from storage.config import LONG_MAX


@handles(DescribeLogDirsRequest, 0, 4)
async def handle_describe_log_dirs(
    ctx: RequestContext, req: DescribeLogDirsRequest
) -> DescribeLogDirsResponse:
    broker = ctx.broker
    log_manager = broker.log_manager
    assert log_manager is not None
    wanted = None if req.topics is None else {(t.topic, p) for t in req.topics for p in t.partitions}
    results = []
    for log_dir, logs in log_manager.logs_by_dir().items():
        result = DescribeLogDirsResult(log_dir=str(log_dir.absolute()))
        results.append(result)
        try:
            stat = os.statvfs(log_dir)
        except OSError:
            result.error_code = ErrorCode.KAFKA_STORAGE_ERROR
            continue
        result.total_bytes = min(stat.f_blocks * stat.f_frsize, LONG_MAX)
        result.usable_bytes = min(stat.f_bavail * stat.f_frsize, LONG_MAX)
        by_topic: dict[str, list[DescribeLogDirsPartition]] = defaultdict(list)
        for log in sorted(logs, key=lambda log: (log.topic, log.partition)):
            if wanted is not None and (log.topic, log.partition) not in wanted:
                continue
            partition = broker.replica_manager.get(log.topic, log.partition)
            lag = -1 if partition is None else max(log.high_watermark - log.log_end_offset, 0)
            by_topic[log.topic].append(
                DescribeLogDirsPartition(
                    partition_index=log.partition, partition_size=log.size, offset_lag=lag
                )
            )
        result.topics = [
            DescribeLogDirsTopic(name=name, partitions=parts) for name, parts in by_topic.items()
        ]
    return DescribeLogDirsResponse(results=results)
