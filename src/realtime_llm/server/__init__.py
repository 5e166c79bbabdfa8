"""A local OpenAI Realtime server: a test double and demo backend for voice bots.

Run ``realtime-llm serve`` and point a bot at the printed URL, or in tests::

    async with local_realtime_server([Turn(user="Hi", reply="Hello!")]) as server:
        ...  # connect to server.url

The pieces: :class:`LocalRealtimeServer` (the WebSocket server), the sans-I/O
:class:`~.session.ServerSession` it runs per connection (it speaks OpenAI GA), the
:class:`ServerDialect` that translates at the edge for the other servers of the family
(``LocalRealtimeServer(dialect="xai")``: ``ga``, ``openai_beta``, ``azure``, ``xai``,
``inworld``), and the pluggable :class:`Engine` that transcribes, replies and speaks
(:class:`ScriptedEngine`, :class:`RuleEngine`).
"""

from .app import LocalRealtimeServer
from .dialects import SERVER_DIALECTS, ServerDialect
from .engine import Engine, Reply, ResponseContext, ToolCall, tone_synthesize
from .rules import RuleEngine
from .scripted import ScriptedEngine, Turn
from .session import ServerSession
from .testing import local_realtime_server
from .vad import EnergyVad, VadSettings, VoiceActivityDetector

__all__ = [
    "SERVER_DIALECTS",
    "EnergyVad",
    "Engine",
    "LocalRealtimeServer",
    "Reply",
    "ResponseContext",
    "RuleEngine",
    "ScriptedEngine",
    "ServerDialect",
    "ServerSession",
    "ToolCall",
    "Turn",
    "VadSettings",
    "VoiceActivityDetector",
    "local_realtime_server",
    "tone_synthesize",
]
