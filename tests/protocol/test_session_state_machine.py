"""Stateful property test: the session core under any interleaving of events and commands.

Hypothesis drives a :class:`RealtimeSession` and a small model of a GA server in random
orders: requests, interrupts, barge-ins, tool results and playback signals on the client's
side; responses created (for our requests or on the server's own VAD), refused as busy,
streamed, finished or cancelled, user turns committed and transcribed early or late, and
lost connections on the server's. Client events reach the server model through an inbox
that it works through at its own pace, so anything that is in flight in reality is in flight
here too. After every step the invariants of ``realtime_llm.protocol.session`` are checked.

The example budget is small for CI; run it longer with, for example::

    RL_STATE_MACHINE_EXAMPLES=5000 python -m pytest tests/protocol/test_session_state_machine.py
"""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from realtime_llm.protocol.outputs import (
    AssistantTranscript,
    AudioChunk,
    AudioStarted,
    AudioStopped,
    Output,
    ResponseEnded,
    ResponseStarted,
    Send,
    ToolCallsRequested,
    UserAudioTurn,
    UserTranscript,
)

from .helpers import (
    BYTES_PER_MS,
    Harness,
    assistant_audio_item,
    function_call_item,
    pcm,
    session_config,
)

EXAMPLES = int(os.environ.get("RL_STATE_MACHINE_EXAMPLES", "200"))
TOOL = {"type": "function", "name": "f", "description": "d", "parameters": {"type": "object"}}


