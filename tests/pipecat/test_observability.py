"""Observability through a real pipeline: the span tree, cost and usage of a conversation.

One conversation against the local server: a greeting, a spoken turn with a tool round, a
reply the user interrupts, the reply to the interruption, a dropped connection, and one
more spoken turn. Asserted as a tree of spans (standalone, and nested under pipecat's own
``conversation``/``turn`` spans with ``enable_tracing=True``), as usage metrics frames (the
interrupted response included) and as a cost equal to the figure computed by hand from the
usage the server sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from decimal import Decimal
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    Frame,
    LLMFullResponseEndFrame,
    LLMRunFrame,
    MetricsFrame,
    TTSAudioRawFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
)
from pipecat.metrics.metrics import LLMUsageMetricsData
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.llm_service import FunctionCallParams

from realtime_llm import RealtimeLLMService
from realtime_llm.observability import SessionSummary, UsageReport
from realtime_llm.pipecat.usage_metrics import RealtimeCostMetricsData
from realtime_llm.server import ToolCall, Turn

from ..observability.spantree import parent_of, span_tree
from .harness import Bot, running_bot, service_for, speech_like, wait_for

FAKE_KEY = "sk-fake-RECOGNIZABLE-0123456789abcdef"
MODEL = "gpt-realtime"
STORY = "Once upon a time there was a long story that took many seconds to tell. " * 3
WEATHER = FunctionSchema(
    name="get_weather",
    description="The weather in a city",
    properties={"city": {"type": "string"}},
    required=["city"],
)
SCRIPT = [
    Turn(reply="Hello! Ask me about the weather."),
    Turn(user="What is the weather in Paris?", reply=ToolCall.of("get_weather", city="Paris")),
    Turn(reply="It is sunny in Paris."),
    Turn(user="Tell me a story", reply=STORY),
    Turn(user="Stop, please.", reply="All right."),
    Turn(user="Are you still there?", reply="Yes, still here."),
]
# Our spans, without the transcription records (which may land before or after the
# response in their turn: the transcript and response.created race on the server).
TREE = [
    f"realtime {MODEL}",
    f"  connect {MODEL}",
    f"  turn {MODEL}",
    f"    chat {MODEL}",
    f"  turn {MODEL}",
    f"    chat {MODEL}",
    "      execute_tool get_weather",
    f"    chat {MODEL}",
    f"  turn {MODEL}",
    f"    chat {MODEL}",
    f"  turn {MODEL}",
    f"    chat {MODEL}",
    f"  reconnect {MODEL}",
    f"    connect {MODEL}",
    f"  turn {MODEL}",
    f"    chat {MODEL}",
]
# gpt-realtime, US dollars per million tokens (text in, cached text in, audio in, cached
# audio in, text out, audio out), written out here rather than read from the table.
RATES = {"text": 4, "cached_text": "0.40", "audio": 32, "cached_audio": "0.40"}


class SpeakingReporter(FrameProcessor):
    """Stands in for the output transport's speaking signals: bot started/stopped speaking
    when the reply's audio starts and stops (pipecat's turn tracking needs them)."""

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        await self.push_frame(frame, direction)
        if isinstance(frame, TTSStartedFrame):
            await self.push_frame(BotStartedSpeakingFrame())
            await self.push_frame(BotStartedSpeakingFrame(), FrameDirection.UPSTREAM)
        elif isinstance(frame, TTSStoppedFrame):
            await self.push_frame(BotStoppedSpeakingFrame())
            await self.push_frame(BotStoppedSpeakingFrame(), FrameDirection.UPSTREAM)


def bot_with(
    service: RealtimeLLMService, context: LLMContext, *, enable_tracing: bool
) -> AbstractAsyncContextManager[Bot]:
    """The harness's pipeline, with a playback reporter after the service."""
    return running_bot(
        service, context, after_llm=[SpeakingReporter()], enable_tracing=enable_tracing
    )


