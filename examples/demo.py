"""Offline demo: a pipecat voice bot with RealtimeLLMService, talking to the local server.

    python examples/demo.py                 # offline, no key (needs the [speech] extra)
    python examples/demo.py --openai        # the same bot against OpenAI (OPENAI_API_KEY)

It starts the project's local realtime server in-process with real offline speech (Silero
VAD, pocketsphinx, eSpeak NG) and runs the conversation of ``_conversation.py``: the
bot greets, hears a recorded question, calls a weather tool and answers. Both sides are
printed with timings, and the bot's voice is written to a WAV file.
"""

from __future__ import annotations

import os

os.environ.setdefault("LOGURU_LEVEL", "WARNING")  # before pipecat's import-time banner

import argparse
import asyncio
import sys
from typing import Any

from _conversation import QUESTION, quiet_logs, require_env, talk

from realtime_llm import RealtimeLLMService
from realtime_llm.server import LocalRealtimeServer


async def start_local_server() -> LocalRealtimeServer:
    try:
        from realtime_llm.server.speech import SpeechEngine, speech_vad_factory

        engine: Any = SpeechEngine()
    except ImportError as exc:  # the message says how to install the extra
        raise SystemExit(str(exc)) from None
    server = LocalRealtimeServer(engine, vad_factory=speech_vad_factory, chunk_interval_s=0.02)
    return await server.start()


async def run(args: argparse.Namespace) -> int:
    if args.openai:
        (key,) = require_env("OPENAI_API_KEY")
        result = await talk(RealtimeLLMService(api_key=key), out=args.out, timeout=args.timeout)
        return 0 if result.ok else 1
    server = await start_local_server()
    print(f"local realtime server (offline speech) at {server.url}")
    try:
        service = RealtimeLLMService(dialect="local", base_url=server.url)
        result = await talk(service, out=args.out, realtime=args.realtime, timeout=args.timeout)
    finally:
        await server.stop()
    heard = result.user[-1].lower().strip(" ?.") if result.user else ""
    verdict = "matches" if heard == QUESTION else "DOES NOT match"
    print(f"recognized question {heard!r} {verdict} the recording ({QUESTION!r})")
    return 0 if result.ok and heard == QUESTION else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--openai", action="store_true", help="talk to OpenAI (OPENAI_API_KEY)")
    parser.add_argument("--out", default="demo-reply.out.wav", help="where to write the reply")
    parser.add_argument("--realtime", action="store_true", help="send audio at real-time pace")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--verbose", action="store_true", help="show pipecat's logs")
    args = parser.parse_args(argv)
    quiet_logs(args.verbose)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
