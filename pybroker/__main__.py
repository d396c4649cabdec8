"""Command line: ``pybroker CONFIG [--override key=value ...]``.

Starts the broker on uvloop and runs until SIGTERM or SIGINT, then shuts down cleanly. A bad
configuration prints one line and exits with status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import uvloop

from pybroker.broker import Broker
from pybroker.config import BrokerConfig, ConfigError
from pybroker.logging import configure, get_logger
from pybroker.memory import keep_freed_memory


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="pybroker", description="A Kafka-compatible broker.")
    parser.add_argument("config", nargs="?", help="server.properties file")
    parser.add_argument(
        "--override", action="append", default=[], metavar="KEY=VALUE", help="override a config key"
    )
    parser.add_argument("--log-level", default=os.environ.get("PYBROKER_LOG_LEVEL", "INFO"))
    parser.add_argument(
        "--ready-file",
        help='once the broker accepts connections, write its advertised ("listeners") and bound ("bound") '
        "addresses per listener as JSON to this file",
    )
    return parser.parse_args(argv)


async def run(config: BrokerConfig, ready_file: str | None) -> None:
    broker = Broker(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await broker.start()
    if ready_file:
        tmp = Path(ready_file + ".tmp")
        tmp.write_text(
            json.dumps(
                {
                    "broker_id": broker.broker_id,
                    "cluster_id": broker.cluster_id,
                    "listeners": broker.advertised(),
                    "bound": {
                        ln.name: [ln.host, broker.server.bound_ports[ln.name]]
                        for ln in broker.config.listeners
                    },
                }
            )
        )
        os.replace(tmp, ready_file)
    try:
        await stop.wait()
    finally:
        await broker.stop(controlled=True)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    configure(args.log_level)
    log = get_logger("pybroker")
    try:
        config = BrokerConfig.load(args.config, args.override)
    except ConfigError as exc:
        print(f"pybroker: configuration error: {exc}", file=sys.stderr)
        sys.exit(1)
    for key in config.unknown_keys:
        log.warning("unknown config key ignored", key=key)
    if not keep_freed_memory():
        log.info("C allocator left at its defaults (no glibc mallopt)")
    uvloop.run(run(config, args.ready_file))


if __name__ == "__main__":
    main()
