"""A spoken turn through a real pipeline against the local server on 127.0.0.1."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
from pipecat.frames.frames import (
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    MetricsFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.metrics.metrics import LLMUsageMetricsData, TTFBMetricsData

from realtime_llm.pipecat.settings import RealtimeLLMSettings
from realtime_llm.server import Turn
from realtime_llm.session_properties import (
    AudioConfig,
    AudioInput,
    AudioOutput,
    PCMUFormat,
    SessionProperties,
)

from .harness import running_bot, service_for, speech_like, wait_for


async def test_spoken_turn_at_16khz_reaches_context_and_plays_server_audio(
    make_server: Any,
) -> None:
    server = await make_server([Turn(user="What time is it?", reply="It is noon.")])
    async with running_bot(service_for(server.url)) as bot:
        await server.wait_for_sent("session.updated")
        await bot.speak(speech_like(16000, 0.6), 16000)
        await wait_for(lambda: bot.down(LLMFullResponseEndFrame), what="the reply to end")
        await wait_for(lambda: len(bot.context.get_messages()) >= 2, what="context turns")

        # The user's words went upstream, so the user aggregator recorded them.
        assert [f.text for f in bot.up(TranscriptionFrame)] == ["What time is it?"]
        assert bot.up(UserStartedSpeakingFrame) and bot.up(UserStoppedSpeakingFrame)

        # The reply: one response, one spoken item, audio bytes exactly as sent.
        assert len(bot.down(LLMFullResponseStartFrame)) == 1
        assert len(bot.down(LLMFullResponseEndFrame)) == 1
        assert len(bot.down(TTSStartedFrame)) == 1
        assert len(bot.down(TTSStoppedFrame)) == 1
        sent_audio = b"".join(
            base64.b64decode(e["delta"])
            for e in server.sent
            if e["type"] == "response.output_audio.delta"
        )
        played = b"".join(f.audio for f in bot.down(TTSAudioRawFrame))
        assert played == sent_audio and len(played) > 0
        assert all(f.sample_rate == 24000 for f in bot.down(TTSAudioRawFrame))

        # Both turns are in pipecat's context, in order, once each.
        messages = bot.context.get_messages()
        assert [m["role"] for m in messages] == ["user", "assistant"]  # type: ignore[index]
        assert messages[0]["content"] == "What time is it?"  # type: ignore[index]
        assert messages[1]["content"] == "It is noon."  # type: ignore[index]

        # Resampled to the session's 24 kHz: appended audio is 1.5x the input bytes.
        appended = sum(
            len(base64.b64decode(e["audio"]))
            for e in server.received
            if e["type"] == "input_audio_buffer.append"
        )
        assert abs(appended - len(speech_like(16000, 0.6)) * 1.5) < 24000 * 2 * 0.05

        metrics = [m for f in bot.down(MetricsFrame) for m in f.data]
        assert any(isinstance(m, TTFBMetricsData) for m in metrics)
        usage = [m for m in metrics if isinstance(m, LLMUsageMetricsData)]
        assert usage and usage[-1].value.total_tokens > 0


async def test_client_vad_turn_commits_and_asks_for_the_reply(make_server: Any) -> None:
    no_vad = RealtimeLLMSettings(
        session_properties=SessionProperties(
            audio=AudioConfig(input=AudioInput(turn_detection=None))
        )
    )
    server = await make_server([Turn(user="Hello?", reply="Hi there.")])
    async with running_bot(service_for(server.url, settings=no_vad)) as bot:
        await server.wait_for_sent("session.updated")
        await bot.speak(speech_like(24000, 0.5, silence_after=0.2), 24000)
        await bot.queue(UserStoppedSpeakingFrame())
        await wait_for(lambda: bot.down(LLMFullResponseEndFrame), what="the reply")
        await wait_for(lambda: bot.up(TranscriptionFrame), what="the user transcript")
    types = [e["type"] for e in server.received]
    commit = types.index("input_audio_buffer.commit")
    assert types.index("response.create", commit) == commit + 1
    assert [f.text for f in bot.up(TranscriptionFrame)] == ["Hello?"]


async def test_reset_conversation_starts_a_new_session_with_the_history(
    make_server: Any,
) -> None:
    server = await make_server([Turn(user="Remember 42.", reply="Noted.")])
    service = service_for(server.url)
    async with running_bot(service) as bot:
        await server.wait_for_sent("session.updated")
        await bot.speak(speech_like(24000, 0.4), 24000)
        await wait_for(lambda: len(bot.context.get_messages()) >= 2, what="turns in context")
        await service.reset_conversation()
        await server.wait_for_received("conversation.item.create", count=2)
    assert len([e for e in server.sent if e["type"] == "session.created"]) == 2
    texts = [
        e["item"]["content"][0]["text"]
        for e in server.received
        if e["type"] == "conversation.item.create"
    ]
    assert texts == ["Remember 42.", "Noted."]


async def test_g711_output_is_played_as_pcm16_at_8khz(make_server: Any) -> None:
    ulaw = RealtimeLLMSettings(
        session_properties=SessionProperties(
            audio=AudioConfig(output=AudioOutput(format=PCMUFormat(type="audio/pcmu")))
        )
    )
    server = await make_server([Turn(user="Hi", reply="Hello over the phone.")])
    async with running_bot(service_for(server.url, settings=ulaw)) as bot:
        await server.wait_for_sent("session.updated")
        await bot.speak(speech_like(24000, 0.4), 24000)
        await wait_for(lambda: bot.down(LLMFullResponseEndFrame), what="the reply")
    wire = b"".join(
        base64.b64decode(e["delta"])
        for e in server.sent
        if e["type"] == "response.output_audio.delta"
    )
    frames = bot.down(TTSAudioRawFrame)
    played = b"".join(f.audio for f in frames)
    assert {f.sample_rate for f in frames} == {8000}
    assert len(played) == 2 * len(wire) > 0
    expected = np.frombuffer(audioop_free_ulaw_decode(wire), dtype="<i2")
    assert np.array_equal(np.frombuffer(played, dtype="<i2"), expected)


def audioop_free_ulaw_decode(data: bytes) -> bytes:
    """G.711 mu-law expansion written out per the ITU formula (independent of the service)."""
    out = bytearray()
    for byte in data:
        u = ~byte & 0xFF
        magnitude = ((((u & 0x0F) << 3) + 0x84) << ((u >> 4) & 7)) - 0x84
        out += (-magnitude if u & 0x80 else magnitude).to_bytes(2, "little", signed=True)
    return bytes(out)
