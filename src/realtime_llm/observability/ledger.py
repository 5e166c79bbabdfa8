"""The running account of one session: usage and cost per response, totals, the summary.

The ledger is kept whether or not tracing is on (an OpenTelemetry SDK is optional; what a
call cost is not). Every response with usage is recorded once, interrupted ones included:
the server bills what it generated, heard or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from realtime_llm.observability.pricing import PriceTable
from realtime_llm.observability.usage import TokenUsage

__all__ = ["SessionSummary", "UsageLedger", "UsageReport"]


@dataclass(frozen=True, slots=True)
class UsageReport:
    """One response's usage and cost, and the session's running cost after it.

    ``cost_usd``/``session_cost_usd`` are None when the model has no price in the table.
    """

    response_id: str
    model: str
    usage: TokenUsage
    cost_usd: Decimal | None
    session_cost_usd: Decimal | None
    interrupted: bool = False


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """What one service run did and cost, from start to stop (all connections together)."""

    duration_s: float
    turns: int
    responses: int
    interrupted_responses: int
    tool_calls: int
    reconnects: int
    usage: TokenUsage
    cost_usd: Decimal | None
    conversation_ids: tuple[str, ...]
    """The server session ids, one per connection, in order."""

    def lines(self) -> list[str]:
        """A human-readable summary, one fact a line (what the service logs at the end)."""
        u = self.usage
        cost = (
            "unknown (no price for the model)"
            if self.cost_usd is None
            else (f"${self.cost_usd:.6f}")
        )
        return [
            f"duration {self.duration_s:.1f} s, {self.turns} turns, {self.responses} responses"
            f" ({self.interrupted_responses} interrupted), {self.tool_calls} tool calls,"
            f" {self.reconnects} reconnects",
            f"input {u.input_tokens} tokens (text {u.input_text_tokens}, audio"
            f" {u.input_audio_tokens}, image {u.input_image_tokens}; cached"
            f" {u.cached_input_tokens}), output {u.output_tokens} tokens (text"
            f" {u.output_text_tokens}, audio {u.output_audio_tokens})",
            f"cost {cost}",
        ]


class UsageLedger:
    """Adds up usage and cost; counts turns, tool calls and reconnects for the summary."""

    def __init__(self, prices: PriceTable | None = None) -> None:
        self.prices = prices or PriceTable()
        self._started_at: float | None = None
        self._seen: set[str] = set()
        self.usage = TokenUsage()
        self.cost_usd: Decimal | None = Decimal(0)
        self.turns = 0
        self.responses = 0
        self.interrupted_responses = 0
        self.tool_calls = 0
        self.reconnects = 0
        self.conversation_ids: list[str] = []

    def start(self, now: float) -> None:
        if self._started_at is None:
            self._started_at = now

    def record(
        self, response_id: str, model: str, usage: TokenUsage, *, interrupted: bool = False
    ) -> UsageReport | None:
        """Count a response's usage once; a second report for the same id is ignored."""
        if response_id in self._seen:
            return None
        self._seen.add(response_id)
        self.usage = self.usage + usage
        cost = self.prices.cost(model, usage)
        if cost is None:
            self.cost_usd = None  # one unpriced response makes the total unknown
        elif self.cost_usd is not None:
            self.cost_usd += cost
        return UsageReport(response_id, model, usage, cost, self.cost_usd, interrupted)

    def summary(self, now: float) -> SessionSummary:
        started = self._started_at if self._started_at is not None else now
        return SessionSummary(
            duration_s=max(0.0, now - started),
            turns=self.turns,
            responses=self.responses,
            interrupted_responses=self.interrupted_responses,
            tool_calls=self.tool_calls,
            reconnects=self.reconnects,
            usage=self.usage,
            cost_usd=self.cost_usd,
            conversation_ids=tuple(self.conversation_ids),
        )
