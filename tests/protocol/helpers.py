"""Fixtures for the protocol tests: GA-shaped server events, and a harness around the core.

Every server event built here is a complete OpenAI Realtime GA event: the harness checks it
against ``openai.types.realtime.RealtimeServerEvent`` before feeding it, and checks every
client event the core asks to send against ``RealtimeClientEvent``. So each test is also a
small conformance test, and a fixture that drifts from the real protocol fails loudly.

Audio is 24 kHz PCM16 mono throughout: 48 bytes per millisecond.
"""

from __future__ import annotations

import base64
import functools
import itertools
from collections.abc import Iterable, Mapping
from typing import Any

import pydantic
from openai.types.realtime import RealtimeClientEvent, RealtimeServerEvent

from realtime_llm.protocol.capabilities import Capabilities
from realtime_llm.protocol.events import parse_server_event
from realtime_llm.protocol.outputs import Output, Send
from realtime_llm.protocol.session import RealtimeSession

BYTES_PER_MS = 48

Event = dict[str, Any]


# -- validation against the openai package's typed models ---------------------------------


@functools.cache
def _server_adapter() -> pydantic.TypeAdapter[Any]:
    return pydantic.TypeAdapter(RealtimeServerEvent)


@functools.cache
def _client_adapter() -> pydantic.TypeAdapter[Any]:
    return pydantic.TypeAdapter(RealtimeClientEvent)


def validate_server_event(event: Mapping[str, Any]) -> None:
    """Raise pydantic.ValidationError unless ``event`` is a valid GA server event."""
    _server_adapter().validate_python(event)


def validate_client_event(event: Mapping[str, Any]) -> None:
    """Raise pydantic.ValidationError unless ``event`` is a valid GA client event."""
    _client_adapter().validate_python(event)


# -- audio ---------------------------------------------------------------------------------


def pcm_bytes(nbytes: int, fill: int = 0) -> str:
    """Base64 of ``nbytes`` bytes of audio (``fill`` makes chunks distinguishable)."""
    return base64.b64encode(bytes([fill]) * nbytes).decode("ascii")


def pcm(ms: int, fill: int = 0) -> str:
    """Base64 of ``ms`` milliseconds of 24 kHz PCM16 mono audio."""
    return pcm_bytes(ms * BYTES_PER_MS, fill)


# -- session configuration (the ``session`` object of ``session.update``) -----------------


def session_config(
    *,
    transcription: bool = False,
    turn_detection: str | None = "server_vad",
    tools: list[dict[str, Any]] | None = None,
    instructions: str = "You are a helpful voice assistant. Be brief.",
) -> dict[str, Any]:
    """A complete GA realtime session configuration."""
    audio_input: dict[str, Any] = {
        "format": {"type": "audio/pcm", "rate": 24000},
        "noise_reduction": {"type": "near_field"},
        "turn_detection": (
            None
            if turn_detection is None
            else {
                "type": turn_detection,
                "threshold": 0.5,
                "prefix_padding_ms": 300,
                "silence_duration_ms": 500,
                "create_response": True,
                "interrupt_response": True,
            }
        ),
    }
    if turn_detection == "semantic_vad":
        audio_input["turn_detection"] = {"type": "semantic_vad", "eagerness": "auto"}
    if transcription:
        audio_input["transcription"] = {"model": "gpt-4o-transcribe", "language": "en"}
    session: dict[str, Any] = {
        "type": "realtime",
        "model": "gpt-realtime",
        "output_modalities": ["audio"],
        "instructions": instructions,
        "audio": {
            "input": audio_input,
            "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin"},
        },
        "tool_choice": "auto",
        "tools": tools or [],
    }
    return session


WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


# -- conversation items --------------------------------------------------------------------


def assistant_audio_item(
    item_id: str, *, status: str = "in_progress", transcript: str | None = None
) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if transcript is not None:
        content.append({"type": "output_audio", "transcript": transcript})
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": content,
    }


def assistant_text_item(item_id: str, text: str, *, status: str = "completed") -> dict[str, Any]:
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": [{"type": "output_text", "text": text}],
    }


def user_audio_item(item_id: str, transcript: str | None = None) -> dict[str, Any]:
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "message",
        "status": "completed",
        "role": "user",
        "content": [{"type": "input_audio", "transcript": transcript}],
    }


