"""The example conversation against OpenAI's preview (beta) Realtime API. Needs OPENAI_API_KEY.

    OPENAI_API_KEY=sk-... OPENAI_BETA_MODEL=gpt-4o-realtime-preview \
        python examples/openai_beta_realtime.py

Same bot, ``dialect="openai_beta"``: the flat session and the older event names are the
dialect's business, not the bot's.
"""

from __future__ import annotations

import asyncio
import os
import sys

from _conversation import quiet_logs, require_env, talk

from realtime_llm import RealtimeLLMService


def main() -> int:
    quiet_logs()
    (key,) = require_env("OPENAI_API_KEY")
    model = os.environ.get("OPENAI_BETA_MODEL", "gpt-4o-realtime-preview")
    service = RealtimeLLMService(
        api_key=key,
        dialect="openai_beta",
        settings=RealtimeLLMService.Settings(model=model),
    )
    return 0 if asyncio.run(talk(service, realtime=True)).ok else 1


if __name__ == "__main__":
    sys.exit(main())
