"""A hostile server through a real pipeline: oversize messages, echoed keys, bad URLs."""

from __future__ import annotations

from typing import Any

import pytest
from pipecat.frames.frames import ErrorFrame

from realtime_llm import InvalidSettingsError, RealtimeLLMService
from realtime_llm.transport.connection import DEFAULT_MAX_MESSAGE_BYTES

from .harness import running_bot, service_for, wait_for

KEY = "sk-test-SECRET-123"


def _error(message: str, code: str = "invalid_value") -> dict[str, Any]:
    return {
        "type": "error",
        "event_id": "evt_1",
        "error": {"type": "invalid_request_error", "code": code, "message": message},
    }


async def test_a_server_error_echoing_the_key_is_redacted(make_server: Any) -> None:
    server = await make_server()
    logged: list[str] = []
    from loguru import logger

    sink = logger.add(logged.append, level="DEBUG")
    try:
        async with running_bot(service_for(server.url, api_key=KEY)) as bot:
            await server.wait_for_sent("session.updated")
            await server.send_event(_error(f"Incorrect API key provided: {KEY}."))
            await wait_for(lambda: bot.up(ErrorFrame), what="the ErrorFrame")
    finally:
        logger.remove(sink)
    (frame,) = bot.up(ErrorFrame)
    assert KEY not in frame.error and "Incorrect API key provided: ***." in frame.error
    assert not [line for line in logged if KEY in line]


async def test_a_message_above_the_limit_is_refused_and_the_session_kept(
    make_server: Any,
) -> None:
    server = await make_server()
    async with running_bot(service_for(server.url)) as bot:
        await server.wait_for_sent("session.updated")
        await server.send_event(_error("x" * (DEFAULT_MAX_MESSAGE_BYTES + 1)))
        await wait_for(lambda: bot.up(ErrorFrame), what="the ErrorFrame")
        await server.wait_for_received("session.update", count=2)  # a new session
        assert bot.service.is_usable
    (frame,) = bot.up(ErrorFrame)
    assert f"{DEFAULT_MAX_MESSAGE_BYTES} byte limit" in frame.error


def test_a_key_over_ws_to_another_host_is_refused_at_construction() -> None:
    with pytest.raises(InvalidSettingsError, match="wss://") as raised:
        RealtimeLLMService(api_key=KEY, base_url="ws://api.example.invalid/v1/realtime")
    assert raised.value.field == "base_url" and KEY not in str(raised.value)
    RealtimeLLMService(api_key=KEY, base_url="ws://127.0.0.1:9/v1/realtime")  # loopback: fine


@pytest.mark.parametrize("url", ["https://api.openai.com/v1/realtime", "not a url", "wss://"])
def test_bad_base_urls_fail_at_construction(url: str) -> None:
    with pytest.raises(InvalidSettingsError) as raised:
        RealtimeLLMService(api_key=KEY, base_url=url)
    assert raised.value.field == "base_url"


async def test_a_flapping_server_exhausts_the_budget_with_one_fatal_error() -> None:
    from websockets.asyncio.server import ServerConnection, serve

    from realtime_llm.transport.reconnect import ReconnectPolicy

    dials: list[int] = []

    async def flap(ws: ServerConnection) -> None:
        dials.append(1)  # the upgrade succeeded; now go away at once
        await ws.close(1011, "flap")

    policy = ReconnectPolicy(base_delay_s=0.01, max_delay_s=0.02, max_connects=4)
    async with serve(flap, "127.0.0.1", 0) as raw:
        port = next(iter(raw.sockets)).getsockname()[1]
        service = service_for(f"ws://127.0.0.1:{port}/v1/realtime", reconnect_policy=policy)
        async with running_bot(service) as bot:
            await wait_for(lambda: bot.up(ErrorFrame), what="the fatal ErrorFrame")
            assert not bot.service.is_usable
    (frame,) = bot.up(ErrorFrame)
    assert "budget" in frame.error and "4 connection attempts within 60 s" in frame.error
    assert len(dials) == 4


async def test_a_rate_limit_is_waited_out_on_the_same_socket() -> None:
    import json

    from pipecat.frames.frames import LLMMessagesAppendFrame
    from websockets.asyncio.server import ServerConnection, serve

    dials: list[int] = []
    creates: list[dict[str, Any]] = []

    async def limited(ws: ServerConnection) -> None:
        dials.append(1)
        await ws.send(json.dumps({"type": "session.created", "event_id": "s0", "session": {}}))
        async for raw in ws:
            event = json.loads(raw)
            if event["type"] == "session.update":
                updated = {"type": "session.updated", "event_id": "s1", "session": {}}
                await ws.send(json.dumps(updated))
            elif event["type"] == "response.create":
                creates.append(event)
                if len(creates) == 1:
                    refusal = _error("Rate limit reached. Please try again in 20ms.")
                    refusal["error"]["code"] = "rate_limit_exceeded"
                    refusal["error"]["event_id"] = event["event_id"]
                    await ws.send(json.dumps(refusal))

    async with serve(limited, "127.0.0.1", 0) as raw:
        port = next(iter(raw.sockets)).getsockname()[1]
        async with running_bot(service_for(f"ws://127.0.0.1:{port}/v1/realtime")) as bot:
            await bot.queue(
                LLMMessagesAppendFrame(messages=[{"role": "user", "content": "Hi"}], run_llm=True)
            )
            await wait_for(lambda: len(creates) >= 2, what="the request asked again")
            assert bot.service.is_usable
    assert len(dials) == 1  # the socket was kept: no reconnect, no replay
    (frame,) = bot.up(ErrorFrame)
    assert "rate_limit_exceeded" in frame.error
