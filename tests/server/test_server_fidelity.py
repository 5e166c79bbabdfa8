"""Protocol behaviours of the real service that clients rely on, over a raw WebSocket.

* an explicit ``null`` for an optional field is "not given" (clients built on typed models
  send ``"instructions": null``); the optional fields are read from the ``openai`` models;
* truncating an item whose audio is still streaming stops that audio at once;
* a cancelled response closes its open parts before ``response.done``;
* a duplicate item id is ``item_create_duplicate_item_id``.
"""

from __future__ import annotations

from typing import Any

import pytest
from openai.types.realtime.conversation_item_create_event import ConversationItemCreateEvent
from openai.types.realtime.realtime_conversation_item_user_message import (
    RealtimeConversationItemUserMessage,
)
from openai.types.realtime.realtime_response_create_params import RealtimeResponseCreateParams
from openai.types.realtime.realtime_session_create_request import RealtimeSessionCreateRequest

from realtime_llm.server import ScriptedEngine, Turn

from .conftest import MakeServer
from .helpers import BYTES_PER_MS, Client, connect_client, unb64, user_says

Event = dict[str, Any]


def _optional(model: Any, *skip: str) -> list[str]:
    return [n for n, f in model.model_fields.items() if not f.is_required() and n not in skip]


SESSION_OPTIONAL = _optional(RealtimeSessionCreateRequest)
RESPONSE_OPTIONAL = _optional(RealtimeResponseCreateParams)
ITEM_EVENT_OPTIONAL = _optional(ConversationItemCreateEvent, "type")
ITEM_OPTIONAL = _optional(RealtimeConversationItemUserMessage)


def _comparable(session: Event) -> Event:
    return {k: v for k, v in session.items() if k not in ("id", "expires_at")}


@pytest.mark.parametrize("field", SESSION_OPTIONAL)
async def test_null_optional_session_fields_are_not_given(
    make_server: MakeServer, field: str
) -> None:
    server = await make_server()
    async with connect_client(server) as client:
        await client.send({"type": "session.update", "session": {"type": "realtime", field: None}})
        updated = await client.wait_for("session.updated")
        assert "error" not in client.types()
        assert _comparable(updated["session"]) == _comparable(client.session_created["session"])


@pytest.mark.parametrize("field", RESPONSE_OPTIONAL)
async def test_null_optional_response_fields_are_not_given(
    make_server: MakeServer, field: str
) -> None:
    server = await make_server(ScriptedEngine([Turn(None, "Fine.")]))
    async with connect_client(server) as client:
        await user_says(client, "How are you?")
        await client.send({"type": "response.create", "response": {field: None}})
        done = (await client.wait_for("response.done"))["response"]
        assert "error" not in client.types()
        assert done["status"] == "completed"
        assert done["output_modalities"] == ["audio"]  # the session's, not "nothing"


@pytest.mark.parametrize("field", ITEM_EVENT_OPTIONAL + [f"item.{f}" for f in ITEM_OPTIONAL])
async def test_null_optional_item_fields_are_not_given(make_server: MakeServer, field: str) -> None:
    server = await make_server()
    async with connect_client(server) as client:
        item: Event = {"type": "message", "role": "user", "content": []}
        item["content"] = [{"type": "input_text", "text": "Hi"}]
        event: Event = {"type": "conversation.item.create", "item": item}
        if field.startswith("item."):
            item[field.removeprefix("item.")] = None
        else:
            event[field] = None
        await client.send(event)
        done = await client.wait_for("conversation.item.done")
        assert "error" not in client.types()
        assert done["item"]["id"] and done["item"]["status"] == "completed"


def test_the_optional_fields_come_from_the_typed_models() -> None:
    # The issue counted 16 of these with a real client; the models list more, all covered.
    assert {"instructions", "tools", "output_modalities", "audio"} <= set(SESSION_OPTIONAL)
    assert {"instructions", "conversation", "metadata"} <= set(RESPONSE_OPTIONAL)
    assert "previous_item_id" in ITEM_EVENT_OPTIONAL and "id" in ITEM_OPTIONAL
    assert len(SESSION_OPTIONAL) + len(RESPONSE_OPTIONAL) + len(ITEM_EVENT_OPTIONAL) >= 16


async def test_a_null_that_means_something_keeps_its_meaning(make_server: MakeServer) -> None:
    server = await make_server()
    async with connect_client(server) as client:
        audio = {"input": {"turn_detection": None}}
        await client.send(
            {"type": "session.update", "session": {"type": "realtime", "audio": audio}}
        )
        updated = await client.wait_for("session.updated")
        assert updated["session"]["audio"]["input"]["turn_detection"] is None  # VAD off