class SessionUnderAnyInterleaving(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.h = Harness(session_config(transcription=True, tools=[TOOL]))
        self.now = 0.0
        self.counter = 0
        # -- the server model --
        self.inbox: list[dict[str, Any]] = []  # client events the server has not handled
        self.live: str | None = None  # the response the server is generating
        self.live_items: list[str] = []
        self.live_call: tuple[str, str] | None = None  # (item id, call id) of its call
        self.cancel_asked: set[str] = set()
        self.committed: list[str] = []  # user turns whose transcript is still to come
        self.speaking = False
        # -- what the client was told / did --
        self.started: Counter[str] = Counter()
        self.ended: Counter[str] = Counter()
        self.interrupted: set[str] = set()
        self.item_response: dict[str, str] = {}
        self.emitted_ms: Counter[str] = Counter()  # audio the client passed on, per item
        self.audio_open: set[str] = set()
        self.client_knows: set[str] = set()  # responses whose created reached the client
        self.calls_done: set[str] = set()  # calls whose arguments the client received
        self.calls_requested: set[str] = set()
        self.outputs_sent: Counter[str] = Counter()
        self.overdue: set[str] = set()
        self.turn_reply: dict[str, str | None] = {}  # user item -> first reply started after
        self.creates_outstanding = 0
        self.turn_outcomes: Counter[str] = Counter()  # UserTranscript or UserAudioTurn
        self._connect()

    # -- plumbing ------------------------------------------------------------------------

    def _id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}_{self.counter}"

    def _connect(self) -> None:
        self._record(self.h.connect())

    def _feed(self, event: dict[str, Any]) -> None:
        if event["type"] == "response.created":
            self.client_knows.add(event["response"]["id"])
        self._record(self.h.feed(event, self.now))

    def _do(self, outputs: list[Output]) -> None:
        self._record(self.h.do(outputs))

    def _record(self, outputs: list[Output]) -> None:
        for o in outputs:
            if isinstance(o, Send):
                self._sent(o.event)
            elif isinstance(o, ResponseStarted):
                assert self.started[o.response_id] == 0, "started twice"
                self.started[o.response_id] += 1
                for item, reply in self.turn_reply.items():
                    if reply is None:
                        self.turn_reply[item] = o.response_id
            elif isinstance(o, ResponseEnded):
                assert self.started[o.response_id] == 1, "ended without a start"
                assert self.ended[o.response_id] == 0, "ended twice"
                self.ended[o.response_id] += 1
                if o.interrupted:
                    self.interrupted.add(o.response_id)
                self.overdue.update(o.overdue_transcripts)
            elif isinstance(o, AudioStarted):
                assert o.item_id not in self.audio_open
                self.audio_open.add(o.item_id)
            elif isinstance(o, AudioStopped):
                assert o.item_id in self.audio_open
                self.audio_open.discard(o.item_id)
            elif isinstance(o, AudioChunk):
                response = self.item_response[o.item_id]
                assert self.ended[response] == 0, "a delta of an ended response was emitted"
                self.emitted_ms[o.item_id] += len(o.audio_b64) * 3 // 4 // BYTES_PER_MS
            elif isinstance(o, AssistantTranscript):
                pass
            elif isinstance(o, ToolCallsRequested):
                for call in o.calls:
                    assert call.call_id not in self.calls_requested
                    self.calls_requested.add(call.call_id)
            elif isinstance(o, UserTranscript | UserAudioTurn):
                self.turn_outcomes[o.item_id] += 1
                assert self.turn_outcomes[o.item_id] == 1, "a user turn recorded twice"
                if isinstance(o, UserAudioTurn):
                    assert o.audio, "an audio turn without audio"
                reply = self.turn_reply.get(o.item_id)
                if o.late:
                    assert o.item_id in self.overdue, "late, but never named overdue"
                else:
                    assert reply is None or self.ended[reply] == 0, (
                        "the reply ended before the user turn that prompted it"
                    )

    def _sent(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "response.create":
            running = [r for r in self.client_knows if self.live == r]
            assert not running, "response.create while a response runs"
            self.creates_outstanding += 1
            assert self.creates_outstanding <= 1, "two response.create outstanding"
        elif kind == "conversation.item.truncate":
            item = event["item_id"]
            assert event["audio_end_ms"] <= self.emitted_ms[item], "truncated past received"
            assert event["audio_end_ms"] > 0
        elif kind == "conversation.item.create" and event["item"]["type"] == (
            "function_call_output"
        ):
            call_id = event["item"]["call_id"]
            self.outputs_sent[call_id] += 1
            assert self.outputs_sent[call_id] == 1, "two outputs for one call"
        self.inbox.append(event)

    # -- the client's side -----------------------------------------------------------------

    @rule()
    def request_response(self) -> None:
        self._do(self.h.session.request_response())

    @rule()
    def interrupt(self) -> None:
        self._do(self.h.session.interrupt(self.now))

    @rule(dt=st.sampled_from([0.01, 0.05, 0.2, 1.0]))
    def time_passes(self, dt: float) -> None:
        self.now += dt

    @rule()
    def bot_started(self) -> None:
        self.h.session.playback_started(self.now)

    @rule()
    def bot_stopped(self) -> None:
        self.h.session.playback_finished(self.now)

    @rule()
    def glue_gives_up_waiting(self) -> None:
        self._do(self.h.session.release_held_response())

    @precondition(lambda self: bool(self.calls_requested - set(self.outputs_sent)))
    @rule(data=st.data())
    def tool_result(self, data: st.DataObject) -> None:
        pending = sorted(self.calls_requested - set(self.outputs_sent))
        call_id = data.draw(st.sampled_from(pending))
        item = {"type": "function_call_output", "call_id": call_id, "output": '"ok"'}
        self._do([*self.h.session.create_items([item]), *self.h.session.request_response()])

    # -- the server's side -----------------------------------------------------------------

    @precondition(lambda self: bool(self.inbox))
    @rule()
    def server_handles_next_client_event(self) -> None:
        event = self.inbox.pop(0)
        kind = event["type"]
        if kind == "response.create":
            self.creates_outstanding -= 1
            if self.live is not None:
                self._feed(
                    self.h.server.error(
                        "conversation_already_has_active_response",
                        "Conversation already has an active response in progress.",
                        event_id=event["event_id"],
                    )
                )
            else:
                self._create(event.get("response", {}).get("metadata"))
        elif kind == "response.cancel" and self.live is not None:
            self.cancel_asked.add(self.live)

    def _create(self, metadata: dict[str, str] | None) -> None:
        response_id = self._id("resp")
        self.live = response_id
        self.live_items = []
        self.live_call = None
        self._feed(self.h.server.response_created(response_id, metadata))

    @precondition(lambda self: self.live is None and not self.speaking)
    @rule()
    def server_vad_turn(self) -> None:
        """The user speaks and stops; the server commits and starts its own reply."""
        item = self._id("user")
        self._feed(self.h.server.speech_started(item))
        self.h.append(pcm(20, fill=self.counter % 250 + 1))
        self._feed(self.h.server.speech_stopped(item))
        self._feed(self.h.server.committed(item))
        self.committed.append(item)
        self.turn_reply[item] = None
        self._create(None)

    @precondition(lambda self: not self.speaking)
    @rule()
    def user_barges_in(self) -> None:
        self.speaking = True
        self._feed(self.h.server.speech_started(self._id("user")))
        if self.live is not None:
            self.cancel_asked.add(self.live)  # interrupt_response: the server cancels

    @precondition(lambda self: self.speaking)
    @rule()
    def user_stops(self) -> None:
        self.speaking = False
        item = self._id("user")
        self.h.append(pcm(20, fill=self.counter % 250 + 1))
        self._feed(self.h.server.speech_stopped(item))
        self._feed(self.h.server.committed(item))
        self.committed.append(item)
        self.turn_reply[item] = None

    @precondition(lambda self: bool(self.committed))
    @rule(data=st.data(), fail=st.booleans())
    def transcript_arrives(self, data: st.DataObject, fail: bool) -> None:
        item = data.draw(st.sampled_from(self.committed))
        self.committed.remove(item)
        if fail:
            self._feed(self.h.server.transcription_failed(item))
        else:
            self._feed(self.h.server.transcription_completed(item, f"words of {item}"))
        # Heard or not, the turn is recorded once: as its words, or as its audio.
        assert self.turn_outcomes[item] == 1, "a user turn lost"

    @precondition(lambda self: self.live is not None)
    @rule(ms=st.sampled_from([20, 100, 300]))
    def audio_delta(self, ms: int) -> None:
        assert self.live is not None
        if not self.live_items:
            item = self._id("item")
            self.live_items.append(item)
            self.item_response[item] = self.live
            added = self.h.server.output_item_added(self.live, assistant_audio_item(item))
            self._feed(added)
        self._feed(self.h.server.audio_delta(self.live, self.live_items[-1], pcm(ms)))

    @precondition(lambda self: self.live is not None and self.live_call is None)
    @rule()
    def function_call(self) -> None:
        assert self.live is not None
        item, call_id = self._id("fc"), self._id("call")
        self.live_call = (item, call_id)
        self._feed(
            self.h.server.output_item_added(self.live, function_call_item(item, call_id, "f"))
        )
        self._feed(self.h.server.arguments_done(self.live, item, call_id, "f", "{}"))
        self.calls_done.add(call_id)

    @precondition(lambda self: self.live is not None)
    @rule()
    def response_done(self) -> None:
        assert self.live is not None
        response_id, self.live = self.live, None
        for item in self.live_items:
            self._feed(self.h.server.audio_done(response_id, item))
        cancelled = response_id in self.cancel_asked
        status = "cancelled" if cancelled else "completed"
        reason = "client_cancelled" if cancelled else None
        self._feed(self.h.server.response_done(response_id, status, reason=reason))

    @rule()
    def connection_lost_and_back(self) -> None:
        outputs, _wanted = self.h.session.connection_lost()
        self._record(outputs)
        # Turns whose transcript will never come now are handed out as their audio.
        assert all(self.turn_outcomes[i] == 1 for i in self.committed), "a user turn lost"
        assert all(self.ended[r] == 1 for r in self.started), "a reply left open by a drop"
        # A new server: nothing of the old one survives.
        self.inbox.clear()
        self.live = None
        self.committed.clear()
        self.speaking = False
        self.creates_outstanding = 0
        self.client_knows.clear()
        self.h.unanswered.clear()
        self.calls_done.clear()
        self.calls_requested.clear()
        self.outputs_sent.clear()
        self.turn_reply.clear()
        self._connect()

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def starts_and_ends_pair(self) -> None:
        assert all(n == 1 for n in self.started.values())
        assert set(self.ended) <= set(self.started)

    def teardown(self) -> None:
        """Let everything finish; then every reply ended and every call has one output."""
        for _ in range(50):
            if self.inbox:
                self.server_handles_next_client_event()
            elif self.live is not None:
                self.response_done()
            else:
                break
        self._do(self.h.session.release_held_response())
        for response_id in self.started:
            assert self.ended[response_id] == 1, f"{response_id} never ended"
        for call_id in sorted(self.calls_requested - set(self.outputs_sent)):
            item = {"type": "function_call_output", "call_id": call_id, "output": json.dumps(1)}
            self._do(self.h.session.create_items([item]))
        for call_id in self.calls_done:
            assert self.outputs_sent[call_id] == 1, f"{call_id} has no output"


SessionUnderAnyInterleaving.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_session_under_any_interleaving = SessionUnderAnyInterleaving.TestCase
