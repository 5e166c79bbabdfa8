"""Clients this project did not write, with their default settings, against the local server.

pipecat's own OpenAI, Azure, xAI (Grok) and Inworld realtime services each run a spoken
turn, a tool round and a barge-in in a real pipeline against the server speaking their
dialect; the ``openai`` SDK's GA realtime client runs a text turn and a tool round. No
shims: if one of them needs something the real service accepts, the server accepts it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from loguru import logger
from openai import AsyncOpenAI
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import (
    EndFrame,
    Frame,
    FunctionCallResultFrame,
    InputAudioRawFrame,
    LLMFullResponseEndFrame,
    LLMRunFrame,
    TTSAudioRawFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.azure.realtime.llm import AzureRealtimeLLMService
from pipecat.services.inworld.realtime.llm import InworldRealtimeLLMService
from pipecat.services.llm_service import FunctionCallParams, LLMService
from pipecat.services.openai.realtime.llm import OpenAIRealtimeLLMService
from pipecat.services.xai.realtime.llm import GrokRealtimeLLMService
from pipecat.workers.runner import WorkerRunner

from realtime_llm.server import LocalRealtimeServer, ScriptedEngine, ToolCall, Turn

from ..pipecat.harness import speech_like, wait_for

WEATHER = FunctionSchema(
    name="get_weather",
    description="Weather in a city",
    properties={"city": {"type": "string"}},
    required=["city"],
)
STORY = "Once upon a time there was a reply far too long to listen to in full. " * 3


class Frames(FrameProcessor):
    """Remembers every frame going downstream."""

    def __init__(self) -> None:
        super().__init__(name="after-llm")
        self.seen: list[Frame] = []

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if direction == FrameDirection.DOWNSTREAM:
            self.seen.append(frame)
        await self.push_frame(frame, direction)

    def count(self, kind: type[Frame]) -> int:
        return sum(isinstance(f, kind) for f in self.seen)


@asynccontextmanager
async def pipeline(service: LLMService[Any]) -> AsyncIterator[tuple[PipelineWorker, Frames]]:
    """user aggregator -> service -> recorder -> assistant aggregator, pipecat's defaults."""
    context = LLMContext(tools=ToolsSchema(standard_tools=[WEATHER]))
    pair = LLMContextAggregatorPair(context)
    after = Frames()
    worker = PipelineWorker(
        Pipeline([pair.user(), service, after, pair.assistant()]),
        params=PipelineParams(),
        cancel_on_idle_timeout=False,
    )
    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    run = asyncio.create_task(runner.run())
    try:
        yield worker, after
    finally:
        await worker.queue_frame(EndFrame())
        try:
            await asyncio.wait_for(run, 10.0)
        except asyncio.TimeoutError:
            await runner.cancel()


Factory = Callable[[LocalRealtimeServer], LLMService[Any]]

SERVICES: dict[str, tuple[str, Factory]] = {
    "openai": ("ga", lambda s: OpenAIRealtimeLLMService(api_key="sk-fake", base_url=s.url)),
    "azure": (
        "azure",
        lambda s: AzureRealtimeLLMService(api_key="azure-fake", base_url=s.url),
    ),
    "grok": ("xai", lambda s: GrokRealtimeLLMService(api_key="xai-fake", base_url=s.url)),
    "inworld": (
        "inworld",
        lambda s: InworldRealtimeLLMService(api_key="id:secret", base_url=s.url),
    ),
}


async def _speak(worker: PipelineWorker, seconds: float = 0.4) -> None:
    pcm = speech_like(16000, seconds, silence_after=1.3)  # Inworld: eagerness low, 1 s
    step = 16000 * 2 * 20 // 1000
    for i in range(0, len(pcm), step):
        await worker.queue_frame(InputAudioRawFrame(pcm[i : i + step], 16000, 1))
        await asyncio.sleep(0.002)


