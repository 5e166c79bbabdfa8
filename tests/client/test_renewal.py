"""Make-before-break renewal over the in-memory transport: a reply plays across the limit.

The dialect's session lasts one second, so the next session is opened at 0.8 s (limit
minus a 20 % margin) and the quiet moment is waited for until 0.9 s; the reply here runs
from before 0.8 s until after 0.9 s, so the switch must come at its end.
"""

from __future__ import annotations

import asyncio

from realtime_llm.client import ClientOutput, RealtimeClient
from realtime_llm.dialects import LocalDialect
from realtime_llm.protocol import outputs as out
from realtime_llm.protocol.response import REQUEST_TAG
from realtime_llm.protocol.session import RealtimeSession
from realtime_llm.transport import MemoryServer

from .test_client_lifecycle import until

_ITEM = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]}


class OneSecondSessions(LocalDialect):
    name = "one-second"
    session_limit_s = 1.0


async def test_a_reply_playing_across_the_limit_is_not_cut_and_the_switch_is_quiet() -> None:
    server = MemoryServer()
    seen: list[ClientOutput] = []

    async def record(output: ClientOutput) -> None:
        seen.append(output)

    def replay(session: RealtimeSession) -> list[out.Output]:
        return session.create_items([_ITEM])

    client = RealtimeClient(
        OneSecondSessions("ws://127.0.0.1:1/v1/realtime"),
        "local",
        connection_factory=server.factory,
        on_output=record,
        session_config=lambda: {"type": "realtime"},
        replay=replay,
    )
    await client.connect()
    await until(lambda: client.session.ready, "ready")
    first = server.latest
    await client.act(client.session.request_response())
    tag = first.sent_of("response.create")[0]["event_id"]
    first.push(
        {"type": "response.created", "response": {"id": "r1", "metadata": {REQUEST_TAG: tag}}}
    )
    chunks = [f"AAAA{i:04d}" for i in range(30)]
    sockets_during_reply: list[int] = []
    for chunk in chunks:  # 30 chunks over about 1.2 s: across the 0.8 s and 0.9 s marks
        first.push(
            {
                "type": "response.output_audio.delta",
                "response_id": "r1",
                "item_id": "a1",
                "output_index": 0,
                "content_index": 0,
                "delta": chunk,
            }
        )
        await asyncio.sleep(0.04)
        sockets_during_reply.append(len(server.open_connections))
    assert len(server.connections) == 2, "the next session opened while the reply played"
    second = server.latest
    await until(lambda: second.sent_of("session.update"), "the next session configured")
    assert not second.sent_of("conversation.item.create"), "no replay before the switch"
    await client.send_audio("BEFORE")
    first.push(
        {"type": "response.done", "response": {"id": "r1", "status": "completed", "output": []}}
    )
    await until(lambda: not first.open, "the old connection closed after the reply")
    await client.send_audio("AFTER")

    played = [o.audio_b64 for o in seen if isinstance(o, out.AudioChunk)]
    assert played == chunks, "every chunk of the reply was played once, none lost"
    started = [o for o in seen if isinstance(o, out.ResponseStarted)]
    ended = [o for o in seen if isinstance(o, out.ResponseEnded)]
    assert [s.response_id for s in started] == ["r1"]
    assert [(e.response_id, e.status) for e in ended] == [("r1", "completed")]
    assert not second.sent_of("response.create"), "no restarted reply"
    assert [e["type"] for e in second.sent][:2] == ["session.update", "conversation.item.create"]
    assert [e["audio"] for e in first.sent_of("input_audio_buffer.append")] == ["BEFORE"]
    assert [e["audio"] for e in second.sent_of("input_audio_buffer.append")] == ["AFTER"]
    assert first.closed_by_client
    assert server.peak_open == 2
    assert max(sockets_during_reply) == 2 and sockets_during_reply[-1] == 2
    assert len(server.open_connections) == 1
    await client.close()


async def test_the_switch_comes_at_a_quiet_moment_before_the_deadline() -> None:
    server = MemoryServer()
    client = RealtimeClient(
        OneSecondSessions("ws://127.0.0.1:1/v1/realtime"),
        "local",
        connection_factory=server.factory,
        session_config=lambda: {"type": "realtime"},
    )
    await client.connect()
    await until(lambda: client.session.ready, "ready")
    await asyncio.sleep(1.0)
    await until(lambda: len(server.connections) == 2 and not server.connections[0].open, "switch")
    assert server.connections[0].closed_by_client
    assert server.peak_open == 2
    assert client.session.ready
    await client.close()
    assert not server.open_connections


async def test_a_drop_while_the_next_session_is_not_ready_leaves_one_connection() -> None:
    server = MemoryServer(auto_handshake=False)
    client = RealtimeClient(
        OneSecondSessions("ws://127.0.0.1:1/v1/realtime"),
        "local",
        connection_factory=server.factory,
        session_config=lambda: {"type": "realtime"},
    )
    await client.connect()
    await until(lambda: len(server.connections) == 2, "the next session opened")
    server.connections[0].close_from_server(1011, "internal error")
    await until(lambda: len(server.connections) == 3, "a fresh reconnect")
    assert server.connections[1].closed_by_client, "the unready next session was closed"
    assert [c for c in server.connections if c.open] == [server.connections[2]]
    await client.close()
