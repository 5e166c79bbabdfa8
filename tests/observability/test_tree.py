"""The span tree of a conversation, driven through SessionTracer's API (no pipeline).

A spoken turn, a tool round, an interruption whose usage comes late, and a reconnect; then
the same nested under an outer tracer's conversation and turn spans (what pipecat's
tracing provides); then the OpenTelemetry histograms.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Span, StatusCode, set_span_in_context

from realtime_llm.observability import PriceTable, TokenUsage
from realtime_llm.tracing import SessionTracer

from .spantree import drawn_edges, parent_of, span_edges, span_tree

MODEL = "gpt-realtime"
FAKE_KEY = "sk-fake-RECOGNIZABLE-0123456789abcdef"


def usage(text_in: int, audio_in: int, text_out: int, audio_out: int) -> dict[str, Any]:
    return {
        "total_tokens": text_in + audio_in + text_out + audio_out,
        "input_tokens": text_in + audio_in,
        "output_tokens": text_out + audio_out,
        "input_token_details": {
            "text_tokens": text_in,
            "audio_tokens": audio_in,
            "image_tokens": 0,
            "cached_tokens": 0,
            "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 0, "image_tokens": 0},
        },
        "output_token_details": {"text_tokens": text_out, "audio_tokens": audio_out},
    }


@pytest.fixture
def reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


@pytest.fixture
def tracer(provider: TracerProvider, reader: InMemoryMetricReader) -> SessionTracer:
    return SessionTracer(
        tracer_provider=provider,
        meter_provider=MeterProvider(metric_readers=[reader]),
        secrets=[FAKE_KEY],
    )


def converse(tracer: SessionTracer) -> None:
    """Greeting, spoken turn with a tool round, a barge-in, a reconnect, a last turn."""
    tracer.session_started(MODEL, 0.0)
    with tracer.connect(MODEL, f"wss://api.openai.com/v1/realtime?api-key={FAKE_KEY}"):
        pass
    tracer.session_created("sess_A")
    tracer.session_ready()
    # 1. Greeting: the client asks for a reply.
    tracer.reply_requested(1.0)
    tracer.response_started("resp_1", model=MODEL, voice="marin", modalities=["audio"], now=1.0)
    tracer.response_first_audio("resp_1", 1.3)
    tracer.response_finished("resp_1", status="completed", usage=usage(100, 0, 10, 50), now=2.0)
    tracer.settle()
    # 2. Spoken turn with a tool round.
    tracer.user_speech_started(3.0)
    tracer.reply_requested(4.0)  # speech stopped
    tracer.user_transcription("item_u1", "What's the weather?")
    tracer.response_started("resp_2", model=MODEL, voice="marin", modalities=["audio"], now=4.1)
    tracer.response_finished("resp_2", status="completed", usage=usage(150, 20, 12, 0), now=4.5)
    tracer.tool_call_started("call_1", "get_weather", '{"city": "Paris"}', response_id="resp_2")
    tracer.settle()
    tracer.tool_call_finished("call_1")
    tracer.reply_requested(4.7)  # the result is sent: keeps the turn's start of waiting
    tracer.response_started("resp_3", model=MODEL, voice="marin", modalities=["audio"], now=4.8)
    tracer.response_first_audio("resp_3", 5.0)
    tracer.response_finished("resp_3", status="completed", usage=usage(200, 20, 15, 60), now=6.0)
    tracer.settle()
    # 3. A reply the user interrupts; its usage comes with the server's response.done.
    tracer.user_speech_started(7.0)
    tracer.reply_requested(7.5)
    tracer.response_started("resp_4", model=MODEL, voice="marin", modalities=["audio"], now=7.6)
    tracer.response_first_audio("resp_4", 7.8)
    tracer.user_speech_started(8.5)  # barge-in: turn 4 begins
    tracer.response_finished("resp_4", status="cancelled", interrupted=True, now=8.5)
    tracer.settle()
    tracer.response_usage("resp_4", usage(250, 30, 5, 20))
    tracer.reply_requested(9.0)
    tracer.response_started("resp_5", model=MODEL, voice="marin", modalities=["audio"], now=9.1)
    tracer.response_first_audio("resp_5", 9.4)
    tracer.response_finished("resp_5", status="completed", usage=usage(300, 40, 5, 30), now=10.0)
    tracer.settle()
    # 4. The connection drops; a new session; one more spoken turn.
    tracer.connection_lost(f"transient: 1011 keepalive timeout api-key={FAKE_KEY}")
    with tracer.connect(MODEL, "wss://api.openai.com/v1/realtime"):
        pass
    tracer.session_created("sess_B")
    tracer.reconnected(1)
    tracer.session_ready()
    tracer.user_speech_started(12.0)
    tracer.reply_requested(13.0)
    tracer.response_started("resp_6", model=MODEL, voice="marin", modalities=["audio"], now=13.1)
    tracer.response_first_audio("resp_6", 13.5)
    tracer.response_finished("resp_6", status="completed", usage=usage(50, 10, 5, 20), now=14.0)
    tracer.settle()


TREE = [
    f"realtime {MODEL}",
    f"  connect {MODEL}",
    f"  turn {MODEL}",
    f"    chat {MODEL}",
    f"  turn {MODEL}",
    "    realtime.user_transcription",
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


def named(spans: list[ReadableSpan], prefix: str) -> list[ReadableSpan]:
    return sorted((s for s in spans if s.name.startswith(prefix)), key=lambda s: s.start_time or 0)


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def test_the_tree_of_a_conversation(tracer: SessionTracer, exporter: InMemorySpanExporter) -> None:
    converse(tracer)
    summary = tracer.close(20.0)
    spans = list(exporter.get_finished_spans())
    assert span_tree(spans) == TREE
    session = named(spans, "realtime ")[0]
    assert session.parent is None
    turns = named(spans, "turn ")
    chats = named(spans, "chat ")
    # Every response is a child of its turn; the tool call of the response that asked for it.
    assert [parent_of(c, spans) for c in chats] == [
        turns[0],
        turns[1],
        turns[1],
        turns[2],
        turns[3],
        turns[4],
    ]
    (tool,) = named(spans, "execute_tool ")
    assert parent_of(tool, spans) is chats[1]
    # Key attributes.
    assert attrs(session)["gen_ai.conversation.id"] == "sess_A"
    assert attrs(session)["gen_ai.operation.name"] == "realtime"
    assert [attrs(c)["gen_ai.conversation.id"] for c in chats] == ["sess_A"] * 5 + ["sess_B"]
    assert [attrs(t)["realtime.turn.initiator"] for t in turns] == [
        "request",
        "user_speech",
        "user_speech",
        "user_speech",
        "user_speech",
    ]
    assert [attrs(t)["realtime.interrupted"] for t in turns] == [False, False, True, False, False]
    assert [attrs(t)["realtime.turn.responses"] for t in turns] == [1, 2, 1, 1, 1]
    # Time to first audio per turn: from the end of the user's input to the first audio.
    ttfa = [attrs(t)["realtime.time_to_first_audio_ms"] for t in turns]
    assert ttfa == pytest.approx([300.0, 1000.0, 300.0, 400.0, 500.0])
    # The interrupted response carries the usage that came after its end.
    cut = chats[3]
    assert attrs(cut)["realtime.interrupted"] is True
    assert attrs(cut)["gen_ai.response.finish_reasons"] == ("cancelled",)
    assert attrs(cut)["gen_ai.usage.input_tokens"] == 280
    assert attrs(turns[2])["gen_ai.usage.output_tokens"] == 25
    (reconnect,) = named(spans, "reconnect ")
    assert attrs(reconnect)["realtime.reconnect.attempts"] == 1
    assert attrs(reconnect)["realtime.reconnect.renewal"] is False
    assert summary.turns == 5 and summary.responses == 6 and summary.reconnects == 1
    assert summary.interrupted_responses == 1 and summary.tool_calls == 1
    assert summary.conversation_ids == ("sess_A", "sess_B")
    assert attrs(session)["realtime.session.turns"] == 5
    assert attrs(session)["realtime.session.reconnects"] == 1


def test_cost_per_response_turn_and_session_equals_the_hand_computed_figure(
    tracer: SessionTracer, exporter: InMemorySpanExporter
) -> None:
    converse(tracer)
    summary = tracer.close(20.0)
    # gpt-realtime per 1M tokens: text in 4, audio in 32, text out 16, audio out 64.
    responses = [
        (100, 0, 10, 50),
        (150, 20, 12, 0),
        (200, 20, 15, 60),
        (250, 30, 5, 20),
        (300, 40, 5, 30),
        (50, 10, 5, 20),
    ]
    costs = [Decimal(t * 4 + a * 32 + to * 16 + ao * 64) / 10**6 for t, a, to, ao in responses]
    # By hand: 400+0+160+3200, 600+640+192+0, 800+640+240+3840, 1000+960+80+1280,
    # 1200+1280+80+1920, 200+320+80+1280 millionths of a dollar.
    assert costs == [
        Decimal("0.00376"),
        Decimal("0.001432"),
        Decimal("0.00552"),
        Decimal("0.00332"),
        Decimal("0.00448"),
        Decimal("0.00188"),
    ]
    assert summary.cost_usd == sum(costs) == Decimal("0.020392")
    spans = list(exporter.get_finished_spans())
    chats = named(spans, "chat ")
    assert [attrs(c)["realtime.cost_usd"] for c in chats] == [float(c) for c in costs]
    running = [attrs(c)["realtime.session.cost_usd"] for c in chats]
    assert running == pytest.approx([float(sum(costs[: i + 1])) for i in range(6)])
    turns = named(spans, "turn ")
    assert attrs(turns[1])["realtime.cost_usd"] == pytest.approx(float(costs[1] + costs[2]))
    session = named(spans, "realtime ")[0]
    assert attrs(session)["realtime.session.cost_usd"] == pytest.approx(0.020392)
    assert summary.usage == sum(
        (TokenUsage.from_wire(usage(*r)) or TokenUsage() for r in responses), TokenUsage()
    )


def test_no_secret_anywhere(tracer: SessionTracer, exporter: InMemorySpanExporter) -> None:
    converse(tracer)
    tracer.close(20.0)
    strings: list[str] = []
    for span in exporter.get_finished_spans():
        strings.append(span.name)
        strings.extend(f"{k}={v}" for k, v in (span.attributes or {}).items())
        for event in span.events:
            strings.append(event.name)
            strings.extend(f"{k}={v}" for k, v in (event.attributes or {}).items())
        strings.append(span.status.description or "")
    assert strings
    assert not [s for s in strings if "RECOGNIZABLE" in s or "sk-fake" in s]


class _Outer:
    """What pipecat's tracing gives: a conversation span and the current turn span."""

    def __init__(self, provider: TracerProvider) -> None:
        self.tracer = provider.get_tracer("pipecat.turn")
        self.conversation: Span = self.tracer.start_span("conversation")
        self.turn: Span | None = None

    def next_turn(self) -> None:
        if self.turn is not None:
            self.turn.end()
        self.turn = self.tracer.start_span("turn", context=set_span_in_context(self.conversation))

    def conversation_context(self) -> Context | None:
        return set_span_in_context(self.conversation)

    def turn_context(self) -> Context | None:
        return set_span_in_context(self.turn) if self.turn is not None else None


