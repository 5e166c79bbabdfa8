"""OpenTelemetry tracing for a realtime session: setup, responses, transcriptions, tool calls.

Only ``opentelemetry-api`` is used. Without an SDK installed by the application every call
here is a cheap no-op: spans come from OTel's no-op tracer, are never recording, and no
attribute is computed for them.

Spans::

    realtime.session.setup      CLIENT    connect -> session ready (or failed)
    realtime.response           CLIENT    response.created -> response.done, one per response
      realtime.tool_call        INTERNAL  child of its response when ``response_id`` is given
    realtime.user_transcription INTERNAL  zero-length record of a completed user transcript

Every span is parented to the OTel context current at the call (an application span, say),
except tool calls, which hang under the response that produced them when it is still open.

Attribute names follow the OpenTelemetry GenAI semantic conventions where one exists (the
names are copied here as strings; the semconv package is not a dependency):

- ``gen_ai.provider.name`` and its predecessor ``gen_ai.system`` (same value, for backends
  that still read the old name), ``gen_ai.request.model``, ``gen_ai.response.id``,
  ``gen_ai.conversation.id`` (the realtime session id, once known),
  ``gen_ai.usage.input_tokens`` / ``output_tokens`` / ``cache_read.input_tokens``,
  ``gen_ai.response.finish_reasons`` (the response status: ``completed``, ``cancelled``,
  ``failed``, ``incomplete``), ``gen_ai.output.type`` (``speech`` when audio is an output
  modality, else ``text``), ``gen_ai.tool.name`` / ``tool.call.id`` / ``tool.type``,
  ``server.address`` / ``server.port``, ``error.type``.
- ``gen_ai.operation.name`` is ``chat`` for a response: the conventions have no realtime
  operation, and a realtime response is a turn of a multi-turn conversation, which is what
  ``chat`` describes (``generate_content`` is tied to Gemini's API). Tool calls use
  ``execute_tool``, as the conventions say.
- Everything realtime-specific is under ``realtime.*``: ``realtime.voice``,
  ``realtime.output_modalities``, ``realtime.time_to_first_audio_ms``,
  ``realtime.response.duration_ms``, ``realtime.interrupted``,
  ``realtime.response.status_reason``, ``realtime.usage.{input,output}_{text,audio,image}_tokens``,
  ``realtime.item_id``, ``realtime.transcription.length``, ``realtime.ended_at_close`` and
  ``realtime.abandoned``.

Content is opt-in, as the GenAI conventions ask: transcripts (``realtime.transcription.text``)
and tool arguments and results (``gen_ai.tool.call.arguments`` / ``.result``) are recorded
only with ``capture_content=True``.

Secrets never become attributes. Server URLs are reduced to host and port (user info and query
string never leave :func:`_server_address`). Every string value goes through one scrubber that
drops a value that *is* a secret (an ``sk-``/``ek_``/``xai-`` key, or a value given in
``secrets=``) and redacts secrets inside free text: ``Bearer`` tokens, ``api-key=...`` pairs,
URL query strings and user info. Exceptions are recorded with their type and scrubbed message,
without a stack trace.

Times: the tracer reads no clock. Time to first audio and response duration are computed from
the caller's ``now`` arguments (monotonic seconds, e.g. ``time.monotonic()``); only the span
start and end timestamps come from OTel itself.

The tracer is meant to be driven from one event loop; it holds no locks. Every method is O(1).
Calls about an id the tracer does not know (a response that finished after a reconnect, a
duplicate ``done``...) are ignored. Spans still open at :meth:`SessionTracer.close` are ended
with ``realtime.ended_at_close = true``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Final
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider

__all__ = ["SessionTracer", "SetupSpan"]

# Span names.
SPAN_SESSION_SETUP: Final = "realtime.session.setup"
SPAN_RESPONSE: Final = "realtime.response"
SPAN_USER_TRANSCRIPTION: Final = "realtime.user_transcription"
SPAN_TOOL_CALL: Final = "realtime.tool_call"

# OpenTelemetry semantic conventions (copied from opentelemetry-semantic-conventions 0.66b2,
# gen_ai_attributes.py, server_attributes.py, error_attributes.py).
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
OPERATION_CHAT: Final = "chat"
OPERATION_EXECUTE_TOOL: Final = "execute_tool"

# realtime_llm's own attributes.
REALTIME_VOICE: Final = "realtime.voice"
REALTIME_OUTPUT_MODALITIES: Final = "realtime.output_modalities"
REALTIME_TIME_TO_FIRST_AUDIO_MS: Final = "realtime.time_to_first_audio_ms"
REALTIME_RESPONSE_DURATION_MS: Final = "realtime.response.duration_ms"
REALTIME_RESPONSE_STATUS_REASON: Final = "realtime.response.status_reason"
REALTIME_INTERRUPTED: Final = "realtime.interrupted"
REALTIME_ITEM_ID: Final = "realtime.item_id"
REALTIME_TRANSCRIPTION_LENGTH: Final = "realtime.transcription.length"
REALTIME_TRANSCRIPTION_TEXT: Final = "realtime.transcription.text"
REALTIME_TOOL_ARGUMENTS_LENGTH: Final = "realtime.tool_call.arguments_length"
REALTIME_ENDED_AT_CLOSE: Final = "realtime.ended_at_close"
REALTIME_ABANDONED: Final = "realtime.abandoned"
EVENT_FIRST_AUDIO: Final = "realtime.first_audio"

_OTHER_ERROR: Final = "_OTHER"
"""``error.type`` when the error is only a message (the semantic conventions' fallback)."""

_MAX_OPEN: Final = 64
"""Open spans kept per kind. Realtime sessions have one active response, so more means
the caller lost track (calls interrupted and never reported): the oldest is then ended with
``realtime.abandoned = true`` instead of growing without bound."""

_MAX_DESCRIPTION: Final = 500

# Dialect names -> gen_ai.provider.name values of the conventions; others pass through.
_PROVIDER_ALIASES: Final[Mapping[str, str]] = {
    "azure": "azure.ai.openai",
    "xai": "x_ai",
    "grok": "x_ai",
}

_USAGE_DETAIL_ATTRIBUTES: Final[tuple[tuple[str, str, str], ...]] = (
    ("input_token_details", "text_tokens", "realtime.usage.input_text_tokens"),
    ("input_token_details", "audio_tokens", "realtime.usage.input_audio_tokens"),
    ("input_token_details", "image_tokens", "realtime.usage.input_image_tokens"),
    ("output_token_details", "text_tokens", "realtime.usage.output_text_tokens"),
    ("output_token_details", "audio_tokens", "realtime.usage.output_audio_tokens"),
)

_REDACTED: Final = "[REDACTED]"

# A whole value that is an API key or ephemeral client secret.
_KEY_PATTERN: Final = r"(?:sk-[A-Za-z0-9_\-.]+|ek_[A-Za-z0-9_\-.]{8,}|xai-[A-Za-z0-9_\-.]{20,})"
_KEY_SHAPED = re.compile(_KEY_PATTERN)
_SECRET_PATTERNS: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    # URL user info: scheme://user:pass@host -> scheme://host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s?#@]*@"), r"\1"),
    # URL query strings and fragments, whatever they hold.
    (re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^\s?#]*)[?#]\S*"), r"\1"),
    # Authorization headers.
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9_\-.~+/=]+"), r"\1 " + _REDACTED),
    # key=value / key: value pairs that name a credential.
    (
        re.compile(
            r"(?i)\b((?:api[-_]?key|access[-_]?token|token|secret|password|passwd|"
            r"authorization|client[-_]?secret)[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,;]+"
        ),
        r"\1" + _REDACTED,
    ),
    # Key-shaped tokens anywhere.
    (re.compile(r"(?<![A-Za-z0-9])" + _KEY_PATTERN), _REDACTED),
)


