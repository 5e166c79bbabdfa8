"""What the session core hands back: client events to send, and things that happened.

The core's commands and its ``receive`` both return a list of these, in the order they
must be acted on. :class:`Send` carries a client event for the connection; every other
value is a *happening* for the glue to turn into pipecat frames, metrics or spans. They
are plain frozen values, so a test can compare them with ``==``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from realtime_llm.errors import ErrorClass

__all__ = [
    "AssistantText",
    "AssistantTranscript",
    "AudioChunk",
    "AudioStarted",
    "AudioStopped",
    "ErrorReported",
    "FeatureUnavailable",
    "ItemCreated",
    "ItemUpdated",
    "Output",
    "ResponseEnded",
    "ResponseStarted",
    "ResponseUsage",
    "RetrieveFinished",
    "Send",
    "SessionReady",
    "ToolCall",
    "ToolCallsRequested",
    "UserAudioTurn",
    "UserSpeechStarted",
    "UserSpeechStopped",
    "UserTranscript",
    "UserTranscriptDelta",
]

_v = {"frozen": True, "slots": True}


@dataclass(**_v)
class Send:
    """A client event to send, as the dict that goes on the wire (GA names)."""

    event: dict[str, Any]


@dataclass(**_v)
class SessionReady:
    """The server applied our session configuration (first ``session.updated``)."""


@dataclass(**_v)
class ResponseStarted:
    response_id: str


@dataclass(**_v)
class ResponseEnded:
    """A response is over: exactly one per :class:`ResponseStarted`."""

    response_id: str
    status: str
    reason: str | None = None
    usage: Mapping[str, Any] | None = None
    error_message: str | None = None
    interrupted: bool = False
    overdue_transcripts: tuple[str, ...] = ()
    """User turns (item ids) whose transcript had not come when this reply ended: each
    arrives later as a ``UserTranscript(late=True)`` and belongs before this reply."""


@dataclass(**_v)
class ResponseUsage:
    """The usage of a response that already ended: the server's ``response.done`` of a
    response the client interrupted. Billed all the same, so the glue reports it."""

    response_id: str
    usage: Mapping[str, Any]


@dataclass(**_v)
class AudioStarted:
    item_id: str


@dataclass(**_v)
class AudioChunk:
    item_id: str
    audio_b64: str


@dataclass(**_v)
class AudioStopped:
    item_id: str


@dataclass(**_v)
class AssistantTranscript:
    """A piece of what the assistant is saying (spoken replies)."""

    text: str


@dataclass(**_v)
class AssistantText:
    """A piece of a text reply (text-only sessions)."""

    text: str


@dataclass(**_v)
class UserSpeechStarted:
    """Server VAD heard the user start: the playing reply has already been handled."""


@dataclass(**_v)
class UserSpeechStopped:
    pass


@dataclass(**_v)
class UserTranscriptDelta:
    item_id: str
    text: str


@dataclass(**_v)
class UserTranscript:
    """What the user said in one turn.

    ``late``: the reply that this turn prompted already ended (its ``ResponseEnded``
    listed the item in ``overdue_transcripts``); the turn belongs before that reply, not
    in whatever user turn is being gathered now.
    """

    item_id: str
    text: str
    late: bool = False


@dataclass(**_v)
class UserAudioTurn:
    """A user turn that has no transcript (transcription off, failed or empty): its audio.

    ``audio``: the base64 chunks that were sent for it, in the session's input format, at
    most the recorder's bound (:mod:`~realtime_llm.protocol.turn_audio`). The glue records
    the turn in the history so that a new session is given it; ``late`` as for
    :class:`UserTranscript`: the reply it prompted already ended.
    """

    item_id: str
    audio: tuple[str, ...]
    late: bool = False


@dataclass(**_v)
class ToolCall:
    call_id: str
    name: str
    arguments: Mapping[str, Any]


@dataclass(**_v)
class ToolCallsRequested:
    """The model asked for these calls; the glue runs them through pipecat's machinery."""

    calls: tuple[ToolCall, ...]


@dataclass(**_v)
class ItemCreated:
    item_id: str
    item: Mapping[str, Any]


@dataclass(**_v)
class ItemUpdated:
    item_id: str
    item: Mapping[str, Any]


@dataclass(**_v)
class RetrieveFinished:
    item_id: str
    item: Mapping[str, Any] | None
    error: str | None = None


@dataclass(**_v)
class ErrorReported:
    """A server error the user should hear about (benign ones are only logged)."""

    message: str
    code: str | None
    error_class: ErrorClass
    param: str | None = None
    event_id: str | None = field(default=None, compare=False)
    """The client event the error answers, if the server said (to ask again for it)."""


@dataclass(**_v)
class FeatureUnavailable:
    """The server cannot do something the session would have done: warn once, go on."""

    feature: str
    consequence: str


Output = (
    Send
    | SessionReady
    | ResponseStarted
    | ResponseEnded
    | ResponseUsage
    | AudioStarted
    | AudioChunk
    | AudioStopped
    | AssistantTranscript
    | AssistantText
    | UserSpeechStarted
    | UserSpeechStopped
    | UserTranscriptDelta
    | UserTranscript
    | UserAudioTurn
    | ToolCallsRequested
    | ItemCreated
    | ItemUpdated
    | RetrieveFinished
    | ErrorReported
    | FeatureUnavailable
)
