"""The error tree of realtime_llm, and the one place server errors are classified.

Every failure the package reports is one of these::

    RealtimeError
    ├── InvalidSettingsError      bad settings, raised at construction or update time
    ├── ProtocolError             a server event we could not make sense of
    ├── UnsupportedFeature        the server's dialect cannot do what was asked
    ├── RequestFailed             the server answered a request (e.g. a retrieve) with an error
    └── ConnectionFailed          the socket could not be opened or was lost
        └── FatalConnectionError  retrying cannot help (bad key, quota, 4xx at upgrade)

Server ``error`` events are not exceptions: they are data. ``classify_error`` sorts a
server error code into an :class:`ErrorClass` once, so the session core, the connection's
reconnect policy and the pipecat glue all agree on what a given code means.
"""

from __future__ import annotations

import enum

__all__ = [
    "ConnectionFailed",
    "ErrorClass",
    "FatalConnectionError",
    "InvalidSettingsError",
    "ProtocolError",
    "RealtimeError",
    "RequestFailed",
    "UnsupportedFeature",
    "classify_close_code",
    "classify_error",
    "classify_status",
]


class RealtimeError(Exception):
    """Base class of every error raised by realtime_llm."""


class InvalidSettingsError(RealtimeError, ValueError):
    """Settings that cannot work; the message names the field.

    A ``ValueError`` too, so code that guards settings with ``except ValueError`` keeps
    working.
    """

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"invalid setting {field!r}: {problem}")


class ProtocolError(RealtimeError):
    """A server event that does not follow the protocol (logged and skipped, never raised
    out of the receive loop)."""


class UnsupportedFeature(RealtimeError):
    """The server's dialect cannot do what was asked (e.g. retrieve on a server without it)."""


class RequestFailed(RealtimeError, RuntimeError):
    """The server answered a request with an error, or the connection went before it did."""


class ConnectionFailed(RealtimeError):
    """The WebSocket could not be opened, or was closed under us."""


class FatalConnectionError(ConnectionFailed):
    """A connection failure that retrying cannot fix: a bad key, no quota, a policy close."""


class ErrorClass(enum.Enum):
    """What a client should do about a server error (see docs/errors.md)."""

    BENIGN = "benign"
    """Expected in normal operation (a race): log at debug level and go on."""
    RECOVERABLE = "recoverable"
    """The request was rejected but the session is fine: fix up and report."""
    RATE_LIMITED = "rate_limited"
    """The server refused for now: keep the socket, wait, and ask again (no replay)."""
    TRANSIENT = "transient"
    """The server had a problem: reconnect with backoff and replay the conversation."""
    SESSION_END = "session_end"
    """The session hit its time limit: open a new one and replay the conversation."""
    FATAL = "fatal"
    """Retrying cannot help: stop and report once."""


_BENIGN_CODES = frozenset(
    {
        "response_cancel_not_active",
        "conversation_already_has_active_response",
        "input_audio_buffer_commit_empty",
        "item_truncate_invalid_item_id",
        "item_delete_invalid_item_id",
        "item_already_truncated",
    }
)
_RECOVERABLE_CODES = frozenset(
    {"unknown_parameter", "string_above_max_length", "invalid_value", "missing_required_parameter"}
)
_TRANSIENT_CODES = frozenset({"server_error"})
_RATE_LIMITED_CODES = frozenset({"rate_limit_exceeded"})
_SESSION_END_CODES = frozenset({"session_expired"})
_FATAL_CODES = frozenset(
    {
        "invalid_api_key",
        "insufficient_quota",
        "account_deactivated",
        "billing_hard_limit_reached",
    }
)


def classify_error(code: str | None, error_type: str | None = None) -> ErrorClass:
    """Classify a server ``error`` event by its ``code`` (and ``type`` as a fallback).

    Unknown codes are RECOVERABLE: the server said no to one request, and nothing says
    the session is broken.
    """
    if code in _BENIGN_CODES:
        return ErrorClass.BENIGN
    if code in _FATAL_CODES:
        return ErrorClass.FATAL
    if code in _RATE_LIMITED_CODES:
        return ErrorClass.RATE_LIMITED
    if code in _TRANSIENT_CODES or error_type == "server_error":
        return ErrorClass.TRANSIENT
    if code in _SESSION_END_CODES:
        return ErrorClass.SESSION_END
    return ErrorClass.RECOVERABLE


_TRANSIENT_CLOSE_CODES = frozenset({1005, 1006, 1011, 1012, 1013})


def classify_close_code(code: int | None, reason: str = "") -> ErrorClass:
    """Classify a WebSocket close the server made (closes we make never get here).

    1000 and 1001 with the duration message end the session; other 1001s and the
    transient codes are worth a retry; everything else (1008 policy, 4xxx...) is fatal.
    """
    if code == 1000:
        return ErrorClass.SESSION_END  # the server ended the session: a bot wants a new one
    if code == 1001:
        return ErrorClass.SESSION_END if "duration" in reason.lower() else ErrorClass.TRANSIENT
    if code is None or code in _TRANSIENT_CLOSE_CODES:
        return ErrorClass.TRANSIENT
    return ErrorClass.FATAL


def classify_status(status: int) -> ErrorClass:
    """Classify an HTTP status that refused the WebSocket upgrade.

    A 4xx other than 429 (a bad key, a wrong path, no access) is FATAL: retrying cannot
    help. 429 and 5xx, and anything else, are TRANSIENT: worth another attempt later.
    """
    if 400 <= status < 500 and status != 429:
        return ErrorClass.FATAL
    return ErrorClass.TRANSIENT
