"""The engine interface: what the local server needs from a "model".

The protocol work (events, conversation, VAD, streaming, cancellation) lives in the session
core; an engine only answers three questions, each a plain blocking call that the server
runs in a worker thread:

* :meth:`Engine.transcribe` -- what did the user say in this committed audio?
* :meth:`Engine.respond` -- given the conversation, say something or call tools?
* :meth:`Engine.synthesize` -- what does that text sound like (PCM16, 24 kHz, mono)?

Keeping the interface this small is what lets real speech engines (eSpeak NG, pocketsphinx)
replace the deterministic ones later without touching the protocol code. Voice activity
detection is not an engine concern: see :mod:`.vad`.

Until then, :func:`tone_synthesize` stands in for speech: a deterministic, clearly non-silent
tone whose length follows the text, so tests can check that audio deltas add up exactly.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = [
    "Engine",
    "HearsDeclaredTools",
    "Reply",
    "ResponseContext",
    "ToolCall",
    "tone_synthesize",
]


@dataclass(frozen=True)
class ToolCall:
    """A function call the assistant makes; ``arguments`` is a JSON object as a string."""

    name: str
    arguments: str = "{}"

    def __post_init__(self) -> None:
        try:
            parsed = json.loads(self.arguments)
        except json.JSONDecodeError as exc:
            raise ValueError(f"ToolCall.arguments is not JSON: {exc}") from None
        if not isinstance(parsed, dict):
            raise ValueError("ToolCall.arguments must encode a JSON object")

    @classmethod
    def of(cls, name: str, **arguments: Any) -> ToolCall:
        """Build a call from keyword arguments: ``ToolCall.of("get_weather", city="Paris")``."""
        return cls(name, json.dumps(arguments))


@dataclass(frozen=True)
class Reply:
    """What the assistant does in one response: speak ``text``, or make ``tool_calls``."""

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()

    def __post_init__(self) -> None:
        if self.text and self.tool_calls:
            raise ValueError("a Reply either speaks text or calls tools, not both")

    @classmethod
    def say(cls, text: str) -> Reply:
        return cls(text=text)

    @classmethod
    def call(cls, *calls: ToolCall) -> Reply:
        if not calls:
            raise ValueError("Reply.call needs at least one ToolCall")
        return cls(tool_calls=tuple(calls))


@dataclass(frozen=True)
class ResponseContext:
    """Everything besides the conversation that shapes a response.

    ``tools`` are the function tools declared for this response (session or
    ``response.create``), as the client sent them; ``output_modalities`` is ``["audio"]`` or
    ``["text"]``.
    """

    instructions: str = ""
    tools: tuple[Mapping[str, Any], ...] = ()
    tool_choice: Any = "auto"
    output_modalities: tuple[str, ...] = ("audio",)
    voice: str = "alloy"
    metadata: Mapping[str, str] = field(default_factory=dict)

    def declares_tool(self, name: str) -> bool:
        if self.tool_choice == "none":
            return False
        return any(tool.get("name") == name for tool in self.tools)


@runtime_checkable
class Engine(Protocol):
    """A pluggable "model". Methods are blocking; the server calls them from a thread.

    ``conversation`` items are GA item dicts (``message`` with ``input_text`` /
    ``input_audio`` / ``input_image`` / ``output_text`` / ``output_audio`` parts,
    ``function_call``, ``function_call_output``), oldest first. Audio parts carry no audio,
    only ``transcript``: the text the engine itself transcribed for user audio, and for
    assistant audio what the user actually heard (cut by ``conversation.item.truncate``).
    """

    def transcribe(self, pcm16_24k: bytes) -> str:
        """Text spoken in a committed user turn (may be empty)."""
        ...

    def respond(self, conversation: Sequence[Mapping[str, Any]], context: ResponseContext) -> Reply:
        """The assistant's next move given the conversation."""
        ...

    def synthesize(self, text: str) -> bytes:
        """Speech for ``text`` as PCM16, 24 kHz, mono."""
        ...


@runtime_checkable
class HearsDeclaredTools(Protocol):
    """An engine whose recognizer also listens for the words of the session's tools.

    The server calls :meth:`transcribe_with_tools` instead of ``transcribe`` for such an
    engine, with the function tools the session declares: a user of a tool says its
    words ("book a table", "cancel the order"), which a phrase-tuned recognizer would
    not otherwise know (:class:`~realtime_llm.server.speech.SpeechEngine` does this).
    """

    def transcribe_with_tools(self, pcm16_24k: bytes, tools: Sequence[Mapping[str, Any]]) -> str:
        """Text spoken in a committed user turn, given the session's declared tools."""
        ...


_SAMPLE_RATE = 24_000


def tone_synthesize(text: str, *, ms_per_char: int = 60, max_ms: int = 4_000) -> bytes:
    """Deterministic stand-in speech: two sine tones, ``ms_per_char`` per character.

    The pitch depends on the text (so different replies differ), the level is about
    -13 dBFS (well above any VAD threshold), and 5 ms fades avoid clicks. Empty text gives
    no audio.
    """
    duration_ms = min(len(text) * ms_per_char, max_ms)
    samples = _SAMPLE_RATE * duration_ms // 1000
    if samples == 0:
        return b""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    base = 180.0 + digest[0]  # 180..435 Hz
    t = np.arange(samples) / _SAMPLE_RATE
    wave = 0.7 * np.sin(2 * np.pi * base * t) + 0.3 * np.sin(2 * np.pi * base * 1.5 * t)
    fade = min(samples // 2, _SAMPLE_RATE // 200)
    if fade:
        ramp = np.linspace(0.0, 1.0, fade)
        wave[:fade] *= ramp
        wave[-fade:] *= ramp[::-1]
    return (wave * 0.3 * 32767).astype(np.int16).tobytes()
