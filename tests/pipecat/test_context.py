"""Context messages -> GA conversation items, and the adapter built on them.

Every item is checked inside a ``conversation.item.create`` event against the openai typed
models, with no key the models do not know.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import pytest
from openai.types.realtime import (
    ConversationItem,
    ConversationItemCreateEvent,
    RealtimeFunctionTool,
)
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import AdapterType, ToolsSchema
from pipecat.audio.utils import pcm_to_wav
from pipecat.frames.frames import AudioRawFrame
from pipecat.processors.aggregators import async_tool_messages
from pipecat.processors.aggregators.llm_context import LLMContext, LLMSpecificMessage
from pydantic import TypeAdapter

from realtime_llm.pipecat.adapter import RealtimeLLMAdapter
from realtime_llm.pipecat.context import (
    InputAudioFormat,
    completed_tool_call_ids,
    message_text,
    message_to_items,
    messages_to_items,
)
from realtime_llm.pipecat.media import AudioDecoder

from ..conformance import unknown_keys

IMAGE = "data:image/jpeg;base64,/9j/4AAQSkZJRg=="
ITEM = TypeAdapter(ConversationItem)


def assert_valid_items(items: list[dict[str, Any]]) -> None:
    """Each item is a GA conversation item, and sendable as ``conversation.item.create``."""
    for item in items:
        parsed = ITEM.validate_python(item)
        assert unknown_keys(parsed) == []
        assert parsed.model_dump(mode="json", exclude_unset=True) == item
        event = ConversationItemCreateEvent.model_validate(
            {"type": "conversation.item.create", "item": item}
        )
        assert unknown_keys(event) == []


def convert(message: Any) -> list[dict[str, Any]]:
    items = message_to_items(message)
    assert_valid_items(items)
    return items


# -- one message -------------------------------------------------------------------------


def test_user_text() -> None:
    assert convert({"role": "user", "content": "Hello"}) == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hello"}]}
    ]


def test_user_text_and_image_parts() -> None:
    items = convert(
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": IMAGE, "detail": "low"}},
                {"type": "image_url", "image_url": {"url": IMAGE}},
            ],
        }
    )
    assert items[0]["content"] == [
        {"type": "input_text", "text": "What is this?"},
        {"type": "input_image", "image_url": IMAGE, "detail": "low"},
        {"type": "input_image", "image_url": IMAGE, "detail": "auto"},
    ]


def test_remote_image_is_skipped_with_a_warning(warnings_logged: list[str]) -> None:
    items = convert(
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Look"},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
            ],
        }
    )
    assert items[0]["content"] == [{"type": "input_text", "text": "Look"}]
    assert any("image" in m for m in warnings_logged)


def test_unsupported_part_is_skipped_with_a_warning(warnings_logged: list[str]) -> None:
    part = {"type": "file", "file": {"filename": "a.pdf", "file_data": "AAAA"}}
    assert convert({"role": "user", "content": [part]}) == []
    assert any("'file'" in m for m in warnings_logged)


def _tone(rate: int, seconds: float) -> bytes:
    n = int(rate * seconds)
    return (np.sin(np.arange(n) * 2 * np.pi * 440 / rate) * 8000).astype("<i2").tobytes()


async def test_a_pipecat_audio_message_becomes_input_audio_in_the_session_format() -> None:
    """pipecat's own audio message (WAV, any rate) is sent as GA ``input_audio`` content:
    base64 PCM16 at the session's rate (here 16 kHz resampled to 24 kHz)."""
    frames = [AudioRawFrame(_tone(16000, 0.5), 16000, 1)]
    message = await LLMContext.create_audio_message(audio_frames=frames, text="Listen")
    (item,) = convert(message)
    assert item["role"] == "user"
    text, audio = item["content"]
    assert text == {"type": "input_text", "text": "Listen"}
    assert audio["type"] == "input_audio"
    assert len(base64.b64decode(audio["audio"])) == 24000 * 2 // 2  # 0.5 s at 24 kHz


def test_audio_at_the_session_rate_is_passed_through_unchanged() -> None:
    pcm = _tone(24000, 0.2)
    wav = base64.b64encode(pcm_to_wav(pcm, 24000)).decode()
    part = {"type": "input_audio", "input_audio": {"data": wav, "format": "wav"}}
    (item,) = convert({"role": "user", "content": [part]})
    assert base64.b64decode(item["content"][0]["audio"]) == pcm


@pytest.mark.parametrize("fmt", ["audio/pcmu", "audio/pcma"])
def test_audio_for_a_g711_session_is_encoded_to_it(fmt: Any) -> None:
    pcm = _tone(8000, 0.2)
    wav = base64.b64encode(pcm_to_wav(pcm, 8000)).decode()
    part = {"type": "input_audio", "input_audio": {"data": wav, "format": "wav"}}
    (item,) = messages_to_items([{"role": "user", "content": [part]}], InputAudioFormat(fmt, 8000))
    assert_valid_items([item])
    encoded = base64.b64decode(item["content"][0]["audio"])
    assert len(encoded) == len(pcm) // 2  # one byte a sample
    decoded = np.frombuffer(AudioDecoder(fmt).decode(item["content"][0]["audio"]), "<i2")
    error = np.abs(decoded.astype(int) - np.frombuffer(pcm, "<i2").astype(int))
    assert error.max() < 300  # G.711's step near 8000 is 256 (mu-law) / 512 (A-law) / 2


