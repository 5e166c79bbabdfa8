"""A test double for bots: ``local_realtime_server(turns=[...])``, no pytest required.

::

    from realtime_llm.server import Turn, ToolCall, local_realtime_server

    async def test_my_bot() -> None:
        turns = [Turn(user="Hi!", reply="Hello, how can I help?")]
        async with local_realtime_server(turns) as server:
            await run_my_bot(url=server.url)
        assert any(e["type"] == "response.done" for e in server.sent)

It is an ``async with`` block so that it works with any test runner (pytest-asyncio,
anyio, unittest's ``IsolatedAsyncioTestCase``) and in plain scripts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from .app import LocalRealtimeServer
from .engine import Engine
from .scripted import ReplyLike, ScriptedEngine, Turn

__all__ = ["local_realtime_server"]


@asynccontextmanager
async def local_realtime_server(
    turns: Iterable[Turn | tuple[str | None, ReplyLike]] = (),
    *,
    engine: Engine | None = None,
    fallback: str = "I have nothing more to say.",
    **server_options: Any,
) -> AsyncIterator[LocalRealtimeServer]:
    """A started :class:`LocalRealtimeServer` playing ``turns`` (or running ``engine``).

    ``server_options`` go to :class:`LocalRealtimeServer` (``chunk_interval_s``,
    ``api_key``, ``dialect``, ...). The server stops when the block exits.
    """
    chosen = engine if engine is not None else ScriptedEngine(turns, fallback=fallback)
    async with LocalRealtimeServer(chosen, **server_options) as server:
        yield server
