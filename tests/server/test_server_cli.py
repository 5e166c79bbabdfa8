"""``realtime-llm serve`` as a user runs it: the console script, in a subprocess.

Every wrong input a new user tries must give one line saying what is wrong and what to do,
never a traceback: exit status 2 for arguments argparse refuses, 1 for what is found later
(a port in use, a script that is not JSON).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from realtime_llm.server.cli import load_script
from realtime_llm.server.script_file import ScriptError, parse_script

CLI = str(Path(sys.executable).with_name("realtime-llm"))
HIDE_POCKETSPHINX = (
    "import sys; sys.modules['pocketsphinx'] = None;"  # as if the speech extra were missing
    "from realtime_llm.server.cli import main; raise SystemExit(main())"
)


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run a command that is expected to fail before serving."""
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=timeout)


@asynccontextmanager
async def serving(
    *args: str,
    command: tuple[str, ...] = (CLI,),
    env: dict[str, str] | None = None,
    stop_with: signal.Signals = signal.SIGINT,
    sigint_ignored: bool = False,
) -> AsyncIterator[tuple[str, list[str]]]:
    """Start ``realtime-llm serve ...``; yield its URL and banner; stop it with Ctrl-C
    (or ``stop_with``). ``sigint_ignored`` starts it as a shell without job control starts
    a background job: with SIGINT ignored."""
    process = await asyncio.create_subprocess_exec(
        *command,
        "serve",
        "--port",
        "0",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        preexec_fn=_ignore_sigint if sigint_ignored else None,
    )
    banner: list[str] = []
    try:
        assert process.stdout is not None
        url = ""
        while not url:
            line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
            assert line, "the server exited early"
            banner.append(line.rstrip("\n"))
            if "point your bot at" in line:
                url = line.split()[-1].split("?")[0]
        while not banner[-1].endswith("Ctrl-C to stop"):
            banner.append((await process.stdout.readline()).decode().rstrip("\n"))
        yield url, banner
    finally:
        process.send_signal(stop_with)
        try:
            code = await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            raise AssertionError(f"the server did not stop on {stop_with.name}") from None
        assert process.stderr is not None
        errors = (await process.stderr.read()).decode()
    assert code == 0, errors
    assert "Traceback" not in errors
    assert "realtime-llm: stopped" in errors


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def assert_one_clear_line(run: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    assert run.returncode == code, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    message = run.stderr.strip().splitlines()[-1]
    for needle in needles:
        assert needle in message, message


# -- scripts ---------------------------------------------------------------------------------


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


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1,", "not valid JSON: Expecting value at line 1, column 4"),
        ('{"user": "hi"}', "a script is a JSON list of turns, not dict"),
        ('[{"usr": "hi", "reply": "x"}]', "turn 1: unknown key(s) 'usr'; a turn has 'user'"),
        ('[{"reply": "a"}, "hi"]', "turn 2: a turn is an object"),
        ('[{"user": 3}]', "turn 1: 'user' must be text or null"),
        ('[{"reply": {"name": "f"}}]', "turn 1: 'reply': unknown key(s) 'name'"),
        ('[{"reply": {"tool": ""}}]', "'tool' must be the function's name"),
        ('[{"reply": {"tool": "f", "arguments": [1]}}]', "'arguments' must be a JSON object"),
        ('[{"reply": [{"tool": "f"}, 7]}]', "turn 1: 'reply'[1]: a tool call is an object"),
        ('[{"reply": 42}]', "a reply is text, a tool call or a list of tool calls"),
    ],
)
def test_script_mistakes_name_the_turn_and_the_key(text: str, message: str) -> None:
    with pytest.raises(ScriptError) as caught:
        parse_script(text, "turns.json")
    assert str(caught.value).startswith("turns.json")
    assert message in str(caught.value)


