"""xAI's server events as its real service sends them, made from the GA core's events.

The recorded xAI sessions (``tests/cassettes/`` and the shared set they come from) differ
from GA in ways a client notices, so the local ``xai`` dialect sends them too:

* ``response.created``/``.done`` carry a short ``response`` (``id``, ``object``, ``output``,
  ``status``, ``status_details: "unimplemented"``, ``usage: {}``); the token counts sit at
  the top level of ``response.done`` (``usage`` with ``grok_tokens`` and audio seconds)
  beside ``response_id``;
* items: a message in ``response.output_item.*`` has no ``content``; a function call is
  ``role: "user"`` in the response's output and ``"tool"`` in ``conversation.item.added``,
  as is a function call output; parts in ``response.done`` are ``audio``/``text``;
* ``response.content_part.done`` has no ``part``; ``response.function_call_arguments.delta``
  has no ``output_index``; audio deltas carry ``rid``, ``audio_duration_ms``, ``ts`` (and the
  first one ``latency``), transcript deltas ``rid`` and ``start_time``;
* every event but ``session.created`` carries ``previous_item_id`` (``null`` where GA has
  none; ``"0"`` in ``response.content_part.added``);
* ``session.created`` is short and flat, ``session.updated`` echoes a beta-style session
  with xAI's own keys; ``conversation.created`` and a ``ping`` (with ``timestamp``) follow
  ``session.created``.

Everything here is a pure function of the GA event, the clock value it is given and
:class:`XAIWire`, the little each connection has to remember (which response sent audio,
the transcript delta an audio delta belongs to).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._audio import pcm_ms

__all__ = ["XAIWire", "xai_session_created", "xai_session_updated"]

Event = dict[str, Any]

_ITEM_EVENTS_IN_OUTPUT = ("response.output_item.added", "response.output_item.done")
_PART_NAMES = {"output_audio": "audio", "output_text": "text"}
_TURN_DETECTION_DEFAULTS = {
    "threshold": 0.5,
    "prefix_padding_ms": 300,
    "silence_duration_ms": 500,
    "idle_timeout_ms": None,
}


def _item(item: Mapping[str, Any], *, in_output: bool, with_content: bool = True) -> Event:
    """An item as xAI shows it: in a response's output, or in the conversation."""
    out = copy.deepcopy(dict(item))
    if out.get("type") in ("function_call", "function_call_output"):
        out["role"] = "user" if in_output and out["type"] == "function_call" else "tool"
    if out.get("type") == "message":
        if not with_content:
            out.pop("content", None)
        elif in_output:
            out["content"] = [
                {**part, "type": _PART_NAMES.get(part.get("type"), part.get("type"))}
                for part in out.get("content") or []
            ]
    return out


def _usage(usage: Mapping[str, Any] | None) -> Event:
    """GA usage in xAI's top-level form (``grok_tokens``, audio seconds)."""
    usage = usage or {}
    details_in = usage.get("input_token_details") or {}
    details_out = usage.get("output_token_details") or {}
    audio_seconds = int(details_out.get("audio_tokens") or 0) / 20  # 20 tokens per second
    return {
        "input_tokens": int(usage.get("input_tokens") or 0),
        "input_token_details": {
            "text_tokens": int(details_in.get("text_tokens") or 0),
            "audio_tokens": int(details_in.get("audio_tokens") or 0),
            "grok_tokens": 0,
        },
        "output_tokens": int(usage.get("output_tokens") or 0),
        "output_token_details": {
            "text_tokens": int(details_out.get("text_tokens") or 0),
            "audio_tokens": int(details_out.get("audio_tokens") or 0),
            "grok_tokens": 0,
        },
        "total_tokens": int(usage.get("total_tokens") or 0),
        "output_audio_seconds": audio_seconds,
        "billable_audio_seconds": int(audio_seconds),
    }


def _response(response: Mapping[str, Any]) -> Event:
    return {
        "id": response.get("id"),
        "object": "realtime.response",
        "output": [_item(i, in_output=True) for i in response.get("output") or []],
        "status": response.get("status"),
        "status_details": "unimplemented",
        "usage": {},
    }


