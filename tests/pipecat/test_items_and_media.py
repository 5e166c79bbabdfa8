"""Conversation item helpers, event handlers, images and paused inputs."""

from __future__ import annotations

import asyncio
import base64
import io
from typing import Any

import pytest
from PIL import Image
from pipecat.frames.frames import (
    EndFrame,
    InputAudioRawFrame,
    InputImageRawFrame,
    LLMFullResponseEndFrame,
    LLMRunFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair
from pipecat.processors.audio.audio_buffer_processor import AudioBufferProcessor
from pipecat.workers.runner import WorkerRunner

from realtime_llm.server import Turn

from .harness import Recorder, client_events, running_bot, service_for, speech_like, wait_for


async def test_item_handlers_and_retrieve(make_server: Any) -> None:
    server = await make_server([Turn(reply="Hello.")])
    service = service_for(server.url)
    created: list[str] = []
    updated: list[str] = []

    @service.event_handler("on_conversation_item_created")
    async def on_created(service: Any, item_id: str, item: Any) -> None:
        created.append(item_id)

    @service.event_handler("on_conversation_item_updated")
    async def on_updated(service: Any, item_id: str, item: Any) -> None:
        updated.append(item_id)

    async with running_bot(service) as bot:
        await bot.queue(LLMRunFrame())
        await wait_for(lambda: bot.down(LLMFullResponseEndFrame), what="the greeting")
        await wait_for(lambda: updated, what="item done")
        item_id = created[-1]
        # Concurrent callers share one request.
        first, second = await asyncio.gather(
            service.retrieve_conversation_item(item_id),
            service.retrieve_conversation_item(item_id),
        )
        assert first["id"] == second["id"] == item_id
        assert len(client_events(server, "conversation.item.retrieve")) == 1
        with pytest.raises(RuntimeError, match="item_missing"):
            await service.retrieve_conversation_item("item_missing")
    assert item_id in updated


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (width, height), (255, 0, 0, 128)).save(out, format="PNG")
    return out.getvalue()


async def test_images_are_converted_and_rate_limited(make_server: Any) -> None:
    server = await make_server()
    service = service_for(server.url, video_frame_detail="low")
    async with running_bot(service) as bot:
        await server.wait_for_sent("session.updated")
        big = _png(3000, 2000)
        await bot.queue(InputImageRawFrame(image=big, size=(3000, 2000), format="PNG"))
        raw = bytes(64 * 48 * 3)
        await bot.queue(InputImageRawFrame(image=raw, size=(64, 48), format="RGB"))  # too soon
        await server.wait_for_received("conversation.item.create")
    items = client_events(server, "conversation.item.create")
    assert len(items) == 1
    part = items[0]["item"]["content"][0]
    assert part["type"] == "input_image" and part["detail"] == "low"
    assert part["image_url"].startswith("data:image/jpeg;base64,")
    jpeg = Image.open(io.BytesIO(base64.b64decode(part["image_url"].split(",", 1)[1])))
    assert max(jpeg.size) <= 1024 and jpeg.mode == "RGB"


async def test_paused_audio_is_not_sent(make_server: Any) -> None:
    server = await make_server()
    service = service_for(server.url, start_audio_paused=True)
    async with running_bot(service) as bot:
        await server.wait_for_sent("session.updated")
        await bot.speak(speech_like(24000, 0.2, silence_after=0.0), 24000)
        await bot.queue(LLMRunFrame())
        await server.wait_for_received("response.create")
        assert not client_events(server, "input_audio_buffer.append")
        service.set_audio_input_paused(False)
        await bot.speak(speech_like(24000, 0.1, silence_after=0.0), 24000)
        await server.wait_for_received("input_audio_buffer.append")


async def test_input_audio_is_forwarded_unless_told_not_to(make_server: Any) -> None:
    server = await make_server()
    for forward in (True, False):
        service = service_for(server.url, forward_input_audio=forward)
        async with running_bot(service) as bot:
            await server.wait_for_sent("session.updated", count=2 if not forward else 1)
            await bot.speak(speech_like(24000, 0.1, silence_after=0.0), 24000)
            await wait_for(lambda: bot.upstream_of_llm.of(InputAudioRawFrame), what="audio in")
            await asyncio.sleep(0.05)
            assert bool(bot.down(InputAudioRawFrame)) is forward


async def test_by_default_input_audio_is_passed_on_only_to_a_recorder(make_server: Any) -> None:
    """Auto: consumed (the hop is a quarter of the CPU), unless a recorder is downstream."""
    server = await make_server()
    plain = service_for(server.url)
    async with running_bot(plain) as bot:
        await server.wait_for_sent("session.updated")
        await bot.speak(speech_like(24000, 0.1, silence_after=0.0), 24000)
        await wait_for(lambda: bot.upstream_of_llm.of(InputAudioRawFrame), what="audio in")
        await asyncio.sleep(0.05)
        assert not bot.down(InputAudioRawFrame)

    recorded = service_for(server.url)
    recorder = AudioBufferProcessor()
    context = LLMContext()
    pair = LLMContextAggregatorPair(context)
    after = Recorder("after-llm")
    worker = PipelineWorker(
        Pipeline([pair.user(), recorded, after, recorder, pair.assistant()]),
        cancel_on_idle_timeout=False,
    )
    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    running = asyncio.create_task(runner.run())
    await server.wait_for_sent("session.updated", count=2)
    await worker.queue_frame(InputAudioRawFrame(speech_like(24000, 0.1, 0.0), 24000, 1))
    await wait_for(lambda: after.of(InputAudioRawFrame), what="audio passed on to the recorder")
    await worker.queue_frame(EndFrame())
    await running


async def test_resampled_input_never_sends_an_empty_append(make_server: Any) -> None:
    """A stream resampler may hold back a first chunk; that must not become an empty
    ``input_audio_buffer.append`` (the server would refuse it, or at best waste a send)."""
    server = await make_server()
    async with running_bot(service_for(server.url)) as bot:
        await server.wait_for_sent("session.updated")
        await bot.speak(speech_like(16000, 0.3, silence_after=0.0), 16000)
        await server.wait_for_received("input_audio_buffer.append", count=3)
    appends = client_events(server, "input_audio_buffer.append")
    assert appends and all(e["audio"] for e in appends)
