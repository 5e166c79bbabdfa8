"""CPU per session: RealtimeLLMService against pipecat's own OpenAIRealtimeLLMService.

    python benchmarks/cpu_per_session.py [--cycles 10] [--rounds 3]

Both services run the same workload in this process against the local server in another
process (so only the client's CPU is counted): ``cycles`` user turns of 1 s of speech-like
audio at 16 kHz (resampled to 24 kHz by each service) plus 1 s of silence, sent in 20 ms
frames, each answered by a 4 s spoken reply streamed as fast as the server can. The
figure is process CPU time (user + system) from the first frame to the last reply's end;
services alternate over ``rounds`` and the median is reported, with the ratio against
pipecat's service measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import struct
import sys
import time
from collections.abc import Callable
from typing import Any

from _server_process import local_server_process
from loguru import logger
from pipecat.frames.frames import EndFrame, Frame, InputAudioRawFrame, TTSStoppedFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.workers.runner import WorkerRunner

RATE = 16000
FRAME = RATE * 2 // 50  # 20 ms
REPLY = "x" * 200  # the local server speaks 60 ms per character, capped at 4 s


class Counter(FrameProcessor):
    def __init__(self) -> None:
        super().__init__(name="counter")
        self.replies = 0
        self.audio_bytes = 0

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, TTSStoppedFrame):
            self.replies += 1
        elif hasattr(frame, "audio") and direction is FrameDirection.DOWNSTREAM:
            self.audio_bytes += len(frame.audio)
        await self.push_frame(frame, direction)


def turn_audio() -> bytes:
    voiced = RATE
    tone = struct.pack(
        f"<{voiced}h",
        *(int(7000 * math.sin(2 * math.pi * 200 * i / RATE)) for i in range(voiced)),
    )
    return tone + bytes(RATE * 2)


def ours(url: str) -> Any:
    from realtime_llm import RealtimeLLMService

    return RealtimeLLMService(dialect="local", base_url=url, forward_input_audio=True)


def ours_consuming_audio(url: str) -> Any:
    from realtime_llm import RealtimeLLMService

    return RealtimeLLMService(dialect="local", base_url=url, forward_input_audio=False)


def pipecats(url: str) -> Any:
    from pipecat.services.openai.realtime.llm import OpenAIRealtimeLLMService

    return OpenAIRealtimeLLMService(api_key="local", base_url=url)


async def one_session(make: Callable[[str], Any], url: str, cycles: int) -> tuple[float, float]:
    counter = Counter()
    worker = PipelineWorker(
        Pipeline([make(url), counter]), params=PipelineParams(), cancel_on_idle_timeout=False
    )
    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    running = asyncio.create_task(runner.run())
    await asyncio.sleep(0.5)  # connected and configured
    audio = turn_audio()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for cycle in range(cycles):
        for i in range(0, len(audio), FRAME):
            await worker.queue_frame(InputAudioRawFrame(audio[i : i + FRAME], RATE, 1))
            await asyncio.sleep(0)
        deadline = time.monotonic() + 15
        while counter.replies <= cycle and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    await worker.queue_frame(EndFrame())
    await running
    if counter.replies < cycles:
        raise RuntimeError(f"only {counter.replies}/{cycles} replies arrived")
    return cpu, wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logger.remove()
    logger.add(sys.stderr, level="ERROR")
    services = {
        "pipecat": pipecats,
        "realtime_llm": ours,
        "realtime_llm*": ours_consuming_audio,
    }
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in services}
    with local_server_process(REPLY) as server:
        for _ in range(args.rounds):
            for name, make in services.items():
                results[name].append(asyncio.run(one_session(make, server.url, args.cycles)))
    base_cpu = statistics.median(c for c, _ in results["pipecat"])
    print(f"{args.cycles} turns x {args.rounds} rounds; median client CPU seconds per session")
    print(f"{'service':<14}{'cpu s':>8}{'wall s':>8}{'cpu ratio':>11}")
    for name, runs in results.items():
        cpu = statistics.median(c for c, _ in runs)
        wall = statistics.median(w for _, w in runs)
        print(f"{name:<14}{cpu:8.3f}{wall:8.3f}{cpu / base_cpu:11.2f}")
    print("* forward_input_audio=False (the default): input audio is consumed, not passed on")
    return 0


if __name__ == "__main__":
    sys.exit(main())
