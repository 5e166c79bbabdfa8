"""OpenTelemetry metrics of a realtime session, through ``opentelemetry-api`` only.

Two histograms, recorded whatever the sampling of spans (metrics aggregate; they answer
"how slow is the p95 turn" where a trace answers "why was this one slow"):

- ``gen_ai.client.token.usage`` (``{token}``), the GenAI conventions' histogram: one
  record per response and token type (``gen_ai.token.type`` = ``input`` / ``output``),
  interrupted responses included.
- ``realtime.client.time_to_first_audio`` (``s``): per user turn, from the end of the
  user's input (speech stopped, the commit, or the request for a reply) to the first
  audio of the reply, which is how long the user waited.

Attributes are the low-cardinality ones the conventions ask for: ``gen_ai.operation.name``,
``gen_ai.provider.name``, ``gen_ai.request.model`` (already scrubbed by the caller). No
id and no content is ever a metric attribute. Without an SDK the API's no-op meter
makes every record free.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from opentelemetry import metrics
from opentelemetry.metrics import MeterProvider

from realtime_llm.observability.usage import TokenUsage

__all__ = ["SessionMeters"]

TOKEN_USAGE: Final = "gen_ai.client.token.usage"
TIME_TO_FIRST_AUDIO: Final = "realtime.client.time_to_first_audio"
GEN_AI_TOKEN_TYPE: Final = "gen_ai.token.type"

# The GenAI conventions' advisory buckets for token usage, and latency buckets in seconds.
_TOKEN_BUCKETS: Final = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576)
_LATENCY_BUCKETS: Final = (0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)


class SessionMeters:
    """The two histograms; ``meter_provider`` defaults to the global one (no-op until set)."""

    def __init__(
        self, *, meter_provider: MeterProvider | None = None, scope: str = "realtime_llm"
    ) -> None:
        meter = metrics.get_meter(scope, meter_provider=meter_provider)
        self._tokens = meter.create_histogram(
            TOKEN_USAGE,
            unit="{token}",
            description="Tokens used per realtime response, by token type",
            explicit_bucket_boundaries_advisory=[float(b) for b in _TOKEN_BUCKETS],
        )
        self._ttfa = meter.create_histogram(
            TIME_TO_FIRST_AUDIO,
            unit="s",
            description="Per user turn: end of the user's input to the reply's first audio",
            explicit_bucket_boundaries_advisory=list(_LATENCY_BUCKETS),
        )

    def record_usage(self, usage: TokenUsage, attributes: Mapping[str, str]) -> None:
        self._tokens.record(usage.input_tokens, {**attributes, GEN_AI_TOKEN_TYPE: "input"})
        self._tokens.record(usage.output_tokens, {**attributes, GEN_AI_TOKEN_TYPE: "output"})

    def record_time_to_first_audio(self, seconds: float, attributes: Mapping[str, str]) -> None:
        self._ttfa.record(max(0.0, seconds), dict(attributes))
