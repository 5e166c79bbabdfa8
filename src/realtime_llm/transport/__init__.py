"""The I/O edge: the :class:`Transport` seam, the WebSocket and the in-memory transports."""

from realtime_llm.transport.base import Transport, TransportFactory
from realtime_llm.transport.connection import RealtimeConnection
from realtime_llm.transport.memory import MemoryServer, MemoryTransport

__all__ = ["MemoryServer", "MemoryTransport", "RealtimeConnection", "Transport", "TransportFactory"]
