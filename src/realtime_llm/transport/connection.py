"""The I/O edge: one object owns the WebSocket, and translates the wire at the boundary.

Outgoing client events are dicts (GA names and shapes) serialized here, the session
object of ``session.update`` reshaped by the dialect on the way; incoming JSON is decoded,
its type mapped to the GA name by the dialect, and parsed into a typed
:mod:`~realtime_llm.protocol.events` value. Bad JSON and malformed events are logged and
skipped: a server that says something odd never crashes the bot. Library exceptions are
mapped to :mod:`realtime_llm.errors` here, once (``_map_connect_errors``).
"""

from __future__ import annotations

import json
import logging
import socket
import ssl
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from loguru import logger
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.protocol import State

from realtime_llm.dialects.base import Dialect, is_loopback_url, redact_url
from realtime_llm.errors import ConnectionFailed, ErrorClass, FatalConnectionError, ProtocolError
from realtime_llm.protocol.events import ServerEvent, parse_server_event
from realtime_llm.transport.framing import ClientTextFramer

__all__ = [
    "DEFAULT_MAX_AUDIO_BACKLOG_BYTES",
    "DEFAULT_MAX_MESSAGE_BYTES",
    "MESSAGE_TOO_BIG",
    "RealtimeConnection",
]

DEFAULT_MAX_MESSAGE_BYTES = 8 * 1024 * 1024
"""The largest server message accepted (8 MiB: about 2.9 minutes of 24 kHz PCM16 audio in
one base64 delta, far beyond any real server's); a bigger one closes the socket (1009)."""
MESSAGE_TOO_BIG = 1009
"""The close code websockets uses when a message exceeds ``max_size``."""

DEFAULT_MAX_AUDIO_BACKLOG_BYTES = 256 * 1024
"""Audio appends are dropped while more than this waits in the socket's write buffer
(about 4 s of 24 kHz PCM16 as base64): behind a stalled server, old audio is stale, and
holding it would only make every later word later. Other events are never dropped."""
_WRITE_LIMIT = (1024 * 1024, 256 * 1024)
"""websockets' write buffer marks: ``send()`` waits above 1 MiB, so audio (dropped above
the backlog bound) never makes the pipeline wait; other events still get back-pressure."""

_SENT_KEPT = 64
"""How many recent client events with an ``event_id`` are kept, to resend on a refusal."""

_WS_LOGGER = logging.getLogger("realtime_llm.transport.websockets")
_WS_LOGGER.setLevel(logging.INFO)
"""websockets' own logger logs the upgrade request's headers (``Authorization``) at DEBUG;
the connection gives it this one instead, capped at INFO whatever the root level."""

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_loads = json.loads
_APPEND = "input_audio_buffer.append"
_SESSION_UPDATE = "session.update"
_APPEND_PREFIX = '{"type":"input_audio_buffer.append","audio":"'
"""Audio appends are built by concatenation: base64 needs no JSON escaping, and the
encoder's scan of every 20 ms chunk costs 20 times more than the join."""


