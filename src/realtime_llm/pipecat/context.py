"""pipecat's universal context messages -> GA realtime conversation items.

Pure functions, no I/O: the service and the context sync call them to decide what to send
as ``conversation.item.create``. pipecat's universal ``LLMContext`` holds OpenAI
chat-completions messages; the realtime protocol wants conversation items instead:

=====================================  ==================================================
context message                        conversation item(s)
=====================================  ==================================================
user, text or ``text`` parts           ``message``/``user`` with ``input_text`` parts
user ``image_url`` part (data URL)     ``input_image`` part (``image_url``, ``detail``)
user ``input_audio`` part (WAV)        ``input_audio`` part, in the session's input format
assistant text                         ``message``/``assistant`` with ``output_text``
assistant ``tool_calls``               one ``function_call`` per call
``tool`` (``tool_call_id``)            ``function_call_output`` (non-strings JSON-encoded)
``tool`` placeholder (see below)       nothing yet: the call is still running
``tool`` ``CANCELLED``                 ``function_call_output`` :data:`CANCELLED_OUTPUT`
async-tool final (``developer``)       ``function_call_output`` with the result
system / developer                     ``message``/``system`` with ``input_text``
``LLMSpecificMessage`` for us          its payload, taken to be GA item(s) already
=====================================  ==================================================

Function calls in progress. pipecat writes a placeholder tool message when a call starts
and settles it later: ``"IN_PROGRESS"`` for a synchronous call, an async-tool "started"
envelope (:mod:`pipecat.processors.aggregators.async_tool_messages`) for an async one
(``cancel_on_interruption=False``). A placeholder is never an output: the realtime server
takes exactly one ``function_call_output`` per call, so sending "running" would be the
call's only answer. The final result comes either in the same message, updated in place,
or (when the conversation moved on meanwhile) as a ``developer`` async-tool "final"
envelope; that one is the call's output too, so the server closes the call with the real
result. Intermediate async-tool updates stay ``system`` messages (the envelope as text):
the call stays open for its final result.

Audio. A user turn that only exists as audio (the service records one when the server gives
it no transcript, see :class:`~realtime_llm.protocol.outputs.UserAudioTurn`) is a context
message with a WAV ``input_audio`` part, the shape pipecat's
``LLMContext.create_audio_message`` makes. The realtime server takes ``input_audio``
content as base64 in the session's input format, so the WAV is converted to it
(:class:`InputAudioFormat`; passed through when it already matches).

What the realtime protocol cannot take (remote image URLs: the server wants the bytes;
audio that is not a PCM16 WAV; files) is left out with a warning rather than sent to be
rejected: one bad part must not cost the whole conversation replay.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from loguru import logger
from pipecat.processors.aggregators import async_tool_messages
from pipecat.processors.aggregators.async_tool_messages import AsyncToolMessagePayload
from pipecat.processors.aggregators.llm_context import (
    LLMContextMessage,
    LLMSpecificMessage,
    standard_message_text,
)

from realtime_llm.pipecat.media import AudioFormat, wire_audio_from_wav
from realtime_llm.protocol.tools import CANCELLED_OUTPUT

__all__ = [
    "CANCELLED_OUTPUT",
    "LLM_SPECIFIC_ID",
    "PCM_24K",
    "InputAudioFormat",
    "completed_tool_call_ids",
    "is_placeholder_result",
    "message_text",
    "message_to_items",
    "messages_to_items",
    "output_item",
]

LLM_SPECIFIC_ID = "realtime-llm"
"""The ``llm`` of the ``LLMSpecificMessage`` entries meant for this service."""

_IMAGE_DETAILS = frozenset({"auto", "low", "high"})


@dataclass(frozen=True, slots=True)
class InputAudioFormat:
    """The session's input audio format: what ``input_audio`` content must be in."""

    type: AudioFormat = "audio/pcm"
    rate: int = 24000


PCM_24K = InputAudioFormat()
"""The GA default input format (PCM16, 24 kHz, mono)."""

_TRUNCATED = "..."
"""What ``LLMContext.get_messages(truncate_large_values=True)`` leaves of base64 data."""

