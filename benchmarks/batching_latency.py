"""What batching input appends costs in end-of-speech latency.

    python benchmarks/batching_latency.py [--turns 10] [--batches 0,40,60,100]

One ``RealtimeLLMService`` (``dialect="local"``) against the local server in another
process, whose server VAD ends a turn after 500 ms of silence. Turn ``j`` is 1 s plus ``j``
20 ms frames of a 200 Hz tone, then 1.5 s of silence, at 24 kHz (so that the end of
speech falls at every phase of a batch), pushed in 20 ms frames in real time from
the source's own task, as a transport does. The figure is, per turn, the time from the
push of the last voiced frame to the ``UserStoppedSpeakingFrame`` the service pushes
when the server's ``input_audio_buffer.speech_stopped`` arrives: the 500 ms silence
window, plus the time the server waits for the audio that fills it. With
``input_audio_batch_ms=B`` a frame waits up to ``B - 20`` ms for its batch to fill, so the
turn end should move by up to that much (half of it on average). ``0`` is no batching.
The mean and the largest delay are reported, and the mean added to the unbatched one.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import struct
import sys
import time
from typing import Any

from _pipeline import start_pipeline
from _server_process import local_server_process
from loguru import logger
from pipecat.frames.frames import Frame, InputAudioRawFrame, StartFrame, UserStoppedSpeakingFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

RATE = 24000
FRAME = RATE * 2 // 50  # 20 ms
TONE_S, SILENCE_S = 1.0, 1.5


class TurnSource(FrameProcessor):
    """Pushes the turns in real time; remembers when each turn's last voiced frame went."""

    def __init__(self) -> None:
        super().__init__(enable_direct_mode=True)
        self.started = asyncio.Event()
        self.speech_ended: list[float] = []

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        await self.push_frame(frame, direction)
        if isinstance(frame, StartFrame):
            self.started.set()

    async def play(self, turns: int) -> None:
        tick = time.monotonic()
        for j in range(turns):
            voiced = int(RATE * TONE_S) + j * FRAME // 2
            tone = struct.pack(
                f"<{voiced}h",
                *(int(7000 * math.sin(2 * math.pi * 200 * i / RATE)) for i in range(voiced)),
            )
            turn = tone + bytes(int(RATE * SILENCE_S) * 2)
            for i in range(0, len(turn), FRAME):
                await asyncio.sleep(max(0.0, tick - time.monotonic()))
                await self.push_frame(InputAudioRawFrame(turn[i : i + FRAME], RATE, 1))
                if i + FRAME == len(tone):
                    self.speech_ended.append(time.monotonic())
                tick += 0.02


class TurnEnds(FrameProcessor):
    def __init__(self) -> None:
        super().__init__(enable_direct_mode=True)
        self.stopped: list[float] = []

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, UserStoppedSpeakingFrame):
            self.stopped.append(time.monotonic())
        await self.push_frame(frame, direction)


async def measure(url: str, batch_ms: int, turns: int) -> list[float]:
    from realtime_llm import RealtimeLLMService, RealtimeLLMSettings

    settings = RealtimeLLMSettings(input_audio_batch_ms=batch_ms or None)
    service: Any = RealtimeLLMService(dialect="local", base_url=url, settings=settings)
    source, ends = TurnSource(), TurnEnds()
    runner, running = await start_pipeline([source, service, ends])
    await source.started.wait()
    await asyncio.sleep(0.5)  # session ready
    await source.play(turns)
    await asyncio.sleep(0.5)
    await runner.cancel()
    await running
    return [stop - end for end, stop in zip(source.speech_ended, ends.stopped, strict=False)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--batches", default="0,40,60,100")
    args = parser.parse_args()
    logger.remove()
    logger.add(sys.stderr, level="ERROR")
    batches = [int(b) for b in args.batches.split(",")]
    results: dict[int, list[float]] = {}
    with local_server_process("Okay.") as server:
        for batch in batches:
            results[batch] = asyncio.run(measure(server.url, batch, args.turns))
    base = statistics.mean(results[batches[0]])
    print(f"{args.turns} turns each; end of speech -> UserStoppedSpeakingFrame (ms)")
    print(f"{'batch ms':>9}{'turns':>7}{'mean':>9}{'max':>9}{'mean added':>12}")
    for batch, delays in results.items():
        mean = statistics.mean(delays)
        print(
            f"{batch or 20:>9}{len(delays):>7}{mean * 1000:>9.1f}{max(delays) * 1000:>9.1f}"
            f"{(mean - base) * 1000:>12.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