def _redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every secret-looking part replaced by ``[REDACTED]``."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, _REDACTED)
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _server_address(url: str) -> tuple[str | None, int | None]:
    """Host and port of ``url``; user info, path and query string are never looked at."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        port = parts.port
    except ValueError:  # bad port, bad IPv6 literal
        return None, None
    if port is None:
        port = {"wss": 443, "https": 443, "ws": 80, "http": 80}.get(parts.scheme.lower())
    return host or None, port


def _int_or_none(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _usage_attributes(usage: Mapping[str, Any]) -> list[tuple[str, int]]:
    """Token counts of a realtime ``response.done`` usage object as (attribute, count)."""
    out: list[tuple[str, int]] = []
    input_tokens = _int_or_none(usage.get("input_tokens", usage.get("prompt_tokens")))
    if input_tokens is not None:
        out.append((GEN_AI_USAGE_INPUT_TOKENS, input_tokens))
    output_tokens = _int_or_none(usage.get("output_tokens", usage.get("completion_tokens")))
    if output_tokens is not None:
        out.append((GEN_AI_USAGE_OUTPUT_TOKENS, output_tokens))
    input_details = usage.get("input_token_details") or usage.get("prompt_tokens_details")
    if isinstance(input_details, Mapping):
        cached = _int_or_none(input_details.get("cached_tokens"))
        if cached is not None:
            out.append((GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, cached))
    for details_key, key, attribute in _USAGE_DETAIL_ATTRIBUTES:
        details = usage.get(details_key)
        if isinstance(details, Mapping):
            count = _int_or_none(details.get(key))
            if count is not None:
                out.append((attribute, count))
    return out


class _Response:
    __slots__ = ("first_audio", "span", "started_at")

    def __init__(self, span: Span, started_at: float) -> None:
        self.span = span
        self.started_at = started_at
        self.first_audio = False


class SetupSpan:
    """The session-setup span: end it once the session is ready, or when setup failed.

    Also a context manager (``with tracer.session_setup(...) as setup:``) that ends the span
    on exit and records an exception escaping the block. :meth:`end` is idempotent, so an
    explicit ``end()`` inside the block is fine.
    """

    __slots__ = ("_ended", "_span", "_tracer")

    def __init__(self, tracer: SessionTracer, span: Span) -> None:
        self._tracer = tracer
        self._span = span
        self._ended = False

    @property
    def ended(self) -> bool:
        return self._ended

    def set_session_id(self, session_id: str) -> None:
        """Record the server's session id (``session.created``); later spans carry it too."""
        self._tracer._set_session_id(session_id)
        if not self._ended and self._span.is_recording():
            self._tracer._set_str(self._span, GEN_AI_CONVERSATION_ID, session_id)

    def end(
        self,
        *,
        session_id: str | None = None,
        error: BaseException | str | None = None,
    ) -> None:
        """End the span; with ``error``, mark it failed. Later calls do nothing."""
        if session_id is not None:
            self.set_session_id(session_id)
        if self._ended:
            return
        self._ended = True
        self._tracer._forget_setup(self)
        if error is not None and self._span.is_recording():
            self._tracer._record_error(self._span, error)
        self._span.end()

    def _end_open(self, attribute: str) -> None:
        if self._ended:
            return
        self._ended = True
        if self._span.is_recording():
            self._span.set_attribute(attribute, True)
        self._span.end()

    def __enter__(self) -> SetupSpan:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.end(error=exc)


