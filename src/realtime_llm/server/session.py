"""The per-connection protocol core of the local server: client events in, server events out.

:class:`ServerSession` does no I/O, reads no clock and calls no engine. Each call returns
the server events to send, in order, and for :meth:`ServerSession.receive` also the
*commands* the socket layer must carry out because they take time:

* :class:`Transcribe` -- run the engine's transcription on a committed user turn, then
  report back with :meth:`ServerSession.transcription_done` (or ``_failed``);
* :class:`Generate` -- get the engine's reply for a response: ask
  :meth:`ServerSession.response_request` for the conversation and context, call the
  engine, hand the result to :meth:`ServerSession.reply_ready`, then pull the rest of the
  stream with :meth:`ServerSession.next_batch` at whatever pace it likes.

Because everything that changes state goes through these synchronous methods, the rules
that matter to clients hold by construction: one active response per conversation, no
delta after a response's ``response.done``, truncation checked against exactly the audio
sent so far. The rules live with the state they govern: ``_config`` (session object and
``session.update``), ``_input_audio`` (buffer and VAD turns), ``_conversation`` (items and
truncation), ``_response_table`` (which response may run) and ``_responses`` (one
response's event stream).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._audio import b64decode, decode_to_pcm16
from ._client_events import check_client_event, clean_client_event
from ._config import apply_session_update, default_session
from ._conversation import Conversation, Entry, entry_from_client
from ._input_audio import InputAudioBuffer, TurnEnded, TurnStarted
from ._response_table import ResponseTable
from ._responses import text_tokens
from ._schema import Problem
from ._wire import IdGenerator, error_event
from .engine import Reply, ResponseContext
from .vad import EnergyVad, VadFactory

__all__ = [
    "DEFAULT_MAX_EVENT_BYTES",
    "Generate",
    "Output",
    "ServerSession",
    "Transcribe",
    "Translate",
]

DEFAULT_MAX_EVENT_BYTES = 15 * 1024 * 1024
SESSION_SECONDS = 3600
MIN_COMMIT_MS = 100

Event = dict[str, Any]


@dataclass(frozen=True)
class Transcribe:
    """Transcribe ``pcm`` (PCM16 24 kHz) for content part ``content_index`` of an item."""

    item_id: str
    content_index: int
    pcm: bytes


@dataclass(frozen=True)
class Generate:
    """Produce the engine's reply for response ``response_id``."""

    response_id: str


Command = Transcribe | Generate
Translate = Callable[[Mapping[str, Any]], "Mapping[str, Any] | Problem"]
"""A client event in some dialect -> the same event in GA form, or why it is refused."""


@dataclass
class Output:
    """What one client message led to; ``received`` is the decoded event, if it decoded."""

    events: list[Event] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    received: dict[str, Any] | None = None