_IN_PROGRESS = "IN_PROGRESS"
_CANCELLED = "CANCELLED"


def messages_to_items(
    messages: Iterable[LLMContextMessage], audio_format: InputAudioFormat = PCM_24K
) -> list[dict[str, Any]]:
    """All the items for ``messages``, in order (a message may give several or none)."""
    items: list[dict[str, Any]] = []
    for message in messages:
        items.extend(message_to_items(message, audio_format))
    return items


def message_to_items(
    message: LLMContextMessage, audio_format: InputAudioFormat = PCM_24K
) -> list[dict[str, Any]]:
    """The conversation items for one context message (see the module table); audio in
    ``audio_format``, the session's input format."""
    if isinstance(message, LLMSpecificMessage):
        return _specific_items(message)
    msg = cast("Mapping[str, Any]", message)
    role = msg.get("role")
    if role == "user":
        return _message_item("user", _user_parts(msg.get("content"), audio_format))
    if role in ("system", "developer"):
        final = _async_final(msg)
        if final is not None:
            return [final]
        return _message_item("system", _text_parts(msg.get("content"), "input_text", role))
    if role == "assistant":
        items = _message_item("assistant", _text_parts(msg.get("content"), "output_text", role))
        items.extend(_function_call(call) for call in msg.get("tool_calls") or [])
        return items
    if role == "tool":
        if is_placeholder_result(msg):
            return []
        content = msg.get("content")
        output = CANCELLED_OUTPUT if content == _CANCELLED else _as_text(content)
        return [output_item(str(msg.get("tool_call_id", "")), output)]
    logger.warning(f"realtime context: messages with role {role!r} have no realtime item; skipped")
    return []


def completed_tool_call_ids(messages: Iterable[LLMContextMessage]) -> set[str]:
    """The ``tool_call_id`` of every call that already has a result in ``messages``.

    A placeholder is not a result: a call still running must get its output later.
    """
    done: set[str] = set()
    for message in messages:
        if isinstance(message, LLMSpecificMessage):
            items = _specific_items(message)
        else:
            msg = cast("Mapping[str, Any]", message)
            role = msg.get("role")
            if role == "tool" and msg.get("tool_call_id") and not is_placeholder_result(msg):
                done.add(str(msg["tool_call_id"]))
            final = _async_final(msg) if role in ("system", "developer") else None
            items = [final] if final is not None else []
        done.update(
            str(item["call_id"])
            for item in items
            if item.get("type") == "function_call_output" and item.get("call_id")
        )
    return done


def is_placeholder_result(message: Any) -> bool:
    """Whether ``message`` is the tool message of a call still running (not a result)."""
    if not isinstance(message, Mapping) or message.get("role") != "tool":
        return False
    content = message.get("content")
    if content == _IN_PROGRESS:
        return True
    payload = _async_payload(message)
    return payload is not None and payload.kind == "started"


def message_text(message: LLMContextMessage) -> str:
    """The plain text of a message (text parts joined by spaces), for matching transcripts.

    For one of our own ``LLMSpecificMessage`` items, the ``text``/``transcript`` of its
    content parts; for anything else without text, ``""``.
    """
    if not isinstance(message, LLMSpecificMessage):
        return standard_message_text(message)
    texts: list[str] = []
    for item in _specific_items(message):
        for part in item.get("content") or []:
            if isinstance(part, Mapping):
                text = part.get("text") or part.get("transcript")
                if text:
                    texts.append(str(text))
    return " ".join(texts)


# -- helpers -----------------------------------------------------------------------------


def output_item(call_id: str, output: str) -> dict[str, Any]:
    """A ``function_call_output`` item."""
    return {"type": "function_call_output", "call_id": call_id, "output": output}


def _async_payload(message: Mapping[str, Any]) -> AsyncToolMessagePayload | None:
    """The async-tool envelope a message carries, if any (cheap: JSON only if it looks so)."""
    content = message.get("content")
    if not isinstance(content, str) or '"async_tool"' not in content:
        return None
    return async_tool_messages.parse_message(cast(Any, message))


