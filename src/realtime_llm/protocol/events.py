"""Server events as small frozen values: the one vocabulary the session core understands.

The wire format (JSON dicts) is translated here, once, at the edge. The session core never
sees a raw dict it did not get from this module, and an event type we do not know becomes an
:class:`Unknown` value rather than an exception: servers add events all the time.

Names are the GA ones. Dialects that use other names (the beta's ``response.audio.delta``,
``conversation.item.created``...) translate the ``type`` before :func:`parse_server_event`
runs; see :mod:`realtime_llm.dialects`.

Parsing is on the hot path (every audio and transcript delta goes through it), so the table
below maps a type straight to a constructor, and no validation happens beyond reading the
fields the core needs. A missing field raises :class:`~realtime_llm.errors.ProtocolError`,
which the connection logs and skips.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from realtime_llm.errors import ProtocolError

__all__ = [
    "AudioDelta",
    "AudioDone",
    "BufferCleared",
    "BufferCommitted",
    "FunctionCallArgumentsDone",
    "ItemAdded",
    "ItemDeleted",
    "ItemDone",
    "ItemRetrieved",
    "ItemTruncated",
    "OutputItemAdded",
    "ResponseCreated",
    "ResponseDone",
    "ServerError",
    "ServerEvent",
    "SessionCreated",
    "SessionUpdated",
    "SpeechStarted",
    "SpeechStopped",
    "TextDelta",
    "TextDone",
    "TranscriptDelta",
    "TranscriptDone",
    "TranscriptionCompleted",
    "TranscriptionDelta",
    "TranscriptionFailed",
    "Unknown",
    "parse_server_event",
]

_slots = {"frozen": True, "slots": True}


@dataclass(**_slots)
class SessionCreated:
    session: Mapping[str, Any]


@dataclass(**_slots)
class SessionUpdated:
    session: Mapping[str, Any]


@dataclass(**_slots)
class SpeechStarted:
    item_id: str
    audio_start_ms: int


@dataclass(**_slots)
class SpeechStopped:
    item_id: str
    audio_end_ms: int


@dataclass(**_slots)
class BufferCommitted:
    item_id: str
    previous_item_id: str | None


@dataclass(**_slots)
class BufferCleared:
    pass


@dataclass(**_slots)
class ItemAdded:
    """``conversation.item.added`` (GA) or ``conversation.item.created`` (older servers)."""

    item: Mapping[str, Any]
    previous_item_id: str | None

    @property
    def item_id(self) -> str:
        return str(self.item.get("id", ""))


@dataclass(**_slots)
class ItemDone:
    item: Mapping[str, Any]

    @property
    def item_id(self) -> str:
        return str(self.item.get("id", ""))


@dataclass(**_slots)
class ItemRetrieved:
    item: Mapping[str, Any]

    @property
    def item_id(self) -> str:
        return str(self.item.get("id", ""))


@dataclass(**_slots)
class ItemTruncated:
    item_id: str
    audio_end_ms: int


@dataclass(**_slots)
class ItemDeleted:
    item_id: str


@dataclass(**_slots)
class TranscriptionDelta:
    item_id: str
    delta: str


@dataclass(**_slots)
class TranscriptionCompleted:
    item_id: str
    transcript: str


@dataclass(**_slots)
class TranscriptionFailed:
    item_id: str
    message: str


@dataclass(**_slots)
class ResponseCreated:
    response_id: str


@dataclass(**_slots)
class ResponseDone:
    response_id: str
    status: str
    """``completed``, ``cancelled``, ``failed`` or ``incomplete``."""
    reason: str | None
    """Why it was cancelled or incomplete (``turn_detected``, ``max_output_tokens``...)."""
    error_message: str | None
    usage: Mapping[str, Any] | None
    output: tuple[Mapping[str, Any], ...]


@dataclass(**_slots)
class OutputItemAdded:
    response_id: str
    item: Mapping[str, Any]


@dataclass(**_slots)
class AudioDelta:
    response_id: str
    item_id: str
    delta: str
    """Base64 audio, decoded by whoever needs the bytes (once)."""


@dataclass(**_slots)
class AudioDone:
    response_id: str
    item_id: str


@dataclass(**_slots)
class TranscriptDelta:
    """A piece of the transcript of the assistant's spoken reply."""

    response_id: str
    item_id: str
    delta: str


@dataclass(**_slots)
class TranscriptDone:
    response_id: str
    item_id: str
    transcript: str


@dataclass(**_slots)
class TextDelta:
    """A piece of a text reply (text-only sessions)."""

    response_id: str
    item_id: str
    delta: str


@dataclass(**_slots)
class TextDone:
    response_id: str
    item_id: str
    text: str


@dataclass(**_slots)
class FunctionCallArgumentsDone:
    response_id: str
    item_id: str
    call_id: str
    name: str | None
    """Some servers (Inworld) leave it out; the core remembers it from the output item."""
    arguments: str


@dataclass(**_slots)
class ServerError:
    code: str | None
    message: str
    error_type: str | None
    param: str | None
    event_id: str | None
    """The id of the client event that caused it: the only way to correlate."""


@dataclass(**_slots)
class Unknown:
    """An event type the core does not act on. Kept, never an error."""

    type: str
    data: Mapping[str, Any]


