"""The project's own local server (``realtime-llm serve``): GA events, no key needed."""

from __future__ import annotations

from typing import ClassVar

from realtime_llm.dialects.base import Dialect

__all__ = ["LocalDialect"]


class LocalDialect(Dialect):
    """GA protocol on loopback; accepts any key, or none."""

    name = "local"
    default_base_url: ClassVar[str] = "ws://127.0.0.1:8765/v1/realtime"
    session_limit_s: ClassVar[float | None] = None
    requires_api_key: ClassVar[bool] = False
