"""Every built-in dialect of the local server, end to end over a real WebSocket.

The tests are table-driven over the server dialects. The client half of each exchange is
a raw websockets client built with the *client's* dialect objects (its URL, auth headers,
session serialization, outgoing renames and inbound event names), so the two halves of
each dialect are tested against each other. When a test ends, every event each server sent
is checked against its dialect's reference (``conftest.py``): GA ``RealtimeServerEvent`` for
ga and azure, the beta models for openai_beta, GA apart from the documented extras for xai
and inworld.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from loguru import logger
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from realtime_llm.dialects import Dialect, get_dialect
from realtime_llm.server import LocalRealtimeServer, ScriptedEngine, ToolCall, Turn
from realtime_llm.server.cli import _parser
from realtime_llm.server.dialects import (
    SERVER_DIALECTS,
    ServerDialect,
    XAIServerDialect,
    get_server_dialect,
)
from realtime_llm.server.engine import tone_synthesize
from realtime_llm.transport.connection import RealtimeConnection

from .conftest import MakeServer
from .helpers import Client, assert_client_event, b64, silence, tone

Event = dict[str, Any]
DIALECTS = list(SERVER_DIALECTS)
KEY = "sk-dialect-test"
MODEL = "gpt-realtime"

PATHS = {
    "ga": "/v1/realtime",
    "openai_beta": "/v1/realtime",
    "azure": "/openai/v1/realtime",
    "xai": "/v1/realtime",
    "inworld": "/api/v1/realtime/session",
}

# --- a client that speaks a dialect --------------------------------------------------------


class Peer(Client):
    """A raw client speaking one dialect through the client-side :class:`Dialect`."""

    def __init__(self, ws: ClientConnection, dialect: Dialect, server_dialect: str) -> None:
        super().__init__(ws)
        self.dialect = dialect
        self.server_dialect = server_dialect

    async def send(self, event: Event, *, with_references: bool = False) -> None:
        """A GA client event, as the client dialect puts it on the wire (checked if we can)."""
        wire = self.dialect.outgoing(event)
        if event["type"] == "session.update":
            wire = {**wire, "session": self.dialect.serialize_session(event["session"])}
        if self.server_dialect == "openai_beta":
            assert_client_event(wire, beta=True)
        elif self.server_dialect in ("ga", "azure") or event["type"] != "session.update":
            assert_client_event(wire)
        await self.ws.send(json.dumps(wire))

    async def send_json(self, event: Event) -> None:
        """Exactly this event, unchecked (for what the server must refuse)."""
        await self.ws.send(json.dumps(event))

    async def error_for(self, event: Event) -> Event:
        """Send ``event`` raw; the ``error`` it provokes."""
        await self.send_json({**event, "event_id": "evt_probe"})
        error = await self.wait_for("error")
        assert error["error"]["event_id"] == "evt_probe"
        return dict(error["error"])


def client_dialect(server: LocalRealtimeServer, **options: Any) -> Dialect:
    dialect = get_dialect(server.dialect.client_dialect, base_url=server.url)
    for name, value in options.items():
        setattr(dialect, name, value)
    return dialect


@asynccontextmanager
async def peer(
    server: LocalRealtimeServer, *, key: str = KEY, headers: dict[str, str] | None = None
) -> AsyncIterator[Peer]:
    dialect = client_dialect(server)
    sent_headers = dialect.auth_headers(key) if headers is None else headers
    async with connect(dialect.url(MODEL), additional_headers=sent_headers) as ws:
        client = Peer(ws, dialect, server.dialect.name)
        client.session_created = await client.wait_for("session.created")
        yield client


async def refused(url: str, headers: dict[str, str]) -> InvalidStatus:
    with pytest.raises(InvalidStatus) as failure:
        async with connect(url, additional_headers=headers):
            pass
    return failure.value


async def text_turn(client: Peer, text: str = "hello", **response: Any) -> list[Event]:
    """A typed user message and a response to it; every event up to ``response.done``."""
    await client.send(
        {
            "type": "conversation.item.create",
            "item": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": text}],
            },
        }
    )
    event: Event = {"type": "response.create"}
    if response:
        event["response"] = response
    await client.send(event)
    return await client.collect_until("response.done")


# --- handshake -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", DIALECTS)
async def test_url_is_the_dialects_path_without_a_query(make_server: MakeServer, name: str) -> None:
    server = await make_server(dialect=name)
    assert server.dialect.name == name
    assert server.url == f"ws://127.0.0.1:{server.port}{PATHS[name]}"


@pytest.mark.parametrize("name", DIALECTS)
async def test_the_dialects_own_auth_is_checked(make_server: MakeServer, name: str) -> None:
    server = await make_server(dialect=name, api_key=KEY)
    async with peer(server) as client:
        assert client.session_created["session"]["model"] == MODEL
    dialect = client_dialect(server)
    url = dialect.url(MODEL)
    wrong = await refused(url, dialect.auth_headers("sk-wrong"))
    assert wrong.response.status_code == 401
    # Without credentials (but with what else the dialect requires, e.g. OpenAI-Beta).
    credentials = ("Authorization", "api-key")
    bare = {k: v for k, v in dialect.auth_headers(KEY).items() if k not in credentials}
    assert (await refused(url, bare)).response.status_code == 401
    other_path = url.replace(PATHS[name], "/v1/elsewhere")
    assert (await refused(other_path, dialect.auth_headers(KEY))).response.status_code == 404


@pytest.mark.parametrize(
    ("name", "headers", "accepted"),
    [
        ("ga", {"api-key": KEY}, True),
        ("openai_beta", {"api-key": KEY, "OpenAI-Beta": "realtime=v1"}, False),
        ("azure", {"api-key": KEY}, True),
        ("azure", {"Authorization": f"Bearer {KEY}"}, True),  # an Entra token
        ("xai", {"api-key": KEY}, False),
        ("inworld", {"Authorization": f"Basic {KEY}"}, True),
        ("inworld", {"Authorization": f"Bearer {KEY}"}, True),  # a JWT
        ("inworld", {"api-key": KEY}, False),
    ],
)
async def test_each_dialect_takes_the_key_where_its_server_does(
    make_server: MakeServer, name: str, headers: dict[str, str], accepted: bool
) -> None:
    server = await make_server(dialect=name, api_key=KEY)
    if accepted:
        async with peer(server, headers=headers):
            pass
    else:
        failure = await refused(client_dialect(server).url(MODEL), headers)
        assert failure.response.status_code == 401


async def test_inworld_basic_credentials_may_be_id_and_secret(make_server: MakeServer) -> None:
    server = await make_server(dialect="inworld", api_key="acct-7:s3cret")
    headers = client_dialect(server).auth_headers("acct-7:s3cret")
    assert headers == {"Authorization": "Basic " + base64.b64encode(b"acct-7:s3cret").decode()}
    async with peer(server, headers=headers):
        pass


@pytest.mark.parametrize(
    ("name", "query", "headers", "status", "says"),
    [
        ("ga", f"?model={MODEL}", {"OpenAI-Beta": "realtime=v1"}, 400, b"GA"),
        ("openai_beta", f"?model={MODEL}", {}, 400, b"OpenAI-Beta: realtime=v1"),
        ("azure", f"?model={MODEL}&api-version=2025-04-01-preview", {}, 401, b"api-version"),
        ("inworld", "?protocol=realtime", {}, 400, b"key"),
        ("inworld", "?key=s1&protocol=openai", {}, 400, b"protocol=realtime"),
    ],
)
async def test_handshake_refusals_of_each_dialect(
    make_server: MakeServer,
    name: str,
    query: str,
    headers: dict[str, str],
    status: int,
    says: bytes,
) -> None:
    server = await make_server(dialect=name)
    failure = await refused(server.url + query, headers)
    assert failure.response.status_code == status
    assert says in failure.response.body


def test_dialect_names_and_aliases() -> None:
    assert get_server_dialect("openai").name == get_server_dialect("local").name == "ga"
    with pytest.raises(ValueError, match="unknown server dialect 'grok'"):
        get_server_dialect("grok")
    args = _parser().parse_args(["serve", "--dialect", "xai"])
    assert args.dialect == "xai"
    with pytest.raises(SystemExit):
        _parser().parse_args(["serve", "--dialect", "grok"])


# --- session shape ---------------------------------------------------------------------------

_BETA_FORMATS = {"pcm16": "audio/pcm", "g711_ulaw": "audio/pcmu", "g711_alaw": "audio/pcma"}


def session_view(name: str, session: Event) -> tuple[Any, ...]:
    """What the session says, read in the dialect's own shape, in GA terms."""
    if name == "openai_beta":
        assert "type" not in session and "audio" not in session
        assert session["modalities"] in (["audio", "text"], ["text"])
        return (
            session["instructions"],
            session["voice"],
            _BETA_FORMATS[session["output_audio_format"]],
            (session["input_audio_transcription"] or {}).get("model"),
            (session["turn_detection"] or {}).get("silence_duration_ms"),
            session["max_response_output_tokens"],
        )
    if name == "xai":  # created: short and flat; updated: beta-like (as recorded)
        assert "type" not in session
        audio = session.get("audio") or {}
        return (
            session["instructions"],
            session.get("voice"),
            audio.get("output", {}).get("format", {}).get("type"),
            (session.get("input_audio_transcription") or {}).get("model"),
            session["turn_detection"].get("silence_duration_ms"),
            session.get("max_response_output_tokens"),
        )
    assert session["type"] == "realtime"
    audio = session["audio"]
    return (
        session["instructions"],
        audio["output"]["voice"],
        audio["output"]["format"]["type"],
        (audio["input"]["transcription"] or {}).get("model"),
        (audio["input"]["turn_detection"] or {}).get("silence_duration_ms"),
        session["max_output_tokens"],
    )


