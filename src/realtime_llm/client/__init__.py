"""The realtime client without pipecat: :class:`RealtimeClient` owns a session's life.

``import realtime_llm.client`` loads no pipecat module (tested). See ``docs/client.md``.
"""

from realtime_llm.client.client import ClientOutput, OutputHandler, RealtimeClient
from realtime_llm.client.compaction import DEFAULT_MAX_REPLAY_ITEMS, KeepNewest, ReplayCompactor
from realtime_llm.client.outputs import ClientFailed, EventHandlingFailed

__all__ = [
    "DEFAULT_MAX_REPLAY_ITEMS",
    "ClientFailed",
    "ClientOutput",
    "EventHandlingFailed",
    "KeepNewest",
    "OutputHandler",
    "RealtimeClient",
    "ReplayCompactor",
]
