"""Usage and cost as pipecat metrics: ``LLMUsageMetricsData`` and a cost metrics frame.

pipecat's :class:`~pipecat.metrics.metrics.LLMTokenUsage` has no field for cost, nor for
the text/image split, so the cost of each response travels in a ``MetricsFrame`` of its
own, :class:`RealtimeCostMetricsData`, next to the token usage frame (both only with
``enable_usage_metrics``). The same values reach the ``on_usage`` event handler, which
needs no pipeline parameter.
"""

from __future__ import annotations

from pipecat.metrics.metrics import LLMTokenUsage, MetricsData

from realtime_llm.observability.ledger import UsageReport
from realtime_llm.observability.usage import TokenUsage

__all__ = ["RealtimeCostMetricsData", "cost_metrics", "token_usage"]


class RealtimeCostMetricsData(MetricsData):
    """The cost of one realtime response and the session's running cost, in US dollars.

    ``cost_usd``/``session_cost_usd`` are None when the model has no price in the table.
    """

    response_id: str
    cost_usd: float | None
    session_cost_usd: float | None
    interrupted: bool = False


def token_usage(usage: TokenUsage) -> LLMTokenUsage:
    """pipecat's token usage for a response: totals, cache reads and the audio counts."""
    return LLMTokenUsage(
        prompt_tokens=usage.input_tokens,
        completion_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens,
        cache_read_input_tokens=usage.cached_input_tokens,
        input_audio_tokens=usage.input_audio_tokens,
        output_audio_tokens=usage.output_audio_tokens,
        cache_read_input_audio_tokens=usage.cached_input_audio_tokens,
    )


def cost_metrics(processor: str, report: UsageReport) -> RealtimeCostMetricsData:
    return RealtimeCostMetricsData(
        processor=processor,
        model=report.model or None,
        response_id=report.response_id,
        cost_usd=None if report.cost_usd is None else float(report.cost_usd),
        session_cost_usd=(
            None if report.session_cost_usd is None else float(report.session_cost_usd)
        ),
        interrupted=report.interrupted,
    )
