"""The ``openai`` SDK's GA realtime client against the local server: a client this project
did not write, with its own typed models, judging the local server's protocol.

Text in, spoken reply out; a tool round; a cancel. Every event the SDK receives is parsed
by its own models (``RealtimeServerEvent``): an event it cannot parse fails the test.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from openai import AsyncOpenAI

from realtime_llm.server import ToolCall, Turn

TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}
STORY = "Once upon a time there was a reply far too long to listen to in full. " * 3


async def _until(connection: Any, kind: str) -> list[Any]:
    events = []
    async for event in connection:
        events.append(event)
        if event.type == kind:
            return events
    raise AssertionError(f"the connection closed before {kind}")


async def test_openai_sdk_ga_client_text_tool_and_cancel(make_server: Any) -> None:
    server = await make_server(
        [
            Turn(user="Hello?", reply="Hi there."),
            Turn(user="Weather in Paris?", reply=ToolCall.of("get_weather", city="Paris")),
            Turn(reply="Sunny in Paris."),
            Turn(user="Tell me a story.", reply=STORY),
        ],
        dialect="ga",
        chunk_interval_s=0.01,
    )
    base = server.url.split("/v1/realtime")[0] + "/v1"
    client = AsyncOpenAI(api_key="sk-test", websocket_base_url=base)
    async with client.realtime.connect(model="gpt-realtime") as connection:
        # Explicit nulls, as widely used clients send them: "not given", as on the real API.
        await connection.session.update(
            session={"type": "realtime", "tools": [TOOL], "instructions": None}
        )
        await _until(connection, "session.updated")

        # 1. Text in, a spoken reply out (audio and its transcript).
        await connection.conversation.item.create(
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "Hello?"}],
            }
        )
        await connection.response.create(response={"instructions": None})
        events = await _until(connection, "response.done")
        audio = b"".join(
            base64.b64decode(e.delta) for e in events if e.type == "response.output_audio.delta"
        )
        transcript = "".join(
            e.delta for e in events if e.type == "response.output_audio_transcript.delta"
        )
        assert audio and transcript == "Hi there."
        assert events[-1].response.status == "completed"

        # 2. A tool round.
        await connection.conversation.item.create(
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "Weather in Paris?"}],
            }
        )
        await connection.response.create()
        events = await _until(connection, "response.done")
        (call,) = [e for e in events if e.type == "response.function_call_arguments.done"]
        assert json.loads(call.arguments) == {"city": "Paris"}
        await connection.conversation.item.create(
            item={"type": "function_call_output", "call_id": call.call_id, "output": '"sunny"'}
        )
        await connection.response.create()
        events = await _until(connection, "response.done")
        assert (
            "".join(e.delta for e in events if e.type == "response.output_audio_transcript.delta")
            == "Sunny in Paris."
        )

        # 3. A cancel mid-reply.
        await connection.conversation.item.create(
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "Tell me a story."}],
            }
        )
        await connection.response.create()
        await _until(connection, "response.output_audio.delta")
        await connection.response.cancel()
        events = await _until(connection, "response.done")
        assert events[-1].response.status == "cancelled"
        assert not [e for e in events if e.type == "error"]
