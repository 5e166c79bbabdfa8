"""realtime_llm: realtime speech-to-speech LLMs (the OpenAI Realtime protocol family) for pipecat.

The public API::

    from realtime_llm import RealtimeLLMService, SessionProperties

Layers, from the wire up: :mod:`realtime_llm.protocol` (sans-I/O session core),
:mod:`realtime_llm.transport` (the WebSocket), :mod:`realtime_llm.dialects` (provider
differences), :mod:`realtime_llm.pipecat` (the service), :mod:`realtime_llm.server` (a
local server of the same protocol, for tests and offline demos).

The pipecat-facing names are imported on first use, so ``realtime_llm.server`` and the
``realtime-llm serve`` command start without loading pipecat.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from realtime_llm.dialects import Dialect, LocalDialect, OpenAIDialect
from realtime_llm.errors import (
    ConnectionFailed,
    FatalConnectionError,
    InvalidSettingsError,
    ProtocolError,
    RealtimeError,
    RequestFailed,
    UnsupportedFeature,
)
from realtime_llm.session_properties import SessionProperties

if TYPE_CHECKING:
    from realtime_llm.pipecat.service import RealtimeLLMService
    from realtime_llm.pipecat.settings import RealtimeLLMSettings

__all__ = [
    "ConnectionFailed",
    "Dialect",
    "FatalConnectionError",
    "InvalidSettingsError",
    "LocalDialect",
    "OpenAIDialect",
    "ProtocolError",
    "RealtimeError",
    "RealtimeLLMService",
    "RealtimeLLMSettings",
    "RequestFailed",
    "SessionProperties",
    "UnsupportedFeature",
]

__version__ = "0.1.0"

_LAZY = {
    "RealtimeLLMService": "realtime_llm.pipecat.service",
    "RealtimeLLMSettings": "realtime_llm.pipecat.settings",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'realtime_llm' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
