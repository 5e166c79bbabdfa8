"""Not an example to run: the conversation every example runs, shared by them.

The leading underscore says so (``python examples/_conversation.py`` only points you to the
examples). Used by ``demo.py`` (offline, against an in-process local server),
``local_server.py`` (against a ``realtime-llm serve`` you started) and the per-provider
examples: greet, hear a recorded question, answer it.
A real pipecat pipeline (user aggregator -> RealtimeLLMService -> bot side -> assistant
aggregator) gets the bundled question (``assets/what-is-the-weather-in-paris.wav``) as a
transport would deliver it, lets the model call a weather tool, prints both sides with
timings and writes the bot's voice to a WAV file. On a terminal the progress line is
redrawn in place; otherwise (a CI log, a pipe) every line is a plain line of its own.
"""

from __future__ import annotations

import os

os.environ.setdefault("LOGURU_LEVEL", "WARNING")  # before pipecat's import-time banner

import asyncio
import sys
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from loguru import logger
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import (
    EndFrame,
    ErrorFrame,
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

QUESTION_WAV = Path(__file__).parent / "assets" / "what-is-the-weather-in-paris.wav"
QUESTION = "what is the weather in paris"
WEATHER = {"paris": "sunny, 21 degrees", "london": "light rain, 14 degrees"}
WEATHER_TOOL = FunctionSchema(
    name="get_weather",
    description="Current weather in a city",
    properties={"city": {"type": "string", "description": "The city"}},
    required=["city"],
)


def quiet_logs(verbose: bool = False) -> None:
    logger.remove()
    logger.add(sys.stderr, level="DEBUG" if verbose else "WARNING")


def require_env(*names: str) -> list[str]:
    """The values of ``names``, or exit with a message naming the missing ones."""
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        raise SystemExit(
            f"set {', '.join(missing)} in the environment to run this example "
            "(or run `python examples/demo.py` offline, with no key)"
        )
    return [os.environ[n] for n in names]


class Transcript:
    """Both sides of the conversation with timings, and the bot's audio.

    ``out`` (stdout by default) decides the look: on a terminal the progress line is
    redrawn in place with carriage returns; anywhere else each line is printed once, plainly,
    and a progress line only when its kind changes ("user speaking", "waiting for..."), so
    a log holds readable lines rather than one run-on line.
    """

    def __init__(self, started: float, out: TextIO | None = None) -> None:
        self.started = started
        self.out = out if out is not None else sys.stdout
        self.terminal = self.out.isatty()
        self.audio = bytearray()
        self.sample_rate = 24000
        self.user: list[str] = []
        self.bot: list[str] = []
        self.errors: list[str] = []
        self.replied = asyncio.Event()
        self.line = ""
        self._last_progress = ""

    def _stamp(self) -> str:
        return f"{time.monotonic() - self.started:6.2f}s"

    def say(self, who: str, text: str) -> None:
        line = f"{self._stamp()}  {who}: {text}"
        if self.terminal:
            print("\r" + line + " " * 24, file=self.out, flush=True)
        else:
            print(line, file=self.out, flush=True)
        self._last_progress = ""

    def progress(self, text: str) -> None:
        if self.terminal:
            print(f"\r{self._stamp()}  [{text}]" + " " * 24, end="", file=self.out, flush=True)
            return
        kind = text.split(":")[0]
        if kind != self._last_progress:
            print(f"{self._stamp()}  [{text}]", file=self.out, flush=True)
            self._last_progress = kind

    def finish(self, text: str) -> None:
        """A closing line, clearing the progress line on a terminal."""
        print(("\r" + text + " " * 30) if self.terminal else text, file=self.out, flush=True)

    def failed(self, error: str) -> None:
        """The service reported an error: print it, and stop waiting for a reply."""
        self.errors.append(error)
        self.finish(f"error: {error}")
        self.replied.set()


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
        elif isinstance(frame, ErrorFrame) and direction is FrameDirection.UPSTREAM:
            self.transcript.failed(frame.error)
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


async def wait_for_reply(transcript: Transcript, timeout: float, what: str) -> bool:
    transcript.replied.clear()
    transcript.progress(f"waiting for {what}")
    try:
        await asyncio.wait_for(transcript.replied.wait(), timeout)
    except asyncio.TimeoutError:
        transcript.finish("")
        print(f"no {what} within {timeout:.0f} s", file=sys.stderr)
        return False
    return not transcript.errors


@dataclass
class Result:
    ok: bool
    user: list[str]
    bot: list[str]
    errors: list[str] = field(default_factory=list)


async def talk(
    service: RealtimeLLMService,
    *,
    out: str = "demo-reply.out.wav",
    realtime: bool = False,
    timeout: float = 30.0,
) -> Result:
    """Run the conversation through ``service``; write the bot's voice to ``out``."""
    started = time.monotonic()
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
        ok = await wait_for_reply(transcript, timeout, "the greeting")
        if transcript.errors:  # e.g. no server to talk to: the question would go nowhere
            return Result(False, transcript.user, transcript.bot, transcript.errors)
        # The user asks, as a transport would deliver it: 20 ms frames, then silence.
        audio, rate = read_question()
        audio += bytes(rate * 2)  # one second of silence ends the turn
        chunk = rate * 2 // 50
        transcript.replied.clear()
        for i in range(0, len(audio), chunk):
            await worker.queue_frame(InputAudioRawFrame(audio[i : i + chunk], rate, 1))
            if i % (chunk * 5) == 0:
                transcript.progress(f"user speaking: {i / (rate * 2):3.1f} s of audio")
            await asyncio.sleep(0.02 if realtime else 0.002)
        ok = await wait_for_reply(transcript, timeout, "the answer") and ok
    finally:
        await worker.queue_frame(EndFrame())
        await running

    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(transcript.sample_rate)
        wav.writeframes(bytes(transcript.audio))
    seconds = len(transcript.audio) / (2 * transcript.sample_rate)
    transcript.finish(f"bot audio: {seconds:.2f} s written to {out}")
    print("conversation as recorded in the LLMContext:")
    for message in context.get_messages():
        if isinstance(message, dict):
            content = message.get("content") or message.get("tool_calls")
            print(f"  {message.get('role')}: {content}")
    return Result(ok and bool(transcript.bot), transcript.user, transcript.bot, transcript.errors)


if __name__ == "__main__":
    raise SystemExit(
        "examples/_conversation.py is shared by the examples and does nothing on its own.\n"
        "Run one of them: python examples/demo.py (offline), "
        "python examples/local_server.py ws://127.0.0.1:8765/v1/realtime "
        "(against `realtime-llm serve`), or a provider's example."
    )
