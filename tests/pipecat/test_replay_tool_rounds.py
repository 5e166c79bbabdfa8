"""Replay after a drop carries the tool rounds: each call with its output, after session.update."""

from __future__ import annotations

from typing import Any

from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import LLMFullResponseEndFrame
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.services.llm_service import FunctionCallParams

from realtime_llm import RealtimeLLMService
from realtime_llm.server import ToolCall, Turn

from .harness import running_bot, service_for, speech_like, wait_for
from .test_function_calls import WEATHER


def weather_turns() -> list[Turn]:
    return [
        Turn(user="Weather in Paris?", reply=ToolCall.of("get_weather", city="Paris")),
        Turn(reply="It is sunny in Paris."),
    ]


def weather_bot(server: Any, handler: Any) -> tuple[RealtimeLLMService, LLMContext]:
    """The service with ``get_weather`` registered, and a context that offers the tool."""
    service = service_for(server.url)
    service.register_function("get_weather", handler)
    return service, LLMContext(tools=ToolsSchema(standard_tools=[WEATHER]))


async def test_replay_after_a_drop_has_every_item_with_the_tool_output(make_server: Any) -> None:
    server = await make_server(weather_turns())

    async def get_weather(params: FunctionCallParams) -> None:
        await params.result_callback({"sky": "sunny"})

    async with running_bot(*weather_bot(server, get_weather)) as bot:
        await server.wait_for_sent("session.updated")
        await bot.speak(speech_like(24000, 0.5), 24000)
        await wait_for(lambda: len(bot.down(LLMFullResponseEndFrame)) >= 2, what="two replies")
        await wait_for(
            lambda: any("sunny" in str(m.get("content")) for m in bot.context.get_messages()),  # type: ignore[union-attr]
            what="the answer in the context",
        )
        before = len(server.received)
        await server.close_connections(code=1011, reason="internal error")
        await server.wait_for_received("session.update", count=2)
        await wait_for(
            lambda: (
                sum(e["type"] == "conversation.item.create" for e in server.received[before:]) >= 4
            ),
            what="the replay",
        )
    after = [e for e in server.received[before:] if e["type"] != "input_audio_buffer.append"]
    assert after[0]["type"] == "session.update", "the session is configured before any item"
    items = [e["item"] for e in after if e["type"] == "conversation.item.create"]
    kinds = [(i["type"], i.get("role")) for i in items]
    assert kinds == [
        ("message", "user"),
        ("function_call", None),
        ("function_call_output", None),
        ("message", "assistant"),
    ]
    call, output = items[1], items[2]
    assert call["call_id"] == output["call_id"] and call["name"] == "get_weather"
    assert "sunny" in output["output"]


async def test_a_long_conversation_is_replayed_through_the_compactor(make_server: Any) -> None:
    """The replay of a long call sends the newest items and a note, not every turn."""
    from pipecat.frames.frames import LLMRunFrame

    from realtime_llm.client import KeepNewest

    server = await make_server([Turn(reply="OK.")])
    service = service_for(server.url, replay_compaction=KeepNewest(max_items=5))
    context = LLMContext([{"role": "user", "content": f"note {n}"} for n in range(12)])
    async with running_bot(service, context) as bot:
        await server.wait_for_sent("session.updated")
        await bot.queue(LLMRunFrame())  # the first sync sends all twelve, whole
        await wait_for(lambda: bot.down(LLMFullResponseEndFrame), what="the reply")
        await wait_for(lambda: len(bot.context.get_messages()) >= 13, what="the reply in context")
        assert len([e for e in server.received if e["type"] == "conversation.item.create"]) == 12
        before = len(server.received)
        await server.close_connections(code=1011, reason="internal error")
        await server.wait_for_received("session.update", count=2)
        await wait_for(
            lambda: (
                sum(e["type"] == "conversation.item.create" for e in server.received[before:]) >= 5
            ),
            what="the replay",
        )
    replayed = [
        e["item"] for e in server.received[before:] if e["type"] == "conversation.item.create"
    ]
    texts = [i["content"][0]["text"] for i in replayed]
    assert len(replayed) == 5
    assert replayed[0]["role"] == "system" and "first 9 items" in texts[0]
    assert texts[1:] == ["note 9", "note 10", "note 11", "OK."]


async def test_a_tool_running_at_the_drop_is_answered_once_on_the_new_session(
    make_server: Any,
) -> None:
    """The call is replayed open (its placeholder is no result), and the result the
    handler returns after the drop is its one output, on the new session."""
    import asyncio

    server = await make_server(weather_turns())
    running, release = asyncio.Event(), asyncio.Event()

    async def get_weather(params: FunctionCallParams) -> None:
        running.set()
        await release.wait()
        await params.result_callback({"sky": "sunny"})

    async with running_bot(*weather_bot(server, get_weather)) as bot:
        await server.wait_for_sent("session.updated")
        await bot.speak(speech_like(24000, 0.5), 24000)
        await asyncio.wait_for(running.wait(), 5)
        before = len(server.received)
        await server.close_connections(code=1011, reason="internal error")
        await server.wait_for_received("session.update", count=2)
        await wait_for(
            lambda: any(
                e["type"] == "conversation.item.create" and e["item"]["type"] == "function_call"
                for e in server.received[before:]
            ),
            what="the replayed call",
        )
        release.set()
        await wait_for(lambda: len(bot.down(LLMFullResponseEndFrame)) >= 2, what="the answer")
    after = [e for e in server.received[before:] if e["type"] != "input_audio_buffer.append"]
    items = [e["item"] for e in after if e["type"] == "conversation.item.create"]
    calls = [i for i in items if i["type"] == "function_call"]
    outputs = [i for i in items if i["type"] == "function_call_output"]
    assert len(calls) == 1 and len(outputs) == 1, items
    assert outputs[0]["call_id"] == calls[0]["call_id"] and "sunny" in outputs[0]["output"]
    assert items.index(calls[0]) < items.index(outputs[0])
    everywhere = [
        e
        for e in server.received
        if e["type"] == "conversation.item.create" and e["item"]["type"] == "function_call_output"
    ]
    assert len(everywhere) == 1, "answered once in all, not on the old session too"
    assert [e["type"] for e in after].count("response.create") == 1