def user_text_item(text: str, item_id: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": text}],
    }
    if item_id is not None:
        item["id"] = item_id
    return item


def function_call_item(
    item_id: str,
    call_id: str,
    name: str,
    arguments: str = "",
    *,
    status: str = "in_progress",
) -> dict[str, Any]:
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "function_call",
        "status": status,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }


def function_call_output_item(call_id: str, output: str) -> dict[str, Any]:
    return {"type": "function_call_output", "call_id": call_id, "output": output}


# -- server events -------------------------------------------------------------------------


class ServerEvents:
    """Builds complete GA server events, numbering their ``event_id``\\ s."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    def _ev(self, type_: str, **fields: Any) -> Event:
        return {"type": type_, "event_id": f"event_{next(self._ids)}", **fields}

    # session
    def session_created(self, session: Mapping[str, Any] | None = None) -> Event:
        return self._ev("session.created", session=dict(session or _server_session()))

    def session_updated(self, session: Mapping[str, Any] | None = None) -> Event:
        return self._ev("session.updated", session=dict(session or _server_session()))

    # input audio buffer
    def speech_started(self, item_id: str, audio_start_ms: int = 1000) -> Event:
        return self._ev(
            "input_audio_buffer.speech_started", audio_start_ms=audio_start_ms, item_id=item_id
        )

    def speech_stopped(self, item_id: str, audio_end_ms: int = 2000) -> Event:
        return self._ev(
            "input_audio_buffer.speech_stopped", audio_end_ms=audio_end_ms, item_id=item_id
        )

    def committed(self, item_id: str, previous_item_id: str | None = None) -> Event:
        return self._ev(
            "input_audio_buffer.committed", item_id=item_id, previous_item_id=previous_item_id
        )

    def cleared(self) -> Event:
        return self._ev("input_audio_buffer.cleared")

    def timeout_triggered(self, item_id: str) -> Event:
        return self._ev(
            "input_audio_buffer.timeout_triggered",
            audio_start_ms=1000,
            audio_end_ms=6000,
            item_id=item_id,
        )

    # conversation items
    def item_added(self, item: Mapping[str, Any], previous_item_id: str | None = None) -> Event:
        return self._ev(
            "conversation.item.added", item=dict(item), previous_item_id=previous_item_id
        )

    def item_created(self, item: Mapping[str, Any], previous_item_id: str | None = None) -> Event:
        return self._ev(
            "conversation.item.created", item=dict(item), previous_item_id=previous_item_id
        )

    def item_done(self, item: Mapping[str, Any], previous_item_id: str | None = None) -> Event:
        return self._ev(
            "conversation.item.done", item=dict(item), previous_item_id=previous_item_id
        )

    def item_retrieved(self, item: Mapping[str, Any]) -> Event:
        return self._ev("conversation.item.retrieved", item=dict(item))

    def item_truncated(self, item_id: str, audio_end_ms: int) -> Event:
        return self._ev(
            "conversation.item.truncated",
            item_id=item_id,
            content_index=0,
            audio_end_ms=audio_end_ms,
        )

    def item_deleted(self, item_id: str) -> Event:
        return self._ev("conversation.item.deleted", item_id=item_id)

    # user transcription
    def transcription_delta(self, item_id: str, delta: str) -> Event:
        return self._ev(
            "conversation.item.input_audio_transcription.delta",
            item_id=item_id,
            content_index=0,
            delta=delta,
        )

    def transcription_completed(self, item_id: str, transcript: str) -> Event:
        return self._ev(
            "conversation.item.input_audio_transcription.completed",
            item_id=item_id,
            content_index=0,
            transcript=transcript,
            usage={"type": "duration", "seconds": 1.5},
        )

    def transcription_failed(self, item_id: str, message: str = "Audio too short") -> Event:
        return self._ev(
            "conversation.item.input_audio_transcription.failed",
            item_id=item_id,
            content_index=0,
            error={
                "type": "transcription_error",
                "code": "audio_unintelligible",
                "message": message,
            },
        )

    # responses
    def response_created(
        self, response_id: str, metadata: Mapping[str, str] | None = None
    ) -> Event:
        response = _response(response_id, "in_progress")
        response["metadata"] = dict(metadata) if metadata is not None else None
        return self._ev("response.created", response=response)

    def response_done(
        self,
        response_id: str,
        status: str = "completed",
        *,
        reason: str | None = None,
        error: Mapping[str, Any] | None = None,
        usage: Mapping[str, Any] | None = None,
        output: Iterable[Mapping[str, Any]] = (),
    ) -> Event:
        response = _response(response_id, status)
        if status != "completed" or error:
            details: dict[str, Any] = {"type": status}
            if reason is not None:
                details["reason"] = reason
            if error is not None:
                details["error"] = dict(error)
            response["status_details"] = details
        response["usage"] = dict(usage) if usage is not None else None
        response["output"] = [dict(item) for item in output]
        return self._ev("response.done", response=response)

    def output_item_added(
        self, response_id: str, item: Mapping[str, Any], output_index: int = 0
    ) -> Event:
        return self._ev(
            "response.output_item.added",
            response_id=response_id,
            output_index=output_index,
            item=dict(item),
        )

    def output_item_done(
        self, response_id: str, item: Mapping[str, Any], output_index: int = 0
    ) -> Event:
        return self._ev(
            "response.output_item.done",
            response_id=response_id,
            output_index=output_index,
            item=dict(item),
        )

    def content_part_added(self, response_id: str, item_id: str) -> Event:
        return self._ev(
            "response.content_part.added",
            response_id=response_id,
            item_id=item_id,
            output_index=0,
            content_index=0,
            part={"type": "audio", "transcript": ""},
        )

    def _part(self, type_: str, response_id: str, item_id: str, **fields: Any) -> Event:
        return self._ev(
            type_,
            response_id=response_id,
            item_id=item_id,
            output_index=0,
            content_index=0,
            **fields,
        )

    def audio_delta(self, response_id: str, item_id: str, delta: str) -> Event:
        return self._part("response.output_audio.delta", response_id, item_id, delta=delta)

    def audio_done(self, response_id: str, item_id: str) -> Event:
        return self._part("response.output_audio.done", response_id, item_id)

    def transcript_delta(self, response_id: str, item_id: str, delta: str) -> Event:
        return self._part(
            "response.output_audio_transcript.delta", response_id, item_id, delta=delta
        )

    def transcript_done(self, response_id: str, item_id: str, transcript: str) -> Event:
        return self._part(
            "response.output_audio_transcript.done", response_id, item_id, transcript=transcript
        )

    def text_delta(self, response_id: str, item_id: str, delta: str) -> Event:
        return self._part("response.output_text.delta", response_id, item_id, delta=delta)

    def text_done(self, response_id: str, item_id: str, text: str) -> Event:
        return self._part("response.output_text.done", response_id, item_id, text=text)

    def arguments_delta(self, response_id: str, item_id: str, call_id: str, delta: str) -> Event:
        return self._ev(
            "response.function_call_arguments.delta",
            response_id=response_id,
            item_id=item_id,
            output_index=0,
            call_id=call_id,
            delta=delta,
        )

    def arguments_done(
        self, response_id: str, item_id: str, call_id: str, name: str, arguments: str
    ) -> Event:
        return self._ev(
            "response.function_call_arguments.done",
            response_id=response_id,
            item_id=item_id,
            output_index=0,
            call_id=call_id,
            name=name,
            arguments=arguments,
        )

    # other
    def error(
        self,
        code: str | None,
        message: str = "The server said no.",
        *,
        type_: str = "invalid_request_error",
        param: str | None = None,
        event_id: str | None = None,
    ) -> Event:
        return self._ev(
            "error",
            error={
                "type": type_,
                "code": code,
                "message": message,
                "param": param,
                "event_id": event_id,
            },
        )

    def rate_limits_updated(self) -> Event:
        return self._ev(
            "rate_limits.updated",
            rate_limits=[
                {"name": "requests", "limit": 1000, "remaining": 999, "reset_seconds": 60.0},
                {"name": "tokens", "limit": 50000, "remaining": 49000, "reset_seconds": 60.0},
            ],
        )


def _server_session() -> dict[str, Any]:
    session = session_config()
    session["id"] = "sess_001"
    session["object"] = "realtime.session"
    session["expires_at"] = 1_900_000_000
    return session


def _response(response_id: str, status: str) -> dict[str, Any]:
    return {
        "id": response_id,
        "object": "realtime.response",
        "status": status,
        "status_details": None,
        "output": [],
        "conversation_id": "conv_001",
        "output_modalities": ["audio"],
        "max_output_tokens": "inf",
        "audio": {"output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin"}},
        "usage": None,
        "metadata": None,
    }


USAGE = {
    "total_tokens": 320,
    "input_tokens": 200,
    "output_tokens": 120,
    "input_token_details": {
        "text_tokens": 150,
        "audio_tokens": 50,
        "cached_tokens": 64,
        "cached_tokens_details": {"text_tokens": 64, "audio_tokens": 0},
    },
    "output_token_details": {"text_tokens": 20, "audio_tokens": 100},
}


# -- the harness ---------------------------------------------------------------------------


def sends(outputs: Iterable[Output]) -> list[dict[str, Any]]:
    """The client events among ``outputs``, in order."""
    return [o.event for o in outputs if isinstance(o, Send)]


def happenings(outputs: Iterable[Output]) -> list[Output]:
    """Everything among ``outputs`` that is not a :class:`Send`, in order."""
    return [o for o in outputs if not isinstance(o, Send)]


def checked(outputs: list[Output]) -> list[Output]:
    """Validate every client event in ``outputs`` against the GA protocol; return them."""
    for event in sends(outputs):
        validate_client_event(event)
    return outputs


class Harness:
    """A :class:`RealtimeSession` fed with server event dicts, its sends validated.

    ``feed`` validates the dict as a GA server event (unless ``ga=False``, for the few
    fixtures that deliberately mimic another dialect), parses it with
    :func:`parse_server_event` and hands it to the session. ``do`` validates the client
    events a command returned.
    """

    def __init__(
        self,
        config: Mapping[str, Any] | None = None,
        capabilities: Capabilities | None = None,
        **session_kwargs: Any,
    ) -> None:
        self.config = dict(config) if config is not None else session_config()
        self.session = RealtimeSession(capabilities, **session_kwargs)
        self.server = ServerEvents()
        self.sent: list[dict[str, Any]] = []
        self.unanswered: list[Mapping[str, str] | None] = []
        """The metadata of each ``response.create`` sent and not yet created, oldest first
        (``start_response`` echoes it, as a GA server does)."""

    def feed(self, event: Mapping[str, Any], now: float = 0.0, *, ga: bool = True) -> list[Output]:
        if ga:
            validate_server_event(event)
        return self.do(self.session.receive(parse_server_event(event), now))

    def do(self, outputs: list[Output]) -> list[Output]:
        checked(outputs)
        for event in sends(outputs):
            self.sent.append(event)
            if event["type"] == "response.create":
                self.unanswered.append((event.get("response") or {}).get("metadata"))
        return outputs

    def append(self, audio_b64: str) -> dict[str, Any] | None:
        event = self.session.append_audio(audio_b64)
        if event is not None:
            validate_client_event(event)
            self.sent.append(event)
        return event

    def connect(self) -> list[Output]:
        """configure, session.created, session.updated: returns all outputs."""
        out = self.do(self.session.configure(self.config))
        out += self.feed(self.server.session_created())
        out += self.feed(self.server.session_updated())
        return out

    def start_response(
        self, response_id: str = "resp_1", now: float = 0.0, *, server_own: bool = False
    ) -> list[Output]:
        """``response.created``: for our oldest unanswered request (its metadata echoed),
        or, with ``server_own`` or none unanswered, the server's own (server VAD)."""
        metadata = None if server_own or not self.unanswered else self.unanswered.pop(0)
        return self.feed(self.server.response_created(response_id, metadata), now)

    def play(
        self,
        response_id: str,
        item_id: str,
        chunks: Iterable[str],
        now: float = 0.0,
    ) -> list[Output]:
        """Feed output_item.added, conversation.item.added and the audio deltas."""
        item = assistant_audio_item(item_id)
        out = self.feed(self.server.output_item_added(response_id, item), now)
        out += self.feed(self.server.item_added(item), now)
        for chunk in chunks:
            out += self.feed(self.server.audio_delta(response_id, item_id, chunk), now)
        return out
