"""pipecat's own realtime services, with their default settings, against the local server.

Clients this project did not write are honest judges of the local server: each of
pipecat's built-in realtime services (OpenAI, Azure, xAI's Grok, Inworld) runs a spoken
turn, a tool round and a barge-in in a real pipeline, against the local server speaking
its dialect. No shims: the services are built the way their docs say, pointed at the
local server's URL. (Using them here is not using their code: the project's own service
is written separately.)
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import (
    EndFrame,
    Frame,
    LLMFullResponseEndFrame,
    LLMRunFrame,
    TTSAudioRawFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.llm_service import FunctionCallParams
from pipecat.workers.runner import WorkerRunner

from realtime_llm.server import ToolCall, Turn

from ..pipecat.harness import Recorder, client_events, speech_like, wait_for

STORY = "Once upon a time there was a reply far too long to listen to in full. " * 3
WEATHER = FunctionSchema(
    name="get_weather", description="Weather", properties={"city": {"type": "string"}}, required=[]
)


def _openai(url: str) -> Any:
    from pipecat.services.openai.realtime.llm import OpenAIRealtimeLLMService

    return OpenAIRealtimeLLMService(api_key="sk-test", base_url=url)


def _azure(url: str) -> Any:
    from pipecat.services.azure.realtime.llm import AzureRealtimeLLMService

    return AzureRealtimeLLMService(api_key="azure-key", base_url=url)


def _grok(url: str) -> Any:
    from pipecat.services.xai.realtime.llm import GrokRealtimeLLMService

    return GrokRealtimeLLMService(api_key="xai-test", base_url=url)


def _inworld(url: str) -> Any:
    from pipecat.services.inworld.realtime.llm import InworldRealtimeLLMService

    return InworldRealtimeLLMService(api_key="id:secret", base_url=url)


# pipecat service factory, the local server's dialect, the URL path the service expects
SERVICES: dict[str, tuple[Callable[[str], Any], str, str]] = {
    "openai": (_openai, "ga", "/v1/realtime"),
    "grok": (_grok, "xai", "/v1/realtime"),
    "inworld": (_inworld, "inworld", "/api/v1/realtime/session"),
}

ALLOWED_ERRORS: dict[str, set[str]] = {
    "openai": {"response_cancel_not_active"},  # cancelling what server VAD already cancelled
    "grok": {
        "response_cancel_not_active",
        "invalid_value",  # pipecat's Grok sends conversation.item.truncate; xAI has none
    },
    "inworld": {"response_cancel_not_active"},
}


class _Bot:
    def __init__(self, worker: PipelineWorker, after: Recorder) -> None:
        self.worker = worker
        self.after = after

    def down(self, frame_type: type[Frame]) -> list[Frame]:
        return self.after.of(frame_type, FrameDirection.DOWNSTREAM)

    async def speak(self, pcm16: bytes, sample_rate: int) -> None:
        from pipecat.frames.frames import InputAudioRawFrame

        step = sample_rate * 2 * 20 // 1000
        for i in range(0, len(pcm16), step):
            await self.worker.queue_frame(InputAudioRawFrame(pcm16[i : i + step], sample_rate, 1))
            await asyncio.sleep(0)


@pytest.mark.parametrize("name", list(SERVICES))
async def test_builtin_service_talks_to_the_local_server(name: str, make_server: Any) -> None:
    make_service, dialect, path = SERVICES[name]
    server = await make_server(
        [
            Turn(reply="Hello! How can I help?"),  # the bot greets first
            Turn(user="Hello there.", reply="Hi again."),
            Turn(user="Weather in Paris?", reply=ToolCall.of("get_weather", city="Paris")),
            Turn(reply="Sunny in Paris."),
            Turn(user="Tell me a story.", reply=STORY),
            Turn(user="Stop.", reply="Okay."),
        ],
        dialect=dialect,
        chunk_interval_s=0.01,
    )
    url = server.url.split("?")[0]  # each service adds its own query
    assert url.endswith(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        service = make_service(url)
    calls: list[Any] = []

    async def get_weather(params: FunctionCallParams) -> None:
        calls.append(dict(params.arguments))
        await params.result_callback({"sky": "sunny"})

    service.register_function("get_weather", get_weather)
    context = LLMContext(tools=ToolsSchema(standard_tools=[WEATHER]))
    pair = LLMContextAggregatorPair(context)
    after = Recorder("after-llm")
    worker = PipelineWorker(
        Pipeline([pair.user(), service, after, pair.assistant()]),
        params=PipelineParams(),
        cancel_on_idle_timeout=False,
    )
    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    running = asyncio.create_task(runner.run())
    bot = _Bot(worker, after)
    try:
        await server.wait_for_sent("session.updated", timeout=10)
        # 0. The greeting (pipecat's services set the conversation up on the first context).
        await worker.queue_frame(LLMRunFrame())
        await wait_for(lambda: len(bot.down(LLMFullResponseEndFrame)) >= 1, 10, "the greeting")
        # 1. A spoken turn.
        await bot.speak(speech_like(16000, 0.4, silence_after=1.5), 16000)
        await wait_for(lambda: len(bot.down(LLMFullResponseEndFrame)) >= 2, 10, "the reply")
        # 2. A tool round: the call runs, its result goes back, the answer is spoken.
        await bot.speak(speech_like(16000, 0.4, silence_after=1.5), 16000)
        await wait_for(lambda: calls, 10, "the function call")
        await wait_for(lambda: len(bot.down(LLMFullResponseEndFrame)) >= 4, 10, "the answer")
        # 3. A barge-in: a long reply, interrupted by the user's speech.
        playing = len(bot.down(TTSAudioRawFrame))
        await bot.speak(speech_like(16000, 0.4, silence_after=1.5), 16000)
        await wait_for(lambda: len(bot.down(TTSAudioRawFrame)) > playing + 5, 10, "the story")
        await bot.speak(speech_like(16000, 0.4, silence_after=1.5), 16000)
        await server.wait_for_sent("input_audio_buffer.speech_started", count=4, timeout=10)
        await wait_for(lambda: len(bot.down(LLMFullResponseEndFrame)) >= 5, 10, "the cut")
    finally:
        await worker.queue_frame(EndFrame())
        try:
            await asyncio.wait_for(running, 10)
        except asyncio.TimeoutError:
            await runner.cancel()
    assert calls == [{"city": "Paris"}]
    outputs = [
        e
        for e in client_events(server, "conversation.item.create")
        if e["item"]["type"] == "function_call_output"
    ]
    assert len(outputs) == 1
    statuses = [e["response"]["status"] for e in server.sent if e["type"] == "response.done"]
    assert "cancelled" in statuses[4:]  # the story, cut by the barge-in
    errors = [e["error"] for e in server.sent if e["type"] == "error"]
    assert {e.get("code") for e in errors} <= ALLOWED_ERRORS[name], errors
    if name == "grok":
        assert all("truncate" in e["message"] for e in errors if e["code"] == "invalid_value")


async def test_builtin_azure_service_is_refused_what_azure_refuses(make_server: Any) -> None:
    """pipecat's ``AzureRealtimeLLMService`` sends ``response.output_modalities`` in every
    ``response.create``, which the real Azure endpoint rejects (pipecat-ai/pipecat#4106;
    ``../shared/spec/protocol-notes.md``). The local server rejects it the same way, so a bot
    that would fail on Azure fails here too. What needs no ``response.create`` works: a
    spoken turn answered by server VAD, a barge-in, a function call."""
    server = await make_server(
        [
            Turn(user="Hello there.", reply=STORY),
            Turn(user="Weather in Paris?", reply=ToolCall.of("get_weather", city="Paris")),
            Turn(reply="Sunny in Paris."),
        ],
        dialect="azure",
        chunk_interval_s=0.01,
    )
    service = _azure(server.url.split("?")[0])
    calls: list[Any] = []

    async def get_weather(params: FunctionCallParams) -> None:
        calls.append(dict(params.arguments))
        await params.result_callback({"sky": "sunny"})

    service.register_function("get_weather", get_weather)
    pair = LLMContextAggregatorPair(LLMContext(tools=ToolsSchema(standard_tools=[WEATHER])))
    after = Recorder("after-llm")
    worker = PipelineWorker(
        Pipeline([pair.user(), service, after, pair.assistant()]), cancel_on_idle_timeout=False
    )
    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    running = asyncio.create_task(runner.run())
    bot = _Bot(worker, after)
    try:
        await server.wait_for_sent("session.updated", timeout=10)
        await bot.speak(speech_like(16000, 0.4, silence_after=1.5), 16000)
        await wait_for(lambda: len(bot.down(TTSAudioRawFrame)) > 5, 10, "the spoken reply")
        await bot.speak(speech_like(16000, 0.4, silence_after=1.5), 16000)  # barge-in
        await wait_for(lambda: calls, 10, "the function call")
        await server.wait_for_sent("error", timeout=10)  # the create after the result
    finally:
        await worker.queue_frame(EndFrame())
        try:
            await asyncio.wait_for(running, 10)
        except asyncio.TimeoutError:
            await runner.cancel()
    statuses = [e["response"]["status"] for e in server.sent if e["type"] == "response.done"]
    assert statuses[0] == "cancelled"  # the story, cut by the barge-in
    refused = [e["error"] for e in server.sent if e["type"] == "error"]
    assert refused[-1]["code"] == "unknown_parameter"
    assert refused[-1]["param"] == "response.output_modalities"
