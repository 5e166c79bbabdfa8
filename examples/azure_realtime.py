"""The example conversation against Azure OpenAI (GA v1 endpoint).

    AZURE_OPENAI_ENDPOINT=https://RESOURCE.openai.azure.com/ \
    AZURE_OPENAI_DEPLOYMENT=my-gpt-realtime AZURE_OPENAI_API_KEY=... \
        python examples/azure_realtime.py

The endpoint may also be the full ``wss://RESOURCE.openai.azure.com/openai/v1/realtime``.
The deployment name is the model. For Entra ID instead of a key, pass
``dialect=AzureDialect(endpoint, entra_token=True)`` and ``token_provider=`` an async
function returning a fresh token: it is called before every connect.
"""

from __future__ import annotations

import asyncio
import sys

from _conversation import quiet_logs, require_env, talk

from realtime_llm import RealtimeLLMService
from realtime_llm.dialects import AzureDialect


def main() -> int:
    quiet_logs()
    endpoint, deployment, key = require_env(
        "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_DEPLOYMENT", "AZURE_OPENAI_API_KEY"
    )
    service = RealtimeLLMService(
        api_key=key,
        dialect=AzureDialect(endpoint),
        settings=RealtimeLLMService.Settings(model=deployment),
    )
    return 0 if asyncio.run(talk(service, realtime=True)).ok else 1


if __name__ == "__main__":
    sys.exit(main())
