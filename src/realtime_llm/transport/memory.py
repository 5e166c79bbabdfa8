"""An in-memory :class:`~realtime_llm.transport.base.Transport`: a server script, no socket.

For testing what the client does with a session's life (connect failures, drops, renewal,
replay) without a network or an event loop's sockets. :class:`MemoryServer` is the peer:
its :meth:`~MemoryServer.factory` is the client's ``connection_factory``; every connection
it makes is kept, with the client events it received, and a test plays the server's side
by pushing event dicts (``push``) or closing (``close_from_server``). A small auto-reply
(``session.created`` on connect, ``session.updated`` for every ``session.update``) covers
the handshake, so a script only writes the turns it is about.

Incoming dicts go through the same steps as on a socket (the dialect's ``canonical_type``,
``parse_server_event``; malformed ones are logged and skipped), so a script can speak any
dialect's names.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Callable
from typing import Any

from loguru import logger

from realtime_llm.dialects.base import Dialect
from realtime_llm.errors import ConnectionFailed, ProtocolError
from realtime_llm.protocol.events import ServerEvent, parse_server_event

__all__ = ["MemoryServer", "MemoryTransport"]

Responder = Callable[["MemoryTransport", dict[str, Any]], list[dict[str, Any]]]


class MemoryTransport:
    """One scripted connection. Made by :meth:`MemoryServer.factory`, not directly."""

    def __init__(self, server: MemoryServer, dialect: Dialect, model: str) -> None:
        self.server = server
        self.dialect = dialect
        self.model = model
        self.sent: list[dict[str, Any]] = []
        """Every client event this connection carried (copies, GA shape), in order."""
        self.secret: str | None = None
        self.close_code: int | None = None
        self.close_reason = ""
        self.open = False
        self.closed_by_client = False
        self._incoming: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    @property
    def safe_url(self) -> str:
        return f"memory://{self.dialect.name}/{self.model}"

    async def connect(self, secret: str | None) -> None:
        refusal = self.server.take_refusal()
        if refusal is not None:
            raise refusal
        self.secret = secret
        self.open = True
        self.server.opened(self)
        if self.server.auto_handshake and self.dialect.configure_on != "connect":
            self.push({"type": "session.created", "session": {}})

    async def send(self, event: dict[str, Any]) -> bool:
        if not self.open:
            return False
        event = copy.deepcopy(event)
        self.sent.append(event)
        for reply in self.server.respond(self, event):
            self.push(reply)
        return True

    async def events(self) -> AsyncIterator[ServerEvent]:
        canonical = self.dialect.canonical_type
        while True:
            data = await self._incoming.get()
            if data is None:
                return
            try:
                event_type = canonical(data["type"])
                if event_type is None:
                    continue
                yield parse_server_event({**data, "type": event_type})
            except (ValueError, TypeError, KeyError, ProtocolError) as exc:
                logger.warning(f"skipping a malformed server event: {exc}")

    async def close(self) -> None:
        if self.open:
            self.closed_by_client = True
        self._shut()

    # -- the server's side ---------------------------------------------------------------

    def push(self, event: dict[str, Any]) -> None:
        """The server sends ``event`` (ignored once the connection is closed)."""
        if self.open:
            self._incoming.put_nowait(event)

    def close_from_server(self, code: int | None = 1000, reason: str = "") -> None:
        """The server closes (``None``: the TCP connection dropped without a close frame)."""
        self.close_code = code
        self.close_reason = reason
        self._shut()

    def sent_of(self, event_type: str) -> list[dict[str, Any]]:
        return [e for e in self.sent if e.get("type") == event_type]

    def _shut(self) -> None:
        if self.open:
            self.open = False
            self.server.closed(self)
            self._incoming.put_nowait(None)


class MemoryServer:
    """The peer of every :class:`MemoryTransport` it makes; see the module docstring.

    Args:
        respond: extra replies to a client event: ``(connection, event) -> [server events]``,
            called after the auto-handshake's own.
        auto_handshake: send ``session.created`` on connect and ``session.updated`` for
            each ``session.update``.
    """

    def __init__(self, respond: Responder | None = None, *, auto_handshake: bool = True) -> None:
        self.connections: list[MemoryTransport] = []
        """Every connection made, in order (closed ones included)."""
        self.peak_open = 0
        """The most connections open at the same time so far."""
        self.auto_handshake = auto_handshake
        self._respond = respond
        self._open: set[int] = set()
        self._refusals: list[ConnectionFailed] = []

    def factory(self, dialect: Dialect, model: str) -> MemoryTransport:
        """The client's ``connection_factory``."""
        transport = MemoryTransport(self, dialect, model)
        self.connections.append(transport)
        return transport

    @property
    def open_connections(self) -> list[MemoryTransport]:
        return [c for c in self.connections if c.open]

    @property
    def latest(self) -> MemoryTransport:
        return self.connections[-1]

    def refuse(self, *errors: ConnectionFailed) -> None:
        """The next connects fail with these errors, one each, in order."""
        self._refusals.extend(errors)

    def take_refusal(self) -> ConnectionFailed | None:
        return self._refusals.pop(0) if self._refusals else None

    def opened(self, transport: MemoryTransport) -> None:
        self._open.add(id(transport))
        self.peak_open = max(self.peak_open, len(self._open))

    def closed(self, transport: MemoryTransport) -> None:
        self._open.discard(id(transport))

    def respond(self, transport: MemoryTransport, event: dict[str, Any]) -> list[dict[str, Any]]:
        replies: list[dict[str, Any]] = []
        if self.auto_handshake and event.get("type") == "session.update":
            replies.append({"type": "session.updated", "session": dict(event.get("session") or {})})
        if self._respond is not None:
            replies.extend(self._respond(transport, event))
        return replies