def _where(safe_url: str) -> tuple[str, int]:
    """The host and port a URL connects to (the scheme's port when none is given)."""
    parts = urlsplit(safe_url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.hostname or "?", port or (443 if parts.scheme in ("wss", "https") else 80)


def _why(exc: BaseException, safe_url: str) -> str:
    """What went wrong opening ``safe_url`` and what to check, in words, not a class name."""
    host, port = _where(safe_url)
    if isinstance(exc, socket.gaierror):
        return (
            f"the host name {host!r} could not be resolved ({exc.strerror or exc}); "
            "check the host in base_url, and the network or DNS"
        )
    refused_everywhere = (  # asyncio tried several addresses of the name; all refused
        type(exc) is OSError and exc.errno is None and "Connect call failed" in str(exc)
    )
    if isinstance(exc, ConnectionRefusedError) or refused_everywhere:
        return (
            f"nothing accepts connections on {host}:{port} (connection refused); "
            "check that the server is running and that base_url has the right host and port"
        )
    if isinstance(exc, TimeoutError):
        return (
            f"{host}:{port} did not answer in time; "
            "check the host and port in base_url, and any firewall or proxy in between"
        )
    if isinstance(exc, ssl.SSLError):
        return (
            f"the TLS handshake with {host}:{port} failed ({exc.reason or exc}); "
            "check wss:// against ws:// in base_url"
        )
    if isinstance(exc, InvalidHandshake):
        return (
            f"{host}:{port} answered, but not as a WebSocket server ({exc}); "
            "check that base_url is the realtime WebSocket endpoint"
        )
    detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"{type(exc).__name__} connecting to {host}:{port} ({detail}); check base_url"


@contextmanager
def _map_connect_errors(safe_url: str, dialect: Dialect) -> Iterator[None]:
    try:
        yield
    except InvalidStatus as exc:
        status = exc.response.status_code
        message = f"the server refused the connection to {safe_url}: HTTP {status}"
        if dialect.classify_status(status) is ErrorClass.FATAL:
            raise FatalConnectionError(message) from None
        raise ConnectionFailed(message) from None
    except (OSError, InvalidHandshake, TimeoutError) as exc:
        raise ConnectionFailed(f"cannot connect to {safe_url}: {_why(exc, safe_url)}") from None


class RealtimeConnection:
    """One WebSocket to a realtime server.

    Args:
        dialect: URL, auth and event naming of the server.
        model: the model, fixed for the life of the connection (it is in the URL).
        max_message_bytes: the largest server message accepted; a bigger one closes the
            socket with 1009 (``close_code``), which the caller reconnects from.
        max_audio_backlog_bytes: audio appends are dropped (counted in
            ``audio_dropped_bytes``) while more than this waits to be written.
    """

    def __init__(
        self,
        dialect: Dialect,
        model: str,
        *,
        max_message_bytes: int | None = DEFAULT_MAX_MESSAGE_BYTES,
        max_audio_backlog_bytes: int = DEFAULT_MAX_AUDIO_BACKLOG_BYTES,
    ) -> None:
        self._dialect = dialect
        self._model = model
        self._url = dialect.url(model)
        self._rewrite = dialect.outgoing if dialect.uses_outgoing else None
        self._serialize_session = dialect.serialize_session
        self.max_message_bytes = max_message_bytes
        self.max_audio_backlog_bytes = max_audio_backlog_bytes
        self.audio_dropped_bytes = 0
        """Base64 characters of input audio dropped because the server did not keep up."""
        self._sent_by_id: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._ws: ClientConnection | None = None
        self._framer = ClientTextFramer()
        self.close_code: int | None = None
        self.close_reason: str = ""

    @property
    def safe_url(self) -> str:
        """The URL with anything secret removed: the only form that may be logged."""
        return redact_url(self._url)

    @property
    def connected(self) -> bool:
        return self._ws is not None

    async def connect(self, secret: str | None, timeout: float = 10.0) -> None:
        """Open the socket; ``secret`` goes into a header and nowhere else (never logged).

        Raises:
            FatalConnectionError: a secret would travel unencrypted (``ws://``) to another
                machine; refused before anything is dialled.
        """
        if secret and self._url.startswith("ws://") and not is_loopback_url(self._url):
            raise FatalConnectionError(
                f"refusing to send a credential over unencrypted ws:// to {self.safe_url}; "
                "use wss:// (ws:// is allowed only to a loopback host)"
            )
        with _map_connect_errors(self.safe_url, self._dialect):
            self._ws = await connect(
                self._url,
                additional_headers=self._dialect.auth_headers(secret),
                compression=None,  # audio does not compress; deflate only costs CPU
                max_size=self.max_message_bytes,
                write_limit=_WRITE_LIMIT,
                logger=_WS_LOGGER,
                open_timeout=timeout,
                ping_interval=20,
                ping_timeout=20,
            )
        self.close_code = None
        self.close_reason = ""
        logger.debug(f"connected to {self.safe_url}")

    async def send(self, event: dict[str, Any]) -> bool:
        """Send one client event; False if the socket is gone (the caller decides)."""
        ws = self._ws
        if ws is None:
            return False
        kind = event["type"]
        if kind == _APPEND:  # the hot path: 50 a second, nothing remembered
            transport = ws.transport
            if transport.get_write_buffer_size() > self.max_audio_backlog_bytes:
                self._drop_audio(len(event["audio"]))
                return True  # accepted and dropped by policy: the socket is fine
            if len(event) != 2:
                text = _dumps(event)
            else:
                text = _APPEND_PREFIX + event["audio"] + '"}'
                if ws.state is State.OPEN and not transport.is_closing():
                    # Framed here and written at once (see framing.py): websockets' send()
                    # costs twice as much per append. Closing or closed: websockets decides.
                    transport.write(self._framer.frame(text.encode()))
                    return True
        else:
            event_id = event.get("event_id")
            if event_id is not None:
                self._remember(str(event_id), event)  # for a rate-limit retry
            if kind == _SESSION_UPDATE:
                # The core reasons on the GA session; the dialect's shape exists only here.
                session = self._serialize_session(event["session"], self._model)
                event = {**event, "session": session}
            text = _dumps(self._rewrite(event) if self._rewrite is not None else event)
        try:
            await ws.send(text)
        except ConnectionClosed:
            return False
        return True

    def _drop_audio(self, size: int) -> None:
        if not self.audio_dropped_bytes:
            logger.warning(
                f"{self.safe_url} is not keeping up: input audio is dropped while more "
                f"than {self.max_audio_backlog_bytes} bytes wait to be written"
            )
        self.audio_dropped_bytes += size

    def _remember(self, event_id: str, event: dict[str, Any]) -> None:
        sent = self._sent_by_id
        sent[event_id] = event
        if len(sent) > _SENT_KEPT:
            sent.popitem(last=False)

    def sent_event(self, event_id: str | None) -> dict[str, Any] | None:
        """A recent client event by its ``event_id`` (to ask again for what was refused)."""
        return self._sent_by_id.get(event_id) if event_id else None

    async def events(self) -> AsyncIterator[ServerEvent]:
        """Server events until the socket closes; close code and reason are kept."""
        ws = self._ws
        if ws is None:
            return
        canonical = self._dialect.canonical_type
        too_big = False
        try:
            async for message in ws:
                try:
                    data = _loads(message)
                    event_type = canonical(data["type"])
                    if event_type is None:
                        continue  # a duplicate or keep-alive the dialect drops
                    data["type"] = event_type
                    yield parse_server_event(data)
                except (ValueError, TypeError, KeyError, ProtocolError) as exc:
                    logger.warning(f"skipping a malformed server event: {exc}")
        except ConnectionClosed as exc:
            # We closed it (1009) because of the size: the server's answer may never come.
            too_big = exc.sent is not None and exc.sent.code == MESSAGE_TOO_BIG
        finally:
            if too_big:
                self.close_code, self.close_reason = MESSAGE_TOO_BIG, "message too big"
                logger.warning(
                    f"a server message above the {self.max_message_bytes} byte limit "
                    f"(max_message_bytes) was refused; the socket to {self.safe_url} closed"
                )
            elif ws.close_code is not None:
                self.close_code = ws.close_code
                self.close_reason = ws.close_reason or ""

    async def close(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            try:
                await ws.close()
            except Exception as exc:  # closing must never raise into a shutdown path
                logger.debug(f"error while closing {self.safe_url}: {exc!r}")