def test_audio_that_is_not_a_wav_is_skipped_with_a_warning(warnings_logged: list[str]) -> None:
    part = {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}
    assert convert({"role": "user", "content": [part]}) == []
    assert any("input_audio" in m for m in warnings_logged)


def test_mp3_audio_is_skipped_with_a_warning(warnings_logged: list[str]) -> None:
    part = {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "mp3"}}
    assert convert({"role": "user", "content": [part]}) == []
    assert any("'mp3'" in m for m in warnings_logged)


def test_assistant_text() -> None:
    assert convert({"role": "assistant", "content": "Hi there"}) == [
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Hi there"}],
        }
    ]


def test_assistant_tool_calls_become_function_calls() -> None:
    items = convert(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                },
                {"id": "call_2", "type": "function", "function": {"name": "now", "arguments": {}}},
            ],
        }
    )
    assert items == [
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "get_weather",
            "arguments": '{"city": "Paris"}',
        },
        {"type": "function_call", "call_id": "call_2", "name": "now", "arguments": "{}"},
    ]


def test_assistant_text_comes_before_its_tool_calls() -> None:
    items = convert(
        {
            "role": "assistant",
            "content": "Let me check.",
            "tool_calls": [
                {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        }
    )
    assert [item["type"] for item in items] == ["message", "function_call"]


def test_tool_result_string() -> None:
    assert convert({"role": "tool", "tool_call_id": "call_1", "content": "sunny"}) == [
        {"type": "function_call_output", "call_id": "call_1", "output": "sunny"}
    ]


def test_tool_result_non_string_is_json() -> None:
    items = convert({"role": "tool", "tool_call_id": "call_1", "content": {"temp": 21}})
    assert json.loads(items[0]["output"]) == {"temp": 21}


@pytest.mark.parametrize("role", ["system", "developer"])
def test_system_and_developer_become_system_items(role: str) -> None:
    assert convert({"role": role, "content": [{"type": "text", "text": "Be brief."}]}) == [
        {
            "type": "message",
            "role": "system",
            "content": [{"type": "input_text", "text": "Be brief."}],
        }
    ]


@pytest.mark.parametrize("content", ["", [], None])
def test_empty_messages_give_no_item(content: Any) -> None:
    assert message_to_items({"role": "user", "content": content}) == []


def test_unknown_role_is_skipped_with_a_warning(warnings_logged: list[str]) -> None:
    assert message_to_items({"role": "function", "name": "f", "content": "x"}) == []
    assert any("function" in m for m in warnings_logged)


def test_specific_message_for_another_llm_is_skipped() -> None:
    assert message_to_items(LLMSpecificMessage(llm="google", message={"parts": []})) == []


def test_specific_message_for_us_is_sent_as_is() -> None:
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "raw"}]}
    assert convert(LLMSpecificMessage(llm="realtime-llm", message=item)) == [item]
    assert convert(LLMSpecificMessage(llm="realtime-llm", message=[item, item])) == [item, item]


# -- several messages --------------------------------------------------------------------

CONVERSATION: list[Any] = [
    {"role": "user", "content": "Weather in Paris?"},
    {
        "role": "assistant",
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "w", "arguments": "{}"}}
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    {"role": "system", "content": "Now answer in French."},
    {"role": "assistant", "content": "Il fait beau."},
    {
        "role": "assistant",
        "tool_calls": [
            {"id": "call_2", "type": "function", "function": {"name": "w", "arguments": "{}"}}
        ],
    },
]


def test_messages_to_items_keeps_the_order() -> None:
    items = messages_to_items(CONVERSATION)
    assert_valid_items(items)
    assert [(item["type"], item.get("role")) for item in items] == [
        ("message", "user"),
        ("function_call", None),
        ("function_call_output", None),
        ("message", "system"),
        ("message", "assistant"),
        ("function_call", None),
    ]


def test_completed_tool_call_ids() -> None:
    specific = LLMSpecificMessage(
        llm="realtime-llm",
        message={"type": "function_call_output", "call_id": "call_9", "output": "ok"},
    )
    assert completed_tool_call_ids([*CONVERSATION, specific]) == {"call_1", "call_9"}


def test_calls_still_running_are_not_completed() -> None:
    """A replay must leave a running call open on the new session, for its result."""
    running = [
        {"role": "tool", "tool_call_id": "call_sync", "content": "IN_PROGRESS"},
        async_tool_messages.build_started_message("call_async"),
        async_tool_messages.build_intermediate_result_message("call_async", '"half"'),
        async_tool_messages.build_started_message("call_late"),
        async_tool_messages.build_final_result_message("call_late", '"done"'),
    ]
    assert completed_tool_call_ids(running) == {"call_late"}


