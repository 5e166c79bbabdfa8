"""A pipecat bot talking to a local server you started yourself with ``realtime-llm serve``.

    realtime-llm serve                      # in one shell: prints "point your bot at: URL"
    python examples/local_server.py ws://127.0.0.1:8765/v1/realtime     # in another

The bot runs the examples' conversation (``_conversation.py``) against that server: it
greets, sends a recorded question as a transport would, lets the model call a weather tool,
and prints both sides with timings. With the speech engine (the default when the
``speech`` extra is installed) the server really hears the question; with ``--engine rules``
it hears nothing and says so. The URL may carry the query the server printed
(``?model=...``). If nothing answers at the URL, the bot's one error says what was tried.
"""

from __future__ import annotations

import os

os.environ.setdefault("LOGURU_LEVEL", "WARNING")  # before pipecat's import-time banner

import argparse
import asyncio
import sys
from urllib.parse import urlsplit, urlunsplit

from _conversation import quiet_logs, talk

from realtime_llm import RealtimeLLMService


def base_url(url: str) -> str:
    """The server's URL without its query: the service adds ``?model=`` itself."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.netloc:
        raise SystemExit(f"not a WebSocket URL: {url!r} (expected ws://HOST:PORT/v1/realtime)")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the URL `realtime-llm serve` printed")
    parser.add_argument("--out", default="local-reply.out.wav", help="where to write the reply")
    parser.add_argument("--realtime", action="store_true", help="send audio at real-time pace")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--verbose", action="store_true", help="show pipecat's logs")
    args = parser.parse_args(argv)
    quiet_logs(args.verbose)
    service = RealtimeLLMService(dialect="local", base_url=base_url(args.url))
    print(f"talking to {base_url(args.url)}", flush=True)
    result = asyncio.run(talk(service, out=args.out, realtime=args.realtime, timeout=args.timeout))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
