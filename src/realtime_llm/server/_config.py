"""The GA session object: its defaults, its schema, and how ``session.update`` merges into it.

Why a separate module: the session object is the one piece of state every other part reads
(VAD settings, transcription, voice, modalities), and its rules are fiddly: nested
``audio.input``/``audio.output`` objects merge key by key, while leaf objects such as
``turn_detection``, ``transcription`` or ``format`` replace what was there (and get their
defaults filled in). Keeping those rules here keeps :mod:`.session` about the conversation.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ._schema import (
    AnyOf,
    Anything,
    Bool,
    Check,
    Const,
    Enum,
    Integer,
    ListOf,
    MapOf,
    Nullable,
    Number,
    Obj,
    Problem,
    String,
    Tagged,
)

__all__ = [
    "AUDIO_FORMAT",
    "AUDIO_INPUT_FIELDS",
    "AUDIO_OUTPUT_FIELDS",
    "BETA_VOICES",
    "DEFAULT_INSTRUCTIONS",
    "FUNCTION_TOOL",
    "MAX_OUTPUT_TOKENS",
    "NOISE_REDUCTION",
    "OPENAI_VOICES",
    "SEMANTIC_VAD_FIELDS",
    "SERVER_VAD_FIELDS",
    "SESSION_FIELDS",
    "SESSION_SCHEMA",
    "TOOLS",
    "TOOL_CHOICE",
    "TRACING",
    "TRANSCRIPTION",
    "TURN_DETECTION",
    "VOICE",
    "apply_session_update",
    "default_session",
    "turn_detection_with_defaults",
    "voice_problem",
]

DEFAULT_INSTRUCTIONS = (
    "You are a helpful voice assistant running on a local test server. Keep replies short."
)

AUDIO_FORMAT: Check = Tagged(
    {
        "audio/pcm": Obj({"type": Const("audio/pcm"), "rate": Integer(24000, 24000)}),
        "audio/pcmu": Obj({"type": Const("audio/pcmu")}),
        "audio/pcma": Obj({"type": Const("audio/pcma")}),
    }
)

VOICE: Check = AnyOf(
    String(), Obj({"id": String()}, required=["id"]), expected="a string or a voice object"
)
"""The voice's shape. Which names exist is the server dialect's business (voice_problem)."""

OPENAI_VOICES = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "sage",
    "shimmer",
    "verse",
    "marin",
    "cedar",
)
"""OpenAI GA's built-in voices, in the order its docs list them."""
BETA_VOICES = OPENAI_VOICES[:8]
"""The beta's voices, per ``openai.types.beta.realtime`` (no ``marin``, ``cedar``)."""


def voice_problem(
    container: Mapping[str, Any], path: str, voices: tuple[str, ...] | None
) -> Problem | None:
    """Refuse a voice name the server does not have, as OpenAI does (``invalid_value``).

    ``container`` is a GA session or response object and ``path`` its parameter name
    (``session``, ``response``); ``voices`` None accepts any name (servers with custom
    voices). A voice object (``{"id": ...}``, a custom voice) is always accepted.
    """
    audio = container.get("audio")
    output = audio.get("output") if isinstance(audio, Mapping) else None
    voice = output.get("voice") if isinstance(output, Mapping) else None
    if voices is None or not isinstance(voice, str):
        return None
    return Enum(*voices)(voice, f"{path}.audio.output.voice")


FUNCTION_TOOL: Check = Obj(
    {
        "type": Const("function"),
        "name": String(max_length=64),
        "description": String(),
        "parameters": MapOf(Anything()),
    },
    required=["name"],
)
# MCP tools are stored and echoed but never called by the local engines.
_MCP_TOOL = MapOf(Anything())

TOOLS: Check = ListOf(Tagged({"function": FUNCTION_TOOL, "mcp": _MCP_TOOL}), max_length=128)

TOOL_CHOICE: Check = AnyOf(
    Enum("none", "auto", "required"),
    Tagged(
        {
            "function": Obj({"type": Const("function"), "name": String()}, required=["name"]),
            "mcp": Obj(
                {"type": Const("mcp"), "server_label": String(), "name": Nullable(String())},
                required=["server_label"],
            ),
        }
    ),
    expected="a string or an object",
)

MAX_OUTPUT_TOKENS: Check = AnyOf(Integer(1, 4096), Const("inf"), expected="an integer or 'inf'")

_VAD_COMMON: dict[str, Check] = {
    "create_response": Bool(),
    "interrupt_response": Bool(),
}
SERVER_VAD_FIELDS: dict[str, Check] = {
    "type": Const("server_vad"),
    "threshold": Number(0.0, 1.0),
    "prefix_padding_ms": Integer(0, 10_000),
    "silence_duration_ms": Integer(0, 10_000),
    "idle_timeout_ms": Nullable(Integer(5_000, 30_000)),
    **_VAD_COMMON,
}
SEMANTIC_VAD_FIELDS: dict[str, Check] = {
    "type": Const("semantic_vad"),
    "eagerness": Enum("low", "medium", "high", "auto"),
    **_VAD_COMMON,
}
TURN_DETECTION: Check = Nullable(
    Tagged({"server_vad": Obj(SERVER_VAD_FIELDS), "semantic_vad": Obj(SEMANTIC_VAD_FIELDS)})
)