def test_message_text() -> None:
    assert message_text({"role": "user", "content": "plain"}) == "plain"
    parts = [{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {"url": IMAGE}}]
    with_parts: Any = {"role": "user", "content": [*parts, {"type": "text", "text": "b"}]}
    assert message_text(with_parts) == "a b"
    assert message_text({"role": "assistant", "tool_calls": []}) == ""
    ours = LLMSpecificMessage(
        llm="realtime-llm",
        message={
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_audio", "transcript": "said"}],
        },
    )
    assert message_text(ours) == "said"
    assert message_text(LLMSpecificMessage(llm="other", message={"text": "x"})) == ""


# -- the adapter -------------------------------------------------------------------------

WEATHER = FunctionSchema(
    name="get_weather",
    description="Weather for a city",
    properties={"city": {"type": "string"}},
    required=["city"],
)


def test_adapter_id() -> None:
    assert RealtimeLLMAdapter().id_for_llm_specific_messages == "realtime-llm"


def test_tools_are_flat_ga_function_tools() -> None:
    tools = RealtimeLLMAdapter().to_provider_tools_format(ToolsSchema(standard_tools=[WEATHER]))
    assert tools == [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        }
    ]
    parsed = RealtimeFunctionTool.model_validate(tools[0])
    assert unknown_keys(parsed) == []
    assert parsed.model_dump(exclude_unset=True) == tools[0]


def test_custom_openai_tools_are_appended_others_ignored() -> None:
    mcp = {"type": "mcp", "server_label": "docs", "server_url": "https://example.com/mcp"}
    schema = ToolsSchema(
        standard_tools=[WEATHER],
        custom_tools={AdapterType.OPENAI: [mcp], AdapterType.GEMINI: [{"google_search": {}}]},
    )
    tools = RealtimeLLMAdapter().to_provider_tools_format(schema)
    assert [tool["type"] for tool in tools] == ["function", "mcp"]


async def test_invocation_params_with_service_instruction() -> None:
    context = LLMContext(messages=CONVERSATION[:3], tools=ToolsSchema(standard_tools=[WEATHER]))
    params = await RealtimeLLMAdapter().get_llm_invocation_params(
        context, system_instruction="Be brief."
    )
    assert params["system_instruction"] == "Be brief."
    assert params["items"] == messages_to_items(CONVERSATION[:3])
    assert params["tools"] is not None
    assert [tool["name"] for tool in params["tools"]] == ["get_weather"]
    for tool in params["tools"]:
        assert unknown_keys(RealtimeFunctionTool.model_validate(tool)) == []


@pytest.mark.user_deprecation
async def test_initial_system_message_becomes_the_instruction() -> None:
    context = LLMContext(
        messages=[{"role": "system", "content": "From context."}, *CONVERSATION[:1]]
    )
    # pipecat also warns (once per process) that a system message in context is deprecated.
    params = await RealtimeLLMAdapter().get_llm_invocation_params(context)
    assert params["system_instruction"] == "From context."
    assert params["items"] == messages_to_items(CONVERSATION[:1])
    assert params["tools"] is None


async def test_service_instruction_wins_over_context_system_message() -> None:
    context = LLMContext(
        messages=[{"role": "system", "content": "From context."}, *CONVERSATION[:1]]
    )
    params = await RealtimeLLMAdapter().get_llm_invocation_params(
        context, system_instruction="From service."
    )
    assert params["system_instruction"] == "From service."
    assert all(item.get("role") != "system" for item in params["items"])


async def test_service_tools_are_used_when_the_context_has_none() -> None:
    params = await RealtimeLLMAdapter().get_llm_invocation_params(
        LLMContext(), service_tools=ToolsSchema(standard_tools=[WEATHER])
    )
    assert params["tools"] is not None
    assert [tool["name"] for tool in params["tools"]] == ["get_weather"]
    assert params["items"] == []
    assert params["system_instruction"] is None


def test_messages_for_logging_shorten_images() -> None:
    image_message: Any = {
        "role": "user",
        "content": [{"type": "image_url", "image_url": {"url": IMAGE}}],
    }
    logged = RealtimeLLMAdapter().get_messages_for_logging(LLMContext(messages=[image_message]))
    assert logged[0]["content"][0]["image_url"] == "data:image/..."


@pytest.mark.parametrize("fmt", ["audio/pcmu", "audio/pcma"])
def test_a_recorded_g711_turn_survives_the_round_trip_through_the_context(fmt: Any) -> None:
    """Recorded wire audio -> the context's WAV -> the replay's wire audio: the same codes."""
    from realtime_llm.pipecat.media import wav_from_wire_audio, wire_audio_from_wav

    codes = bytes(range(1, 127)) * 4  # one zero code each: 0x7F/0xFF both decode to 0
    chunks = [base64.b64encode(codes[:200]).decode(), base64.b64encode(codes[200:]).decode()]
    wav = wav_from_wire_audio(chunks, fmt, 8000)
    assert base64.b64decode(wire_audio_from_wav(wav, fmt, 8000)) == codes
