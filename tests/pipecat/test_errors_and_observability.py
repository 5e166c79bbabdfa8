"""Server errors become ErrorFrames (benign ones do not); metrics and spans are emitted."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pipecat.frames.frames import ErrorFrame, LLMFullResponseEndFrame, LLMRunFrame
from pipecat.utils.errors import ErrorCategory

from realtime_llm.server import Turn

from .harness import running_bot, service_for, speech_like, wait_for

SECRET = "sk-test-0123456789abcdefghijklmnopqrstuv"


def _error_event(code: str, message: str) -> dict[str, Any]:
    return {
        "type": "error",
        "event_id": "evt_test_error",
        "error": {"type": "invalid_request_error", "code": code, "message": message},
    }


async def test_server_error_becomes_error_frame_and_benign_one_does_not(make_server: Any) -> None:
    server = await make_server()
    async with running_bot(service_for(server.url)) as bot:
        await server.wait_for_sent("session.updated")
        await server.send_event(_error_event("response_cancel_not_active", "nothing to cancel"))
        await server.send_event(_error_event("invalid_value", "Invalid value: 'loud'"))
        await wait_for(lambda: bot.up(ErrorFrame), what="an ErrorFrame")
        errors = bot.up(ErrorFrame)
        # One rejected request is not the end of the session.
        assert bot.service.is_usable
    assert len(errors) == 1
    assert "invalid_value" in errors[0].error and "loud" in errors[0].error


async def test_invalid_key_in_band_marks_the_service_unusable(make_server: Any) -> None:
    server = await make_server()
    async with running_bot(service_for(server.url)) as bot:
        await server.wait_for_sent("session.updated")
        await server.send_event(_error_event("invalid_api_key", "Incorrect API key provided"))
        await wait_for(lambda: bot.up(ErrorFrame), what="an ErrorFrame")
        assert not bot.service.is_usable
    assert bot.up(ErrorFrame)[0].category is ErrorCategory.AUTHENTICATION


async def test_spans_carry_gen_ai_attributes_and_never_the_key(make_server: Any) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    server = await make_server([Turn(reply="Hello."), Turn(user="Hi", reply="Hi again.")])
    service = service_for(server.url, api_key=SECRET, tracer_provider=provider)
    async with running_bot(service) as bot:
        await bot.queue(LLMRunFrame())
        await wait_for(lambda: bot.down(LLMFullResponseEndFrame), what="the greeting")
        await bot.speak(speech_like(24000, 0.4), 24000)
        await wait_for(lambda: len(bot.down(LLMFullResponseEndFrame)) >= 2, what="a reply")
    spans = exporter.get_finished_spans()
    names = [s.name for s in spans]
    assert "connect gpt-realtime" in names
    assert names.count("chat gpt-realtime") == 2
    assert "realtime.user_transcription" in names
    response = next(s for s in spans if s.name == "chat gpt-realtime")
    attributes = dict(response.attributes or {})
    assert attributes["gen_ai.request.model"] == "gpt-realtime"
    assert attributes["gen_ai.usage.output_tokens"] > 0  # type: ignore[operator]
    assert "realtime.time_to_first_audio_ms" in attributes
    for span in spans:
        for value in (span.attributes or {}).values():
            assert SECRET not in str(value)
