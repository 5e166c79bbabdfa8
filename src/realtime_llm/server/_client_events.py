"""The eleven GA client events: their schemas, checked before the session core acts.

The wire is translated here, once: an event that passes :func:`check_client_event` has the
fields the core reads, with the right types, and no unknown ones (the real service rejects
unknown parameters, and so must a test double, or bots with typos would pass their tests).
Item content rules that depend on the role (a user cannot send ``output_text``, an
assistant cannot send ``input_audio``) are checked by :func:`check_item` too.
An explicit ``null`` for an optional field means "not given" (see :mod:`._schema`);
:func:`clean_client_event` drops those before the core reads the event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._config import AUDIO_FORMAT, MAX_OUTPUT_TOKENS, SESSION_SCHEMA, TOOL_CHOICE, TOOLS, VOICE
from ._schema import (
    Anything,
    Bool,
    Check,
    Const,
    Enum,
    Integer,
    ListOf,
    MapOf,
    Nullable,
    Obj,
    Problem,
    String,
    Tagged,
    join,
    without_unset,
)

__all__ = [
    "CLIENT_EVENT_TYPES",
    "RESPONSE_FIELDS",
    "check_client_event",
    "check_item",
    "clean_client_event",
]

_ITEM_COMMON: dict[str, Check] = {
    "id": String(max_length=64),
    "object": Const("realtime.item"),
    "status": Enum("completed", "incomplete", "in_progress"),
}

_PART = Obj(
    {
        "type": Enum("input_text", "input_audio", "input_image", "output_text", "output_audio"),
        "text": String(),
        "audio": Nullable(String()),
        "transcript": Nullable(String()),
        "image_url": String(),
        "detail": Enum("auto", "low", "high"),
    },
    required=["type"],
)

_MESSAGE = Obj(
    {
        **_ITEM_COMMON,
        "type": Const("message"),
        "role": Enum("user", "assistant", "system"),
        "content": ListOf(_PART),
    },
    required=["role", "content"],
)

_FUNCTION_CALL = Obj(
    {
        **_ITEM_COMMON,
        "type": Const("function_call"),
        "name": String(),
        "arguments": String(),
        "call_id": String(),
    },
    required=["name", "arguments"],
)

_FUNCTION_CALL_OUTPUT = Obj(
    {
        **_ITEM_COMMON,
        "type": Const("function_call_output"),
        "call_id": String(),
        "output": String(),
    },
    required=["call_id", "output"],
)

ITEM: Check = Tagged(
    {
        "message": _MESSAGE,
        "function_call": _FUNCTION_CALL,
        "function_call_output": _FUNCTION_CALL_OUTPUT,
    }
)

_ITEM_OR_REFERENCE: Check = Tagged(
    {
        "message": _MESSAGE,
        "function_call": _FUNCTION_CALL,
        "function_call_output": _FUNCTION_CALL_OUTPUT,
        "item_reference": Obj({"type": Const("item_reference"), "id": String()}, required=["id"]),
    }
)

RESPONSE_FIELDS: dict[str, Check] = {
    "conversation": String(),
    "instructions": String(),
    "output_modalities": ListOf(Enum("text", "audio"), min_length=1, max_length=1),
    "input": ListOf(_ITEM_OR_REFERENCE),
    "metadata": Nullable(MapOf(String(max_length=512), max_entries=16)),
    "tools": TOOLS,
    "tool_choice": TOOL_CHOICE,
    "max_output_tokens": MAX_OUTPUT_TOKENS,
    "audio": Obj({"output": Obj({"format": AUDIO_FORMAT, "voice": VOICE})}),
    "prompt": Nullable(MapOf(Anything())),
    "parallel_tool_calls": Bool(),
    "reasoning": Nullable(MapOf(Anything())),
}
"""``response.create``'s ``response`` keys and their checks (dialects derive theirs)."""
_RESPONSE_PARAMS = Obj(RESPONSE_FIELDS)