def _async_final(message: Mapping[str, Any]) -> dict[str, Any] | None:
    """The output item for an async call's final (or cancelled) envelope, else None."""
    payload = _async_payload(message)
    if payload is None or payload.kind != "final" or payload.result is None:
        return None
    return output_item(payload.tool_call_id, payload.result)


def _specific_items(message: LLMSpecificMessage) -> list[dict[str, Any]]:
    """Our own specific messages carry GA items already; other services' are skipped."""
    if message.llm != LLM_SPECIFIC_ID:
        return []
    payload = message.message
    candidates = payload if isinstance(payload, list) else [payload]
    items = [dict(item) for item in candidates if isinstance(item, Mapping)]
    if len(items) != len(candidates):
        logger.warning("realtime context: a specific message that is not item dicts; skipped")
        return []
    return items


def _message_item(role: str, parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not parts:
        return []
    return [{"type": "message", "role": role, "content": parts}]


def _content_parts(content: Any) -> list[Mapping[str, Any]]:
    """Content as a list of parts: a string is one text part, ``None`` none."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    return [part for part in content if isinstance(part, Mapping)]


def _text_parts(content: Any, part_type: str, role: object) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for part in _content_parts(content):
        if part.get("type") == "text":
            if part.get("text"):
                parts.append({"type": part_type, "text": str(part["text"])})
        else:
            _skipped(part, role)
    return parts


def _user_parts(content: Any, audio_format: InputAudioFormat) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for part in _content_parts(content):
        kind = part.get("type")
        if kind == "text":
            if part.get("text"):
                parts.append({"type": "input_text", "text": str(part["text"])})
        elif kind == "image_url":
            image = _image_part(part.get("image_url"))
            if image is not None:
                parts.append(image)
        elif kind == "input_audio":
            audio = _audio_part(part.get("input_audio"), audio_format)
            if audio is not None:
                parts.append(audio)
        else:
            _skipped(part, "user")
    return parts


def _audio_part(spec: Any, audio_format: InputAudioFormat) -> dict[str, Any] | None:
    """A WAV ``input_audio`` part as the GA ``input_audio`` content, in the session format."""
    data = spec.get("data") if isinstance(spec, Mapping) else None
    kind = spec.get("format", "wav") if isinstance(spec, Mapping) else None
    if not isinstance(data, str) or kind != "wav":
        logger.warning(f"realtime context: {kind!r} input_audio cannot be sent (WAV can); skipped")
        return None
    if data == _TRUNCATED:
        return {"type": "input_audio", "audio": _TRUNCATED}  # a context shortened for logs
    try:
        audio = wire_audio_from_wav(data, audio_format.type, audio_format.rate)
    except ValueError as exc:
        logger.warning(f"realtime context: an input_audio part is not usable ({exc}); skipped")
        return None
    return {"type": "input_audio", "audio": audio}


def _image_part(image_url: Any) -> dict[str, Any] | None:
    spec = image_url if isinstance(image_url, Mapping) else {"url": image_url}
    url = spec.get("url")
    if not isinstance(url, str) or not url.startswith("data:"):
        logger.warning(
            "realtime context: only data: image URLs can be sent (the server takes the "
            "bytes, it does not fetch); image skipped"
        )
        return None
    detail = spec.get("detail", "auto")
    return {
        "type": "input_image",
        "image_url": url,
        "detail": detail if detail in _IMAGE_DETAILS else "auto",
    }


def _function_call(call: Mapping[str, Any]) -> dict[str, Any]:
    function = call.get("function") or {}
    return {
        "type": "function_call",
        "call_id": str(call.get("id", "")),
        "name": str(function.get("name", "")),
        "arguments": _as_text(function.get("arguments", "{}")),
    }


def _as_text(value: Any) -> str:
    """Strings as they are; anything else as JSON (``str()`` for what JSON cannot hold)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def _skipped(part: Mapping[str, Any], role: object) -> None:
    logger.warning(
        f"realtime context: a {part.get('type')!r} part in a {role} message has no realtime "
        "equivalent; skipped"
    )
