"""Waiting out a rate limit on a live socket: how long, from the server's words (pure).

A ``rate_limit_exceeded`` error says the server refused one request for now; nothing is
wrong with the session. Dropping the socket and replaying the conversation costs tokens
and helps nothing, so the caller keeps the socket, waits, and asks again for what was
refused. OpenAI's messages say how long ("Please try again in 1.5s", "in 250ms", "in
1m3s"); when a message says nothing, the wait backs off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["RateLimitBackoff", "retry_after_s"]

_TRY_AGAIN = re.compile(r"try again in\s+((?:\d+(?:\.\d+)?\s*(?:ms|h|m|s)\s*)+)", re.I)
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|h|m|s)", re.I)
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def retry_after_s(message: str) -> float | None:
    """The wait a server message asks for ("try again in 1m3.5s"), or None if it says none."""
    found = _TRY_AGAIN.search(message)
    if found is None:
        return None
    return sum(float(n) * _UNIT_S[unit.lower()] for n, unit in _PART.findall(found.group(1)))


@dataclass(slots=True)
class RateLimitBackoff:
    """The wait before asking again after a rate-limit refusal.

    Args:
        base_delay_s: the wait after a refusal whose message names none; it doubles for
            each such refusal in a row.
        max_delay_s: the longest wait, also for what a message asks (a server cannot park
            the bot for an hour).
        reset_after_s: refusals further apart than this start the backoff afresh.
    """

    base_delay_s: float = 1.0
    max_delay_s: float = 30.0
    reset_after_s: float = 60.0
    _streak: int = field(default=0, init=False)
    _last: float | None = field(default=None, init=False)

    def next_delay(self, message: str, now: float) -> float:
        """How long to wait after a refusal seen at ``now`` (monotonic seconds)."""
        if self._last is None or now - self._last > self.reset_after_s:
            self._streak = 0
        self._last = now
        asked = retry_after_s(message)
        if asked is not None:
            return min(self.max_delay_s, asked)
        delay = float(min(self.max_delay_s, self.base_delay_s * 2.0**self._streak))
        self._streak += 1
        return delay
