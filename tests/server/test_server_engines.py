"""The engines: scripted playback, the rule brain, and the tone synthesizer."""

from __future__ import annotations

import json

import numpy as np
import pytest

from realtime_llm.server import (
    Engine,
    Reply,
    ResponseContext,
    RuleEngine,
    ScriptedEngine,
    ToolCall,
    Turn,
    tone_synthesize,
)

WEATHER = ResponseContext(tools=({"type": "function", "name": "get_weather"},))


def _user(text: str) -> dict[str, object]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def test_scripted_engine_has_independent_cursors_and_a_fallback() -> None:
    engine = ScriptedEngine(
        [
            Turn(user="weather?", reply=ToolCall.of("get_weather", city="Rome")),
            Turn(reply="Sunny."),
            ("bye", "Bye!"),
        ],
        fallback="Done.",
    )
    assert isinstance(engine, Engine)
    assert engine.transcribe(b"") == "weather?"
    assert engine.respond([], ResponseContext()).tool_calls[0].name == "get_weather"
    assert engine.respond([], ResponseContext()) == Reply.say("Sunny.")
    assert engine.transcribe(b"") == "bye"  # the reply-only turn is skipped
    assert engine.respond([], ResponseContext()) == Reply.say("Bye!")
    assert engine.exhausted
    assert engine.respond([], ResponseContext()) == Reply.say("Done.")
    assert engine.transcribe(b"") == ""
    assert len(engine.requests) == 4


def test_rule_engine_rules() -> None:
    engine = RuleEngine()
    assert isinstance(engine, Engine)
    call = engine.respond([_user("Weather in New York?")], WEATHER).tool_calls[0]
    assert (call.name, json.loads(call.arguments)) == ("get_weather", {"city": "New York"})
    assert engine.respond([_user("weather in Paris")], ResponseContext()).text.startswith(
        "You said"
    )
    clock = ResponseContext(tools=({"name": "get_time"},))
    assert engine.respond([_user("What time is it?")], clock).tool_calls[0].name == "get_time"
    assert engine.respond([_user("hello")], WEATHER) == Reply.say("You said: hello")
    assert engine.respond([], WEATHER) == Reply.say("Hello! How can I help you?")
    heard_nothing = {"type": "message", "role": "user", "content": [{"type": "input_audio"}]}
    assert engine.respond([heard_nothing], WEATHER).text == "Sorry, I did not catch that."
    conversation: list[dict[str, object]] = [
        _user("time?"),
        {"type": "function_call", "name": "get_time", "call_id": "c1", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": '"noon"'},
    ]
    assert engine.respond(conversation, clock) == Reply.say("The time is noon.")
    hears = RuleEngine(transcriber=lambda pcm: f"{len(pcm)} bytes")
    assert hears.transcribe(b"abcd") == "4 bytes"


def test_replies_and_tool_calls_are_validated() -> None:
    with pytest.raises(ValueError, match="not both"):
        Reply(text="x", tool_calls=(ToolCall("f"),))
    with pytest.raises(ValueError, match="not JSON"):
        ToolCall("f", "{oops")
    with pytest.raises(ValueError, match="object"):
        ToolCall("f", "[1]")


def test_tone_synthesize_is_deterministic_audible_and_capped() -> None:
    audio = tone_synthesize("Hello")
    assert audio == tone_synthesize("Hello") != tone_synthesize("Hellp")
    assert len(audio) == 5 * 60 * 48  # 60 ms per character, 48 bytes per ms
    samples = np.frombuffer(audio, dtype=np.int16).astype(float)
    assert 20 * np.log10(np.sqrt(np.mean(samples**2)) / 32768) > -25
    assert len(tone_synthesize("x" * 1000)) == 4000 * 48
    assert tone_synthesize("") == b""