class SessionTracer:
    """Spans for one realtime service: session setup, responses, transcriptions, tool calls.

    ``tracer_provider`` defaults to the global one (a no-op until the application installs
    an SDK). ``service_name`` is the instrumentation scope name of the tracer (the OTel
    ``service.name`` resource is the application's to set). ``provider`` is the dialect or
    provider name for ``gen_ai.provider.name`` (``azure`` and ``xai`` are mapped to the
    conventions' ``azure.ai.openai`` and ``x_ai``). ``capture_content`` records transcripts
    and tool arguments/results. ``secrets`` (the API key, say) are values that must never
    appear in an attribute; :meth:`add_secret` adds one later (a refreshed token).
    """

    def __init__(
        self,
        *,
        tracer_provider: TracerProvider | None = None,
        service_name: str = "realtime_llm",
        provider: str = "openai",
        capture_content: bool = False,
        secrets: Iterable[str] = (),
    ) -> None:
        self._tracer = trace.get_tracer(service_name, tracer_provider=tracer_provider)
        self._provider = _PROVIDER_ALIASES.get(provider.lower(), provider)
        self._capture_content = capture_content
        self._secrets: list[str] = [s for s in secrets if s]
        self._session_id: str | None = None
        self._setup: SetupSpan | None = None
        self._responses: dict[str, _Response] = {}
        self._tool_calls: dict[str, Span] = {}

    @property
    def capture_content(self) -> bool:
        return self._capture_content

    def add_secret(self, secret: str) -> None:
        """Never let ``secret`` (a new API key or client secret) appear in an attribute."""
        if secret and secret not in self._secrets:
            self._secrets.append(secret)

    # -- session ---------------------------------------------------------------------------

    def session_setup(self, model: str, url: str) -> SetupSpan:
        """Start the ``realtime.session.setup`` span (connect until the session is ready).

        Only the host and port of ``url`` are recorded. A setup still open when another one
        starts (a reconnect) is ended with ``realtime.abandoned = true``.
        """
        if self._setup is not None:
            self._setup._end_open(REALTIME_ABANDONED)
        self._session_id = None
        span = self._tracer.start_span(SPAN_SESSION_SETUP, kind=SpanKind.CLIENT)
        if span.is_recording():
            self._set_provider(span)
            self._set_str(span, GEN_AI_REQUEST_MODEL, model)
            host, port = _server_address(url)
            if host is not None:
                self._set_str(span, SERVER_ADDRESS, host)
            if port is not None:
                span.set_attribute(SERVER_PORT, port)
        self._setup = SetupSpan(self, span)
        return self._setup

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
        """Open the ``realtime.response`` span (``response.created``). ``now``: monotonic s.

        A second start for an id already open is ignored.
        """
        if response_id in self._responses:
            return
        span = self._tracer.start_span(SPAN_RESPONSE, kind=SpanKind.CLIENT)
        if span.is_recording():
            self._set_provider(span)
            span.set_attribute(GEN_AI_OPERATION_NAME, OPERATION_CHAT)
            self._set_str(span, GEN_AI_RESPONSE_ID, response_id)
            if model:
                self._set_str(span, GEN_AI_REQUEST_MODEL, model)
            if voice:
                self._set_str(span, REALTIME_VOICE, voice)
            mods = [m for m in (self._clean(m) for m in modalities) if m]
            span.set_attribute(REALTIME_OUTPUT_MODALITIES, mods)
            span.set_attribute(GEN_AI_OUTPUT_TYPE, "speech" if "audio" in mods else "text")
            if self._session_id:
                self._set_str(span, GEN_AI_CONVERSATION_ID, self._session_id)
        self._evict_oldest(self._responses)
        self._responses[response_id] = _Response(span, now)

    def response_first_audio(self, response_id: str, now: float) -> None:
        """Record time to first audio for the response; only the first call counts."""
        response = self._responses.get(response_id)
        if response is None or response.first_audio:
            return
        response.first_audio = True
        span = response.span
        if span.is_recording():
            ttfa_ms = max(0.0, (now - response.started_at) * 1000.0)
            span.set_attribute(REALTIME_TIME_TO_FIRST_AUDIO_MS, ttfa_ms)
            span.add_event(EVENT_FIRST_AUDIO)

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
    ) -> None:
        """End the response span (``response.done``).

        ``status`` becomes ``gen_ai.response.finish_reasons``; ``reason`` is the server's
        ``status_details.reason``; a ``failed`` status (or an ``error``) marks the span as an
        error. An id never started (the response began before a reconnect) is ignored.
        """
        response = self._responses.pop(response_id, None)
        if response is None:
            return
        span = response.span
        if span.is_recording():
            self._set_str_seq(span, GEN_AI_RESPONSE_FINISH_REASONS, [status])
            if reason:
                self._set_str(span, REALTIME_RESPONSE_STATUS_REASON, reason)
            span.set_attribute(REALTIME_INTERRUPTED, interrupted)
            span.set_attribute(
                REALTIME_RESPONSE_DURATION_MS, max(0.0, (now - response.started_at) * 1000.0)
            )
            if usage:
                for attribute, count in _usage_attributes(usage):
                    span.set_attribute(attribute, count)
            if error is not None:
                self._record_error(span, error, error_type=reason)
            elif status == "failed":
                span.set_attribute(ERROR_TYPE, reason or _OTHER_ERROR)
                span.set_status(Status(StatusCode.ERROR, "response failed"))
        span.end()

    # -- user transcription ----------------------------------------------------------------

    def user_transcription(self, item_id: str, text: str) -> None:
        """Record a completed user transcription as a short ``realtime.user_transcription``."""
        span = self._tracer.start_span(SPAN_USER_TRANSCRIPTION, kind=SpanKind.INTERNAL)
        if span.is_recording():
            self._set_provider(span)
            self._set_str(span, REALTIME_ITEM_ID, item_id)
            span.set_attribute(REALTIME_TRANSCRIPTION_LENGTH, len(text))
            if self._capture_content:
                span.set_attribute(REALTIME_TRANSCRIPTION_TEXT, _redact(text, self._secrets))
            if self._session_id:
                self._set_str(span, GEN_AI_CONVERSATION_ID, self._session_id)
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
        """Open a ``realtime.tool_call`` span; a child of ``response_id``'s span if open.

        A second start for a call id already open is ignored.
        """
        if call_id in self._tool_calls:
            return
        parent = self._responses.get(response_id) if response_id is not None else None
        context = trace.set_span_in_context(parent.span) if parent is not None else None
        span = self._tracer.start_span(SPAN_TOOL_CALL, context=context, kind=SpanKind.INTERNAL)
        if span.is_recording():
            span.set_attribute(GEN_AI_OPERATION_NAME, OPERATION_EXECUTE_TOOL)
            self._set_str(span, GEN_AI_TOOL_NAME, name)
            self._set_str(span, GEN_AI_TOOL_CALL_ID, call_id)
            span.set_attribute(GEN_AI_TOOL_TYPE, "function")
            span.set_attribute(REALTIME_TOOL_ARGUMENTS_LENGTH, len(arguments))
            if self._capture_content:
                span.set_attribute(GEN_AI_TOOL_CALL_ARGUMENTS, _redact(arguments, self._secrets))
            if response_id is not None:
                self._set_str(span, GEN_AI_RESPONSE_ID, response_id)
            if self._session_id:
                self._set_str(span, GEN_AI_CONVERSATION_ID, self._session_id)
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
                span.set_attribute(GEN_AI_TOOL_CALL_RESULT, _redact(result, self._secrets))
            if error is not None:
                self._record_error(span, error)
        span.end()

    # -- close -----------------------------------------------------------------------------

    def close(self) -> None:
        """End every span still open with ``realtime.ended_at_close = true``.

        Idempotent; the tracer stays usable (a later session can be traced).
        """
        if self._setup is not None:
            self._setup._end_open(REALTIME_ENDED_AT_CLOSE)
            self._setup = None
        responses, self._responses = self._responses, {}
        for response in responses.values():
            _end_with_flag(response.span, REALTIME_ENDED_AT_CLOSE)
        tool_calls, self._tool_calls = self._tool_calls, {}
        for span in tool_calls.values():
            _end_with_flag(span, REALTIME_ENDED_AT_CLOSE)

    # -- helpers ---------------------------------------------------------------------------

    def _set_session_id(self, session_id: str) -> None:
        self._session_id = session_id or None

    def _forget_setup(self, setup: SetupSpan) -> None:
        if self._setup is setup:
            self._setup = None

    def _set_provider(self, span: Span) -> None:
        span.set_attribute(GEN_AI_PROVIDER_NAME, self._provider)
        span.set_attribute(GEN_AI_SYSTEM, self._provider)

    def _clean(self, value: str) -> str | None:
        """``value`` fit to be an attribute: ``None`` if it is a secret, else redacted."""
        stripped = value.strip()
        if not stripped:
            return value
        if stripped in self._secrets or _KEY_SHAPED.fullmatch(stripped):
            return None
        return _redact(value, self._secrets)

    def _set_str(self, span: Span, key: str, value: str) -> None:
        cleaned = self._clean(value)
        if cleaned is not None:
            span.set_attribute(key, cleaned)

    def _set_str_seq(self, span: Span, key: str, values: Sequence[str]) -> None:
        span.set_attribute(key, [v for v in (self._clean(v) for v in values) if v is not None])

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
            message = _redact(str(error), self._secrets)[:_MAX_DESCRIPTION]
            span.add_event("exception", {"exception.type": qualified, "exception.message": message})
            span.set_attribute(ERROR_TYPE, qualified)
            span.set_status(Status(StatusCode.ERROR, f"{kind.__name__}: {message}"))
        else:
            message = _redact(error, self._secrets)[:_MAX_DESCRIPTION]
            span.set_attribute(ERROR_TYPE, self._clean(error_type or "") or _OTHER_ERROR)
            span.set_status(Status(StatusCode.ERROR, message))

    @staticmethod
    def _evict_oldest(spans: dict[str, Any]) -> None:
        if len(spans) < _MAX_OPEN:
            return
        oldest = next(iter(spans))
        entry = spans.pop(oldest)
        _end_with_flag(entry.span if isinstance(entry, _Response) else entry, REALTIME_ABANDONED)


def _end_with_flag(span: Span, attribute: str) -> None:
    if span.is_recording():
        span.set_attribute(attribute, True)
    span.end()
