"""Settings, tools and messages changed while the bot runs."""

from __future__ import annotations

from typing import Any

import pytest
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import (
    LLMFullResponseEndFrame,
    LLMMessagesAppendFrame,
    LLMSetToolsFrame,
    LLMUpdateSettingsFrame,
)
from pipecat.tests.utils import SleepFrame, run_test

from realtime_llm import InvalidSettingsError, RealtimeLLMService
from realtime_llm.pipecat.settings import RealtimeLLMSettings
from realtime_llm.server import Turn
from realtime_llm.session_properties import AudioConfig, AudioOutput, SessionProperties

from .harness import client_events, running_bot, service_for, wait_for

TIME = FunctionSchema(name="get_time", description="The time", properties={}, required=[])


async def test_settings_update_sends_session_update_with_new_values(make_server: Any) -> None:
    server = await make_server()
    service = service_for(server.url)
    async with running_bot(service) as bot:
        await server.wait_for_sent("session.updated")
        delta = RealtimeLLMSettings(
            system_instruction="Answer in one sentence.",
            session_properties=SessionProperties(
                audio=AudioConfig(output=AudioOutput(voice="verse"))
            ),
        )
        await bot.queue(LLMUpdateSettingsFrame(delta=delta))
        update = await server.wait_for_received("session.update", count=2)
        await server.wait_for_sent("session.updated", count=2)

    assert update["session"]["instructions"] == "Answer in one sentence."
    assert update["session"]["audio"]["output"]["voice"] == "verse"
    # The unchanged parts of the session are still there (a merge, not a reset).
    assert update["session"]["audio"]["input"]["transcription"]["model"]
    # Both-ways sync: the top level and the session agree.
    settings = service.settings
    assert isinstance(settings, RealtimeLLMSettings)
    assert settings.system_instruction == "Answer in one sentence."
    assert isinstance(settings.session_properties, SessionProperties)
    assert settings.session_properties.instructions == "Answer in one sentence."
    assert settings.session_properties.voice == "verse"


async def test_model_change_is_not_sent_on_the_live_connection(make_server: Any) -> None:
    server = await make_server()
    async with running_bot(service_for(server.url)) as bot:
        await server.wait_for_sent("session.updated")
        await bot.queue(
            LLMUpdateSettingsFrame(delta=RealtimeLLMSettings(model="gpt-realtime-mini"))
        )
        await bot.queue(LLMUpdateSettingsFrame(delta=RealtimeLLMSettings(system_instruction="x")))
        await server.wait_for_received("session.update", count=2)
    assert all("model" not in e["session"] for e in client_events(server, "session.update"))


async def test_invalid_settings_fail_at_construction_naming_the_field() -> None:
    with pytest.raises(InvalidSettingsError, match="temperature"):
        RealtimeLLMService(dialect="local", settings=RealtimeLLMSettings(temperature=-1.0))


async def test_set_tools_sends_session_update_with_the_tools(make_server: Any) -> None:
    server = await make_server()
    async with running_bot(service_for(server.url)) as bot:
        await server.wait_for_sent("session.updated")
        await bot.queue(LLMSetToolsFrame(tools=ToolsSchema(standard_tools=[TIME])))
        update = await server.wait_for_received("session.update", count=2)
    assert [t["name"] for t in update["session"]["tools"]] == ["get_time"]
    assert update["session"]["tools"][0]["type"] == "function"


async def test_messages_append_through_the_aggregator_creates_items_and_one_response(
    make_server: Any,
) -> None:
    server = await make_server([Turn(reply="Hello there.")])
    async with running_bot(service_for(server.url)) as bot:
        await server.wait_for_sent("session.updated")
        await bot.queue(
            LLMMessagesAppendFrame(
                messages=[{"role": "user", "content": "Say hello."}], run_llm=True
            )
        )
        await wait_for(lambda: bot.down(LLMFullResponseEndFrame), what="a reply")
        # A later append (an RTVI text message, say) is synced too, and only it.
        await bot.queue(
            LLMMessagesAppendFrame(messages=[{"role": "user", "content": "Again."}], run_llm=True)
        )
        await server.wait_for_received("response.create", count=2)
        await wait_for(lambda: len(bot.down(LLMFullResponseEndFrame)) >= 2, what="second reply")

    texts = [
        e["item"]["content"][0]["text"]
        for e in client_events(server, "conversation.item.create")
        if e["item"]["type"] == "message"
    ]
    assert texts == ["Say hello.", "Again."]  # the assistant's own reply was not echoed back
    assert len(client_events(server, "response.create")) == 2


async def test_messages_append_straight_to_the_service(make_server: Any) -> None:
    server = await make_server([Turn(reply="Hi.")])
    service = service_for(server.url)
    frame = LLMMessagesAppendFrame(messages=[{"role": "user", "content": "Hi!"}], run_llm=True)

    await run_test(
        service,
        frames_to_send=[SleepFrame(0.3), frame, SleepFrame(0.5)],
        expected_down_frames=None,
    )
    items = client_events(server, "conversation.item.create")
    assert [i["item"]["content"][0]["text"] for i in items] == ["Hi!"]
    assert len(client_events(server, "response.create")) == 1


async def test_unsupported_settings_set_to_none_are_not_warned_about(
    warnings_logged: list[str],
) -> None:
    RealtimeLLMService(dialect="local", settings=RealtimeLLMSettings(temperature=None))
    RealtimeLLMService(dialect="local", settings=RealtimeLLMSettings(top_p=0.5))
    assert [m for m in warnings_logged if "not supported" in m] == [
        "setting 'top_p' is not supported by the realtime API; ignored"
    ]
