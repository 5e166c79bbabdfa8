"""``realtime-llm serve`` as a user runs it: a subprocess that prints its URL."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from realtime_llm.server.cli import load_script


def test_load_script(tmp_path: Path) -> None:
    script = tmp_path / "turns.json"
    script.write_text(
        json.dumps(
            [
                {
                    "user": "weather?",
                    "reply": {"tool": "get_weather", "arguments": {"city": "Oslo"}},
                },
                {"user": None, "reply": "Cold."},
            ]
        )
    )
    first, second = load_script(script)
    assert first.user == "weather?"
    assert [c.name for c in first.reply] == ["get_weather"]  # type: ignore[union-attr]
    assert (second.user, second.reply) == (None, "Cold.")


async def test_serve_prints_a_url_that_works_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    script = tmp_path / "turns.json"
    script.write_text(json.dumps([{"user": "hi", "reply": "Hello from the script."}]))
    env = {**os.environ, "LOCAL_KEY": "sk-cli-test"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from realtime_llm.server.cli import main; raise SystemExit(main())",
        "serve",
        "--port",
        "0",
        "--engine",
        "scripted-echo",
        "--script",
        str(script),
        "--api-key-env",
        "LOCAL_KEY",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        url = ""
        assert process.stdout is not None
        while not url:
            line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
            assert line, "the server exited early"
            if "ws://" in line:
                url = line.split()[-1]
        assert "sk-cli-test" not in line
        headers = {"Authorization": "Bearer sk-cli-test"}
        async with connect(url, additional_headers=headers) as ws:
            created = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert created["type"] == "session.created"
    finally:
        process.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(process.wait(), 15)
    assert code == 0


@pytest.mark.parametrize("args", [["serve", "--engine", "nope"], []])
def test_bad_arguments_exit_with_usage(args: list[str]) -> None:
    from realtime_llm.server.cli import main

    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2
