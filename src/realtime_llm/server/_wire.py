"""Identifiers and ``error`` events: the two things every part of the session core emits.

Ids are injected rather than drawn from ``secrets`` inside the core so that the sans-I/O
session stays deterministic in its own tests; the socket layer seeds each connection with a
random tag so ids never repeat across sessions (a reconnecting client replays its items and
must not collide with the new session's).
"""

from __future__ import annotations

import itertools
from typing import Any

from ._schema import Problem

__all__ = ["IdGenerator", "error_event"]


class IdGenerator:
    """Makes ``event_…``, ``item_…``, ``resp_…``, ``call_…`` ids, unique per generator."""

    def __init__(self, tag: str = "local") -> None:
        self._tag = tag
        self._counter = itertools.count(1)

    def __call__(self, prefix: str) -> str:
        return f"{prefix}_{self._tag}{next(self._counter):06d}"


def error_event(
    new_id: IdGenerator, problem: Problem, client_event_id: str | None
) -> dict[str, Any]:
    """An ``error`` server event; ``error.event_id`` echoes the client event that caused it."""
    return {
        "type": "error",
        "event_id": new_id("event"),
        "error": {
            "type": problem.type,
            "code": problem.code,
            "message": problem.message,
            "param": problem.param,
            "event_id": client_event_id,
        },
    }
