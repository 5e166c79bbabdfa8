"""Real servers' recorded traffic, replayed to ``RealtimeLLMService`` in a real pipeline.

``CassetteServer`` plays the server side of each recorded session over a WebSocket on
127.0.0.1; the service, with the dialect of the recorded server, runs the same conversation
(a typed question, or speech under server VAD; a tool round where there is one). The
frames, the context and the absence of errors are asserted; the replay server checks that
the client sent what the recorded client sent (types in order, ids tolerated).
"""

from __future__ import annotations

import pytest
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import (
    ErrorFrame,
    FunctionCallResultFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMRunFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
)
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.services.llm_service import FunctionCallParams

from realtime_llm import RealtimeLLMService
from realtime_llm.dialects import get_dialect
from realtime_llm.server.cassette import Cassette
from realtime_llm.server.replay import CassetteServer

from ..pipecat.harness import running_bot, speech_like, wait_for
from .recorded import DATA, RECORDED, WEATHER, Recorded

WEATHER_TOOL = FunctionSchema(
    name="get_weather",
    description="Look up the weather for a city.",
    properties={"city": {"type": "string"}},
    required=["city"],
)


def test_every_cassette_in_data_is_listed() -> None:
    assert {r.path for r in RECORDED} == {str(p.relative_to(DATA)) for p in DATA.glob("*/*.yaml")}


@pytest.mark.parametrize("recorded", RECORDED, ids=lambda r: r.id)
async def test_recorded_session_through_a_pipeline(
    recorded: Recorded, warnings_logged: list[str]
) -> None:
    calls: list[dict[str, object]] = []

    async def get_weather(params: FunctionCallParams) -> None:
        calls.append(dict(params.arguments))
        await params.result_callback(WEATHER)

    async with CassetteServer(recorded.file) as server:
        dialect = get_dialect(recorded.client_dialect, server.url)
        service = RealtimeLLMService(dialect=dialect, api_key="replayed-key")
        service.register_function("get_weather", get_weather)
        messages = [{"role": "user", "content": recorded.user_text}] if recorded.user_text else []
        context = LLMContext(messages=messages, tools=ToolsSchema(standard_tools=[WEATHER_TOOL]))
        async with running_bot(service, context) as bot:
            if recorded.user_text:
                await bot.queue(LLMRunFrame())
            else:
                await bot.speak(speech_like(16000, 0.4), 16000)
            await wait_for(
                lambda: (
                    len(bot.down(LLMFullResponseEndFrame)) >= recorded.replies
                    and len(context.get_messages()) >= len(recorded.context)
                ),
                timeout=10.0,
                what="the recorded replies",
            )

    assert server.divergences == []
    assert server.finished  # every recorded server event was sent
    assert not bot.up(ErrorFrame) and not bot.down(ErrorFrame)
    assert not [w for w in warnings_logged if "malformed" in w]
    assert len(bot.down(LLMFullResponseStartFrame)) == recorded.replies
    assert len(bot.down(LLMFullResponseEndFrame)) == recorded.replies
    assert tuple(context.get_messages()) == recorded.context
    if recorded.user_text is None:
        assert [f.text for f in bot.up(TranscriptionFrame)] == [recorded.context[0]["content"]]
    audio_items = {
        e["item_id"]
        for e in Cassette.load(recorded.file).events("received")
        if e["type"] in ("response.output_audio.delta", "response.audio.delta")
    }
    assert len(bot.down(TTSStartedFrame)) == len(bot.down(TTSStoppedFrame)) == len(audio_items)
    assert bool(bot.down(TTSAudioRawFrame)) == bool(audio_items)
    tool_round = any("tool_calls" in m for m in recorded.context)
    assert calls == ([{"city": "London"}] if tool_round else [])
    assert len(bot.down(FunctionCallResultFrame)) == (1 if tool_round else 0)


async def test_a_bot_that_leaves_the_recording_is_told_where() -> None:
    """One user message more than the recorded client sent: the replay names the event."""
    recorded = next(r for r in RECORDED if r.id.endswith("text_in_audio_out_turn"))
    async with CassetteServer(recorded.file) as server:
        service = RealtimeLLMService(dialect=get_dialect("openai", server.url), api_key="k")
        messages = [
            {"role": "user", "content": "Hello."},
            {"role": "user", "content": "Say a short greeting."},
        ]
        async with running_bot(service, LLMContext(messages=messages)) as bot:
            await bot.queue(LLMRunFrame())
            await wait_for(lambda: bot.up(ErrorFrame), what="the divergence reported")
            await wait_for(lambda: bot.down(LLMFullResponseEndFrame), what="the reply, after it")
    assert [str(d) for d in server.divergences] == [
        "client event #2 diverges from the cassette: expected response.create, "
        "got conversation.item.create (message user)"
    ]
    [error] = bot.up(ErrorFrame)
    assert "cassette_mismatch" in error.error and "expected response.create" in error.error
