"""Input audio handled in its pusher's task: same audio, same order, nothing overtaken."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from pipecat.frames.frames import InputAudioRawFrame, UserStoppedSpeakingFrame

from realtime_llm import RealtimeLLMSettings
from realtime_llm.session_properties import AudioConfig, AudioInput, SessionProperties

from .harness import client_events, running_bot, service_for, wait_for

FRAME = 960  # 20 ms of 24 kHz PCM16


def _frames(first: int, count: int) -> list[InputAudioRawFrame]:
    return [InputAudioRawFrame(bytes([first + i]) * FRAME, 24000, 1) for i in range(count)]


def _sent_audio(server: Any) -> list[bytes]:
    appends = client_events(server, "input_audio_buffer.append")
    return [base64.b64decode(e["audio"]) for e in appends]


async def test_audio_after_a_turn_end_is_not_appended_before_its_commit(make_server: Any) -> None:
    # The frames come in one burst, as a transport input and an aggregator push them: the
    # turn end is a system frame still waiting in the service's queue when the audio
    # after it arrives. That audio must not overtake it into the committed turn.
    settings = RealtimeLLMSettings(
        session_properties=SessionProperties(
            audio=AudioConfig(input=AudioInput(turn_detection=None))
        )
    )
    server = await make_server()
    async with running_bot(service_for(server.url, settings=settings)) as bot:
        await server.wait_for_sent("session.updated")
        before, after = _frames(1, 5), _frames(11, 5)
        await bot.queue(*before, UserStoppedSpeakingFrame(), *after)
        await wait_for(lambda: len(_sent_audio(server)) == 10, what="ten appends")
    types = [e["type"] for e in server.received]
    commit = types.index("input_audio_buffer.commit")
    assert types[:commit].count("input_audio_buffer.append") == 5
    assert _sent_audio(server) == [f.audio for f in before + after]


async def test_a_long_stream_of_audio_arrives_whole_and_in_order(make_server: Any) -> None:
    server = await make_server()
    async with running_bot(service_for(server.url)) as bot:
        await server.wait_for_sent("session.updated")
        frames = _frames(0, 200)
        for i in range(0, 200, 20):  # bursts, with the loop free in between
            await bot.queue(*frames[i : i + 20])
            await bot.speak(b"", 24000)
        await wait_for(lambda: len(_sent_audio(server)) == 200, what="every append")
    assert _sent_audio(server) == [f.audio for f in frames]


async def test_audio_waits_while_the_service_holds_its_frames(make_server: Any) -> None:
    # pipecat's pause_processing_all_frames_until holds a processor's queues; audio taken
    # at once would slip past the hold.
    server = await make_server()
    service = service_for(server.url)
    async with running_bot(service):
        await server.wait_for_sent("session.updated")
        release = asyncio.Event()
        await service.pause_processing_all_frames_until(release.wait, timeout=5.0)
        frames = _frames(0, 5)
        for frame in frames:  # as the processor before it hands them on
            await service.queue_frame(frame)
        await asyncio.sleep(0.2)
        assert _sent_audio(server) == []
        release.set()
        await wait_for(lambda: len(_sent_audio(server)) == 5, what="the held appends")
    assert _sent_audio(server) == [f.audio for f in frames]
