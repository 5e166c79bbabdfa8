"""Function calls under real timing: barge-ins, async tools, ``run_llm=False``, cancellations.

Each test is a regression test for an item of issue 7, driven through a real pipecat
pipeline against the local server; the wire is checked on the server's side.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import (
    FunctionCallResultProperties,
    InterruptionFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMMessagesAppendFrame,
    LLMRunFrame,
)
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.services.llm_service import FunctionCallParams

from realtime_llm.pipecat.settings import RealtimeLLMSettings
from realtime_llm.server import ToolCall, Turn
from realtime_llm.session_properties import AudioConfig, AudioInput, SessionProperties

from .harness import (
    Bot,
    client_events,
    running_bot,
    server_events,
    service_for,
    speech_like,
    wait_for,
)

WEATHER = FunctionSchema(
    name="get_weather",
    description="The weather in a city",
    properties={"city": {"type": "string"}},
    required=["city"],
)
CLIENT_VAD = RealtimeLLMSettings(
    session_properties=SessionProperties(audio=AudioConfig(input=AudioInput(turn_detection=None)))
)


def _tools_context() -> LLMContext:
    return LLMContext(tools=ToolsSchema(standard_tools=[WEATHER]))


def _outputs(server: Any) -> list[dict[str, Any]]:
    return [
        e["item"]
        for e in client_events(server, "conversation.item.create")
        if e["item"]["type"] == "function_call_output"
    ]


def _call_id(server: Any) -> str:
    return str(
        next(e for e in server.sent if e["type"] == "response.function_call_arguments.done")[
            "call_id"
        ]
    )


PROBE = "A probe message."


async def _probe(bot: Bot, server: Any, user_text: str) -> None:
    """Once the user's turn is in the context, append a message that runs the LLM.

    The user aggregator queues its context push as it records the turn, so the probe's
    push reaches the service after it. A wrong ``response.create`` for the user's turn
    therefore reaches the server before the probe's item, and once the probe's own
    ``response.create`` is there, counting them needs no sleep.
    """
    await wait_for(
        lambda: any(
            m.get("role") == "user" and user_text in str(m.get("content"))  # type: ignore[union-attr]
            for m in bot.context.get_messages()
        ),
        what="the user's turn in the context",
    )
    probe = LLMMessagesAppendFrame(messages=[{"role": "user", "content": PROBE}], run_llm=True)
    await bot.queue(probe)

    def answered() -> bool:
        received = server.received
        marks = [i for i, e in enumerate(received) if PROBE in json.dumps(e.get("item", {}))]
        return bool(marks) and any(e["type"] == "response.create" for e in received[marks[0] :])

    await wait_for(answered, what="the probe's response.create")


class HangingTool:
    """A handler that runs until it is cancelled (or released), and records what happened."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.cancelled = False

    async def __call__(self, params: FunctionCallParams) -> None:
        self.started.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        await params.result_callback({"city": params.arguments["city"], "sky": "sunny"})


async def test_server_vad_barge_in_cancels_a_running_function_call(make_server: Any) -> None:
    """Defect 1: speech_started must cancel cancel_on_interruption=True calls (and settle them)."""
    server = await make_server(
        [
            Turn(user="Weather in Paris?", reply=ToolCall.of("get_weather", city="Paris")),
            Turn(user="Never mind.", reply="All right."),
        ]
    )
    tool = HangingTool()
    service = service_for(server.url)
    service.register_function("get_weather", tool, cancel_on_interruption=True)
    async with running_bot(service, _tools_context()) as bot:
        await server.wait_for_sent("session.updated")
        await bot.speak(speech_like(24000, 0.4), 24000)
        await asyncio.wait_for(tool.started.wait(), 5.0)
        # The user talks again while the tool runs: server VAD hears it.
        await bot.speak(speech_like(24000, 0.4), 24000)
        await wait_for(lambda: tool.cancelled, what="the barge-in to cancel the call")
        await wait_for(lambda: bool(_outputs(server)), what="the cancelled call's output")
        await wait_for(lambda: len(bot.down(LLMFullResponseEndFrame)) >= 2, what="the reply")

    outputs = _outputs(server)
    assert [o["call_id"] for o in outputs] == [_call_id(server)]
    assert json.loads(outputs[0]["output"])["status"] == "cancelled"
    # Server VAD made both replies: the client asked for none.
    assert client_events(server, "response.create") == []


