"""A local OpenAI Realtime (GA) server: a test double and demo backend for voice bots.

Run ``realtime-llm serve`` and point a bot at the printed URL, or in tests::

    async with local_realtime_server([Turn(user="Hi", reply="Hello!")]) as server:
        ...  # connect to server.url

The pieces: :class:`LocalRealtimeServer` (the WebSocket server), the sans-I/O
:class:`~.session.ServerSession` it runs per connection, and the pluggable
:class:`Engine` that transcribes, replies and speaks (:class:`ScriptedEngine`,
:class:`RuleEngine`).
"""

from .app import LocalRealtimeServer
from .engine import Engine, Reply, ResponseContext, ToolCall, tone_synthesize
from .rules import RuleEngine
from .scripted import ScriptedEngine, Turn
from .session import ServerSession
from .testing import local_realtime_server
from .vad import EnergyVad, VadSettings, VoiceActivityDetector

__all__ = [
    "EnergyVad",
    "Engine",
    "LocalRealtimeServer",
    "Reply",
    "ResponseContext",
    "RuleEngine",
    "ScriptedEngine",
    "ServerSession",
    "ToolCall",
    "Turn",
    "VadSettings",
    "VoiceActivityDetector",
    "local_realtime_server",
    "tone_synthesize",
]
