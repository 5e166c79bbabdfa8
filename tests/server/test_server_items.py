"""Conversation items: create (with previous_item_id), retrieve, delete, truncate."""

from __future__ import annotations

from realtime_llm.server import ScriptedEngine, Turn, tone_synthesize

from .conftest import MakeServer
from .helpers import Client, b64, complete_response, connect_client, tone, unb64, user_says

REPLY = "Here is a spoken answer."


def _text_item(text: str, item_id: str | None = None) -> dict[str, object]:
    item: dict[str, object] = {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": text}],
    }
    if item_id:
        item["id"] = item_id
    return item


async def _assistant_audio_item(client: Client) -> tuple[str, int]:
    await user_says(client, "Say something.")
    response = await complete_response(client)
    return response["output"][0]["id"], len(tone_synthesize(REPLY)) // 48


async def test_create_honours_previous_item_id(make_server: MakeServer) -> None:
    server = await make_server()
    async with connect_client(server) as client:
        await client.send({"type": "conversation.item.create", "item": _text_item("b", "item_b")})
        first = await client.wait_for("conversation.item.added")
        assert first["previous_item_id"] is None
        assert first["item"]["status"] == "completed"
        await client.wait_for("conversation.item.done")
        await client.send(
            {
                "type": "conversation.item.create",
                "previous_item_id": "root",
                "item": _text_item("a", "item_a"),
            }
        )
        assert (await client.wait_for("conversation.item.added"))["previous_item_id"] is None
        await client.send(
            {
                "type": "conversation.item.create",
                "previous_item_id": "item_a",
                "item": _text_item("a2", "item_a2"),
            }
        )
        assert (await client.wait_for("conversation.item.added"))["previous_item_id"] == "item_a"
        await client.send(
            {
                "type": "conversation.item.create",
                "event_id": "evt_orphan",
                "previous_item_id": "item_nope",
                "item": _text_item("x"),
            }
        )
        error = (await client.wait_for("error"))["error"]
        assert error["param"] == "previous_item_id"
        assert error["event_id"] == "evt_orphan"
        await client.send(
            {
                "type": "conversation.item.create",
                "event_id": "evt_dup",
                "item": _text_item("b", "item_b"),
            }
        )
        assert (await client.wait_for("error"))["error"]["event_id"] == "evt_dup"


async def test_retrieve_known_and_unknown_items(make_server: MakeServer) -> None:
    server = await make_server(ScriptedEngine([("I said this", "ok")]))
    async with connect_client(server) as client:
        pcm = tone(300)
        await client.send(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_audio", "audio": b64(pcm)}],
                },
            }
        )
        added = await client.wait_for("conversation.item.added")
        assert "audio" not in added["item"]["content"][0]  # audio is not echoed back
        await client.send({"type": "conversation.item.retrieve", "item_id": added["item"]["id"]})
        retrieved = (await client.wait_for("conversation.item.retrieved"))["item"]
        assert retrieved["id"] == added["item"]["id"]
        assert unb64(retrieved["content"][0]["audio"]) == pcm

        await client.send(
            {"type": "conversation.item.retrieve", "event_id": "evt_r", "item_id": "item_missing"}
        )
        error = (await client.wait_for("error"))["error"]
        assert error["code"] == "item_retrieve_invalid_item_id"
        assert error["event_id"] == "evt_r"
        assert "item_missing" in error["message"]


async def test_delete(make_server: MakeServer) -> None:
    server = await make_server()
    async with connect_client(server) as client:
        await client.send({"type": "conversation.item.create", "item": _text_item("hi", "item_1")})
        await client.wait_for("conversation.item.done")
        await client.send({"type": "conversation.item.delete", "item_id": "item_1"})
        assert (await client.wait_for("conversation.item.deleted"))["item_id"] == "item_1"
        await client.send(
            {"type": "conversation.item.delete", "event_id": "evt_d", "item_id": "item_1"}
        )
        error = (await client.wait_for("error"))["error"]
        assert (error["code"], error["event_id"]) == ("item_delete_invalid_item_id", "evt_d")
        await client.send({"type": "conversation.item.retrieve", "item_id": "item_1"})
        assert (await client.wait_for("error"))["error"]["code"] == "item_retrieve_invalid_item_id"


async def test_truncate_past_the_end_is_rejected(make_server: MakeServer) -> None:
    server = await make_server(ScriptedEngine([Turn(reply=REPLY)]))
    async with connect_client(server) as client:
        item_id, audio_ms = await _assistant_audio_item(client)
        await client.send(
            {
                "type": "conversation.item.truncate",
                "event_id": "evt_t",
                "item_id": item_id,
                "content_index": 0,
                "audio_end_ms": audio_ms + 500,
            }
        )
        error = (await client.wait_for("error"))["error"]
    assert error["type"] == "invalid_request_error"
    assert (
        error["message"]
        == f"Audio content of {audio_ms}ms is already shorter than {audio_ms + 500}ms"
    )
    assert error["event_id"] == "evt_t"


async def test_truncate_at_zero_and_of_user_items_is_rejected(make_server: MakeServer) -> None:
    server = await make_server(ScriptedEngine([Turn(reply=REPLY)]))
    async with connect_client(server) as client:
        item_id, _ = await _assistant_audio_item(client)
        await client.send(
            {
                "type": "conversation.item.truncate",
                "item_id": item_id,
                "content_index": 0,
                "audio_end_ms": 0,
            }
        )
        error = (await client.wait_for("error"))["error"]
        assert error["message"] == "Only model output audio messages can be truncated"
        user_item = next(
            e["item"]["id"] for e in client.events if e["type"] == "conversation.item.added"
        )
        await client.send(
            {
                "type": "conversation.item.truncate",
                "item_id": user_item,
                "content_index": 0,
                "audio_end_ms": 100,
            }
        )
        error = (await client.wait_for("error"))["error"]
        assert error["message"] == "Only model output audio messages can be truncated"


async def test_valid_truncate_cuts_audio_and_transcript(make_server: MakeServer) -> None:
    engine = ScriptedEngine([Turn(reply=REPLY), Turn(reply="Next.")])
    server = await make_server(engine)
    async with connect_client(server) as client:
        item_id, audio_ms = await _assistant_audio_item(client)
        half = audio_ms // 2
        await client.send(
            {
                "type": "conversation.item.truncate",
                "item_id": item_id,
                "content_index": 0,
                "audio_end_ms": half,
            }
        )
        truncated = await client.wait_for("conversation.item.truncated")
        assert (truncated["item_id"], truncated["content_index"], truncated["audio_end_ms"]) == (
            item_id,
            0,
            half,
        )
        await client.send({"type": "conversation.item.retrieve", "item_id": item_id})
        item = (await client.wait_for("conversation.item.retrieved"))["item"]
        assert len(unb64(item["content"][0]["audio"])) == half * 48
        assert item["content"][0]["transcript"] == ""  # deleted, as GA documents
        # Truncating further back is fine; forward again is past the (new) end.
        await client.send(
            {
                "type": "conversation.item.truncate",
                "item_id": item_id,
                "content_index": 0,
                "audio_end_ms": half + 1,
            }
        )
        assert "already shorter" in (await client.wait_for("error"))["error"]["message"]
        await user_says(client, "And?")
        await complete_response(client)
    # The engine hears the part of the reply that was played: half of the transcript.
    conversation, _ = engine.requests[1]
    heard = conversation[1]["content"][0]["transcript"]
    assert REPLY.startswith(heard)
    assert 0 < len(heard) < len(REPLY)
