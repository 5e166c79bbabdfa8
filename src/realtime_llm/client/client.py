"""``RealtimeClient``: the session's life, without pipecat.

It owns the dialect, the sans-I/O :class:`~realtime_llm.protocol.session.RealtimeSession`,
the :class:`~realtime_llm.transport.base.Transport`, the reconnect policy, renewal before the
dialect's ``session_limit_s`` and replay into a new session. Its owner (the pipecat service,
or any program) drives the core through :attr:`RealtimeClient.session` and hands what the
core returns to :meth:`RealtimeClient.act`: client events go to the transport here, and every
other output goes to the owner's ``on_output`` handler, in order (or, with no handler, to
:meth:`RealtimeClient.outputs`).

When the connection goes away without the client closing it, the close is classified once
(:func:`~realtime_llm.errors.classify_close_code`) and the
:class:`~realtime_llm.transport.reconnect.ReconnectPolicy` decides: transient failures and
the server's session limit get a new connection, the session configured again and the
conversation replayed (a reply that was cut off is asked for again); anything else becomes
one :class:`~realtime_llm.client.outputs.ClientFailed`.

Replay: the owner passes ``replay_items``, a callable returning the conversation as GA
items. The client does not read pipecat's ``LLMContext``; the owner that has a history
(the pipecat service) is the one that knows what the conversation is.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from typing import Any

from loguru import logger

from realtime_llm.client.outputs import ClientFailed, EventHandlingFailed
from realtime_llm.dialects.base import Dialect
from realtime_llm.errors import (
    ConnectionFailed,
    ErrorClass,
    FatalConnectionError,
    RequestFailed,
)
from realtime_llm.protocol import outputs as out
from realtime_llm.protocol.events import SessionCreated
from realtime_llm.protocol.session import RealtimeSession
from realtime_llm.redaction import Redactor
from realtime_llm.tracing import SessionTracer
from realtime_llm.transport.base import Transport, TransportFactory
from realtime_llm.transport.connection import MESSAGE_TOO_BIG, RealtimeConnection
from realtime_llm.transport.rate_limit import RateLimitBackoff
from realtime_llm.transport.reconnect import ConnectBudget, ReconnectPolicy

__all__ = ["ClientOutput", "OutputHandler", "RealtimeClient"]

ClientOutput = out.Output | ClientFailed | EventHandlingFailed
OutputHandler = Callable[[ClientOutput], Awaitable[None]]
ReplaySource = Callable[[RealtimeSession], list[out.Output]]

_TRANSCRIPT_WAIT_S = 2.0
"""How long a finished reply waits for the user transcript that should precede it."""


class RealtimeClient:
    """One realtime conversation kept alive across connections.

    Args:
        dialect: the server's dialect (URL, auth, naming, limits, capabilities).
        model: the model, or a callable read at every connect (it is fixed per connection).
        api_key: the credential; never logged.
        token_provider: an async callable returning a fresh credential, awaited before
            every connect; used instead of ``api_key``.
        reconnect_policy: when and how fast to reconnect (default ``ReconnectPolicy()``).
        connection_factory: ``(dialect, model) -> Transport``; the WebSocket by default,
            :class:`~realtime_llm.transport.memory.MemoryServer`'s ``factory`` in tests.
        on_output: the owner's handler of every output that is not a client event.
        session_config: the GA session object to configure on every new connection (if
            not given, the configuration last given to the core stays in force).
        replay: what to send to a new session so it knows the conversation so far: a
            callable given the new session core, returning its outputs (items to create).
        tracer: spans for the session setup; a private one when None.
        transcript_wait_s: how long a finished reply waits for its user transcript.
    """

    def __init__(
        self,
        dialect: Dialect,
        model: str | Callable[[], str] = "gpt-realtime",
        *,
        api_key: str | None = None,
        token_provider: Callable[[], Awaitable[str]] | None = None,
        reconnect_policy: ReconnectPolicy | None = None,
        connection_factory: TransportFactory | None = None,
        on_output: OutputHandler | None = None,
        session_config: Callable[[], Mapping[str, Any]] | None = None,
        replay: ReplaySource | None = None,
        tracer: SessionTracer | None = None,
        transcript_wait_s: float = _TRANSCRIPT_WAIT_S,
        name: str = "RealtimeClient",
    ) -> None:
        self.dialect = dialect
        self._model = model
        self._api_key = api_key
        self._token_provider = token_provider
        self.reconnect_policy = reconnect_policy or ReconnectPolicy()
        self._connect_budget = ConnectBudget(self.reconnect_policy)
        """Dials per window, with a backoff that outlives a flapping server's upgrades."""
        self._rate_limit_backoff = RateLimitBackoff()
        self.redactor = Redactor((api_key,))
        """Hides every credential this client used from server-provided text."""
        self._factory: TransportFactory = connection_factory or RealtimeConnection
        self._queue: asyncio.Queue[ClientOutput] | None = None
        self._on_output: OutputHandler = on_output or self._enqueue
        self._session_config = session_config
        self._replay = replay
        self._tracer = tracer or SessionTracer(
            provider=dialect.name, secrets=(api_key,) if api_key else ()
        )
        self._transcript_wait_s = transcript_wait_s
        self._name = name
        self.session = RealtimeSession(dialect.capabilities, classify=dialect.classify_error)
        """The sans-I/O core of the current connection: the owner's commands go to it."""
        self._transport: Transport | None = None
        self._closing = False
        self.user_speaking = False
        """Whether server VAD says the user is talking (for finding a quiet moment)."""
        self._receive_task: asyncio.Task[None] | None = None
        self._renewal_task: asyncio.Task[None] | None = None
        self._release_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._retrievals: dict[str, asyncio.Future[Mapping[str, Any]]] = {}
        self._standby: _Standby | None = None
        """The next session, opened and configured before the limit (make-before-break)."""
        self._output_bytes_per_ms: float | None = None
        self._replay_due: bool | None = None
        """A replay waits for the new session's ``session.updated``; True: ask for a reply."""

    def __str__(self) -> str:
        return self._name

    @property
    def connected(self) -> bool:
        return self._transport is not None

    @property
    def model(self) -> str:
        return self._model() if callable(self._model) else self._model

    # -- the owner's side ----------------------------------------------------------------

    async def act(self, outputs: list[out.Output]) -> None:
        """Send the client events, hand everything else to the owner, in order."""
        handle = self._on_output
        for output in outputs:
            if type(output) is out.Send:
                await self._send(output)
                continue
            await handle(output)
            kind = type(output)
            if kind is out.ErrorReported:
                assert isinstance(output, out.ErrorReported)
                if output.error_class in (ErrorClass.TRANSIENT, ErrorClass.SESSION_END):
                    code = f" ({output.code})" if output.code else ""
                    self._spawn(self._drop_and_reconnect(f"server error{code}"), "reconnect")
                elif output.error_class is ErrorClass.RATE_LIMITED:
                    self._on_rate_limited(self.redactor(output.message), output.event_id)
            elif kind is out.SessionReady and self._replay_due is not None:
                await self._replay_now()
            elif kind is out.UserSpeechStarted:
                self.user_speaking = True
            elif kind is out.UserSpeechStopped:
                self.user_speaking = False
            elif kind is out.RetrieveFinished:
                assert isinstance(output, out.RetrieveFinished)
                self._retrieve_finished(output)
        # A turn whose reply ended with no tool call after it in this batch ends now.
        self._tracer.settle()

    def set_output_format(self, bytes_per_ms: float) -> None:
        """The output audio's wire rate, for the playout model of every session."""
        self._output_bytes_per_ms = bytes_per_ms
        self.session.playback.set_format(bytes_per_ms)

    async def send_audio(self, audio_b64: str) -> None:
        """Input audio: sent now, or held by the core until a session is ready."""
        session = self.session
        event = session.append_audio(audio_b64)
        if event is not None:
            transport = self._transport
            if transport is None or not await transport.send(event):
                session.hold_audio(audio_b64)  # the socket went: keep it for the next

    async def retrieve_item(self, item_id: str) -> Mapping[str, Any]:
        """The server's copy of an item (concurrent callers share one request).

        Raises:
            RequestFailed: the server answered with an error, or the connection went.
        """
        future = self._retrievals.get(item_id)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._retrievals[item_id] = future
            await self.act(self.session.retrieve_item(item_id))
        return await asyncio.shield(future)

    async def outputs(self) -> AsyncIterator[ClientOutput]:
        """The outputs, when the client was made without an ``on_output`` handler."""
        queue = self._output_queue()
        while True:
            yield await queue.get()

    async def __aenter__(self) -> RealtimeClient:
        if not await self.connect():
            raise ConnectionFailed(f"{self}: could not connect")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- connecting ----------------------------------------------------------------------

    async def connect(self) -> bool:
        """Open a connection and configure the session, retrying transient failures.

        A failure is one :class:`ClientFailed`: a fatal one at once, transient ones when
        the reconnect policy gives up.
        """
        self._closing = False
        failure: ConnectionFailed | None = None
        policy = self.reconnect_policy
        attempts = 0
        started = time.monotonic()
        for delay in policy.delays() if policy.max_attempts else [0.0]:
            await asyncio.sleep(delay)
            attempts += 1
            try:
                await self._open()
                return True
            except FatalConnectionError as exc:
                await self._on_output(ClientFailed(str(exc)))
                return False
            except ConnectionFailed as exc:
                failure = exc
                logger.warning(f"{self}: cannot connect yet: {exc}")
        tried = f"{attempts} attempt{'s' if attempts != 1 else ''}"
        if attempts > 1:
            tried += f" over {time.monotonic() - started:.1f} s"
        await self._on_output(ClientFailed(f"{failure} (gave up after {tried})"))
        return False

    async def _open(self) -> None:
        """Open a connection, configure the session and start receiving (raises on failure)."""
        await self._wait_for_budget()
        model = self.model
        transport = self._factory(self.dialect, model)
        with self._tracer.connect(model, transport.safe_url, now=time.monotonic()):
            secret = await self._token_provider() if self._token_provider else self._api_key
            if secret:
                self._tracer.add_secret(secret)
                self.redactor.add(secret)
            await transport.connect(secret)
        self._transport = transport
        session = self.session
        session.reset()
        if self._session_config is not None:
            await self.act(session.configure(self._session_config()))
        if self.dialect.configure_on == "connect":
            await self.act(session.server_ready_for_configuration())
        self._receive_task = self._spawn(self._receive(transport), "receive")
        self._schedule_renewal()

    async def _wait_for_budget(self) -> None:
        """Every dial counts against the budget; spent, the client gives up (raises)."""
        delay = self._connect_budget.next_delay(time.monotonic())
        if delay is None:
            raise FatalConnectionError(
                f"the realtime server keeps dropping the connection: the reconnect budget "
                f"({self._connect_budget.describe()}) is spent"
            )
        await asyncio.sleep(delay)  # the backoff that outlives a flapping server's upgrades

    async def close(self) -> None:
        """Close the connection and stop every task; pending retrievals fail."""
        self._closing = True
        self._replay_due = None
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        transport, self._transport = self._transport, None
        if transport is not None:
            await transport.close()
        standby, self._standby = self._standby, None
        if standby is not None:
            await standby.transport.close()
        for task in list(self._tasks):
            if task is not current:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._receive_task = self._renewal_task = self._release_task = None
        self._fail_retrievals("the realtime connection closed")

    async def reopen(self) -> bool:
        """Start over on a new connection (the owner replays what it wants)."""
        await self.close()
        return await self.connect()

    # -- receiving -----------------------------------------------------------------------

    async def _receive(self, transport: Transport, standby: _Standby | None = None) -> None:
        session = standby.session if standby is not None else self.session
        receive = session.receive
        clock = time.monotonic
        async for event in transport.events():
            if type(event) is SessionCreated and session is self.session:
                self._tracer.session_created(str(event.session.get("id") or ""))
            try:
                outputs = receive(event, clock())
                if session is self.session:
                    await self.act(outputs)
                elif standby is not None:
                    await standby.act(outputs)
            except Exception as exc:  # one bad event must not end the conversation
                logger.exception(f"{self}: error while handling {type(event).__name__}")
                await self._on_output(
                    EventHandlingFailed(f"error handling a server event: {exc!r}")
                )
            if session.holding_response_end:
                self._schedule_transcript_release()
        if self._standby is standby and standby is not None:
            logger.warning(f"{self}: the next session closed before the switch to it")
            self._standby = None
        if self._transport is transport and not self._closing:
            code, reason = transport.close_code, self.redactor(transport.close_reason)
            if code == MESSAGE_TOO_BIG:
                limit = getattr(transport, "max_message_bytes", None)
                await self._on_output(
                    ClientFailed(
                        f"a realtime server message above the {limit} byte limit was refused; "
                        "reconnecting",
                        ErrorClass.TRANSIENT,
                    )
                )
                error_class = ErrorClass.TRANSIENT  # our close: the session is worth keeping
            else:
                error_class = self.dialect.classify_close(code, reason)
            next_session = self._standby
            if next_session is not None and next_session.session.ready:
                # The old session ended before a quiet moment: the next one is ready.
                await self._switch_to(next_session)
                return
            self._transport = None
            await self._connection_lost(error_class, f"{code} {reason}")

    async def _send(self, o: out.Send) -> None:
        transport = self._transport
        if transport is None or not await transport.send(o.event):
            logger.debug(f"{self}: not connected; {o.event.get('type')} not sent")

    def _schedule_transcript_release(self) -> None:
        """A held reply end waits at most a moment for its user transcript."""
        if self._release_task is not None and not self._release_task.done():
            return

        async def release() -> None:
            await asyncio.sleep(self._transcript_wait_s)
            await self.act(self.session.release_held_response())

        self._release_task = self._spawn(release(), "transcript-release")

    def _retrieve_finished(self, o: out.RetrieveFinished) -> None:
        future = self._retrievals.pop(o.item_id, None)
        if future is None or future.done():
            return
        if o.item is not None:
            future.set_result(o.item)
        else:
            future.set_exception(RequestFailed(f"retrieving {o.item_id} failed: {o.error}"))

    def _fail_retrievals(self, why: str) -> None:
        for future in self._retrievals.values():
            if not future.done():
                future.set_exception(RequestFailed(why))
        self._retrievals.clear()

    # -- losing and renewing -------------------------------------------------------------

    async def _connection_lost(self, error_class: ErrorClass, detail: str) -> None:
        """The server went away (or told us to go): reconnect and replay, or report."""
        standby, self._standby = self._standby, None
        if standby is not None:  # a next session not ready yet: a fresh reconnect replaces it
            await standby.transport.close()
        closing, reply_wanted = self.session.connection_lost()
        await self.act(closing)
        self._fail_retrievals("the realtime connection was lost")
        policy = self.reconnect_policy
        if not policy.should_reconnect(error_class):
            self._tracer.connection_closed()
            await self._on_output(
                ClientFailed(f"the realtime connection closed ({detail.strip()})")
            )
            return
        self._tracer.connection_lost(
            f"{error_class.value}: {detail}", renewal=error_class is ErrorClass.SESSION_END
        )
        logger.warning(f"{self}: realtime connection ended ({detail.strip()}); reconnecting")
        attempt = 0
        for attempt, delay in enumerate(policy.delays(), start=1):
            await asyncio.sleep(delay)
            if self._closing:
                return
            try:
                await self._open()
            except FatalConnectionError as exc:
                self._tracer.reconnect_failed(str(exc), attempt)
                await self._on_output(ClientFailed(str(exc)))
                return
            except ConnectionFailed as exc:
                logger.warning(f"{self}: reconnect attempt {attempt} failed: {exc}")
                continue
            logger.info(f"{self}: reconnected after {attempt} attempt(s); replaying when ready")
            self._tracer.reconnected(attempt)
            self._replay_due = reply_wanted
            if self.session.ready:
                await self._replay_now()
            return
        message = "the realtime connection could not be re-established"
        self._tracer.reconnect_failed(message, attempt)
        await self._on_output(ClientFailed(message))

    def _on_rate_limited(self, message: str, event_id: str | None) -> None:
        """Keep the socket, wait (as long as the message asks, or a backoff), ask again.

        A refused ``response.create`` is asked for again through the core (a fresh request,
        unless a reply is already under way by then); another refused event with an id is
        sent again as it was, if it went on this same socket.
        """
        transport = self._transport
        sent_event = getattr(transport, "sent_event", None)
        refused = sent_event(event_id) if callable(sent_event) else None
        delay = self._rate_limit_backoff.next_delay(message, time.monotonic())
        logger.warning(f"{self}: rate limited; asking again in {delay:g} s")

        async def ask_again() -> None:
            await asyncio.sleep(delay)
            if self._closing or refused is None:
                return
            if refused.get("type") == "response.create":
                if not self.session.response_active:
                    await self.act(self.session.request_response())
            elif self._transport is transport and transport is not None:
                await transport.send(refused)

        self._spawn(ask_again(), "rate-limit")

    async def _replay_now(self) -> None:
        """The conversation into the new session: after its ``session.update`` took effect,
        so the items are read under the session's configuration, never before it."""
        reply_wanted, self._replay_due = bool(self._replay_due), None
        replay = self._replay(self.session) if self._replay is not None else []
        if reply_wanted:
            replay.extend(self.session.request_response())
        await self.act(replay)

    async def _drop_and_reconnect(
        self, detail: str, error_class: ErrorClass = ErrorClass.TRANSIENT
    ) -> None:
        """Drop a live connection on purpose and start a fresh session with the conversation."""
        transport, self._transport = self._transport, None
        if transport is None:
            return
        await transport.close()
        await self._connection_lost(error_class, detail)

    def _schedule_renewal(self) -> None:
        """Renew the session at a quiet moment before the server's time limit ends it."""
        limit = self.dialect.session_limit_s
        if self._renewal_task is not None and not self._renewal_task.done():
            self._renewal_task.cancel()
        self._renewal_task = None
        if limit and self.reconnect_policy.should_reconnect(ErrorClass.SESSION_END):
            margin = min(120.0, 0.2 * limit)
            self._renewal_task = self._spawn(
                self._renew_before_limit(limit - margin, margin), "renewal"
            )

    async def _renew_before_limit(self, after_s: float, margin_s: float) -> None:
        """Make-before-break: open the next session while this one plays, switch at a silence.

        At ``limit - margin`` the next connection is opened and configured beside the
        current one (two sockets, only until the switch). The switch comes at the first
        quiet moment (no reply on its way or playing, the user not talking); after
        ``margin / 2`` without one, at the end of the current reply (the audio already
        received plays on). Input audio goes to the current session until the switch and
        to the next one after it: never to both. If the next session cannot be opened,
        the current one runs on and its end is handled as a lost connection.
        """
        await asyncio.sleep(after_s)
        deadline = time.monotonic() + margin_s / 2
        standby = await self._open_standby()
        if standby is None:
            return
        while not (standby.session.ready and self._may_switch(time.monotonic() >= deadline)):
            if self._standby is not standby or self._closing:
                return  # the next session went, or the current one ended and took it
            await asyncio.sleep(0.05)
        logger.info(f"{self}: renewing the realtime session before its time limit")
        self._renewal_task = None  # this task is about to be replaced, not cancelled
        await self._switch_to(standby)

    def _may_switch(self, past_deadline: bool) -> bool:
        session = self.session
        if past_deadline:
            return not (session.response_active or session.response_owed)
        return self.quiet and not session.response_owed

    async def _open_standby(self) -> _Standby | None:
        model = self.model
        transport = self._factory(self.dialect, model)
        session = RealtimeSession(self.dialect.capabilities, classify=self.dialect.classify_error)
        if self._output_bytes_per_ms is not None:
            session.playback.set_format(self._output_bytes_per_ms)
        try:
            await self._wait_for_budget()
            with self._tracer.connect(model, transport.safe_url, now=time.monotonic()):
                secret = await self._token_provider() if self._token_provider else self._api_key
                if secret:
                    self._tracer.add_secret(secret)
                    self.redactor.add(secret)
                await transport.connect(secret)
        except ConnectionFailed as exc:
            logger.warning(f"{self}: cannot open the next session yet: {exc}")
            return None
        standby = _Standby(transport, session, str(self))
        self._standby = standby
        if self._session_config is not None:
            await standby.act(session.configure(self._session_config()))
        if self.dialect.configure_on == "connect":
            await standby.act(session.server_ready_for_configuration())
        self._spawn(self._receive(transport, standby), "receive-next")
        return standby

    async def _switch_to(self, standby: _Standby) -> None:
        """Make the next session current, replay into it, and close the old one."""
        old_transport, old_session = self._transport, self.session
        closing, reply_wanted = old_session.connection_lost()
        await self.act(closing)
        self._fail_retrievals("the realtime session was renewed")
        self._tracer.connection_lost("session_end: renewal", renewal=True)
        self._tracer.reconnected(1)
        self._standby = None
        self.session, self._transport = standby.session, standby.transport
        self.user_speaking = False
        self._replay_due = reply_wanted
        await self._replay_now()
        if old_transport is not None:
            await old_transport.close()
        self._schedule_renewal()

    @property
    def quiet(self) -> bool:
        """No reply on its way or playing, and the user is not talking."""
        session = self.session
        return not (session.response_active or session.playing or self.user_speaking)

    # -- plumbing ------------------------------------------------------------------------

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work, name=f"realtime-{name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _output_queue(self) -> asyncio.Queue[ClientOutput]:
        if self._queue is None:
            self._queue = asyncio.Queue()
        return self._queue

    async def _enqueue(self, output: ClientOutput) -> None:
        self._output_queue().put_nowait(output)


class _Standby:
    """The next session while it is prepared: its client events go to its own transport,
    and its happenings (the handshake) are not the owner's business until the switch."""

    def __init__(self, transport: Transport, session: RealtimeSession, name: str) -> None:
        self.transport = transport
        self.session = session
        self._name = name

    async def act(self, outputs: list[out.Output]) -> None:
        for output in outputs:
            if isinstance(output, out.Send):
                await self.transport.send(output.event)
            elif isinstance(output, out.ErrorReported):
                logger.warning(f"{self._name}: the next session reported: {output.message}")
