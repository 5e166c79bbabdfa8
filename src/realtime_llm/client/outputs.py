"""What the client itself reports to its owner, beside the session core's outputs.

The core's outputs (:mod:`realtime_llm.protocol.outputs`) say what happened in a session;
these say what happened to the session's life, which only the client sees: it could not
connect, or gave up reconnecting. Plain frozen values, like the core's.
"""

from __future__ import annotations

from dataclasses import dataclass

from realtime_llm.errors import ErrorClass

__all__ = ["ClientFailed", "EventHandlingFailed"]


@dataclass(frozen=True, slots=True)
class ClientFailed:
    """The client has no session and will not get one by itself.

    ``message`` is safe to show (no credential; URLs redacted). ``error_class`` is
    ``FATAL`` for everything the client gives up on (a refused upgrade, the reconnect
    attempts spent, a close that is not worth a retry).
    """

    message: str
    error_class: ErrorClass = ErrorClass.FATAL


@dataclass(frozen=True, slots=True)
class EventHandlingFailed:
    """A server event parsed but broke while being handled; it was skipped.

    The session goes on (one odd event must not end the conversation); the traceback was
    logged. ``message`` is ``"error handling a server event: EXCEPTION"``.
    """

    message: str
