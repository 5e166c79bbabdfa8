"""The connection's life: connect, receive, reconnect and replay, disconnect.

:class:`ConnectionOwner` is the half of :class:`~realtime_llm.RealtimeLLMService` that owns
the :class:`~realtime_llm.transport.RealtimeConnection`. When the socket goes away without
us closing it, the close is classified once (:func:`~realtime_llm.errors.classify_close_code`)
and the :class:`~realtime_llm.transport.reconnect.ReconnectPolicy` decides: transient
failures and the server's session limit get a new connection, the session set up again
and the conversation replayed from the ``LLMContext`` (a reply that was cut off is asked
for again); anything fatal becomes one ``ErrorFrame`` that marks the service unusable
(pipecat's ``force_treat_as_permanent``), so the worker's unusable-processor policy applies.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from loguru import logger
from pipecat.frames.frames import CancelFrame, EndFrame, StartFrame

from realtime_llm.errors import (
    ConnectionFailed,
    ErrorClass,
    FatalConnectionError,
    RequestFailed,
)
from realtime_llm.pipecat._frames_out import FrameOutputs
from realtime_llm.protocol import outputs as out
from realtime_llm.transport import RealtimeConnection
from realtime_llm.transport.connection import MESSAGE_TOO_BIG
from realtime_llm.transport.rate_limit import RateLimitBackoff
from realtime_llm.transport.reconnect import ConnectBudget, ReconnectPolicy

__all__ = ["ConnectionOwner"]


class ConnectionOwner(FrameOutputs):
    """Owns the socket and its reconnects. Not used on its own: see RealtimeLLMService."""

    _api_key: str | None
    _token_provider: Callable[[], Awaitable[str]] | None
    _receive_task: asyncio.Task[None] | None
    _reconnect_policy: ReconnectPolicy
    _connect_budget: ConnectBudget
    _rate_limit_backoff: RateLimitBackoff
    _closing: bool
    _renewal_task: asyncio.Task[None] | None
    _user_speaking: bool

    def _session_wire(self) -> dict[str, Any]:
        """The session object to configure (the service's settings, tools, instructions)."""
        raise NotImplementedError

    def _replay_outputs(self) -> list[out.Output]:
        """What to send to a new session so it knows the conversation so far."""
        raise NotImplementedError

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        await self._connect()

    async def stop(self, frame: EndFrame) -> None:
        await super().stop(frame)
        await self._disconnect()

    async def cancel(self, frame: CancelFrame) -> None:
        await super().cancel(frame)
        await self._disconnect()

    async def _connect(self) -> bool:
        """Open a connection and configure the session, retrying transient failures.

        Errors become one ErrorFrame: fatal ones at once, transient ones when the
        reconnect policy gives up.
        """
        self._closing = False
        failure: ConnectionFailed | None = None
        for delay in (
            self._reconnect_policy.delays() if self._reconnect_policy.max_attempts else [0.0]
        ):
            await asyncio.sleep(delay)
            try:
                await self._open()
                return True
            except FatalConnectionError as exc:
                await self._report_error(str(exc), ErrorClass.FATAL)
                return False
            except ConnectionFailed as exc:
                failure = exc
                logger.warning(f"{self}: cannot connect yet: {exc}")
        await self._report_error(str(failure), ErrorClass.FATAL)
        return False

    async def _open(self) -> None:
        """Open a connection, configure the session and start receiving (raises on failure)."""
        delay = self._connect_budget.next_delay(time.monotonic())
        if delay is None:
            raise FatalConnectionError(
                f"the realtime server keeps dropping the connection: the reconnect budget "
                f"({self._connect_budget.describe()}) is spent"
            )
        await asyncio.sleep(delay)  # the backoff that outlives a flapping server's upgrades
        model = str(self._settings.model)
        connection = RealtimeConnection(self._dialect, model)
        with self._tracer.session_setup(model=model, url=connection.safe_url):
            secret = await self._token_provider() if self._token_provider else self._api_key
            if secret:
                self._tracer.add_secret(secret)
                self._redact.add(secret)
            await connection.connect(secret)
        self._connection = connection
        self._session.reset()
        await self._act(self._session.configure(self._session_wire()))
        if self._dialect.configure_on == "connect":
            await self._act(self._session.server_ready_for_configuration())
        self._receive_task = self.create_task(self._receive(connection), name="realtime-receive")
        self._schedule_renewal()

    def _schedule_renewal(self) -> None:
        """Renew the session at a quiet moment before the server's time limit ends it."""
        limit = self._dialect.session_limit_s
        if self._renewal_task is not None and not self._renewal_task.done():
            self._renewal_task.cancel()
        self._renewal_task = None
        if limit and self._reconnect_policy.should_reconnect(ErrorClass.SESSION_END):
            margin = min(120.0, 0.2 * limit)
            self._renewal_task = self.create_task(
                self._renew_before_limit(limit - margin, margin), name="realtime-renewal"
            )

    async def _renew_before_limit(self, after_s: float, margin_s: float) -> None:
        await asyncio.sleep(after_s)
        deadline = time.monotonic() + margin_s / 2
        while not self._quiet() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        logger.info(f"{self}: renewing the realtime session before its time limit")
        self._renewal_task = None  # this task is about to be replaced, not cancelled
        await self._server_asked_to_reconnect("session renewal", ErrorClass.SESSION_END)

    def _quiet(self) -> bool:
        """No reply on its way or playing, and the user is not talking."""
        session = self._session
        return not (session.response_active or session.playing or self._user_speaking)

    async def _disconnect(self) -> None:
        self._closing = True
        if self._renewal_task is not None:
            await self.cancel_task(self._renewal_task)
            self._renewal_task = None
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()
        if self._receive_task is not None:
            await self.cancel_task(self._receive_task)
            self._receive_task = None
        if self._release_task is not None:
            await self.cancel_task(self._release_task)
            self._release_task = None
        await self.stop_all_metrics()  # type: ignore[no-untyped-call]
        self._fail_retrievals("the realtime connection closed")
        self._tracer.close()

    def _fail_retrievals(self, why: str) -> None:
        for future in self._retrievals.values():
            if not future.done():
                future.set_exception(RequestFailed(why))
        self._retrievals.clear()

    async def _receive(self, connection: RealtimeConnection) -> None:
        receive = self._session.receive
        clock = time.monotonic
        session = self._session
        async for event in connection.events():
            try:
                await self._act(receive(event, clock()))
            except Exception as exc:  # one bad event must not end the conversation
                logger.exception(f"{self}: error while handling {type(event).__name__}")
                await self._report_error(
                    f"error handling a server event: {exc!r}", ErrorClass.RECOVERABLE
                )
            if session.holding_response_end:
                self._schedule_transcript_release()
        if self._connection is connection and not self._closing:
            self._connection = None
            code, reason = connection.close_code, connection.close_reason
            if code == MESSAGE_TOO_BIG:
                limit = connection.max_message_bytes
                await self._report_error(
                    f"a realtime server message above the {limit} byte limit was refused; "
                    "reconnecting",
                    ErrorClass.TRANSIENT,
                )
                error_class = ErrorClass.TRANSIENT  # our close: the session is worth keeping
            else:
                error_class = self._dialect.classify_close(code, reason)
            await self._connection_lost(error_class, f"{code} {self._redact(reason)}")

    async def _connection_lost(self, error_class: ErrorClass, detail: str) -> None:
        """The server went away (or told us to go): reconnect and replay, or report."""
        closing, reply_wanted = self._session.connection_lost()
        await self._act(closing)
        self._fail_retrievals("the realtime connection was lost")
        if not self._reconnect_policy.should_reconnect(error_class):
            message = f"the realtime connection closed ({detail.strip()})"
            await self._report_error(message, ErrorClass.FATAL)
            return
        logger.warning(f"{self}: realtime connection ended ({detail.strip()}); reconnecting")
        for attempt, delay in enumerate(self._reconnect_policy.delays(), start=1):
            await asyncio.sleep(delay)
            if self._closing:
                return
            try:
                await self._open()
            except FatalConnectionError as exc:
                await self._report_error(str(exc), ErrorClass.FATAL)
                return
            except ConnectionFailed as exc:
                logger.warning(f"{self}: reconnect attempt {attempt} failed: {exc}")
                continue
            replay = self._replay_outputs()
            if reply_wanted:
                replay.extend(self._session.request_response())
            await self._act(replay)
            logger.info(f"{self}: reconnected after {attempt} attempt(s); conversation replayed")
            return
        message = "the realtime connection could not be re-established"
        await self._report_error(message, ErrorClass.FATAL)

    async def _on_rate_limited(self, message: str, event_id: str | None) -> None:
        """Keep the socket, wait (as long as the message asks, or a backoff), ask again.

        A refused ``response.create`` is asked for again through the core (a fresh request,
        unless a reply is already under way by then); another refused event with an id is
        sent again as it was, if it went on this same socket.
        """
        connection = self._connection
        refused = connection.sent_event(event_id) if connection is not None else None
        delay = self._rate_limit_backoff.next_delay(message, time.monotonic())
        logger.warning(f"{self}: rate limited; asking again in {delay:g} s")

        async def ask_again() -> None:
            await asyncio.sleep(delay)
            if self._closing or refused is None:
                return
            if refused.get("type") == "response.create":
                if not self._session.response_active:
                    await self._act(self._session.request_response())
            elif self._connection is connection and connection is not None:
                await connection.send(refused)

        self.create_task(ask_again(), name="realtime-rate-limit")

    async def _on_transient_server_error(self, detail: str) -> None:
        self.create_task(self._server_asked_to_reconnect(detail), name="realtime-reconnect")

    async def _server_asked_to_reconnect(
        self, detail: str, error_class: ErrorClass = ErrorClass.TRANSIENT
    ) -> None:
        """Drop a live socket on purpose and start a fresh session with the conversation."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        await connection.close()
        await self._connection_lost(error_class, detail)