# --- streaming audio: truncate and cancel --------------------------------------------------

LONG = "This reply is long enough to be interrupted while it is still being spoken. " * 3


async def _streaming(client: Client) -> Event:
    """Start a spoken reply and return its first audio delta."""
    await user_says(client, "Tell me a story")
    await client.send({"type": "response.create"})
    for _ in range(3):
        delta = await client.wait_for("response.output_audio.delta")
    return delta


def _after(client: Client, event_type: str) -> list[Event]:
    index = next(i for i, e in enumerate(client.events) if e["type"] == event_type)
    return client.events[index + 1 :]


async def test_truncating_streaming_audio_stops_it_at_once(make_server: MakeServer) -> None:
    server = await make_server(ScriptedEngine([Turn(None, LONG)]), chunk_interval_s=0.01)
    async with connect_client(server) as client:
        delta = await _streaming(client)
        item_id = delta["item_id"]
        await client.send(
            {
                "type": "conversation.item.truncate",
                "item_id": item_id,
                "content_index": 0,
                "audio_end_ms": 40,
            }
        )
        await client.wait_for("response.done")
        await client.quiet(0.1)
        after = _after(client, "conversation.item.truncated")
        assert "response.output_audio.delta" not in [e["type"] for e in after]
        deltas = "".join(
            e["delta"]
            for e in client.events
            if e["type"] == "response.output_audio_transcript.delta"
        )
        done = next(e for e in after if e["type"] == "response.output_audio_transcript.done")
        assert done["transcript"] == deltas != LONG
        assert [e["type"] for e in after][-1] == "response.done"
        await client.send({"type": "conversation.item.retrieve", "item_id": item_id})
        retrieved = (await client.wait_for("conversation.item.retrieved"))["item"]
        part = retrieved["content"][0]
        assert len(unb64(part["audio"])) == 40 * BYTES_PER_MS  # only what was heard
        assert not part.get("transcript")  # none of what was not


CLOSING = [
    "response.output_audio.done",
    "response.output_audio_transcript.done",
    "response.content_part.done",
    "conversation.item.done",
    "response.output_item.done",
    "response.done",
]


async def test_a_cancelled_response_closes_its_open_parts(make_server: MakeServer) -> None:
    server = await make_server(ScriptedEngine([Turn(None, LONG)]), chunk_interval_s=0.01)
    async with connect_client(server) as client:
        await _streaming(client)
        await client.send({"type": "response.cancel"})
        await client.wait_for("response.done")
        closing = [e for e in _after(client, "response.output_item.added") if e["type"] in CLOSING]
        assert [e["type"] for e in closing] == CLOSING
        done = closing[-1]["response"]
        assert done["status"] == "cancelled"
        assert done["status_details"]["reason"] == "client_cancelled"
        sent = "".join(
            e["delta"]
            for e in client.events
            if e["type"] == "response.output_audio_transcript.delta"
        )
        assert closing[1]["transcript"] == closing[2]["part"]["transcript"] == sent
        assert closing[4]["item"]["status"] == "incomplete"


async def test_a_cancelled_text_response_closes_its_text_part(make_server: MakeServer) -> None:
    server = await make_server(ScriptedEngine([Turn(None, LONG)]), chunk_interval_s=0.01)
    async with connect_client(server) as client:
        await user_says(client, "Tell me a story")
        await client.send({"type": "response.create", "response": {"output_modalities": ["text"]}})
        await client.wait_for("response.output_text.delta")
        await client.send({"type": "response.cancel"})
        await client.wait_for("response.done")
        kinds = [e["type"] for e in _after(client, "response.output_text.delta")]
        closing = [k for k in kinds if not k.endswith(".delta")]
        assert closing == [
            "response.output_text.done",
            "response.content_part.done",
            "conversation.item.done",
            "response.output_item.done",
            "response.done",
        ]


async def test_a_duplicate_item_id_is_refused_with_the_real_code(make_server: MakeServer) -> None:
    server = await make_server()
    async with connect_client(server) as client:
        item = {
            "id": "item_same",
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "Hi"}],
        }
        await client.send({"type": "conversation.item.create", "item": item})
        await client.wait_for("conversation.item.done")
        await client.send({"type": "conversation.item.create", "item": item})
        error = (await client.wait_for("error"))["error"]
        assert (error["code"], error["param"]) == ("item_create_duplicate_item_id", "item.id")
