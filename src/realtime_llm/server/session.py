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
sent so far. See the module docstrings of ``_conversation``, ``_responses`` and
``_input_audio`` for the rules each part implements.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._audio import b64decode, decode_to_pcm16
from ._client_events import check_client_event
from ._config import apply_session_update, default_session
from ._conversation import Conversation, Entry, entry_from_client
from ._input_audio import InputAudioBuffer, TurnEnded, TurnStarted
from ._responses import ResponseParams, ResponseRun, TokenCount, count_tokens, text_tokens
from ._schema import Problem
from ._wire import IdGenerator, error_event
from .engine import Reply, ResponseContext
from .vad import EnergyVad, VadFactory

__all__ = ["DEFAULT_MAX_EVENT_BYTES", "Generate", "Output", "ServerSession", "Transcribe"]

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


@dataclass
class Output:
    """What one client message led to; ``received`` is the decoded event, if it decoded."""

    events: list[Event] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    received: dict[str, Any] | None = None


def _voice_name(voice: Any) -> str:
    """A built-in voice name, or the id of a custom voice object."""
    return voice if isinstance(voice, str) else str(voice.get("id", ""))


@dataclass
class _Pending:
    """Per response: its run, its explicit input items (if any) and engine-facing context."""

    run: ResponseRun
    instructions: str
    tools: list[dict[str, Any]]
    tool_choice: Any
    input: list[Entry] | None


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
    ) -> None:
        self._new_id = new_id or IdGenerator()
        self._max_event_bytes = max_event_bytes
        self._chunk_ms = chunk_ms
        self._session = default_session(model)
        self._session_id = self._new_id("sess")
        self._conversation_id = self._new_id("conv")
        self.conversation = Conversation()
        self._input = InputAudioBuffer(self._new_id, vad_factory)
        self._input.configure(self._session["audio"]["input"]["turn_detection"])
        self._responses: dict[str, _Pending] = {}
        self._announce: set[tuple[str, int]] = set()  # transcriptions the client asked for
        self._seen: set[str] = set()  # items some earlier response had in its context
        self._audio_produced = False
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
        for pending in self._responses.values():
            if pending.run.active and pending.run.params.in_conversation:
                return pending.run.id
        return None

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

    def receive_message(self, data: str | bytes) -> Output:
        """One WebSocket message: size check, JSON decoding, then :meth:`receive`."""
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
        output = self.receive(event)
        output.received = event
        return output

    def receive(self, event: Mapping[str, Any]) -> Output:
        """One decoded client event."""
        problem = check_client_event(event)
        if problem is not None:
            return Output([self._error(problem, event.get("event_id"))])
        handler = getattr(self, "_on_" + str(event["type"]).replace(".", "_"))
        output: Output = handler(event)
        return output

    # --- session and input audio -----------------------------------------------------------

    def _on_session_update(self, event: Mapping[str, Any]) -> Output:
        old_detection = self._session["audio"]["input"]["turn_detection"]
        new, problem = apply_session_update(
            self._session, event["session"], audio_produced=self._audio_produced
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
                    output.events += self._responses[active].run.cancel("turn_detected")
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
        previous = self.conversation.last_id()
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
        self.conversation.add(entry)
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
        entry = self.conversation.get(item_id)
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
        if model == "whisper-1":
            usage = {"type": "duration", "seconds": round(seconds, 3)}
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
        if not announce or item_id not in self.conversation:
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
        problem = self.conversation.add(entry, event.get("previous_item_id"))
        if problem is not None:
            return Output([self._error(problem, event.get("event_id"))])
        previous = self.conversation.previous_id(entry.id)
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
        entry = self.conversation.get(event["item_id"])
        if entry is None:
            return self._unknown_item("retrieve", event["item_id"], event)
        return Output(
            [self._event("conversation.item.retrieved", item=entry.wire(with_audio=True))]
        )

    def _on_conversation_item_delete(self, event: Mapping[str, Any]) -> Output:
        if not self.conversation.delete(event["item_id"]):
            return self._unknown_item("delete", event["item_id"], event)
        return Output([self._event("conversation.item.deleted", item_id=event["item_id"])])

    def _on_conversation_item_truncate(self, event: Mapping[str, Any]) -> Output:
        item_id, index, end_ms = event["item_id"], event["content_index"], event["audio_end_ms"]
        problem = self.conversation.truncate(item_id, index, end_ms)
        if problem is not None:
            return Output([self._error(problem, event.get("event_id"))])
        truncated = self._event(
            "conversation.item.truncated", item_id=item_id, content_index=index, audio_end_ms=end_ms
        )
        return Output([truncated])

    # --- responses ----------------------------------------------------------------------------

    def _on_response_create(self, event: Mapping[str, Any]) -> Output:
        params = event.get("response") or {}
        in_conversation = params.get("conversation", "auto") != "none"
        active = self.active_response_id
        if in_conversation and active is not None:
            problem = Problem(
                "conversation_already_has_active_response",
                f"Conversation already has an active response in progress: {active}. "
                "Wait until the response is finished before creating a new one.",
            )
            return Output([self._error(problem, event.get("event_id"))])
        output = Output()
        failure = self._start_response(params, output)
        if failure is not None:
            return Output([self._error(failure, event.get("event_id"))])
        return output

    def _resolve_input(self, params: Mapping[str, Any]) -> list[Entry] | Problem | None:
        if "input" not in params:
            return None
        entries: list[Entry] = []
        fmt = self._session["audio"]["input"]["format"]["type"]
        for index, item in enumerate(params["input"]):
            path = f"response.input[{index}]"
            if item["type"] == "item_reference":
                found = self.conversation.get(item["id"])
                if found is None:
                    return Problem(
                        "invalid_value",
                        f"Item with item_id '{item['id']}' not found.",
                        path + ".id",
                    )
                entries.append(found)
                continue
            entry = entry_from_client(dict(item), path, self._new_id, fmt)
            if isinstance(entry, Problem):
                return entry
            entries.append(entry)
        return entries

    def _start_response(self, params: Mapping[str, Any], out: Output) -> Problem | None:
        inputs = self._resolve_input(params)
        if isinstance(inputs, Problem):
            return inputs
        session = self._session
        in_conversation = params.get("conversation", "auto") != "none"
        audio_out = (params.get("audio") or {}).get("output") or {}
        run = ResponseRun(
            self._new_id("resp"),
            ResponseParams(
                in_conversation=in_conversation,
                output_modalities=tuple(
                    params.get("output_modalities") or session["output_modalities"]
                ),
                voice=_voice_name(audio_out.get("voice", session["audio"]["output"]["voice"])),
                output_format=dict(audio_out.get("format") or session["audio"]["output"]["format"]),
                max_output_tokens=params.get("max_output_tokens", session["max_output_tokens"]),
                metadata=params.get("metadata"),
                conversation_id=self._conversation_id if in_conversation else None,
                chunk_ms=self._chunk_ms,
            ),
            conversation=self.conversation,
            new_id=self._new_id,
        )
        self._responses[run.id] = _Pending(
            run,
            instructions=params.get("instructions", session["instructions"]),
            tools=list(params.get("tools", session["tools"])),
            tool_choice=params.get("tool_choice", session["tool_choice"]),
            input=inputs,
        )
        out.events += run.created()
        out.events.append(self._rate_limits())
        out.commands.append(Generate(run.id))
        return None

    def _rate_limits(self) -> Event:
        """GA sends this at the start of each response; a local server has no limits."""
        return self._event(
            "rate_limits.updated",
            rate_limits=[
                {"name": "requests", "limit": 10_000, "remaining": 9_999, "reset_seconds": 0.006},
                {"name": "tokens", "limit": 200_000, "remaining": 200_000, "reset_seconds": 0.0},
            ],
        )

    def _on_response_cancel(self, event: Mapping[str, Any]) -> Output:
        response_id = event.get("response_id") or self.active_response_id
        pending = self._responses.get(response_id or "")
        if pending is None or not pending.run.active:
            problem = Problem(
                "response_cancel_not_active", "Cancellation failed: no active response found."
            )
            return Output([self._error(problem, event.get("event_id"))])
        return Output(self._finish(pending.run, pending.run.cancel("client_cancelled")))

    def _finish(self, run: ResponseRun, events: list[Event]) -> list[Event]:
        if not run.active:
            self._responses.pop(run.id, None)
        return events

    def response_request(
        self, response_id: str
    ) -> tuple[list[dict[str, Any]], ResponseContext] | None:
        """What the engine needs for a response; ``None`` once it is cancelled or over.

        Call it when the engine is about to run (after pending transcriptions), so the
        conversation includes what was just said.
        """
        pending = self._responses.get(response_id)
        if pending is None or not pending.run.active:
            return None
        entries = pending.input if pending.input is not None else self.conversation.entries()
        tokens, cached, prefix = TokenCount(), TokenCount(), True
        for entry in entries:
            counted = count_tokens(entry)
            tokens += counted
            prefix = prefix and entry.id in self._seen
            if prefix:
                cached += counted
            self._seen.add(entry.id)
        tokens += TokenCount(text=text_tokens(pending.instructions))
        pending.run.set_input_usage(tokens, cached)
        params = pending.run.params
        context = ResponseContext(
            instructions=pending.instructions,
            tools=tuple(t for t in pending.tools if t.get("type", "function") == "function"),
            tool_choice=pending.tool_choice,
            output_modalities=params.output_modalities,
            voice=params.voice,
            metadata=dict(params.metadata or {}),
        )
        return [entry.for_engine() for entry in entries], context

    def reply_ready(self, response_id: str, reply: Reply, audio: bytes | None) -> list[Event]:
        """The engine's reply (and synthesized PCM16 24 kHz audio): the first batch."""
        pending = self._responses.get(response_id)
        if pending is None:
            return []
        if audio and "audio" in pending.run.params.output_modalities:
            self._audio_produced = True
        return self._finish(pending.run, pending.run.begin(reply, audio))

    def next_batch(self, response_id: str) -> list[Event]:
        """The next events of a streaming response; [] when it is over (or was cancelled)."""
        pending = self._responses.get(response_id)
        if pending is None:
            return []
        return self._finish(pending.run, pending.run.step())

    def reply_failed(self, response_id: str, message: str) -> list[Event]:
        """The engine raised: the response ends with status ``failed``."""
        pending = self._responses.get(response_id)
        if pending is None:
            return []
        return self._finish(pending.run, pending.run.fail(message))
