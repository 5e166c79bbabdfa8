"""Voices: the local server refuses a voice name its real counterpart does not have.

OpenAI (GA, Azure) answers an unknown voice with ``invalid_value`` naming
``session.audio.output.voice`` and listing the voices; the beta has fewer voices; xAI and
Inworld take custom voices, so any name goes there.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from websockets.asyncio.client import connect

from realtime_llm.dialects import get_dialect
from realtime_llm.server import LocalRealtimeServer

from .conftest import MakeServer
from .helpers import Client

GA_LIST = (
    "Supported values are: 'alloy', 'ash', 'ballad', 'coral', 'echo', 'sage', 'shimmer', "
    "'verse', 'marin' and 'cedar'."
)


@asynccontextmanager
async def speaking(server: LocalRealtimeServer) -> AsyncIterator[Client]:
    """A raw client of the server's dialect (URL, headers and session shape its own)."""
    dialect = get_dialect(server.dialect.client_dialect, base_url=server.url)
    headers = dialect.auth_headers("sk-voice-test")
    if server.dialect.name == "openai_beta":
        headers["OpenAI-Beta"] = "realtime=v1"
    async with connect(dialect.url("gpt-realtime"), additional_headers=headers) as ws:
        client = Client(ws)
        client.session_created = await client.wait_for("session.created")
        yield client


def _ga_voice(voice: Any) -> dict[str, Any]:
    return {"type": "realtime", "audio": {"output": {"voice": voice}}}


async def _reply(client: Client, event: dict[str, Any]) -> dict[str, Any]:
    await client.send_raw(json.dumps({**event, "event_id": "evt_voice"}))
    while True:
        reply = await client.recv()
        if reply["type"] in ("error", "session.updated", "response.created"):
            return reply


@pytest.mark.parametrize("name", ["ga", "azure"])
async def test_an_unknown_voice_is_refused_like_openai_does(
    make_server: MakeServer, name: str
) -> None:
    server = await make_server(dialect=name)
    async with speaking(server) as client:
        reply = await _reply(
            client, {"type": "session.update", "session": _ga_voice("darth_vader")}
        )
        assert reply["type"] == "error"
        error = reply["error"]
        assert (error["type"], error["code"]) == ("invalid_request_error", "invalid_value")
        assert error["param"] == "session.audio.output.voice"
        assert error["message"] == f"Invalid value: 'darth_vader'. {GA_LIST}"
        assert error["event_id"] == "evt_voice"
        # The session kept its voice; a known voice and a custom voice object are taken.
        for voice in ("marin", {"id": "voice_1234"}):
            update = {"type": "session.update", "session": _ga_voice(voice)}
            reply = await _reply(client, update)
            assert reply["type"] == "session.updated"
            assert reply["session"]["audio"]["output"]["voice"] == voice


async def test_a_response_with_an_unknown_voice_is_refused(make_server: MakeServer) -> None:
    server = await make_server()
    async with speaking(server) as client:
        create = {"type": "response.create", "response": _ga_voice("darth_vader")}
        create["response"].pop("type")
        reply = await _reply(client, create)
    assert reply["type"] == "error"
    assert reply["error"]["param"] == "response.audio.output.voice"
    assert reply["error"]["code"] == "invalid_value"


async def test_the_beta_has_fewer_voices_and_names_its_own_param(make_server: MakeServer) -> None:
    server = await make_server(dialect="openai_beta")
    async with speaking(server) as client:
        reply = await _reply(client, {"type": "session.update", "session": {"voice": "marin"}})
        assert reply["type"] == "error"
        assert reply["error"]["param"] == "session.voice"
        assert "'verse'." in reply["error"]["message"]  # the last of its eight
        reply = await _reply(client, {"type": "session.update", "session": {"voice": "verse"}})
        assert reply["type"] == "session.updated"


@pytest.mark.parametrize(
    ("name", "session"),
    [
        ("xai", {"voice": "my-cloned-voice"}),
        ("inworld", _ga_voice("my-cloned-voice")),
    ],
)
async def test_servers_with_custom_voices_take_any_name(
    make_server: MakeServer, name: str, session: dict[str, Any]
) -> None:
    server = await make_server(dialect=name)
    async with speaking(server) as client:
        reply = await _reply(client, {"type": "session.update", "session": session})
    assert reply["type"] == "session.updated"