# -- wrong input on the command line ------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "70000"], "argument --port: 70000 is not a port (0-65535"),
        (["--port", "-1"], "argument --port: -1 is not a port"),
        (["--port", "http"], "argument --port: not a port number: 'http'"),
        (["--chunk-interval", "-1"], "argument --chunk-interval: -1 is not within 0..10"),
        (["--chunk-interval", "nan"], "argument --chunk-interval: nan is not within 0..10"),
        (["--engine", "nope"], "argument --engine: invalid choice: 'nope'"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(args: list[str], message: str) -> None:
    assert_one_clear_line(run_cli("serve", *args), 2, message)


def test_no_command_exits_2_with_usage() -> None:
    run = run_cli()
    assert run.returncode == 2
    assert "usage: realtime-llm" in run.stderr


def test_a_port_in_use_says_so_and_how_to_pick_another() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        run = run_cli("serve", "--engine", "rules", "--port", port)
    assert_one_clear_line(
        run, 1, f"cannot listen on 127.0.0.1:{port}", "in use", "--port 0 picks a free one"
    )


@pytest.mark.parametrize("host", ["192.0.2.1", "no-such-host.invalid"])
def test_a_host_it_cannot_bind_says_which_hosts_work(host: str) -> None:
    run = run_cli("serve", "--engine", "rules", "--port", "0", "--host", host)
    assert_one_clear_line(run, 1, f"cannot listen on {host}:0", "--host 127.0.0.1")


def test_script_errors_from_the_command_line(tmp_path: Path) -> None:
    not_json = tmp_path / "turns.json"
    not_json.write_text("user: hi\n")
    assert_one_clear_line(
        run_cli("serve", "--engine", "scripted-echo", "--script", str(not_json)),
        1,
        f"{not_json} is not valid JSON",
    )
    assert_one_clear_line(
        run_cli("serve", "--engine", "scripted-echo", "--script", str(tmp_path / "missing.json")),
        1,
        "cannot read the script",
        "No such file",
    )
    assert_one_clear_line(
        run_cli("serve", "--engine", "scripted-echo", "--script", '[{"usr": "hi"}]'),
        1,
        "the inline script: turn 1: unknown key(s) 'usr'",
    )


def test_options_that_would_be_ignored_are_refused() -> None:
    assert_one_clear_line(
        run_cli("serve", "--engine", "rules", "--script", "[]"),
        1,
        "--script needs --engine scripted-echo or --engine speech",
    )
    assert_one_clear_line(
        run_cli("serve", "--engine", "scripted-echo", "--phrase", "tell me a joke"),
        1,
        "--phrase is for --engine speech",
    )


def test_a_missing_api_key_variable_is_one_line() -> None:
    env_name = "REALTIME_LLM_TEST_UNSET_KEY"
    assert env_name not in os.environ
    assert_one_clear_line(
        run_cli("serve", "--engine", "rules", "--api-key-env", env_name),
        1,
        f"environment variable {env_name} is not set",
    )


def test_speech_without_the_extra_says_how_to_install_it_both_ways() -> None:
    run = subprocess.run(
        [sys.executable, "-c", HIDE_POCKETSPHINX, "serve", "--engine", "speech", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert_one_clear_line(
        run,
        1,
        "pocketsphinx (speech recognition)",
        'pip install -e ".[speech]"',
        'pip install "pipecat-realtime-llm[speech]"',
    )


# -- serving ---------------------------------------------------------------------------------


async def test_serve_prints_a_url_that_works_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    script = tmp_path / "turns.json"
    script.write_text(json.dumps([{"user": "hi", "reply": "Hello from the script."}]))
    env = {**os.environ, "LOCAL_KEY": "sk-cli-test"}
    args = ("--engine", "scripted-echo", "--script", str(script), "--api-key-env", "LOCAL_KEY")
    async with serving(*args, env=env) as (url, banner):
        assert banner[0] == "realtime-llm: GA dialect, engine scripted-echo"
        assert "plays 1 scripted turn(s)" in banner[1]
        assert not any("sk-cli-test" in line for line in banner)
        headers = {"Authorization": "Bearer sk-cli-test"}
        async with connect(url, additional_headers=headers) as ws:
            created = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert created["type"] == "session.created"


@pytest.mark.parametrize(
    ("stop_with", "sigint_ignored"),
    [(signal.SIGINT, True), (signal.SIGTERM, False)],
    ids=["ctrl-c-in-a-background-job", "sigterm"],
)
async def test_serve_stops_cleanly_on_ctrl_c_and_sigterm_whatever_it_inherited(
    stop_with: signal.Signals, sigint_ignored: bool
) -> None:
    """A background job of a script inherits SIGINT ignored, and ``docker stop`` sends
    SIGTERM: either way the server shuts down cleanly (``serving`` checks exit 0)."""
    args = ("--engine", "rules")
    server = serving(*args, stop_with=stop_with, sigint_ignored=sigint_ignored)
    async with server as (url, _), connect(url) as ws:
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "session.created"


async def test_without_engine_the_speech_extra_runs_and_hears_the_scripts_lines() -> None:
    """The default engine is speech (installed with the test extra); the banner says so,
    and a scripted line outside the demo's phrases is heard exactly."""
    from realtime_llm.server.speech import EspeakSynthesizer

    line = "book me a flight to rome"
    script = json.dumps([{"user": line, "reply": "Booked."}])
    async with serving("--script", script, "--phrase", "tell me a joke") as (url, banner):
        assert banner[0].endswith("engine speech (the default: the speech extra is installed)")
        assert "pocketsphinx listening for 2 phrases" in banner[1]
        assert "plays the script (1 turn(s))" in banner[1]
        speech = bytes(9600) + EspeakSynthesizer()(line) + bytes(24000)
        async with connect(url) as ws:
            update = {
                "type": "session.update",
                "session": {
                    "type": "realtime",
                    "audio": {
                        "input": {"transcription": {"model": "local"}, "turn_detection": None}
                    },
                },
            }
            await ws.send(json.dumps(update))
            audio = base64.b64encode(speech).decode()
            await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": audio}))
            await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
            while True:
                event = json.loads(await asyncio.wait_for(ws.recv(), 20))
                if event["type"] == "conversation.item.input_audio_transcription.completed":
                    break
    assert event["transcript"] == line


async def test_without_the_speech_extra_the_banner_says_rules_and_how_to_get_speech() -> None:
    async with serving(command=(sys.executable, "-c", HIDE_POCKETSPHINX)) as (url, banner):
        assert banner[0].endswith("engine rules (the default without the speech extra)")
        assert "spoken audio is not understood" in banner[1]
        assert 'pip install -e ".[speech]"' in banner[1]
        async with connect(url) as ws:
            created = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert created["type"] == "session.created"
