"""``examples/local_server.py`` against a ``realtime-llm serve`` started as a user would,
and the examples' shared helper, which is not an example."""

from __future__ import annotations

import asyncio
import io
import signal
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[2] / "examples"
CLI = str(Path(sys.executable).with_name("realtime-llm"))


async def test_the_example_talks_to_a_running_realtime_llm_serve(tmp_path: Path) -> None:
    server = await asyncio.create_subprocess_exec(
        CLI, "serve", "--port", "0", "--chunk-interval", "0.01", stdout=asyncio.subprocess.PIPE
    )
    try:
        assert server.stdout is not None
        url = ""
        while not url:
            line = (await asyncio.wait_for(server.stdout.readline(), 60)).decode()
            assert line, "the server exited early"
            if "point your bot at" in line:
                url = line.split()[-1]  # as printed, with its ?model=... query
        bot = await asyncio.create_subprocess_exec(
            sys.executable,
            str(EXAMPLES / "local_server.py"),
            url,
            "--out",
            str(tmp_path / "reply.wav"),
            "--timeout",
            "60",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(bot.communicate(), 180)
    finally:
        server.send_signal(signal.SIGINT)
        await asyncio.wait_for(server.wait(), 15)
    text = out.decode()
    assert bot.returncode == 0, text + err.decode()
    assert "bot : Hello! How can I help you?" in text
    assert "user: what is the weather in paris" in text  # the speech engine heard it
    assert "bot : The weather in Paris: sunny, 21 degrees." in text
    assert (tmp_path / "reply.wav").stat().st_size > 48_000


def test_nothing_at_the_url_is_one_error_saying_what_was_tried(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(EXAMPLES / "local_server.py"), "ws://127.0.0.1:1/v1/realtime"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert run.returncode == 1
    assert "Traceback" not in run.stdout + run.stderr
    errors = [line for line in run.stdout.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1
    assert "nothing accepts connections on 127.0.0.1:1" in errors[0]
    assert "gave up after 5 attempts" in errors[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [([], "the following arguments are required: url"), (["http://x"], "not a WebSocket URL")],
)
def test_a_missing_or_wrong_url_is_a_usage_message(args: list[str], message: str) -> None:
    run = subprocess.run(
        [sys.executable, str(EXAMPLES / "local_server.py"), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0
    assert message in run.stderr
    assert "Traceback" not in run.stderr


def test_the_shared_helper_is_not_an_example_and_says_what_to_run() -> None:
    assert not (EXAMPLES / "voice_conversation.py").exists()
    run = subprocess.run(
        [sys.executable, str(EXAMPLES / "_conversation.py")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1
    assert "does nothing on its own" in run.stderr
    assert "examples/local_server.py" in run.stderr


class _Out(io.StringIO):
    def __init__(self, terminal: bool) -> None:
        super().__init__()
        self.terminal = terminal

    def isatty(self) -> bool:
        return self.terminal


@pytest.mark.parametrize("terminal", [True, False])
def test_progress_is_redrawn_on_a_terminal_and_plain_lines_elsewhere(terminal: bool) -> None:
    sys.path.insert(0, str(EXAMPLES))
    try:
        from _conversation import Transcript
    finally:
        sys.path.remove(str(EXAMPLES))
    out = _Out(terminal)
    transcript = Transcript(started=0.0, out=out)
    transcript.progress("waiting for the greeting")
    transcript.say("bot ", "Hello!")
    for seconds in (0.0, 0.1, 0.2):
        transcript.progress(f"user speaking: {seconds:3.1f} s of audio")
    transcript.finish("done")
    text = out.getvalue()
    if terminal:
        assert text.count("\r") == 6  # every line redrawn in place
    else:
        assert "\r" not in text
        lines = [line.split("  ", 1)[-1].strip() for line in text.splitlines()]
        assert lines == [
            "[waiting for the greeting]",
            "bot : Hello!",
            "[user speaking: 0.0 s of audio]",  # once per kind, not once per update
            "done",
        ]
