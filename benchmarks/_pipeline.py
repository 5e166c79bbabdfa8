"""One pipeline run the way a bot runs it, for the benchmarks that measure one session."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.frame_processor import FrameProcessor
from pipecat.workers.runner import WorkerRunner


async def start_pipeline(
    processors: Sequence[FrameProcessor],
) -> tuple[WorkerRunner, asyncio.Task[None]]:
    """``processors`` in a ``PipelineWorker`` (default observers) run by a ``WorkerRunner``:
    the runner and the task running it (the caller waits for its processors to start)."""
    worker = PipelineWorker(
        Pipeline(list(processors)), params=PipelineParams(), cancel_on_idle_timeout=False
    )
    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    return runner, asyncio.create_task(runner.run())
