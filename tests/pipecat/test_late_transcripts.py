"""User transcripts that arrive late, through a real pipeline, against a scripted server.

A GA server that transcribes slowly: the reply to a user turn has long ended (the service
gives up waiting after 2 s) when the transcript of that turn arrives, after the user has
already spoken again. The server is a real WebSocket on 127.0.0.1 playing events built by
the protocol tests' GA fixtures, at the pace the test sets.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from pipecat.frames.frames import LLMFullResponseEndFrame, LLMRunFrame
from websockets.asyncio.server import ServerConnection, serve

from ..protocol.helpers import ServerEvents, assistant_audio_item, pcm
from .harness import running_bot, service_for, wait_for

Script = Callable[[Callable[[dict[str, Any]], Any]], Any]


@asynccontextmanager
async def scripted_server(script: Script) -> AsyncIterator[str]:
    """Serve one connection: session set-up, a greeting when asked, then ``script(send)``."""
    ev = ServerEvents()

    async def handler(ws: ServerConnection) -> None:
        async def send(event: dict[str, Any]) -> None:
            await ws.send(json.dumps(event))

        await send(ev.session_created())
        async for message in ws:
            event = json.loads(message)
            if event["type"] == "session.update":
                await send(ev.session_updated())
            elif event["type"] == "response.create":
                metadata = event.get("response", {}).get("metadata")
                greeting = reply(ev, "resp_0", "item_0", "Hello.")
                greeting[0] = ev.response_created("resp_0", metadata)
                for server_event in greeting:
                    await send(server_event)
                break
        runner = asyncio.create_task(script(send))
        async for _ in ws:
            pass  # audio appends and the like: the script does not react to them
        runner.cancel()

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        yield f"ws://127.0.0.1:{port}/v1/realtime"


def reply(ev: ServerEvents, response_id: str, item_id: str, text: str) -> list[dict[str, Any]]:
    item = assistant_audio_item(item_id)
    return [
        ev.response_created(response_id),
        ev.output_item_added(response_id, item),
        ev.transcript_delta(response_id, item_id, text),
        ev.audio_delta(response_id, item_id, pcm(40)),
        ev.audio_done(response_id, item_id),
        ev.response_done(response_id),
    ]


def user_turn(ev: ServerEvents, item_id: str) -> list[dict[str, Any]]:
    return [ev.speech_started(item_id), ev.speech_stopped(item_id), ev.committed(item_id)]


async def test_a_transcript_later_than_the_wait_goes_before_its_reply_unmerged() -> None:
    """Issue 7, defect 8: the reply went into the history first, then both user turns
    were merged into one message after it."""
    ev = ServerEvents()

    async def script(send: Callable[[dict[str, Any]], Any]) -> None:
        for event in [*user_turn(ev, "user_1"), *reply(ev, "resp_1", "item_1", "Reply one.")]:
            await send(event)
        await asyncio.sleep(2.5)  # the service stops waiting for user_1's transcript
        for event in user_turn(ev, "user_2"):
            await send(event)
        await send(ev.transcription_completed("user_1", "First question."))
        await send(ev.transcription_completed("user_2", "Second question."))
        for event in reply(ev, "resp_2", "item_2", "Reply two."):
            await send(event)

    async with scripted_server(script) as url, running_bot(service_for(url)) as bot:
        await bot.queue(LLMRunFrame())  # the bot greets first, as bots do
        await wait_for(
            lambda: len(bot.down(LLMFullResponseEndFrame)) >= 3, timeout=10, what="the replies"
        )
        await wait_for(lambda: len(bot.context.get_messages()) >= 5, what="five turns")
    messages = [(m["role"], m["content"]) for m in bot.context.get_messages()]
    assert messages == [
        ("assistant", "Hello."),
        ("user", "First question."),
        ("assistant", "Reply one."),
        ("user", "Second question."),
        ("assistant", "Reply two."),
    ]
