"""The seam between the client and the wire: what a transport must do, nothing more.

In the spirit of websockets' protocol/connection split and httpcore's backends: the
:class:`~realtime_llm.client.RealtimeClient` owns the session's life (connect, reconnect,
renewal, replay) and talks to a :class:`Transport`; the WebSocket
(:class:`~realtime_llm.transport.RealtimeConnection`) is one implementation, the in-memory
one (:mod:`~realtime_llm.transport.memory`) another, so the client's lifecycle can be tested
with a server script and no socket at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol, runtime_checkable

from realtime_llm.dialects.base import Dialect
from realtime_llm.protocol.events import ServerEvent

__all__ = ["Transport", "TransportFactory"]


@runtime_checkable
class Transport(Protocol):
    """One connection to a realtime server, for one session.

    ``connect`` raises :class:`~realtime_llm.errors.ConnectionFailed` (or its fatal
    subclass); ``send`` returns False once the connection is gone instead of raising (the
    caller decides what to do with what was not sent); ``events`` yields typed server
    events until the connection closes, then ``close_code``/``close_reason`` say how.
    """

    close_code: int | None
    close_reason: str

    @property
    def safe_url(self) -> str:
        """Where it connects, with anything secret removed (the only form to log)."""
        ...

    async def connect(self, secret: str | None) -> None: ...

    async def send(self, event: dict[str, Any]) -> bool: ...

    def events(self) -> AsyncIterator[ServerEvent]: ...

    async def close(self) -> None: ...


TransportFactory = Callable[[Dialect, str], Transport]
"""``(dialect, model) -> Transport``: how the client makes each new connection."""