async def converse(bot: Bot, server: Any, reports: list[UsageReport]) -> None:
    ends = lambda: len(bot.down(LLMFullResponseEndFrame))  # noqa: E731
    await server.wait_for_sent("session.updated")
    await bot.queue(LLMRunFrame())
    await wait_for(lambda: ends() >= 1, what="the greeting")
    await bot.speak(speech_like(24000, 0.5), 24000)
    await wait_for(lambda: ends() >= 3, what="the tool call and the answer")
    await bot.speak(speech_like(24000, 0.4, silence_after=0.8), 24000)
    audio = len(bot.down(TTSAudioRawFrame))
    await wait_for(lambda: len(bot.down(TTSAudioRawFrame)) >= audio + 10, what="the story")
    await bot.speak(speech_like(24000, 0.4, silence_after=0.8), 24000)  # barge-in
    await wait_for(lambda: ends() >= 5, timeout=10, what="the reply to the barge-in")
    await wait_for(lambda: len(reports) >= 5, what="the usage of all five responses")
    await server.close_connections(code=1011, reason="internal error")
    await server.wait_for_received("session.update", count=2)
    await wait_for(lambda: server.connections == 1, what="a new connection")
    await server.wait_for_sent("session.updated", count=2)
    await bot.speak(speech_like(24000, 0.4), 24000)
    await wait_for(lambda: ends() >= 6, what="the last reply")
    await wait_for(lambda: len(reports) >= 6, what="the last usage")


def make_service(
    server: Any, provider: TracerProvider, meters: MeterProvider | None
) -> RealtimeLLMService:
    service = service_for(
        server.url, api_key=FAKE_KEY, tracer_provider=provider, meter_provider=meters
    )

    async def get_weather(params: FunctionCallParams) -> None:
        await params.result_callback({"city": params.arguments["city"], "sky": "sunny"})

    service.register_function("get_weather", get_weather)
    return service


def ours(spans: list[ReadableSpan]) -> list[ReadableSpan]:
    return [
        s
        for s in spans
        if s.instrumentation_scope is not None
        and s.instrumentation_scope.name == "realtime_llm"
        and s.name != "realtime.user_transcription"
    ]


def named(spans: list[ReadableSpan], prefix: str) -> list[ReadableSpan]:
    return sorted((s for s in spans if s.name.startswith(prefix)), key=lambda s: s.start_time or 0)


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def hand_cost(usage: dict[str, Any]) -> Decimal:
    details = usage["input_token_details"]
    cached = details["cached_tokens_details"]
    out = usage["output_token_details"]
    rate = {k: Decimal(str(v)) for k, v in RATES.items()}
    return (
        (details["text_tokens"] - cached["text_tokens"]) * rate["text"]
        + cached["text_tokens"] * rate["cached_text"]
        + (details["audio_tokens"] - cached["audio_tokens"]) * rate["audio"]
        + cached["audio_tokens"] * rate["cached_audio"]
        + out["text_tokens"] * 16
        + out["audio_tokens"] * 64
    ) / 1_000_000


def assert_no_secret(spans: list[ReadableSpan]) -> None:
    strings: list[str] = []
    for span in spans:
        strings.append(span.name)
        strings.extend(f"{k}={v}" for k, v in (span.attributes or {}).items())
        for event in span.events:
            strings.extend(f"{k}={v}" for k, v in (event.attributes or {}).items())
        strings.append(span.status.description or "")
    assert not [s for s in strings if "RECOGNIZABLE" in s]


