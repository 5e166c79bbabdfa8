"""``CassetteServer``: a recorded session, served back to a client over a real WebSocket.

Record a session once against the real provider (``realtime-llm record``, see
:mod:`.record`), then replay it in CI with no network and no key::

    async with CassetteServer("session.yaml") as server:
        bot = MyBot(base_url=server.url)  # ws://127.0.0.1:PORT/v1/realtime
        ...
    assert not server.divergences

Each connection replays the cassette from its start (:class:`~._replay.ReplaySession`
holds the rules: recorded server events are sent as the client's events answer them, ids
are tolerated). Where the client leaves the recording, the server sends an ``error`` event
(code ``cassette_mismatch``) naming the expected and the sent event, logs a warning, and
keeps the :class:`~._replay.Divergence` in :attr:`CassetteServer.divergences`: a bot that
changed fails with a message rather than hanging. Any path, query and key are accepted:
the recording already decided what the server says.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from ._redacting_log import RedactingLogger
from ._replay import ANSWERS, MISMATCH_CODE, Divergence, ReplaySession
from ._serving import LoopbackServing
from .cassette import Cassette

__all__ = ["ANSWERS", "MISMATCH_CODE", "CassetteServer", "Divergence", "ReplaySession"]

logger = logging.getLogger(__name__)

Event = dict[str, Any]


class CassetteServer(LoopbackServing):
    """Serves the server side of ``cassette`` (a :class:`Cassette` or a path to one).

    ``path`` is what :attr:`url` shows (the server answers on every path). ``port=0`` picks
    a free port. :attr:`received` and :attr:`sent` hold every event of every connection,
    as on the wire; :attr:`divergences` every place a client left the recording.
    """

    def __init__(
        self,
        cassette: Cassette | str | Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/v1/realtime",
    ) -> None:
        self.cassette = cassette if isinstance(cassette, Cassette) else Cassette.load(cassette)
        self.host = host
        self.path = "/" + path.strip("/")
        self.received: list[Event] = []
        self.sent: list[Event] = []
        self.divergences: list[Divergence] = []
        self._requested_port = port
        self._sessions: list[ReplaySession] = []

    async def _serve(self) -> Server:
        return await serve(
            self._handle,
            self.host,
            self._requested_port,
            compression=None,
            max_size=None,
            logger=RedactingLogger(logging.getLogger("realtime_llm.server.replay.websockets")),
        )

    @property
    def url(self) -> str:
        """``ws://HOST:PORT/PATH``: what goes in a client's ``base_url``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}{self.path}"

    @property
    def finished(self) -> bool:
        """True once some connection matched every recorded client event and was sent
        every recorded server event."""
        return any(session.finished for session in self._sessions)

    async def _handle(self, ws: ServerConnection) -> None:
        session = ReplaySession(self.cassette)
        self._sessions.append(session)
        try:
            await self._send(ws, session.open())
            async for message in ws:
                event = _decode(message)
                if event is None:
                    continue
                self.received.append(event)
                seen = len(session.divergences)
                try:
                    replies = session.receive(event)
                except Exception:  # a bug here must not end the replay for the client
                    logger.exception("cassette replay: failed to handle a client event")
                    continue
                for divergence in session.divergences[seen:]:
                    logger.warning("cassette replay: %s", divergence)
                    self.divergences.append(divergence)
                await self._send(ws, replies)
        except ConnectionClosed:
            pass

    async def _send(self, ws: ServerConnection, events: list[Event]) -> None:
        for event in events:
            self.sent.append(event)
            await ws.send(json.dumps(event))


def _decode(message: str | bytes) -> Event | None:
    try:
        event = json.loads(message)
    except ValueError:
        logger.warning("cassette replay: a client message that is not JSON was ignored")
        return None
    if not isinstance(event, dict):
        logger.warning("cassette replay: a client message that is not an object was ignored")
        return None
    return event
