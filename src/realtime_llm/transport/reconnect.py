"""When and how soon to reconnect: a small, replaceable policy, and the budget that
bounds connects per time window (no I/O; the caller passes ``now``)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from realtime_llm.errors import ErrorClass

__all__ = ["ConnectBudget", "ReconnectPolicy"]


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """Exponential backoff for transient failures and session ends; never for fatal ones.

    Args:
        max_attempts: connection attempts after a loss before giving up (0: never retry).
        base_delay_s: the first wait; it doubles after each failed attempt.
        max_delay_s: the longest wait between attempts.
        max_connects: connection attempts allowed within ``window_s``, whatever happened
            in between (a server that accepts and closes at once included); beyond it the
            service stops with one fatal error.
        window_s: the window of ``max_connects``.
    """

    max_attempts: int = 5
    base_delay_s: float = 0.25
    max_delay_s: float = 4.0
    max_connects: int = 10
    window_s: float = 60.0

    def should_reconnect(self, error_class: ErrorClass) -> bool:
        """Transient failures and the server's session limit are worth a new connection."""
        return self.max_attempts > 0 and error_class in (
            ErrorClass.TRANSIENT,
            ErrorClass.SESSION_END,
        )

    def delays(self) -> Iterator[float]:
        """The wait before each attempt: immediately after a session end, then backing off."""
        delay = 0.0
        for _ in range(self.max_attempts):
            yield delay
            delay = min(self.max_delay_s, max(self.base_delay_s, delay * 2))


class ConnectBudget:
    """Connects per window, with a backoff that survives successful upgrades.

    A per-loss attempt counter restarts at every upgrade that succeeds, so a server that
    accepts and closes at once was redialled without end (464 times in 11 s). This counts
    every dial within the policy's window instead: the first two go at once, each further
    one waits twice as long as the one before (from ``base_delay_s`` up to
    ``max_delay_s``), and once ``max_connects`` dials fall within ``window_s`` the budget
    is spent. Pure: the caller passes ``now`` (monotonic seconds).
    """

    def __init__(self, policy: ReconnectPolicy) -> None:
        self._policy = policy
        self._dials: deque[float] = deque()

    def next_delay(self, now: float) -> float | None:
        """The wait before the next dial (recorded as made), or None: the budget is spent."""
        policy = self._policy
        while self._dials and now - self._dials[0] >= policy.window_s:
            self._dials.popleft()
        recent = len(self._dials)
        if recent >= max(1, policy.max_connects):
            return None
        self._dials.append(now)
        if recent < 2:
            return 0.0
        return float(min(policy.max_delay_s, policy.base_delay_s * 2 ** (recent - 2)))

    def describe(self) -> str:
        """The budget in words, for the one fatal error that says it is spent."""
        policy = self._policy
        return f"{policy.max_connects} connection attempts within {policy.window_s:g} s"
