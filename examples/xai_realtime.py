"""The example conversation against xAI's realtime voice API. Needs XAI_API_KEY.

    XAI_API_KEY=xai-... XAI_MODEL=grok-voice-latest python examples/xai_realtime.py

xAI has no ``conversation.item.truncate``: when the user interrupts, the service warns
once and goes on (the model then remembers the whole interrupted reply).
"""

from __future__ import annotations

import asyncio
import os
import sys

from _conversation import quiet_logs, require_env, talk

from realtime_llm import RealtimeLLMService


def main() -> int:
    quiet_logs()
    (key,) = require_env("XAI_API_KEY")
    model = os.environ.get("XAI_MODEL", "grok-voice-latest")
    service = RealtimeLLMService(
        api_key=key, dialect="xai", settings=RealtimeLLMService.Settings(model=model)
    )
    return 0 if asyncio.run(talk(service, realtime=True)).ok else 1


if __name__ == "__main__":
    sys.exit(main())
