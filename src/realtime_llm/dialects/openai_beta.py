"""OpenAI's preview (beta) Realtime API: older event names and a flat session object.

Differences from GA, and nothing else: the ``OpenAI-Beta: realtime=v1`` header; a flat
session (``modalities``, ``voice``, ``input_audio_format``...); ``response.audio.*``,
``response.audio_transcript.*`` and ``response.text.*`` event names; assistant content
parts typed ``text``/``audio`` instead of ``output_text``/``output_audio``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from realtime_llm.dialects.base import OPENAI_VOICES, Dialect
from realtime_llm.protocol.capabilities import Capabilities

__all__ = ["OpenAIBetaDialect", "flat_session"]

_FORMATS = {"audio/pcm": "pcm16", "audio/pcmu": "g711_ulaw", "audio/pcma": "g711_alaw"}
_PART_TYPES = {"output_text": "text", "output_audio": "audio"}


def flat_session(session: Mapping[str, Any]) -> dict[str, Any]:
    """The beta's flat session object from a GA nested one."""
    flat: dict[str, Any] = {}
    for key in ("instructions", "tools", "tool_choice", "tracing", "temperature"):
        if key in session:
            flat[key] = session[key]
    if "max_output_tokens" in session:
        flat["max_response_output_tokens"] = session["max_output_tokens"]
    modalities = session.get("output_modalities")
    if modalities is not None:
        flat["modalities"] = ["text"] if list(modalities) == ["text"] else ["audio", "text"]
    audio = session.get("audio") or {}
    audio_in, audio_out = audio.get("input") or {}, audio.get("output") or {}
    if "format" in audio_in:
        flat["input_audio_format"] = _FORMATS.get(audio_in["format"].get("type"), "pcm16")
    if "transcription" in audio_in:
        flat["input_audio_transcription"] = audio_in["transcription"]
    if "turn_detection" in audio_in:
        flat["turn_detection"] = audio_in["turn_detection"]
    if "noise_reduction" in audio_in:
        flat["input_audio_noise_reduction"] = audio_in["noise_reduction"]
    if "format" in audio_out:
        flat["output_audio_format"] = _FORMATS.get(audio_out["format"].get("type"), "pcm16")
    for key in ("voice", "speed"):
        if key in audio_out:
            flat[key] = audio_out[key]
    return flat


class OpenAIBetaDialect(Dialect):
    """``wss://api.openai.com/v1/realtime?model=M`` with ``OpenAI-Beta: realtime=v1``."""

    name = "openai_beta"
    session_limit_s: ClassVar[float | None] = 1800.0
    capabilities: ClassVar[Capabilities] = Capabilities(supports_image_input=False)
    rewrites_outgoing: ClassVar[bool] = True
    voices: ClassVar[frozenset[str]] = OPENAI_VOICES - {"marin", "cedar"}  # the beta's types
    event_aliases: ClassVar[Mapping[str, str | None]] = {
        "response.audio.delta": "response.output_audio.delta",
        "response.audio.done": "response.output_audio.done",
        "response.audio_transcript.delta": "response.output_audio_transcript.delta",
        "response.audio_transcript.done": "response.output_audio_transcript.done",
        "response.text.delta": "response.output_text.delta",
        "response.text.done": "response.output_text.done",
    }

    def auth_headers(self, secret: str | None) -> dict[str, str]:
        return {**super().auth_headers(secret), "OpenAI-Beta": "realtime=v1"}

    def serialize_session(self, session: Mapping[str, Any], model: str = "") -> dict[str, Any]:
        return flat_session(session)

    def outgoing(self, event: dict[str, Any]) -> dict[str, Any]:
        kind = event.get("type")
        if kind == "conversation.item.create":
            item = event["item"]
            content = item.get("content")
            if content and any(p.get("type") in _PART_TYPES for p in content):
                parts = [{**p, "type": _PART_TYPES.get(p["type"], p["type"])} for p in content]
                return {**event, "item": {**item, "content": parts}}
        elif kind == "response.create" and "output_modalities" in event.get("response", {}):
            response = dict(event["response"])
            modalities = list(response.pop("output_modalities"))
            response["modalities"] = ["text"] if modalities == ["text"] else ["audio", "text"]
            return {**event, "response": response}
        return event
