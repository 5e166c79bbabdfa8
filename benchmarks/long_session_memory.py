"""Memory over a long session: does anything grow with the length of a call?

    python benchmarks/long_session_memory.py [--minutes 30] [--turn-s 4]

One RealtimeLLMService session (no aggregators, so no LLMContext grows on the client)
against the local server (``realtime-llm serve``, in another process) is fed ``minutes``
of audio faster than real time: turns of speech-like audio then silence, each answered by
a short spoken reply. Peak RSS of the client (this process) and of the server is sampled
every simulated five minutes; a bounded session shows flat numbers after warm-up. The
baseline for the ratio is the first sample of the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import resource
import struct
import sys
import time
from pathlib import Path

from _server_process import local_server_process
from loguru import logger
from pipecat.frames.frames import EndFrame, Frame, InputAudioRawFrame, TTSStoppedFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.workers.runner import WorkerRunner

from realtime_llm import RealtimeLLMService

RATE = 24000
FRAME = RATE * 2 // 50  # 20 ms


class Replies(FrameProcessor):
    def __init__(self) -> None:
        super().__init__(name="replies")
        self.count = 0

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, TTSStoppedFrame):
            self.count += 1
        await self.push_frame(frame, direction)


def turn_audio(turn_s: float) -> bytes:
    voiced = int(RATE * turn_s / 2)
    tone = struct.pack(
        f"<{voiced}h",
        *(int(7000 * math.sin(2 * math.pi * 190 * i / RATE)) for i in range(voiced)),
    )
    return tone + bytes(2 * (int(RATE * turn_s) - voiced))


def rss_mb(pid: int | None = None) -> float:
    """Peak RSS in MB: this process (getrusage) or another one (/proc VmHWM)."""
    if pid is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run(minutes: float, turn_s: float, server_pid: int, url: str) -> list[tuple[float, ...]]:
    replies = Replies()
    service = RealtimeLLMService(dialect="local", base_url=url, forward_input_audio=False)
    worker = PipelineWorker(
        Pipeline([service, replies]), params=PipelineParams(), cancel_on_idle_timeout=False
    )
    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    running = asyncio.create_task(runner.run())
    await asyncio.sleep(0.5)
    audio = turn_audio(turn_s)
    turns = int(minutes * 60 / turn_s)
    samples: list[tuple[float, ...]] = []
    started = time.perf_counter()
    for turn in range(turns):
        for i in range(0, len(audio), FRAME):
            await worker.queue_frame(InputAudioRawFrame(audio[i : i + FRAME], RATE, 1))
            if i % (FRAME * 10) == 0:
                await asyncio.sleep(0)
        deadline = time.monotonic() + 10
        while replies.count <= turn and time.monotonic() < deadline:
            await asyncio.sleep(0.002)
        simulated_min = (turn + 1) * turn_s / 60
        if (turn + 1) % max(1, int(300 / turn_s)) == 0 or turn == turns - 1:
            sample = (simulated_min, rss_mb(), rss_mb(server_pid), time.perf_counter() - started)
            samples.append(sample)
            print(
                f"  {simulated_min:5.1f} min of audio: client {sample[1]:7.1f} MB, "
                f"server {sample[2]:7.1f} MB, {replies.count} replies, {sample[3]:6.1f} s",
                flush=True,
            )
    await worker.queue_frame(EndFrame())
    await running
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--turn-s", type=float, default=4.0)
    args = parser.parse_args()
    logger.remove()
    logger.add(sys.stderr, level="ERROR")
    print(f"{args.minutes:.0f} min of audio in {args.turn_s:.0f} s turns, faster than real time")
    with local_server_process("Okay.") as server:
        samples = asyncio.run(run(args.minutes, args.turn_s, server.pid, server.url))
    first, last = samples[0], samples[-1]
    print(
        f"peak RSS growth from {first[0]:.0f} to {last[0]:.0f} min: "
        f"client x{last[1] / first[1]:.2f} ({last[1] - first[1]:+.1f} MB), "
        f"server x{last[2] / first[2]:.2f} ({last[2] - first[2]:+.1f} MB); "
        f"{last[0] * 60 / last[3]:.0f}x real time"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