ServerEvent = (
    SessionCreated
    | SessionUpdated
    | SpeechStarted
    | SpeechStopped
    | BufferCommitted
    | BufferCleared
    | ItemAdded
    | ItemDone
    | ItemRetrieved
    | ItemTruncated
    | ItemDeleted
    | TranscriptionDelta
    | TranscriptionCompleted
    | TranscriptionFailed
    | ResponseCreated
    | ResponseDone
    | OutputItemAdded
    | AudioDelta
    | AudioDone
    | TranscriptDelta
    | TranscriptDone
    | TextDelta
    | TextDone
    | FunctionCallArgumentsDone
    | ServerError
    | Unknown
)


def _response_done(e: Mapping[str, Any]) -> ResponseDone:
    response = e["response"]
    details = response.get("status_details")
    if not isinstance(details, Mapping):  # xAI sends a string ("unimplemented")
        details = {}
    error = details.get("error") or {}
    return ResponseDone(
        response_id=response.get("id") or "",
        status=response.get("status") or "completed",
        reason=details.get("reason"),
        error_message=error.get("message") or error.get("code") if error else None,
        # xAI: an empty ``usage`` in the response, the counts at the event's top level
        usage=response.get("usage") or e.get("usage"),
        output=tuple(response.get("output") or ()),
    )


def _error(e: Mapping[str, Any]) -> ServerError:
    error = e.get("error") or {}
    return ServerError(
        code=error.get("code"),
        message=str(error.get("message") or "unknown server error"),
        error_type=error.get("type"),
        param=error.get("param"),
        event_id=error.get("event_id"),
    )


_PARSERS: dict[str, Callable[[Mapping[str, Any]], ServerEvent]] = {
    "session.created": lambda e: SessionCreated(e["session"]),
    "session.updated": lambda e: SessionUpdated(e["session"]),
    "input_audio_buffer.speech_started": lambda e: SpeechStarted(
        e.get("item_id") or "", int(e.get("audio_start_ms") or 0)
    ),
    "input_audio_buffer.speech_stopped": lambda e: SpeechStopped(
        e.get("item_id") or "", int(e.get("audio_end_ms") or 0)
    ),
    "input_audio_buffer.committed": lambda e: BufferCommitted(
        e.get("item_id") or "", e.get("previous_item_id")
    ),
    "input_audio_buffer.cleared": lambda e: BufferCleared(),
    "conversation.item.added": lambda e: ItemAdded(e["item"], e.get("previous_item_id")),
    "conversation.item.created": lambda e: ItemAdded(e["item"], e.get("previous_item_id")),
    "conversation.item.done": lambda e: ItemDone(e["item"]),
    "conversation.item.retrieved": lambda e: ItemRetrieved(e["item"]),
    "conversation.item.truncated": lambda e: ItemTruncated(e["item_id"], int(e["audio_end_ms"])),
    "conversation.item.deleted": lambda e: ItemDeleted(e["item_id"]),
    "conversation.item.input_audio_transcription.delta": lambda e: TranscriptionDelta(
        e["item_id"], e.get("delta") or ""
    ),
    "conversation.item.input_audio_transcription.completed": lambda e: TranscriptionCompleted(
        e["item_id"], e.get("transcript") or ""
    ),
    "conversation.item.input_audio_transcription.failed": lambda e: TranscriptionFailed(
        e["item_id"], str((e.get("error") or {}).get("message") or "transcription failed")
    ),
    "response.created": lambda e: ResponseCreated(e["response"].get("id") or ""),
    "response.done": _response_done,
    "response.output_item.added": lambda e: OutputItemAdded(e["response_id"], e["item"]),
    "response.output_audio.delta": lambda e: AudioDelta(e["response_id"], e["item_id"], e["delta"]),
    "response.output_audio.done": lambda e: AudioDone(e["response_id"], e["item_id"]),
    "response.output_audio_transcript.delta": lambda e: TranscriptDelta(
        e["response_id"], e["item_id"], e["delta"]
    ),
    "response.output_audio_transcript.done": lambda e: TranscriptDone(
        e["response_id"], e["item_id"], e.get("transcript") or ""
    ),
    "response.output_text.delta": lambda e: TextDelta(e["response_id"], e["item_id"], e["delta"]),
    "response.output_text.done": lambda e: TextDone(
        e["response_id"], e["item_id"], e.get("text") or ""
    ),
    "response.function_call_arguments.done": lambda e: FunctionCallArgumentsDone(
        e.get("response_id") or "",
        e.get("item_id") or "",
        e["call_id"],
        e.get("name"),
        e.get("arguments") or "",
    ),
    "error": _error,
}

KNOWN_TYPES = frozenset(_PARSERS)
"""The event types the core acts on. Everything else parses to :class:`Unknown`."""


def parse_server_event(data: Mapping[str, Any]) -> ServerEvent:
    """Translate one decoded server event into its typed value.

    Raises:
        ProtocolError: the event has a known type but lacks a field the core needs.
    """
    event_type = data.get("type")
    if not isinstance(event_type, str):
        raise ProtocolError("server event without a string 'type'")
    parser = _PARSERS.get(event_type)
    if parser is None:
        return Unknown(event_type, data)
    try:
        return parser(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ProtocolError(f"malformed {event_type!r} event: {exc!r}") from exc
