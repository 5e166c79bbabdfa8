"""The I/O edge: the WebSocket connection."""

from realtime_llm.transport.connection import RealtimeConnection

__all__ = ["RealtimeConnection"]
