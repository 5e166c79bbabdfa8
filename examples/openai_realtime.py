"""The example conversation against OpenAI's Realtime API (GA). Needs OPENAI_API_KEY.

OPENAI_API_KEY=sk-... python examples/openai_realtime.py
"""

from __future__ import annotations

import asyncio
import sys

from _conversation import quiet_logs, require_env, talk

from realtime_llm import RealtimeLLMService


def main() -> int:
    quiet_logs()
    (key,) = require_env("OPENAI_API_KEY")
    service = RealtimeLLMService(
        api_key=key,
        settings=RealtimeLLMService.Settings(model="gpt-realtime"),
    )
    return 0 if asyncio.run(talk(service, realtime=True)).ok else 1


if __name__ == "__main__":
    sys.exit(main())