async def test_interruption_frame_cancels_the_call_and_settles_it_at_once(
    make_server: Any,
) -> None:
    """Defects 1 and 4: a queued InterruptionFrame cancels the call; its output goes at once."""
    server = await make_server(
        [Turn(reply=ToolCall.of("get_weather", city="Paris")), Turn(reply="What else?")]
    )
    tool = HangingTool()
    service = service_for(server.url, settings=CLIENT_VAD)
    service.register_function("get_weather", tool, cancel_on_interruption=True)
    async with running_bot(service, _tools_context()) as bot:
        await bot.queue(LLMRunFrame())
        await asyncio.wait_for(tool.started.wait(), 5.0)
        await bot.queue(InterruptionFrame())
        await wait_for(lambda: tool.cancelled, what="the interruption to cancel the call")
        # No context sync comes after an interruption: the output must go out by itself.
        await wait_for(lambda: bool(_outputs(server)), what="the cancelled call's output")
        # A later sync (the app runs the LLM) sees the "CANCELLED" tool message: not resent.
        await bot.queue(LLMRunFrame())
        await wait_for(lambda: len(bot.down(LLMFullResponseEndFrame)) >= 2, what="the reply")

    outputs = _outputs(server)
    assert [o["call_id"] for o in outputs] == [_call_id(server)]
    assert json.loads(outputs[0]["output"])["status"] == "cancelled"
    assert len(client_events(server, "response.create")) == 2


async def test_async_function_result_reaches_the_server_and_is_spoken_after_the_reply(
    make_server: Any,
) -> None:
    """Defect 2: an async tool's real result is the output, and it is spoken when it lands."""
    story = "Here is a joke that takes a little while to tell. " * 2
    server = await make_server(
        [
            Turn(user="Weather in Paris?", reply=ToolCall.of("get_weather", city="Paris")),
            Turn(user="Tell me a joke meanwhile.", reply=story),
            Turn(reply="By the way, it is sunny in Paris."),
        ],
        chunk_interval_s=0.02,
    )
    tool = HangingTool()
    service = service_for(server.url)
    service.register_function("get_weather", tool, cancel_on_interruption=False)
    async with running_bot(service, _tools_context()) as bot:
        await server.wait_for_sent("session.updated")
        await bot.speak(speech_like(24000, 0.4), 24000)
        await asyncio.wait_for(tool.started.wait(), 5.0)
        # The conversation goes on while the tool runs.
        await bot.speak(speech_like(24000, 0.4), 24000)
        await wait_for(lambda: len(bot.down(LLMFullResponseStartFrame)) >= 2, what="the joke")
        # The result lands while the joke is being told.
        tool.release.set()
        await wait_for(lambda: bool(_outputs(server)), what="the function call output")
        await wait_for(lambda: len(bot.down(LLMFullResponseEndFrame)) >= 3, what="the result")

    outputs = _outputs(server)
    assert [o["call_id"] for o in outputs] == [_call_id(server)]
    assert json.loads(outputs[0]["output"]) == {"city": "Paris", "sky": "sunny"}
    # The model was asked once to speak about it, after the joke: never over it.
    assert len(client_events(server, "response.create")) == 1
    assert not [
        e
        for e in server_events(server, "error")
        if e["error"].get("code") == "conversation_already_has_active_response"
    ]
    spoken = [m for m in bot.context.get_messages() if "sunny" in str(m.get("content"))]  # type: ignore[union-attr]
    assert spoken, "the result was spoken"