SETTINGS: Event = {
    "type": "realtime",
    "instructions": "Be brief.",
    "max_output_tokens": 300,
    "audio": {
        "input": {
            "transcription": {"model": "whisper-1"},
            "turn_detection": {"type": "server_vad", "silence_duration_ms": 700},
        },
        "output": {"voice": "verse", "format": {"type": "audio/pcmu"}},
    },
}


@pytest.mark.parametrize("name", DIALECTS)
async def test_session_round_trips_in_the_dialects_shape(
    make_server: MakeServer, name: str
) -> None:
    server = await make_server(dialect=name)
    async with peer(server) as client:
        created = session_view(name, client.session_created["session"])
        if name == "xai":  # xAI's sessions start with voice ara and no turn detection
            assert created == ("", "ara", None, None, None, None)
        else:
            assert created[1:] == ("alloy", "audio/pcm", None, 500, "inf")
        await client.send({"type": "session.update", "session": SETTINGS})
        updated = await client.wait_for("session.updated")
        assert session_view(name, updated["session"]) == (
            "Be brief.",
            "verse",
            "audio/pcmu",
            "whisper-1",
            700,
            300,
        )
        # The core took it: the response speaks with that voice, in that format.
        response = (await text_turn(client))[-1]["response"]
        if name == "openai_beta":
            assert (response["voice"], response["output_audio_format"]) == ("verse", "g711_ulaw")
            assert response["modalities"] == ["audio", "text"]
        elif name == "xai":  # xAI's response object names neither
            audio = [e for e in client.events if e["type"] == "response.output_audio.delta"]
            assert audio and "audio" not in response
        else:
            assert response["audio"]["output"]["voice"] == "verse"
            assert response["audio"]["output"]["format"] == {"type": "audio/pcmu"}


