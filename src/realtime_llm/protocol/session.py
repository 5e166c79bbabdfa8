"""The realtime session core: feed it server events and commands, act on what it returns.

No socket, no event loop, no clock, no pipecat: every method takes plain values and
returns a list of :mod:`~realtime_llm.protocol.outputs` (client events to :class:`Send`,
and happenings for the glue to turn into frames). Time, where a rule needs it, comes in
as ``now`` (seconds on any monotonic clock).

State, and the rules that move it::

    connection    new --session.created--> created --session.updated--> ready
                  (reset() on a new socket returns to new)

    response      two machines with their transitions in tables
                  (:mod:`~realtime_llm.protocol.response`): our ``response.create``
                  (none -> sent -> none, or cancelled by a barge-in) and the server's
                  response (idle -> active -> idle, or cancelling after an interrupt),
                  correlated by a tag in ``response.metadata``. A request that cannot be
                  sent now (not ready, one pending, one running or ending) is *owed*:
                  one ``response.create`` is sent as soon as it can be.

    playback      a model of the output's playout
                  (:class:`~realtime_llm.protocol.playback.PlaybackTracker`); an interrupt
                  truncates each item where the user stopped hearing it.

    tools         :class:`~realtime_llm.protocol.tools.ToolCallLedger`: every function
                  call gets exactly one ``function_call_output`` (a call cut by an
                  interrupt gets a "cancelled" one).

    transcripts   :class:`~realtime_llm.protocol.transcripts.TranscriptGate`: a reply's
                  end waits for the transcript of the user turn that prompted it; one
                  that comes later still is reported ``late``, to be placed before it.

    audio early   input audio sent before ``ready`` is buffered (bounded) and flushed on
                  ready, so the first words are not lost and never sent in a stale format;
                  the buffer survives a lost connection, so words spoken while it
                  reconnects reach the new session.

    turn audio    :class:`~realtime_llm.protocol.turn_audio.TurnAudioRecorder`: the audio
                  sent since the last commit (bounded); a committed turn that gets no
                  transcript is handed out as ``UserAudioTurn``, so a replay can give it
                  to a new session.

Invariants (checked by the stateful property test in
``tests/protocol/test_session_state_machine.py``):
at most one ``response.create`` outstanding and none while a response runs; each
response yields exactly one ``ResponseStarted`` and one ``ResponseEnded``, also when it
is interrupted or fails; ``AudioStarted``/``AudioStopped`` pair up per audio item; no
delta of an interrupted response is emitted; a truncation never exceeds the audio
received for its item; every function call gets at most one output, and a call cut by an
interrupt gets one; every user turn's transcript comes before the end of the reply it
prompted, or is marked late.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from realtime_llm.errors import ErrorClass, classify_error
from realtime_llm.protocol import events as ev
from realtime_llm.protocol.capabilities import Capabilities
from realtime_llm.protocol.early_audio import EarlyAudioBuffer
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
    UserAudioTurn,
    UserSpeechStarted,
    UserSpeechStopped,
    UserTranscript,
    UserTranscriptDelta,
)
from realtime_llm.protocol.playback import PlaybackTracker
from realtime_llm.protocol.response import (
    REQUEST_TAG,
    RequestMove,
    RequestState,
    ResponseLifecycle,
    ResponseMove,
    ResponseState,
)
from realtime_llm.protocol.tools import CANCELLED_OUTPUT, ToolCallLedger
from realtime_llm.protocol.transcripts import TranscriptGate
from realtime_llm.protocol.turn_audio import TurnAudioRecorder

__all__ = ["RealtimeSession", "session_audio_format"]

_RESPONSE_EVENT_PREFIX = "rl_resp_"
_SESSION_EVENT_PREFIX = "rl_sess_"
_RETRIEVE_EVENT_PREFIX = "rl_retr_"
_SPEECH_LEAD_S = 1.0
"""Input audio kept from before server VAD's ``speech_started`` (its prefix padding and
detection delay), for the recorded turn."""


def session_audio_format(session: Mapping[str, Any], direction: str) -> tuple[str, int]:
    """The (type, rate) of a GA session's ``audio.input`` or ``audio.output`` format; the
    defaults where it says nothing: PCM16 at 24 kHz, G.711 at 8 kHz."""
    fmt = ((session.get("audio") or {}).get(direction) or {}).get("format") or {}
    kind = str(fmt.get("type", "audio/pcm"))
    return kind, int(fmt.get("rate") or (24000 if kind == "audio/pcm" else 8000))


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
        classify: the dialect's classifier of server error codes.
        max_turn_audio_s: seconds of input audio kept per user turn (the newest), for a
            turn that gets no transcript (:class:`UserAudioTurn`).
    """

    def __init__(
        self,
        capabilities: Capabilities | None = None,
        *,
        early_audio_limit_bytes: int = 2 * 64_000,
        classify: Callable[[str | None, str | None], ErrorClass] = classify_error,
        max_turn_audio_s: float = 30.0,
    ) -> None:
        self.capabilities = capabilities or Capabilities()
        self._classify = classify
        self._unavailable_reported: set[str] = set()
        self.playback = PlaybackTracker()
        self._session_config: dict[str, Any] = {}
        self._counter = 0
        # Held input audio outlives a connection: it is the user's, not yet delivered.
        self._early_audio = EarlyAudioBuffer(early_audio_limit_bytes)
        self._tools = ToolCallLedger()
        self._transcripts = TranscriptGate()
        self._responses = ResponseLifecycle()
        self._max_turn_audio_s = max_turn_audio_s
        self._turn_audio = TurnAudioRecorder(*self._turn_audio_bounds())
        self._reset_connection_state()

    def _turn_audio_bounds(self) -> tuple[int, int]:
        """The recorder's bounds in base64 characters, at the configured input format."""
        kind, rate = session_audio_format(self._session_config, "input")
        chars_per_s = rate * (2 if kind == "audio/pcm" else 1) * 4 // 3
        return int(chars_per_s * self._max_turn_audio_s), int(chars_per_s * _SPEECH_LEAD_S)

    # -- connection state ---------------------------------------------------------------

    def _reset_connection_state(self) -> None:
        self._created = False
        self._ready = False
        self._responses.reset()
        self._audio_item: str | None = None  # item whose audio has started, not yet stopped
        self._tools.reset()
        self._retrieves: dict[str, str] = {}  # event_id -> item_id
        self._transcripts.reset()
        self._turn_audio.reset()
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
        lifecycle = self._responses
        wanted = self.response_active or lifecycle.owed
        out: list[Output] = self._transcripts.release()
        self.playback.forget()
        if lifecycle.response is ResponseState.ACTIVE and lifecycle.response_id is not None:
            out.extend(
                self._close_response(
                    lifecycle.response_id,
                    "incomplete",
                    reason="connection_lost",
                    interrupted=True,
                    settle_calls=False,  # the server that made them is gone
                )
            )
        # Turns whose transcript will never come now: their audio is all there is of them.
        # Late only if a reply that ended named it overdue (the glue has its place then).
        out.extend(
            UserAudioTurn(i, a, self._transcripts.overdue(i))
            for i, a in self._turn_audio.take_awaiting()
        )
        lifecycle.move_request(RequestMove.LOST)
        lifecycle.move_response(ResponseMove.LOST)
        self._reset_connection_state()
        return out, wanted

    @property
    def ready(self) -> bool:
        """Whether the server applied our session configuration."""
        return self._ready

    @property
    def response_active(self) -> bool:
        """A reply is on its way (our request is pending) or running."""
        lifecycle = self._responses
        return lifecycle.request is RequestState.SENT or lifecycle.response is ResponseState.ACTIVE

    @property
    def response_state(self) -> ResponseState:
        """The server's response, as the response machine sees it."""
        return self._responses.response

    @property
    def request_state(self) -> RequestState:
        """Our ``response.create``, as the request machine sees it."""
        return self._responses.request

    @property
    def response_owed(self) -> bool:
        """A reply was asked for and will be requested as soon as one may be."""
        return self._responses.owed

    @property
    def playing(self) -> bool:
        """Assistant audio was received that is not known to be fully played."""
        return self.playback.item_id is not None

    @property
    def holding_response_end(self) -> bool:
        """A finished reply waits for its user transcript (see ``release_held_response``)."""
        return self._transcripts.holding

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
        """Set the session configuration: the GA ``session`` object of ``session.update``.

        Always the GA shape: the core reasons on it (turn detection, transcription), and
        the connection reshapes it for the dialect on the way out. Sent now if the server
        already created the session, else on ``session.created``.
        """
        self._session_config = dict(session)
        self._turn_audio.server_vad = self.server_vad
        self._turn_audio.set_bounds(*self._turn_audio_bounds())
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
            self._turn_audio.add(audio_b64)
            return {"type": "input_audio_buffer.append", "audio": audio_b64}
        self._early_audio.hold(audio_b64)
        return None

    def hold_audio(self, audio_b64: str) -> None:
        """Keep input audio for the next ready session (bounded: the oldest goes first).

        For audio the socket refused: the connection went before anyone noticed.
        """
        self._early_audio.hold(audio_b64)

    @property
    def early_audio_dropped_bytes(self) -> int:
        """Input audio dropped because the session was not ready for too long."""
        return self._early_audio.dropped_bytes

    def commit_audio(self) -> list[Output]:
        """Client turn end (turn detection off): commit the buffer and ask for a reply."""
        return [Send({"type": "input_audio_buffer.commit"}), *self.request_response()]

    def clear_audio(self) -> list[Output]:
        self._turn_audio.clear()
        return [Send({"type": "input_audio_buffer.clear"})]

    def create_items(self, items: Iterable[Mapping[str, Any]]) -> list[Output]:
        """Add conversation items (messages, function calls, outputs) at the end.

        A ``function_call_output`` goes out once per call: a second one is dropped.
        """
        out: list[Output] = []
        for item in items:
            if item.get("type") == "function_call_output" and not self._tools.output_once(
                str(item.get("call_id"))
            ):
                continue
            out.append(Send({"type": "conversation.item.create", "item": dict(item)}))
        return out

    def cancel_tool_calls(self, call_ids: Iterable[str]) -> list[Output]:
        """Close calls that will never get a result, so the server does not wait on them.

        Each gets the :data:`~realtime_llm.protocol.tools.CANCELLED_OUTPUT`, unless it
        already has an output. No reply is asked for.
        """
        return self.create_items(
            {"type": "function_call_output", "call_id": call_id, "output": CANCELLED_OUTPUT}
            for call_id in call_ids
        )

    def mark_tool_calls_completed(self, call_ids: Iterable[str]) -> None:
        """Outputs this server already has: never send them again."""
        self._tools.mark_completed(call_ids)

    def tool_call_completed(self, call_id: str) -> bool:
        return self._tools.completed(call_id)

    def knows_call(self, call_id: str) -> bool:
        """Whether the server made this function call (it has the call item already)."""
        return self._tools.knows(call_id)

    def request_response(self, response: Mapping[str, Any] | None = None) -> list[Output]:
        """Ask for a reply; owed (sent later) unless one may be requested now.

        One may be requested when the session is ready, no request of ours is pending,
        and no response runs or is still ending.
        """
        lifecycle = self._responses
        if not self._ready or not lifecycle.can_send:
            lifecycle.owed = True
            return []
        lifecycle.owed = False
        event_id = self._event_id(_RESPONSE_EVENT_PREFIX)
        lifecycle.move_request(RequestMove.SEND)
        lifecycle.request_event = event_id
        event: dict[str, Any] = {"type": "response.create", "event_id": event_id}
        params = dict(response) if response else {}
        if not self.capabilities.response_create_takes_modalities:
            params.pop("output_modalities", None)  # the session's modalities apply
        if self.capabilities.echoes_response_metadata:
            params["metadata"] = {**(params.get("metadata") or {}), REQUEST_TAG: event_id}
        if params:
            event["response"] = params
        return [Send(event)]

    def _send_owed(self) -> list[Output]:
        if self._responses.owed and self._ready and self._responses.can_send:
            return self.request_response()
        return []

    def interrupt(self, now: float) -> list[Output]:
        """The user barged in: stop the reply and cut it where the user stopped hearing it.

        Idempotent: a second call (server VAD's speech_started, then the pipeline's
        InterruptionFrame) finds nothing left to do.
        """
        lifecycle = self._responses
        out: list[Output] = []
        if not self.server_vad and self._ready:
            self._turn_audio.clear()
            out.append(Send({"type": "input_audio_buffer.clear"}))
        lifecycle.owed = False
        response_id = lifecycle.playing_id
        if response_id is not None:
            out.append(Send({"type": "response.cancel"}))  # first: it stops the generation
        out.extend(self._truncate_playing(now))
        if response_id is not None:
            lifecycle.move_response(ResponseMove.INTERRUPT)
            out.extend(self._close_response(response_id, "cancelled", interrupted=True))
        # Our response.create still on its way: cancelled as soon as it is created.
        lifecycle.move_request(RequestMove.INTERRUPT)
        return out

    def _truncate_playing(self, now: float) -> list[Output]:
        points = self.playback.truncation_points(now)
        self.playback.forget()
        if not self._ready:
            return []
        out: list[Output] = []
        for point in points:
            if point.delete:
                if not self.capabilities.supports_delete:
                    out.extend(
                        self._unavailable("conversation.item.delete", "the unheard reply stays")
                    )
                    continue
                out.append(Send({"type": "conversation.item.delete", "item_id": point.item_id}))
            elif not self.capabilities.supports_truncate:
                out.extend(
                    self._unavailable(
                        "conversation.item.truncate",
                        "the model will remember the whole interrupted reply, "
                        "not only what was heard",
                    )
                )
            else:
                out.append(
                    Send(
                        {
                            "type": "conversation.item.truncate",
                            "item_id": point.item_id,
                            "content_index": 0,
                            "audio_end_ms": point.audio_end_ms,
                        }
                    )
                )
        return out

    def _unavailable(self, feature: str, consequence: str) -> list[Output]:
        """Report once per session that the server lacks a feature we would have used."""
        if feature in self._unavailable_reported:
            return []
        self._unavailable_reported.add(feature)
        return [FeatureUnavailable(feature, consequence)]

    def playback_started(self, now: float) -> None:
        """The output transport started playing (BotStartedSpeaking)."""
        self.playback.playback_started(now)

    def playback_finished(self, now: float | None = None) -> None:
        """The output transport ran dry (BotStoppedSpeaking).

        Only what the playout model says was fully played is forgotten: a reply that
        arrived just before this stop is still playing.
        """
        if now is None:
            self.playback.forget()
        else:
            self.playback.playback_stopped(now)

    def retrieve_item(self, item_id: str) -> list[Output]:
        event_id = self._event_id(_RETRIEVE_EVENT_PREFIX)
        self._retrieves[event_id] = item_id
        return [
            Send({"type": "conversation.item.retrieve", "event_id": event_id, "item_id": item_id})
        ]

    def release_held_response(self) -> list[Output]:
        """Give up waiting for the user transcript that should precede a finished reply.

        The transcripts still to come are reported ``late`` when they arrive.
        """
        return self._transcripts.release()

    # -- server events ------------------------------------------------------------------

    def receive(self, event: ev.ServerEvent, now: float) -> list[Output]:
        """Feed one parsed server event; returns what to send and what happened."""
        handler = _HANDLERS.get(type(event))
        if handler is None:
            return []
        outputs: list[Output] = handler(self, event, now)
        return outputs

    def _on_audio_delta(self, e: ev.AudioDelta, now: float) -> list[Output]:
        if e.response_id != self._responses.playing_id:
            return []  # a reply we interrupted: drop, never play
        self.playback.audio_received(e.item_id, _decoded_size(e.delta), now)
        if self._audio_item != e.item_id:
            out: list[Output] = []
            if self._audio_item is not None:
                self.playback.audio_done(self._audio_item)
                out.append(AudioStopped(self._audio_item))
            self._audio_item = e.item_id
            out.append(AudioStarted(e.item_id))
            out.append(AudioChunk(e.item_id, e.delta))
            return out
        return [AudioChunk(e.item_id, e.delta)]

    def _on_audio_done(self, e: ev.AudioDone, now: float) -> list[Output]:
        if e.response_id != self._responses.playing_id or self._audio_item != e.item_id:
            return []
        self._audio_item = None
        self.playback.audio_done(e.item_id)
        return [AudioStopped(e.item_id)]

    def _on_transcript_delta(self, e: ev.TranscriptDelta, now: float) -> list[Output]:
        if e.response_id != self._responses.playing_id or not e.delta:
            return []
        return [AssistantTranscript(e.delta)]

    def _on_text_delta(self, e: ev.TextDelta, now: float) -> list[Output]:
        if e.response_id != self._responses.playing_id or not e.delta:
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
        for audio in self._early_audio.drain():
            self._turn_audio.add(audio)
            out.append(Send({"type": "input_audio_buffer.append", "audio": audio}))
        out.extend(self._send_owed())
        return out

    def _on_speech_started(self, e: ev.SpeechStarted, now: float) -> list[Output]:
        # The glue interrupts the pipeline on UserSpeechStarted, so it comes first: the
        # frames closing the reply then follow the interruption instead of being flushed.
        self._turn_audio.speech_started()
        return [UserSpeechStarted(), *self.interrupt(now)]

    def _on_speech_stopped(self, e: ev.SpeechStopped, now: float) -> list[Output]:
        return [UserSpeechStopped()]

    def _on_committed(self, e: ev.BufferCommitted, now: float) -> list[Output]:
        audio = self._turn_audio.committed()
        if not e.item_id:
            return []
        if self.transcription_enabled:
            self._transcripts.expect(e.item_id)
            self._turn_audio.await_transcript(e.item_id, audio)  # handed out if it fails
            return []
        return [UserAudioTurn(e.item_id, audio)] if audio else []

    def _on_cleared(self, e: ev.BufferCleared, now: float) -> list[Output]:
        self._turn_audio.clear()
        return []

    def _on_transcription_delta(self, e: ev.TranscriptionDelta, now: float) -> list[Output]:
        return [UserTranscriptDelta(e.item_id, e.delta)] if e.delta else []

    def _on_transcription_completed(self, e: ev.TranscriptionCompleted, now: float) -> list[Output]:
        late = self._transcripts.overdue(e.item_id)
        audio = self._turn_audio.settle(e.item_id)
        out: list[Output] = []
        if e.transcript.strip():
            out.append(UserTranscript(e.item_id, e.transcript, late))
        elif audio:  # heard as nothing: the audio is all there is of the turn
            out.append(UserAudioTurn(e.item_id, audio, late))
        return out + self._transcripts.settled(e.item_id)

    def _on_transcription_failed(self, e: ev.TranscriptionFailed, now: float) -> list[Output]:
        late = self._transcripts.overdue(e.item_id)
        audio = self._turn_audio.settle(e.item_id)
        out: list[Output] = [UserAudioTurn(e.item_id, audio, late)] if audio else []
        return out + self._transcripts.settled(e.item_id)

    def _on_response_created(self, e: ev.ResponseCreated, now: float) -> list[Output]:
        lifecycle = self._responses
        if e.response_id and e.response_id == lifecycle.response_id:
            return []  # a duplicate of the one we follow
        ours = lifecycle.is_ours(e.metadata, self.capabilities.echoes_response_metadata)
        cancelled = ours and lifecycle.request is RequestState.CANCELLED
        if ours:
            lifecycle.move_request(RequestMove.CREATED)
        out: list[Output] = []
        if lifecycle.response is ResponseState.ACTIVE and lifecycle.response_id is not None:
            # A response we did not see end (should not happen): close it first.
            out.extend(self._close_response(lifecycle.response_id, "cancelled"))
        if cancelled:
            # Asked for, then cancelled by the user before it existed: stop it now; its
            # audio never plays and nothing reports it.
            lifecycle.move_response(ResponseMove.CREATED_CANCELLED, e.response_id)
            out.append(Send({"type": "response.cancel"}))
            return out
        lifecycle.move_response(ResponseMove.CREATED, e.response_id)
        self._tools.clear_requested()
        out.append(ResponseStarted(e.response_id))
        return out

    def _on_output_item_added(self, e: ev.OutputItemAdded, now: float) -> list[Output]:
        if e.item.get("type") == "function_call":
            call_id = e.item.get("call_id")
            name = e.item.get("name")
            if isinstance(call_id, str) and isinstance(name, str):
                self._tools.call_seen(call_id, name)
        return []

    def _on_arguments_done(self, e: ev.FunctionCallArgumentsDone, now: float) -> list[Output]:
        name = e.name or self._tools.name_of(e.call_id)
        lifecycle = self._responses
        if e.response_id and e.response_id != lifecycle.playing_id:
            # The call of a reply the user interrupted: it will never run.
            return self.cancel_tool_calls([e.call_id])
        try:
            arguments = json.loads(e.arguments) if e.arguments.strip() else {}
            if not isinstance(arguments, dict):
                raise ValueError("arguments are not a JSON object")
        except ValueError as exc:
            # Bad JSON from the model: tell the model, do not crash the bot.
            return self._reject_call(e.call_id, f"invalid JSON arguments: {exc}")
        if not name:
            return self._reject_call(e.call_id, "function call without a name")
        self._tools.requested(ToolCall(e.call_id, name, arguments))
        return []

    def _reject_call(self, call_id: str, problem: str) -> list[Output]:
        output = json.dumps({"error": problem})
        item = {"type": "function_call_output", "call_id": call_id, "output": output}
        self._responses.owed = True  # the model hears about it after this reply
        return self.create_items([item])

    def _on_response_done(self, e: ev.ResponseDone, now: float) -> list[Output]:
        lifecycle = self._responses
        out: list[Output] = []
        if lifecycle.response is ResponseState.BUSY:
            lifecycle.move_response(ResponseMove.DONE)
        elif e.response_id == lifecycle.response_id:
            if lifecycle.response is ResponseState.ACTIVE:
                out.extend(
                    self._close_response(
                        e.response_id,
                        e.status,
                        reason=e.reason,
                        usage=e.usage,
                        error_message=e.error_message,
                    )
                )
            elif lifecycle.response is ResponseState.CANCELLING and e.usage:
                # Closed at the interrupt, without usage; the server bills it all the same.
                out.append(ResponseUsage(e.response_id, e.usage))
            lifecycle.move_response(ResponseMove.DONE)
        out.extend(self._send_owed())
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
        settle_calls: bool = True,
    ) -> list[Output]:
        """The outputs that end a response (its state is moved by the caller)."""
        out: list[Output] = []
        if self._audio_item is not None:
            self.playback.audio_done(self._audio_item)
            out.append(AudioStopped(self._audio_item))
            self._audio_item = None
        calls = self._tools.take_requested()
        if interrupted:
            # The reply is over before the user heard all of it: its calls never run, and
            # transcripts still to come are placed before it when they arrive.
            out.extend(self._transcripts.release())
            overdue = self._transcripts.overdue_all()
            out.append(
                ResponseEnded(
                    response_id,
                    status,
                    reason,
                    usage,
                    error_message,
                    True,
                    overdue,
                )
            )
            if calls and settle_calls:
                out.extend(self.cancel_tool_calls(c.call_id for c in calls))
            return out
        end: list[Output] = [ResponseEnded(response_id, status, reason, usage, error_message)]
        if calls:
            end.append(ToolCallsRequested(calls))
        if self._transcripts.waiting:
            # The user transcript that prompted this reply is still coming: hold the end
            # (and the tool calls, which are part of the reply) so the conversation
            # history records the user turn first.
            out.extend(self._transcripts.hold(end))
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
        lifecycle = self._responses
        out: list[Output] = []
        busy = e.code == "conversation_already_has_active_response"
        pending = lifecycle.request_event
        if pending is not None and (event_id == pending or (busy and not event_id)):
            # Our response.create was refused: nothing follows it. Refused only because
            # another response runs: still owed after that one (unless the user cancelled).
            wanted = lifecycle.request is RequestState.SENT
            lifecycle.move_request(RequestMove.REFUSED)
            if busy:
                lifecycle.move_response(ResponseMove.BUSY)  # only from idle
                lifecycle.owed = lifecycle.owed or wanted
        if event_id.startswith(_SESSION_EVENT_PREFIX) and not self._ready:
            # The server kept its previous session: do not wait forever for session.updated.
            out.extend(self._become_ready())
        # Every error is reported with its class; the glue only logs the benign ones.
        out.append(ErrorReported(e.message, e.code, error_class, e.param, e.event_id))
        out.extend(self._send_owed())
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
    ev.BufferCleared: RealtimeSession._on_cleared,
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