async def test_function_result_with_run_llm_false_is_sent_without_a_reply(
    make_server: Any,
) -> None:
    """Defect 3a: the output goes out at once, and no response.create follows it."""
    server = await make_server(
        [
            Turn(user="Note that I like Paris.", reply=ToolCall.of("get_weather", city="Paris")),
            Turn(user="Thanks.", reply="You are welcome."),
            Turn(reply="Probe."),
        ]
    )

    async def get_weather(params: FunctionCallParams) -> None:
        await params.result_callback(
            {"noted": True}, properties=FunctionCallResultProperties(run_llm=False)
        )

    service = service_for(server.url)
    service.register_function("get_weather", get_weather)
    async with running_bot(service, _tools_context()) as bot:
        await server.wait_for_sent("session.updated")
        await bot.speak(speech_like(24000, 0.4), 24000)
        await wait_for(lambda: bool(_outputs(server)), what="the function call output")
        await bot.speak(speech_like(24000, 0.4), 24000)
        await _probe(bot, server, "Thanks.")
        await wait_for(lambda: len(bot.down(LLMFullResponseEndFrame)) >= 3, what="the replies")

    assert [json.loads(o["output"]) for o in _outputs(server)] == [{"noted": True}]
    # Server VAD made the first two replies; the only response.create is the probe's.
    assert len(client_events(server, "response.create")) == 1
    assert len(server_events(server, "response.created")) == 3


async def test_appended_message_without_run_llm_does_not_double_the_next_reply(
    make_server: Any,
) -> None:
    """Defect 3b: an append with run_llm=False is sent, and the user's turn gets one reply."""
    server = await make_server([Turn(user="Hello.", reply="Hi there."), Turn(reply="Probe.")])
    async with running_bot(service_for(server.url)) as bot:
        await server.wait_for_sent("session.updated")
        note = {"role": "user", "content": "My name is Ada."}
        await bot.queue(LLMMessagesAppendFrame(messages=[note], run_llm=False))
        await bot.speak(speech_like(24000, 0.4), 24000)
        await wait_for(lambda: bot.down(LLMFullResponseEndFrame), what="the reply")
        await wait_for(
            lambda: any(
                "Ada" in json.dumps(e["item"])
                for e in client_events(server, "conversation.item.create")
            ),
            what="the appended message on the server",
        )
        await _probe(bot, server, "Hello.")
        await wait_for(lambda: len(bot.down(LLMFullResponseEndFrame)) >= 2, what="the replies")

    # Server VAD made the reply to the user's turn; the only response.create is the probe's.
    assert len(client_events(server, "response.create")) == 1
    assert len(server_events(server, "response.created")) == 2


async def test_a_call_running_across_a_reconnect_is_answered_with_its_result(
    make_server: Any,
) -> None:
    """The replay leaves a running async call open on the new session, for its result."""
    server = await make_server(
        [
            Turn(reply="Hello."),
            Turn(user="Weather in Paris?", reply=ToolCall.of("get_weather", city="Paris")),
            Turn(reply="It is sunny in Paris."),
        ]
    )
    tool = HangingTool()
    service = service_for(server.url)
    service.register_function("get_weather", tool, cancel_on_interruption=False)
    async with running_bot(service, _tools_context()) as bot:
        await bot.queue(LLMRunFrame())  # the service learns the context before any turn
        await wait_for(lambda: bot.down(LLMFullResponseEndFrame), what="the greeting")
        await bot.speak(speech_like(24000, 0.4), 24000)
        await asyncio.wait_for(tool.started.wait(), 5.0)
        call_id = _call_id(server)
        await wait_for(
            lambda: any(m.get("tool_calls") for m in bot.context.get_messages()),  # type: ignore[union-attr]
            what="the call in the context",
        )
        updates = len(client_events(server, "session.update"))
        await server.close_connections(code=1011, reason="internal error")
        await server.wait_for_received("session.update", count=updates + 1)
        await server.wait_for_sent("session.updated", count=updates + 1)
        tool.release.set()
        await wait_for(lambda: len(bot.down(LLMFullResponseEndFrame)) >= 3, what="the answer")

    # The new session got the call (replayed) and then its one output: the real result.
    replayed_calls = [
        e["item"]["call_id"]
        for e in client_events(server, "conversation.item.create")
        if e["item"]["type"] == "function_call"
    ]
    assert replayed_calls == [call_id]
    outputs = _outputs(server)
    assert [o["call_id"] for o in outputs] == [call_id]
    assert json.loads(outputs[0]["output"]) == {"city": "Paris", "sky": "sunny"}


