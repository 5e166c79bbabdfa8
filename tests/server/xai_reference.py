"""What a real xAI server sends, as a check for the local ``xai`` dialect's events.

The ``openai`` package has no model of xAI's events, and they differ from GA in shape (see
``realtime_llm.server._xai_wire``), so :func:`xai_as_ga` checks exactly those differences
against the recorded xAI session (``test_xai_ws/test_tool_call_round.yaml`` of the shared
cassettes, recorded by the pydantic-ai project, MIT), then hands back the event in GA form
for the strict GA check. Events the recording does not show (VAD, transcription, errors)
must be GA plus ``previous_item_id``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Event = dict[str, Any]

# Key sets as recorded.
SESSION_CREATED_KEYS = {
    "id",
    "object",
    "instructions",
    "voice",
    "modalities",
    "turn_detection",
    "tools",
    "model",
}
SESSION_UPDATED_KEYS = {
    "instructions",
    "enable_noise_suppression",
    "turn_detection",
    "model",
    "tools",
    "keep_context",
    "enable_phonetic_spelling",
    "input_audio_transcription",
    "modalities",
    "input_audio_format",
    "output_audio_format",
    "tool_choice",
    "temperature",
    "max_response_output_tokens",
    "audio",
}
SESSION_UPDATED_OPTIONAL = {"voice", "input_audio_transcription"}
RESPONSE_KEYS = {"id", "object", "output", "status", "status_details", "usage"}
USAGE_KEYS = {
    "input_tokens",
    "input_token_details",
    "output_tokens",
    "output_token_details",
    "total_tokens",
    "output_audio_seconds",
    "billable_audio_seconds",
}
TOKEN_DETAIL_KEYS = {"text_tokens", "audio_tokens", "grok_tokens"}

# GA events that have a previous_item_id of their own.
_GA_PREVIOUS = {
    "conversation.item.added",
    "conversation.item.done",
    "input_audio_buffer.committed",
}
_PARTS = {"audio": "output_audio", "text": "output_text"}


def _ga_item(item: Mapping[str, Any], *, in_output: bool) -> Event:
    out = dict(item)
    if out.get("type") in ("function_call", "function_call_output"):
        role = out.pop("role")
        expected = "user" if in_output and out["type"] == "function_call" else "tool"
        assert role == expected, (out["type"], role, in_output)
    if out.get("type") == "message" and in_output and "content" in out:
        out["content"] = [{**p, "type": _PARTS.get(p["type"], p["type"])} for p in out["content"]]
    return out


def _check_session(kind: str, session: Mapping[str, Any]) -> None:
    keys = set(session)
    if kind == "session.created":
        assert keys == SESSION_CREATED_KEYS, keys ^ SESSION_CREATED_KEYS
        assert isinstance(session["turn_detection"], dict) and "type" in session["turn_detection"]
        return
    missing = SESSION_UPDATED_KEYS - SESSION_UPDATED_OPTIONAL - keys
    extra = keys - SESSION_UPDATED_KEYS - SESSION_UPDATED_OPTIONAL
    assert not missing and not extra, (missing, extra)
    assert session["input_audio_format"] == session["output_audio_format"] == "not specified"
    assert set(session["audio"]) == {"input", "output"}
    assert session["audio"]["input"]["transport"] == session["audio"]["output"]["transport"]
    for tool in session["tools"]:
        if tool.get("type") == "function":
            assert set(tool) == {"type", "function"}, tool


def _check_usage(usage: Mapping[str, Any]) -> None:
    assert set(usage) == USAGE_KEYS, set(usage) ^ USAGE_KEYS
    assert set(usage["input_token_details"]) == TOKEN_DETAIL_KEYS
    assert set(usage["output_token_details"]) == TOKEN_DETAIL_KEYS
    assert isinstance(usage["output_audio_seconds"], float)
    assert isinstance(usage["billable_audio_seconds"], int)


def xai_as_ga(event: Mapping[str, Any]) -> Event:
    """Check ``event`` against the recorded xAI shapes; return it in GA form ({} if GA has
    no such event)."""
    kind = event["type"]
    out = dict(event)
    if kind != "session.created":
        previous = out.pop("previous_item_id")
        if kind in _GA_PREVIOUS:
            out["previous_item_id"] = previous
        elif kind == "response.content_part.added":
            assert previous == str(event["content_index"])
        else:
            assert previous is None, (kind, previous)
    if kind == "ping":
        assert set(out) == {"type", "event_id", "timestamp"}
        assert isinstance(out["timestamp"], int)
        return {}
    if kind == "conversation.created":
        assert set(out) == {"type", "event_id", "conversation"}
        assert out["conversation"]["object"] == "realtime.conversation"
        return {}
    if kind == "conversation.item.input_audio_transcription.updated":
        assert set(out) == {"type", "event_id", "item_id", "content_index", "transcript"}
        return {}
    if kind in ("session.created", "session.updated"):
        _check_session(kind, out["session"])
        return {}
    if kind == "response.text.delta":  # the twin of response.output_text.delta
        out["type"] = kind = "response.output_text.delta"
    if kind in ("response.created", "response.done"):
        response = out["response"]
        assert set(response) == RESPONSE_KEYS, set(response) ^ RESPONSE_KEYS
        assert response["status_details"] == "unimplemented" and response["usage"] == {}
        out["response"] = {
            "id": response["id"],
            "object": response["object"],
            "status": response["status"],
            "output": [_ga_item(i, in_output=True) for i in response["output"]],
        }
        if kind == "response.done":
            assert out.pop("response_id") == response["id"]
            _check_usage(out.pop("usage"))
    elif kind in ("response.output_item.added", "response.output_item.done"):
        out["item"] = _ga_item(out["item"], in_output=True)
        if out["item"].get("type") == "message":
            assert "content" not in out["item"]
            out["item"]["content"] = []
    elif kind == "conversation.item.added":
        out["item"] = _ga_item(out["item"], in_output=False)
    elif kind == "response.content_part.done":
        assert "part" not in out
        out["part"] = {"type": "audio"}
    elif kind == "response.function_call_arguments.delta":
        assert "output_index" not in out
        out["output_index"] = 0
    elif kind == "response.output_audio.delta":
        assert isinstance(out.pop("rid"), str) and isinstance(out.pop("ts"), int)
        assert isinstance(out.pop("audio_duration_ms"), int)
        latency = out.pop("latency", "0")
        assert isinstance(latency, str)
    elif kind == "response.output_audio_transcript.delta":
        assert out.pop("rid") == out["event_id"]
        assert isinstance(out.pop("start_time"), float)
    assert kind != "conversation.item.done", "xAI sends no conversation.item.done"
    return out
