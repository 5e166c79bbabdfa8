"""Bounds and secrets at the WebSocket edge, against hostile servers on 127.0.0.1."""

from __future__ import annotations

import logging

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from realtime_llm.dialects import Dialect, LocalDialect, OpenAIDialect
from realtime_llm.errors import ConnectionFailed, ErrorClass, FatalConnectionError
from realtime_llm.protocol import events as ev
from realtime_llm.redaction import Redactor
from realtime_llm.transport import RealtimeConnection
from realtime_llm.transport.connection import DEFAULT_MAX_MESSAGE_BYTES, MESSAGE_TOO_BIG

KEY = "sk-test-SECRET-123"


async def test_a_message_above_the_limit_is_refused_with_a_clear_log() -> None:
    async def flood(ws: ServerConnection) -> None:
        await ws.send('{"type": "session.created", "event_id": "e0", "session": {}}')
        await ws.send('{"type": "x", "pad": "' + "a" * 5000 + '"}')
        await ws.wait_closed()

    logged: list[str] = []
    async with serve(flood, "127.0.0.1", 0) as raw:
        port = next(iter(raw.sockets)).getsockname()[1]
        dialect = LocalDialect(f"ws://127.0.0.1:{port}/v1/realtime")
        connection = RealtimeConnection(dialect, "m", max_message_bytes=1024)
        await connection.connect(None)
        from loguru import logger

        sink = logger.add(logged.append, level="WARNING")
        try:
            received = [e async for e in connection.events()]
        finally:
            logger.remove(sink)
    assert [type(e) for e in received] == [ev.SessionCreated]
    assert connection.close_code == MESSAGE_TOO_BIG
    assert any("1024 byte limit" in line for line in logged)
    assert DEFAULT_MAX_MESSAGE_BYTES == 8 * 1024 * 1024


async def test_a_key_over_ws_to_another_host_is_refused_before_dialling() -> None:
    connection = RealtimeConnection(OpenAIDialect("ws://api.example.invalid/v1/realtime"), "m")
    with pytest.raises(FatalConnectionError, match="wss://") as raised:
        await connection.connect(KEY, timeout=0.01)
    assert KEY not in str(raised.value)
    assert not connection.connected


async def test_the_websockets_debug_log_never_carries_the_key() -> None:
    async def hello(ws: ServerConnection) -> None:
        await ws.send('{"type": "session.created", "event_id": "e0", "session": {}}')
        await ws.wait_closed()

    records: list[tuple[str, str]] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append((record.name, record.getMessage()))

    handler = Collect(level=logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logging.getLogger("websockets").setLevel(logging.DEBUG)
    try:
        async with serve(hello, "127.0.0.1", 0) as raw:
            port = next(iter(raw.sockets)).getsockname()[1]
            connection = RealtimeConnection(Dialect(f"ws://127.0.0.1:{port}/v1/realtime"), "m")
            await connection.connect(KEY)
            await anext(connection.events())
            await connection.close()
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        logging.getLogger("websockets").setLevel(logging.NOTSET)
    # The test's raw server logs the headers it received: proof DEBUG records were seen.
    assert [m for name, m in records if name == "websockets.server" and KEY in m]
    client_side = [(name, m) for name, m in records if name != "websockets.server"]
    assert not [m for _, m in client_side if KEY in m]  # before: "> Authorization: Bearer …"


async def test_the_upgrade_status_is_classified_by_the_dialect() -> None:
    def refuse(_: ServerConnection, request: Request) -> Response:
        return Response(404, "Not Found", Headers(), b"no")

    class Lenient(LocalDialect):
        def classify_status(self, status: int) -> ErrorClass:
            return ErrorClass.TRANSIENT

    async with serve(lambda ws: ws.wait_closed(), "127.0.0.1", 0, process_request=refuse) as raw:
        port = next(iter(raw.sockets)).getsockname()[1]
        url = f"ws://127.0.0.1:{port}/v1/realtime"
        with pytest.raises(FatalConnectionError, match="404"):
            await RealtimeConnection(LocalDialect(url), "m").connect(None)
        with pytest.raises(ConnectionFailed) as raised:
            await RealtimeConnection(Lenient(url), "m").connect(None)
    assert not isinstance(raised.value, FatalConnectionError)


def test_the_redactor_hides_each_secret_and_its_basic_form() -> None:
    redact = Redactor([KEY, None, "ab"])
    assert redact(f"Incorrect API key provided: {KEY}.") == "Incorrect API key provided: ***."
    redact.add("id:secret")
    assert "aWQ6c2VjcmV0" not in redact("Basic aWQ6c2VjcmV0")
    assert redact("ab stays: too short to be a key") == "ab stays: too short to be a key"


async def test_audio_is_dropped_not_queued_behind_a_server_that_stops_reading() -> None:
    import asyncio

    stop = asyncio.Event()

    async def deaf(ws: ServerConnection) -> None:
        await ws.send('{"type": "session.created", "event_id": "e0", "session": {}}')
        await stop.wait()  # reads nothing until then: its queue fills, then the kernel's
        async for _ in ws:  # then drains the backlog, so the close is quick
            pass

    async with serve(deaf, "127.0.0.1", 0, max_queue=1) as raw:
        port = next(iter(raw.sockets)).getsockname()[1]
        dialect = LocalDialect(f"ws://127.0.0.1:{port}/v1/realtime")
        connection = RealtimeConnection(dialect, "m", max_audio_backlog_bytes=64 * 1024)
        await connection.connect(None)
        chunk = "A" * 64 * 1024
        # 32 MiB: far beyond loopback's socket buffers. Without the bound, send() would
        # wait for a drain that never comes, and this loop would hang.
        sent = [
            await connection.send({"type": "input_audio_buffer.append", "audio": chunk})
            for _ in range(512)
        ]
        assert all(sent)
        assert connection.audio_dropped_bytes > 0
        assert connection.audio_dropped_bytes % len(chunk) == 0
        stop.set()
        await connection.close()
