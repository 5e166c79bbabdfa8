"""The realtime session core: feed it server events and commands, act on what it returns.

No socket, no event loop, no clock, no pipecat: every method takes plain values and
returns a list of :mod:`~realtime_llm.protocol.outputs` (client events to :class:`Send`,
and happenings for the glue to turn into frames). Time, where a rule needs it, comes in
as ``now`` (seconds on any monotonic clock).

State, and the rules that move it::

    connection    new --session.created--> created --session.updated--> ready
                  (reset() on a new socket returns to new)

    response      idle --request_response()--> requested --response.created--> active
                  active --response.done | interrupt()--> idle
                  A request while requested/active, or before ready, is *owed*: one
                  ``response.create`` is sent when the session is ready and idle again.
                  A ``conversation_already_has_active_response`` error also makes it owed.

    playback      the assistant audio item being played and how much of it arrived
                  (:class:`~realtime_llm.protocol.playback.PlaybackTracker`); an interrupt
                  truncates it where the user stopped hearing it.

    audio early   input audio sent before ``ready`` is buffered (bounded) and flushed on
                  ready, so the first words are not lost and never sent in a stale format;
                  the buffer survives a lost connection, so words spoken while it
                  reconnects reach the new session.

Invariants: each response yields exactly one ``ResponseStarted`` and one
``ResponseEnded``, also when it is interrupted or fails; ``AudioStarted``/``AudioStopped``
pair up per audio item; deltas of a response that was interrupted are dropped.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from realtime_llm.errors import ErrorClass, classify_error
from realtime_llm.protocol import events as ev
from realtime_llm.protocol.capabilities import Capabilities
from realtime_llm.protocol.outputs import (
    AssistantText,
    AssistantTranscript,
    AudioChunk,
    AudioStarted,
    AudioStopped,
    ErrorReported,
    FeatureUnavailable,
    ItemCreated,
    ItemUpdated,
    Output,
    ResponseEnded,
    ResponseStarted,
    ResponseUsage,
    RetrieveFinished,
    Send,
    SessionReady,
    ToolCall,
    ToolCallsRequested,
    UserSpeechStarted,
    UserSpeechStopped,
    UserTranscript,
    UserTranscriptDelta,
)
from realtime_llm.protocol.playback import PlaybackTracker

__all__ = ["RealtimeSession"]

_RESPONSE_EVENT_PREFIX = "rl_resp_"
_SESSION_EVENT_PREFIX = "rl_sess_"
_RETRIEVE_EVENT_PREFIX = "rl_retr_"


def _decoded_size(b64: str) -> int:
    """Bytes a base64 string decodes to, without decoding it (padding is not audio)."""
    padding = 2 if b64.endswith("==") else 1 if b64.endswith("=") else 0
    return ((len(b64) * 3) >> 2) - padding


class RealtimeSession:
    """Sans-I/O state of one realtime conversation with the server.

    Args:
        capabilities: what the server can do (from the dialect).
        early_audio_limit_bytes: how much input audio (base64 bytes) to hold before the
            session is ready; past it the oldest audio is dropped and counted.
    """

    def __init__(
        self,
        capabilities: Capabilities | None = None,
        *,
        early_audio_limit_bytes: int = 2 * 64_000,
        classify: Callable[[str | None, str | None], ErrorClass] = classify_error,
    ) -> None:
        self.capabilities = capabilities or Capabilities()
        self._classify = classify
        self._unavailable_reported: set[str] = set()
        self._early_audio_limit = early_audio_limit_bytes
        self.playback = PlaybackTracker()
        self._session_config: dict[str, Any] = {}
        self._counter = 0
        # Held input audio outlives a connection: it is the user's, not yet delivered.
        self._early_audio: deque[str] = deque()
        self._early_audio_bytes = 0
        self._reset_connection_state()
        self.early_audio_dropped_bytes = 0
        """Input audio dropped because the session was not ready for too long."""

    # -- connection state ---------------------------------------------------------------

    def _reset_connection_state(self) -> None:
        self._created = False
        self._ready = False
        self._active_response: str | None = None
        self._response_requested_event: str | None = None
        self._response_owed = False
        self._interrupted_responses: set[str] = set()
        self._audio_item: str | None = None  # item whose audio has started, not yet stopped
        self._tool_names: dict[str, str] = {}  # call_id -> name, from output items
        self._requested_calls: list[ToolCall] = []
        self._completed_calls: set[str] = set()
        self._retrieves: dict[str, str] = {}  # event_id -> item_id
        self._awaiting_transcripts: set[str] = set()
        # A finished reply's end (and its tool calls) waiting for the user transcript.
        self._held: list[Output] = []
        self._cancel_next_created = False
        self.playback.forget()

    def reset(self) -> None:
        """A new socket: forget everything the old server knew (conversation included)."""
        self._reset_connection_state()

    def connection_lost(self) -> tuple[list[Output], bool]:
        """The socket is gone: close the reply in progress, and say if one is still owed.

        Returns the outputs that close the open response (so start/end frames stay paired)
        and whether a reply was wanted when the socket went (in progress, requested or
        owed): the caller asks for it again once the new session is ready.
        """
        wanted = self.response_active or self._response_owed
        out: list[Output] = [*self._held]
        self._held = []
        self.playback.forget()
        if self._active_response is not None:
            out.extend(
                self._close_response(
                    self._active_response, "incomplete", reason="connection_lost", interrupted=True
                )
            )
        self._reset_connection_state()
        return out, wanted

    @property
    def ready(self) -> bool:
        """Whether the server applied our session configuration."""
        return self._ready

    @property
    def response_active(self) -> bool:
        return self._active_response is not None or self._response_requested_event is not None

    @property
    def holding_response_end(self) -> bool:
        """A finished reply waits for its user transcript (see ``release_held_response``)."""
        return bool(self._held)

    @property
    def transcription_enabled(self) -> bool:
        audio = self._session_config.get("audio") or {}
        return bool((audio.get("input") or {}).get("transcription"))

    @property
    def server_vad(self) -> bool:
        """Whether the server detects turns (else the client commits and asks itself)."""
        audio = self._session_config.get("audio") or {}
        input_config = audio.get("input") or {}
        if "turn_detection" in input_config:
            return input_config["turn_detection"] is not None
        return True

    def _event_id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}{self._counter}"

    # -- commands -----------------------------------------------------------------------

    def configure(self, session: Mapping[str, Any]) -> list[Output]:
        """Set the session configuration (the ``session`` object of ``session.update``).

        Sent now if the server already created the session, else on ``session.created``.
        """
        self._session_config = dict(session)
        if not self._created:
            return []
        return [self._session_update()]

    def _session_update(self) -> Send:
        return Send(
            {
                "type": "session.update",
                "event_id": self._event_id(_SESSION_EVENT_PREFIX),
                "session": self._session_config,
            }
        )

    def append_audio(self, audio_b64: str) -> dict[str, Any] | None:
        """Hot path: the ``input_audio_buffer.append`` to send now, or None if held.

        Returns the event itself rather than a list: this runs 50 times a second.
        """
        if self._ready:
            return {"type": "input_audio_buffer.append", "audio": audio_b64}
        self.hold_audio(audio_b64)
        return None

    def hold_audio(self, audio_b64: str) -> None:
        """Keep input audio for the next ready session (bounded: the oldest goes first).

        For audio the socket refused: the connection went before anyone noticed.
        """
        self._early_audio.append(audio_b64)
        self._early_audio_bytes += len(audio_b64)
        while self._early_audio_bytes > self._early_audio_limit and self._early_audio:
            dropped = self._early_audio.popleft()
            self._early_audio_bytes -= len(dropped)
            self.early_audio_dropped_bytes += len(dropped)

    def commit_audio(self) -> list[Output]:
        """Client turn end (turn detection off): commit the buffer and ask for a reply."""
        return [Send({"type": "input_audio_buffer.commit"}), *self.request_response()]

    def clear_audio(self) -> list[Output]:
        return [Send({"type": "input_audio_buffer.clear"})]

    def create_items(self, items: Iterable[Mapping[str, Any]]) -> list[Output]:
        """Add conversation items (messages, function calls, outputs) at the end."""
        out: list[Output] = []
        for item in items:
            if item.get("type") == "function_call_output":
                call_id = str(item.get("call_id"))
                if call_id in self._completed_calls:
                    continue
                self._completed_calls.add(call_id)
            out.append(Send({"type": "conversation.item.create", "item": dict(item)}))
        return out

    def mark_tool_calls_completed(self, call_ids: Iterable[str]) -> None:
        """Results already known (e.g. in a restored context): never send them again."""
        self._completed_calls.update(call_ids)

    def tool_call_completed(self, call_id: str) -> bool:
        return call_id in self._completed_calls

    def knows_call(self, call_id: str) -> bool:
        """Whether the server made this function call (it has the call item already)."""
        return call_id in self._tool_names

    def request_response(self, response: Mapping[str, Any] | None = None) -> list[Output]:
        """Ask for a reply; owed (sent later) while not ready or while one is active."""
        if not self._ready or self.response_active:
            self._response_owed = True
            return []
        self._response_owed = False
        event_id = self._event_id(_RESPONSE_EVENT_PREFIX)
        self._response_requested_event = event_id
        event: dict[str, Any] = {"type": "response.create", "event_id": event_id}
        if response:
            params = dict(response)
            if not self.capabilities.response_create_takes_modalities:
                params.pop("output_modalities", None)  # the session's modalities apply
            event["response"] = params
        return [Send(event)]

    def interrupt(self, now: float) -> list[Output]:
        """The user barged in: stop the reply and cut it where the user stopped hearing it.

        Idempotent: a second call (server VAD's speech_started, then the pipeline's
        InterruptionFrame) finds nothing left to do.
        """
        out: list[Output] = []
        if not self.server_vad and self._ready:
            out.append(Send({"type": "input_audio_buffer.clear"}))
        if self.response_active:
            out.append(Send({"type": "response.cancel"}))
        self._response_owed = False
        out.extend(self._truncate_playing(now))
        if self._active_response is not None:
            response_id = self._active_response
            self._interrupted_responses.add(response_id)
            out.extend(self._close_response(response_id, "cancelled", interrupted=True))
        if self._response_requested_event is not None and self._active_response is None:
            # Our response.create is on its way: the server will create it and then
            # cancel it. Its audio must never play.
            self._cancel_next_created = True
        self._response_requested_event = None
        return out

    def _truncate_playing(self, now: float) -> list[Output]:
        point = self.playback.truncation_point(now)
        self.playback.forget()
        if point is None or not self._ready:
            return []
        if point.delete:
            if not self.capabilities.supports_delete:
                return self._unavailable("conversation.item.delete", "the unheard reply stays")
            return [Send({"type": "conversation.item.delete", "item_id": point.item_id})]
        if not self.capabilities.supports_truncate:
            return self._unavailable(
                "conversation.item.truncate",
                "the model will remember the whole interrupted reply, not only what was heard",
            )
        return [
            Send(
                {
                    "type": "conversation.item.truncate",
                    "item_id": point.item_id,
                    "content_index": 0,
                    "audio_end_ms": point.audio_end_ms,
                }
            )
        ]

    def _unavailable(self, feature: str, consequence: str) -> list[Output]:
        """Report once per session that the server lacks a feature we would have used."""
        if feature in self._unavailable_reported:
            return []
        self._unavailable_reported.add(feature)
        return [FeatureUnavailable(feature, consequence)]

    def playback_started(self, now: float) -> None:
        """The output transport started playing the reply (BotStartedSpeaking)."""
        self.playback.playback_started(now)

    def playback_finished(self) -> None:
        """The reply finished playing (BotStoppedSpeaking): nothing left to truncate."""
        self.playback.forget()

    def retrieve_item(self, item_id: str) -> list[Output]:
        event_id = self._event_id(_RETRIEVE_EVENT_PREFIX)
        self._retrieves[event_id] = item_id
        return [
            Send({"type": "conversation.item.retrieve", "event_id": event_id, "item_id": item_id})
        ]

    def release_held_response(self) -> list[Output]:
        """Give up waiting for the user transcript that should precede a finished reply."""
        self._awaiting_transcripts.clear()
        held, self._held = self._held, []
        return held

    # -- server events ------------------------------------------------------------------

    def receive(self, event: ev.ServerEvent, now: float) -> list[Output]:
        """Feed one parsed server event; returns what to send and what happened."""
        handler = _HANDLERS.get(type(event))
        if handler is None:
            return []
        outputs: list[Output] = handler(self, event, now)
        return outputs

    def _on_audio_delta(self, e: ev.AudioDelta, now: float) -> list[Output]:
        if e.response_id != self._active_response:
            return []  # a reply we interrupted: drop, never play
        self.playback.audio_received(e.item_id, _decoded_size(e.delta), now)
        if self._audio_item != e.item_id:
            out: list[Output] = []
            if self._audio_item is not None:
                out.append(AudioStopped(self._audio_item))
            self._audio_item = e.item_id
            out.append(AudioStarted(e.item_id))
            out.append(AudioChunk(e.item_id, e.delta))
            return out
        return [AudioChunk(e.item_id, e.delta)]

    def _on_audio_done(self, e: ev.AudioDone, now: float) -> list[Output]:
        if e.response_id != self._active_response or self._audio_item != e.item_id:
            return []
        self._audio_item = None
        return [AudioStopped(e.item_id)]

    def _on_transcript_delta(self, e: ev.TranscriptDelta, now: float) -> list[Output]:
        if e.response_id != self._active_response or not e.delta:
            return []
        return [AssistantTranscript(e.delta)]

    def _on_text_delta(self, e: ev.TextDelta, now: float) -> list[Output]:
        if e.response_id != self._active_response or not e.delta:
            return []
        return [AssistantText(e.delta)]

    def server_ready_for_configuration(self) -> list[Output]:
        """For servers that take ``session.update`` as soon as the socket is open."""
        return self._on_session_created(ev.SessionCreated({}), 0.0)

    def _on_session_created(self, e: ev.SessionCreated, now: float) -> list[Output]:
        if self._created:
            return []  # already configured on connect
        self._created = True
        if not self._session_config:
            return self._become_ready()  # nothing to configure: the defaults are it
        return [self._session_update()]

    def _on_session_updated(self, e: ev.SessionUpdated, now: float) -> list[Output]:
        if self._ready:
            return []
        return self._become_ready()

    def _become_ready(self) -> list[Output]:
        self._ready = True
        out: list[Output] = [SessionReady()]
        while self._early_audio:
            audio = self._early_audio.popleft()
            out.append(Send({"type": "input_audio_buffer.append", "audio": audio}))
        self._early_audio_bytes = 0
        if self._response_owed:
            out.extend(self.request_response())
        return out

    def _on_speech_started(self, e: ev.SpeechStarted, now: float) -> list[Output]:
        # The glue interrupts the pipeline on UserSpeechStarted, so it comes first: the
        # frames closing the reply then follow the interruption instead of being flushed.
        return [UserSpeechStarted(), *self.interrupt(now)]

    def _on_speech_stopped(self, e: ev.SpeechStopped, now: float) -> list[Output]:
        return [UserSpeechStopped()]

    def _on_committed(self, e: ev.BufferCommitted, now: float) -> list[Output]:
        if self.transcription_enabled and e.item_id:
            self._awaiting_transcripts.add(e.item_id)
        return []

    def _on_transcription_delta(self, e: ev.TranscriptionDelta, now: float) -> list[Output]:
        return [UserTranscriptDelta(e.item_id, e.delta)] if e.delta else []

    def _on_transcription_completed(self, e: ev.TranscriptionCompleted, now: float) -> list[Output]:
        out: list[Output] = []
        if e.transcript.strip():
            out.append(UserTranscript(e.item_id, e.transcript))
        return out + self._transcript_settled(e.item_id)

    def _on_transcription_failed(self, e: ev.TranscriptionFailed, now: float) -> list[Output]:
        return self._transcript_settled(e.item_id)

    def _transcript_settled(self, item_id: str) -> list[Output]:
        self._awaiting_transcripts.discard(item_id)
        if self._awaiting_transcripts or not self._held:
            return []
        held, self._held = self._held, []
        return held

    def _on_response_created(self, e: ev.ResponseCreated, now: float) -> list[Output]:
        if self._cancel_next_created:
            # The response we asked for and then cancelled before it existed.
            self._cancel_next_created = False
            self._interrupted_responses.add(e.response_id)
            return []
        self._response_requested_event = None
        if self._active_response is not None and self._active_response != e.response_id:
            # A response we did not see end (should not happen): close it first.
            out = self._close_response(self._active_response, "cancelled")
        else:
            out = []
        self._active_response = e.response_id
        self._requested_calls = []
        out.append(ResponseStarted(e.response_id))
        return out

    def _on_output_item_added(self, e: ev.OutputItemAdded, now: float) -> list[Output]:
        if e.item.get("type") == "function_call":
            call_id = e.item.get("call_id")
            name = e.item.get("name")
            if isinstance(call_id, str) and isinstance(name, str):
                self._tool_names[call_id] = name
        return []

    def _on_arguments_done(self, e: ev.FunctionCallArgumentsDone, now: float) -> list[Output]:
        name = e.name or self._tool_names.get(e.call_id)
        if e.response_id and e.response_id in self._interrupted_responses:
            return []
        try:
            arguments = json.loads(e.arguments) if e.arguments.strip() else {}
            if not isinstance(arguments, dict):
                raise ValueError("arguments are not a JSON object")
        except ValueError as exc:
            # Bad JSON from the model: tell the model, do not crash the bot.
            return self._reject_call(e.call_id, f"invalid JSON arguments: {exc}")
        if not name:
            return self._reject_call(e.call_id, "function call without a name")
        self._requested_calls.append(ToolCall(e.call_id, name, arguments))
        return []

    def _reject_call(self, call_id: str, problem: str) -> list[Output]:
        output = json.dumps({"error": problem})
        item = {"type": "function_call_output", "call_id": call_id, "output": output}
        return [*self.create_items([item]), *self._owe_response()]

    def _owe_response(self) -> list[Output]:
        self._response_owed = True
        return []

    def _on_response_done(self, e: ev.ResponseDone, now: float) -> list[Output]:
        out: list[Output] = []
        if e.response_id == self._active_response:
            out.extend(
                self._close_response(
                    e.response_id,
                    e.status,
                    reason=e.reason,
                    usage=e.usage,
                    error_message=e.error_message,
                )
            )
        elif e.usage and e.response_id in self._interrupted_responses:
            # Closed at the interrupt, without usage; the server bills it all the same.
            out.append(ResponseUsage(e.response_id, e.usage))
        self._interrupted_responses.discard(e.response_id)
        idle = self._response_requested_event is None and self._active_response is None
        if idle and self._response_owed and self._ready:
            out.extend(self.request_response())
        return out

    def _close_response(
        self,
        response_id: str,
        status: str,
        *,
        reason: str | None = None,
        usage: Mapping[str, Any] | None = None,
        error_message: str | None = None,
        interrupted: bool = False,
    ) -> list[Output]:
        out: list[Output] = []
        if self._audio_item is not None:
            out.append(AudioStopped(self._audio_item))
            self._audio_item = None
        self._active_response = None
        calls, self._requested_calls = self._requested_calls, []
        end: list[Output] = [
            ResponseEnded(response_id, status, reason, usage, error_message, interrupted)
        ]
        if calls and not interrupted:
            end.append(ToolCallsRequested(tuple(calls)))
        if self._awaiting_transcripts and not interrupted:
            # The user transcript that prompted this reply is still coming: hold the end
            # (and the tool calls, which are part of the reply) so the conversation
            # history records the user turn first.
            out.extend(self._held)
            self._held = end
        else:
            out.extend(end)
        return out

    def _on_item_added(self, e: ev.ItemAdded, now: float) -> list[Output]:
        if e.item.get("type") == "function_call":
            self._on_output_item_added(ev.OutputItemAdded("", e.item), now)
        return [ItemCreated(e.item_id, e.item)]

    def _on_item_done(self, e: ev.ItemDone, now: float) -> list[Output]:
        return [ItemUpdated(e.item_id, e.item)]

    def _on_item_truncated(self, e: ev.ItemTruncated, now: float) -> list[Output]:
        return [ItemUpdated(e.item_id, {"id": e.item_id, "audio_end_ms": e.audio_end_ms})]

    def _on_item_retrieved(self, e: ev.ItemRetrieved, now: float) -> list[Output]:
        item_id = e.item_id
        for event_id, wanted in list(self._retrieves.items()):
            if wanted == item_id:
                del self._retrieves[event_id]
        return [RetrieveFinished(item_id, e.item)]

    def _on_error(self, e: ev.ServerError, now: float) -> list[Output]:
        error_class = self._classify(e.code, e.error_type)
        event_id = e.event_id or ""
        if event_id in self._retrieves:
            item_id = self._retrieves.pop(event_id)
            return [RetrieveFinished(item_id, None, e.message)]
        out: list[Output] = []
        busy = e.code == "conversation_already_has_active_response"
        if busy or (event_id and event_id == self._response_requested_event):
            # Our response.create was refused: nothing follows it.
            self._response_requested_event = None
        if busy:
            # Refused only because another response is running: still owed after it.
            self._response_owed = True
        if event_id.startswith(_SESSION_EVENT_PREFIX) and not self._ready:
            # The server kept its previous session: do not wait forever for session.updated.
            out.extend(self._become_ready())
        # Every error is reported with its class; the glue only logs the benign ones.
        out.append(ErrorReported(e.message, e.code, error_class, e.param))
        return out


_HANDLERS: dict[type, Any] = {
    ev.AudioDelta: RealtimeSession._on_audio_delta,
    ev.TranscriptDelta: RealtimeSession._on_transcript_delta,
    ev.TextDelta: RealtimeSession._on_text_delta,
    ev.AudioDone: RealtimeSession._on_audio_done,
    ev.SessionCreated: RealtimeSession._on_session_created,
    ev.SessionUpdated: RealtimeSession._on_session_updated,
    ev.SpeechStarted: RealtimeSession._on_speech_started,
    ev.SpeechStopped: RealtimeSession._on_speech_stopped,
    ev.BufferCommitted: RealtimeSession._on_committed,
    ev.TranscriptionDelta: RealtimeSession._on_transcription_delta,
    ev.TranscriptionCompleted: RealtimeSession._on_transcription_completed,
    ev.TranscriptionFailed: RealtimeSession._on_transcription_failed,
    ev.ResponseCreated: RealtimeSession._on_response_created,
    ev.OutputItemAdded: RealtimeSession._on_output_item_added,
    ev.FunctionCallArgumentsDone: RealtimeSession._on_arguments_done,
    ev.ResponseDone: RealtimeSession._on_response_done,
    ev.ItemAdded: RealtimeSession._on_item_added,
    ev.ItemDone: RealtimeSession._on_item_done,
    ev.ItemTruncated: RealtimeSession._on_item_truncated,
    ev.ItemRetrieved: RealtimeSession._on_item_retrieved,
    ev.ServerError: RealtimeSession._on_error,
}
"""Event type -> handler: the receive loop is a table, not an if/elif chain."""