def test_nested_under_an_outer_conversation_and_its_turns(
    tracer: SessionTracer, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    outer = _Outer(provider)
    tracer.nest_under(conversation=outer.conversation_context, turn=outer.turn_context)
    tracer.session_started(MODEL, 0.0)
    tracer.connect(MODEL, "wss://h/x")
    tracer.session_ready()
    outer.next_turn()
    tracer.reply_requested(1.0)
    tracer.response_started("r1", model=MODEL, voice="v", modalities=["audio"], now=1.0)
    tracer.response_finished("r1", status="completed", now=2.0)
    tracer.settle()
    # The user speaks; the outer tracer opens its turn a moment after our speech start.
    tracer.user_speech_started(3.0)
    outer.next_turn()
    tracer.reply_requested(4.0)
    tracer.response_started("r2", model=MODEL, voice="v", modalities=["audio"], now=4.0)
    tracer.response_finished("r2", status="completed", now=5.0)
    tracer.settle()
    tracer.close(6.0)
    assert outer.turn is not None
    outer.turn.end()
    outer.conversation.end()
    assert span_tree(list(exporter.get_finished_spans())) == [
        "conversation",
        f"  realtime {MODEL}",
        f"    connect {MODEL}",
        "  turn",
        f"    turn {MODEL}",
        f"      chat {MODEL}",
        "  turn",
        f"    turn {MODEL}",
        f"      chat {MODEL}",
    ]


def test_between_outer_turns_a_turn_falls_back_to_the_session(
    tracer: SessionTracer, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    outer = _Outer(provider)
    tracer.nest_under(conversation=outer.conversation_context, turn=outer.turn_context)
    tracer.session_started(MODEL, 0.0)
    tracer.response_started("r1", model=MODEL, voice="v", modalities=["audio"], now=1.0)
    tracer.response_finished("r1", status="completed", now=2.0)
    tracer.close(3.0)
    outer.conversation.end()
    assert span_tree(list(exporter.get_finished_spans())) == [
        "conversation",
        f"  realtime {MODEL}",
        f"    turn {MODEL}",
        f"      chat {MODEL}",
    ]


def test_interrupted_usage_that_never_comes(
    tracer: SessionTracer, exporter: InMemorySpanExporter
) -> None:
    tracer.session_started(MODEL, 0.0)
    tracer.response_started("r1", model=MODEL, voice="v", modalities=["audio"], now=1.0)
    tracer.user_speech_started(2.0)
    tracer.response_finished("r1", status="cancelled", interrupted=True, now=2.0)
    assert not [s for s in exporter.get_finished_spans() if s.name.startswith("chat")]
    tracer.connection_lost("transient: 1006")
    (chat,) = [s for s in exporter.get_finished_spans() if s.name.startswith("chat")]
    assert attrs(chat)["realtime.usage.unavailable"] is True
    assert "gen_ai.usage.input_tokens" not in attrs(chat)
    tracer.reconnect_failed("the realtime connection could not be re-established", 5)
    tracer.close(3.0)
    (reconnect,) = [s for s in exporter.get_finished_spans() if s.name.startswith("reconnect")]
    assert reconnect.status.status_code is StatusCode.ERROR
    assert attrs(reconnect)["realtime.reconnect.attempts"] == 5


def test_unpriced_model_has_no_cost_attribute(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    tracer = SessionTracer(tracer_provider=provider, prices=PriceTable(defaults={}))
    tracer.session_started("grok-voice", 0.0)
    tracer.response_started("r1", model="grok-voice", voice="v", modalities=["audio"], now=1.0)
    report = tracer.response_finished("r1", status="completed", usage=usage(1, 2, 3, 4), now=2.0)
    summary = tracer.close(3.0)
    assert report is not None and report.cost_usd is None and summary.cost_usd is None
    for span in exporter.get_finished_spans():
        assert "realtime.cost_usd" not in attrs(span)
        assert "realtime.session.cost_usd" not in attrs(span)


def _points(reader: InMemoryMetricReader, name: str) -> list[Any]:
    data = reader.get_metrics_data()
    assert data is not None
    return [
        point
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == name
        for point in metric.data.data_points
    ]


def test_histograms(tracer: SessionTracer, reader: InMemoryMetricReader) -> None:
    converse(tracer)
    tracer.close(20.0)
    tokens = {
        p.attributes["gen_ai.token.type"]: p for p in _points(reader, "gen_ai.client.token.usage")
    }
    assert tokens["input"].count == 6  # every response, the interrupted one included
    assert tokens["input"].sum == 100 + 170 + 220 + 280 + 340 + 60
    assert tokens["output"].sum == 60 + 12 + 75 + 25 + 35 + 25
    assert dict(tokens["input"].attributes) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": MODEL,
        "gen_ai.token.type": "input",
    }
    (ttfa,) = _points(reader, "realtime.client.time_to_first_audio")
    assert ttfa.count == 5  # one per turn
    assert ttfa.sum == pytest.approx(0.3 + 1.0 + 0.3 + 0.4 + 0.5)
    assert ttfa.attributes["gen_ai.operation.name"] == "turn"


def test_a_secret_shaped_model_name_or_reason_never_leaves(
    provider: TracerProvider, exporter: InMemorySpanExporter, reader: InMemoryMetricReader
) -> None:
    tracer = SessionTracer(
        tracer_provider=provider, meter_provider=MeterProvider(metric_readers=[reader])
    )
    tracer.session_started(FAKE_KEY, 0.0)
    with tracer.connect(FAKE_KEY, f"wss://user:{FAKE_KEY}@h/x?key={FAKE_KEY}"):
        pass
    tracer.session_created(FAKE_KEY)
    tracer.user_speech_started(0.5)
    tracer.reply_requested(1.0)
    tracer.response_started(FAKE_KEY, model=FAKE_KEY, voice=FAKE_KEY, modalities=["audio"], now=1.0)
    tracer.response_first_audio(FAKE_KEY, 1.2)
    tracer.response_finished(
        FAKE_KEY,
        status="failed",
        reason=FAKE_KEY,
        usage=usage(1, 1, 1, 1),
        now=2.0,
        error=f"bad key {FAKE_KEY}",
    )
    tracer.tool_call_started("c", FAKE_KEY, FAKE_KEY, response_id=FAKE_KEY)
    tracer.tool_call_finished("c", error=RuntimeError(f"Authorization: Bearer {FAKE_KEY}"))
    tracer.connection_lost(f"transient: 1011 {FAKE_KEY}")
    tracer.reconnect_failed(f"gave up on {FAKE_KEY}", 2)
    tracer.close(3.0)
    spans = list(exporter.get_finished_spans())
    assert len(spans) == 6
    assert {s.name for s in spans} == {
        "realtime",
        "connect",
        "turn",
        "chat",
        "reconnect",
        "execute_tool tool",
    }
    exported = [str(s.to_json()) for s in spans]
    metrics = reader.get_metrics_data()
    assert metrics is not None
    exported.append(metrics.to_json())
    assert not [s for s in exported if "RECOGNIZABLE" in s]


def _drawing(text: str, after: str) -> str:
    """The first indented tree drawing (a ``::`` or fenced block) after ``after``."""
    rest = text[text.index(after) + len(after) :]
    lines = rest.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(("realtime ",)))
    block = []
    for line in lines[start:]:
        if not line.strip() or line.strip().startswith("```"):
            break
        block.append(line)
    return "\n".join(block)


def test_the_module_docstring_draws_the_tree_the_code_makes(
    tracer: SessionTracer, exporter: InMemorySpanExporter
) -> None:
    import realtime_llm.tracing as module

    assert module.__doc__ is not None
    drawing = _drawing(module.__doc__, "The tree, standing alone::")
    drawn = {
        (p.format(model=MODEL, tool="get_weather"), c.format(model=MODEL, tool="get_weather"))
        for p, c in drawn_edges(drawing)
    }
    assert len(drawn) == 7
    converse(tracer)
    tracer.close(20.0)
    assert drawn <= span_edges(list(exporter.get_finished_spans()))


def test_docs_observability_draws_the_tree_the_code_makes(
    tracer: SessionTracer, exporter: InMemorySpanExporter
) -> None:
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "observability.md").read_text()
    drawn = drawn_edges(_drawing(doc, "### The span tree"))
    assert len(drawn) == 7
    converse(tracer)
    tracer.close(20.0)
    assert drawn <= span_edges(list(exporter.get_finished_spans()))


def test_session_open_until_close(tracer: SessionTracer) -> None:
    assert not tracer.session_open
    tracer.session_started(MODEL, 0.0)
    assert tracer.session_open
    tracer.close(1.0)
    assert not tracer.session_open
