"""The sessions of the load benchmark: what each candidate runs, and what every session measures.

A pipecat session is a real pipeline, ``PacedSource -> service -> PlaybackSink``, in its
own ``PipelineWorker``: the source pushes a 20 ms ``InputAudioRawFrame`` from its own task
on an absolute schedule, as a transport input does; the sink takes the reply audio and
acknowledges playback upstream (``BotStartedSpeakingFrame`` on a reply's first delta,
``BotStoppedSpeakingFrame`` on its last), as an output transport does. Source and sink run
in pipecat's direct mode, so neither adds a queue hop of its own: the hops measured are the
service's.

The candidates:

- ``raw``: websockets and json, no pipecat: what the protocol itself costs;
- ``floor``: the least a pipecat service can do, a FrameProcessor that appends the input
  and pushes the reply audio, nothing else;
- ``floor_reply``: the floor plus the four frames per reply that every pipecat LLM service
  pushes (``LLMFullResponseStartFrame``/``EndFrame``, ``TTSStartedFrame``/``StoppedFrame``),
  a reference for what those frames cost (not in the default candidates);
- ``pipecat``: pipecat's own ``OpenAIRealtimeLLMService``;
- ``realtime_llm``: ``RealtimeLLMService`` with its defaults (a variant with settings can
  be named ``realtime_llm:key=value,...``, see ``make_ours``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from _fake_server import stamp_of
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    CancelFrame,
    EndFrame,
    Frame,
    InputAudioRawFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    OutputAudioRawFrame,
    StartFrame,
    TTSAudioRawFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from websockets.asyncio.client import ClientConnection, connect

RATE = 24000
FRAME_S = 0.02
FRAME_BYTES = int(RATE * 2 * FRAME_S)  # 960 bytes of PCM16
ON_TIME_S = 0.1
"""A delta is on time if it is pushed at most one delta's length after the server sent it."""
CHUNK = bytes((i * 37) & 0xFF for i in range(FRAME_BYTES))


@dataclass
class Window:
    """The measured span (monotonic seconds); each session's input starts before it."""

    start: float
    end: float


@dataclass
class Stats:
    """What every session of one run records (shared by the sessions of a process)."""

    window: Window | None = None
    latencies: list[float] = field(default_factory=list)
    on_time: int = 0
    deltas: int = 0

    def delta_arrived(self, audio: bytes) -> tuple[int, int]:
        """Count one delta pushed now; returns its (index, count) in the reply."""
        now = time.monotonic()
        sent, index, count = stamp_of(audio)
        window = self.window
        if window is not None and window.start <= sent <= window.end:
            latency = now - sent
            self.latencies.append(latency)
            self.deltas += 1
            if latency <= ON_TIME_S:
                self.on_time += 1
        return index, count


async def paced_input(
    window_start: float, phase: float, end: float, send: Callable[[bytes], Awaitable[None]]
) -> None:
    """Call ``send`` with 20 ms of audio every 20 ms, on an absolute schedule."""
    tick = window_start - phase
    while tick < end:
        delay = tick - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await send(CHUNK)
        tick += FRAME_S


class PacedSource(FrameProcessor):
    """Pushes 20 ms input audio frames from its own task, like a transport input."""

    def __init__(self) -> None:
        super().__init__(enable_direct_mode=True)
        self.started = asyncio.Event()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        await self.push_frame(frame, direction)
        if isinstance(frame, StartFrame):
            self.started.set()

    def start_input(self, window_start: float, phase: float, end: float) -> None:
        async def send(chunk: bytes) -> None:
            await self.push_frame(InputAudioRawFrame(chunk, RATE, 1))

        self.create_task(paced_input(window_start, phase, end, send), name="paced-input")


class PlaybackSink(FrameProcessor):
    """Takes the reply audio and acknowledges playback upstream, like an output transport."""

    def __init__(self, stats: Stats) -> None:
        super().__init__(enable_direct_mode=True)
        self._stats = stats
        self.started = asyncio.Event()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, OutputAudioRawFrame):
            index, count = self._stats.delta_arrived(frame.audio)
            if index == 0:
                await self.push_frame(BotStartedSpeakingFrame(), FrameDirection.UPSTREAM)
            elif index == count - 1:
                await self.push_frame(BotStoppedSpeakingFrame(), FrameDirection.UPSTREAM)
            return
        await self.push_frame(frame, direction)
        if isinstance(frame, StartFrame):
            self.started.set()


