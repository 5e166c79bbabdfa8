"""Observability of a realtime session: token usage, prices and cost, metrics, scrubbing.

The spans themselves are in :mod:`realtime_llm.tracing` (``SessionTracer``), which uses
these modules: :mod:`.usage` (the token split of a response), :mod:`.pricing` (the price
table), :mod:`.ledger` (running totals and the session summary), :mod:`.meters` (the
OpenTelemetry histograms) and :mod:`.redact` (the scrubber every string goes through).
None of them imports pipecat.
"""

from realtime_llm.observability.ledger import SessionSummary, UsageLedger, UsageReport
from realtime_llm.observability.pricing import DEFAULT_PRICES, ModelPrice, PriceTable
from realtime_llm.observability.usage import TokenUsage

__all__ = [
    "DEFAULT_PRICES",
    "ModelPrice",
    "PriceTable",
    "SessionSummary",
    "TokenUsage",
    "UsageLedger",
    "UsageReport",
]
