"""Responses: tool calls, the one-active-response rule, cancellation, modalities, failures."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from realtime_llm.server import (
    Reply,
    ResponseContext,
    RuleEngine,
    ScriptedEngine,
    ToolCall,
    Turn,
    tone_synthesize,
)

from .conftest import MakeServer
from .helpers import audio_of, complete_response, connect_client, user_says

WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}
LONG = "A fairly long answer, so that there is time to interrupt it while it streams."


async def test_function_call_round_trip_with_the_rule_engine(make_server: MakeServer) -> None:
    server = await make_server(RuleEngine())
    async with connect_client(server) as client:
        await client.send(
            {"type": "session.update", "session": {"type": "realtime", "tools": [WEATHER_TOOL]}}
        )
        await client.wait_for("session.updated")
        await user_says(client, "What's the weather like in Paris today?")
        await client.send({"type": "response.create"})
        args_done = await client.wait_for("response.function_call_arguments.done")
        first = (await client.wait_for("response.done"))["response"]

        assert args_done["name"] == "get_weather"
        assert json.loads(args_done["arguments"]) == {"city": "Paris"}
        deltas = "".join(
            e["delta"]
            for e in client.events
            if e["type"] == "response.function_call_arguments.delta"
        )
        assert deltas == args_done["arguments"]
        assert first["status"] == "completed"
        call = first["output"][0]
        assert call["type"] == "function_call"
        assert call["call_id"] == args_done["call_id"]
        assert call["id"] == args_done["item_id"]
        assert first["usage"]["output_tokens"] > 0

        await client.send(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "function_call_output",
                    "call_id": call["call_id"],
                    "output": json.dumps({"temperature": 21, "conditions": "sunny"}),
                },
            }
        )
        await client.wait_for("conversation.item.done")
        second = await complete_response(client)
    spoken = second["output"][0]["content"][0]["transcript"]
    assert spoken == "The weather in Paris: temperature 21, conditions sunny."
    assert audio_of(client.events, second["id"]) == tone_synthesize(spoken)


async def test_rule_engine_does_not_call_undeclared_tools(make_server: MakeServer) -> None:
    server = await make_server(RuleEngine())
    async with connect_client(server) as client:
        await user_says(client, "What time is it?")
        response = await complete_response(client, output_modalities=["text"])
    assert response["output"][0]["content"] == [
        {"type": "output_text", "text": "You said: What time is it?"}
    ]


async def test_scripted_tool_call_then_scripted_answer(make_server: MakeServer) -> None:
    engine = ScriptedEngine(
        [
            Turn(reply=ToolCall.of("lookup", order="42")),
            Turn(reply="Your order ships tomorrow."),
        ]
    )
    server = await make_server(engine)
    async with connect_client(server) as client:
        await user_says(client, "Where is my order?")
        call = (await complete_response(client))["output"][0]
        assert (call["name"], json.loads(call["arguments"])) == ("lookup", {"order": "42"})
        await client.send(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "function_call_output",
                    "call_id": call["call_id"],
                    "output": "ok",
                },
            }
        )
        answer = await complete_response(client)
    assert answer["output"][0]["content"][0]["transcript"] == "Your order ships tomorrow."
    conversation, _ = engine.requests[1]
    assert [i["type"] for i in conversation][-2:] == ["function_call", "function_call_output"]


async def test_a_second_response_create_is_refused_and_no_response_follows(
    make_server: MakeServer,
) -> None:
    server = await make_server(ScriptedEngine([Turn(reply=LONG)]), chunk_interval_s=0.005)
    async with connect_client(server) as client:
        await user_says(client, "Talk to me.")
        await client.send({"type": "response.create", "event_id": "evt_first"})
        created = (await client.wait_for("response.created"))["response"]
        await client.send({"type": "response.create", "event_id": "evt_second"})
        error = (await client.wait_for("error"))["error"]
        assert error["code"] == "conversation_already_has_active_response"
        assert error["event_id"] == "evt_second"
        assert created["id"] in error["message"]
        done = (await client.wait_for("response.done"))["response"]
        assert done["id"] == created["id"]
        assert done["status"] == "completed"
        assert not await client.quiet(0.15)
    assert client.types().count("response.created") == 1


async def test_response_cancel_mid_stream(make_server: MakeServer) -> None:
    server = await make_server(ScriptedEngine([Turn(reply=LONG)]), chunk_interval_s=0.01)
    async with connect_client(server) as client:
        await user_says(client, "Go on.")
        await client.send({"type": "response.create"})
        created = (await client.wait_for("response.created"))["response"]
        await client.wait_for("response.output_audio.delta")
        await client.send({"type": "response.cancel", "event_id": "evt_cancel"})
        done = (await client.wait_for("response.done"))["response"]
        assert done["id"] == created["id"]
        assert done["status"] == "cancelled"
        assert done["status_details"] == {"type": "cancelled", "reason": "client_cancelled"}
        assert done["output"][0]["status"] == "incomplete"
        assert not [e for e in await client.quiet(0.15) if e.get("response_id") == created["id"]]
        heard = audio_of(client.events, created["id"])
        assert 0 < len(heard) < len(tone_synthesize(LONG))

        # The item keeps exactly the audio that was sent: truncation is checked against it.
        item_id = done["output"][0]["id"]
        sent_ms = len(heard) // 48
        await client.send(
            {
                "type": "conversation.item.truncate",
                "item_id": item_id,
                "content_index": 0,
                "audio_end_ms": sent_ms + 40,
            }
        )
        message = (await client.wait_for("error"))["error"]["message"]
        assert message == f"Audio content of {sent_ms}ms is already shorter than {sent_ms + 40}ms"

        await client.send({"type": "response.cancel", "event_id": "evt_again"})
        error = (await client.wait_for("error"))["error"]
        assert error["code"] == "response_cancel_not_active"
        assert error["event_id"] == "evt_again"
        # A new response can start right away.
        assert (await complete_response(client))["status"] == "completed"


async def test_text_only_responses_stream_output_text(make_server: MakeServer) -> None:
    server = await make_server(ScriptedEngine([Turn(reply="One two three four five six seven.")]))
    async with connect_client(server) as client:
        await client.send(
            {
                "type": "session.update",
                "session": {"type": "realtime", "output_modalities": ["text"]},
            }
        )
        await user_says(client, "Count.")
        response = await complete_response(client)
    deltas = [e["delta"] for e in client.events if e["type"] == "response.output_text.delta"]
    assert len(deltas) > 1
    assert "".join(deltas) == "One two three four five six seven."
    assert "response.output_audio.delta" not in client.types()
    text_done = next(e for e in client.events if e["type"] == "response.output_text.done")
    assert text_done["text"] == "One two three four five six seven."
    assert response["output_modalities"] == ["text"]
    assert response["usage"]["output_token_details"]["audio_tokens"] == 0


async def test_out_of_band_response_with_its_own_input(make_server: MakeServer) -> None:
    engine = ScriptedEngine([Turn(reply="Summary."), Turn(reply="In band.")])
    server = await make_server(engine)
    async with connect_client(server) as client:
        await user_says(client, "Hello")
        params = {
            "conversation": "none",
            "metadata": {"purpose": "summary"},
            "output_modalities": ["text"],
            "instructions": "Summarize.",
            "input": [
                {"type": "item_reference", "id": client.events[-1]["item"]["id"]},
                {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": "Summarize that."}],
                },
            ],
        }
        await client.send({"type": "response.create", "response": params}, with_references=True)
        oob = (await client.wait_for("response.done"))["response"]
        assert oob["conversation_id"] is None
        assert oob["metadata"] == {"purpose": "summary"}
        item_id = oob["output"][0]["id"]
        await client.send({"type": "conversation.item.retrieve", "item_id": item_id})
        error = (await client.wait_for("error"))["error"]
        assert error["code"] == "item_retrieve_invalid_item_id"
        in_band = await complete_response(client)
    assert in_band["conversation_id"] is not None
    conversation, context = engine.requests[0]
    assert [i["content"][0]["text"] for i in conversation] == ["Hello", "Summarize that."]
    assert context.instructions == "Summarize."
    # The second (in-band) response sees the whole conversation, which was cached before.
    assert in_band["usage"]["input_token_details"]["cached_tokens"] > 0


async def test_max_output_tokens_makes_the_response_incomplete(make_server: MakeServer) -> None:
    server = await make_server(ScriptedEngine([Turn(reply=LONG)]))
    async with connect_client(server) as client:
        await user_says(client, "Hi")
        response = await complete_response(client, max_output_tokens=10)
    assert response["status"] == "incomplete"
    assert response["status_details"] == {"type": "incomplete", "reason": "max_output_tokens"}
    assert len(audio_of(client.events, response["id"])) < len(tone_synthesize(LONG))


class _BrokenEngine(ScriptedEngine):
    def respond(self, conversation: Sequence[Mapping[str, Any]], context: ResponseContext) -> Reply:
        raise RuntimeError("the model fell over")


async def test_an_engine_failure_ends_the_response_as_failed(make_server: MakeServer) -> None:
    server = await make_server(_BrokenEngine())
    async with connect_client(server) as client:
        await user_says(client, "Hi")
        response = await complete_response(client)
        assert response["status"] == "failed"
        assert response["status_details"]["error"]["message"] == "RuntimeError: the model fell over"
        await client.send({"type": "input_audio_buffer.clear"})
        await client.wait_for("input_audio_buffer.cleared")  # still usable