class FloorService(FrameProcessor):
    """The floor: appends the input, pushes the reply audio, and does nothing else."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self._url = url
        self._ws: ClientConnection | None = None

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            if self._ws is not None:
                audio = base64.b64encode(frame.audio).decode()
                event = {"type": "input_audio_buffer.append", "audio": audio}
                await self._ws.send(json.dumps(event))
            return
        if isinstance(frame, StartFrame):
            self._ws = await connect(self._url, compression=None, max_size=None)
            await self._ws.send(json.dumps({"type": "session.update", "session": {}}))
            self.create_task(self._receive(self._ws), name="floor-receive")
        elif isinstance(frame, EndFrame | CancelFrame) and self._ws is not None:
            await self._ws.close()
        await self.push_frame(frame, direction)

    async def _receive(self, ws: ClientConnection) -> None:
        async for message in ws:
            event = json.loads(message)
            if event["type"] == "response.output_audio.delta":
                audio = base64.b64decode(event["delta"])
                await self.push_frame(TTSAudioRawFrame(audio, RATE, 1))


class FloorReplyService(FloorService):
    """The floor plus the frames every LLM service pushes per reply, nothing else.

    A pipecat LLM service brackets each reply with ``LLMFullResponseStartFrame``/``EndFrame``
    and its audio with ``TTSStartedFrame``/``StoppedFrame`` (the aggregators and the output
    transport need them; pipecat's own realtime service pushes them too). Each of them, and
    the RTVI message the pipeline's observer makes of it, travels the pipeline like any
    frame. This row says what that costs, apart from everything else a service does.
    """

    async def _receive(self, ws: ClientConnection) -> None:
        audio_started = False
        async for message in ws:
            event = json.loads(message)
            kind = event["type"]
            if kind == "response.output_audio.delta":
                if not audio_started:
                    audio_started = True
                    await self.push_frame(TTSStartedFrame())
                audio = base64.b64decode(event["delta"])
                await self.push_frame(TTSAudioRawFrame(audio, RATE, 1))
            elif kind == "response.created":
                await self.push_frame(LLMFullResponseStartFrame())
            elif kind == "response.output_audio.done":
                audio_started = False
                await self.push_frame(TTSStoppedFrame())
            elif kind == "response.done":
                await self.push_frame(LLMFullResponseEndFrame())


def make_pipecat(url: str) -> FrameProcessor:
    from pipecat.services.openai.realtime.llm import OpenAIRealtimeLLMService

    service: FrameProcessor = OpenAIRealtimeLLMService(api_key="bench", base_url=url)
    return service


def make_ours(url: str, options: str = "") -> FrameProcessor:
    """``RealtimeLLMService`` against the fake server; ``options`` are ``key=value`` pairs.

    ``forward_input_audio=false`` and ``input_audio_batch_ms=N`` are understood.
    """
    from realtime_llm import RealtimeLLMService

    kwargs: dict[str, Any] = {}
    for pair in filter(None, options.split(",")):
        key, _, value = pair.partition("=")
        if key == "forward_input_audio":
            kwargs[key] = value.lower() in ("1", "true", "yes")
        elif key == "input_audio_batch_ms":
            from realtime_llm import RealtimeLLMSettings

            kwargs["settings"] = RealtimeLLMSettings(input_audio_batch_ms=int(value))
        else:
            raise SystemExit(f"unknown realtime_llm option {key!r}")
    service: FrameProcessor = RealtimeLLMService(api_key="bench", base_url=url, **kwargs)
    return service


SERVICES: dict[str, Callable[[str], FrameProcessor]] = {
    "floor": FloorService,
    "floor_reply": FloorReplyService,
    "pipecat": make_pipecat,
    "realtime_llm": make_ours,
}


def make_service(candidate: str, url: str) -> FrameProcessor:
    name, _, options = candidate.split("@", 1)[0].partition(":")
    if name == "realtime_llm":
        return make_ours(url, options)
    return SERVICES[name](url)


async def raw_session(
    url: str,
    stats: Stats,
    ready: asyncio.Event,
    go: asyncio.Event,
    phase: float,
    stopped: asyncio.Event,
) -> None:
    """The raw client: one socket, json and base64 by hand, no pipecat."""
    async with connect(url, compression=None, max_size=None) as ws:
        await ws.recv()  # session.created
        await ws.send(json.dumps({"type": "session.update", "session": {}}))
        await ws.recv()  # session.updated
        ready.set()
        await go.wait()
        assert stats.window is not None

        async def send(chunk: bytes) -> None:
            audio = base64.b64encode(chunk).decode()
            await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": audio}))

        window = stats.window
        sender = asyncio.create_task(paced_input(window.start, phase, window.end, send))

        async def receive() -> None:
            async for message in ws:
                event = json.loads(message)
                if event["type"] == "response.output_audio.delta":
                    stats.delta_arrived(base64.b64decode(event["delta"]))

        receiver = asyncio.create_task(receive())
        await stopped.wait()
        sender.cancel()
        receiver.cancel()