@pytest.mark.parametrize(
    ("name", "session", "param"),
    [
        *[(name, {"bogus": 1}, "session.bogus") for name in DIALECTS],
        (
            "ga",
            {
                "type": "realtime",
                "audio": {"input": {"turn_detection": {"type": "server_vad", "x": 1}}},
            },
            "session.audio.input.turn_detection.x",
        ),
        (
            "azure",
            {"type": "realtime", "audio": {"output": {"voice": "ash", "x": 1}}},
            "session.audio.output.x",
        ),
        (
            "inworld",
            {"type": "realtime", "model": "llm", "audio": {"input": {"x": 1}}},
            "session.audio.input.x",
        ),
        (
            "openai_beta",
            {"turn_detection": {"type": "server_vad", "x": 1}},
            "session.turn_detection.x",
        ),
        ("openai_beta", {"output_modalities": ["text"]}, "session.output_modalities"),
        ("openai_beta", {"type": "realtime"}, "session.type"),
        ("openai_beta", {"audio": {}}, "session.audio"),
        (
            "openai_beta",
            {"turn_detection": {"type": "server_vad", "idle_timeout_ms": 6000}},
            "session.turn_detection.idle_timeout_ms",
        ),
        ("xai", {"turn_detection": {"type": "server_vad", "x": 1}}, "session.turn_detection.x"),
        ("xai", {"type": "realtime"}, "session.type"),
        ("xai", {"audio": {"output": {"voice": "ash"}}}, "session.audio.output.voice"),
        (
            "xai",
            {"audio": {"input": {"turn_detection": None}}},
            "session.audio.input.turn_detection",
        ),
    ],
)
async def test_unknown_session_keys_are_refused_in_the_dialects_shape(
    make_server: MakeServer, name: str, session: Event, param: str
) -> None:
    server = await make_server(dialect=name)
    async with peer(server) as client:
        error = await client.error_for({"type": "session.update", "session": session})
        assert (error["code"], error["param"]) == ("unknown_parameter", param)
        assert error["message"] == f"Unknown parameter: '{param}'."
        assert "session.updated" not in client.types()


