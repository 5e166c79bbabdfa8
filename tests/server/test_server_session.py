"""Session lifecycle over a real socket: session.created, session.update, the handshake."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from realtime_llm.server import LocalRealtimeServer

from .conftest import MakeServer
from .helpers import complete_response, connect_client, user_says


async def test_session_created_has_ga_defaults_and_the_model_from_the_query(
    server: LocalRealtimeServer,
) -> None:
    async with connect_client(server, model="gpt-realtime-mini") as client:
        assert server.connections == 1
        session = client.session_created["session"]
        assert session["type"] == "realtime"
        assert session["model"] == "gpt-realtime-mini"
        assert session["output_modalities"] == ["audio"]
        assert session["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
        assert session["audio"]["input"]["transcription"] is None
        assert session["audio"]["input"]["turn_detection"] == {
            "type": "server_vad",
            "threshold": 0.5,
            "prefix_padding_ms": 300,
            "silence_duration_ms": 500,
            "idle_timeout_ms": None,
            "create_response": True,
            "interrupt_response": True,
        }
        assert session["audio"]["output"]["voice"] == "alloy"
        assert session["audio"]["output"]["format"] == {"type": "audio/pcm", "rate": 24000}
        assert session["max_output_tokens"] == "inf"
        assert session["id"].startswith("sess_")
    assert server.sent[0]["type"] == "session.created"


async def test_session_update_deep_merges_audio_settings(server: LocalRealtimeServer) -> None:
    async with connect_client(server) as client:
        await client.send(
            {
                "type": "session.update",
                "event_id": "evt_1",
                "session": {
                    "type": "realtime",
                    "instructions": "Be brief.",
                    "audio": {
                        "input": {
                            "transcription": {"model": "whisper-1"},
                            "turn_detection": {"type": "server_vad", "silence_duration_ms": 800},
                        }
                    },
                },
            }
        )
        session = (await client.wait_for("session.updated"))["session"]
        assert session["instructions"] == "Be brief."
        assert session["audio"]["input"]["transcription"] == {
            "model": "whisper-1",
            "language": None,  # echoed as null, as the real service does
            "prompt": None,
        }
        detection = session["audio"]["input"]["turn_detection"]
        assert detection["silence_duration_ms"] == 800
        assert detection["threshold"] == 0.5  # omitted fields get their defaults
        assert session["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
        assert session["audio"]["output"]["voice"] == "alloy"  # untouched sibling kept

        await client.send(
            {
                "type": "session.update",
                "session": {"type": "realtime", "audio": {"output": {"voice": "marin"}}},
            }
        )
        session = (await client.wait_for("session.updated"))["session"]
        assert session["audio"]["output"]["voice"] == "marin"
        assert session["audio"]["input"]["transcription"]["model"] == "whisper-1"
        assert session["instructions"] == "Be brief."
    assert server.received[0]["event_id"] == "evt_1"


@pytest.mark.parametrize(
    ("session", "code", "param"),
    [
        ({"type": "realtime", "temperature": 0.7}, "unknown_parameter", "session.temperature"),
        (
            {"type": "realtime", "audio": {"input": {"vad": True}}},
            "unknown_parameter",
            "session.audio.input.vad",
        ),
        ({"type": "realtime", "instructions": 42}, "invalid_type", "session.instructions"),
        (
            {"type": "realtime", "output_modalities": ["audio", "text"]},
            "array_above_max_length",
            "session.output_modalities",
        ),
        (
            {
                "type": "realtime",
                "audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 2}}},
            },
            "decimal_above_max_value",
            "session.audio.input.turn_detection.threshold",
        ),
        ({"instructions": "x"}, "missing_required_parameter", "session.type"),
    ],
)
async def test_invalid_session_update_is_rejected_and_changes_nothing(
    server: LocalRealtimeServer, session: dict[str, object], code: str, param: str
) -> None:
    async with connect_client(server) as client:
        bad = {"type": "session.update", "event_id": "evt_bad", "session": session}
        await client.send_raw(json.dumps(bad))
        error = (await client.wait_for("error"))["error"]
        assert error["type"] == "invalid_request_error"
        assert error["code"] == code
        assert error["param"] == param
        assert error["event_id"] == "evt_bad"
        # The session is unchanged and still usable.
        await client.send({"type": "session.update", "session": {"type": "realtime"}})
        updated = (await client.wait_for("session.updated"))["session"]
        created = client.session_created["session"]
        assert updated["instructions"] == created["instructions"]
        assert updated["audio"] == created["audio"]


async def test_voice_cannot_change_once_audio_was_produced(server: LocalRealtimeServer) -> None:
    async with connect_client(server) as client:
        await user_says(client, "Hi")
        await complete_response(client)
        await client.send(
            {
                "type": "session.update",
                "event_id": "evt_voice",
                "session": {"type": "realtime", "audio": {"output": {"voice": "echo"}}},
            }
        )
        error = (await client.wait_for("error"))["error"]
        assert error["code"] == "cannot_update_voice"
        assert error["event_id"] == "evt_voice"


async def test_api_key_is_required_when_configured_and_never_logged(
    make_server: MakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    server = await make_server(api_key="sk-secret-123")
    with pytest.raises(InvalidStatus) as missing:
        async with connect(server.url):
            pass
    assert missing.value.response.status_code == 401
    with pytest.raises(InvalidStatus) as wrong:
        async with connect(server.url, additional_headers={"Authorization": "Bearer nope"}):
            pass
    assert wrong.value.response.status_code == 401

    caplog.set_level(logging.DEBUG)
    headers = {"Authorization": "Bearer sk-secret-123"}
    async with connect_client(server, additional_headers=headers) as client:
        assert client.session_created["type"] == "session.created"
    # (the websockets *client* logs its own headers: only the server's records count)
    server_logs = [r.getMessage() for r in caplog.records if r.name.startswith("realtime_llm")]
    assert not [line for line in server_logs if "sk-secret-123" in line]
    assert any("[redacted]" in line for line in server_logs)  # logged, but redacted


async def test_any_key_is_accepted_by_default_and_unknown_paths_are_404(
    server: LocalRealtimeServer,
) -> None:
    async with connect_client(server, additional_headers={"Authorization": "Bearer whatever"}):
        pass
    async with connect_client(server, additional_headers={}):
        pass
    with pytest.raises(InvalidStatus) as not_found:
        async with connect(server.url.replace("/v1/realtime", "/v1/chat")):
            pass
    assert not_found.value.response.status_code == 404


async def test_the_beta_header_is_refused_with_a_clear_message(
    server: LocalRealtimeServer,
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(server.url, additional_headers={"OpenAI-Beta": "realtime=v1"}):
            pass
    assert refused.value.response.status_code == 400
    assert b"GA" in refused.value.response.body


async def test_connections_are_counted_and_closed_on_request(
    server: LocalRealtimeServer,
) -> None:
    async with connect_client(server) as first, connect_client(server) as second:
        assert server.connections == 2
        await server.close_connections(code=1011, reason="test drop")
        await first.ws.wait_closed()
        await second.ws.wait_closed()
        assert first.ws.close_code == 1011
        assert first.ws.close_reason == "test drop"
    for _ in range(100):
        if server.connections == 0:
            break
        await asyncio.sleep(0.01)
    assert server.connections == 0


async def test_sessions_end_like_openai_at_the_duration_limit(make_server: MakeServer) -> None:
    server = await make_server(max_session_s=0.2)
    async with connect_client(server) as client:
        await client.ws.wait_closed()
    assert client.ws.close_code == 1001
    assert client.ws.close_reason == "Your session hit the maximum duration of 60 minutes."


async def test_responses_send_no_rate_limits_as_in_the_recorded_sessions(
    server: LocalRealtimeServer,
) -> None:
    async with connect_client(server) as client:
        await user_says(client, "Hi")
        await complete_response(client)
    assert "response.created" in client.types()
    assert "rate_limits.updated" not in client.types()
