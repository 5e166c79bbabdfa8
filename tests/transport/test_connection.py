"""The WebSocket edge, against the local server on 127.0.0.1 (no mocked sockets)."""

from __future__ import annotations

import pytest
from websockets.asyncio.server import ServerConnection, serve

from realtime_llm.dialects import LocalDialect, XAIDialect
from realtime_llm.errors import ConnectionFailed, ErrorClass, FatalConnectionError
from realtime_llm.protocol import events as ev
from realtime_llm.server import LocalRealtimeServer
from realtime_llm.transport import RealtimeConnection
from realtime_llm.transport.reconnect import ReconnectPolicy

SECRET = "sk-secret-0123456789abcdefghijklmnop"


async def test_events_are_parsed_and_garbage_is_skipped() -> None:
    """A raw server on loopback that misbehaves: the stream skips what it cannot read."""

    async def misbehave(ws: ServerConnection) -> None:
        await ws.send('{"type": "session.created", "event_id": "e0", "session": {}}')
        await ws.send("{not json")
        await ws.send('{"no": "type"}')
        await ws.send('{"type": "response.output_audio.delta"}')  # known type, no fields
        await ws.send('{"type": "input_audio_buffer.cleared", "event_id": "e1"}')
        await ws.wait_closed()

    async with serve(misbehave, "127.0.0.1", 0) as raw:
        port = next(iter(raw.sockets)).getsockname()[1]
        connection = RealtimeConnection(LocalDialect(f"ws://127.0.0.1:{port}/v1/realtime"), "m")
        await connection.connect(None)
        received = []
        async for event in connection.events():
            received.append(event)
            if len(received) == 2:
                break
        await connection.close()
    assert [type(e) for e in received] == [ev.SessionCreated, ev.BufferCleared]


async def test_dialect_drops_duplicates_before_parsing() -> None:
    async with LocalRealtimeServer() as server:
        connection = RealtimeConnection(XAIDialect(server.url), "grok")
        await connection.connect("key")
        stream = connection.events()
        assert isinstance(await anext(stream), ev.SessionCreated)
        await server.send_event({"type": "ping", "event_id": "p"})
        await server.send_event({"type": "input_audio_buffer.cleared", "event_id": "e1"})
        assert isinstance(await anext(stream), ev.BufferCleared)  # the ping never surfaced
        await connection.close()


async def test_rejected_key_is_fatal_and_the_secret_is_not_in_the_error() -> None:
    async with LocalRealtimeServer(api_key="right-key") as server:
        connection = RealtimeConnection(LocalDialect(server.url), "gpt-realtime")
        with pytest.raises(FatalConnectionError) as raised:
            await connection.connect(SECRET)
    assert "401" in str(raised.value) and SECRET not in str(raised.value)


async def test_nothing_listening_is_a_transient_failure() -> None:
    async with LocalRealtimeServer() as server:
        url = server.url
    connection = RealtimeConnection(LocalDialect(url), "gpt-realtime")
    with pytest.raises(ConnectionFailed) as raised:
        await connection.connect(None, timeout=2)
    assert not isinstance(raised.value, FatalConnectionError)


async def test_close_code_and_reason_are_kept() -> None:
    async with LocalRealtimeServer() as server:
        connection = RealtimeConnection(LocalDialect(server.url), "gpt-realtime")
        await connection.connect(None)
        stream = connection.events()
        await anext(stream)
        await server.close_connections(code=1012, reason="restart")
        async for _ in stream:
            pass
    assert (connection.close_code, connection.close_reason) == (1012, "restart")
    assert await connection.send({"type": "input_audio_buffer.clear"}) is False


def test_reconnect_policy_backs_off_and_never_retries_fatal() -> None:
    policy = ReconnectPolicy(max_attempts=5, base_delay_s=0.25, max_delay_s=1.0)
    assert list(policy.delays()) == [0.0, 0.25, 0.5, 1.0, 1.0]
    assert policy.should_reconnect(ErrorClass.TRANSIENT)
    assert policy.should_reconnect(ErrorClass.SESSION_END)
    assert not policy.should_reconnect(ErrorClass.FATAL)
    assert not ReconnectPolicy(max_attempts=0).should_reconnect(ErrorClass.TRANSIENT)


def test_connect_budget_backs_off_across_flaps_and_is_spent_in_its_window() -> None:
    from realtime_llm.transport.reconnect import ConnectBudget

    policy = ReconnectPolicy(base_delay_s=0.25, max_delay_s=1.0, max_connects=5, window_s=60.0)
    budget = ConnectBudget(policy)
    # Each dial "succeeds" (nothing is reset): the waits keep growing, then stop.
    assert [budget.next_delay(t) for t in (0.0, 0.1, 0.2, 0.5, 1.0)] == [0.0, 0.0, 0.25, 0.5, 1.0]
    assert budget.next_delay(2.0) is None
    assert budget.next_delay(59.9) is None
    assert budget.next_delay(60.05) == 1.0  # the first two dials left the window
    assert "5 connection attempts within 60 s" in budget.describe()
