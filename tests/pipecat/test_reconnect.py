"""Dropped sockets, the session time limit and server errors: reconnect, replay, go on."""

from __future__ import annotations

import asyncio
import base64
import socket
from typing import Any

from pipecat.frames.frames import (
    ErrorFrame,
    Frame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    SystemFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from realtime_llm import RealtimeLLMService
from realtime_llm.dialects import AzureDialect, LocalDialect
from realtime_llm.server import Turn
from realtime_llm.transport.reconnect import ReconnectPolicy

from .harness import client_events, running_bot, service_for, speech_like, wait_for


async def _first_turn(bot: Any, server: Any) -> None:
    await server.wait_for_sent("session.updated")
    await bot.speak(speech_like(24000, 0.4), 24000)
    await wait_for(lambda: bot.down(LLMFullResponseEndFrame), what="the first reply")
    await wait_for(lambda: len(bot.context.get_messages()) >= 2, what="turns in context")


async def test_dropped_socket_reconnects_and_replays_the_conversation(make_server: Any) -> None:
    server = await make_server(
        [Turn(user="My name is Ada.", reply="Hello Ada."), Turn(user="Who am I?", reply="Ada.")]
    )
    async with running_bot(service_for(server.url)) as bot:
        await _first_turn(bot, server)
        await server.close_connections(code=1011, reason="internal error")
        await server.wait_for_received("session.update", count=2)
        await wait_for(lambda: server.connections == 1, what="a new connection")
        # The new session learned the conversation so far, as items, without a reply.
        replayed = [
            (e["item"]["role"], e["item"]["content"][0]["text"])
            for e in client_events(server, "conversation.item.create")
        ]
        assert replayed == [("user", "My name is Ada."), ("assistant", "Hello Ada.")]
        assert not client_events(server, "response.create")
        # And the conversation goes on.
        await bot.speak(speech_like(24000, 0.4), 24000)
        await wait_for(lambda: len(bot.down(LLMFullResponseEndFrame)) >= 2, what="next reply")
        assert bot.service.is_usable
    assert [f.text for f in bot.up(TranscriptionFrame)] == ["My name is Ada.", "Who am I?"]


async def test_session_time_limit_is_survived(make_server: Any) -> None:
    server = await make_server([Turn(user="Hi", reply="Hello.")], max_session_s=1.0)
    async with running_bot(service_for(server.url)) as bot:
        await _first_turn(bot, server)
        await server.wait_for_received("session.update", count=2, timeout=5)
        await wait_for(lambda: server.connections == 1, what="a new connection")
    assert [e for e in server.sent if e["type"] == "session.created"][1:]
    assert len(bot.down(LLMFullResponseStartFrame)) == len(bot.down(LLMFullResponseEndFrame))


async def test_reply_cut_by_a_drop_is_asked_for_again(make_server: Any) -> None:
    story = "A long reply that is still streaming when the socket goes away. " * 3
    server = await make_server(
        [Turn(user="Tell me", reply=story), Turn(reply="Where was I? Ah yes.")],
        chunk_interval_s=0.02,
    )
    async with running_bot(service_for(server.url)) as bot:
        await server.wait_for_sent("session.updated")
        await bot.speak(speech_like(24000, 0.4), 24000)
        await server.wait_for_sent("response.output_audio.delta", count=5)
        await server.close_connections(code=1012, reason="service restart")
        await server.wait_for_received("response.create")
        await wait_for(lambda: len(bot.down(LLMFullResponseEndFrame)) >= 2, what="the new reply")
    # The cut reply was closed (start/end paired) and a new one asked for on the new session.
    assert len(bot.down(LLMFullResponseStartFrame)) == len(bot.down(LLMFullResponseEndFrame))


async def test_fatal_close_is_reported_once_and_not_retried(make_server: Any) -> None:
    server = await make_server()
    async with running_bot(service_for(server.url)) as bot:
        await server.wait_for_sent("session.updated")
        await server.close_connections(code=1008, reason="policy violation")
        await wait_for(lambda: bot.up(ErrorFrame), what="an ErrorFrame")
        await wait_for(lambda: server.connections == 0, what="the socket to close")
        assert not bot.service.is_usable
    errors = bot.up(ErrorFrame)
    assert len(errors) == 1 and "1008" in errors[0].error
    assert len(client_events(server, "session.update")) == 1


async def test_transient_server_error_starts_a_fresh_session(make_server: Any) -> None:
    server = await make_server()
    async with running_bot(service_for(server.url)) as bot:
        await server.wait_for_sent("session.updated")
        await server.send_event(
            {
                "type": "error",
                "event_id": "evt_1",
                "error": {"type": "server_error", "code": "server_error", "message": "oops"},
            }
        )
        await server.wait_for_received("session.update", count=2)
        assert bot.service.is_usable
    assert len(bot.up(ErrorFrame)) == 1


async def test_first_connect_is_retried_until_the_server_is_up(make_server: Any) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"ws://127.0.0.1:{port}/v1/realtime"
    started: list[Any] = []

    async def start_server_late() -> None:
        await asyncio.sleep(0.3)
        started.append(await make_server(port=port))

    late = asyncio.create_task(start_server_late())
    async with running_bot(service_for(url)) as bot:
        await late
        await started[0].wait_for_sent("session.updated")
        assert bot.service.is_usable
    assert not bot.up(ErrorFrame)


async def test_nothing_to_connect_to_is_reported_once() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    service = service_for(
        f"ws://127.0.0.1:{port}/v1/realtime",
        reconnect_policy=ReconnectPolicy(max_attempts=2, base_delay_s=0.05),
    )
    async with running_bot(service) as bot:
        await wait_for(lambda: bot.up(ErrorFrame), what="the ErrorFrame")
        assert not bot.service.is_usable
    assert len(bot.up(ErrorFrame)) == 1


class ShortSessions(LocalDialect):
    """A server whose sessions last one second: renewal must happen before the limit."""

    name = "short"
    session_limit_s = 1.0


async def test_session_is_renewed_quietly_before_the_time_limit(make_server: Any) -> None:
    server = await make_server([Turn(user="Hi", reply="Hello.")])
    service = RealtimeLLMService(dialect=ShortSessions(server.url))
    async with running_bot(service) as bot:
        await _first_turn(bot, server)
        await server.wait_for_received("session.update", count=2, timeout=3)
        await wait_for(lambda: server.connections == 1, what="one connection")
        replayed = client_events(server, "conversation.item.create")
        assert [e["item"]["role"] for e in replayed] == ["user", "assistant"]
        assert bot.service.is_usable
    assert not bot.up(ErrorFrame)
    # The server never had to end a session itself.
    assert not [e for e in server.sent if e["type"] == "error"]


async def test_no_renewal_when_reconnecting_is_turned_off(make_server: Any) -> None:
    server = await make_server()
    service = RealtimeLLMService(
        dialect=ShortSessions(server.url), reconnect_policy=ReconnectPolicy(max_attempts=0)
    )
    async with running_bot(service) as bot:
        await server.wait_for_sent("session.updated")
        await asyncio.sleep(1.2)  # past the renewal point (0.8 s) of a 1 s session
        assert len(client_events(server, "session.update")) == 1
        assert bot.service.is_usable
    assert not bot.up(ErrorFrame)


async def test_token_provider_is_asked_before_every_connect(make_server: Any) -> None:
    server = await make_server(dialect="azure")
    issued: list[str] = []

    async def fresh_token() -> str:
        issued.append(f"entra-token-{len(issued) + 1}")
        return issued[-1]

    service = RealtimeLLMService(
        dialect=AzureDialect(server.url, entra_token=True), token_provider=fresh_token
    )
    async with running_bot(service):
        await server.wait_for_sent("session.updated")
        await server.close_connections(code=1011, reason="restart")
        await server.wait_for_sent("session.updated", count=2)
    assert issued == ["entra-token-1", "entra-token-2"]


async def test_words_spoken_while_reconnecting_reach_the_new_session(make_server: Any) -> None:
    server = await make_server()
    async with running_bot(service_for(server.url)) as bot:
        await server.wait_for_sent("session.updated")
        await server.close_connections(code=1011, reason="internal error")
        spoken = speech_like(24000, 0.3, silence_after=0.0)
        await bot.speak(spoken, 24000)  # right away, while the service reconnects
        await server.wait_for_received("session.update", count=2)
        await wait_for(
            lambda: _appended_after_second_update(server) >= len(spoken), what="the audio"
        )
    assert _appended_after_second_update(server) == len(spoken)


def _appended_after_second_update(server: Any) -> int:
    updates = [i for i, e in enumerate(server.received) if e["type"] == "session.update"]
    if len(updates) < 2:
        return 0
    return sum(
        len(base64.b64decode(e["audio"]))
        for e in server.received[updates[1] :]
        if e["type"] == "input_audio_buffer.append"
    )


class PlayoutGate(FrameProcessor):
    """From the first reply audio on, holds the downstream frames until opened, as an
    output transport holds what follows audio (the reply's words, its end) until that
    audio has played: the assistant aggregator after it writes the reply late."""

    def __init__(self) -> None:
        super().__init__(name="playout-gate")
        self.held: list[Frame] = []
        self.closed = True
        self._playing = False

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if direction == FrameDirection.DOWNSTREAM and not isinstance(frame, SystemFrame):
            self._playing = self._playing or isinstance(frame, TTSAudioRawFrame)
            if self.closed and self._playing:
                self.held.append(frame)
                return
        await self.push_frame(frame, direction)

    async def open(self) -> None:
        self.closed = False
        for frame in self.held:
            await self.push_frame(frame)
        self.held.clear()


async def test_a_reply_cut_by_a_drop_is_replayed_as_far_as_it_came(make_server: Any) -> None:
    """The cut reply is not in the context yet when the new session is set up (it is still
    playing); it is replayed as far as it came, before the reply asked for again, and not
    sent a second time when the aggregator writes it."""
    story = "A long reply that is still streaming when the socket goes away. " * 3
    server = await make_server(
        [
            Turn(user="Tell me", reply=story),
            Turn(reply="Where was I? Ah yes."),
            Turn(user="Go on", reply="Fine."),
        ],
        chunk_interval_s=0.02,
    )
    gate = PlayoutGate()
    async with running_bot(service_for(server.url), after_llm=[gate]) as bot:
        await server.wait_for_sent("session.updated")
        await bot.speak(speech_like(24000, 0.4), 24000)
        await server.wait_for_sent("response.output_audio_transcript.delta", count=3)
        before = len(server.received)
        await server.close_connections(code=1012, reason="service restart")
        await asyncio.wait_for(server.wait_for_received("response.create"), 5)
        replay = [e for e in server.received[before:] if e["type"] != "input_audio_buffer.append"]
        print("CTX", bot.context.get_messages(), [e["type"] for e in replay], bot.service._context)
        assert not any(m.get("role") == "assistant" for m in bot.context.get_messages())
        await gate.open()
        await wait_for(lambda: len(bot.down(LLMFullResponseEndFrame)) >= 2, what="the new reply")
        await bot.speak(speech_like(24000, 0.4), 24000)  # a context sync after the writes
        await wait_for(lambda: len(bot.down(LLMFullResponseEndFrame)) >= 3, what="a third")
    kinds = [e["type"] for e in replay]
    assert kinds[0] == "session.update"
    items = [e["item"] for e in replay if e["type"] == "conversation.item.create"]
    assert [i["role"] for i in items] == ["user", "assistant"]
    partial = items[1]["content"][0]["text"]
    assert partial and story.startswith(partial) and partial != story
    assert kinds.index("response.create") > kinds.index("conversation.item.create")
    assistant_items = [
        e
        for e in server.received
        if e["type"] == "conversation.item.create" and e["item"].get("role") == "assistant"
    ]
    assert len(assistant_items) == 1, "the aggregator's copy of the cut reply is not sent"
