"""Function calls through pipecat's machinery, against the local server."""

from __future__ import annotations

import json
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import LLMFullResponseEndFrame, LLMRunFrame
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.services.llm_service import FunctionCallParams

from realtime_llm.server import ToolCall, Turn

from .harness import client_events, running_bot, service_for, speech_like, wait_for

WEATHER = FunctionSchema(
    name="get_weather",
    description="The weather in a city",
    properties={"city": {"type": "string"}},
    required=["city"],
)


async def test_function_call_round_trip_sends_output_and_exactly_one_response(
    make_server: Any,
) -> None:
    server = await make_server(
        [
            Turn(reply="Hello! Ask me about the weather."),
            Turn(
                user="What is the weather in Paris?", reply=ToolCall.of("get_weather", city="Paris")
            ),
            Turn(reply="It is sunny in Paris."),
        ]
    )
    calls: list[dict[str, Any]] = []

    async def get_weather(params: FunctionCallParams) -> None:
        calls.append(dict(params.arguments))
        await params.result_callback({"city": params.arguments["city"], "sky": "sunny"})

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    service = service_for(server.url, tracer_provider=provider)
    service.register_function("get_weather", get_weather)
    context = LLMContext(tools=ToolsSchema(standard_tools=[WEATHER]))
    async with running_bot(service, context) as bot:
        # The app starts the conversation: the bot greets first.
        await bot.queue(LLMRunFrame())
        await wait_for(lambda: len(bot.down(LLMFullResponseEndFrame)) >= 1, what="the greeting")
        # The context's tools reached the session before the first turn.
        assert any(
            t.get("name") == "get_weather"
            for e in client_events(server, "session.update")
            for t in e["session"].get("tools", [])
        )
        await bot.speak(speech_like(24000, 0.5), 24000)
        await wait_for(lambda: len(bot.down(LLMFullResponseEndFrame)) >= 3, what="three replies")
        await wait_for(
            lambda: any("sunny" in str(m.get("content")) for m in bot.context.get_messages()),  # type: ignore[union-attr]
            what="the spoken answer in the context",
        )

    assert calls == [{"city": "Paris"}]
    tool_spans = [s for s in exporter.get_finished_spans() if s.name == "execute_tool get_weather"]
    assert len(tool_spans) == 1
    assert (tool_spans[0].attributes or {})["gen_ai.tool.name"] == "get_weather"
    call_id = next(e for e in server.sent if e["type"] == "response.function_call_arguments.done")[
        "call_id"
    ]
    outputs = [
        e["item"]
        for e in client_events(server, "conversation.item.create")
        if e["item"]["type"] == "function_call_output"
    ]
    assert [o["call_id"] for o in outputs] == [call_id]
    assert json.loads(outputs[0]["output"]) == {"city": "Paris", "sky": "sunny"}
    # Exactly one response.create followed the output (server VAD created the first reply).
    after_output = server.received[
        server.received.index(
            next(
                e
                for e in server.received
                if e.get("item", {}).get("type") == "function_call_output"
            )
        ) :
    ]
    assert [e["type"] for e in after_output].count("response.create") == 1
    # The server's echo of the call was not sent back to it.
    assert not [
        e
        for e in client_events(server, "conversation.item.create")
        if e["item"]["type"] == "function_call"
    ]
