"""When and how soon to reconnect: a small, replaceable policy (no I/O, no clock)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from realtime_llm.errors import ErrorClass

__all__ = ["ReconnectPolicy"]


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """Exponential backoff for transient failures and session ends; never for fatal ones.

    Args:
        max_attempts: connection attempts after a loss before giving up (0: never retry).
        base_delay_s: the first wait; it doubles after each failed attempt.
        max_delay_s: the longest wait between attempts.
    """

    max_attempts: int = 5
    base_delay_s: float = 0.25
    max_delay_s: float = 4.0

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
