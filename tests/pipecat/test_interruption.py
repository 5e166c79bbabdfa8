"""Interruptions: the reply stops, and the server's copy is cut where the user stopped hearing."""

from __future__ import annotations

import base64
from typing import Any

from pipecat.frames.frames import (
    InterruptionFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMRunFrame,
    TTSAudioRawFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
)

from realtime_llm.pipecat.settings import RealtimeLLMSettings
from realtime_llm.server import Turn
from realtime_llm.session_properties import AudioConfig, AudioInput, SessionProperties

from .harness import client_events, running_bot, service_for, speech_like, wait_for

STORY = "Once upon a time there was a long story that took many seconds to tell. " * 3


def _received_ms(server: Any, item_id: str) -> float:
    audio = b"".join(
        base64.b64decode(e["delta"])
        for e in server.sent
        if e["type"] == "response.output_audio.delta" and e["item_id"] == item_id
    )
    return len(audio) / 48


async def test_user_barge_in_cancels_and_truncates_within_received_audio(make_server: Any) -> None:
    # 40 ms chunks every 20 ms: the server streams at twice real time, like a real one.
    server = await make_server([Turn(user="Tell me a story", reply=STORY)], chunk_interval_s=0.02)
    async with running_bot(service_for(server.url)) as bot:
        await server.wait_for_sent("session.updated")
        await bot.speak(speech_like(24000, 0.4, silence_after=0.8), 24000)
        await wait_for(lambda: len(bot.down(TTSAudioRawFrame)) >= 10, what="reply audio")
        # The user talks over the reply: server VAD hears it.
        await bot.speak(speech_like(24000, 0.4, silence_after=0.0), 24000)
        truncate = await server.wait_for_received("conversation.item.truncate")
        await wait_for(lambda: bot.down(LLMFullResponseEndFrame), what="the reply to close")

    assert 0 < truncate["audio_end_ms"] <= _received_ms(server, truncate["item_id"])
    assert truncate["content_index"] == 0
    # One start and one end, TTS started/stopped paired, even though it was cut.
    assert len(bot.down(LLMFullResponseStartFrame)) == len(bot.down(LLMFullResponseEndFrame))
    assert len(bot.down(TTSStartedFrame)) == len(bot.down(TTSStoppedFrame)) >= 1
    # What the server says it kept is what we asked for.
    truncated = await server.wait_for_sent("conversation.item.truncated")
    assert truncated["audio_end_ms"] == truncate["audio_end_ms"]


async def test_interruption_frame_with_client_vad_clears_cancels_and_truncates(
    make_server: Any,
) -> None:
    no_vad = RealtimeLLMSettings(
        session_properties=SessionProperties(
            audio=AudioConfig(input=AudioInput(turn_detection=None))
        )
    )
    server = await make_server([Turn(reply=STORY)], chunk_interval_s=0.02)
    async with running_bot(service_for(server.url, settings=no_vad)) as bot:
        await bot.queue(LLMRunFrame())
        await wait_for(lambda: len(bot.down(TTSAudioRawFrame)) >= 5, what="reply audio")
        await bot.worker.queue_frame(InterruptionFrame())
        truncate = await server.wait_for_received("conversation.item.truncate")
        await wait_for(lambda: bot.down(LLMFullResponseEndFrame), what="the reply to close")
        audio_after_cut = len(bot.down(TTSAudioRawFrame))
        await server.wait_for_sent("response.done")
        assert len(bot.down(TTSAudioRawFrame)) == audio_after_cut  # cancelled audio not played

    types = [e["type"] for e in server.received]
    assert "input_audio_buffer.clear" in types and "response.cancel" in types
    assert 0 < truncate["audio_end_ms"] <= _received_ms(server, truncate["item_id"])
    assert len(bot.down(LLMFullResponseStartFrame)) == len(bot.down(LLMFullResponseEndFrame)) == 1
    assert not client_events(server, "input_audio_buffer.commit")