async def test_a_replay_sends_each_finished_call_with_its_output(make_server: Any) -> None:
    """A new session must not see a finished call as still open."""
    server = await make_server(
        [
            Turn(reply="Hello."),
            Turn(user="Weather in Paris?", reply=ToolCall.of("get_weather", city="Paris")),
            Turn(reply="It is sunny in Paris."),
        ]
    )

    async def get_weather(params: FunctionCallParams) -> None:
        await params.result_callback({"sky": "sunny"})

    service = service_for(server.url)
    service.register_function("get_weather", get_weather)
    async with running_bot(service, _tools_context()) as bot:
        await bot.queue(LLMRunFrame())
        await wait_for(lambda: bot.down(LLMFullResponseEndFrame), what="the greeting")
        await bot.speak(speech_like(24000, 0.4), 24000)
        await wait_for(lambda: len(bot.down(LLMFullResponseEndFrame)) >= 3, what="the answer")
        await wait_for(
            lambda: any("sunny" in str(m.get("content")) for m in bot.context.get_messages()),  # type: ignore[union-attr]
            what="the tool round in the context",
        )
        call_id = _call_id(server)
        before = len(server.received)
        updates = len(client_events(server, "session.update"))
        await server.close_connections(code=1011, reason="internal error")
        await server.wait_for_received("session.update", count=updates + 1)
        await server.wait_for_sent("session.updated", count=updates + 1)

    replay = [
        e["item"] for e in server.received[before:] if e["type"] == "conversation.item.create"
    ]
    kinds = [(i["type"], i.get("call_id")) for i in replay if i["type"] != "message"]
    assert kinds == [("function_call", call_id), ("function_call_output", call_id)]
    output = next(i for i in replay if i["type"] == "function_call_output")
    assert json.loads(output["output"]) == {"sky": "sunny"}


async def test_an_async_update_is_a_message_and_the_final_result_the_one_output(
    make_server: Any,
) -> None:
    """Intermediate results keep the call open; only the final result answers it."""
    server = await make_server(
        [
            Turn(user="Book a table.", reply=ToolCall.of("get_weather", city="Paris")),
            Turn(reply="Still working on it."),
            Turn(reply="Done: it is sunny."),
        ]
    )
    release = asyncio.Event()

    async def slow_weather(params: FunctionCallParams) -> None:
        update = FunctionCallResultProperties(is_final=False)
        await params.result_callback({"progress": "half way"}, properties=update)
        await release.wait()
        await params.result_callback({"sky": "sunny"})

    service = service_for(server.url)
    service.register_function("get_weather", slow_weather, cancel_on_interruption=False)
    async with running_bot(service, _tools_context()) as bot:
        await server.wait_for_sent("session.updated")
        await bot.speak(speech_like(24000, 0.4), 24000)
        await wait_for(lambda: len(bot.down(LLMFullResponseEndFrame)) >= 2, what="the update")
        assert _outputs(server) == []  # the call is still open
        release.set()
        await wait_for(lambda: len(bot.down(LLMFullResponseEndFrame)) >= 3, what="the result")

    updates = [
        e["item"]
        for e in client_events(server, "conversation.item.create")
        if e["item"]["type"] == "message" and "half way" in json.dumps(e["item"])
    ]
    assert [u["role"] for u in updates] == ["system"]
    outputs = _outputs(server)
    assert [o["call_id"] for o in outputs] == [_call_id(server)]
    assert json.loads(outputs[0]["output"]) == {"sky": "sunny"}
