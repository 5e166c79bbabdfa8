"""realtime_llm: realtime speech-to-speech LLMs (the OpenAI Realtime protocol family) for pipecat.

The public API::

    from realtime_llm import RealtimeLLMService, SessionProperties

Layers, from the wire up: :mod:`realtime_llm.protocol` (sans-I/O session core),
:mod:`realtime_llm.transport` (the WebSocket), :mod:`realtime_llm.dialects` (provider
differences), :mod:`realtime_llm.pipecat` (the service), :mod:`realtime_llm.server` (a
local server of the same protocol, for tests and offline demos).
"""

from realtime_llm.dialects import Dialect, LocalDialect, OpenAIDialect
from realtime_llm.errors import (
    ConnectionFailed,
    FatalConnectionError,
    InvalidSettingsError,
    ProtocolError,
    RealtimeError,
)
from realtime_llm.pipecat.service import RealtimeLLMService
from realtime_llm.pipecat.settings import RealtimeLLMSettings
from realtime_llm.session_properties import SessionProperties

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
    "SessionProperties",
]

__version__ = "0.1.0"