_EVENT_ID: dict[str, Check] = {"type": String(), "event_id": Nullable(String(max_length=512))}

_SCHEMAS: dict[str, Check] = {
    "session.update": Obj({**_EVENT_ID, "session": SESSION_SCHEMA}, required=["session"]),
    "input_audio_buffer.append": Obj({**_EVENT_ID, "audio": String()}, required=["audio"]),
    "input_audio_buffer.commit": Obj(_EVENT_ID),
    "input_audio_buffer.clear": Obj(_EVENT_ID),
    "output_audio_buffer.clear": Obj(_EVENT_ID),
    "conversation.item.create": Obj(
        {**_EVENT_ID, "item": ITEM, "previous_item_id": Nullable(String())}, required=["item"]
    ),
    "conversation.item.retrieve": Obj({**_EVENT_ID, "item_id": String()}, required=["item_id"]),
    "conversation.item.delete": Obj({**_EVENT_ID, "item_id": String()}, required=["item_id"]),
    "conversation.item.truncate": Obj(
        {
            **_EVENT_ID,
            "item_id": String(),
            "content_index": Integer(0),
            "audio_end_ms": Integer(0),
        },
        required=["item_id", "content_index", "audio_end_ms"],
    ),
    "response.create": Obj({**_EVENT_ID, "response": Nullable(_RESPONSE_PARAMS)}),
    "response.cancel": Obj({**_EVENT_ID, "response_id": String()}),
}

CLIENT_EVENT_TYPES = tuple(_SCHEMAS)

_PARTS_BY_ROLE = {
    "user": ("input_text", "input_audio", "input_image"),
    "assistant": ("output_text", "output_audio"),
    "system": ("input_text",),
}
_REQUIRED_BY_PART = {
    "input_text": "text",
    "output_text": "text",
    "input_audio": "audio",
    "input_image": "image_url",
}


def check_item(item: Mapping[str, Any], path: str) -> Problem | None:
    """Role-dependent rules for an item that already passed the schema."""
    if item.get("type") != "message":
        return None
    allowed = _PARTS_BY_ROLE[item["role"]]
    for index, part in enumerate(item["content"]):
        where = join(join(path, "content"), index)
        if part["type"] not in allowed:
            return Problem(
                "invalid_value",
                f"Invalid value: '{part['type']}'. Supported values for a {item['role']} "
                f"message are: {', '.join(repr(a) for a in allowed)}.",
                join(where, "type"),
            )
        required = _REQUIRED_BY_PART.get(part["type"])
        if required is not None and not part.get(required):
            target = join(where, required)
            return Problem(
                "missing_required_parameter", f"Missing required parameter: '{target}'.", target
            )
    return None


def check_client_event(event: Mapping[str, Any]) -> Problem | None:
    """Why ``event`` (a decoded JSON object) is not a valid GA client event, if it is not."""
    kind = event.get("type")
    if not isinstance(kind, str):
        if "type" not in event:
            return Problem(
                "missing_required_parameter", "Missing required parameter: 'type'.", "type"
            )
        return Problem("invalid_type", "Invalid type for 'type': expected a string.", "type")
    schema = _SCHEMAS.get(kind)
    if schema is None:
        supported = ", ".join(f"'{t}'" for t in CLIENT_EVENT_TYPES)
        return Problem(
            "invalid_value",
            f"Invalid value: '{kind[:100]}'. Supported values are: {supported}.",
            "type",
        )
    problem = schema(event, "")
    if problem is not None:
        return problem
    if kind == "conversation.item.create":
        return check_item(event["item"], "item")
    if kind == "response.create":
        for index, item in enumerate((event.get("response") or {}).get("input") or []):
            problem = check_item(item, f"response.input[{index}]")
            if problem is not None:
                return problem
    return None


def clean_client_event(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """A checked event without the ``null`` values that mean "not given"."""
    schema = _SCHEMAS.get(str(event.get("type")))
    if schema is None:
        return event
    cleaned: Mapping[str, Any] = without_unset(event, schema)
    return cleaned
