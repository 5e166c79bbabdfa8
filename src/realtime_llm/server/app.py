"""``LocalRealtimeServer``: the session core on a real WebSocket, for bots and their tests.

This is the I/O half (the protocol half is :mod:`.session`). Per connection it runs a short
loop -- receive a message, feed the core, queue what it says to send, start the commands it
asks for -- plus one writer task that sends queued events in order, and one task per
engine call (engines block, so they run in worker threads). Everything a test may want to
assert on is recorded on the server: every client event received (:attr:`received`) and
every server event sent (:attr:`sent`), across connections, in order.

The server speaks one dialect of the protocol family (``dialect="ga"`` by default; see
:mod:`.dialects`): the core always speaks GA, and a per-connection
:class:`~._edge.DialectEdge` translates client events on the way in and server events
on the way out, so :attr:`~LocalRealtimeServer.received` and :attr:`~LocalRealtimeServer.sent`
hold what was on the wire. The dialect also decides the handshake: path, required or
refused headers and query keys, and where the key goes. Any key is accepted unless
``api_key`` is set (then HTTP 401 for a wrong or missing one). The key is never logged:
websockets logs request headers at DEBUG level, so its logger is wrapped to redact
credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import Coroutine, Iterable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from ._edge import DialectEdge
from ._serving import LoopbackServing
from ._wire import IdGenerator
from .dialects import ServerDialect, get_server_dialect
from .engine import Engine, HearsDeclaredTools
from .rules import RuleEngine
from .session import (
    DEFAULT_MAX_EVENT_BYTES,
    Command,
    Generate,
    ServerSession,
    Transcribe,
)
from .vad import EnergyVad, VadFactory

__all__ = ["LocalRealtimeServer"]

logger = logging.getLogger(__name__)

Event = dict[str, Any]
SESSION_LIMIT_REASON = "Your session hit the maximum duration of 60 minutes."
_SECRET_HEADERS = {"authorization", "api-key", "openai-api-key", "proxy-authorization"}


if TYPE_CHECKING:
    _LoggerAdapter = logging.LoggerAdapter[logging.Logger]
else:  # not subscriptable at runtime before Python 3.11
    _LoggerAdapter = logging.LoggerAdapter


class _RedactingLogger(_LoggerAdapter):
    """Hands websockets a logger that prints ``[redacted]`` for credential headers."""

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if len(args) == 2 and isinstance(args[0], str) and args[0].lower() in _SECRET_HEADERS:
            args = (args[0], "[redacted]")
        super().log(level, msg, *args, **kwargs)


_QueueItem = tuple[Event, "asyncio.Future[None] | None"] | None


class _Connection:
    """One client: the session core, its send queue and its engine tasks."""

    def __init__(self, server: LocalRealtimeServer, ws: ServerConnection, model: str) -> None:
        self.server = server
        self.ws = ws
        new_id = IdGenerator(secrets.token_hex(4))
        self.session = ServerSession(
            model=model,
            new_id=new_id,
            vad_factory=server.vad_factory,
            max_event_bytes=server.max_event_bytes,
            session_defaults=server.dialect.session_defaults,
        )
        self.edge = DialectEdge(server.dialect, new_id)
        self.queue: asyncio.Queue[_QueueItem] = asyncio.Queue()
        self.tasks: set[asyncio.Task[None]] = set()
        self.transcriptions: set[asyncio.Task[None]] = set()

    def emit(self, events: Iterable[Event]) -> None:
        """Queue GA events from the core (one batch), in the dialect's form."""
        for wire in self.edge.outgoing_batch(list(events), int(time.time() * 1000)):
            self.queue.put_nowait((wire, None))

    async def run(self) -> None:
        writer = asyncio.create_task(self._write())
        self.emit(self.session.open(time.time()))
        if self.server.max_session_s is not None:
            self._spawn(self._expire(self.server.max_session_s))
        if self.server.dialect.ping_interval_s is not None:
            self._spawn(self._ping(self.server.dialect.ping_interval_s))
        try:
            async for message in self.ws:
                self._receive(message)
        except ConnectionClosed:
            pass
        finally:
            for task in self.tasks:
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)
            self.queue.put_nowait(None)
            await writer

    def _receive(self, message: str | bytes) -> None:
        try:
            output = self.session.receive_message(message, translate=self.edge.incoming)
        except Exception:  # a bug in the core must not kill the session
            logger.exception("local realtime server: failed to handle a client event")
            self.emit([_server_error("The server failed to handle the event.")])
            return
        if output.received is not None and self.server.record:
            self.server.received.append(output.received)
        self.emit(output.events)
        for command in output.commands:
            self._start(command)

    def _start(self, command: Command) -> None:
        if isinstance(command, Transcribe):
            task = self._spawn(self._transcribe(command))
            self.transcriptions.add(task)
            task.add_done_callback(self.transcriptions.discard)
        else:
            self._spawn(self._respond(command))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def _expire(self, seconds: float) -> None:
        """End the session like OpenAI does at its limit: close 1001 with this reason."""
        await asyncio.sleep(seconds)
        await self.ws.close(1001, SESSION_LIMIT_REASON)

    async def _ping(self, interval: float) -> None:
        """Dialects that ping (xAI, Inworld) do so now and then, whatever else is going on."""
        while True:
            await asyncio.sleep(interval)
            self.queue.put_nowait((self.edge.ping(int(time.time() * 1000)), None))

    async def _write(self) -> None:
        while (item := await self.queue.get()) is not None:
            event, done = item
            if self.server.record:
                self.server.sent.append(event)
            try:
                await self.ws.send(json.dumps(event))
            except ConnectionClosed:
                if done is not None and not done.done():
                    done.set_exception(ConnectionError("the client is gone"))
                continue
            if done is not None and not done.done():
                done.set_result(None)

    async def _transcribe(self, command: Transcribe) -> None:
        engine = self.server.engine
        try:
            if isinstance(engine, HearsDeclaredTools):
                tools = tuple(self.session.session.get("tools") or ())
                text = await asyncio.to_thread(engine.transcribe_with_tools, command.pcm, tools)
            else:
                text = await asyncio.to_thread(engine.transcribe, command.pcm)
        except Exception as exc:
            logger.exception("local realtime server: the engine failed to transcribe")
            events = self.session.transcription_failed(
                command.item_id, command.content_index, f"{type(exc).__name__}: {exc}"
            )
        else:
            events = self.session.transcription_done(command.item_id, command.content_index, text)
        self.emit(events)

    async def _respond(self, command: Generate) -> None:
        # The engine hears user audio through transcription: let pending ones finish first.
        await asyncio.gather(*self.transcriptions, return_exceptions=True)
        request = self.session.response_request(command.response_id)
        if request is None:
            return  # cancelled while waiting
        conversation, context = request
        engine = self.server.engine
        try:
            reply = await asyncio.to_thread(engine.respond, conversation, context)
            audio = None
            if reply.text and "audio" in context.output_modalities:
                audio = await asyncio.to_thread(engine.synthesize, reply.text)
        except Exception as exc:
            logger.exception("local realtime server: the engine failed to respond")
            self.emit(
                self.session.reply_failed(command.response_id, f"{type(exc).__name__}: {exc}")
            )
            return
        self.emit(self.session.reply_ready(command.response_id, reply, audio))
        while True:
            await asyncio.sleep(self.server.chunk_interval_s)
            batch = self.session.next_batch(command.response_id)
            if not batch:
                return
            self.emit(batch)


