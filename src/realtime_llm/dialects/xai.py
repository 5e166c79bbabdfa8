"""xAI's realtime voice API: GA names, with a few extras and a flatter session.

Differences from GA: ``voice`` and ``turn_detection`` sit at the session's top level and
there is no ``type``; the server also sends ``ping``, a cumulative
``conversation.item.input_audio_transcription.updated`` and ``response.text.delta`` next
to ``response.output_text.delta`` (the duplicates are dropped here); there is no
``conversation.item.truncate``, no image input, and audio is PCM only. Sessions last 30
minutes per xAI's docs (others report more; set ``session_limit_s`` on an instance to
change it). Its voices are ``ara`` (the default), ``eve``, ``leo``, ``rex`` and ``sal``,
in any case; other names only draw a warning, since xAI also has custom voices.

Its responses are not GA-shaped either (seen in recorded sessions): ``status_details`` is
the string ``"unimplemented"``, ``response.usage`` is ``{}`` and the usage sits at the top
level of ``response.done``. The event parser reads those shapes for every dialect (see
:mod:`realtime_llm.protocol.events`), so no hook is needed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from realtime_llm.dialects.base import Dialect
from realtime_llm.protocol.capabilities import Capabilities

__all__ = ["XAIDialect"]


class XAIDialect(Dialect):
    """``wss://api.x.ai/v1/realtime?model=M`` with a Bearer key."""

    name = "xai"
    default_base_url: ClassVar[str] = "wss://api.x.ai/v1/realtime"
    session_limit_s: ClassVar[float | None] = 1800.0
    capabilities: ClassVar[Capabilities] = Capabilities(
        supports_truncate=False,
        echoes_response_metadata=False,  # not in xAI's docs: correlate by order
        supports_image_input=False,
        audio_formats=frozenset({"audio/pcm"}),  # PCM at 8-48 kHz per xAI's docs
    )
    voices: ClassVar[frozenset[str]] = frozenset({"ara", "eve", "leo", "rex", "sal"})
    custom_voices: ClassVar[bool] = True
    default_voice: ClassVar[str | None] = "ara"
    event_aliases: ClassVar[Mapping[str, str | None]] = {
        "ping": None,
        "response.text.delta": None,  # duplicate of response.output_text.delta
        "response.text.done": None,
        "conversation.item.input_audio_transcription.updated": None,  # cumulative
    }

    def knows_voice(self, voice: str) -> bool:
        """xAI's voice names are case-insensitive (its docs write ``Ara``, it sends ``ara``)."""
        return voice.lower() in self.voices

    def serialize_session(self, session: Mapping[str, Any], model: str = "") -> dict[str, Any]:
        flat = {k: v for k, v in session.items() if k not in ("type", "audio")}
        audio = dict(session.get("audio") or {})
        audio_in = dict(audio.get("input") or {})
        audio_out = dict(audio.get("output") or {})
        if "turn_detection" in audio_in:
            flat["turn_detection"] = audio_in.pop("turn_detection")
        if "voice" in audio_out:
            flat["voice"] = audio_out.pop("voice")
        nested = {k: v for k, v in (("input", audio_in), ("output", audio_out)) if v}
        if nested:
            flat["audio"] = nested
        return flat
