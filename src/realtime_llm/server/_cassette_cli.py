"""The cassette commands of ``realtime-llm``: ``record`` and ``serve --cassette``.

::

    realtime-llm record --upstream wss://api.openai.com/v1/realtime --out session.yaml
    realtime-llm serve --cassette session.yaml

``record`` is a loopback proxy a bot points at (see :mod:`.record`); ``serve --cassette``
replays what it wrote (see :mod:`.replay`). They live here so that :mod:`.cli` only wires
them in.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ._signals import until_stopped
from .cassette import CassetteError
from .record import RecordingProxy
from .replay import CassetteServer

__all__ = ["add_record_command", "record", "replay"]


def add_record_command(commands: Any) -> None:
    """Add ``record`` to the ``realtime-llm`` subcommands (an argparse subparsers object)."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "record",
        help="a loopback proxy that records a bot's session with a real service to a cassette",
    )
    parser.add_argument(
        "--upstream",
        required=True,
        help="the service's WebSocket URL, e.g. wss://api.openai.com/v1/realtime (the bot's "
        "query string is appended)",
    )
    parser.add_argument("--out", required=True, type=Path, help="the cassette file to write")
    parser.add_argument("--host", default="127.0.0.1", help="interface (default: loopback only)")
    parser.add_argument("--port", type=int, default=8766, help="0 picks a free port")
    parser.add_argument(
        "--keep-audio",
        action="store_true",
        help="keep the audio whole (default: cut to a few samples; the protocol is what counts)",
    )


async def record(args: argparse.Namespace) -> None:
    """Run the recording proxy until Ctrl-C."""
    try:
        proxy = RecordingProxy(
            args.upstream, args.out, host=args.host, port=args.port, keep_audio=args.keep_audio
        )
    except ValueError as exc:
        raise SystemExit(f"realtime-llm record: {exc}") from None
    async with proxy:
        print(f"realtime-llm: recording to {args.out}")
        print(f"  point your bot at: {proxy.url}")
        upstream = urlsplit(args.upstream).hostname
        print(f"  (its query string and key go on to {upstream}; the key is never written)")
        print("  one file per connection, written when it ends; Ctrl-C to stop", flush=True)
        await until_stopped()


async def replay(args: argparse.Namespace) -> None:
    """Serve ``args.cassette`` until Ctrl-C (SIGINT) or SIGTERM."""
    try:
        server = CassetteServer(args.cassette, host=args.host, port=args.port)
    except CassetteError as exc:
        raise SystemExit(f"realtime-llm serve: {exc}") from None
    async with server:
        print(f"realtime-llm: replaying {args.cassette} ({len(server.cassette)} events)")
        print(f"  point your bot at: {server.url}")
        print("  (any query string and key are accepted)")
        print(
            "  a client that leaves the recording gets an 'error' event; Ctrl-C to stop",
            flush=True,
        )
        await until_stopped()