# --- a spoken turn ---------------------------------------------------------------------------

GA_TURN = {
    "input_audio_buffer.speech_started",
    "input_audio_buffer.speech_stopped",
    "input_audio_buffer.committed",
    "conversation.item.added",
    "conversation.item.done",
    "conversation.item.input_audio_transcription.delta",
    "conversation.item.input_audio_transcription.completed",
    "response.created",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_audio.delta",
    "response.output_audio_transcript.delta",
    "response.output_audio.done",
    "response.output_audio_transcript.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.done",
}
BETA_NAMES = {
    "conversation.item.added": "conversation.item.created",
    "conversation.item.done": None,
    "response.output_audio.delta": "response.audio.delta",
    "response.output_audio.done": "response.audio.done",
    "response.output_audio_transcript.delta": "response.audio_transcript.delta",
    "response.output_audio_transcript.done": "response.audio_transcript.done",
}
TURN_NAMES: dict[str, set[str]] = {
    "ga": GA_TURN,
    "azure": GA_TURN,
    "openai_beta": {n for t in GA_TURN if (n := BETA_NAMES.get(t, t)) is not None},
    "xai": (GA_TURN - {"conversation.item.done"})
    | {"ping", "conversation.created", "conversation.item.input_audio_transcription.updated"},
    "inworld": GA_TURN | {"ping"},
}


