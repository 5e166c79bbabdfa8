"""A first connection that cannot be made: one ErrorFrame that says what was tried and what
to check (host, port, attempts), not an exception class name."""

from __future__ import annotations

import asyncio
import socket

import pytest
from pipecat.frames.frames import ErrorFrame

from realtime_llm.dialects import LocalDialect
from realtime_llm.errors import ConnectionFailed
from realtime_llm.transport.connection import RealtimeConnection
from realtime_llm.transport.reconnect import ReconnectPolicy

from .harness import running_bot, service_for, wait_for


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _one_error(url: str, attempts: int) -> str:
    service = service_for(
        url, reconnect_policy=ReconnectPolicy(max_attempts=attempts, base_delay_s=0.01)
    )
    async with running_bot(service) as bot:
        await wait_for(lambda: bot.up(ErrorFrame), timeout=30, what="the ErrorFrame")
        assert not bot.service.is_usable
    errors = bot.up(ErrorFrame)
    assert len(errors) == 1
    return errors[0].error


async def test_nothing_listening_names_host_port_attempts_and_what_to_check() -> None:
    port = _free_port()
    message = await _one_error(f"ws://127.0.0.1:{port}/v1/realtime", attempts=3)
    assert f"nothing accepts connections on 127.0.0.1:{port} (connection refused)" in message
    assert "check that the server is running" in message
    assert "gave up after 3 attempts over" in message
    assert "ConnectionRefusedError" not in message


async def test_a_host_name_that_does_not_resolve_says_so() -> None:
    message = await _one_error("ws://no-such-host.invalid:8765/v1/realtime", attempts=2)
    assert "the host name 'no-such-host.invalid' could not be resolved" in message
    assert "check the host in base_url" in message
    assert "gave up after 2 attempts" in message
    assert "gaierror" not in message


async def test_a_single_attempt_says_one_attempt() -> None:
    message = await _one_error(f"ws://127.0.0.1:{_free_port()}/v1/realtime", attempts=1)
    assert message.endswith("(gave up after 1 attempt)")


async def _plain_http_server() -> tuple[asyncio.Server, int]:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        writer.write(b"this is not HTTP\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    return server, int(server.sockets[0].getsockname()[1])


@pytest.mark.parametrize(
    ("scheme", "expected"),
    [
        ("ws", "answered, but not as a WebSocket server"),
        ("wss", "check wss:// against ws:// in base_url"),
    ],
)
async def test_a_server_that_is_not_a_websocket_server_is_named(scheme: str, expected: str) -> None:
    server, port = await _plain_http_server()
    async with server:
        connection = RealtimeConnection(LocalDialect(f"{scheme}://127.0.0.1:{port}/x"), "m")
        with pytest.raises(ConnectionFailed) as caught:
            await connection.connect(None, timeout=5)
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert expected in str(caught.value)
