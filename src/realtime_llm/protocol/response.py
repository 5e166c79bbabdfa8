"""The response lifecycle as two small state machines, with their transitions in tables.

Two parties move a response along, so there are two machines, in the spirit of h11's
``_state.py`` (one per role):

* the **request** machine follows *our* ``response.create``: sent, then created or
  refused; the user may cancel it before the server has created it;
* the **response** machine follows the *server's* response, whoever asked for it (our
  request, or the server itself after its VAD ended a user turn).

They are correlated by a tag, not by order: every ``response.create`` carries
``response.metadata[REQUEST_TAG] = <its event id>``, and GA servers echo the metadata in
``response.created``. A created response that carries our pending tag is ours; one that
does not is the server's own, and our request is still pending (the server will refuse it
as busy, and it is owed again). Servers that do not echo metadata
(``Capabilities.echoes_response_metadata`` false) fall back to "a response created while
ours is pending is ours", the best that can be done without a tag.

The rules the session core follows on top of the tables:

* a ``response.create`` is sent only when the request machine is ``none`` and the
  response machine is ``idle`` (and the session is ready); otherwise the request is
  *owed*, and sent as soon as both are (at most one outstanding, none while a response
  runs, and none while a cancelled one has not ended yet: the server would refuse it);
* an interrupt moves an ``active`` response to ``cancelling``: its end is reported at
  once, its later deltas are dropped, and its ``response.done`` only closes it and hands
  its usage on (``ResponseUsage``);
* a response created for a request the user already cancelled starts in ``cancelling``
  and is cancelled at once: its audio never plays.

Anything not in a table leaves the state as it is: a server event in an order the
protocol does not promise is ignored by the machine, never a crash.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

__all__ = [
    "REQUEST_TAG",
    "REQUEST_TRANSITIONS",
    "RESPONSE_TRANSITIONS",
    "RequestMove",
    "RequestState",
    "ResponseLifecycle",
    "ResponseMove",
    "ResponseState",
    "transitions_markdown",
]

REQUEST_TAG = "rl_request"
"""The ``response.metadata`` key that carries the event id of our ``response.create``."""


class RequestState(enum.Enum):
    """Our ``response.create``."""

    NONE = "none"
    """None of ours is on the wire."""
    SENT = "sent"
    """Sent; the server has not created (or refused) it yet."""
    CANCELLED = "cancelled"
    """Sent, and the user barged in before the server created it."""


class RequestMove(enum.Enum):
    SEND = "send"
    CREATED = "created (ours)"
    REFUSED = "refused (an error for its event id, or busy)"
    INTERRUPT = "interrupt"
    LOST = "connection lost"


class ResponseState(enum.Enum):
    """The server's response, whoever asked for it."""

    IDLE = "idle"
    """No response runs."""
    ACTIVE = "active"
    """A response runs; its deltas are played."""
    CANCELLING = "cancelling"
    """Interrupted (or cancelled before it was created): already reported as ended, its
    deltas are dropped, its ``response.done`` is awaited."""
    BUSY = "busy"
    """The server refused our request because a response runs that we have not seen
    yet (its ``response.created`` is still on the wire): wait for its end."""


class ResponseMove(enum.Enum):
    CREATED = "response.created"
    CREATED_CANCELLED = "response.created (of a cancelled request)"
    DONE = "response.done"
    BUSY = "busy error (a response we have not seen runs)"
    INTERRUPT = "interrupt"
    LOST = "connection lost"


_Q, _QM = RequestState, RequestMove
_R, _RM = ResponseState, ResponseMove

REQUEST_TRANSITIONS: Mapping[tuple[RequestState, RequestMove], RequestState] = {
    (_Q.NONE, _QM.SEND): _Q.SENT,
    (_Q.SENT, _QM.CREATED): _Q.NONE,
    (_Q.SENT, _QM.REFUSED): _Q.NONE,
    (_Q.SENT, _QM.INTERRUPT): _Q.CANCELLED,
    (_Q.SENT, _QM.LOST): _Q.NONE,
    (_Q.CANCELLED, _QM.CREATED): _Q.NONE,
    (_Q.CANCELLED, _QM.REFUSED): _Q.NONE,
    (_Q.CANCELLED, _QM.LOST): _Q.NONE,
}
"""(request state, move) -> next request state."""