@dataclass
class XAIWire:
    """What one xAI connection remembers between events."""

    _rid: dict[str, str] = field(default_factory=dict)  # item -> its latest transcript delta
    _audio_ms: dict[str, float] = field(default_factory=dict)  # item -> audio sent so far
    _responses_with_audio: set[str] = field(default_factory=set)

    def event(self, event: Mapping[str, Any], *, now_ms: int, pcm_bytes: int = 0) -> Event:
        """One GA event (already renamed) in xAI's shape; ``pcm_bytes``: an audio delta's
        length as PCM16 24 kHz."""
        kind = event.get("type")
        out = dict(event)
        if kind in ("response.created", "response.done"):
            out["response"] = _response(event["response"])
            if kind == "response.done":
                out["response_id"] = event["response"].get("id")
                out["usage"] = _usage(event["response"].get("usage"))
        elif kind in _ITEM_EVENTS_IN_OUTPUT:
            out["item"] = _item(event["item"], in_output=True, with_content=False)
        elif kind == "conversation.item.added":
            out["item"] = _item(event["item"], in_output=False)
        elif kind == "response.content_part.added":
            out["previous_item_id"] = str(event.get("content_index", 0))
        elif kind == "response.content_part.done":
            out.pop("part", None)
        elif kind == "response.function_call_arguments.delta":
            out.pop("output_index", None)
        elif kind == "response.output_audio_transcript.delta":
            item_id = str(event.get("item_id"))
            self._rid[item_id] = str(event.get("event_id"))
            out["rid"] = out["event_id"]
            out["start_time"] = round(self._audio_ms.get(item_id, 0.0) / 1000, 2)
        elif kind == "response.output_audio.delta":
            item_id = str(event.get("item_id"))
            out["rid"] = self._rid.setdefault(item_id, str(event.get("event_id")))
            response_id = str(event.get("response_id"))
            if response_id not in self._responses_with_audio:
                self._responses_with_audio.add(response_id)
                out["latency"] = "0.50"
            duration = pcm_ms(pcm_bytes)
            self._audio_ms[item_id] = self._audio_ms.get(item_id, 0.0) + duration
            out["audio_duration_ms"] = int(duration)
            out["ts"] = now_ms
        if kind != "session.created":
            out.setdefault("previous_item_id", None)
        return out


def xai_session_created(session: Mapping[str, Any]) -> Event:
    """``session.created``'s short flat session, from the GA session."""
    audio = session.get("audio") or {}
    detection = (audio.get("input") or {}).get("turn_detection")
    modalities = session.get("output_modalities") or ["audio"]
    return {
        "id": session.get("id"),
        "object": "realtime.session",
        "instructions": session.get("instructions") or "",
        "voice": _voice((audio.get("output") or {}).get("voice")),
        "modalities": list(modalities),
        "turn_detection": _detection(detection),
        "tools": [_tool(t) for t in session.get("tools") or []],
        "model": session.get("model"),
    }


def xai_session_updated(session: Mapping[str, Any], *, voice_set: bool) -> Event:
    """``session.updated``'s beta-style echo, from the GA session.

    The recorded echo names no voice when the client set none; ``voice_set`` says whether
    it did.
    """
    audio = session.get("audio") or {}
    audio_in, audio_out = audio.get("input") or {}, audio.get("output") or {}
    transcription = audio_in.get("transcription")
    echo: Event = {
        "instructions": session.get("instructions") or "",
        "enable_noise_suppression": True,
        "turn_detection": _detection(audio_in.get("turn_detection")),
        "model": session.get("model"),
        "tools": [_tool(t) for t in session.get("tools") or []],
        "keep_context": False,
        "enable_phonetic_spelling": False,
    }
    if voice_set:
        echo["voice"] = _voice(audio_out.get("voice"))
    if transcription is not None:
        echo["input_audio_transcription"] = {"model": transcription.get("model")}
    echo.update(
        {
            "modalities": list(session.get("output_modalities") or ["audio"]),
            "input_audio_format": "not specified",
            "output_audio_format": "not specified",
            "tool_choice": session.get("tool_choice", "auto"),
            "temperature": -1.0,
            "max_response_output_tokens": session.get("max_output_tokens", "inf"),
        }
    )
    wire_in: Event = {"format": copy.deepcopy(audio_in.get("format")), "transport": "json"}
    if transcription is not None:
        wire_in["transcription"] = {"model": transcription.get("model")}
    wire_out = {"format": copy.deepcopy(audio_out.get("format")), "transport": "json"}
    echo["audio"] = {"input": wire_in, "output": wire_out}
    return echo


def _voice(voice: Any) -> str:
    return voice if isinstance(voice, str) else str((voice or {}).get("id", ""))


def _detection(detection: Mapping[str, Any] | None) -> Event:
    """``{"type": null}`` for none; otherwise the keys a client set or that differ from
    the defaults (the recorded echo leaves the defaults out)."""
    if detection is None:
        return {"type": None}
    return {
        key: value
        for key, value in detection.items()
        if key not in _TURN_DETECTION_DEFAULTS or _TURN_DETECTION_DEFAULTS[key] != value
    }


def _tool(tool: Mapping[str, Any]) -> Event:
    """A GA function tool in xAI's nested echo form; other tools as they are."""
    if tool.get("type", "function") != "function":
        return dict(tool)
    function = {k: tool[k] for k in ("name", "description", "parameters") if k in tool}
    return {"type": "function", "function": function}
