"""Bad input keeps the session alive; every GA client event type is understood; test hooks."""

from __future__ import annotations

import json

import pytest
from websockets.exceptions import ConnectionClosed

from realtime_llm.server import ScriptedEngine, Turn, local_realtime_server
from realtime_llm.server._client_events import CLIENT_EVENT_TYPES

from .conftest import MakeServer
from .helpers import Client, assert_server_event, b64, connect_client, silence, tone


async def _still_usable(client: Client) -> None:
    await client.send({"type": "input_audio_buffer.clear"})
    await client.wait_for("input_audio_buffer.cleared")


async def test_unknown_event_type(make_server: MakeServer) -> None:
    server = await make_server()
    async with connect_client(server) as client:
        await client.send_raw(
            json.dumps({"type": "conversation.item.frobnicate", "event_id": "evt_u"})
        )
        error = (await client.wait_for("error"))["error"]
        assert error["type"] == "invalid_request_error"
        assert error["code"] == "invalid_value"
        assert error["param"] == "type"
        assert error["event_id"] == "evt_u"
        assert "conversation.item.frobnicate" in error["message"]
        await _still_usable(client)
    assert server.received[0]["type"] == "conversation.item.frobnicate"


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("{not json", "invalid_json"),
        ("[1, 2]", "invalid_type"),
        (json.dumps({"event_id": "x"}), "missing_required_parameter"),
        (json.dumps({"type": "input_audio_buffer.append", "audio": "%%%"}), "invalid_value"),
        (json.dumps({"type": "input_audio_buffer.commit", "extra": 1}), "unknown_parameter"),
        (
            json.dumps({"type": "conversation.item.truncate", "item_id": "i", "content_index": 0}),
            "missing_required_parameter",
        ),
        (
            json.dumps(
                {
                    "type": "conversation.item.create",
                    "item": {
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "output_text", "text": "hi"}],
                    },
                }
            ),
            "invalid_value",
        ),
    ],
)
async def test_malformed_events_get_an_error_and_the_session_survives(
    make_server: MakeServer, message: str, code: str
) -> None:
    server = await make_server()
    async with connect_client(server) as client:
        await client.send_raw(message)
        error = (await client.wait_for("error"))["error"]
        assert error["code"] == code
        await _still_usable(client)


async def test_oversized_messages(make_server: MakeServer) -> None:
    server = await make_server(max_event_bytes=64 * 1024)
    async with connect_client(server) as client:
        big = json.dumps({"type": "input_audio_buffer.append", "audio": b64(silence(2000))})
        assert len(big) > 64 * 1024
        await client.send_raw(big)
        error = (await client.wait_for("error"))["error"]
        assert error["code"] == "message_too_large"
        await _still_usable(client)
        # Far beyond the limit the WebSocket layer closes with 1009 (message too big).
        await client.send_raw("x" * (2 << 20))
        with pytest.raises(ConnectionClosed):
            await client.recv(timeout=5)
        assert client.ws.close_code == 1009


async def test_one_of_every_client_event_type(make_server: MakeServer) -> None:
    engine = ScriptedEngine([Turn(user="hi", reply="Hello there, friend.")])
    server = await make_server(engine, chunk_interval_s=0.01)
    sent: list[str] = []
    async with connect_client(server) as client:

        async def send(event: dict[str, object], expect: str) -> dict[str, object]:
            await client.send(event)  # validated against RealtimeClientEvent
            sent.append(str(event["type"]))
            return await client.wait_for(expect)

        await send(
            {
                "type": "session.update",
                "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
            },
            "session.updated",
        )
        await client.send({"type": "input_audio_buffer.append", "audio": b64(tone(200))})
        sent.append("input_audio_buffer.append")
        committed = await send(
            {"type": "input_audio_buffer.commit"}, "input_audio_buffer.committed"
        )
        await send({"type": "input_audio_buffer.clear"}, "input_audio_buffer.cleared")
        await send(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "message",
                    "role": "system",
                    "content": [{"type": "input_text", "text": "Be nice."}],
                },
            },
            "conversation.item.done",
        )
        await send(
            {"type": "conversation.item.retrieve", "item_id": committed["item_id"]},
            "conversation.item.retrieved",
        )
        await send({"type": "response.create"}, "response.output_audio.delta")
        done = await send({"type": "response.cancel"}, "response.done")
        item_id = done["response"]["output"][0]["id"]  # type: ignore[index]
        await send(
            {
                "type": "conversation.item.truncate",
                "item_id": item_id,
                "content_index": 0,
                "audio_end_ms": 20,
            },
            "conversation.item.truncated",
        )
        await send(
            {"type": "conversation.item.delete", "item_id": item_id}, "conversation.item.deleted"
        )
        error = await send({"type": "output_audio_buffer.clear", "event_id": "evt_o"}, "error")
        assert "WebRTC" in error["error"]["message"]  # type: ignore[index]
    assert sorted(set(sent)) == sorted(CLIENT_EVENT_TYPES)
    assert len(CLIENT_EVENT_TYPES) == 11


async def test_injected_events_reach_the_client(make_server: MakeServer) -> None:
    server = await make_server()
    async with connect_client(server) as client:
        injected = {
            "type": "error",
            "event_id": "event_injected",
            "error": {"type": "server_error", "code": "server_error", "message": "boom"},
        }
        assert_server_event(injected)
        await server.send_event(injected)
        assert await client.wait_for("error") == injected
        await server.send_event({"type": "input_audio_buffer.cleared"})
        assert (await client.wait_for("input_audio_buffer.cleared"))["event_id"].startswith(
            "event_"
        )
    assert server.sent[-1]["type"] == "input_audio_buffer.cleared"


async def test_abrupt_drop_for_reconnect_tests(make_server: MakeServer) -> None:
    server = await make_server()
    async with connect_client(server) as client:
        await server.close_connections(code=1006)
        with pytest.raises(ConnectionClosed):
            await client.recv(timeout=5)
        assert client.ws.close_code == 1006
    async with connect_client(server) as again:  # the server itself keeps serving
        assert again.session_created["type"] == "session.created"


async def test_local_realtime_server_helper_and_waiters() -> None:
    turns = [Turn(user="Hey", reply="Yo.")]
    async with (
        local_realtime_server(turns, chunk_interval_s=0) as server,
        connect_client(server) as client,
    ):
        await client.append(tone(300) + silence(700))
        done = await server.wait_for_sent("response.done")
        assert done["response"]["output"][0]["content"][0]["transcript"] == "Yo."
        await server.wait_for_received("input_audio_buffer.append", count=10)
        await client.wait_for("response.done")
    for event in server.sent:
        assert_server_event(event)