async def run_conversation(
    make_server: Any,
    provider: TracerProvider,
    *,
    enable_tracing: bool,
    meters: MeterProvider | None = None,
) -> tuple[Bot, Any, list[UsageReport], list[SessionSummary]]:
    server = await make_server(SCRIPT, chunk_interval_s=0.02)
    service = make_service(server, provider, meters)
    reports: list[UsageReport] = []
    summaries: list[SessionSummary] = []

    @service.event_handler("on_usage")
    async def _usage(service: RealtimeLLMService, report: UsageReport) -> None:
        reports.append(report)

    @service.event_handler("on_session_summary")
    async def _summary(service: RealtimeLLMService, summary: SessionSummary) -> None:
        summaries.append(summary)

    context = LLMContext(tools=ToolsSchema(standard_tools=[WEATHER]))
    async with bot_with(service, context, enable_tracing=enable_tracing) as bot:
        await converse(bot, server, reports)
    await wait_for(lambda: bool(summaries), what="the session summary")
    return bot, server, reports, summaries


async def test_span_tree_usage_and_cost_of_a_conversation(make_server: Any) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    bot, server, reports, summaries = await run_conversation(
        make_server,
        provider,
        enable_tracing=False,
        meters=MeterProvider(metric_readers=[reader]),
    )
    spans = list(exporter.get_finished_spans())
    assert span_tree(ours(spans)) == TREE
    session = named(spans, "realtime ")[0]
    assert session.parent is None
    turns = named(spans, "turn ")
    chats = named(spans, "chat ")
    assert [parent_of(c, spans) for c in chats] == [
        turns[0],
        turns[1],
        turns[1],
        turns[2],
        turns[3],
        turns[4],
    ]
    assert parent_of(named(spans, "execute_tool ")[0], spans) is chats[1]
    # Every spoken turn recorded its transcript inside it.
    for turn in turns[1:]:
        children = [s for s in spans if parent_of(s, spans) is turn]
        assert [s.name for s in children].count("realtime.user_transcription") == 1
    # gen_ai.conversation.id is the server's session id, one per connection.
    session_ids = [e["session"]["id"] for e in server.sent if e["type"] == "session.created"]
    assert len(session_ids) == 2
    assert attrs(session)["gen_ai.conversation.id"] == session_ids[0]
    assert [attrs(c)["gen_ai.conversation.id"] for c in chats] == [session_ids[0]] * 5 + [
        session_ids[1]
    ]
    # The interrupted reply: cancelled, interrupted, and with the usage of its response.done.
    story = chats[3]
    assert attrs(story)["realtime.interrupted"] is True
    assert attrs(story)["gen_ai.response.finish_reasons"] == ("cancelled",)
    assert attrs(story)["gen_ai.usage.output_tokens"] > 0
    assert attrs(turns[2])["realtime.interrupted"] is True
    assert all("realtime.time_to_first_audio_ms" in attrs(t) for t in turns)
    (reconnect,) = named(spans, "reconnect ")
    assert attrs(reconnect)["realtime.reconnect.attempts"] == 1

    # Cost: what the server's usage costs at gpt-realtime's rates, computed by hand.
    dones = [e["response"] for e in server.sent if e["type"] == "response.done"]
    assert len(dones) == 6 and all(d["usage"] for d in dones)
    by_hand = {d["id"]: hand_cost(d["usage"]) for d in dones}
    assert {r.response_id: r.cost_usd for r in reports} == by_hand
    (summary,) = summaries
    assert summary.cost_usd == sum(by_hand.values())
    assert attrs(session)["realtime.session.cost_usd"] == float(sum(by_hand.values()))
    assert [attrs(c)["realtime.cost_usd"] for c in chats] == [
        float(by_hand[attrs(c)["gen_ai.response.id"]]) for c in chats
    ]
    assert (summary.turns, summary.responses, summary.interrupted_responses) == (5, 6, 1)
    assert (summary.tool_calls, summary.reconnects) == (1, 1)
    assert summary.conversation_ids == tuple(session_ids)
    assert summary.usage.input_tokens == sum(d["usage"]["input_tokens"] for d in dones)

    # Usage and cost metrics frames for every response, the interrupted one included.
    metrics = [m for f in bot.down(MetricsFrame) for m in f.data]
    usage = [m for m in metrics if isinstance(m, LLMUsageMetricsData)]
    assert sorted(m.value.completion_tokens for m in usage) == sorted(
        d["usage"]["output_tokens"] for d in dones
    )
    cut = next(d for d in dones if d["status"] == "cancelled")
    cached_audio = cut["usage"]["input_token_details"]["cached_tokens_details"]["audio_tokens"]
    cut_usage = next(m for m in usage if m.value.prompt_tokens == cut["usage"]["input_tokens"])
    assert cut_usage.value.cache_read_input_audio_tokens == cached_audio
    costs = {m.response_id: m for m in metrics if isinstance(m, RealtimeCostMetricsData)}
    assert costs[cut["id"]].interrupted
    assert costs[cut["id"]].cost_usd == float(by_hand[cut["id"]])
    assert_no_secret(spans)

    # The histograms: tokens of every response (the interrupted one too), and one time to
    # first audio per turn.
    data = reader.get_metrics_data()
    assert data is not None
    points = {
        (metric.name, dict(point.attributes or {}).get("gen_ai.token.type")): point
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        for point in metric.data.data_points
    }
    tokens_in = points[("gen_ai.client.token.usage", "input")]
    assert tokens_in.count == 6
    assert tokens_in.sum == sum(d["usage"]["input_tokens"] for d in dones)
    assert points[("realtime.client.time_to_first_audio", None)].count == 5
    assert "RECOGNIZABLE" not in data.to_json()


