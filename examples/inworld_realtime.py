"""The example conversation against Inworld's realtime API. Needs INWORLD_API_KEY.

    INWORLD_API_KEY=base64-or-id:secret INWORLD_MODEL=... python examples/inworld_realtime.py

The key is sent as ``Authorization: Basic`` (an ``id:secret`` pair is encoded for you);
use ``InworldDialect(jwt=True)`` for a Bearer JWT. The model names the LLM behind the voice.
"""

from __future__ import annotations

import asyncio
import os
import sys

from _conversation import quiet_logs, require_env, talk

from realtime_llm import RealtimeLLMService


def main() -> int:
    quiet_logs()
    (key,) = require_env("INWORLD_API_KEY")
    model = os.environ.get("INWORLD_MODEL", "inworld-realtime")
    service = RealtimeLLMService(
        api_key=key, dialect="inworld", settings=RealtimeLLMService.Settings(model=model)
    )
    return 0 if asyncio.run(talk(service, realtime=True)).ok else 1


if __name__ == "__main__":
    sys.exit(main())
