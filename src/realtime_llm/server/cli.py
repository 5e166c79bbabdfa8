"""``realtime-llm serve``: run the local Realtime server from a shell, for demos and bots.

::

    realtime-llm serve                         # speech if the [speech] extra is installed
    realtime-llm serve --engine rules --port 8766
    realtime-llm serve --script turns.json --phrase "tell me a joke"
    realtime-llm serve --engine scripted-echo --script '[{"user": "hi", "reply": "Hello!"}]'
    realtime-llm serve --dialect xai
    realtime-llm serve --cassette session.yaml   # replay a recorded session
    realtime-llm record --upstream wss://api.openai.com/v1/realtime --out session.yaml

It prints which engine runs and the URL to give a bot (as its base URL / websocket URL),
and serves until Ctrl-C. Without ``--engine`` it runs ``speech`` when the speech extra is
installed (``rules``, or ``scripted-echo`` with a script, otherwise). Mistakes (a port in
use or out of range, a script that is not JSON or has unknown keys, ``--script`` with the
rules engine, a negative ``--chunk-interval``...) are one line on stderr, never a traceback:
exit status 2 for bad arguments, 1 for anything found later.
``--dialect`` picks the server of the family to imitate (``ga``, the default, which OpenAI
GA and ``local`` clients speak; ``openai_beta``, ``azure``, ``xai``, ``inworld``): its
URL path, handshake, session shape and event names.
A script (a file, or inline JSON) is a JSON list of turns: ``{"user": "text or null",
"reply": "text"}`` or ``{"user": ..., "reply": {"tool": "get_weather", "arguments":
{"city": "Paris"}}}`` (see :mod:`.script_file`). With ``--engine speech`` the script is the
brain, and the recognizer listens for its user lines, ``--phrase`` sentences and the
session's tools.
To require a key, name an environment variable holding it with ``--api-key-env`` (a key
on the command line would show in the process list).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._cassette_cli import add_record_command, record, replay
from ._signals import until_stopped
from .app import LocalRealtimeServer
from .dialects import SERVER_DIALECTS, ServerDialect
from .engine import Engine
from .rules import RuleEngine
from .script_file import ScriptError, load_script, read_script
from .scripted import ScriptedEngine, Turn

__all__ = ["CliError", "load_script", "main"]


class CliError(Exception):
    """A mistake on the command line or in its files: one line for the user, no traceback."""


def _speech_installed() -> bool:
    from .speech._deps import missing

    return not missing()


def _engine_name(args: argparse.Namespace) -> str:
    """The engine to run: the one asked for, else speech when its extra is installed."""
    if args.engine is not None:
        return str(args.engine)
    if _speech_installed():
        return "speech"
    return "scripted-echo" if args.script is not None else "rules"


def _turns(args: argparse.Namespace) -> list[Turn]:
    try:
        return read_script(args.script) if args.script is not None else []
    except ScriptError as exc:
        raise CliError(str(exc)) from None


def _engine(args: argparse.Namespace, name: str) -> tuple[Engine, str]:
    """The engine, and the banner line that says what it does."""
    if name == "rules":
        if args.script is not None:
            raise CliError(
                "--script needs --engine scripted-echo or --engine speech "
                "(the rules engine plays no script)"
            )
        hint = "" if _speech_installed() else f"; for real speech install the extra: {_hint()}"
        return RuleEngine(), (
            "rules: weather/time tool calls, echo otherwise, tone audio; "
            f"spoken audio is not understood{hint}"
        )
    turns = _turns(args)
    if name == "speech":
        from .speech import SpeechDependencyError, SpeechEngine

        brain = ScriptedEngine(turns, fallback=args.fallback) if args.script is not None else None
        try:
            engine = SpeechEngine(brain, phrases=args.phrase)
        except SpeechDependencyError as exc:
            raise CliError(str(exc)) from None
        except ValueError as exc:  # no usable word in the phrases
            raise CliError(f"the speech recognizer cannot use these phrases: {exc}") from None
        thinks = f"plays the script ({len(turns)} turn(s))" if brain else "rules (weather, time)"
        return engine, (
            f"speech: Silero VAD, pocketsphinx listening for {len(engine.expected)} phrases "
            f"and the session's tools, eSpeak NG voice; answers: {thinks}"
        )
    if args.phrase:
        raise CliError("--phrase is for --engine speech (the scripted engine hears its script)")
    return ScriptedEngine(turns, fallback=args.fallback), (
        f"scripted-echo: plays {len(turns)} scripted turn(s) whatever audio arrives, "
        f"then says {args.fallback!r}; tone audio"
    )


def _why(args: argparse.Namespace, name: str) -> str:
    """Why this engine runs, when the user did not pick it."""
    if args.engine is not None:
        return ""
    if name == "speech":
        return " (the default: the speech extra is installed)"
    return " (the default without the speech extra)"


def _hint() -> str:
    from .speech._deps import INSTALL_HINT

    return INSTALL_HINT


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (0-65535; 0 picks a free one)")
    return port


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0.0 <= value <= 10.0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text} is not within 0..10 seconds")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="realtime-llm", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run a local OpenAI-Realtime-compatible server")
    serve.add_argument("--host", default="127.0.0.1", help="interface (default: loopback only)")
    serve.add_argument("--port", type=_port, default=8765, help="0 picks a free port")
    serve.add_argument(
        "--engine",
        choices=["rules", "scripted-echo", "speech"],
        default=None,
        help="speech (the default when the [speech] extra is installed): real speech "
        "recognition, synthesis and Silero VAD; rules (the default otherwise): deterministic "
        "answers, tone audio; scripted-echo: plays --script whatever it hears",
    )
    serve.add_argument(
        "--script",
        metavar="FILE_OR_JSON",
        help='turns to play: a JSON file, or inline JSON such as \'[{"user": "hi", "reply": '
        '"Hello!"}]\' (for --engine scripted-echo or speech)',
    )
    serve.add_argument(
        "--phrase",
        action="append",
        default=[],
        help="a sentence your users say, for the speech recognizer to listen for (repeatable)",
    )
    serve.add_argument(
        "--fallback",
        default="This is the local realtime server.",
        help="what the scripted engine says once its script is used up",
    )
    dialects = [*SERVER_DIALECTS, *(a for d in SERVER_DIALECTS.values() for a in d.aliases)]
    serve.add_argument(
        "--dialect",
        choices=dialects,
        default="ga",
        help="the server of the protocol family to imitate (default: ga, i.e. OpenAI GA)",
    )
    serve.add_argument(
        "--chunk-interval",
        type=_seconds,
        default=0.04,
        help="seconds between 40 ms audio chunks (0.04 = real time, 0 = as fast as possible)",
    )
    serve.add_argument("--api-key-env", help="require the API key held in this env variable")
    serve.add_argument(
        "--cassette", type=Path, help="replay this recorded session instead of an engine"
    )
    add_record_command(commands)
    return parser


async def _serve(args: argparse.Namespace) -> None:
    if args.command == "record":
        return await record(args)
    if args.cassette is not None:
        return await replay(args)
    api_key = None
    if args.api_key_env:
        api_key = os.environ.get(args.api_key_env)
        if not api_key:
            raise CliError(f"environment variable {args.api_key_env} is not set")
    name = _engine_name(args)
    engine, described = _engine(args, name)
    vad_options: dict[str, Any] = {}
    if name == "speech":
        from .speech import speech_vad_factory

        vad_options["vad_factory"] = speech_vad_factory
    server = LocalRealtimeServer(
        engine,
        **vad_options,
        host=args.host,
        port=args.port,
        chunk_interval_s=args.chunk_interval,
        api_key=api_key,
        record=False,
        dialect=args.dialect,
    )
    try:
        await server.start()
    except OSError as exc:
        raise CliError(_bind_problem(args.host, args.port, exc)) from None
    async with server:
        auth = "the key in " + args.api_key_env if api_key else "any API key"
        dialect = server.dialect
        print(f"realtime-llm: {dialect.name.upper()} dialect, engine {name}{_why(args, name)}")
        print(f"  {described}")
        print(f"  point your bot at: {server.url}?{dialect.example_query('gpt-realtime')}")
        print(f"  or, to a client: dialect={dialect.client_dialect!r}, base_url={server.url!r}")
        if dialect.beta_header == "required":
            print("  requires the header OpenAI-Beta: realtime=v1")
        print(f"  accepts {auth} ({_auth_forms(dialect)}); Ctrl-C to stop", flush=True)
        await until_stopped()


def _bind_problem(host: str, port: int, exc: OSError) -> str:
    """Why the server cannot listen, and what to try instead."""
    if exc.errno and not isinstance(exc, socket.gaierror):
        reason = os.strerror(exc.errno)  # asyncio's own strerror repeats the address
    else:
        reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.errno == errno.EADDRINUSE:
        advice = f"another program (perhaps another realtime-llm serve) uses port {port}: "
        advice += "stop it, or pick another port with --port (--port 0 picks a free one)"
    elif exc.errno == errno.EACCES:
        advice = "ports below 1024 need privileges: pick one above 1024 with --port"
    elif isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
        advice = (
            f"{host!r} is not an address of this machine: use --host 127.0.0.1 (this machine "
            "only) or --host 0.0.0.0 (every interface)"
        )
    else:
        advice = "check --host and --port"
    return f"cannot listen on {host}:{port}: {reason}; {advice}"


def _auth_forms(dialect: ServerDialect) -> str:
    names = {"bearer": "Authorization: Bearer", "api-key": "api-key", "basic": "Basic"}
    return " or ".join(names[form] for form in dialect.auth_forms)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; a :class:`CliError` is one line on stderr and exit status 1."""
    args = _parser().parse_args(argv)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(args))
    except CliError as exc:
        print(f"realtime-llm: error: {exc}", file=sys.stderr)
        return 1
    print("realtime-llm: stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
