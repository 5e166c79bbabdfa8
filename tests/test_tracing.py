"""Tests of realtime_llm.tracing, through its public API, on a private SDK TracerProvider."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import NonRecordingSpan, SpanKind, StatusCode
from opentelemetry.util.types import Attributes

from realtime_llm.tracing import SessionTracer

SECRET = "sk-proj-abcdefghijklmnop0123456789"
AZURE_KEY = "0123456789abcdef0123456789abcdef"

OPENAI_USAGE: Mapping[str, Any] = {
    "total_tokens": 260,
    "input_tokens": 200,
    "output_tokens": 60,
    "input_token_details": {
        "text_tokens": 120,
        "audio_tokens": 80,
        "image_tokens": 0,
        "cached_tokens": 64,
        "cached_tokens_details": {"text_tokens": 64, "audio_tokens": 0},
    },
    "output_token_details": {"text_tokens": 15, "audio_tokens": 45},
}


@pytest.fixture
def tracer(provider: TracerProvider) -> SessionTracer:
    return SessionTracer(tracer_provider=provider)


def spans(exporter: InMemorySpanExporter, name: str | None = None) -> list[ReadableSpan]:
    """Finished spans named ``name``, or whose operation (first word of the name) it is."""
    return [
        s
        for s in exporter.get_finished_spans()
        if name is None or s.name == name or s.name.split(" ")[0] == name
    ]


def one(exporter: InMemorySpanExporter, name: str) -> ReadableSpan:
    found = spans(exporter, name)
    assert len(found) == 1, [s.name for s in exporter.get_finished_spans()]
    return found[0]


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def all_strings(exporter: InMemorySpanExporter) -> list[str]:
    """Every string an exporter would ship: names, attributes, events, status descriptions."""
    out: list[str] = []

    def walk(attributes: Attributes) -> None:
        for key, value in (attributes or {}).items():
            out.append(key)
            values: Sequence[Any] = value if isinstance(value, (list, tuple)) else [value]
            out.extend(str(v) for v in values)

    for span in exporter.get_finished_spans():
        out.append(span.name)
        walk(span.attributes)
        for event in span.events:
            out.append(event.name)
            walk(event.attributes)
        if span.status.description:
            out.append(span.status.description)
    return out


def assert_no_secret(exporter: InMemorySpanExporter, *needles: str) -> None:
    strings = all_strings(exporter)
    assert strings
    for needle in needles:
        leaks = [s for s in strings if needle in s]
        assert not leaks, f"{needle!r} leaked into {leaks}"


# -- session setup ----------------------------------------------------------------------------


class TestSessionSetup:
    def test_span_and_attributes(
        self, tracer: SessionTracer, exporter: InMemorySpanExporter
    ) -> None:
        setup = tracer.connect("gpt-realtime", "wss://api.openai.com/v1/realtime")
        assert spans(exporter) == []
        tracer.session_ready()
        assert setup.ended
        span = one(exporter, "connect gpt-realtime")
        assert span.kind is SpanKind.CLIENT
        session = tracer.close(1.0)
        assert session.turns == 0
        assert span.parent is not None
        assert span.parent.span_id == one(exporter, "realtime gpt-realtime").context.span_id
        assert attrs(span) == {
            "gen_ai.provider.name": "openai",
            "gen_ai.system": "openai",
            "gen_ai.operation.name": "connect",
            "gen_ai.request.model": "gpt-realtime",
            "server.address": "api.openai.com",
            "server.port": 443,
        }
        assert span.status.status_code is StatusCode.UNSET

    @pytest.mark.parametrize(
        ("url", "host", "port"),
        [
            ("ws://localhost/v1/realtime", "localhost", 80),
            ("ws://127.0.0.1:8765/v1/realtime", "127.0.0.1", 8765),
            ("wss://[::1]:9000/x", "::1", 9000),
            ("https://example.com/openai/realtime", "example.com", 443),
        ],
    )
    def test_server_address_and_port(
        self,
        tracer: SessionTracer,
        exporter: InMemorySpanExporter,
        url: str,
        host: str,
        port: int,
    ) -> None:
        tracer.connect("m", url).end()
        a = attrs(one(exporter, "connect"))
        assert a["server.address"] == host
        assert a["server.port"] == port

    def test_malformed_url_gives_no_address(
        self, tracer: SessionTracer, exporter: InMemorySpanExporter
    ) -> None:
        tracer.connect("m", "wss://host:notaport/x").end()
        a = attrs(one(exporter, "connect"))
        assert "server.address" not in a
        assert "server.port" not in a

    @pytest.mark.parametrize(
        "url",
        [
            f"wss://api.example.com/v1/realtime?model=gpt-realtime&api-key={SECRET}",
            f"wss://user:{SECRET}@api.example.com/v1/realtime",
            f"wss://alice:hunter2@api.example.com:8443/v1/realtime?api-key={SECRET}#frag",
            "wss://res.openai.azure.com/openai/realtime?deployment=d&api-key=" + AZURE_KEY,
        ],
    )
    def test_no_secret_from_url(
        self, tracer: SessionTracer, exporter: InMemorySpanExporter, url: str
    ) -> None:
        tracer.connect("gpt-realtime", url).end()
        a = attrs(one(exporter, "connect"))
        assert a["server.address"].startswith(("api.example.com", "res.openai.azure.com"))
        assert_no_secret(exporter, SECRET, "sk-", "hunter2", "alice", "api-key", AZURE_KEY, "?")

    def test_context_manager_records_error_without_secret(
        self, tracer: SessionTracer, exporter: InMemorySpanExporter
    ) -> None:
        with (
            pytest.raises(ConnectionError),
            tracer.connect("m", "wss://h/x") as setup,
        ):
            assert not setup.ended
            raise ConnectionError(
                f"could not open wss://u:pw@h/x?api-key={SECRET}: Authorization: Bearer {SECRET}"
            )
        assert setup.ended
        span = one(exporter, "connect")
        assert span.status.status_code is StatusCode.ERROR
        assert attrs(span)["error.type"] == "ConnectionError"
        (event,) = span.events
        assert event.name == "exception"
        assert dict(event.attributes or {})["exception.type"] == "ConnectionError"
        assert "could not open wss://h/x" in str(dict(event.attributes or {}))
        assert_no_secret(exporter, SECRET, "sk-", "pw@", "api-key=")

    def test_context_manager_success_and_explicit_end_are_one_span(
        self, tracer: SessionTracer, exporter: InMemorySpanExporter
    ) -> None:
        with tracer.connect("m", "wss://h/x") as setup:
            tracer.session_created("sess_1")
            setup.end()
            setup.end(error="late")  # ignored: already ended
        span = one(exporter, "connect")
        assert span.status.status_code is StatusCode.UNSET
        assert attrs(span)["gen_ai.conversation.id"] == "sess_1"

    def test_end_with_error_string(
        self, tracer: SessionTracer, exporter: InMemorySpanExporter
    ) -> None:
        tracer.connect("m", "wss://h/x").end(error=f"invalid_api_key {SECRET}")
        span = one(exporter, "connect")
        assert span.status.status_code is StatusCode.ERROR
        assert attrs(span)["error.type"] == "_OTHER"
        assert span.status.description == "invalid_api_key [REDACTED]"

    def test_session_id_is_carried_by_later_spans(
        self, tracer: SessionTracer, exporter: InMemorySpanExporter
    ) -> None:
        setup = tracer.connect("m", "wss://h/x")
        tracer.session_created("sess_42")
        setup.end()
        tracer.response_started("r1", model="m", voice=None, modalities=["text"], now=0.0)
        tracer.response_finished("r1", status="completed", now=1.0)
        tracer.user_transcription("item_1", "hi")
        tracer.tool_call_started("c1", "f", "{}")
        tracer.tool_call_finished("c1")
        tracer.close(2.0)
        assert len(spans(exporter)) == 6
        for span in spans(exporter):
            assert attrs(span)["gen_ai.conversation.id"] == "sess_42", span.name

    def test_reconnect_abandons_open_setup_and_forgets_session_id(
        self, tracer: SessionTracer, exporter: InMemorySpanExporter
    ) -> None:
        first = tracer.connect("m", "wss://h/x")
        tracer.session_created("sess_old")
        tracer.connect("m", "wss://h/x").end()
        assert first.ended
        old, new = spans(exporter, "connect")
        assert attrs(old)["realtime.abandoned"] is True
        assert "realtime.abandoned" not in attrs(new)
        assert "gen_ai.conversation.id" not in attrs(new)

    def test_provider_aliases(
        self, provider: TracerProvider, exporter: InMemorySpanExporter
    ) -> None:
        SessionTracer(tracer_provider=provider, provider="azure").connect("m", "wss://h").end()
        SessionTracer(tracer_provider=provider, provider="xai").connect("m", "wss://h").end()
        SessionTracer(tracer_provider=provider, provider="inworld").connect("m", "wss://h").end()
        names = [attrs(s)["gen_ai.provider.name"] for s in spans(exporter)]
        assert names == ["azure.ai.openai", "x_ai", "inworld"]

    def test_service_name_is_the_instrumentation_scope(
        self, provider: TracerProvider, exporter: InMemorySpanExporter
    ) -> None:
        SessionTracer(tracer_provider=provider, service_name="my_bot").connect("m", "wss://h").end()
        scope = one(exporter, "connect").instrumentation_scope
        assert scope is not None
        assert scope.name == "my_bot"


# -- responses --------------------------------------------------------------------------------


class TestResponse:
    def test_full_response(self, tracer: SessionTracer, exporter: InMemorySpanExporter) -> None:
        tracer.response_started(
            "resp_1", model="gpt-realtime", voice="marin", modalities=["audio"], now=100.0
        )
        tracer.response_first_audio("resp_1", now=100.25)
        assert spans(exporter) == []
        report = tracer.response_finished(
            "resp_1", status="completed", usage=OPENAI_USAGE, interrupted=False, now=101.5
        )
        assert report is not None
        span = one(exporter, "chat")
        assert span.kind is SpanKind.CLIENT
        a = attrs(span)
        ttfa = a.pop("realtime.time_to_first_audio_ms")
        duration = a.pop("realtime.response.duration_ms")
        assert a.pop("realtime.cost_usd") == float(report.cost_usd or 0) > 0
        assert a.pop("realtime.session.cost_usd") == float(report.cost_usd or 0)
        assert ttfa == pytest.approx(250.0)
        assert duration == pytest.approx(1500.0)
        assert a == {
            "gen_ai.provider.name": "openai",
            "gen_ai.system": "openai",
            "gen_ai.operation.name": "chat",
            "gen_ai.response.id": "resp_1",
            "gen_ai.request.model": "gpt-realtime",
            "gen_ai.output.type": "speech",
            "realtime.voice": "marin",
            "realtime.output_modalities": ("audio",),
            "gen_ai.response.finish_reasons": ("completed",),
            "realtime.interrupted": False,
            "gen_ai.usage.input_tokens": 200,
            "gen_ai.usage.output_tokens": 60,
            "gen_ai.usage.cache_read.input_tokens": 64,
            "realtime.usage.input_text_tokens": 120,
            "realtime.usage.input_audio_tokens": 80,
            "realtime.usage.input_image_tokens": 0,
            "realtime.usage.cached_input_text_tokens": 64,
            "realtime.usage.cached_input_audio_tokens": 0,
            "realtime.usage.cached_input_image_tokens": 0,
            "realtime.usage.output_text_tokens": 15,
            "realtime.usage.output_audio_tokens": 45,
        }
        assert [e.name for e in span.events] == ["realtime.first_audio"]
        assert span.status.status_code is StatusCode.UNSET

    def test_only_first_audio_counts(
        self, tracer: SessionTracer, exporter: InMemorySpanExporter
    ) -> None:
        tracer.response_started("r", model="m", voice="v", modalities=["audio"], now=10.0)
        tracer.response_first_audio("r", now=10.4)
        tracer.response_first_audio("r", now=12.0)
        tracer.response_finished("r", status="completed", now=13.0)
        span = one(exporter, "chat")
        assert attrs(span)["realtime.time_to_first_audio_ms"] == pytest.approx(400.0)
        assert len(span.events) == 1

    def test_clock_going_backwards_is_clamped(
        self, tracer: SessionTracer, exporter: InMemorySpanExporter
    ) -> None:
        tracer.response_started("r", model="m", voice="v", modalities=["audio"], now=10.0)
        tracer.response_first_audio("r", now=9.0)
        tracer.response_finished("r", status="completed", now=9.5)
        a = attrs(one(exporter, "chat"))
        assert a["realtime.time_to_first_audio_ms"] == 0.0
        assert a["realtime.response.duration_ms"] == 0.0

    def test_text_only_response_without_audio(
        self, tracer: SessionTracer, exporter: InMemorySpanExporter
    ) -> None:
        tracer.response_started("r", model=None, voice=None, modalities=["text"], now=0.0)
        tracer.response_finished("r", status="completed", usage=None, now=0.5)
        a = attrs(one(exporter, "chat"))
        assert a["gen_ai.output.type"] == "text"
        assert a["realtime.output_modalities"] == ("text",)
        assert "realtime.voice" not in a
        assert "gen_ai.request.model" not in a
        assert "realtime.time_to_first_audio_ms" not in a
        assert not any(k.startswith(("gen_ai.usage", "realtime.usage")) for k in a)

    def test_interrupted_cancelled_response(
        self, tracer: SessionTracer, exporter: InMemorySpanExporter
    ) -> None:
        tracer.response_started("r", model="m", voice="v", modalities=["audio"], now=0.0)
        tracer.response_finished(
            "r", status="cancelled", interrupted=True, reason="turn_detected", now=1.0
        )
        assert spans(exporter, "chat") == []  # waits for the usage of its response.done
        report = tracer.response_usage("r", OPENAI_USAGE)
        assert report is not None and report.interrupted
        span = one(exporter, "chat")
        assert attrs(span)["gen_ai.usage.output_tokens"] == 60
        a = attrs(span)
        assert a["realtime.interrupted"] is True
        assert a["gen_ai.response.finish_reasons"] == ("cancelled",)
        assert a["realtime.response.status_reason"] == "turn_detected"
        assert span.status.status_code is StatusCode.UNSET  # an interruption is no error

    def test_failed_response_is_an_error(
        self, tracer: SessionTracer, exporter: InMemorySpanExporter
    ) -> None:
        tracer.response_started("r", model="m", voice="v", modalities=["audio"], now=0.0)
        tracer.response_finished("r", status="failed", now=1.0)
        tracer.response_started("r2", model="m", voice="v", modalities=["audio"], now=0.0)
        tracer.response_finished(
            "r2", status="failed", error=f"server_error: bad key {SECRET}", now=1.0
        )
        first, second = spans(exporter, "chat")
        assert first.status.status_code is StatusCode.ERROR
        assert attrs(first)["error.type"] == "_OTHER"
        assert second.status.status_code is StatusCode.ERROR
        assert second.status.description == "server_error: bad key [REDACTED]"
        assert_no_secret(exporter, SECRET)

    def test_usage_with_partial_or_odd_values(
        self, tracer: SessionTracer, exporter: InMemorySpanExporter
    ) -> None:
        usage = {
            "prompt_tokens": 7,
            "completion_tokens": 3,
            "prompt_tokens_details": {"cached_tokens": 2},
            "output_token_details": "nonsense",
            "input_token_details": None,
        }
        tracer.response_started("r", model="m", voice=None, modalities=["text"], now=0.0)
        tracer.response_finished("r", status="completed", usage=usage, now=1.0)
        a = attrs(one(exporter, "chat"))
        assert a["gen_ai.usage.input_tokens"] == 7
        assert a["gen_ai.usage.output_tokens"] == 3
        assert a["gen_ai.usage.cache_read.input_tokens"] == 2
        tracer.response_started("r2", model="m", voice=None, modalities=["text"], now=0.0)
        tracer.response_finished(
            "r2",
            status="completed",
            usage={"input_tokens": "12", "output_tokens": True, "x": -1},
            now=1.0,
        )
        a2 = attrs(spans(exporter, "chat")[1])
        assert not any(k.startswith(("gen_ai.usage", "realtime.usage")) for k in a2)

    def test_unknown_ids_are_ignored(
        self, tracer: SessionTracer, exporter: InMemorySpanExporter
    ) -> None:
        tracer.response_first_audio("nope", now=1.0)
        tracer.response_finished("nope", status="completed", usage=OPENAI_USAGE, now=2.0)
        tracer.response_finished("nope", status="failed", error=ValueError("x"), now=2.0)
        assert spans(exporter) == []

    def test_finish_twice_and_start_twice(
        self, tracer: SessionTracer, exporter: InMemorySpanExporter
    ) -> None:
        tracer.response_started("r", model="m", voice="v", modalities=["audio"], now=1.0)
        tracer.response_started("r", model="other", voice="v", modalities=["audio"], now=5.0)
        tracer.response_finished("r", status="completed", now=2.0)
        tracer.response_finished("r", status="completed", now=3.0)
        tracer.response_first_audio("r", now=3.0)
        span = one(exporter, "chat")
        assert attrs(span)["gen_ai.request.model"] == "m"
        assert attrs(span)["realtime.response.duration_ms"] == pytest.approx(1000.0)

    def test_spans_parent_to_the_current_context(
        self, tracer: SessionTracer, exporter: InMemorySpanExporter, provider: TracerProvider
    ) -> None:
        app = provider.get_tracer("app")
        with app.start_as_current_span("conversation") as conversation:
            tracer.response_started("r", model="m", voice="v", modalities=["audio"], now=0.0)
        tracer.response_finished("r", status="completed", now=1.0)
        tracer.settle()
        span = one(exporter, "chat")
        turn = one(exporter, "turn")
        assert span.parent is not None and turn.parent is not None
        assert span.parent.span_id == turn.context.span_id
        assert turn.parent.span_id == conversation.get_span_context().span_id


# -- user transcription -----------------------------------------------------------------------


class TestUserTranscription:
    def test_length_but_no_text_by_default(
        self, tracer: SessionTracer, exporter: InMemorySpanExporter
    ) -> None:
        tracer.user_transcription("item_9", "what's the weather?")
        span = one(exporter, "realtime.user_transcription")
        assert span.kind is SpanKind.INTERNAL
        assert attrs(span) == {
            "gen_ai.provider.name": "openai",
            "gen_ai.system": "openai",
            "realtime.item_id": "item_9",
            "realtime.transcription.length": 19,
        }
        assert "what's the weather?" not in all_strings(exporter)

    def test_text_with_capture_content(
        self, provider: TracerProvider, exporter: InMemorySpanExporter
    ) -> None:
        tracer = SessionTracer(tracer_provider=provider, capture_content=True)
        assert tracer.capture_content
        tracer.user_transcription("item_9", f"my key is {SECRET} ok")
        a = attrs(one(exporter, "realtime.user_transcription"))
        assert a["realtime.transcription.text"] == "my key is [REDACTED] ok"
        assert_no_secret(exporter, SECRET)


# -- tool calls -------------------------------------------------------------------------------


class TestToolCall:
    def test_attributes_and_no_arguments_by_default(
        self, tracer: SessionTracer, exporter: InMemorySpanExporter
    ) -> None:
        tracer.tool_call_started("call_1", "get_weather", '{"city": "Paris"}')
        tracer.tool_call_finished("call_1", result='{"temp": 20}')
        span = one(exporter, "execute_tool")
        assert span.kind is SpanKind.INTERNAL
        assert span.parent is None
        assert attrs(span) == {
            "gen_ai.provider.name": "openai",
            "gen_ai.system": "openai",
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "get_weather",
            "gen_ai.tool.call.id": "call_1",
            "gen_ai.tool.type": "function",
            "realtime.tool_call.arguments_length": 17,
        }
        assert span.status.status_code is StatusCode.UNSET

    def test_child_of_its_open_response(
        self, tracer: SessionTracer, exporter: InMemorySpanExporter
    ) -> None:
        tracer.response_started("r", model="m", voice="v", modalities=["audio"], now=0.0)
        tracer.tool_call_started("c", "f", "{}", response_id="r")
        tracer.response_finished("r", status="completed", now=1.0)
        tracer.tool_call_finished("c")
        response = one(exporter, "chat")
        call = one(exporter, "execute_tool")
        assert call.parent is not None
        assert call.parent.span_id == response.context.span_id
        assert call.context.trace_id == response.context.trace_id
        assert attrs(call)["gen_ai.response.id"] == "r"

    def test_unknown_response_gives_a_root_span(
        self, tracer: SessionTracer, exporter: InMemorySpanExporter
    ) -> None:
        tracer.tool_call_started("c", "f", "{}", response_id="gone")
        tracer.tool_call_finished("c")
        assert one(exporter, "execute_tool").parent is None

    def test_content_with_capture_content(
        self, provider: TracerProvider, exporter: InMemorySpanExporter
    ) -> None:
        tracer = SessionTracer(tracer_provider=provider, capture_content=True, secrets=[AZURE_KEY])
        tracer.tool_call_started("c", "f", f'{{"key": "{AZURE_KEY}", "city": "Paris"}}')
        tracer.tool_call_finished("c", result=f'{{"token": "{SECRET}"}}')
        a = attrs(one(exporter, "execute_tool"))
        assert a["gen_ai.tool.call.arguments"] == '{"key": "[REDACTED]", "city": "Paris"}'
        assert "[REDACTED]" in a["gen_ai.tool.call.result"]
        assert_no_secret(exporter, AZURE_KEY, SECRET)

    def test_error_string_and_exception(
        self, tracer: SessionTracer, exporter: InMemorySpanExporter
    ) -> None:
        tracer.tool_call_started("a", "f", "{}")
        tracer.tool_call_finished("a", error="timed out")
        tracer.tool_call_started("b", "f", "{}")
        tracer.tool_call_finished("b", error=KeyError("city"))
        a, b = spans(exporter, "execute_tool")
        assert a.status.status_code is StatusCode.ERROR
        assert a.status.description == "timed out"
        assert attrs(a)["error.type"] == "_OTHER"
        assert b.status.status_code is StatusCode.ERROR
        assert attrs(b)["error.type"] == "KeyError"
        assert [e.name for e in b.events] == ["exception"]

    def test_qualified_error_type_for_non_builtin_exceptions(
        self, tracer: SessionTracer, exporter: InMemorySpanExporter
    ) -> None:
        class Boom(Exception):
            pass

        tracer.tool_call_started("a", "f", "{}")
        tracer.tool_call_finished("a", error=Boom())
        error_type = attrs(one(exporter, "execute_tool"))["error.type"]
        assert error_type.startswith(f"{__name__}.")
        assert error_type.endswith("Boom")

    def test_unknown_and_duplicate_ids(
        self, tracer: SessionTracer, exporter: InMemorySpanExporter
    ) -> None:
        tracer.tool_call_finished("never", error="x")
        tracer.tool_call_started("c", "first", "{}")
        tracer.tool_call_started("c", "second", "{}")
        tracer.tool_call_finished("c")
        tracer.tool_call_finished("c")
        span = one(exporter, "execute_tool")
        assert attrs(span)["gen_ai.tool.name"] == "first"

    def test_open_calls_are_bounded(
        self, tracer: SessionTracer, exporter: InMemorySpanExporter
    ) -> None:
        for i in range(70):
            tracer.tool_call_started(f"c{i}", "f", "{}")
        abandoned = spans(exporter, "execute_tool")
        assert [attrs(s)["gen_ai.tool.call.id"] for s in abandoned] == [
            f"c{i}" for i in range(6)
        ]  # 64 stay open
        assert all(attrs(s)["realtime.abandoned"] is True for s in abandoned)
        tracer.tool_call_finished("c0")  # already abandoned: ignored
        tracer.close(0.0)
        assert len(spans(exporter, "execute_tool")) == 70


# -- close ------------------------------------------------------------------------------------


class TestClose:
    def test_close_ends_open_spans(
        self, tracer: SessionTracer, exporter: InMemorySpanExporter
    ) -> None:
        setup = tracer.connect("m", "wss://h/x")
        tracer.response_started("r", model="m", voice="v", modalities=["audio"], now=0.0)
        tracer.tool_call_started("c", "f", "{}", response_id="r")
        tracer.response_started("done", model="m", voice="v", modalities=["audio"], now=0.0)
        tracer.response_finished("done", status="completed", now=1.0)
        tracer.close(0.0)
        assert setup.ended
        by_name = {
            s.name: s
            for s in spans(exporter)
            if attrs(s).get("gen_ai.response.id") != "done"
            and s.name.split(" ")[0] in ("connect", "chat", "execute_tool")
        }
        assert set(by_name) == {"connect m", "chat m", "execute_tool f"}
        for span in by_name.values():
            assert attrs(span)["realtime.ended_at_close"] is True, span.name
            assert span.end_time is not None
        finished = [s for s in spans(exporter) if attrs(s).get("gen_ai.response.id") == "done"]
        assert "realtime.ended_at_close" not in attrs(finished[0])
        # The turn of the open response ended at close too.
        assert [attrs(t).get("realtime.ended_at_close") for t in spans(exporter, "turn")] == [True]

    def test_close_is_idempotent_and_later_calls_are_ignored(
        self, tracer: SessionTracer, exporter: InMemorySpanExporter
    ) -> None:
        setup = tracer.connect("m", "wss://h/x")
        tracer.response_started("r", model="m", voice="v", modalities=["audio"], now=0.0)
        tracer.close(0.0)
        tracer.close(0.0)
        setup.end(error="too late")
        tracer.response_finished("r", status="completed", now=1.0)
        assert sorted(s.name for s in spans(exporter)) == [
            "chat m",
            "connect m",
            "realtime m",
            "turn m",
        ]
        setup_span = one(exporter, "connect")
        assert setup_span.status.status_code is StatusCode.UNSET

    def test_usable_after_close(
        self, tracer: SessionTracer, exporter: InMemorySpanExporter
    ) -> None:
        tracer.close(0.0)
        tracer.response_started("r", model="m", voice="v", modalities=["audio"], now=0.0)
        tracer.response_finished("r", status="completed", now=1.0)
        assert "realtime.ended_at_close" not in attrs(one(exporter, "chat"))


# -- secrets ----------------------------------------------------------------------------------


class TestSecrets:
    def test_secret_shaped_values_are_never_set(
        self, tracer: SessionTracer, exporter: InMemorySpanExporter
    ) -> None:
        tracer.connect(SECRET, "wss://h/x").end()
        tracer.session_created(SECRET)
        tracer.response_started(SECRET, model=SECRET, voice=SECRET, modalities=[SECRET], now=0.0)
        tracer.response_finished(SECRET, status=SECRET, reason=SECRET, now=1.0)
        tracer.user_transcription(SECRET, "x")
        tracer.tool_call_started(SECRET, SECRET, SECRET, response_id=SECRET)
        tracer.tool_call_finished(SECRET, error=SECRET)
        assert len(spans(exporter)) == 4
        assert_no_secret(exporter, SECRET, "sk-")
        response = attrs(one(exporter, "chat"))
        assert "gen_ai.request.model" not in response
        assert "realtime.voice" not in response
        assert "gen_ai.response.id" not in response

    def test_declared_secrets_are_never_set(
        self, provider: TracerProvider, exporter: InMemorySpanExporter
    ) -> None:
        tracer = SessionTracer(tracer_provider=provider, secrets=[AZURE_KEY])
        tracer.add_secret("ephemeral-token-value")
        tracer.connect(AZURE_KEY, f"wss://h/x?api-key={AZURE_KEY}").end(
            error=RuntimeError(f"rejected key {AZURE_KEY} / ephemeral-token-value")
        )
        tracer.tool_call_started("c", "ephemeral-token-value", "{}")
        tracer.tool_call_finished("c", error=f"bad {AZURE_KEY}")
        assert_no_secret(exporter, AZURE_KEY, "ephemeral-token-value")
        assert "gen_ai.request.model" not in attrs(one(exporter, "connect"))

    @pytest.mark.parametrize(
        ("message", "kept"),
        [
            (f"Authorization: Bearer {AZURE_KEY}", "Authorization: [REDACTED]"),
            (f"header api-key: {AZURE_KEY}", "header api-key: [REDACTED]"),
            (f"GET https://u:p@h.example/v1?key={AZURE_KEY} failed", "GET https://h.example/v1"),
            ("ek_0123456789abcdef is a client secret", "[REDACTED] is a client secret"),
            ("xai-" + "A" * 40, "[REDACTED]"),
        ],
    )
    def test_free_text_is_redacted(
        self,
        tracer: SessionTracer,
        exporter: InMemorySpanExporter,
        message: str,
        kept: str,
    ) -> None:
        tracer.tool_call_started("c", "f", "{}")
        tracer.tool_call_finished("c", error=message)
        description = one(exporter, "execute_tool").status.description or ""
        assert description.startswith(kept)
        assert AZURE_KEY not in description
        assert "0123456789abcdef" not in description
        assert "AAAA" not in description

    def test_ordinary_values_are_kept(
        self, tracer: SessionTracer, exporter: InMemorySpanExporter
    ) -> None:
        tracer.tool_call_started("call_abc", "task-runner", "{}")
        tracer.tool_call_finished("call_abc", error="city not found: week_12")
        span = one(exporter, "execute_tool")
        assert attrs(span)["gen_ai.tool.name"] == "task-runner"
        assert span.status.description == "city not found: week_12"


# -- no-op and non-recording ------------------------------------------------------------------


class _StrictNonRecordingSpan(NonRecordingSpan):
    """A span that fails the test if anyone builds attributes for it."""

    def set_attribute(self, key: str, value: Any) -> None:
        raise AssertionError(f"set_attribute({key!r}) on a non-recording span")

    def set_attributes(self, attributes: Any) -> None:
        raise AssertionError("set_attributes on a non-recording span")

    def add_event(self, name: str, attributes: Any = None, timestamp: Any = None) -> None:
        raise AssertionError(f"add_event({name!r}) on a non-recording span")

    def set_status(self, status: Any, description: Any = None) -> None:
        raise AssertionError("set_status on a non-recording span")


class _StrictTracer(trace.NoOpTracer):
    def __init__(self) -> None:
        self.started = 0
        self.ended: list[trace.Span] = []

    def start_span(self, name: str, context: Context | None = None, *a: Any, **k: Any) -> Any:
        self.started += 1
        return _StrictNonRecordingSpan(trace.INVALID_SPAN_CONTEXT)


class _StrictProvider(trace.NoOpTracerProvider):
    def __init__(self) -> None:
        self.tracer = _StrictTracer()

    def get_tracer(self, *a: Any, **k: Any) -> trace.Tracer:
        return self.tracer


def drive_everything(tracer: SessionTracer) -> None:
    tracer.session_started("m", 0.0)
    with tracer.connect("m", f"wss://u:p@h/x?api-key={SECRET}"):
        tracer.session_created("sess")
    tracer.session_ready()
    try:
        with tracer.connect("m", "wss://h/x"):
            raise OSError("refused")
    except OSError:
        pass
    tracer.user_speech_started(0.0)
    tracer.reply_requested(0.0)
    tracer.response_started("r", model="m", voice="v", modalities=["audio"], now=0.0)
    tracer.response_first_audio("r", now=0.1)
    tracer.tool_call_started("c", "f", "{}", response_id="r")
    tracer.tool_call_finished("c", error=ValueError("x"), result="{}")
    tracer.response_finished(
        "r", status="failed", usage=OPENAI_USAGE, interrupted=True, now=1.0, error="boom"
    )
    tracer.user_transcription("i", "hello")
    tracer.response_started("cut", model="m", voice="v", modalities=["audio"], now=0.0)
    tracer.user_speech_started(1.5)
    tracer.response_finished("cut", status="cancelled", interrupted=True, now=1.5)
    tracer.response_usage("cut", OPENAI_USAGE)
    tracer.settle()
    tracer.connection_lost(f"transient: 1011 {SECRET}")
    tracer.connect("m", "wss://h/x")
    tracer.reconnected(1)
    tracer.response_started("open", model="m", voice="v", modalities=["audio"], now=0.0)
    tracer.tool_call_started("open", "f", "{}")
    tracer.connect("m", "wss://h/x")
    tracer.close(0.0)


class TestNoOp:
    def test_no_attribute_is_built_for_non_recording_spans(self) -> None:
        provider = _StrictProvider()
        tracer = SessionTracer(tracer_provider=provider, capture_content=True)
        drive_everything(tracer)
        assert provider.tracer.started == 16

    def test_no_op_provider(self) -> None:
        drive_everything(SessionTracer(tracer_provider=trace.NoOpTracerProvider()))

    def test_default_global_provider_without_sdk(self) -> None:
        drive_everything(SessionTracer())

    def test_sampled_out(self, exporter: InMemorySpanExporter) -> None:
        provider = TracerProvider(sampler=ALWAYS_OFF)
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        drive_everything(SessionTracer(tracer_provider=provider))
        assert spans(exporter) == []


def test_module_imports_only_the_otel_api() -> None:
    """No SDK, semconv, pipecat, asyncio or clock in the module: the API is its only tie."""
    import ast
    import inspect

    import realtime_llm.tracing as module

    tree = ast.parse(inspect.getsource(module))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    for name in imported:
        assert not name.startswith(
            ("opentelemetry.sdk", "opentelemetry.semconv", "pipecat", "asyncio")
        ), name
    assert any(name.startswith("opentelemetry") for name in imported)
