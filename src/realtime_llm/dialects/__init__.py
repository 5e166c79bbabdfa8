"""Dialects: what differs between servers of the OpenAI Realtime family."""

from __future__ import annotations

from realtime_llm.dialects.base import Dialect, redact_url
from realtime_llm.dialects.local import LocalDialect
from realtime_llm.dialects.openai import OpenAIDialect

__all__ = ["DIALECTS", "Dialect", "LocalDialect", "OpenAIDialect", "get_dialect", "redact_url"]

DIALECTS: dict[str, type[Dialect]] = {"openai": OpenAIDialect, "local": LocalDialect}


def get_dialect(dialect: str | Dialect, base_url: str | None = None) -> Dialect:
    """Resolve a dialect name (or pass an instance through)."""
    if isinstance(dialect, Dialect):
        if base_url is not None:
            dialect.base_url = base_url
        return dialect
    try:
        return DIALECTS[dialect](base_url)
    except KeyError:
        names = ", ".join(sorted(DIALECTS))
        raise ValueError(f"unknown dialect {dialect!r}; built-in dialects: {names}") from None
