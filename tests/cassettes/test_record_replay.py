"""``realtime-llm record`` then ``serve --cassette``: a session of the local server, recorded
through the proxy and replayed, and the same bot passes against both. The cassette holds
no secret: the key is a recognizable fake one, looked for in the whole file."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import (
    ErrorFrame,
    Frame,
    FunctionCallResultFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMRunFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
)
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.llm_service import FunctionCallParams
from websockets.asyncio.client import connect
from websockets.datastructures import Headers
from websockets.exceptions import InvalidStatus

from realtime_llm import RealtimeLLMService
from realtime_llm.dialects import OpenAIDialect
from realtime_llm.server import LocalRealtimeServer, ScriptedEngine, ToolCall, Turn
from realtime_llm.server.cassette import REDACTED, Cassette
from realtime_llm.server.record import RecordingProxy, credentials_in
from realtime_llm.server.replay import CassetteServer

from ..pipecat.harness import running_bot, wait_for

KEY = "sk-test-SECRET-123"
WEATHER = FunctionSchema(
    name="get_weather", description="Weather", properties={"city": {"type": "string"}}, required=[]
)
KEY_FRAMES = (
    LLMFullResponseStartFrame,
    LLMFullResponseEndFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
    FunctionCallResultFrame,
)


@asynccontextmanager
async def _proxied(
    out: Path,
    engine: ScriptedEngine | None = None,
    proxy_options: dict[str, Any] | None = None,
    **server_options: Any,
) -> AsyncIterator[tuple[LocalRealtimeServer, RecordingProxy]]:
    """The local server as the upstream, and the recording proxy in front of it."""
    async with LocalRealtimeServer(engine, **server_options) as upstream:
        proxy = RecordingProxy(upstream.url, out, **(proxy_options or {}))
        async with proxy:
            yield upstream, proxy


async def _run_bot(url: str, key: str) -> tuple[list[str], list[Any], list[str]]:
    """The bot under test: a typed question, answered through a tool, then spoken."""

    async def get_weather(params: FunctionCallParams) -> None:
        await params.result_callback({"sky": "sunny"})

    service = RealtimeLLMService(dialect=OpenAIDialect(url), api_key=key)
    service.register_function("get_weather", get_weather)
    context = LLMContext(
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=ToolsSchema(standard_tools=[WEATHER]),
    )
    async with running_bot(service, context) as bot:
        await bot.queue(LLMRunFrame())
        await wait_for(lambda: len(bot.down(LLMFullResponseEndFrame)) >= 2, what="two replies")
        await wait_for(lambda: len(context.get_messages()) >= 4, what="the reply in the context")
    frames = [
        type(f).__name__
        for f in bot.downstream_of_llm.of(Frame, FrameDirection.DOWNSTREAM)
        if isinstance(f, KEY_FRAMES)
    ]
    errors = [str(e.error) for e in [*bot.up(ErrorFrame), *bot.down(ErrorFrame)]]
    return frames, context.get_messages(), errors


async def test_record_then_replay_round_trips(tmp_path: Path) -> None:
    out = tmp_path / "session.yaml"
    turns = [
        Turn(reply=ToolCall.of("get_weather", city="Paris")),
        Turn(reply="Sunny in Paris."),
    ]
    async with _proxied(out, ScriptedEngine(turns), api_key=KEY) as (upstream, proxy):
        live = await _run_bot(proxy.url, KEY)
        await wait_for(lambda: proxy.recorded == [out], what="the cassette")
    frames, _, errors = live
    assert errors == []
    assert frames.count("LLMFullResponseEndFrame") == 2
    assert "FunctionCallResultFrame" in frames

    text = out.read_text(encoding="utf-8")
    assert "SECRET" not in text and "sk-test" not in text
    cassette = Cassette.load(out)
    assert [i.data for i in cassette if i.direction == "sent"] == upstream.received
    assert len(cassette.events("received")) == len(upstream.sent)

    async with CassetteServer(out) as replay:
        replayed = await _run_bot(replay.url, "any-key")
    assert replay.divergences == []
    assert replay.finished
    assert replayed == live


async def test_a_key_echoed_anywhere_is_redacted(tmp_path: Path) -> None:
    """Header, Basic parts, query key, an error that quotes the key: none reaches the file."""
    out = tmp_path / "session.yaml"
    async with _proxied(out, proxy_options={"secrets": ["extra-SECRET-456"]}) as (upstream, proxy):
        url = f"{proxy.url}?model=gpt-realtime&key=query-SECRET-789"
        headers = {"Authorization": f"Bearer {KEY}"}
        async with connect(url, additional_headers=headers) as ws:
            assert json.loads(await ws.recv())["type"] == "session.created"
            await ws.send(
                json.dumps(
                    {
                        "type": "session.update",
                        "session": {
                            "type": "realtime",
                            "instructions": f"Never say {KEY} or extra-SECRET-456.",
                        },
                    }
                )
            )
            assert json.loads(await ws.recv())["type"] == "session.updated"
            message = f"Incorrect API key provided: {KEY}; see wss://x/?key=query-SECRET-789"
            await upstream.send_event(
                {
                    "type": "error",
                    "error": {"type": "invalid_request_error", "message": message},
                }
            )
            echoed = json.loads(await ws.recv())
            assert KEY in echoed["error"]["message"]  # forwarded unchanged to the bot
        await wait_for(lambda: proxy.recorded == [out], what="the cassette")
    text = out.read_text(encoding="utf-8")
    assert "SECRET" not in text
    error = Cassette.load(out).events("received")[-1]
    assert error["error"]["message"] == (
        f"Incorrect API key provided: {REDACTED}; see wss://x/?key={REDACTED}"
    )


async def test_a_refused_key_is_the_same_http_status_for_the_bot(tmp_path: Path) -> None:
    async with _proxied(tmp_path / "s.yaml", api_key=KEY) as (_, proxy):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(proxy.url, additional_headers={"Authorization": "Bearer no"}):
                pass
    assert refused.value.response.status_code == 401


@pytest.mark.parametrize("keep_audio", [False, True])
async def test_audio_is_cut_unless_kept(tmp_path: Path, keep_audio: bool) -> None:
    out = tmp_path / "session.yaml"
    audio = base64.b64encode(bytes(4800)).decode()  # 100 ms of PCM16 silence
    async with _proxied(out, proxy_options={"keep_audio": keep_audio}) as (upstream, proxy):
        async with connect(proxy.url) as ws:
            await ws.recv()
            await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": audio}))
            await upstream.wait_for_received("input_audio_buffer.append")
        await wait_for(lambda: proxy.recorded == [out], what="the cassette")
    assert upstream.received[0]["audio"] == audio  # forwarded whole either way
    recorded = Cassette.load(out).events("sent")[0]["audio"]
    assert len(base64.b64decode(recorded)) == (4800 if keep_audio else 32)


async def test_a_reconnect_is_a_second_cassette(tmp_path: Path) -> None:
    out = tmp_path / "session.yaml"
    async with _proxied(out) as (_, proxy):
        for _ in range(2):
            async with connect(proxy.url) as ws:
                await ws.recv()
        await wait_for(lambda: len(proxy.recorded) == 2, what="two cassettes")
    assert proxy.recorded == [out, tmp_path / "session-2.yaml"]
    assert all(Cassette.load(p).events("received") for p in proxy.recorded)


async def _url_from(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    while True:
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        assert line, "the command exited early"
        if "point your bot at:" in line:
            return line.split()[-1]


async def _cli(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from realtime_llm.server.cli import main; raise SystemExit(main())",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(os.environ),
    )


async def _stop(process: asyncio.subprocess.Process) -> int:
    process.send_signal(signal.SIGINT)
    return await asyncio.wait_for(process.wait(), 15)


async def test_the_commands_record_and_serve_a_cassette(tmp_path: Path) -> None:
    out = tmp_path / "session.yaml"
    update = {"type": "session.update", "session": {"type": "realtime", "instructions": "Hi."}}
    async with LocalRealtimeServer() as upstream:
        record = await _cli("record", "--upstream", upstream.url, "--out", str(out), "--port", "0")
        try:
            url = await _url_from(record)
            async with connect(url, additional_headers={"Authorization": f"Bearer {KEY}"}) as ws:
                assert json.loads(await ws.recv())["type"] == "session.created"
                await ws.send(json.dumps(update))
                assert json.loads(await ws.recv())["type"] == "session.updated"
            await wait_for(out.exists, what="the cassette")
        finally:
            assert await _stop(record) == 0
    assert "SECRET" not in out.read_text(encoding="utf-8")

    serve = await _cli("serve", "--cassette", str(out), "--port", "0")
    try:
        url = await _url_from(serve)
        async with connect(url) as ws:
            assert json.loads(await ws.recv())["type"] == "session.created"
            await ws.send(json.dumps({"type": "response.create"}))  # not what was recorded
            error = json.loads(await ws.recv())
            assert error["type"] == "error"
            assert error["error"]["code"] == "cassette_mismatch"
            assert "expected session.update, got response.create" in error["error"]["message"]
            await ws.send(json.dumps(update))  # back on the recording
            assert json.loads(await ws.recv())["type"] == "session.updated"
    finally:
        assert await _stop(serve) == 0


async def test_an_unreachable_upstream_is_a_502_for_the_bot(tmp_path: Path) -> None:
    async with LocalRealtimeServer() as gone:
        url = gone.url  # a port that nothing listens on once this server stopped
    async with RecordingProxy(url, tmp_path / "s.yaml", open_timeout=2.0) as proxy:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(proxy.url):
                pass
    assert refused.value.response.status_code == 502
    assert proxy.recorded == []


def test_the_upstream_must_be_a_websocket_url(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ws:// or wss://"):
        RecordingProxy("https://api.openai.com/v1/realtime", tmp_path / "s.yaml")


def test_every_credential_form_in_a_handshake_is_found() -> None:
    basic = base64.b64encode(b"inworld-id:inworld-SECRET").decode()
    headers = Headers(
        [
            ("Authorization", f"Basic {basic}"),
            ("api-key", "azure-SECRET-key"),
            ("Sec-WebSocket-Protocol", "realtime, openai-insecure-api-key.sk-proto-SECRET"),
            ("User-Agent", "a-bot/1.0"),
        ]
    )
    found = credentials_in(headers, "model=gpt-realtime&key=query-SECRET&protocol=realtime")
    assert found == {
        f"Basic {basic}",
        basic,
        "inworld-id:inworld-SECRET",
        "inworld-id",
        "inworld-SECRET",
        "azure-SECRET-key",
        "sk-proto-SECRET",
        "query-SECRET",
    }


async def test_debug_logs_of_the_proxy_hold_no_secret(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="realtime_llm.server.record.websockets")
    async with _proxied(tmp_path / "s.yaml") as (upstream, proxy):
        url = f"{proxy.url}?model=gpt-realtime&key=query-SECRET-789"
        async with connect(url, additional_headers={"Authorization": f"Bearer {KEY}"}) as ws:
            await ws.recv()
            await upstream.send_event({"type": "error", "error": {"message": f"bad key {KEY}?"}})
            assert KEY in json.loads(await ws.recv())["error"]["message"]
        await wait_for(lambda: proxy.recorded != [], what="the cassette")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "GET /v1/realtime?model=gpt-realtime&key=[redacted]" in logged  # handshakes...
    assert "Authorization: [redacted]" in logged
    assert re.search(r"TEXT \[\d+ bytes\]", logged)  # ...and frames, without their content
    assert "SECRET" not in logged
