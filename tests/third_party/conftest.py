"""Local servers for third-party clients.

Unlike the pipeline tests' fixture, this one does not hold the traffic to the GA typed
models: a third-party client speaks its own provider's dialect (pipecat's Grok service
sends xAI's shapes), and the local server is what is being judged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest

from realtime_llm.server import LocalRealtimeServer, ScriptedEngine


@pytest.fixture
async def make_server() -> AsyncIterator[Callable[..., Any]]:
    async with AsyncExitStack() as stack:

        async def start(turns: Any = (), **options: Any) -> LocalRealtimeServer:
            engine = options.pop("engine", None) or ScriptedEngine(turns)
            return await stack.enter_async_context(LocalRealtimeServer(engine, **options))

        yield start
