"""Input audio against turn ends and interruptions, pushed at randomised moments.

The service takes input audio at once, in the pusher's task, when nothing it must not
overtake is waiting (``RealtimeLLMService.queue_frame``); every other frame waits its turn
in the queue. Whatever the timing (bursts with no await between frames, a yield, a short
sleep), the wire must mirror the order the frames were pushed in: the audio pushed between
two turn ends or interruptions is exactly the audio appended between their commit or clear.
Each seed is one script, played against the local server through a real pipeline.
"""

from __future__ import annotations

import asyncio
import base64
import random
import struct
from typing import Any

import pytest
from pipecat.frames.frames import (
    Frame,
    InputAudioRawFrame,
    InterruptionFrame,
    UserStoppedSpeakingFrame,
)

from realtime_llm import RealtimeLLMSettings
from realtime_llm.session_properties import AudioConfig, AudioInput, SessionProperties

from .harness import running_bot, service_for, wait_for

FRAME = 960  # 20 ms of 24 kHz PCM16
_CONTROL = {"input_audio_buffer.commit": "commit", "input_audio_buffer.clear": "clear"}


def _script(seed: int, length: int = 80) -> list[tuple[Frame, str]]:
    """Frames and what each should put on the wire (the pauses between are ``_pause``'s)."""
    rng = random.Random(seed)
    script: list[tuple[Frame, str]] = []
    for i in range(length):
        roll = rng.random()
        if roll < 0.08:
            script.append((UserStoppedSpeakingFrame(), "commit"))
        elif roll < 0.16:
            script.append((InterruptionFrame(), "clear"))
        else:
            audio = struct.pack("<H", i) * (FRAME // 2)  # each frame's audio is its own
            script.append((InputAudioRawFrame(audio, 24000, 1), "audio"))
    # The turn ends at the end: a part-filled batch waits for more audio until then.
    return [*script, (UserStoppedSpeakingFrame(), "commit")]


def _expected(script: list[tuple[Frame, str]]) -> list[Any]:
    """Audio joined between controls, and the controls: [b"...", "commit", b"...", ...]."""
    wire: list[Any] = [b""]
    for frame, kind in script:
        if kind == "audio":
            assert isinstance(frame, InputAudioRawFrame)
            wire[-1] += frame.audio
        else:
            wire += [kind, b""]
    return wire


def _received(server: Any) -> list[Any]:
    wire: list[Any] = [b""]
    for event in server.received:
        kind = event.get("type")
        if kind == "input_audio_buffer.append":
            wire[-1] += base64.b64decode(event["audio"])
        elif kind in _CONTROL:
            wire += [_CONTROL[kind], b""]
    return wire


def _shape(wire: list[Any]) -> list[Any]:
    return [part if isinstance(part, str) else len(part) / FRAME for part in wire]


async def _pause(rng: random.Random) -> None:
    roll = rng.random()
    if roll < 0.6:
        return  # a burst: the next frame follows with no await between
    if roll < 0.8:
        await asyncio.sleep(0)
    else:
        await asyncio.sleep(rng.uniform(0, 0.004))


@pytest.mark.parametrize("batch_ms", [None, 40])
@pytest.mark.parametrize("seed", range(4))
async def test_the_wire_keeps_the_order_the_frames_were_pushed_in(
    make_server: Any, seed: int, batch_ms: int | None
) -> None:
    settings = RealtimeLLMSettings(
        input_audio_batch_ms=batch_ms,
        session_properties=SessionProperties(
            audio=AudioConfig(input=AudioInput(turn_detection=None))
        ),
    )
    script = _script(seed)
    expected = _expected(script)
    server = await make_server()
    rng = random.Random(seed + 1000)
    async with running_bot(service_for(server.url, settings=settings)) as bot:
        await server.wait_for_sent("session.updated")
        for frame, _ in script:
            await bot.queue(frame)
            await _pause(rng)
        controls = sum(1 for _, kind in script if kind != "audio")
        await wait_for(
            lambda: (
                len(_received(server)) == 2 * controls + 1
                and len(_received(server)[-1]) >= len(expected[-1])
            ),
            what="every control and the audio after the last",
        )
    received = _received(server)
    assert received == expected, (
        f"frames between controls: {_shape(received)}, pushed {_shape(expected)}"
    )
