"""RealtimeClient without pipecat: connect, drop, reconnect, replay, give up.

Driven over the in-memory transport (a server script, no socket), through the client's
public surface only: ``connection_factory=``, ``act()``, ``send_audio()``, ``outputs``.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from realtime_llm.client import ClientFailed, ClientOutput, EventHandlingFailed, RealtimeClient
from realtime_llm.dialects import LocalDialect
from realtime_llm.errors import ErrorClass, FatalConnectionError
from realtime_llm.protocol import outputs as out
from realtime_llm.protocol.response import REQUEST_TAG
from realtime_llm.protocol.session import RealtimeSession
from realtime_llm.transport import MemoryServer
from realtime_llm.transport.reconnect import ReconnectPolicy

_CONFIG = {"type": "realtime", "instructions": "Be brief."}
_FAST = ReconnectPolicy(max_attempts=3, base_delay_s=0.0, max_delay_s=0.0)


async def until(condition: Callable[[], bool], what: str) -> None:
    """Let the loop run until ``condition`` holds (bounded, so a bug fails, never hangs).

    A wait, not a timed assertion: it only bounds how long a test may hang.
    """
    for _ in range(5000):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError(f"never happened: {what}")


def make_client(server: MemoryServer, seen: list[ClientOutput], **options: Any) -> RealtimeClient:
    async def record(output: ClientOutput) -> None:
        seen.append(output)

    options.setdefault("reconnect_policy", _FAST)
    return RealtimeClient(
        LocalDialect("ws://127.0.0.1:1/v1/realtime"),
        "local",
        connection_factory=server.factory,
        on_output=record,
        session_config=lambda: _CONFIG,
        **options,
    )


def test_importing_the_client_loads_no_pipecat() -> None:
    code = (
        "import sys, realtime_llm.client, realtime_llm.transport; "
        "bad = [m for m in sys.modules if m.startswith('pipecat')]; "
        "assert not bad, bad"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


async def test_connect_configures_the_session_and_becomes_ready() -> None:
    server = MemoryServer()
    seen: list[ClientOutput] = []
    client = make_client(server, seen)
    assert await client.connect()
    await until(lambda: client.session.ready, "ready")
    assert server.latest.sent_of("session.update")[0]["session"] == _CONFIG
    assert out.SessionReady() in seen
    await client.close()
    assert not server.open_connections


async def test_a_dropped_connection_is_reopened_and_the_conversation_replayed() -> None:
    server = MemoryServer()
    seen: list[ClientOutput] = []
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]}

    def replay(session: RealtimeSession) -> list[out.Output]:
        return session.create_items([item])

    client = make_client(server, seen, replay=replay)
    await client.connect()
    await until(lambda: client.session.ready, "ready")
    server.latest.close_from_server(1011, "internal error")
    await until(lambda: len(server.connections) == 2, "a second connection")
    await until(lambda: client.session.ready, "the new session ready")
    second = server.latest
    types = [e["type"] for e in second.sent]
    assert types[:2] == ["session.update", "conversation.item.create"]
    assert second.sent[1]["item"] == item
    assert server.peak_open == 1
    assert not [o for o in seen if isinstance(o, ClientFailed)]
    await client.close()


async def test_a_reply_cut_by_the_drop_is_closed_and_asked_for_again() -> None:
    server = MemoryServer()
    seen: list[ClientOutput] = []
    client = make_client(server, seen)
    await client.connect()
    await until(lambda: client.session.ready, "ready")
    await client.act(client.session.request_response())
    tag = server.latest.sent_of("response.create")[0]["event_id"]
    server.latest.push(
        {"type": "response.created", "response": {"id": "r1", "metadata": {REQUEST_TAG: tag}}}
    )
    await until(lambda: out.ResponseStarted("r1") in seen, "the reply started")
    server.latest.close_from_server(None)
    await until(lambda: len(server.connections) == 2, "a second connection")
    await until(lambda: server.latest.sent_of("response.create"), "the reply asked again")
    ended = [o for o in seen if isinstance(o, out.ResponseEnded)]
    assert [(e.response_id, e.reason) for e in ended] == [("r1", "connection_lost")]
    await client.close()


async def test_a_transient_server_error_starts_a_fresh_session() -> None:
    server = MemoryServer()
    seen: list[ClientOutput] = []
    client = make_client(server, seen)
    await client.connect()
    await until(lambda: client.session.ready, "ready")
    server.latest.push(
        {"type": "error", "error": {"type": "server_error", "code": "server_error", "message": "x"}}
    )
    await until(lambda: len(server.connections) == 2, "a second connection")
    assert server.connections[0].closed_by_client
    reports = [o for o in seen if isinstance(o, out.ErrorReported)]
    assert [r.error_class for r in reports] == [ErrorClass.TRANSIENT]
    await client.close()


async def test_a_fatal_close_gives_one_failure_and_no_retry() -> None:
    server = MemoryServer()
    seen: list[ClientOutput] = []
    client = make_client(server, seen)
    await client.connect()
    server.latest.close_from_server(1008, "policy violation")
    await until(lambda: any(isinstance(o, ClientFailed) for o in seen), "the failure")
    failures = [o for o in seen if isinstance(o, ClientFailed)]
    assert len(failures) == 1 and "1008" in failures[0].message
    assert len(server.connections) == 1
    await client.close()


async def test_a_refused_first_connect_is_fatal_at_once() -> None:
    server = MemoryServer()
    server.refuse(FatalConnectionError("the server refused the connection: HTTP 401"))
    seen: list[ClientOutput] = []
    client = make_client(server, seen)
    assert not await client.connect()
    assert seen == [ClientFailed("the server refused the connection: HTTP 401")]
    assert not server.open_connections


async def test_audio_spoken_while_reconnecting_reaches_the_next_session() -> None:
    server = MemoryServer()
    seen: list[ClientOutput] = []
    client = make_client(server, seen)
    await client.connect()
    await until(lambda: client.session.ready, "ready")
    await client.send_audio("AAAA")
    server.latest.close_from_server(1011)
    await client.send_audio("BBBB")  # before the client noticed, or while it reconnects
    await until(lambda: len(server.connections) == 2, "a second connection")
    await until(lambda: client.session.ready, "the new session ready")
    first = [e["audio"] for e in server.connections[0].sent_of("input_audio_buffer.append")]
    second = [e["audio"] for e in server.connections[1].sent_of("input_audio_buffer.append")]
    assert first == ["AAAA"] and second == ["BBBB"]
    await client.close()


async def test_outputs_iterator_without_a_handler() -> None:
    server = MemoryServer()
    client = RealtimeClient(
        LocalDialect("ws://127.0.0.1:1/v1/realtime"), "local", connection_factory=server.factory
    )
    async with client:
        stream = client.outputs()
        assert await anext(stream) == out.SessionReady()


async def test_an_event_that_breaks_while_handled_is_reported_and_the_session_goes_on() -> None:
    server = MemoryServer()
    seen: list[ClientOutput] = []
    client = make_client(server, seen)
    await client.connect()
    await until(lambda: client.session.ready, "ready")
    await client.act(client.session.request_response())
    tag = server.latest.sent_of("response.create")[0]["event_id"]
    created = {"id": "r1", "metadata": {REQUEST_TAG: tag}}
    server.latest.push({"type": "response.created", "response": created})
    bad = {"response_id": "r1", "item_id": "a1", "output_index": 0, "content_index": 0}
    server.latest.push({"type": "response.output_audio.delta", **bad, "delta": 5})
    server.latest.push({"type": "response.output_audio.delta", **bad, "delta": "AAAA"})
    await until(lambda: out.AudioChunk("a1", "AAAA") in seen, "the next event handled")
    failures = [o for o in seen if isinstance(o, EventHandlingFailed)]
    assert len(failures) == 1 and failures[0].message.startswith("error handling a server event")
    assert len(server.connections) == 1
    await client.close()


async def test_each_batch_the_client_handles_settles_the_tracers_turn(
    provider: Any, exporter: Any
) -> None:
    """A reply that ended with no tool call after it ends its turn when its batch is done,
    not at whatever frame the pipeline pushes next: the turn span measures the wait."""
    from realtime_llm.tracing import SessionTracer

    tracer = SessionTracer(tracer_provider=provider, provider="local")
    client = make_client(MemoryServer(), [], tracer=tracer)
    tracer.session_started("local", 0.0)
    tracer.user_speech_started(1.0)
    tracer.response_started("resp_1", model="local", voice="alloy", modalities=["audio"], now=2.0)
    tracer.response_finished("resp_1", status="completed", now=3.0)
    assert not [s for s in exporter.get_finished_spans() if s.name.startswith("turn ")]
    await client.act([out.ResponseEnded("resp_1", "completed")])
    assert [s for s in exporter.get_finished_spans() if s.name.startswith("turn ")]
