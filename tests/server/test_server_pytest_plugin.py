"""The fixture users get from ``realtime_llm.server.pytest_plugin``, used as they would."""

from __future__ import annotations

import json
from typing import Any

from websockets.asyncio.client import connect

from realtime_llm.server import Turn

pytest_plugins = ["realtime_llm.server.pytest_plugin"]


async def test_fixture_starts_a_scripted_server(realtime_server: Any) -> None:
    server = await realtime_server([Turn(reply="Hello from the fixture.")], dialect="xai")
    assert server.url.startswith("ws://127.0.0.1:")
    async with connect(server.url + "?model=m") as ws:
        first = json.loads(await ws.recv())
        assert first["type"] == "session.created"
        await ws.send(json.dumps({"type": "response.create"}))
        while True:
            event = json.loads(await ws.recv())
            if event["type"] == "response.done":
                break
    assert any(e.get("type") == "response.create" for e in server.received)