def _server_error(message: str) -> Event:
    return {
        "type": "error",
        "event_id": f"event_{secrets.token_hex(8)}",
        "error": {"type": "server_error", "code": "server_error", "message": message},
    }


class LocalRealtimeServer(LoopbackServing):
    """A local OpenAI Realtime server over WebSocket, in the GA dialect or another.

    ::

        async with LocalRealtimeServer(ScriptedEngine([...])) as server:
            bot = MyBot(url=server.url)   # ws://127.0.0.1:PORT/v1/realtime
            ...
            assert [e["type"] for e in server.received][:1] == ["session.update"]

    ``engine`` defaults to :class:`.RuleEngine`. ``port=0`` picks a free port.
    ``dialect`` is a name -- ``"ga"`` (what OpenAI GA and ``local`` clients speak; also
    ``"openai"``/``"local"``), ``"openai_beta"``, ``"azure"``, ``"xai"``, ``"inworld"`` --
    or a :class:`~.dialects.ServerDialect`; it sets the URL path (``path`` overrides it),
    the handshake and the wire form of every event, and :attr:`received`/:attr:`sent`
    hold events in that form.
    ``chunk_interval_s`` paces streamed responses (one 40 ms audio chunk per interval;
    0.04 is real time); a small value keeps tests fast while leaving room to interrupt.
    ``max_event_bytes`` bounds one client event: bigger ones get an ``error`` event (up to
    four times that, beyond which the socket closes with 1009). ``max_session_s`` ends
    each session as OpenAI does after 60 minutes (close 1001 with OpenAI's reason text);
    make it short to test a bot's reconnect. ``record=False`` keeps :attr:`received` and
    :attr:`sent` empty, for long-running demo servers.
    """

    def __init__(
        self,
        engine: Engine | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        chunk_interval_s: float = 0.005,
        api_key: str | None = None,
        path: str | None = None,
        default_model: str = "gpt-realtime",
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        vad_factory: VadFactory = EnergyVad,
        max_session_s: float | None = 3600.0,
        record: bool = True,
        dialect: str | ServerDialect = "ga",
    ) -> None:
        self.engine: Engine = engine if engine is not None else RuleEngine()
        self.dialect = get_server_dialect(dialect)
        self.host = host
        self.chunk_interval_s = chunk_interval_s
        self.path = "/" + (path if path is not None else self.dialect.path).strip("/")
        self.default_model = default_model
        self.max_event_bytes = max_event_bytes
        self.vad_factory = vad_factory
        self.max_session_s = max_session_s
        self.record = record
        self.received: list[Event] = []
        """Every client event received (decoded JSON objects), across connections."""
        self.sent: list[Event] = []
        """Every server event sent (or being sent when a client left), in order."""
        self._api_key = api_key
        self._requested_port = port
        self._connections: set[_Connection] = set()

    # --- lifecycle ---------------------------------------------------------------------------

    async def _serve(self) -> Server:
        return await serve(
            self._handle,
            self.host,
            self._requested_port,
            process_request=self._check_request,
            max_size=max(4 * self.max_event_bytes, 1 << 20),
            compression=None,
            logger=_RedactingLogger(logging.getLogger("realtime_llm.server.websockets")),
        )

    @property
    def url(self) -> str:
        """``ws://HOST:PORT`` plus the dialect's path, without a query string.

        A client appends its own query (``?model=...``; Inworld: ``?key=...&protocol=realtime``),
        so this is what goes in a client's ``base_url``.
        """
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}{self.path}"

    @property
    def connections(self) -> int:
        """How many clients are connected right now."""
        return len(self._connections)

    # --- test hooks --------------------------------------------------------------------------

    async def send_event(self, event: Mapping[str, Any]) -> None:
        """Send an arbitrary server event (e.g. an ``error``) to every connected client.

        Queued behind what is already being sent; returns once it is on the wire. The event
        is sent as given, not translated to the server's dialect.
        """
        waits = []
        for connection in list(self._connections):
            payload = dict(event)
            payload.setdefault("event_id", f"event_{secrets.token_hex(8)}")
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            connection.queue.put_nowait((payload, done))
            waits.append(done)
        await asyncio.gather(*waits, return_exceptions=True)

    async def close_connections(self, code: int = 1011, reason: str = "") -> None:
        """Close every client's socket with ``code``; 1006 drops the TCP connection instead."""
        for connection in list(self._connections):
            if code == 1006:
                connection.ws.transport.abort()
            else:
                await connection.ws.close(code, reason)

    async def wait_for_received(
        self, event_type: str, *, count: int = 1, timeout: float = 5.0
    ) -> Event:
        """Wait until ``count`` client events of ``event_type`` arrived; return the last."""
        return await self._wait(self.received, event_type, count, timeout)

    async def wait_for_sent(
        self, event_type: str, *, count: int = 1, timeout: float = 5.0
    ) -> Event:
        """Wait until ``count`` server events of ``event_type`` were sent; return the last."""
        return await self._wait(self.sent, event_type, count, timeout)

    @staticmethod
    async def _wait(log: list[Event], event_type: str, count: int, timeout: float) -> Event:
        async def poll() -> Event:
            while True:
                matching = [e for e in log if e.get("type") == event_type]
                if len(matching) >= count:
                    return matching[count - 1]
                await asyncio.sleep(0.005)

        return await asyncio.wait_for(poll(), timeout)

    # --- connections -------------------------------------------------------------------------

    def _check_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path, _, query = request.path.partition("?")
        if path.rstrip("/") != self.path:
            return connection.respond(404, f"Not found. This server serves {self.path}\n")
        refusal = self.dialect.check_request(parse_qs(query), request.headers, self._api_key)
        if refusal is None:
            return None
        response = connection.respond(refusal.status, refusal.body)
        _set_header(response.headers, "Content-Type", refusal.content_type)
        return response

    async def _handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        query = parse_qs(ws.request.path.partition("?")[2])
        model = self.dialect.model(query) or self.default_model
        connection = _Connection(self, ws, model)
        self._connections.add(connection)
        try:
            await connection.run()
        finally:
            self._connections.discard(connection)


def _set_header(headers: MutableMapping[str, str], name: str, value: str) -> None:
    with contextlib.suppress(KeyError):
        del headers[name]
    headers[name] = value