RESPONSE_TRANSITIONS: Mapping[tuple[ResponseState, ResponseMove], ResponseState] = {
    (_R.IDLE, _RM.CREATED): _R.ACTIVE,
    (_R.IDLE, _RM.CREATED_CANCELLED): _R.CANCELLING,
    (_R.IDLE, _RM.BUSY): _R.BUSY,
    (_R.BUSY, _RM.CREATED): _R.ACTIVE,
    (_R.BUSY, _RM.CREATED_CANCELLED): _R.CANCELLING,
    (_R.BUSY, _RM.DONE): _R.IDLE,  # whatever its id: the one we did not see ended
    (_R.BUSY, _RM.LOST): _R.IDLE,
    (_R.ACTIVE, _RM.CREATED): _R.ACTIVE,  # another response: the old one is closed first
    (_R.ACTIVE, _RM.CREATED_CANCELLED): _R.CANCELLING,
    (_R.ACTIVE, _RM.DONE): _R.IDLE,
    (_R.ACTIVE, _RM.INTERRUPT): _R.CANCELLING,
    (_R.ACTIVE, _RM.LOST): _R.IDLE,
    (_R.CANCELLING, _RM.CREATED): _R.ACTIVE,  # the cancelled one ended unseen
    (_R.CANCELLING, _RM.CREATED_CANCELLED): _R.CANCELLING,
    (_R.CANCELLING, _RM.DONE): _R.IDLE,
    (_R.CANCELLING, _RM.LOST): _R.IDLE,
}
"""(response state, move) -> next response state. DONE applies only to the current
response id (in ``busy``, to any id); a ``response.done`` for any other id leaves the
state as it is."""


class ResponseLifecycle:
    """The two machines' state, the ids they follow, and whether a reply is owed.

    It only keeps state; the session core decides what to send and report.
    """

    __slots__ = ("owed", "playing_id", "request", "request_event", "response", "response_id")

    def __init__(self) -> None:
        self.request = RequestState.NONE
        self.request_event: str | None = None
        """Event id (and tag) of our pending ``response.create``."""
        self.response = ResponseState.IDLE
        self.response_id: str | None = None
        self.playing_id: str | None = None
        """``response_id`` while ``active`` (its deltas are played), else None: the hot
        path compares each delta's response id with it."""
        self.owed = False
        """A reply was asked for and not sent yet (sent as soon as one may be)."""

    def move_request(self, move: RequestMove) -> bool:
        """Apply ``move``; False (and nothing changes) if the table has no such row."""
        nxt = REQUEST_TRANSITIONS.get((self.request, move))
        if nxt is None:
            return False
        self.request = nxt
        if nxt is RequestState.NONE:
            self.request_event = None
        return True

    def move_response(self, move: ResponseMove, response_id: str | None = None) -> bool:
        nxt = RESPONSE_TRANSITIONS.get((self.response, move))
        if nxt is None:
            return False
        self.response = nxt
        self.response_id = None if nxt is ResponseState.IDLE else response_id or self.response_id
        self.playing_id = self.response_id if nxt is ResponseState.ACTIVE else None
        return True

    @property
    def can_send(self) -> bool:
        """No request of ours pending and no response running (or ending)."""
        return self.request is RequestState.NONE and self.response is ResponseState.IDLE

    def is_ours(self, metadata: Mapping[str, Any] | None, tag_echoed: bool) -> bool:
        """Whether a ``response.created`` answers our pending request."""
        if self.request is RequestState.NONE:
            return False
        if not tag_echoed:
            return True  # no correlation possible: the best guess
        return (metadata or {}).get(REQUEST_TAG) == self.request_event

    def reset(self) -> None:
        self.request = RequestState.NONE
        self.request_event = None
        self.response = ResponseState.IDLE
        self.response_id = None
        self.playing_id = None
        self.owed = False


def transitions_markdown() -> str:
    """Both tables as Markdown (docs/turn-flow.md embeds this text; a test checks it)."""
    lines = ["| machine | state | on | next |", "| --- | --- | --- | --- |"]
    for (state, move), nxt in REQUEST_TRANSITIONS.items():
        lines.append(f"| request | `{state.value}` | {move.value} | `{nxt.value}` |")
    for (rstate, rmove), rnxt in RESPONSE_TRANSITIONS.items():
        lines.append(f"| response | `{rstate.value}` | {rmove.value} | `{rnxt.value}` |")
    return "\n".join(lines)
