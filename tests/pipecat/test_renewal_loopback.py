"""Make-before-break renewal through a real pipeline and a loopback server.

The dialect's session lasts two seconds, so the next session is opened at 1.6 s and the
quiet moment is waited for until 1.8 s. The reply streams for several seconds from about
0.5 s on, so it plays across both marks: it must be played whole, once, on the old
socket, and the switch must come after it, with at most two sockets open.
"""

from __future__ import annotations

import base64
from typing import Any

from pipecat.frames.frames import (
    ErrorFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    TTSAudioRawFrame,
)

from realtime_llm import RealtimeLLMService
from realtime_llm.dialects import Dialect, LocalDialect
from realtime_llm.server import Turn
from realtime_llm.transport import RealtimeConnection

from .harness import client_events, running_bot, server_events, speech_like, wait_for


class TwoSecondSessions(LocalDialect):
    name = "two-second"
    session_limit_s = 2.0


class CountingConnection(RealtimeConnection):
    """The WebSocket transport, counting how many are open at once (a public seam)."""

    open_now = 0
    peak = 0

    async def connect(self, secret: str | None, timeout: float = 10.0) -> None:
        await super().connect(secret, timeout)
        CountingConnection.open_now += 1
        CountingConnection.peak = max(CountingConnection.peak, CountingConnection.open_now)

    async def close(self) -> None:
        if self.connected:
            CountingConnection.open_now -= 1
        await super().close()


def counting(dialect: Dialect, model: str) -> CountingConnection:
    return CountingConnection(dialect, model)


async def test_a_reply_playing_across_the_limit_plays_whole_and_once(make_server: Any) -> None:
    story = "This reply is long enough to stream across the renewal point of the session. " * 6
    server = await make_server([Turn(user="Tell me", reply=story)], chunk_interval_s=0.03)
    CountingConnection.open_now = CountingConnection.peak = 0
    service = RealtimeLLMService(dialect=TwoSecondSessions(server.url), connection_factory=counting)
    async with running_bot(service) as bot:
        await server.wait_for_sent("session.updated")
        await bot.speak(speech_like(24000, 0.3), 24000)
        await server.wait_for_sent("response.done", timeout=15)
        await server.wait_for_sent("session.created", count=2, timeout=5)
        await wait_for(lambda: server.connections == 1, what="the old socket closed")
        await wait_for(lambda: bot.down(LLMFullResponseEndFrame), what="the reply's end")
    sent_types = [e["type"] for e in server.sent]
    second_session = [i for i, t in enumerate(sent_types) if t == "session.created"][1]
    assert second_session < sent_types.index("response.done"), "the reply spanned the renewal"
    wire_audio = sum(
        len(base64.b64decode(e["delta"]))
        for e in server_events(server, "response.output_audio.delta")
    )
    played = sum(len(f.audio) for f in bot.down(TTSAudioRawFrame))
    assert played == wire_audio > 0, "no gap: every byte of the reply was played"
    assert len(bot.down(LLMFullResponseStartFrame)) == 1, "no restarted reply"
    assert len(client_events(server, "response.create")) == 0
    assert len(server_events(server, "response.created")) == 1
    assert CountingConnection.peak == 2
    assert not bot.up(ErrorFrame)
