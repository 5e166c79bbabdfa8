"""Fixtures for the local server tests.

``make_server`` starts real servers on 127.0.0.1 and, when the test ends, checks every
event each of them sent against the openai package's ``RealtimeServerEvent`` (strictly:
no unknown fields), or the reference of the server's dialect (the beta models for
``openai_beta``). So every test here is also a conformance test of what it provoked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from realtime_llm.server import Engine, LocalRealtimeServer, ScriptedEngine

from .helpers import assert_server_event

MakeServer = Callable[..., Awaitable[LocalRealtimeServer]]


@pytest.fixture
async def make_server() -> AsyncIterator[MakeServer]:
    servers: list[LocalRealtimeServer] = []

    async def start(engine: Engine | None = None, **options: Any) -> LocalRealtimeServer:
        options.setdefault("chunk_interval_s", 0.0)
        server = LocalRealtimeServer(engine if engine is not None else ScriptedEngine(), **options)
        servers.append(await server.start())
        return server

    yield start
    for server in servers:
        await server.stop()
    for server in servers:
        for event in server.sent:
            assert_server_event(event, server.dialect.name)


@pytest.fixture
async def server(make_server: MakeServer) -> LocalRealtimeServer:
    """A server with an empty script: every reply is the fallback text."""
    return await make_server()
