"""One scripted conversation through a real pipeline, against the local server speaking each
built-in dialect: the same frames must come out whatever the server's dialect.

The conversation: a spoken question answered by a function call and a spoken reply, a long
reply the user talks over, and a settings update at runtime.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import (
    Frame,
    InterruptionFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMRunFrame,
    LLMUpdateSettingsFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.llm_service import FunctionCallParams

from realtime_llm import RealtimeLLMService
from realtime_llm.dialects import (
    AzureDialect,
    Dialect,
    InworldDialect,
    LocalDialect,
    OpenAIBetaDialect,
    OpenAIDialect,
    XAIDialect,
)
from realtime_llm.pipecat.settings import RealtimeLLMSettings
from realtime_llm.server import ToolCall, Turn
from realtime_llm.session_properties import AudioConfig, AudioInput, SessionProperties

from .harness import client_events, running_bot, speech_like, wait_for

STORY = "Once upon a time there was a reply far too long to listen to in full. " * 2
WEATHER = FunctionSchema(
    name="get_weather", description="Weather", properties={"city": {"type": "string"}}, required=[]
)

# client dialect, server dialect, the credential the client sends
DIALECTS: dict[str, tuple[Callable[[str], Dialect], str, str]] = {
    "openai": (OpenAIDialect, "ga", "sk-test"),
    "openai_beta": (OpenAIBetaDialect, "openai_beta", "sk-test"),
    "azure": (AzureDialect, "azure", "azure-key"),
    "xai": (XAIDialect, "xai", "xai-test"),
    "inworld": (InworldDialect, "inworld", "id:secret"),
    "local": (LocalDialect, "ga", ""),
}

KEY_FRAMES = (
    TranscriptionFrame,
    LLMFullResponseStartFrame,
    LLMFullResponseEndFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
)


def _summary(frames: list[tuple[Frame, Any]]) -> list[str]:
    """The conversation as the pipeline saw it, audio chunks folded away."""
    out: list[str] = []
    for frame, _ in frames:
        if isinstance(frame, TranscriptionFrame):
            out.append(f"user: {frame.text}")
        elif isinstance(frame, KEY_FRAMES):
            out.append(type(frame).__name__)
    return out


EXPECTED = [
    "LLMFullResponseStartFrame",  # the function call (server VAD starts it at once)...
    "user: What is the weather in Paris?",  # ...and the transcript comes before it ends
    "LLMFullResponseEndFrame",
    "LLMFullResponseStartFrame",  # the spoken answer
    "TTSStartedFrame",
    "TTSStoppedFrame",
    "LLMFullResponseEndFrame",
    "LLMFullResponseStartFrame",  # the story, cut short
    "TTSStartedFrame",
    "TTSStoppedFrame",
    "LLMFullResponseEndFrame",
]


@pytest.mark.parametrize("name", list(DIALECTS))
async def test_same_conversation_same_frames(name: str, make_server: Any) -> None:
    make_dialect, server_dialect, credential = DIALECTS[name]
    server = await make_server(
        [
            Turn(
                user="What is the weather in Paris?", reply=ToolCall.of("get_weather", city="Paris")
            ),
            Turn(reply="Sunny in Paris."),
            Turn(reply=STORY),
        ],
        dialect=server_dialect,
        chunk_interval_s=0.01,
    )

    async def get_weather(params: FunctionCallParams) -> None:
        await params.result_callback({"sky": "sunny"})

    service = RealtimeLLMService(dialect=make_dialect(server.url), api_key=credential or None)
    service.register_function("get_weather", get_weather)
    context = LLMContext(tools=ToolsSchema(standard_tools=[WEATHER]))
    async with running_bot(service, context) as bot:
        await server.wait_for_sent("session.updated")
        # 1. A spoken question, answered through a function call.
        await bot.speak(speech_like(16000, 0.4), 16000)
        await wait_for(lambda: len(bot.down(LLMFullResponseEndFrame)) >= 2, what="the answer")
        # 2. A long reply, interrupted by the user.
        await bot.queue(LLMRunFrame())
        await wait_for(lambda: len(bot.down(TTSStartedFrame)) >= 2, what="the story")
        playing = len(bot.down(TTSAudioRawFrame))
        await wait_for(lambda: len(bot.down(TTSAudioRawFrame)) >= playing + 5, what="story audio")
        await bot.worker.queue_frame(InterruptionFrame())
        await wait_for(lambda: len(bot.down(LLMFullResponseEndFrame)) >= 3, what="the cut")
        # 3. A settings update at runtime.
        await bot.queue(
            LLMUpdateSettingsFrame(delta=RealtimeLLMSettings(system_instruction="Be brief."))
        )
        await server.wait_for_received("session.update", count=2)

    assert _ordered(bot) == EXPECTED
    outputs = [
        e
        for e in client_events(server, "conversation.item.create")
        if e["item"]["type"] == "function_call_output"
    ]
    assert len(outputs) == 1
    update = client_events(server, "session.update")[-1]["session"]
    assert update["instructions"] == "Be brief."
    truncates = client_events(server, "conversation.item.truncate")
    assert len(truncates) == (0 if name == "xai" else 1)  # xAI has no truncate


def _ordered(bot: Any) -> list[str]:
    """What the service produced, in order: frames sent down, transcripts sent up."""
    down = bot.downstream_of_llm.of(Frame, FrameDirection.DOWNSTREAM)
    up = bot.upstream_of_llm.of(TranscriptionFrame, FrameDirection.UPSTREAM)
    frames = sorted((f for f in [*down, *up] if isinstance(f, KEY_FRAMES)), key=lambda f: f.id)
    return _summary([(f, None) for f in frames])


NO_VAD = RealtimeLLMSettings(
    session_properties=SessionProperties(audio=AudioConfig(input=AudioInput(turn_detection=None)))
)


@pytest.mark.parametrize("name", list(DIALECTS))
async def test_client_vad_turn_and_tool_round(name: str, make_server: Any) -> None:
    """Turn detection off: the client commits and asks; the transcript precedes the reply.

    The core reasons on the GA session whatever the dialect reshapes on the wire, so a
    flat (beta) or xAI-shaped session still means "the client detects turns".
    """
    make_dialect, server_dialect, credential = DIALECTS[name]
    server = await make_server(
        [
            Turn(
                user="What is the weather in Paris?", reply=ToolCall.of("get_weather", city="Paris")
            ),
            Turn(reply="Sunny in Paris."),
        ],
        dialect=server_dialect,
        chunk_interval_s=0.01,
    )
    results: list[str] = []

    async def get_weather(params: FunctionCallParams) -> None:
        results.append(str(params.arguments.get("city")))
        await params.result_callback({"sky": "sunny"})

    service = RealtimeLLMService(
        dialect=make_dialect(server.url), api_key=credential or None, settings=NO_VAD
    )
    service.register_function("get_weather", get_weather)
    context = LLMContext(tools=ToolsSchema(standard_tools=[WEATHER]))
    async with running_bot(service, context) as bot:
        await server.wait_for_sent("session.updated")
        await bot.speak(speech_like(16000, 0.4, silence_after=0.2), 16000)
        await bot.queue(UserStoppedSpeakingFrame())
        await wait_for(lambda: len(bot.down(LLMFullResponseEndFrame)) >= 2, what="the answer")
    types = [e["type"] for e in server.received]
    commit = types.index("input_audio_buffer.commit")
    assert types.index("response.create", commit) == commit + 1  # the client asked
    assert results == ["Paris"]
    assert _ordered(bot)[:3] == [
        "LLMFullResponseStartFrame",
        "user: What is the weather in Paris?",
        "LLMFullResponseEndFrame",
    ]
    outputs = [
        e
        for e in client_events(server, "conversation.item.create")
        if e["item"]["type"] == "function_call_output"
    ]
    assert len(outputs) == 1
    assert types.count("response.create") == 2  # one for the turn, one after the result
