"""Fixtures for the integration tests: a local server whose traffic is checked afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
from loguru import logger

from realtime_llm.server import LocalRealtimeServer, ScriptedEngine

from ..conformance import assert_client_events_valid, assert_server_events_valid

ServerFactory = Callable[..., Any]


@pytest.fixture
async def make_server() -> AsyncIterator[ServerFactory]:
    """Start local servers on 127.0.0.1; at teardown, every event both ways must be valid GA."""
    servers: list[LocalRealtimeServer] = []
    async with AsyncExitStack() as stack:

        async def start(turns: Any = (), **options: Any) -> LocalRealtimeServer:
            engine = options.pop("engine", None) or ScriptedEngine(turns)
            server = await stack.enter_async_context(LocalRealtimeServer(engine, **options))
            servers.append(server)
            return server

        yield start
    for server in servers:
        dialect = server.dialect.name
        assert assert_client_events_valid(server.received, dialect) > 0
        assert assert_server_events_valid(server.sent, dialect) > 0


@pytest.fixture
def warnings_logged() -> Iterator[list[str]]:
    """Messages loguru logs at WARNING or above while the test runs."""
    messages: list[str] = []
    sink = logger.add(lambda m: messages.append(str(m.record["message"])), level="WARNING")
    yield messages
    logger.remove(sink)