@pytest.mark.parametrize("name", DIALECTS)
async def test_a_spoken_turn_in_each_dialects_event_names(
    make_server: MakeServer, name: str
) -> None:
    server = await make_server(
        ScriptedEngine([Turn("hello", "Hi there, nice to hear you.")]), dialect=name
    )
    async with peer(server) as client:
        transcription = {
            "input": {
                "transcription": {"model": "gpt-4o-transcribe"},
                "turn_detection": {"type": "server_vad"},  # (xAI starts without)
            }
        }
        await client.send(
            {"type": "session.update", "session": {"type": "realtime", "audio": transcription}}
        )
        await client.wait_for("session.updated")
        await client.append(tone(400) + silence(700))
        await client.wait_for("response.done")
        sent = set(client.types()) - {"session.created", "session.updated"}
        assert sent == TURN_NAMES[name]
        # The client's dialect maps everything back to GA names (or drops it as a duplicate).
        canonical = {client.dialect.canonical_type(t) for t in client.types()} - {None}
        assert canonical <= GA_TURN | {"session.created", "session.updated"} | (
            {"conversation.item.created"} if name == "openai_beta" else set()
        ) | ({"conversation.created"} if name == "xai" else set())  # GA has it too
        committed = next(e for e in client.events if e["type"] == "input_audio_buffer.committed")
        added = (
            BETA_NAMES["conversation.item.added"]
            if name == "openai_beta"
            else "conversation.item.added"
        )
        user_item = next(e for e in client.events if e["type"] == added)["item"]
        assert user_item["id"] == committed["item_id"]
        assert user_item["content"][0]["type"] == "input_audio"
        done = client.events[-1]["response"]
        assert done["status"] == "completed"
        parts = done["output"][0]["content"]
        assert parts[0]["type"] == ("audio" if name in ("openai_beta", "xai") else "output_audio")
        assert parts[0]["transcript"] == "Hi there, nice to hear you."
        transcripts = [
            e for e in client.events if e["type"].startswith("conversation.item.input_audio")
        ]
        if name == "xai":  # cumulative updates beside the deltas
            updated = [e for e in transcripts if e["type"].endswith(".updated")]
            completed = next(e for e in transcripts if e["type"].endswith(".completed"))
            assert updated and updated[-1]["transcript"] == completed["transcript"]


# --- quirks per dialect ----------------------------------------------------------------------


async def test_beta_parts_modalities_temperature_and_param_names(make_server: MakeServer) -> None:
    server = await make_server(
        ScriptedEngine([Turn(None, "First."), Turn(None, "Second, in text.")]),
        dialect="openai_beta",
    )
    async with peer(server) as client:
        # Assistant parts are "text"/"audio" on the beta wire (the client dialect renames them).
        await client.send(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "Earlier answer."}],
                },
            }
        )
        created = await client.wait_for("conversation.item.created")
        assert created["item"]["content"] == [{"type": "text", "text": "Earlier answer."}]
        assistant = {"type": "message", "role": "assistant"}
        error = await client.error_for(
            {
                "type": "conversation.item.create",
                "item": {**assistant, "content": [{"type": "output_text", "text": "x"}]},
            }
        )
        assert (error["code"], error["param"]) == ("invalid_value", "item.content[0].type")
        assert error["message"] == (
            "Invalid value: 'output_text'. Supported values are: "
            "'input_text', 'input_audio', 'text', 'audio'."
        )
        image = {"type": "input_image", "image_url": "data:image/png;base64,AAAA"}
        error = await client.error_for(
            {
                "type": "conversation.item.create",
                "item": {"type": "message", "role": "user", "content": [image]},
            }
        )
        assert (error["code"], error["param"]) == ("invalid_value", "item.content[0].type")

        audio_turn = await text_turn(client)
        assert "response.audio.delta" in {e["type"] for e in audio_turn}
        assert audio_turn[-1]["response"]["output"][0]["content"][0]["type"] == "audio"

        text_events = await text_turn(client, "again", output_modalities=["text"])
        kinds = [e["type"] for e in text_events]
        assert "response.text.delta" in kinds and "response.text.done" in kinds
        assert not any(k.startswith("response.output_") and "item" not in k for k in kinds)
        response = text_events[-1]["response"]
        assert response["modalities"] == ["text"]
        assert response["output"][0]["content"] == [{"type": "text", "text": "Second, in text."}]

        # Flat names in errors too, even for rules the GA core enforces.
        error = await client.error_for({"type": "session.update", "session": {"voice": "ash"}})
        assert (error["code"], error["param"]) == ("cannot_update_voice", "session.voice")
        error = await client.error_for(
            {"type": "session.update", "session": {"modalities": ["audio"]}}
        )
        assert (error["code"], error["param"]) == ("invalid_value", "session.modalities")
        error = await client.error_for({"type": "session.update", "session": {"temperature": 2}})
        assert (error["code"], error["param"]) == ("decimal_above_max_value", "session.temperature")
        await client.send({"type": "session.update", "session": {"type": "realtime"}})
        await client.send_json({"type": "session.update", "session": {"temperature": 1.1}})
        updates = [await client.wait_for("session.updated") for _ in range(2)]
        assert [u["session"]["temperature"] for u in updates] == [0.8, 1.1]