TRANSCRIPTION: Check = Nullable(
    Obj(
        {
            "model": String(),
            "language": String(),
            "languages": ListOf(String()),
            "prompt": String(),
            "keywords": ListOf(String()),
            "delay": Enum("minimal", "low", "medium", "high", "xhigh"),
        }
    )
)

NOISE_REDUCTION: Check = Nullable(
    Obj({"type": Enum("near_field", "far_field"), "strength": Number(0.0, 1.0)})
)

TRACING: Check = Nullable(
    AnyOf(
        Const("auto"),
        Obj({"workflow_name": String(), "group_id": String(), "metadata": Anything()}),
        expected="'auto' or an object",
    )
)

AUDIO_INPUT_FIELDS: dict[str, Check] = {
    "format": AUDIO_FORMAT,
    "noise_reduction": NOISE_REDUCTION,
    "transcription": TRANSCRIPTION,
    "turn_detection": TURN_DETECTION,
}
AUDIO_OUTPUT_FIELDS: dict[str, Check] = {
    "format": AUDIO_FORMAT,
    "voice": VOICE,
    "speed": Number(0.25, 1.5),
}

SESSION_FIELDS: dict[str, Check] = {
    "type": Const("realtime"),
    "model": String(),
    "instructions": String(max_length=1_000_000),
    "output_modalities": ListOf(Enum("text", "audio"), min_length=1, max_length=1),
    "audio": Obj({"input": Obj(AUDIO_INPUT_FIELDS), "output": Obj(AUDIO_OUTPUT_FIELDS)}),
    "tools": TOOLS,
    "tool_choice": TOOL_CHOICE,
    "max_output_tokens": MAX_OUTPUT_TOKENS,
    "tracing": TRACING,
    "truncation": AnyOf(
        Enum("auto", "disabled"),
        Obj(
            {
                "type": Const("retention_ratio"),
                "retention_ratio": Number(0.0, 1.0),
                "token_limits": Obj({"post_instructions": Integer(0)}),
            },
            required=["type", "retention_ratio"],
        ),
        expected="a string or an object",
    ),
    "prompt": Nullable(MapOf(Anything())),
    "include": Nullable(ListOf(Enum("item.input_audio_transcription.logprobs"))),
    "parallel_tool_calls": Bool(),
    "reasoning": Obj({"effort": Enum("minimal", "low", "medium", "high", "xhigh")}),
}
"""The GA session's keys and their checks (dialects derive their own shapes from these)."""

SESSION_SCHEMA: Check = Obj(SESSION_FIELDS, required=["type"])

_SERVER_VAD_DEFAULTS: dict[str, Any] = {
    "type": "server_vad",
    "threshold": 0.5,
    "prefix_padding_ms": 300,
    "silence_duration_ms": 500,
    "idle_timeout_ms": None,
    "create_response": True,
    "interrupt_response": True,
}
_SEMANTIC_VAD_DEFAULTS: dict[str, Any] = {
    "type": "semantic_vad",
    "eagerness": "auto",
    "create_response": True,
    "interrupt_response": True,
}


def turn_detection_with_defaults(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A client's ``turn_detection`` with every omitted field set to its GA default."""
    if value is None:
        return None
    base = _SEMANTIC_VAD_DEFAULTS if value.get("type") == "semantic_vad" else _SERVER_VAD_DEFAULTS
    return {**base, **value}


def default_session(model: str) -> dict[str, Any]:
    """The full session object a GA server reports in ``session.created``."""
    return {
        "type": "realtime",
        "model": model,
        "output_modalities": ["audio"],
        "instructions": DEFAULT_INSTRUCTIONS,
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "truncation": "auto",
        "prompt": None,
        "include": None,
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": dict(_SERVER_VAD_DEFAULTS),
            },
            "output": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "voice": "alloy",
                "speed": 1.0,
            },
        },
    }


def _with_format_defaults(value: Mapping[str, Any]) -> dict[str, Any]:
    if value.get("type") == "audio/pcm":
        return {"type": "audio/pcm", "rate": 24000}
    return dict(value)


def apply_session_update(
    current: Mapping[str, Any], patch: Mapping[str, Any], *, audio_produced: bool
) -> tuple[dict[str, Any], Problem | None]:
    """Validate ``patch`` (the ``session`` of a ``session.update``) and merge it.

    Returns the new session and ``None``, or the unchanged session and the problem. ``audio``
    merges per key down to ``audio.input``/``audio.output``; everything else replaces.
    ``audio_produced`` enforces that the voice is fixed once assistant audio exists.
    """
    problem = SESSION_SCHEMA(patch, "session")
    if problem is not None:
        return dict(current), problem
    new = copy.deepcopy(dict(current))
    for key, value in patch.items():
        if key != "audio":
            new[key] = copy.deepcopy(value)
    audio = patch.get("audio") or {}
    for direction in ("input", "output"):
        for key, value in (audio.get(direction) or {}).items():
            if key == "turn_detection":
                value = turn_detection_with_defaults(value)
            elif key == "transcription" and value is not None:
                value = {"model": None, "language": None, "prompt": None, **value}
            elif key == "format":
                value = _with_format_defaults(value)
            new["audio"][direction][key] = copy.deepcopy(value)
    if audio_produced:
        old_voice = current["audio"]["output"]["voice"]
        if new["audio"]["output"]["voice"] != old_voice:
            return dict(current), Problem(
                "cannot_update_voice",
                "Cannot update a conversation's voice if assistant audio is present.",
                "session.audio.output.voice",
            )
    return new, None
