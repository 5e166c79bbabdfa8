"""OpenTelemetry spans shaped like the conversation: session, turns, responses, tool calls.

Only ``opentelemetry-api`` is used. Without an SDK installed by the application every span
comes from OTel's no-op tracer, is never recording, and no attribute is computed for it.
The usage ledger (tokens, cost, the session summary) is kept either way.

The tree, standing alone::

    realtime {model}                 INTERNAL  the service's run: start -> stop (summary)
    ├── connect {model}              CLIENT    open the socket -> session ready (session.updated)
    ├── turn {model}                 INTERNAL  a user turn: speech start -> end of the reply
    │   ├── realtime.user_transcription  INTERNAL  zero-length record of its transcript
    │   ├── chat {model}             CLIENT    response.created -> response.done
    │   │   └── execute_tool {tool}  INTERNAL  the function call that response asked for
    │   └── chat {model}             CLIENT    the reply made from the tool's result
    └── reconnect {model}            INTERNAL  lost (or renewed) -> new session, replayed
        └── connect {model}          CLIENT    each attempt

With pipecat's tracing on, :meth:`SessionTracer.nest_under` gives the tracer pipecat's
conversation and turn contexts: the session span becomes a child of pipecat's
``conversation`` span and each turn span a child of pipecat's ``turn`` span current when the
turn's first response starts (falling back to the session span between pipecat turns).
Otherwise the session span is a child of the OTel context current when it starts (an
application span, say, or none).

Turns: a turn opens at the user's speech start (:meth:`~SessionTracer.user_speech_started`),
at a request for a reply when none is open (:meth:`~SessionTracer.reply_requested`: client
VAD's commit, a greeting, an appended message), or at a response the server started on its
own. Speech that starts before the turn has a response stays in the same turn. The turn
ends with the reply that answers it: when a response ends and no tool call follows
(:meth:`~SessionTracer.settle`, which the glue calls after each batch of core outputs), when
it is interrupted, when the user starts the next turn, or when the connection goes. A turn's
span is opened lazily, at its first response (or its transcript, if that comes first), with
the start time recorded at the speech start: pipecat's turn context is set by an observer a
moment after the speech frame, and the parent of a span is fixed when it opens.

Interrupted responses: the core closes the response at once, but the server's usage comes
later in its ``response.done`` (status ``cancelled``). Such a response span stays open until
:meth:`~SessionTracer.response_usage` brings that usage, then ends with the time of the
interruption (so does its turn); a connection lost or closed first ends it without usage.

Attribute names follow the OpenTelemetry GenAI semantic conventions where one exists (copied
here as strings; the semconv package is not a dependency): ``gen_ai.operation.name``,
``gen_ai.provider.name`` (and its predecessor ``gen_ai.system``; ``azure`` and ``xai`` map to
``azure.ai.openai`` and ``x_ai``), ``gen_ai.request.model``, ``gen_ai.response.id``,
``gen_ai.conversation.id`` (the server's session id, from ``session.created``, on every span
of that connection), ``gen_ai.response.finish_reasons`` (the response status),
``gen_ai.output.type``, ``gen_ai.usage.input_tokens`` / ``output_tokens`` /
``cache_read.input_tokens``, ``gen_ai.tool.name`` / ``tool.call.id`` / ``tool.type``,
``server.address`` / ``server.port``, ``error.type``. Operation names are ``chat`` for a
response (a turn of a multi-turn conversation; the conventions have no realtime operation)
and ``execute_tool`` for a tool call; the session, connect, reconnect and turn spans use this
package's own ``realtime``, ``connect``, ``reconnect`` and ``turn``. Everything else is under
``realtime.*`` (see ``docs/observability.md`` for the full list): the token split
(``realtime.usage.{input,output}_{text,audio,image}_tokens`` and
``realtime.usage.cached_input_{text,audio,image}_tokens``), ``realtime.cost_usd`` (a
response's or a turn's cost) and ``realtime.session.cost_usd`` (the running total), time to
first audio per response and per turn, and the session summary on the session span.

Content is opt-in, as the GenAI conventions ask: transcripts (``realtime.transcription.text``)
and tool arguments and results (``gen_ai.tool.call.arguments`` / ``.result``) are recorded
only with ``capture_content=True``. Secrets never become attributes: every string goes
through one :class:`~realtime_llm.observability.redact.Scrubber`; server URLs are reduced to
host and port; exceptions are recorded with their type and scrubbed message, without a
stack trace.

Times: durations (time to first audio, response duration) come from the caller's ``now``
arguments (monotonic seconds). The wall clock (``time.time_ns``) is read only to date a span
that opens or ends after the moment it describes: a turn span opened at its first response,
a response or turn span that waits for late usage. The tracer holds no locks and is driven
from one event loop; calls about ids it does not know open or end no span (the usage of an
unknown response still counts in the ledger); at most 64 spans of a
kind are kept open (the oldest is then ended with ``realtime.abandoned = true``); spans still
open at :meth:`SessionTracer.close` end with ``realtime.ended_at_close = true``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from types import TracebackType
from typing import Any, Final

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider

from realtime_llm.observability.ledger import SessionSummary, UsageLedger, UsageReport
from realtime_llm.observability.meters import SessionMeters
from realtime_llm.observability.pricing import PriceTable
from realtime_llm.observability.redact import Scrubber, server_address
from realtime_llm.observability.usage import TokenUsage

__all__ = ["ConnectAttempt", "ContextSource", "SessionTracer"]

ContextSource = Callable[[], Context | None]
"""Returns the OTel context to parent a span under, or None when there is none now."""

# Operation names (the first word of a span name).
OPERATION_SESSION: Final = "realtime"
OPERATION_CONNECT: Final = "connect"
OPERATION_RECONNECT: Final = "reconnect"
OPERATION_TURN: Final = "turn"
OPERATION_CHAT: Final = "chat"
OPERATION_EXECUTE_TOOL: Final = "execute_tool"
SPAN_USER_TRANSCRIPTION: Final = "realtime.user_transcription"

# OpenTelemetry semantic conventions (copied from opentelemetry-semantic-conventions 0.66b2).
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_SYSTEM: Final = "gen_ai.system"
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_RESPONSE_ID: Final = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
GEN_AI_CONVERSATION_ID: Final = "gen_ai.conversation.id"
GEN_AI_OUTPUT_TYPE: Final = "gen_ai.output.type"
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
GEN_AI_TOOL_TYPE: Final = "gen_ai.tool.type"
GEN_AI_TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"
SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"
ERROR_TYPE: Final = "error.type"

# realtime_llm's own attributes.
REALTIME_VOICE: Final = "realtime.voice"
REALTIME_OUTPUT_MODALITIES: Final = "realtime.output_modalities"
REALTIME_TIME_TO_FIRST_AUDIO_MS: Final = "realtime.time_to_first_audio_ms"
REALTIME_RESPONSE_DURATION_MS: Final = "realtime.response.duration_ms"
REALTIME_RESPONSE_STATUS_REASON: Final = "realtime.response.status_reason"
REALTIME_INTERRUPTED: Final = "realtime.interrupted"
REALTIME_COST_USD: Final = "realtime.cost_usd"
REALTIME_SESSION_COST_USD: Final = "realtime.session.cost_usd"
REALTIME_USAGE_UNAVAILABLE: Final = "realtime.usage.unavailable"
REALTIME_TURN_NUMBER: Final = "realtime.turn.number"
REALTIME_TURN_INITIATOR: Final = "realtime.turn.initiator"
REALTIME_TURN_RESPONSES: Final = "realtime.turn.responses"
REALTIME_TURN_TOOL_CALLS: Final = "realtime.turn.tool_calls"
REALTIME_RECONNECT_REASON: Final = "realtime.reconnect.reason"
REALTIME_RECONNECT_RENEWAL: Final = "realtime.reconnect.renewal"
REALTIME_RECONNECT_ATTEMPTS: Final = "realtime.reconnect.attempts"
REALTIME_ITEM_ID: Final = "realtime.item_id"
REALTIME_TRANSCRIPTION_LENGTH: Final = "realtime.transcription.length"
REALTIME_TRANSCRIPTION_TEXT: Final = "realtime.transcription.text"
REALTIME_TOOL_ARGUMENTS_LENGTH: Final = "realtime.tool_call.arguments_length"
REALTIME_ENDED_AT_CLOSE: Final = "realtime.ended_at_close"
REALTIME_ABANDONED: Final = "realtime.abandoned"
EVENT_FIRST_AUDIO: Final = "realtime.first_audio"
SESSION_SUMMARY_PREFIX: Final = "realtime.session."

_OTHER_ERROR: Final = "_OTHER"
_MAX_OPEN: Final = 64
_RECENT: Final = 2
"""Ended responses remembered for their tool calls. The core reports a response's calls
right after its end, so the last one is enough; one more is slack. More would keep a
turn per reply alive for nothing, and every object kept is one more for the GC."""
_MAX_DESCRIPTION: Final = 500

_PROVIDER_ALIASES: Final[Mapping[str, str]] = {
    "azure": "azure.ai.openai",
    "xai": "x_ai",
    "grok": "x_ai",
}

_USAGE_ATTRIBUTES: Final[tuple[tuple[str, str], ...]] = (
    ("input_tokens", GEN_AI_USAGE_INPUT_TOKENS),
    ("output_tokens", GEN_AI_USAGE_OUTPUT_TOKENS),
    ("cached_input_tokens", GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS),
    ("input_text_tokens", "realtime.usage.input_text_tokens"),
    ("input_audio_tokens", "realtime.usage.input_audio_tokens"),
    ("input_image_tokens", "realtime.usage.input_image_tokens"),
    ("cached_input_text_tokens", "realtime.usage.cached_input_text_tokens"),
    ("cached_input_audio_tokens", "realtime.usage.cached_input_audio_tokens"),
    ("cached_input_image_tokens", "realtime.usage.cached_input_image_tokens"),
    ("output_text_tokens", "realtime.usage.output_text_tokens"),
    ("output_audio_tokens", "realtime.usage.output_audio_tokens"),
)


def _set_usage(span: Span, usage: TokenUsage) -> None:
    for field, attribute in _USAGE_ATTRIBUTES:
        span.set_attribute(attribute, getattr(usage, field))


def _end_with_flag(span: Span, attribute: str, end_time: int | None = None) -> None:
    if span.is_recording():
        span.set_attribute(attribute, True)
    span.end(end_time=end_time)


class _Turn:
    __slots__ = (
        "active",
        "closing",
        "cost",
        "end_ns",
        "ended",
        "first_audio",
        "flag",
        "initiator",
        "input_ended_at",
        "interrupted",
        "number",
        "pending",
        "reply_done",
        "responses",
        "span",
        "start_ns",
        "tool_calls",
        "usage",
    )

    def __init__(self, number: int, initiator: str, start_ns: int) -> None:
        self.number = number
        self.initiator = initiator
        self.start_ns = start_ns
        self.span: Span | None = None
        self.input_ended_at: float | None = None
        self.first_audio = False
        self.responses = 0
        self.pending = 0  # responses started and not yet ended (or waiting for usage)
        self.active: str | None = None
        self.reply_done = False  # a response ended: the turn ends unless a tool call follows
        self.closing = False
        self.end_ns: int | None = None
        self.ended = False
        self.flag: str | None = None  # realtime.ended_at_close / .abandoned, if so ended
        self.interrupted = False
        self.tool_calls = 0
        self.usage = TokenUsage()
        self.cost: Decimal | None = Decimal(0)


class _Response:
    __slots__ = ("end_ns", "first_audio", "span", "started_at", "turn")

    def __init__(self, span: Span, started_at: float, turn: _Turn) -> None:
        self.span = span
        self.started_at = started_at
        self.turn = turn
        self.first_audio = False
        self.end_ns: int | None = None


class ConnectAttempt:
    """One ``connect {model}`` span: opening the socket until the session is ready.

    A context manager around the socket opening: an exception escaping the block ends the
    span as failed (and goes on); on a normal exit the span stays open until
    :meth:`SessionTracer.session_ready` (``session.updated``) or the connection closes.
    """

    __slots__ = ("_ended", "_span", "_tracer")

    def __init__(self, tracer: SessionTracer, span: Span) -> None:
        self._tracer = tracer
        self._span = span
        self._ended = False

    @property
    def ended(self) -> bool:
        return self._ended

    def end(self, *, error: BaseException | str | None = None, flag: str | None = None) -> None:
        """End the span (``error`` marks it failed). Later calls do nothing."""
        if self._ended:
            return
        self._ended = True
        self._tracer._forget_attempt(self)
        if self._span.is_recording():
            if error is not None:
                self._tracer._record_error(self._span, error)
            if flag is not None:
                self._span.set_attribute(flag, True)
        self._span.end()

    def _set_conversation_id(self, session_id: str) -> None:
        if not self._ended and self._span.is_recording():
            self._tracer._set_str(self._span, GEN_AI_CONVERSATION_ID, session_id)

    def __enter__(self) -> ConnectAttempt:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            self.end(error=exc)


class SessionTracer:
    """Spans, metrics and the usage ledger of one realtime service.

    ``tracer_provider``/``meter_provider`` default to the global ones (no-ops until the
    application installs an SDK). ``service_name`` is the instrumentation scope.
    ``provider`` is the dialect name for ``gen_ai.provider.name``. ``capture_content``
    records transcripts and tool arguments/results. ``secrets`` (the API key, say) never
    appear in any attribute; :meth:`add_secret` adds one later. ``prices`` prices the
    responses (the built-in table by default).
    """

    def __init__(
        self,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        service_name: str = "realtime_llm",
        provider: str = "openai",
        capture_content: bool = False,
        secrets: Iterable[str] = (),
        prices: PriceTable | None = None,
    ) -> None:
        self._tracer = trace.get_tracer(service_name, tracer_provider=tracer_provider)
        self._meters = SessionMeters(meter_provider=meter_provider, scope=service_name)
        self._provider = _PROVIDER_ALIASES.get(provider.lower(), provider)
        self._capture_content = capture_content
        self._scrub = Scrubber(secrets)
        self._prices = prices or PriceTable()
        self._conversation_source: ContextSource | None = None
        self._turn_source: ContextSource | None = None
        self._reset()

    def _reset(self) -> None:
        self.ledger = UsageLedger(self._prices)
        self._model = ""
        self._session: Span | None = None
        self._session_id: str | None = None
        self._attempt: ConnectAttempt | None = None
        self._reconnect: Span | None = None
        self._turn: _Turn | None = None
        self._turn_count = 0
        self._responses: dict[str, _Response] = {}
        self._awaiting_usage: dict[str, _Response] = {}
        self._recent: dict[str, _Response] = {}  # ended responses, for their tool calls
        self._tool_calls: dict[str, Span] = {}

    @property
    def session_open(self) -> bool:
        """Between :meth:`session_started` (or the first :meth:`connect`) and :meth:`close`."""
        return self._session is not None

    @property
    def capture_content(self) -> bool:
        return self._capture_content

    @property
    def prices(self) -> PriceTable:
        return self._prices

    def add_secret(self, secret: str) -> None:
        """Never let ``secret`` (a new API key or client secret) appear in an attribute."""
        self._scrub.add(secret)

    def nest_under(self, *, conversation: ContextSource | None, turn: ContextSource | None) -> None:
        """Parent the session span and turn spans under an outer tracer's (pipecat's)."""
        self._conversation_source = conversation
        self._turn_source = turn

    # -- session ---------------------------------------------------------------------------

    def session_started(self, model: str, now: float) -> None:
        """Open the session span (``realtime {model}``); a second call does nothing."""
        self.ledger.start(now)
        if self._session is not None:
            return
        self._model = model
        parent = self._conversation_source() if self._conversation_source else None
        span = self._tracer.start_span(self._name(OPERATION_SESSION), parent, SpanKind.INTERNAL)
        if span.is_recording():
            self._set_common(span, OPERATION_SESSION)
        self._session = span

    def connect(self, model: str, url: str, *, now: float = 0.0) -> ConnectAttempt:
        """Start a ``connect {model}`` span; only the host and port of ``url`` are recorded.

        A child of the reconnect span when one is open, else of the session span. An
        attempt still open when another starts is ended with ``realtime.abandoned``.
        """
        self.session_started(model, now)
        self._model = model
        if self._attempt is not None:
            self._attempt.end(flag=REALTIME_ABANDONED)
        self._session_id = None
        parent = self._reconnect or self._session
        context = trace.set_span_in_context(parent) if parent is not None else None
        span = self._tracer.start_span(self._name(OPERATION_CONNECT), context, SpanKind.CLIENT)
        if span.is_recording():
            self._set_common(span, OPERATION_CONNECT)
            host, port = server_address(url)
            if host is not None:
                self._set_str(span, SERVER_ADDRESS, host)
            if port is not None:
                span.set_attribute(SERVER_PORT, port)
        self._attempt = ConnectAttempt(self, span)
        return self._attempt

    def session_created(self, session_id: str) -> None:
        """The server's session id (``session.created``): ``gen_ai.conversation.id``."""
        if not session_id:
            return
        self._session_id = session_id
        self.ledger.conversation_ids.append(session_id)
        if self._attempt is not None:
            self._attempt._set_conversation_id(session_id)
        session = self._session
        if (
            session is not None
            and session.is_recording()
            and len(self.ledger.conversation_ids) == 1
        ):
            self._set_str(session, GEN_AI_CONVERSATION_ID, session_id)

    def session_ready(self) -> None:
        """The session is configured (``session.updated``): the connect span ends."""
        if self._attempt is not None:
            self._attempt.end()

    def connection_lost(self, reason: str, *, renewal: bool = False) -> None:
        """The connection went (or is renewed on purpose): a ``reconnect {model}`` span opens."""
        self._end_connection_spans(REALTIME_ABANDONED)
        self.ledger.reconnects += 1
        if self._reconnect is not None:
            _end_with_flag(self._reconnect, REALTIME_ABANDONED)
        context = trace.set_span_in_context(self._session) if self._session else None
        span = self._tracer.start_span(self._name(OPERATION_RECONNECT), context, SpanKind.INTERNAL)
        if span.is_recording():
            self._set_common(span, OPERATION_RECONNECT)
            self._set_str(span, REALTIME_RECONNECT_REASON, self._scrub.text(reason.strip()))
            span.set_attribute(REALTIME_RECONNECT_RENEWAL, renewal)
        self._reconnect = span

    def reconnected(self, attempts: int) -> None:
        """A new session is up and the conversation replayed: the reconnect span ends."""
        span, self._reconnect = self._reconnect, None
        if span is None:
            return
        if span.is_recording():
            span.set_attribute(REALTIME_RECONNECT_ATTEMPTS, attempts)
        span.end()

    def reconnect_failed(self, error: str, attempts: int) -> None:
        """The reconnects gave up: the reconnect span ends as failed."""
        span, self._reconnect = self._reconnect, None
        if span is None:
            return
        if span.is_recording():
            span.set_attribute(REALTIME_RECONNECT_ATTEMPTS, attempts)
            self._record_error(span, error)
        span.end()

    def connection_closed(self) -> None:
        """We closed the connection: end everything but the session span."""
        self._end_connection_spans(REALTIME_ENDED_AT_CLOSE)
        if self._attempt is not None:
            self._attempt.end(flag=REALTIME_ENDED_AT_CLOSE)
        if self._reconnect is not None:
            _end_with_flag(self._reconnect, REALTIME_ENDED_AT_CLOSE)
            self._reconnect = None
        tool_calls, self._tool_calls = self._tool_calls, {}
        for span in tool_calls.values():
            _end_with_flag(span, REALTIME_ENDED_AT_CLOSE)

    def close(self, now: float) -> SessionSummary:
        """End every span, the session span last with the summary; returns the summary.

        The tracer is usable again afterwards, for a new session with a fresh ledger.
        """
        self.connection_closed()
        summary = self.ledger.summary(now)
        session = self._session
        if session is not None:
            if session.is_recording():
                self._set_summary(session, summary)
            session.end()
        self._reset()
        return summary

    # -- turns -----------------------------------------------------------------------------

    def user_speech_started(self, now: float) -> None:
        """The user started speaking: a new turn, unless the open one has no response yet."""
        turn = self._turn
        if turn is not None and turn.responses == 0:
            return
        if turn is not None:
            self._close_turn(turn, interrupted=turn.active is not None)
        self._open_turn("user_speech")

    def reply_requested(self, now: float) -> None:
        """The user's input ended (or the client asked for a reply): time to first audio
        of the turn counts from here. Opens a turn if none is open."""
        turn = self._turn or self._open_turn("request")
        if turn.responses == 0 or turn.input_ended_at is None:
            turn.input_ended_at = now

    def settle(self) -> None:
        """End the turn whose reply ended and no tool call followed (after each batch)."""
        turn = self._turn
        if turn is not None and turn.reply_done:
            self._close_turn(turn, interrupted=False)

    def _open_turn(self, initiator: str) -> _Turn:
        self._turn_count += 1
        self.ledger.turns += 1
        turn = _Turn(self._turn_count, initiator, time.time_ns())
        self._turn = turn
        return turn

    def _turn_span(self, turn: _Turn) -> Span:
        """The turn's span, opened on first need (see the module docstring)."""
        if turn.span is None:
            parent = self._turn_source() if self._turn_source else None
            if parent is None and self._session is not None:
                parent = trace.set_span_in_context(self._session)
            span = self._tracer.start_span(
                self._name(OPERATION_TURN), parent, SpanKind.INTERNAL, start_time=turn.start_ns
            )
            if span.is_recording():
                self._set_common(span, OPERATION_TURN)
                span.set_attribute(REALTIME_TURN_NUMBER, turn.number)
                span.set_attribute(REALTIME_TURN_INITIATOR, turn.initiator)
                self._set_conversation_id(span)
            turn.span = span
        return turn.span

    def _close_turn(self, turn: _Turn, *, interrupted: bool, flag: str | None = None) -> None:
        if self._turn is turn:
            self._turn = None
        turn.interrupted = turn.interrupted or interrupted
        turn.flag = turn.flag or flag
        if not turn.closing:
            turn.closing = True
            turn.end_ns = time.time_ns()
        self._maybe_end_turn(turn)

    def _maybe_end_turn(self, turn: _Turn) -> None:
        if not turn.closing or turn.pending > 0 or turn.ended:
            return
        turn.ended = True
        span = self._turn_span(turn)
        if span.is_recording():
            span.set_attribute(REALTIME_INTERRUPTED, turn.interrupted)
            span.set_attribute(REALTIME_TURN_RESPONSES, turn.responses)
            span.set_attribute(REALTIME_TURN_TOOL_CALLS, turn.tool_calls)
            if turn.flag:
                span.set_attribute(turn.flag, True)
            if turn.responses:
                _set_usage(span, turn.usage)
                if turn.cost is not None:
                    span.set_attribute(REALTIME_COST_USD, float(turn.cost))
        span.end(end_time=turn.end_ns)

    # -- responses -------------------------------------------------------------------------

    def response_started(
        self,
        response_id: str,
        *,
        model: str | None,
        voice: str | None,
        modalities: Sequence[str],
        now: float,
    ) -> None:
        """Open the ``chat {model}`` span (``response.created``) in the current turn."""
        if response_id in self._responses:
            return
        if model and not self._model:
            self._model = model  # no session span yet (the tracer used on its own)
        self.ledger.responses += 1
        turn = self._turn or self._open_turn("server")
        turn.responses += 1
        turn.pending += 1
        turn.active = response_id
        turn.reply_done = False
        if turn.input_ended_at is None:
            turn.input_ended_at = now
        context = trace.set_span_in_context(self._turn_span(turn))
        span = self._tracer.start_span(self._name(OPERATION_CHAT), context, SpanKind.CLIENT)
        if span.is_recording():
            self._set_common(span, OPERATION_CHAT)
            self._set_str(span, GEN_AI_RESPONSE_ID, response_id)
            if model:
                self._set_str(span, GEN_AI_REQUEST_MODEL, model)
            if voice:
                self._set_str(span, REALTIME_VOICE, voice)
            mods = [m for m in (self._scrub.clean(m) for m in modalities) if m]
            span.set_attribute(REALTIME_OUTPUT_MODALITIES, mods)
            span.set_attribute(GEN_AI_OUTPUT_TYPE, "speech" if "audio" in mods else "text")
        self._evict_oldest(self._responses)
        self._responses[response_id] = _Response(span, now, turn)

    def response_first_audio(self, response_id: str, now: float) -> None:
        """Time to first audio of the response and, for its turn's first audio, the turn."""
        response = self._responses.get(response_id)
        if response is None or response.first_audio:
            return
        response.first_audio = True
        span = response.span
        if span.is_recording():
            ttfa_ms = max(0.0, (now - response.started_at) * 1000.0)
            span.set_attribute(REALTIME_TIME_TO_FIRST_AUDIO_MS, ttfa_ms)
            span.add_event(EVENT_FIRST_AUDIO)
        turn = response.turn
        if turn.first_audio:
            return
        turn.first_audio = True
        waited = max(0.0, now - (turn.input_ended_at or response.started_at))
        self._meters.record_time_to_first_audio(waited, self._metric_attributes(OPERATION_TURN))
        turn_span = self._turn_span(turn)
        if turn_span.is_recording():
            turn_span.set_attribute(REALTIME_TIME_TO_FIRST_AUDIO_MS, waited * 1000.0)

    def response_finished(
        self,
        response_id: str,
        *,
        status: str,
        usage: Mapping[str, Any] | None = None,
        interrupted: bool = False,
        now: float,
        reason: str | None = None,
        error: BaseException | str | None = None,
    ) -> UsageReport | None:
        """The response ended (``response.done``, an interruption, a lost connection).

        Returns the usage report when ``usage`` came with it (also for a response the
        tracer never saw start). An interrupted, cancelled response without usage waits
        for :meth:`response_usage`.
        """
        tokens = TokenUsage.from_wire(usage)
        response = self._responses.pop(response_id, None)
        report = self._record(response_id, tokens, interrupted) if tokens else None
        if response is None:
            return report
        turn = response.turn
        if turn.active == response_id:
            turn.active = None
        if interrupted:
            self.ledger.interrupted_responses += 1
        span = response.span
        if span.is_recording():
            self._set_str_seq(span, GEN_AI_RESPONSE_FINISH_REASONS, [status])
            if reason:
                self._set_str(span, REALTIME_RESPONSE_STATUS_REASON, reason)
            span.set_attribute(REALTIME_INTERRUPTED, interrupted)
            span.set_attribute(
                REALTIME_RESPONSE_DURATION_MS, max(0.0, (now - response.started_at) * 1000.0)
            )
            if error is not None:
                self._record_error(span, error, error_type=reason)
            elif status == "failed":
                span.set_attribute(ERROR_TYPE, self._scrub.clean(reason or "") or _OTHER_ERROR)
                span.set_status(Status(StatusCode.ERROR, "response failed"))
        self._remember(response_id, response)
        if tokens is None and interrupted and status == "cancelled":
            response.end_ns = time.time_ns()
            self._evict_oldest(self._awaiting_usage)
            self._awaiting_usage[response_id] = response
        else:
            if report is not None:
                self._apply_usage(response, report)
            span.end()
            turn.pending -= 1
        if interrupted:
            self._close_turn(turn, interrupted=True)
        elif self._turn is turn:
            turn.reply_done = True
        else:
            self._maybe_end_turn(turn)
        return report

    def response_usage(self, response_id: str, usage: Mapping[str, Any]) -> UsageReport | None:
        """The usage of a response that was already ended by an interruption."""
        tokens = TokenUsage.from_wire(usage)
        if tokens is None:
            return None
        report = self._record(response_id, tokens, True)
        response = self._awaiting_usage.pop(response_id, None)
        if response is None or report is None:
            return report
        self._apply_usage(response, report)
        response.span.end(end_time=response.end_ns)
        response.turn.pending -= 1
        self._maybe_end_turn(response.turn)
        return report

    def _record(
        self, response_id: str, tokens: TokenUsage, interrupted: bool
    ) -> UsageReport | None:
        report = self.ledger.record(response_id, self._model, tokens, interrupted=interrupted)
        if report is not None:
            self._meters.record_usage(tokens, self._metric_attributes(OPERATION_CHAT))
        return report

    def _apply_usage(self, response: _Response, report: UsageReport) -> None:
        turn = response.turn
        turn.usage = turn.usage + report.usage
        if report.cost_usd is None or turn.cost is None:
            turn.cost = None
        else:
            turn.cost += report.cost_usd
        span = response.span
        if span.is_recording():
            _set_usage(span, report.usage)
            if report.cost_usd is not None:
                span.set_attribute(REALTIME_COST_USD, float(report.cost_usd))
            if report.session_cost_usd is not None:
                span.set_attribute(REALTIME_SESSION_COST_USD, float(report.session_cost_usd))

    def _remember(self, response_id: str, response: _Response) -> None:
        if len(self._recent) >= _RECENT:
            del self._recent[next(iter(self._recent))]
        self._recent[response_id] = response

    def _end_connection_spans(self, flag: str) -> None:
        """The socket is gone: no usage will come for interrupted responses, and nothing
        more for open ones; their turns end."""
        waiting, self._awaiting_usage = self._awaiting_usage, {}
        for response in waiting.values():
            if response.span.is_recording():
                response.span.set_attribute(REALTIME_USAGE_UNAVAILABLE, True)
            response.span.end(end_time=response.end_ns)
            response.turn.pending -= 1
            self._maybe_end_turn(response.turn)
        open_responses, self._responses = self._responses, {}
        for response in open_responses.values():
            _end_with_flag(response.span, flag)
            response.turn.pending -= 1
            response.turn.active = None
            self._maybe_end_turn(response.turn)
        if self._turn is not None and self._turn.responses:
            self._close_turn(self._turn, interrupted=False, flag=flag)
        elif self._turn is not None:
            self._close_turn(self._turn, interrupted=False)  # speech, and no reply yet

    # -- user transcription ----------------------------------------------------------------

    def user_transcription(self, item_id: str, text: str) -> None:
        """Record a completed user transcript, in the current turn (if one is open)."""
        turn = self._turn
        if turn is not None:
            context = trace.set_span_in_context(self._turn_span(turn))
        elif self._session is not None:
            context = trace.set_span_in_context(self._session)
        else:
            context = None
        span = self._tracer.start_span(SPAN_USER_TRANSCRIPTION, context, SpanKind.INTERNAL)
        if span.is_recording():
            self._set_provider(span)
            self._set_str(span, REALTIME_ITEM_ID, item_id)
            span.set_attribute(REALTIME_TRANSCRIPTION_LENGTH, len(text))
            if self._capture_content:
                span.set_attribute(REALTIME_TRANSCRIPTION_TEXT, self._scrub.text(text))
            self._set_conversation_id(span)
        span.end()

    # -- tool calls ------------------------------------------------------------------------

    def tool_call_started(
        self,
        call_id: str,
        name: str,
        arguments: str,
        *,
        response_id: str | None = None,
    ) -> None:
        """Open ``execute_tool {name}``, a child of the response that asked for it.

        The turn of that response goes on: the reply to the tool's result belongs to it.
        """
        if call_id in self._tool_calls:
            return
        self.ledger.tool_calls += 1
        response = None
        if response_id is not None:
            response = self._responses.get(response_id) or self._recent.get(response_id)
        context = trace.set_span_in_context(response.span) if response is not None else None
        if response is not None:
            response.turn.tool_calls += 1
            response.turn.reply_done = False
        clean_name = self._scrub.clean(name) or "tool"
        span = self._tracer.start_span(
            f"{OPERATION_EXECUTE_TOOL} {clean_name}", context, SpanKind.INTERNAL
        )
        if span.is_recording():
            self._set_provider(span)
            span.set_attribute(GEN_AI_OPERATION_NAME, OPERATION_EXECUTE_TOOL)
            span.set_attribute(GEN_AI_TOOL_NAME, clean_name)
            self._set_str(span, GEN_AI_TOOL_CALL_ID, call_id)
            span.set_attribute(GEN_AI_TOOL_TYPE, "function")
            span.set_attribute(REALTIME_TOOL_ARGUMENTS_LENGTH, len(arguments))
            if self._capture_content:
                span.set_attribute(GEN_AI_TOOL_CALL_ARGUMENTS, self._scrub.text(arguments))
            if response_id is not None:
                self._set_str(span, GEN_AI_RESPONSE_ID, response_id)
            self._set_conversation_id(span)
        self._evict_oldest(self._tool_calls)
        self._tool_calls[call_id] = span

    def tool_call_finished(
        self,
        call_id: str,
        *,
        error: BaseException | str | None = None,
        result: str | None = None,
    ) -> None:
        """End the tool call's span; ``error`` marks it failed. Unknown ids are ignored.

        ``result`` is recorded only with ``capture_content``.
        """
        span = self._tool_calls.pop(call_id, None)
        if span is None:
            return
        if span.is_recording():
            if result is not None and self._capture_content:
                span.set_attribute(GEN_AI_TOOL_CALL_RESULT, self._scrub.text(result))
            if error is not None:
                self._record_error(span, error)
        span.end()

    # -- helpers ---------------------------------------------------------------------------

    def _forget_attempt(self, attempt: ConnectAttempt) -> None:
        if self._attempt is attempt:
            self._attempt = None

    def _name(self, operation: str) -> str:
        model = self._scrub.clean(self._model) if self._model else None
        return f"{operation} {model}" if model else operation

    def _metric_attributes(self, operation: str) -> dict[str, str]:
        attributes = {GEN_AI_OPERATION_NAME: operation, GEN_AI_PROVIDER_NAME: self._provider}
        model = self._scrub.clean(self._model) if self._model else None
        if model:
            attributes[GEN_AI_REQUEST_MODEL] = model
        return attributes

    def _set_common(self, span: Span, operation: str) -> None:
        self._set_provider(span)
        span.set_attribute(GEN_AI_OPERATION_NAME, operation)
        if self._model:
            self._set_str(span, GEN_AI_REQUEST_MODEL, self._model)
        self._set_conversation_id(span)

    def _set_conversation_id(self, span: Span) -> None:
        if self._session_id:
            self._set_str(span, GEN_AI_CONVERSATION_ID, self._session_id)

    def _set_provider(self, span: Span) -> None:
        span.set_attribute(GEN_AI_PROVIDER_NAME, self._provider)
        span.set_attribute(GEN_AI_SYSTEM, self._provider)

    def _set_summary(self, span: Span, summary: SessionSummary) -> None:
        p = SESSION_SUMMARY_PREFIX
        span.set_attribute(p + "duration_s", summary.duration_s)
        span.set_attribute(p + "turns", summary.turns)
        span.set_attribute(p + "responses", summary.responses)
        span.set_attribute(p + "interrupted_responses", summary.interrupted_responses)
        span.set_attribute(p + "tool_calls", summary.tool_calls)
        span.set_attribute(p + "reconnects", summary.reconnects)
        _set_usage(span, summary.usage)
        if summary.cost_usd is not None:
            span.set_attribute(REALTIME_SESSION_COST_USD, float(summary.cost_usd))

    def _set_str(self, span: Span, key: str, value: str) -> None:
        cleaned = self._scrub.clean(value)
        if cleaned is not None:
            span.set_attribute(key, cleaned)

    def _set_str_seq(self, span: Span, key: str, values: Sequence[str]) -> None:
        span.set_attribute(
            key, [v for v in (self._scrub.clean(v) for v in values) if v is not None]
        )

    def _record_error(
        self, span: Span, error: BaseException | str, *, error_type: str | None = None
    ) -> None:
        if isinstance(error, BaseException):
            kind = type(error)
            qualified = (
                kind.__qualname__
                if kind.__module__ == "builtins"
                else f"{kind.__module__}.{kind.__qualname__}"
            )
            message = self._scrub.text(str(error))[:_MAX_DESCRIPTION]
            span.add_event("exception", {"exception.type": qualified, "exception.message": message})
            span.set_attribute(ERROR_TYPE, qualified)
            span.set_status(Status(StatusCode.ERROR, f"{kind.__name__}: {message}"))
        else:
            message = self._scrub.text(error)[:_MAX_DESCRIPTION]
            span.set_attribute(ERROR_TYPE, self._scrub.clean(error_type or "") or _OTHER_ERROR)
            span.set_status(Status(StatusCode.ERROR, message))

    def _evict_oldest(self, entries: dict[str, Any]) -> None:
        if len(entries) < _MAX_OPEN:
            return
        entry = entries.pop(next(iter(entries)))
        if isinstance(entry, _Response):
            _end_with_flag(entry.span, REALTIME_ABANDONED, entry.end_ns)
            entry.turn.pending -= 1
            self._maybe_end_turn(entry.turn)
        else:
            _end_with_flag(entry, REALTIME_ABANDONED)
