"""The realtime client without pipecat: :class:`RealtimeClient` owns a session's life.

``import realtime_llm.client`` loads no pipecat module (tested). See ``docs/client.md``.
"""

from realtime_llm.client.client import ClientOutput, OutputHandler, RealtimeClient
from realtime_llm.client.outputs import ClientFailed, EventHandlingFailed

__all__ = ["ClientFailed", "ClientOutput", "EventHandlingFailed", "OutputHandler", "RealtimeClient"]
