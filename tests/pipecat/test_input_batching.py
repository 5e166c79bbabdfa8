"""``input_audio_batch_ms``: fewer, larger ``input_audio_buffer.append`` events, same audio."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from pipecat.frames.frames import LLMUpdateSettingsFrame, UserStoppedSpeakingFrame

from realtime_llm import InvalidSettingsError, RealtimeLLMSettings
from realtime_llm.session_properties import AudioConfig, AudioInput, SessionProperties

from .harness import client_events, running_bot, service_for, wait_for


def _sent_audio(server: Any) -> list[bytes]:
    appends = client_events(server, "input_audio_buffer.append")
    return [base64.b64decode(e["audio"]) for e in appends]


def _pcm(ms: int, rate: int = 24000) -> bytes:
    return bytes(i % 251 for i in range(rate * 2 * ms // 1000))


async def test_appends_carry_one_batch_each_and_the_audio_is_unchanged(make_server: Any) -> None:
    server = await make_server()
    settings = RealtimeLLMSettings(input_audio_batch_ms=100)
    async with running_bot(service_for(server.url, settings=settings)) as bot:
        await server.wait_for_sent("session.updated")
        pcm = _pcm(400)
        await bot.speak(pcm, 24000)  # 20 frames of 20 ms
        await wait_for(lambda: len(_sent_audio(server)) == 4, what="four appends")
    sent = _sent_audio(server)
    assert [len(a) for a in sent] == [4800] * 4  # 100 ms of 24 kHz PCM16 each
    assert b"".join(sent) == pcm


async def test_batches_join_frames_whose_base64_does_not_concatenate(make_server: Any) -> None:
    # 16 kHz input is resampled: the 24 kHz pieces are not multiples of 3 bytes, so the
    # batch must be joined as bytes, then encoded once.
    server = await make_server()
    settings = RealtimeLLMSettings(input_audio_batch_ms=60)
    async with running_bot(service_for(server.url, settings=settings)) as bot:
        await server.wait_for_sent("session.updated")
        await bot.speak(_pcm(600, 16000), 16000)
        await wait_for(lambda: len(_sent_audio(server)) >= 8, what="batched appends")
    for audio in _sent_audio(server):
        assert len(audio) >= 60 * 48  # a whole batch, decodable: b64decode would have failed


async def test_a_client_turn_end_flushes_the_part_filled_batch_before_the_commit(
    make_server: Any,
) -> None:
    settings = RealtimeLLMSettings(
        input_audio_batch_ms=100,
        session_properties=SessionProperties(
            audio=AudioConfig(input=AudioInput(turn_detection=None))
        ),
    )
    server = await make_server()
    async with running_bot(service_for(server.url, settings=settings)) as bot:
        await server.wait_for_sent("session.updated")
        await bot.speak(_pcm(140), 24000)  # one full batch and 40 ms more
        await bot.queue(UserStoppedSpeakingFrame())
        await server.wait_for_received("input_audio_buffer.commit")
    types = [e["type"] for e in server.received]
    commit = types.index("input_audio_buffer.commit")
    assert types[:commit].count("input_audio_buffer.append") == 2
    assert [len(a) for a in _sent_audio(server)] == [4800, 1920]


async def test_the_batch_can_be_changed_at_runtime(make_server: Any) -> None:
    server = await make_server()
    async with running_bot(service_for(server.url)) as bot:
        await server.wait_for_sent("session.updated")
        await bot.speak(_pcm(40), 24000)
        await wait_for(lambda: len(_sent_audio(server)) == 2, what="one append per frame")
        await bot.queue(LLMUpdateSettingsFrame(delta=RealtimeLLMSettings(input_audio_batch_ms=40)))
        # Audio frames are system frames and overtake a queued settings frame: wait for it.
        settings = bot.service.settings
        await wait_for(lambda: settings.input_audio_batch_ms == 40, what="the update")
        await bot.speak(_pcm(80), 24000)
        await wait_for(lambda: len(_sent_audio(server)) == 4, what="batched appends")
    assert [len(a) for a in _sent_audio(server)] == [960, 960, 1920, 1920]


@pytest.mark.parametrize("value", [-20, 5000, 40.5, "40"])
def test_a_bad_batch_is_refused_naming_the_field(value: Any) -> None:
    with pytest.raises(InvalidSettingsError, match="input_audio_batch_ms"):
        RealtimeLLMSettings(input_audio_batch_ms=value)
