"""A server that sends nonsense: logged and skipped (or reported), and the bot goes on."""

from __future__ import annotations

import json

from pipecat.frames.frames import ErrorFrame, UserStartedSpeakingFrame
from websockets.asyncio.server import ServerConnection, serve

from .harness import running_bot, service_for, wait_for


async def test_malformed_and_ill_typed_events_do_not_stop_the_session() -> None:
    async def odd_server(ws: ServerConnection) -> None:
        await ws.send(json.dumps({"type": "session.created", "event_id": "e0", "session": {}}))
        json.loads(await ws.recv())  # session.update
        await ws.send(json.dumps({"type": "session.updated", "event_id": "e1", "session": {}}))
        await ws.send("this is not json")
        await ws.send(json.dumps({"type": "response.output_audio.delta"}))  # no fields
        bad_transcript = {
            "type": "conversation.item.input_audio_transcription.completed",
            "event_id": "e2",
            "item_id": "item_1",
            "content_index": 0,
            "transcript": 12345,  # not a string
        }
        await ws.send(json.dumps(bad_transcript))
        await ws.send(json.dumps({"type": "something.new", "event_id": "e3"}))
        started = {"type": "input_audio_buffer.speech_started", "event_id": "e4"}
        await ws.send(json.dumps({**started, "item_id": "item_2", "audio_start_ms": 0}))
        await ws.wait_closed()

    async with serve(odd_server, "127.0.0.1", 0) as raw:
        port = next(iter(raw.sockets)).getsockname()[1]
        service = service_for(f"ws://127.0.0.1:{port}/v1/realtime")
        async with running_bot(service) as bot:
            await wait_for(lambda: bot.up(UserStartedSpeakingFrame), what="the good event")
            assert bot.service.is_usable
    errors = bot.up(ErrorFrame)
    assert len(errors) == 1 and "server event" in errors[0].error  # the ill-typed one
