"""A pytest fixture for bot tests: ``realtime_server``, a started local server.

Enable it in a ``conftest.py`` (it needs ``pytest-asyncio``)::

    pytest_plugins = ["realtime_llm.server.pytest_plugin"]

    async def test_greeting(realtime_server) -> None:
        server = await realtime_server([Turn(reply="Hello!")])
        ...  # point RealtimeLLMService(dialect="local", base_url=server.url) at it

``realtime_server(turns=(), **options)`` starts a :class:`LocalRealtimeServer` playing
``turns`` (``options`` go to the server: ``dialect``, ``chunk_interval_s``, ``engine``...)
and stops every server it started when the test ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AsyncExitStack
from typing import Any

import pytest_asyncio

from .app import LocalRealtimeServer
from .scripted import ReplyLike, Turn
from .testing import local_realtime_server

__all__ = ["realtime_server"]

StartServer = Callable[..., Awaitable[LocalRealtimeServer]]


@pytest_asyncio.fixture
async def realtime_server() -> AsyncIterator[StartServer]:
    """Start local realtime servers for one test; all are stopped when it ends."""
    async with AsyncExitStack() as stack:

        async def start(
            turns: Iterable[Turn | tuple[str | None, ReplyLike]] = (), **options: Any
        ) -> LocalRealtimeServer:
            return await stack.enter_async_context(local_realtime_server(turns, **options))

        yield start
