"""Dialects: what differs between servers of the OpenAI Realtime family.

Pick one by name (``RealtimeLLMService(dialect="xai")``) or pass an instance, e.g. a
subclass of :class:`Dialect` for a server that is not built in.
"""

from __future__ import annotations

import copy

from realtime_llm.dialects.azure import AzureDialect
from realtime_llm.dialects.base import AuthScheme, Dialect, check_base_url, redact_url
from realtime_llm.dialects.inworld import InworldDialect
from realtime_llm.dialects.local import LocalDialect
from realtime_llm.dialects.openai import OpenAIDialect
from realtime_llm.dialects.openai_beta import OpenAIBetaDialect
from realtime_llm.dialects.xai import XAIDialect
from realtime_llm.errors import InvalidSettingsError

__all__ = [
    "DIALECTS",
    "AuthScheme",
    "AzureDialect",
    "Dialect",
    "InworldDialect",
    "LocalDialect",
    "OpenAIBetaDialect",
    "OpenAIDialect",
    "XAIDialect",
    "get_dialect",
    "redact_url",
]

DIALECTS: dict[str, type[Dialect]] = {
    cls.name: cls
    for cls in (
        OpenAIDialect,
        OpenAIBetaDialect,
        AzureDialect,
        XAIDialect,
        InworldDialect,
        LocalDialect,
    )
}
"""The built-in dialects by name."""


def get_dialect(dialect: str | Dialect, base_url: str | None = None) -> Dialect:
    """Resolve a dialect name, or an instance with ``base_url`` applied to a copy.

    The instance passed in is never changed: one dialect object may serve several
    services with different endpoints. A bad ``base_url`` raises InvalidSettingsError.
    """
    if isinstance(dialect, Dialect):
        if base_url is None:
            return dialect
        resolved = copy.copy(dialect)
        resolved.base_url = check_base_url(base_url)
        return resolved
    try:
        return DIALECTS[dialect](base_url)
    except KeyError:
        names = ", ".join(sorted(DIALECTS))
        raise InvalidSettingsError(
            "dialect", f"unknown dialect {dialect!r}; built-in dialects: {names}"
        ) from None
