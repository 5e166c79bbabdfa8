"""``RecordingProxy``: a loopback proxy that records a bot's session with the real service.

Point the bot at the proxy instead of the provider; the proxy opens the same WebSocket
upstream (the bot's query string and headers, its key included, are passed on), forwards
every message both ways unchanged, and writes what went over the wire to a cassette::

    async with RecordingProxy("wss://api.openai.com/v1/realtime", "session.yaml") as proxy:
        bot = MyBot(base_url=proxy.url, api_key=key)   # ws://127.0.0.1:PORT/v1/realtime
        ...

The file never holds a secret. Every credential the bot presented (the ``Authorization``
and ``api-key`` headers, a Basic token and its decoded parts, a key in a WebSocket
subprotocol, every query value but ``model``/``deployment``/``api-version``/``protocol``/
``intent``), plus any string given in ``secrets``, is replaced by ``[redacted]`` wherever
it appears in an event (an error that echoes the key, a URL). Headers are never written.
The same goes for the logs: websockets logs handshakes and frames at DEBUG level, through a
logger that redacts them (``realtime_llm.server.record.websockets``).
Audio is cut to a few samples unless ``keep_audio=True``: cassettes are for the protocol,
and audio would make them megabytes.

The first connection is written to ``out``; a later one (a reconnect) to ``out`` with
``-2``, ``-3``... before the suffix. Each file is written when its connection ends.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.http11 import Request, Response

from ._redacting_log import SAFE_QUERY_KEYS, SECRET_HEADERS, RedactingLogger
from ._serving import LoopbackServing
from .cassette import Cassette, Direction, redact, truncate_audio

__all__ = ["RecordingProxy", "credentials_in"]

logger = logging.getLogger(__name__)

_NOT_FORWARDED = frozenset(
    {
        "host",
        "upgrade",
        "connection",
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-extensions",
        "sec-websocket-protocol",
        "content-length",
        "user-agent",
    }
)
_KEY_SUBPROTOCOL = "openai-insecure-api-key."


def credentials_in(headers: Headers, query: str) -> set[str]:
    """Every string in a handshake that could be a secret, as it may appear in an event."""
    found: set[str] = set()
    for name in sorted(SECRET_HEADERS):
        for value in headers.get_all(name):
            found.add(value)
            scheme, _, token = value.partition(" ")
            if token:
                found.add(token.strip())
                if scheme.lower() == "basic":
                    found.update(_basic_parts(token.strip()))
    for value in headers.get_all("sec-websocket-protocol"):
        for protocol in value.split(","):
            protocol = protocol.strip()
            if protocol.startswith(_KEY_SUBPROTOCOL):
                found.add(protocol[len(_KEY_SUBPROTOCOL) :])
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key not in SAFE_QUERY_KEYS:
            found.add(value)
    return {s for s in found if len(s) >= 4}  # shorter ones would redact ordinary words


def _basic_parts(token: str) -> set[str]:
    try:
        decoded = base64.b64decode(token, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return set()
    return {decoded, *decoded.split(":", 1)}


def upstream_url(upstream: str, request_path: str) -> str:
    """The upstream URL for a client request: upstream's path (or the client's, when upstream
    has none) and upstream's query plus the client's keys that upstream does not fix."""
    up = urlsplit(upstream)
    path, _, query = request_path.partition("?")
    fixed = parse_qsl(up.query, keep_blank_values=True)
    names = {k for k, _ in fixed}
    merged = fixed + [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k not in names]
    return urlunsplit(
        (up.scheme, up.netloc, up.path if up.path not in ("", "/") else path, urlencode(merged), "")
    )


class RecordingProxy(LoopbackServing):
    """Forwards clients on ``host:port`` to ``upstream`` and records each session to ``out``."""

    def __init__(
        self,
        upstream: str,
        out: str | Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        keep_audio: bool = False,
        secrets: Iterable[str] = (),
        open_timeout: float = 10.0,
    ) -> None:
        if urlsplit(upstream).scheme not in ("ws", "wss"):
            raise ValueError(f"the upstream must be a ws:// or wss:// URL, not {upstream!r}")
        self.upstream = upstream
        self.out = Path(out)
        self.host = host
        self.keep_audio = keep_audio
        self.recorded: list[Path] = []
        """The cassettes written so far, one per finished connection."""
        self._secrets = {s for s in secrets if s}
        self._seen_secrets = set(self._secrets)  # every connection's, for the logs
        self._ws_logger = RedactingLogger(
            logging.getLogger("realtime_llm.server.record.websockets"), self._seen_secrets
        )
        self._open_timeout = open_timeout
        self._requested_port = port
        self._upstreams: dict[ServerConnection, tuple[ClientConnection, set[str]]] = {}
        self._connections = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def _serve(self) -> Server:
        return await serve(
            self._handle,
            self.host,
            self._requested_port,
            process_request=self._open_upstream,
            compression=None,
            max_size=None,
            logger=self._ws_logger,
        )

    @property
    def url(self) -> str:
        """``ws://HOST:PORT`` plus the upstream's path: a bot's ``base_url``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        path = urlsplit(self.upstream).path or "/"
        return f"ws://{host}:{self.port}{path}"

    # --- one connection ------------------------------------------------------------------

    async def _open_upstream(self, ws: ServerConnection, request: Request) -> Response | None:
        """Connect upstream during the client's handshake, so a refusal reaches the client
        as the same HTTP status (a wrong key is a 401 for the bot, as without the proxy)."""
        query = request.path.partition("?")[2]
        secrets = self._secrets | credentials_in(request.headers, query)
        self._seen_secrets |= secrets
        headers = [
            (k, v) for k, v in request.headers.raw_items() if k.lower() not in _NOT_FORWARDED
        ]
        protocols = [
            p.strip()
            for value in request.headers.get_all("sec-websocket-protocol")
            for p in value.split(",")
        ]
        url = upstream_url(self.upstream, request.path)
        try:
            upstream = await connect(
                url,
                additional_headers=headers,
                subprotocols=[p for p in protocols if p] or None,  # type: ignore[misc]
                compression=None,
                max_size=None,
                open_timeout=self._open_timeout,
                ping_interval=None,
                logger=self._ws_logger,
            )
        except InvalidStatus as exc:
            body = exc.response.body.decode("utf-8", "replace") if exc.response.body else ""
            status = exc.response.status_code
            logger.warning("recording proxy: the upstream refused the connection: HTTP %d", status)
            return ws.respond(status, str(redact(body, secrets)) or f"upstream: HTTP {status}\n")
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            logger.warning("recording proxy: cannot reach the upstream: %s", type(exc).__name__)
            detail = redact(repr(exc), secrets)
            return ws.respond(502, f"the recording proxy cannot reach the upstream: {detail}\n")
        self._upstreams[ws] = (upstream, secrets)
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        upstream, secrets = self._upstreams.pop(ws)
        self._connections += 1
        target = self._target(self._connections)
        cassette = Cassette()
        pumps = [
            asyncio.create_task(self._pump(ws, upstream, "sent", cassette, secrets)),
            asyncio.create_task(self._pump(upstream, ws, "received", cassette, secrets)),
        ]
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            await _close_like(upstream, ws, secrets)
            await _close_like(ws, upstream, secrets)
            cassette.save(target)
            self.recorded.append(target)
            logger.info("recording proxy: %d events written to %s", len(cassette), target)

    def _target(self, n: int) -> Path:
        if n == 1:
            return self.out
        return self.out.with_name(f"{self.out.stem}-{n}{self.out.suffix}")

    async def _pump(
        self,
        source: ServerConnection | ClientConnection,
        sink: ServerConnection | ClientConnection,
        direction: Direction,
        cassette: Cassette,
        secrets: set[str],
    ) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in source:
                await sink.send(message)
                if isinstance(message, str):
                    self._record(cassette, direction, message, secrets)

    def _record(
        self, cassette: Cassette, direction: Direction, message: str, secrets: set[str]
    ) -> None:
        try:
            event: Any = json.loads(message)
        except ValueError:
            return  # not an event: forwarded, not recorded
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            return
        if not self.keep_audio:
            event = truncate_audio(event)
        cassette.add(direction, redact(event, secrets))


async def _close_like(
    target: ServerConnection | ClientConnection,
    closed: ServerConnection | ClientConnection,
    secrets: set[str],
) -> None:
    """Close ``target`` with the code and reason the other side closed with (redacted)."""
    code = closed.close_code if closed.close_code is not None else 1000
    if code in (1005, 1006, 1015):  # not codes one may send
        code = 1011 if code == 1006 else 1000
    reason = str(redact(closed.close_reason or "", secrets))[:120]
    with contextlib.suppress(Exception):
        await target.close(code, reason)