@pytest.mark.parametrize("name", DIALECTS)
async def test_function_call_arguments_done_names_the_tool_where_the_dialect_does(
    make_server: MakeServer, name: str
) -> None:
    call = ToolCall("get_weather", json.dumps({"city": "Oslo"}))
    server = await make_server(ScriptedEngine([Turn("weather?", [call])]), dialect=name)
    async with peer(server) as client:
        events = await text_turn(client, "weather?")
        added = next(e for e in events if e["type"] == "response.output_item.added")
        assert added["item"]["name"] == "get_weather"
        done = next(e for e in events if e["type"] == "response.function_call_arguments.done")
        assert json.loads(done["arguments"]) == {"city": "Oslo"}
        assert ("name" in done) is (name not in ("openai_beta", "inworld"))


async def test_xai_pings_after_session_created_and_then_now_and_then(
    make_server: MakeServer,
) -> None:
    server = await make_server(dialect=XAIServerDialect(ping_interval_s=0.05))
    async with peer(server) as client:
        # As recorded: conversation.created, then a ping with a timestamp.
        assert (await client.recv())["type"] == "conversation.created"
        ping = await client.recv()
        assert ping["type"] == "ping" and isinstance(ping["timestamp"], int)
        await asyncio.sleep(0.3)
        pings = [e for e in await client.quiet(0.05) if e["type"] == "ping"]
        assert len(pings) >= 3
        assert client.dialect.canonical_type("ping") is None


async def test_xai_has_no_truncate_and_no_image_input(make_server: MakeServer) -> None:
    server = await make_server(dialect="xai")
    async with peer(server) as client:
        error = await client.error_for(
            {
                "type": "conversation.item.truncate",
                "item_id": "item_1",
                "content_index": 0,
                "audio_end_ms": 100,
            }
        )
        assert (error["code"], error["param"]) == ("invalid_value", "type")
        assert "conversation.item.truncate" not in error["message"].split("Supported")[1]
        image = {"type": "input_image", "image_url": "data:image/png;base64,AAAA"}
        item = {"type": "message", "role": "user", "content": [image]}
        error = await client.error_for({"type": "conversation.item.create", "item": item})
        assert (error["code"], error["param"]) == ("invalid_value", "item.content[0].type")
        error = await client.error_for({"type": "response.create", "response": {"input": [item]}})
        assert error["param"] == "response.input[0].content[0].type"
        assert "response.created" not in client.types()


async def test_xai_text_deltas_have_a_response_text_delta_twin(make_server: MakeServer) -> None:
    server = await make_server(
        ScriptedEngine([Turn("hi", "one two three four five six seven")]), dialect="xai"
    )
    async with peer(server) as client:
        await client.send(
            {
                "type": "session.update",
                "session": {"type": "realtime", "output_modalities": ["text"]},
            }
        )
        await client.wait_for("session.updated")
        events = await text_turn(client, "hi")
        kinds = [e["type"] for e in events]
        originals = [i for i, k in enumerate(kinds) if k == "response.output_text.delta"]
        assert len(originals) >= 2
        for index in originals:
            original, twin = events[index], events[index + 1]
            assert twin["type"] == "response.text.delta"
            assert twin["delta"] == original["delta"]
            assert twin["event_id"] != original["event_id"]
        assert kinds.count("response.text.delta") == len(originals)
        assert client.dialect.canonical_type("response.text.delta") is None  # deduped


