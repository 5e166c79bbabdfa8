"""Offline demo: a pipecat voice bot with RealtimeLLMService, talking to the local server.

    python examples/demo.py                 # offline, no key (needs the [speech] extra)
    python examples/demo.py --openai        # the same bot against OpenAI (OPENAI_API_KEY)

It starts the project's local realtime server in-process with real offline speech (Silero
VAD, pocketsphinx, eSpeak NG) and runs a real pipecat pipeline (user aggregator ->
RealtimeLLMService -> bot side -> assistant aggregator). The bot greets, then hears a
recorded question (``assets/what-is-the-weather-in-paris.wav``, made with the project's
own speech synthesizer), calls a weather tool and answers. Both sides are printed with
timings, and the bot's voice is written to a WAV file.
"""

from __future__ import annotations

import os

os.environ.setdefault("LOGURU_LEVEL", "WARNING")  # before pipecat's import-time banner

import argparse
import asyncio
import sys
import time
import wave
from pathlib import Path
from typing import Any

from loguru import logger
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import (
    EndFrame,
    Frame,
    InputAudioRawFrame,
    LLMFullResponseEndFrame,
    LLMRunFrame,
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
from realtime_llm.server import LocalRealtimeServer

QUESTION_WAV = Path(__file__).parent / "assets" / "what-is-the-weather-in-paris.wav"
QUESTION = "what is the weather in paris"
WEATHER = {"paris": "sunny, 21 degrees", "london": "light rain, 14 degrees"}
WEATHER_TOOL = FunctionSchema(
    name="get_weather",
    description="Current weather in a city",
    properties={"city": {"type": "string", "description": "The city"}},
    required=["city"],
)


class Transcript:
    """Both sides of the conversation with timings, and the bot's audio."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.audio = bytearray()
        self.sample_rate = 24000
        self.user: list[str] = []
        self.bot: list[str] = []
        self.replied = asyncio.Event()
        self.line = ""

    def say(self, who: str, text: str) -> None:
        print(f"\r{time.monotonic() - self.started:6.2f}s  {who}: {text}" + " " * 24, flush=True)

    def progress(self, text: str) -> None:
        print(f"\r{time.monotonic() - self.started:6.2f}s  [{text}]" + " " * 24, end="", flush=True)


class UserSide(FrameProcessor):
    """Before the service: the user's transcriptions travel upstream through here."""

    def __init__(self, transcript: Transcript) -> None:
        super().__init__(name="user-side")
        self.transcript = transcript

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, TranscriptionFrame) and direction is FrameDirection.UPSTREAM:
            self.transcript.user.append(frame.text)
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
            t.bot.append(t.line.strip())
            t.say("bot ", t.line.strip())
            t.line = ""
            t.replied.set()
        await self.push_frame(frame, direction)


async def get_weather(params: FunctionCallParams) -> None:
    city = str(params.arguments.get("city", "")).lower()
    await params.result_callback(WEATHER.get(city, "unknown"))


def read_question() -> tuple[bytes, int]:
    with wave.open(str(QUESTION_WAV), "rb") as wav:
        return wav.readframes(wav.getnframes()), wav.getframerate()


async def start_local_server() -> LocalRealtimeServer:
    try:
        from realtime_llm.server.speech import SpeechEngine, speech_vad_factory

        engine: Any = SpeechEngine()
    except ImportError as exc:
        raise SystemExit(f"{exc}\nInstall it with: pip install -e '.[speech]'") from None
    server = LocalRealtimeServer(engine, vad_factory=speech_vad_factory, chunk_interval_s=0.02)
    return await server.start()


async def wait_for_reply(transcript: Transcript, timeout: float, what: str) -> bool:
    transcript.replied.clear()
    transcript.progress(f"waiting for {what}")
    try:
        await asyncio.wait_for(transcript.replied.wait(), timeout)
        return True
    except asyncio.TimeoutError:
        print(f"\nno {what} within {timeout:.0f} s", file=sys.stderr)
        return False


async def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    server: LocalRealtimeServer | None = None
    if args.openai:
        key = os.environ.get("OPENAI_API_KEY")
        if not key:
            print("--openai needs OPENAI_API_KEY in the environment.", file=sys.stderr)
            return 2
        service = RealtimeLLMService(api_key=key)
    else:
        server = await start_local_server()
        print(f"local realtime server (offline speech) at {server.url}")
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

    ok = True
    try:
        await worker.queue_frame(LLMRunFrame())  # the bot speaks first
        ok = await wait_for_reply(transcript, args.timeout, "the greeting")
        # The user asks, as a transport would deliver it: 20 ms frames, then silence.
        audio, rate = read_question()
        audio += bytes(rate * 2)  # one second of silence ends the turn
        chunk = rate * 2 // 50
        transcript.replied.clear()
        for i in range(0, len(audio), chunk):
            await worker.queue_frame(InputAudioRawFrame(audio[i : i + chunk], rate, 1))
            if i % (chunk * 5) == 0:
                transcript.progress(f"user speaking: {i / (rate * 2):3.1f} s of audio")
            await asyncio.sleep(0.02 if args.realtime else 0.002)
        ok = await wait_for_reply(transcript, args.timeout, "the answer") and ok
    finally:
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
    print(f"\rbot audio: {seconds:.2f} s written to {out}" + " " * 30)
    print("conversation as recorded in the LLMContext:")
    for message in context.get_messages():
        if isinstance(message, dict):
            content = message.get("content") or message.get("tool_calls")
            print(f"  {message.get('role')}: {content}")
    heard = transcript.user[-1].lower().strip(" ?.") if transcript.user else ""
    if not args.openai:
        verdict = "matches" if heard == QUESTION else "DOES NOT match"
        print(f"recognized question {heard!r} {verdict} the recording ({QUESTION!r})")
        ok = ok and heard == QUESTION
    return 0 if ok and transcript.bot else 1


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