@pytest.mark.parametrize("name", list(SERVICES))
async def test_pipecats_own_service_runs_a_conversation(name: str) -> None:
    dialect, make = SERVICES[name]
    warnings_logged: list[str] = []
    sink = logger.add(lambda m: warnings_logged.append(str(m.record["message"])), level="WARNING")
    engine = ScriptedEngine(
        [
            Turn(None, "Welcome."),
            Turn("Hello there.", "Hi! Nice to hear you."),
            Turn("Weather in Paris?", ToolCall.of("get_weather", city="Paris")),
            Turn(None, "Sunny in Paris."),
            Turn("Tell me a story.", STORY),
        ]
    )
    async with LocalRealtimeServer(engine, dialect=dialect, chunk_interval_s=0.01) as server:
        service = make(server)
        calls: list[dict[str, Any]] = []

        async def get_weather(params: FunctionCallParams) -> None:
            calls.append(dict(params.arguments))
            await params.result_callback({"sky": "sunny"})

        service.register_function("get_weather", get_weather)
        async with pipeline(service) as (worker, frames):
            # 0. The bot greets first, as pipecat bots do (Inworld's service streams the
            # user's audio only once its conversation is set up by a context frame).
            await worker.queue_frame(LLMRunFrame())
            await server.wait_for_sent("response.done", timeout=10)
            await wait_for(lambda: frames.count(LLMFullResponseEndFrame) >= 1, 10, "greeting")
            # 1. A spoken turn, answered with speech.
            await _speak(worker)
            await server.wait_for_sent("response.done", count=2, timeout=10)
            await wait_for(lambda: frames.count(LLMFullResponseEndFrame) >= 2, 10, "reply")
            assert frames.count(TTSAudioRawFrame) > 0
            # 2. A tool round: the call, its result, the spoken answer.
            await _speak(worker)
            await wait_for(lambda: calls == [{"city": "Paris"}], 10, "the tool call")
            await wait_for(
                lambda: any(
                    e["type"] == "conversation.item.create"
                    and e["item"]["type"] == "function_call_output"
                    for e in server.received
                ),
                10,
                "the function call output",
            )
            await server.wait_for_sent("response.done", count=4, timeout=10)
            assert frames.count(FunctionCallResultFrame) == 1
            # 3. A barge-in: the user talks over a long reply; the server cuts it.
            await _speak(worker, 0.2)
            await server.wait_for_sent("response.output_audio.delta", count=1, timeout=10)
            audio_before = frames.count(TTSAudioRawFrame)
            await wait_for(lambda: frames.count(TTSAudioRawFrame) > audio_before + 3, 10, "story")
            await _speak(worker, 0.3)
            await wait_for(
                lambda: any(
                    e["type"] == "response.done" and e["response"]["status"] == "cancelled"
                    for e in server.sent
                ),
                10,
                "the cancelled story",
            )
        # Only benign errors: a cancel that came too late, and (xAI has no truncate) the
        # refused truncate that Grok's service expects and logs at debug level.
        for error in (e["error"] for e in server.sent if e["type"] == "error"):
            truncate = name == "grok" and "conversation.item.truncate" in error["message"]
            assert error["code"] == "response_cancel_not_active" or truncate, error
    logger.remove(sink)
    assert not [w for w in warnings_logged if "parse" in w.lower()], warnings_logged


async def test_the_openai_sdk_ga_client(make_server: Any) -> None:
    engine = ScriptedEngine(
        [Turn(None, "Hello from the local server."), Turn(None, ToolCall.of("f", x=1))]
    )
    server = await make_server(engine)
    base_url = server.url.removesuffix("/realtime").replace("ws://", "http://")
    client = AsyncOpenAI(base_url=base_url, api_key="fake")
    async with client.realtime.connect(model="gpt-realtime") as connection:
        await connection.session.update(
            session={"type": "realtime", "output_modalities": ["text"], "instructions": None}
        )
        kinds: list[str] = []
        text = ""
        await connection.conversation.item.create(
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "Hi"}],
            }
        )
        await connection.response.create()
        async for event in connection:
            kinds.append(event.type)
            if event.type == "response.output_text.delta":
                text += event.delta
            if event.type == "response.done":
                break
        assert text == "Hello from the local server."
        assert "error" not in kinds and "session.updated" in kinds
        await connection.response.create(response={"instructions": None})
        async for event in connection:
            if event.type == "response.function_call_arguments.done":
                assert (event.name, event.arguments) == ("f", '{"x": 1}')
            if event.type == "response.done":
                assert event.response.status == "completed"
                break
