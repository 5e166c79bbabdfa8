"""``realtime-llm serve``: run the local Realtime server from a shell, for demos and bots.

::

    realtime-llm serve --port 8765 --engine rules
    realtime-llm serve --engine speech        # real offline speech (the [speech] extra)
    realtime-llm serve --engine scripted-echo --script turns.json
    realtime-llm serve --dialect xai
    realtime-llm serve --cassette session.yaml   # replay a recorded session
    realtime-llm record --upstream wss://api.openai.com/v1/realtime --out session.yaml

It prints the URL to give a bot (as its base URL / websocket URL) and serves until Ctrl-C.
``--dialect`` picks the server of the family to imitate (``ga``, the default, which OpenAI
GA and ``local`` clients speak; ``openai_beta``, ``azure``, ``xai``, ``inworld``): its
URL path, handshake, session shape and event names.
A script file is a JSON list of turns: ``{"user": "text or null", "reply": "text"}`` or
``{"user": ..., "reply": {"tool": "get_weather", "arguments": {"city": "Paris"}}}``.
To require a key, name an environment variable holding it with ``--api-key-env`` (a key
on the command line would show in the process list).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._cassette_cli import add_record_command, record, replay
from .app import LocalRealtimeServer
from .dialects import SERVER_DIALECTS, ServerDialect
from .engine import Engine, ToolCall
from .rules import RuleEngine
from .scripted import ReplyLike, ScriptedEngine, Turn

__all__ = ["main"]


def _reply(value: Any) -> ReplyLike:
    if isinstance(value, str):
        return value
    calls = value if isinstance(value, list) else [value]
    return [ToolCall(c["tool"], json.dumps(c.get("arguments", {}))) for c in calls]


def load_script(path: Path) -> list[Turn]:
    """Turns from a JSON script file (see the module docstring for the format)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValueError(f"{path}: a script is a JSON list of turns")
    return [Turn(user=t.get("user"), reply=_reply(t.get("reply", ""))) for t in data]


def _engine(args: argparse.Namespace) -> Engine:
    if args.engine == "rules":
        return RuleEngine()
    if args.engine == "speech":
        from .speech import SpeechDependencyError, SpeechEngine

        try:
            return SpeechEngine()
        except SpeechDependencyError as exc:
            raise SystemExit(str(exc)) from None
    turns = load_script(args.script) if args.script else []
    return ScriptedEngine(turns, fallback=args.fallback)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="realtime-llm", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run a local OpenAI-Realtime-compatible server")
    serve.add_argument("--host", default="127.0.0.1", help="interface (default: loopback only)")
    serve.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    serve.add_argument(
        "--engine",
        choices=["rules", "scripted-echo", "speech"],
        default="rules",
        help="rules: deterministic answers, tone audio; speech: the same brain with real "
        "speech recognition, synthesis and Silero VAD (needs the [speech] extra)",
    )
    serve.add_argument("--script", type=Path, help="JSON turns for --engine scripted-echo")
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
        type=float,
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
            raise SystemExit(f"environment variable {args.api_key_env} is not set")
    engine = _engine(args)
    vad_options: dict[str, Any] = {}
    if args.engine == "speech":
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
    async with server:
        auth = "the key in " + args.api_key_env if api_key else "any API key"
        dialect = server.dialect
        print(f"realtime-llm: {dialect.name.upper()} dialect, engine {args.engine}")
        print(f"  point your bot at: {server.url}?{dialect.example_query('gpt-realtime')}")
        print(f"  or, to a client: dialect={dialect.client_dialect!r}, base_url={server.url!r}")
        if dialect.beta_header == "required":
            print("  requires the header OpenAI-Beta: realtime=v1")
        print(f"  accepts {auth} ({_auth_forms(dialect)}); Ctrl-C to stop", flush=True)
        await asyncio.Event().wait()


def _auth_forms(dialect: ServerDialect) -> str:
    names = {"bearer": "Authorization: Bearer", "api-key": "api-key", "basic": "Basic"}
    return " or ".join(names[form] for form in dialect.auth_forms)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))
    print("realtime-llm: stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
