"""``RuleEngine``: a deterministic "brain" for demos and for tests that need no script.

It behaves enough like a voice assistant to exercise a bot's whole loop, tools included:

* the weather in a known city -> calls ``get_weather`` with ``{"city": ...}``;
* the time -> calls ``get_time`` with ``{}``;
* right after ``function_call_output`` items -> speaks a sentence built from the outputs;
* anything else -> echoes "You said: ...".

Tools are only called when the response declares them (as a real model would), unless
``require_declared_tools=False``. User audio is understood through ``transcriber``, a
callable PCM16 24 kHz -> text; the default hears nothing, so a spoken turn gets "Sorry, I
did not catch that." -- plug in a real recogniser, or use :class:`.ScriptedEngine`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .engine import Reply, ResponseContext, ToolCall, tone_synthesize

__all__ = ["CITIES", "RuleEngine"]

CITIES = (
    "Amsterdam",
    "Berlin",
    "London",
    "Madrid",
    "New York",
    "Paris",
    "Rome",
    "San Francisco",
    "Sydney",
    "Tokyo",
)

_TIME = re.compile(r"\b(what time|the time|time is it)\b", re.IGNORECASE)
_WEATHER = re.compile(r"\b(weather|forecast|temperature)\b", re.IGNORECASE)


def _hear_nothing(pcm16_24k: bytes) -> str:
    return ""


def _user_text(item: Mapping[str, Any]) -> str:
    parts = []
    for part in item.get("content") or []:
        if part.get("type") == "input_text":
            parts.append(part.get("text") or "")
        elif part.get("type") == "input_audio":
            parts.append(part.get("transcript") or "")
    return " ".join(p for p in parts if p).strip()


def _render(output: str) -> str:
    """A tool output as words: JSON objects become "key value, key value"."""
    try:
        value = json.loads(output)
    except json.JSONDecodeError:
        return output.strip()
    if isinstance(value, dict):
        return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in value.items())
    return str(value)


class RuleEngine:
    """Echo plus two tool rules; stateless, so one instance can serve many connections."""

    def __init__(
        self,
        *,
        transcriber: Callable[[bytes], str] = _hear_nothing,
        synthesizer: Callable[[str], bytes] = tone_synthesize,
        require_declared_tools: bool = True,
    ) -> None:
        self._transcriber = transcriber
        self._synthesizer = synthesizer
        self.require_declared_tools = require_declared_tools

    def transcribe(self, pcm16_24k: bytes) -> str:
        return self._transcriber(pcm16_24k)

    def expected_phrases(self) -> tuple[str, ...]:
        """What its users say: weather and time questions and small talk (``DEMO_PHRASES``).

        A speech engine builds its recognizer's language model from this.
        """
        from .speech.phrases import DEMO_PHRASES  # the phrases need CITIES from here

        return DEMO_PHRASES

    def synthesize(self, text: str) -> bytes:
        return self._synthesizer(text)

    def respond(self, conversation: Sequence[Mapping[str, Any]], context: ResponseContext) -> Reply:
        outputs = []
        for item in reversed(conversation):
            if item.get("type") != "function_call_output":
                break
            outputs.append(item)
        if outputs:
            return Reply.say(self._speak_outputs(conversation, outputs[::-1]))
        users = [i for i in conversation if i.get("type") == "message" and i.get("role") == "user"]
        if not users:
            return Reply.say("Hello! How can I help you?")
        text = _user_text(users[-1])
        if not text:
            return Reply.say("Sorry, I did not catch that.")
        city = next((c for c in CITIES if c.lower() in text.lower()), None)
        if city and _WEATHER.search(text) and self._may_call("get_weather", context):
            return Reply.call(ToolCall.of("get_weather", city=city))
        if _TIME.search(text) and self._may_call("get_time", context):
            return Reply.call(ToolCall.of("get_time"))
        return Reply.say(f"You said: {text}")

    def _may_call(self, name: str, context: ResponseContext) -> bool:
        return context.declares_tool(name) or not self.require_declared_tools

    def _speak_outputs(
        self, conversation: Sequence[Mapping[str, Any]], outputs: Sequence[Mapping[str, Any]]
    ) -> str:
        calls = {i.get("call_id"): i for i in conversation if i.get("type") == "function_call"}
        sentences = []
        for output in outputs:
            call = calls.get(output.get("call_id"), {})
            name = call.get("name", "the tool")
            rendered = _render(str(output.get("output", "")))
            try:
                arguments = json.loads(call.get("arguments") or "{}")
            except json.JSONDecodeError:
                arguments = {}
            if name == "get_weather" and isinstance(arguments, dict) and "city" in arguments:
                sentences.append(f"The weather in {arguments['city']}: {rendered}.")
            elif name == "get_time":
                sentences.append(f"The time is {rendered}.")
            else:
                sentences.append(f"{name} says: {rendered}.")
        return " ".join(sentences)