class _WhileOn(SimpleSpanProcessor):
    """Exports only while a test that wants the global spans runs."""

    on = False
    installed = False

    def on_end(self, span: ReadableSpan) -> None:
        if self.on:
            super().on_end(span)


_GLOBAL = _WhileOn(InMemorySpanExporter())


@contextmanager
def global_spans() -> Iterator[InMemorySpanExporter]:
    """pipecat's turn spans come from the global tracer provider, which OTel lets a process
    set once: install an SDK provider the first time, and record only inside this block."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    current = trace.get_tracer_provider()
    assert isinstance(current, TracerProvider)
    if not _GLOBAL.installed:
        current.add_span_processor(_GLOBAL)
        _GLOBAL.installed = True
    exporter = _GLOBAL.span_exporter
    assert isinstance(exporter, InMemorySpanExporter)
    exporter.clear()
    _GLOBAL.on = True
    try:
        yield exporter
    finally:
        _GLOBAL.on = False


async def test_spans_nest_under_pipecats_conversation_and_turns(make_server: Any) -> None:
    with global_spans() as exporter:
        provider = trace.get_tracer_provider()
        assert isinstance(provider, TracerProvider)
        _, _, reports, summaries = await run_conversation(
            make_server, provider, enable_tracing=True
        )
        spans = list(exporter.get_finished_spans())
    (conversation,) = [s for s in spans if s.name == "conversation"]
    pipecat_turns = [s for s in spans if s.name == "turn"]
    session = named(spans, "realtime ")[0]
    assert parent_of(session, spans) is conversation
    # Our tree below the session span is the same, minus the turns, which moved under
    # pipecat's turn spans.
    assert span_tree(ours(spans))[:2] == [f"realtime {MODEL}", f"  connect {MODEL}"]
    turns = named(spans, "turn ")
    assert len(turns) == 5
    parents = [parent_of(t, spans) for t in turns]
    assert all(p in pipecat_turns for p in parents), [p.name if p else None for p in parents]
    assert len({id(p) for p in parents}) == 5  # each of our turns in its own pipecat turn
    assert all(parent_of(p, spans) is conversation for p in pipecat_turns if p is not None)
    chats = named(spans, "chat ")
    assert [parent_of(c, spans) for c in chats] == [
        turns[0],
        turns[1],
        turns[1],
        turns[2],
        turns[3],
        turns[4],
    ]
    assert parent_of(named(spans, "execute_tool ")[0], spans) is chats[1]
    assert parent_of(named(spans, "reconnect ")[0], spans) is session
    assert summaries[0].cost_usd == sum((r.cost_usd or Decimal(0)) for r in reports)
    assert_no_secret(spans)
