"""A real pipecat voice-bot pipeline around RealtimeLLMService, for integration tests.

``user aggregator -> [recorder] -> RealtimeLLMService -> [recorder] -> assistant aggregator``
run by ``PipelineWorker`` and ``WorkerRunner`` (pipecat 1.14's API). The recorders keep
every frame that passes, upstream and downstream, so tests assert on real frames; the
local server keeps every client event it received, so tests assert on the wire too.
"""

from __future__ import annotations

import asyncio
import math
import struct
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pipecat.frames.frames import EndFrame, Frame, InputAudioRawFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.workers.runner import WorkerRunner

from realtime_llm import RealtimeLLMService

F = TypeVar("F", bound=Frame)


class Recorder(FrameProcessor):
    """Passes every frame on and remembers it with its direction."""

    def __init__(self, name: str) -> None:
        super().__init__(name=name)
        self.frames: list[tuple[Frame, FrameDirection]] = []

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        self.frames.append((frame, direction))
        await self.push_frame(frame, direction)

    def of(self, frame_type: type[F], direction: FrameDirection | None = None) -> list[F]:
        return [
            f
            for f, d in self.frames
            if isinstance(f, frame_type) and (direction is None or d == direction)
        ]


@dataclass
class Bot:
    worker: PipelineWorker
    service: RealtimeLLMService
    context: LLMContext
    upstream_of_llm: Recorder
    """Sits before the service: sees what the service pushes upstream."""
    downstream_of_llm: Recorder
    """Sits after the service: sees what the service pushes downstream."""
    extra: dict[str, Any] = field(default_factory=dict)

    async def queue(self, *frames: Frame) -> None:
        for frame in frames:
            await self.worker.queue_frame(frame)

    async def speak(self, pcm16: bytes, sample_rate: int, chunk_ms: int = 20) -> None:
        """Feed audio as the transport would, in chunks (faster than real time)."""
        step = sample_rate * 2 * chunk_ms // 1000
        for i in range(0, len(pcm16), step):
            await self.worker.queue_frame(InputAudioRawFrame(pcm16[i : i + step], sample_rate, 1))
            await asyncio.sleep(0)

    def down(self, frame_type: type[F]) -> list[F]:
        return self.downstream_of_llm.of(frame_type, FrameDirection.DOWNSTREAM)

    def up(self, frame_type: type[F]) -> list[F]:
        return self.upstream_of_llm.of(frame_type, FrameDirection.UPSTREAM)


def service_for(url: str, **kwargs: Any) -> RealtimeLLMService:
    """A service pointed at a local server."""
    return RealtimeLLMService(dialect="local", base_url=url, **kwargs)


def client_events(server: Any, event_type: str) -> list[dict[str, Any]]:
    return [e for e in server.received if e.get("type") == event_type]


def server_events(server: Any, event_type: str) -> list[dict[str, Any]]:
    return [e for e in server.sent if e.get("type") == event_type]


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
    """Poll until ``predicate()`` holds; fail the test with ``what`` otherwise."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await asyncio.sleep(0.01)


@asynccontextmanager
async def running_bot(
    service: RealtimeLLMService,
    context: LLMContext | None = None,
    observers: list[Any] | None = None,
    *,
    after_llm: Sequence[FrameProcessor] = (),
    enable_tracing: bool = False,
) -> AsyncIterator[Bot]:
    """``after_llm``: processors placed right after the service (a playback reporter, say)."""
    context = context or LLMContext()
    pair = LLMContextAggregatorPair(context)
    before, after = Recorder("before-llm"), Recorder("after-llm")
    pipeline = Pipeline([pair.user(), before, service, *after_llm, after, pair.assistant()])
    worker = PipelineWorker(
        pipeline,
        params=PipelineParams(enable_metrics=True, enable_usage_metrics=True),
        enable_tracing=enable_tracing,
        cancel_on_idle_timeout=False,
        observers=observers or [],
    )
    started = asyncio.Event()

    @worker.event_handler("on_pipeline_started")
    async def _started(worker: PipelineWorker, frame: Frame) -> None:
        started.set()

    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    run = asyncio.create_task(runner.run())
    try:
        await asyncio.wait_for(started.wait(), 5.0)
        yield Bot(worker, service, context, before, after)
    finally:
        await worker.queue_frame(EndFrame())
        try:
            await asyncio.wait_for(run, 10.0)
        except asyncio.TimeoutError:
            await runner.cancel()
            await asyncio.wait_for(run, 5.0)


def speech_like(sample_rate: int, seconds: float, silence_after: float = 1.0) -> bytes:
    """A loud tone burst (VAD hears speech) followed by silence (VAD hears the end)."""
    n = int(sample_rate * seconds)
    tone = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 220 * i / sample_rate)))
        for i in range(n)
    )
    return tone + b"\x00\x00" * int(sample_rate * silence_after)
