"""Run a real pybroker process for tests: private log dir, ephemeral port, bounded start/stop."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from protocol.framing import decode_response, encode_request
from protocol.message import Message
from pybroker.devcluster import terminate

REPO = Path(__file__).resolve().parents[2]


@dataclass
class BrokerProcess:
    """A broker subprocess; ``start`` waits until it accepts connections."""

    data_dir: Path
    overrides: dict[str, str] = field(default_factory=dict)
    host: str = "127.0.0.1"
    port: int = 0
    bound_port: int = 0  # the listener's real port: 0 on first start, reused on restarts
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> BrokerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ready = self.data_dir / "ready.json"
        ready.unlink(missing_ok=True)
        props = {
            "listeners": f"PLAINTEXT://127.0.0.1:{self.bound_port}",
            "log.dirs": str(self.data_dir / "logs"),
            **self.overrides,
        }
        args = [
            sys.executable,
            "-m",
            "pybroker",
            str(REPO / "config" / "server.properties"),
            "--ready-file",
            str(ready),
        ]
        for key, value in props.items():
            args += ["--override", f"{key}={value}"]
        self.log_path = self.data_dir / "broker.log"
        with open(self.log_path, "ab") as log:
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            self.proc = subprocess.Popen(args, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while not ready.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"broker exited with {self.proc.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError(f"broker did not start in {timeout}s:\n{self.log()}")
            time.sleep(0.02)
        info = json.loads(ready.read_text())
        self.host, self.port = info["listeners"]["PLAINTEXT"]  # what clients are told
        self.bound_port = info["bound"]["PLAINTEXT"][1]
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM and wait (clean shutdown); kill -9 if it does not exit in time."""
        if self.proc is None:
            return None
        code = terminate(self.proc, timeout)
        self.proc = None
        return code

    def kill(self) -> None:
        """kill -9: an unclean stop."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def connect(self, timeout: float = 10.0) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=timeout)
        return sock


def recv_exact(sock: socket.socket, n: int) -> bytes:
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("connection closed")
        data += chunk
    return bytes(data)


def recv_frame(sock: socket.socket) -> bytes:
    size = int.from_bytes(recv_exact(sock, 4), "big", signed=True)
    return recv_exact(sock, size)


def roundtrip(
    sock: socket.socket, api_key: int, version: int, body: Message, correlation_id: int = 1
) -> object:
    """Send one request on a raw socket and decode its response body."""
    sock.sendall(encode_request(api_key, version, correlation_id, "pytest", body))
    corr, response = decode_response(recv_frame(sock), api_key, version)
    assert corr == correlation_id
    return response