async def test_inworld_pings_and_keeps_its_session_keys(make_server: MakeServer) -> None:
    server = await make_server(dialect="inworld")
    async with peer(server) as client:
        assert (await client.recv())["type"] == "ping"
        assert "providerData" not in client.session_created["session"]
        provider = {"tts": {"model": "inworld-tts-1"}, "memory": True}
        await client.send_json(
            {
                "type": "session.update",
                "session": {"type": "realtime", "model": "llama-3", "providerData": provider},
            }
        )
        first = (await client.wait_for("session.updated"))["session"]
        assert (first["model"], first["providerData"]) == ("llama-3", provider)
        error = await client.error_for(
            {"type": "session.update", "session": {"type": "realtime", "providerData": "x"}}
        )
        assert (error["code"], error["param"]) == ("invalid_type", "session.providerData")
        await client.send({"type": "session.update", "session": {"type": "realtime"}})
        second = (await client.wait_for("session.updated"))["session"]
        assert second["providerData"] == provider


async def test_azure_refuses_output_modalities_in_response_create(
    make_server: MakeServer,
) -> None:
    """As real Azure does (protocol notes; pipecat-ai/pipecat#4106, where pipecat's own
    Azure service sends them and fails): our client's Azure dialect leaves them out."""
    server = await make_server(ScriptedEngine([Turn(None, "In text.")]), dialect="azure")
    async with peer(server) as client:
        error = await client.error_for(
            {"type": "response.create", "response": {"output_modalities": ["text"]}}
        )
        assert (error["code"], error["param"]) == (
            "unknown_parameter",
            "response.output_modalities",
        )
        await client.quiet(0.05)
        assert "response.created" not in client.types()
        events = await text_turn(client, "hi", instructions="Be brief.")
        assert events[-1]["response"]["status"] == "completed"
        part = next(e for e in events if e["type"] == "response.content_part.added")
        assert part["content"] == part["part"]  # Azure repeats the part as ``content``
    assert client_dialect(server).capabilities.response_create_takes_modalities is False


@pytest.mark.parametrize("name", DIALECTS)
async def test_the_clients_own_connection_understands_every_event(
    make_server: MakeServer, name: str
) -> None:
    """The client's real I/O edge (dialect mapping + typed parsing) against each server."""
    engine = ScriptedEngine([Turn("hello", "Hi there."), Turn(None, [ToolCall("f", "{}")])])
    server = await make_server(engine, dialect=name, api_key="acct:secret")
    dialect = client_dialect(server)
    connection = RealtimeConnection(dialect, MODEL)
    warnings: list[str] = []
    sink = logger.add(warnings.append, level="WARNING")
    try:
        await connection.connect("acct:secret")
        audio_in = {"transcription": {"model": "m"}, "turn_detection": {"type": "server_vad"}}
        session = {"type": "realtime", "audio": {"input": audio_in}}
        # GA in: the connection reshapes the session for the dialect on the way out.
        await connection.send({"type": "session.update", "session": session})
        await connection.send(
            {"type": "input_audio_buffer.append", "audio": b64(tone(400) + silence(700))}
        )
        kinds: list[str] = []
        async for event in connection.events():
            kinds.append(type(event).__name__)
            if kinds.count("ResponseDone") == 1 and kinds[-1] == "ResponseDone":
                await connection.send({"type": "response.create"})
            elif kinds.count("ResponseDone") == 2:
                break
    finally:
        await connection.close()
        logger.remove(sink)
    assert warnings == []
    expected = {
        "SessionCreated",
        "SessionUpdated",
        "SpeechStarted",
        "SpeechStopped",
        "BufferCommitted",
        "ItemAdded",
        "ItemDone",
        "TranscriptionDelta",
        "TranscriptionCompleted",
        "ResponseCreated",
        "OutputItemAdded",
        "AudioDelta",
        "TranscriptDelta",
        "AudioDone",
        "TranscriptDone",
        "FunctionCallArgumentsDone",
        "ResponseDone",
    }
    if name in ("openai_beta", "xai"):  # neither sends conversation.item.done
        expected.remove("ItemDone")
    assert set(kinds) - {"Unknown"} == expected


