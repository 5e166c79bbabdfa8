"""The local server in a separate process, so a benchmark counts only the client's cost."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class ServerProcess:
    url: str
    pid: int


@contextmanager
def local_server_process(reply: str, *extra: str) -> Iterator[ServerProcess]:
    """``realtime-llm serve`` on a free loopback port, replying ``reply`` as fast as it can."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    command = [sys.executable, "-m", "realtime_llm.server.cli", "serve", "--port", str(port)]
    command += ["--engine", "scripted-echo", "--fallback", reply, "--chunk-interval", "0", *extra]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert server.stdout is not None
        server.stdout.readline()  # the URL line: it is listening
        yield ServerProcess(f"ws://127.0.0.1:{port}/v1/realtime", server.pid)
    finally:
        server.terminate()
        server.wait(5)