class ServerSession:
    """Protocol state of one Realtime (GA) session over one connection."""

    def __init__(
        self,
        *,
        model: str = "gpt-realtime",
        new_id: IdGenerator | None = None,
        vad_factory: VadFactory = EnergyVad,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        chunk_ms: int = 40,
        session_defaults: Mapping[str, Any] | None = None,
    ) -> None:
        self._new_id = new_id or IdGenerator()
        self._max_event_bytes = max_event_bytes
        self._session = default_session(model)
        if session_defaults:  # a dialect's server starts from other defaults (xAI: no VAD)
            self._session, problem = apply_session_update(
                self._session, session_defaults, audio_produced=False
            )
            if problem is not None:
                raise ValueError(f"invalid session defaults: {problem.message}")
        self._session_id = self._new_id("sess")
        self._conversation = Conversation()
        self._input = InputAudioBuffer(self._new_id, vad_factory)
        self._input.configure(self._session["audio"]["input"]["turn_detection"])
        self._responses = ResponseTable(
            self._conversation,
            self._new_id,
            conversation_id=self._new_id("conv"),
            chunk_ms=chunk_ms,
        )
        self._announce: set[tuple[str, int]] = set()  # transcriptions the client asked for
        self._expires_at = 0

    # --- public state ---------------------------------------------------------------------

    @property
    def session(self) -> dict[str, Any]:
        """The session object as the client sees it (a copy)."""
        return {
            "object": "realtime.session",
            "id": self._session_id,
            "expires_at": self._expires_at,
            **json.loads(json.dumps(self._session)),
        }

    @property
    def active_response_id(self) -> str | None:
        """The response writing to the conversation right now, if any."""
        return self._responses.active_id()

    def _event(self, kind: str, **fields: Any) -> Event:
        return {"type": kind, "event_id": self._new_id("event"), **fields}

    def _error(self, problem: Problem, client_event_id: Any = None) -> Event:
        echo = client_event_id if isinstance(client_event_id, str) else None
        return error_event(self._new_id, problem, echo)

    # --- connection lifecycle -------------------------------------------------------------

    def open(self, now: float) -> list[Event]:
        """``session.created``; ``now`` (Unix seconds) dates the session's expiry."""
        self._expires_at = int(now) + SESSION_SECONDS
        return [self._event("session.created", session=self.session)]

    def receive_message(self, data: str | bytes, *, translate: Translate | None = None) -> Output:
        """One WebSocket message: size check, JSON decoding, then :meth:`receive`.

        ``translate`` (a dialect's edge, see :mod:`.dialects`) turns the decoded event into
        its GA form first, or rejects it with a :class:`Problem`; ``Output.received`` keeps
        the event as the client sent it.
        """
        if len(data) > self._max_event_bytes:
            problem = Problem(
                "message_too_large",
                f"The event is {len(data)} bytes; this server accepts at most "
                f"{self._max_event_bytes} bytes per event.",
            )
            return Output([self._error(problem)])
        try:
            event = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            problem = Problem("invalid_json", f"The event is not valid JSON: {exc}.")
            return Output([self._error(problem)])
        if not isinstance(event, dict):
            problem = Problem("invalid_type", "An event must be a JSON object.")
            return Output([self._error(problem)])
        translated = event if translate is None else translate(event)
        if isinstance(translated, Problem):
            output = Output([self._error(translated, event.get("event_id"))])
        else:
            output = self.receive(translated)
        output.received = event
        return output

    def receive(self, event: Mapping[str, Any]) -> Output:
        """One decoded client event."""
        problem = check_client_event(event)
        if problem is not None:
            return Output([self._error(problem, event.get("event_id"))])
        event = clean_client_event(event)
        handler = getattr(self, "_on_" + str(event["type"]).replace(".", "_"))
        output: Output = handler(event)
        return output

    # --- session and input audio -----------------------------------------------------------

    def _on_session_update(self, event: Mapping[str, Any]) -> Output:
        old_detection = self._session["audio"]["input"]["turn_detection"]
        new, problem = apply_session_update(
            self._session, event["session"], audio_produced=self._responses.audio_produced
        )
        if problem is not None:
            return Output([self._error(problem, event.get("event_id"))])
        self._session = new
        if new["audio"]["input"]["turn_detection"] != old_detection:
            self._input.configure(new["audio"]["input"]["turn_detection"])
        return Output([self._event("session.updated", session=self.session)])

    def _on_input_audio_buffer_append(self, event: Mapping[str, Any]) -> Output:
        data = b64decode(event["audio"])
        if data is None:
            problem = Problem("invalid_value", "Invalid 'audio': expected base64 audio.", "audio")
            return Output([self._error(problem, event.get("event_id"))])
        pcm = decode_to_pcm16(data, self._session["audio"]["input"]["format"]["type"])
        output = Output()
        detection = self._session["audio"]["input"]["turn_detection"] or {}
        for turn in self._input.append(pcm):
            if isinstance(turn, TurnStarted):
                output.events.append(
                    self._event(
                        "input_audio_buffer.speech_started",
                        audio_start_ms=turn.audio_start_ms,
                        item_id=turn.item_id,
                    )
                )
                active = self.active_response_id
                if active is not None and detection.get("interrupt_response", True):
                    output.events += self._responses.cancel(active, "turn_detected") or []
            else:
                self._vad_turn_ended(turn, detection, output)
        return output

    def _vad_turn_ended(self, turn: TurnEnded, detection: Mapping[str, Any], out: Output) -> None:
        out.events.append(
            self._event(
                "input_audio_buffer.speech_stopped",
                audio_end_ms=turn.audio_end_ms,
                item_id=turn.item_id,
            )
        )
        self._commit(turn.item_id, turn.pcm, out)
        if detection.get("create_response", True) and self.active_response_id is None:
            self._start_response({}, out)

    def _on_input_audio_buffer_commit(self, event: Mapping[str, Any]) -> Output:
        buffered = self._input.duration_ms
        if buffered < MIN_COMMIT_MS:
            problem = Problem(
                "input_audio_buffer_commit_empty",
                "Error committing input audio buffer: buffer too small. Expected at least "
                f"{MIN_COMMIT_MS}ms of audio, but buffer only has {buffered:.2f}ms of audio.",
            )
            return Output([self._error(problem, event.get("event_id"))])
        output = Output()
        item_id, pcm = self._input.commit()
        self._commit(item_id, pcm, output)
        return output

    def _commit(self, item_id: str, pcm: bytes, out: Output) -> None:
        previous = self._conversation.last_id()
        entry = Entry(
            {
                "id": item_id,
                "object": "realtime.item",
                "type": "message",
                "role": "user",
                "status": "completed",
                "content": [{"type": "input_audio", "transcript": None}],
            },
            audio={0: bytearray(pcm)},
        )
        self._conversation.add(entry)
        out.events += [
            self._event("input_audio_buffer.committed", item_id=item_id, previous_item_id=previous),
            self._event("conversation.item.added", previous_item_id=previous, item=entry.wire()),
            self._event("conversation.item.done", previous_item_id=previous, item=entry.wire()),
        ]
        if self._session["audio"]["input"]["transcription"] is not None:
            self._announce.add((item_id, 0))
        out.commands.append(Transcribe(item_id, 0, pcm))

    def _on_input_audio_buffer_clear(self, event: Mapping[str, Any]) -> Output:
        self._input.clear()
        return Output([self._event("input_audio_buffer.cleared")])

    def _on_output_audio_buffer_clear(self, event: Mapping[str, Any]) -> Output:
        problem = Problem(
            "invalid_value",
            "output_audio_buffer.clear is only supported on WebRTC and SIP connections; "
            "over a WebSocket, send response.cancel and conversation.item.truncate instead.",
            "type",
        )
        return Output([self._error(problem, event.get("event_id"))])

    # --- transcription results --------------------------------------------------------------

    def transcription_done(self, item_id: str, content_index: int, text: str) -> list[Event]:
        """The engine heard ``text``; announce it if the session asked for transcription."""
        entry = self._conversation.get(item_id)
        announce = (item_id, content_index) in self._announce
        self._announce.discard((item_id, content_index))
        if entry is None:
            return []
        entry.heard[content_index] = text
        if not announce:
            return []
        entry.item["content"][content_index]["transcript"] = text
        seconds = entry.audio_ms(content_index) / 1000
        model = (self._session["audio"]["input"]["transcription"] or {}).get("model") or ""
        usage: dict[str, Any]
        if "whisper" in model:  # whisper-1, gpt-realtime-whisper: billed by the second
            usage = {"type": "duration", "seconds": round(seconds)}
        else:
            audio_tokens, out_tokens = math.ceil(seconds * 10), text_tokens(text)
            usage = {
                "type": "tokens",
                "input_tokens": audio_tokens,
                "output_tokens": out_tokens,
                "total_tokens": audio_tokens + out_tokens,
                "input_token_details": {"audio_tokens": audio_tokens, "text_tokens": 0},
            }
        common = {"item_id": item_id, "content_index": content_index}
        events = [
            self._event("conversation.item.input_audio_transcription.delta", delta=text, **common)
        ]
        events.append(
            self._event(
                "conversation.item.input_audio_transcription.completed",
                transcript=text,
                usage=usage,
                **common,
            )
        )
        return events

    def transcription_failed(self, item_id: str, content_index: int, message: str) -> list[Event]:
        announce = (item_id, content_index) in self._announce
        self._announce.discard((item_id, content_index))
        if not announce or item_id not in self._conversation:
            return []
        error = {"type": "server_error", "code": "transcription_failed", "message": message}
        return [
            self._event(
                "conversation.item.input_audio_transcription.failed",
                item_id=item_id,
                content_index=content_index,
                error=error,
            )
        ]

    # --- conversation items -----------------------------------------------------------------

    def _on_conversation_item_create(self, event: Mapping[str, Any]) -> Output:
        fmt = self._session["audio"]["input"]["format"]["type"]
        entry = entry_from_client(dict(event["item"]), "item", self._new_id, fmt)
        if isinstance(entry, Problem):
            return Output([self._error(entry, event.get("event_id"))])
        problem = self._conversation.add(entry, event.get("previous_item_id"))
        if problem is not None:
            return Output([self._error(problem, event.get("event_id"))])
        previous = self._conversation.previous_id(entry.id)
        output = Output(
            [
                self._event(
                    "conversation.item.added", previous_item_id=previous, item=entry.wire()
                ),
                self._event("conversation.item.done", previous_item_id=previous, item=entry.wire()),
            ]
        )
        for index, pcm in entry.audio.items():
            if (
                entry.item.get("role") == "user"
                and entry.item["content"][index]["transcript"] is None
            ):
                output.commands.append(Transcribe(entry.id, index, bytes(pcm)))
        return output

    def _unknown_item(self, action: str, item_id: str, event: Mapping[str, Any]) -> Output:
        problem = Problem(
            f"item_{action}_invalid_item_id", f"Item with item_id '{item_id}' not found.", "item_id"
        )
        return Output([self._error(problem, event.get("event_id"))])

    def _on_conversation_item_retrieve(self, event: Mapping[str, Any]) -> Output:
        entry = self._conversation.get(event["item_id"])
        if entry is None:
            return self._unknown_item("retrieve", event["item_id"], event)
        return Output(
            [self._event("conversation.item.retrieved", item=entry.wire(with_audio=True))]
        )

    def _on_conversation_item_delete(self, event: Mapping[str, Any]) -> Output:
        if not self._conversation.delete(event["item_id"]):
            return self._unknown_item("delete", event["item_id"], event)
        return Output([self._event("conversation.item.deleted", item_id=event["item_id"])])

    def _on_conversation_item_truncate(self, event: Mapping[str, Any]) -> Output:
        item_id, index, end_ms = event["item_id"], event["content_index"], event["audio_end_ms"]
        problem = self._conversation.truncate(item_id, index, end_ms)
        if problem is not None:
            return Output([self._error(problem, event.get("event_id"))])
        truncated = self._event(
            "conversation.item.truncated", item_id=item_id, content_index=index, audio_end_ms=end_ms
        )
        # Truncating audio that is still streaming stops it: nothing the user will not hear
        # goes on into the item, and its parts close with what was sent.
        writer = self._responses.writing(item_id)
        stopped = self._responses.cancel(writer, "client_cancelled") if writer else None
        return Output([truncated, *(stopped or [])])

    # --- responses ----------------------------------------------------------------------------

    def _on_response_create(self, event: Mapping[str, Any]) -> Output:
        output = Output()
        problem = self._start_response(event.get("response") or {}, output)
        if problem is not None:
            return Output([self._error(problem, event.get("event_id"))])
        return output

    def _start_response(self, params: Mapping[str, Any], out: Output) -> Problem | None:
        started = self._responses.start(params, self._session)
        if isinstance(started, Problem):
            return started
        response_id, events = started
        out.events += events
        out.commands.append(Generate(response_id))
        return None

    def _on_response_cancel(self, event: Mapping[str, Any]) -> Output:
        events = self._responses.cancel(event.get("response_id"), "client_cancelled")
        if events is None:
            problem = Problem(
                "response_cancel_not_active", "Cancellation failed: no active response found."
            )
            return Output([self._error(problem, event.get("event_id"))])
        return Output(events)

    def response_request(
        self, response_id: str
    ) -> tuple[list[dict[str, Any]], ResponseContext] | None:
        """What the engine needs for a response; ``None`` once it is cancelled or over.

        Call it when the engine is about to run (after pending transcriptions), so the
        conversation includes what was just said.
        """
        return self._responses.request(response_id)

    def reply_ready(self, response_id: str, reply: Reply, audio: bytes | None) -> list[Event]:
        """The engine's reply (and synthesized PCM16 24 kHz audio): the first batch."""
        return self._responses.ready(response_id, reply, audio)

    def next_batch(self, response_id: str) -> list[Event]:
        """The next events of a streaming response; [] when it is over (or was cancelled)."""
        return self._responses.step(response_id)

    def reply_failed(self, response_id: str, message: str) -> list[Event]:
        """The engine raised: the response ends with status ``failed``."""
        return self._responses.fail(response_id, message)