def test_what_a_server_adds_or_renames_its_client_dialect_undoes() -> None:
    for name, cls in SERVER_DIALECTS.items():
        server: ServerDialect = cls()
        client = get_dialect(cls.client_dialect, base_url="wss://example.test/x")
        for ga_name, ours in server.event_names.items():
            if ours is not None and ours != "conversation.item.created":  # the core takes both
                assert client.canonical_type(ours) == ga_name, (name, ours)
        for twin in server.duplicated_events.values():
            assert client.canonical_type(twin) is None, (name, twin)
        extras = {"ping"} if server.pings else set()
        if server.cumulative_transcripts:
            extras.add("conversation.item.input_audio_transcription.updated")
        for extra in extras:
            assert client.canonical_type(extra) is None, (name, extra)
        assert client.capabilities.supports_truncate is (
            "conversation.item.truncate" not in server.unsupported_client_events
        )


# --- the command line ------------------------------------------------------------------------


async def test_serve_speaks_the_dialect_it_is_given() -> None:
    env = {**os.environ, "INWORLD_KEY": "acct:secret"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from realtime_llm.server.cli import main; raise SystemExit(main())",
        "serve",
        "--port",
        "0",
        "--dialect",
        "inworld",
        "--api-key-env",
        "INWORLD_KEY",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        assert process.stdout is not None
        url = ""
        while not url:
            line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
            assert line, "the server exited early"
            if "ws://" in line:
                url = line.split()[-1]
        assert "/api/v1/realtime/session?key=" in url and "protocol=realtime" in url
        headers = get_dialect("inworld").auth_headers("acct:secret")
        async with connect(url, additional_headers=headers) as ws:
            first = json.loads(await asyncio.wait_for(ws.recv(), 5))
            second = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert [first["type"], second["type"]] == ["session.created", "ping"]
    finally:
        process.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(process.wait(), 15)
    assert code == 0


@pytest.mark.parametrize("name", ["xai", "inworld"])
async def test_pcm_at_16_khz_both_ways_where_the_dialect_allows_it(
    make_server: MakeServer, name: str
) -> None:
    server = await make_server(ScriptedEngine([Turn("hello", "Hi.")]), dialect=name)
    async with peer(server) as client:
        pcm16k = {"type": "audio/pcm", "rate": 16000}
        audio = {"input": {"format": pcm16k}, "output": {"format": pcm16k}}
        session: Event = {"audio": audio, "turn_detection": {"type": "server_vad"}}
        if name == "inworld":
            session = {"type": "realtime", "audio": {**audio, "input": {**audio["input"]}}}
            session["audio"]["input"]["turn_detection"] = {"type": "server_vad"}
        await client.send_json({"type": "session.update", "session": session})
        echo = (await client.wait_for("session.updated"))["session"]
        assert echo["audio"]["input"]["format"] == echo["audio"]["output"]["format"] == pcm16k
        # 16 kHz in: these samples (a tone, then silence) last 0.4 s + 0.7 s at 16 kHz.
        await client.send_json(
            {"type": "input_audio_buffer.append", "audio": b64(tone(267) + silence(467))}
        )
        await client.wait_for("response.done")
        stopped = next(e for e in client.events if e["type"] == "input_audio_buffer.speech_stopped")
        # The tone ends at 400 ms, plus 500 ms of silence (read as 24 kHz: 267 + 500).
        assert 850 <= stopped["audio_end_ms"] <= 950
        # 16 kHz out: two thirds of the 24 kHz samples.
        out = b"".join(
            base64.b64decode(e["delta"])
            for e in client.events
            if e["type"] == "response.output_audio.delta"
        )
        assert out and len(out) == pytest.approx(len(tone_synthesize("Hi.")) * 2 / 3, rel=0.02)


async def test_ga_takes_24_khz_pcm_only(make_server: MakeServer) -> None:
    server = await make_server(dialect="ga")
    async with peer(server) as client:
        audio = {"input": {"format": {"type": "audio/pcm", "rate": 16000}}}
        error = await client.error_for(
            {"type": "session.update", "session": {"type": "realtime", "audio": audio}}
        )
        assert error["param"] == "session.audio.input.format.rate"
