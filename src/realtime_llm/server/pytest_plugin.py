"""Pytest fixtures for bot tests: ``realtime_server`` (a started local server) and
``realtime_cassette`` (a recorded session, replayed).

Enable it in a ``conftest.py`` (it needs ``pytest-asyncio``)::

    pytest_plugins = ["realtime_llm.server.pytest_plugin"]

    async def test_greeting(realtime_server) -> None:
        server = await realtime_server([Turn(reply="Hello!")])
        ...  # point RealtimeLLMService(dialect="local", base_url=server.url) at it

``realtime_server(turns=(), **options)`` starts a :class:`LocalRealtimeServer` playing
``turns`` (``options`` go to the server: ``dialect``, ``chunk_interval_s``, ``engine``...)
and stops every server it started when the test ends.

``realtime_cassette(cassette, *, strict=True, **options)`` starts a
:class:`~realtime_llm.server.replay.CassetteServer` replaying ``cassette`` (a path or a
:class:`~realtime_llm.server.cassette.Cassette`; ``options``: ``host``, ``port``, ``path``).
With ``strict``, the test fails at teardown if the bot left the recording anywhere, with
each divergence (which event, expected and sent)::

    async def test_bot_against_the_recording(realtime_cassette) -> None:
        server = await realtime_cassette("tests/cassettes/weather.yaml")
        ...  # point the bot at server.url, with its usual dialect
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from .app import LocalRealtimeServer
from .cassette import Cassette
from .replay import CassetteServer
from .scripted import ReplyLike, Turn
from .testing import local_realtime_server

__all__ = ["realtime_cassette", "realtime_server"]

StartServer = Callable[..., Awaitable[LocalRealtimeServer]]
StartReplay = Callable[..., Awaitable[CassetteServer]]


@pytest_asyncio.fixture
async def realtime_server() -> AsyncIterator[StartServer]:
    """Start local realtime servers for one test; all are stopped when it ends."""
    async with AsyncExitStack() as stack:

        async def start(
            turns: Iterable[Turn | tuple[str | None, ReplyLike]] = (), **options: Any
        ) -> LocalRealtimeServer:
            return await stack.enter_async_context(local_realtime_server(turns, **options))

        yield start


@pytest_asyncio.fixture
async def realtime_cassette() -> AsyncIterator[StartReplay]:
    """Start cassette replay servers for one test; all are stopped when it ends, and a
    strict one fails the test if the client diverged from its recording."""
    strict_servers: list[CassetteServer] = []
    async with AsyncExitStack() as stack:

        async def start(
            cassette: Cassette | str | Path, *, strict: bool = True, **options: Any
        ) -> CassetteServer:
            server = await stack.enter_async_context(CassetteServer(cassette, **options))
            if strict:
                strict_servers.append(server)
            return server

        yield start
    problems = [str(d) for server in strict_servers for d in server.divergences]
    if problems:
        pytest.fail("the client diverged from the cassette:\n  " + "\n  ".join(problems))
