"""CPU per 20 ms input frame, from the push to the socket: pipecat's part and the service's.

Every session pushes 50 ``InputAudioRawFrame`` a second into its LLM service, so the cost
of one frame, times 50, times the sessions, is most of what a paced load costs (see
``load.py``). This pushes frames as fast as the loop takes them, from a source processor
into each candidate, in a real pipeline (``PipelineWorker``, default observers) against
the fake server in a child process, started with ``--no-replies`` so that nothing but the
input path runs, and prints the client's CPU microseconds per frame (user + system):

- ``pipecat push``: the source's ``push_frame`` into a processor that takes the frame and
  drops it at once: frame construction, pipecat's push, its observers. Every service
  pays this, and no service can avoid it;
- ``pipecat process``: the same, and the frame taken through what pipecat does around
  every frame a processor handles (``FrameProcessor.process_frame``, which reports it to
  the observers, between the ``on_before/after_process_frame`` events): the least a
  service that handles the frame costs, before any protocol work or socket write;
- ``floor``, ``pipecat``, ``realtime_llm``: the candidates of ``load.py``, the socket write
  included. The column "beyond the push" is what the candidate itself costs.

    python benchmarks/input_frame_cost.py --frames 5000 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

CANDIDATES = ("pipecat push", "pipecat process", "floor", "pipecat", "realtime_llm")
FRAME = bytes((i * 37) & 0xFF for i in range(960))  # 20 ms of 24 kHz PCM16


async def _measure(candidate: str, url: str, frames: int, rounds: int) -> list[float]:
    from _load_candidates import PacedSource, PlaybackSink, Stats, make_service
    from _pipeline import start_pipeline
    from pipecat.frames.frames import Frame, InputAudioRawFrame
    from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

    class Drop(FrameProcessor):
        """Takes input audio as it is pushed and drops it: what is left is pipecat's push
        (and, for "pipecat process", what pipecat does around every frame handled)."""

        async def queue_frame(
            self,
            frame: Frame,
            direction: FrameDirection = FrameDirection.DOWNSTREAM,
            callback: Any = None,
        ) -> None:
            if isinstance(frame, InputAudioRawFrame):
                if candidate == "pipecat process":  # what pipecat does around a frame
                    await self._call_event_handler("on_before_process_frame", frame)
                    await FrameProcessor.process_frame(self, frame, direction)
                    await self._call_event_handler("on_after_process_frame", frame)
                return
            await super().queue_frame(frame, direction, callback)

        async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
            await super().process_frame(frame, direction)
            await self.push_frame(frame, direction)

    source, sink = PacedSource(), PlaybackSink(Stats())
    service = Drop() if candidate.startswith("pipecat p") else make_service(candidate, url)
    _, run = await start_pipeline([source, service, sink])
    await sink.started.wait()
    await asyncio.sleep(0.5)  # session.update answered
    push, down = source.push_frame, FrameDirection.DOWNSTREAM
    results = []
    for _ in range(rounds + 1):  # the first round warms up
        cpu = time.process_time()
        for i in range(frames):
            await push(InputAudioRawFrame(FRAME, 24000, 1), down)
            if i % 10 == 9:  # let queued work and the socket drain, as paced frames would
                await asyncio.sleep(0)
        await asyncio.sleep(0.05)
        results.append((time.process_time() - cpu) / frames * 1e6)
    del run  # left running: the worker exits without a teardown
    return results[1:]


def main() -> int:
    from load import fake_server

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=5000, help="frames per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--candidates", default=",".join(CANDIDATES))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        from loguru import logger

        logger.remove()
        loop = asyncio.new_event_loop()  # never closed: the worker exits right after
        results = loop.run_until_complete(_measure(args.worker, args.url, args.frames, args.rounds))
        print(json.dumps(results), flush=True)
        os._exit(0)  # the pipeline's teardown is not measured
    print(f"{args.frames} frames x {args.rounds} rounds; client CPU per input frame, median")
    push = None
    with fake_server("--no-replies") as url:
        for candidate in args.candidates.split(","):
            command = [sys.executable, __file__, "--worker", candidate, "--url", url]
            command += ["--frames", str(args.frames), "--rounds", str(args.rounds)]
            done = subprocess.run(command, capture_output=True, text=True, timeout=600)
            if done.returncode != 0 or not done.stdout.strip():
                raise SystemExit(f"{candidate} failed:\n{done.stderr[-3000:]}")
            values = json.loads(done.stdout.strip().splitlines()[-1])
            median = statistics.median(values)
            if candidate == "pipecat push":
                push = median
            beyond = f"{median - push:6.2f} us beyond the push" if push is not None else ""
            spread = f"[{min(values):.2f}-{max(values):.2f}]"
            print(f"{candidate:<14} {median:6.2f} us {spread:<14} {beyond}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
