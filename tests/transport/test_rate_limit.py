"""How long a rate limit is waited out: the server's words, or a backoff (pure)."""

from __future__ import annotations

import pytest

from realtime_llm.errors import ErrorClass, classify_error
from realtime_llm.transport.rate_limit import RateLimitBackoff, retry_after_s


@pytest.mark.parametrize(
    ("message", "seconds"),
    [
        ("Rate limit reached for requests. Please try again in 1.5s.", 1.5),
        ("Please try again in 250ms", 0.25),
        ("Please try again in 1m3s. Visit https://platform.openai.com", 63.0),
        ("Slow down.", None),
    ],
)
def test_the_wait_a_message_asks_for(message: str, seconds: float | None) -> None:
    assert retry_after_s(message) == seconds


def test_backoff_without_a_hint_doubles_and_restarts_after_a_quiet_minute() -> None:
    backoff = RateLimitBackoff(base_delay_s=1.0, max_delay_s=5.0, reset_after_s=60.0)
    assert [backoff.next_delay("no hint", t) for t in (0, 1, 2, 3, 4)] == [1, 2, 4, 5, 5]
    assert backoff.next_delay("try again in 900s", 5) == 5.0  # capped
    assert backoff.next_delay("no hint", 100) == 1.0


def test_rate_limit_is_its_own_class() -> None:
    assert classify_error("rate_limit_exceeded", "invalid_request_error") is (
        ErrorClass.RATE_LIMITED
    )
