"""Offline demo: a pipecat voice bot with RealtimeLLMService, talking to the local server.

    python examples/demo.py                 # offline, no key
    python examples/demo.py --openai        # the same bot against OpenAI (needs OPENAI_API_KEY)

It starts the project's local realtime server in-process, runs a real pipecat pipeline
(user aggregator -> RealtimeLLMService -> reply collector -> assistant aggregator) on a
spoken question, lets the model call a weather tool, writes the bot's spoken reply to a
WAV file and prints both sides of the conversation with timings.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import struct
import sys
import time
import wave
from pathlib import Path

from loguru import logger
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import (
    EndFrame,
    Frame,
    InputAudioRawFrame,
    LLMFullResponseEndFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSTextFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.llm_service import FunctionCallParams
from pipecat.workers.runner import WorkerRunner

from realtime_llm import RealtimeLLMService
from realtime_llm.server import LocalRealtimeServer, ScriptedEngine, ToolCall, Turn

QUESTION = "What is the weather in Paris?"
WEATHER = {"paris": "sunny, 21 degrees", "london": "light rain, 14 degrees"}
WEATHER_TOOL = FunctionSchema(
    name="get_weather",
    description="Current weather in a city",
    properties={"city": {"type": "string", "description": "The city"}},
    required=["city"],
)


class Transcript:
    """Both sides of the conversation with timings, and the reply audio."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.audio = bytearray()
        self.sample_rate = 24000
        self.replies = 0
        self.done = asyncio.Event()
        self.line = ""

    def say(self, who: str, text: str) -> None:
        print(f"\r{time.monotonic() - self.started:6.2f}s  {who}: {text}" + " " * 20, flush=True)


class UserSide(FrameProcessor):
    """Before the service: the user's transcriptions travel upstream through here."""

    def __init__(self, transcript: Transcript) -> None:
        super().__init__(name="user-side")
        self.transcript = transcript

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, TranscriptionFrame) and direction is FrameDirection.UPSTREAM:
            self.transcript.say("user", frame.text)
        await self.push_frame(frame, direction)


class BotSide(FrameProcessor):
    """After the service: the bot's words and audio travel downstream through here."""

    def __init__(self, transcript: Transcript) -> None:
        super().__init__(name="bot-side")
        self.transcript = transcript

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        t = self.transcript
        if isinstance(frame, TTSTextFrame):
            t.line += frame.text
        elif isinstance(frame, TTSAudioRawFrame):
            t.audio += frame.audio
            t.sample_rate = frame.sample_rate
        elif isinstance(frame, LLMFullResponseEndFrame) and t.line.strip():
            t.say("bot ", t.line.strip())
            t.line = ""
            t.replies += 1
            t.done.set()
        await self.push_frame(frame, direction)


def spoken_question(sample_rate: int) -> bytes:
    """The user's turn: a voiced sound the server's VAD hears, then silence."""
    voiced = int(sample_rate * 1.2)
    samples = (
        int(6000 * math.sin(2 * math.pi * 180 * i / sample_rate) * math.sin(math.pi * i / voiced))
        for i in range(voiced)
    )
    return struct.pack(f"<{voiced}h", *samples) + bytes(sample_rate * 2)


async def get_weather(params: FunctionCallParams) -> None:
    city = str(params.arguments.get("city", "")).lower()
    await params.result_callback({"city": city, "weather": WEATHER.get(city, "unknown")})


async def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    if args.openai:
        key = os.environ.get("OPENAI_API_KEY")
        if not key:
            print("--openai needs OPENAI_API_KEY in the environment.", file=sys.stderr)
            return 2
        service = RealtimeLLMService(api_key=key)
        server = None
    else:
        engine = ScriptedEngine(
            [
                Turn(user=QUESTION, reply=ToolCall.of("get_weather", city="Paris")),
                Turn(reply="In Paris it is sunny, 21 degrees."),
            ]
        )
        server = await LocalRealtimeServer(engine, chunk_interval_s=0.01).start()
        print(f"local realtime server at {server.url}")
        service = RealtimeLLMService(dialect="local", base_url=server.url)

    service.register_function("get_weather", get_weather)
    context = LLMContext(tools=ToolsSchema(standard_tools=[WEATHER_TOOL]))
    pair = LLMContextAggregatorPair(context)
    transcript = Transcript(started)
    pipeline = Pipeline(
        [pair.user(), UserSide(transcript), service, BotSide(transcript), pair.assistant()]
    )
    worker = PipelineWorker(pipeline, params=PipelineParams(), cancel_on_idle_timeout=False)
    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    running = asyncio.create_task(runner.run())

    rate = 16000  # a typical transport rate; the service resamples to the session's 24 kHz
    audio = spoken_question(rate)
    chunk = rate * 2 // 50  # 20 ms
    await asyncio.sleep(0.2)
    for i in range(0, len(audio), chunk):
        await worker.queue_frame(InputAudioRawFrame(audio[i : i + chunk], rate, 1))
        if i % (chunk * 5) == 0:
            sent_s = (i + chunk) / (rate * 2)
            elapsed = time.monotonic() - started
            print(f"\r{elapsed:6.2f}s  [sending the question: {sent_s:3.1f} s of audio]", end="")
        await asyncio.sleep(0.02 if args.realtime else 0.002)
    print(f"\r{time.monotonic() - started:6.2f}s  [waiting for the reply]" + " " * 20, end="")
    try:
        await asyncio.wait_for(transcript.done.wait(), timeout=args.timeout)
    except asyncio.TimeoutError:
        print(f"no reply within {args.timeout:.0f} s", file=sys.stderr)
    await worker.queue_frame(EndFrame())
    await running
    if server is not None:
        await server.stop()

    out = Path(args.out)
    with wave.open(str(out), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(transcript.sample_rate)
        wav.writeframes(bytes(transcript.audio))
    seconds = len(transcript.audio) / (2 * transcript.sample_rate)
    print(f"reply audio: {seconds:.2f} s written to {out}")
    print("conversation as recorded in the LLMContext:")
    for message in context.get_messages():
        if isinstance(message, dict):
            print(f"  {message.get('role')}: {message.get('content') or message.get('tool_calls')}")
    return 0 if transcript.replies else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--openai", action="store_true", help="talk to OpenAI (OPENAI_API_KEY)")
    parser.add_argument("--out", default="demo-reply.out.wav", help="where to write the reply")
    parser.add_argument("--realtime", action="store_true", help="send audio at real-time pace")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--verbose", action="store_true", help="show pipecat's logs")
    args = parser.parse_args(argv)
    logger.remove()
    logger.add(sys.stderr, level="DEBUG" if args.verbose else "WARNING")
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
