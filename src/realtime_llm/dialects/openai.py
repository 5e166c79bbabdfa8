"""OpenAI GA: the reference dialect, all defaults."""

from __future__ import annotations

from realtime_llm.dialects.base import Dialect

__all__ = ["OpenAIDialect"]


class OpenAIDialect(Dialect):
    """``wss://api.openai.com/v1/realtime?model=M`` with a Bearer key; GA events."""

    name = "openai"
