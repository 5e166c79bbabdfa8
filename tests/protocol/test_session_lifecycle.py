"""The session core against the contract's "Connection lifecycle" table.

One class per row the core takes part in (socket handling itself belongs to the transport).
"""

from __future__ import annotations

from unittest.mock import ANY

from realtime_llm.errors import ErrorClass
from realtime_llm.protocol.outputs import (
    AudioChunk,
    AudioStarted,
    AudioStopped,
    ErrorReported,
    ItemCreated,
    ResponseEnded,
    ResponseStarted,
    Send,
    SessionReady,
)

from .helpers import (
    Harness,
    assistant_audio_item,
    function_call_item,
    pcm,
    sends,
    session_config,
    user_text_item,
)


class TestSessionCreated:
    """`session.created` received: send `session.update` with the current session."""

    def test_configure_before_created_sends_nothing(self) -> None:
        h = Harness()
        assert h.do(h.session.configure(h.config)) == []
        assert not h.session.ready

    def test_created_sends_session_update_with_the_configured_session(self) -> None:
        config = session_config(transcription=True)
        h = Harness(config)
        h.do(h.session.configure(config))
        out = h.feed(h.server.session_created())
        assert out == [Send({"type": "session.update", "event_id": ANY, "session": config})]
        assert isinstance(out[0], Send)
        assert isinstance(out[0].event["event_id"], str) and out[0].event["event_id"]
        assert not h.session.ready  # ready only once the server applied it

    def test_configure_after_created_sends_update_at_once(self) -> None:
        h = Harness()
        h.do(h.session.configure(h.config))
        h.feed(h.server.session_created())
        new = session_config(instructions="Speak like a pirate.")
        assert h.do(h.session.configure(new)) == [
            Send({"type": "session.update", "event_id": ANY, "session": new})
        ]

    def test_latest_configuration_wins(self) -> None:
        h = Harness()
        h.do(h.session.configure(session_config(instructions="first")))
        latest = session_config(instructions="second")
        h.do(h.session.configure(latest))
        assert h.feed(h.server.session_created()) == [
            Send({"type": "session.update", "event_id": ANY, "session": latest})
        ]

    def test_event_ids_are_unique(self) -> None:
        h = Harness()
        h.connect()
        h.do(h.session.configure(h.config))
        h.do(h.session.request_response())
        h.do(h.session.retrieve_item("item_1"))
        ids = [e["event_id"] for e in h.sent if "event_id" in e]
        assert len(ids) == 4
        assert len(set(ids)) == 4


class TestSessionUpdated:
    """`session.updated` received: ready; a response requested before is created now."""

    def test_first_session_updated_makes_the_session_ready(self) -> None:
        h = Harness()
        h.do(h.session.configure(h.config))
        h.feed(h.server.session_created())
        assert h.feed(h.server.session_updated()) == [SessionReady()]
        assert h.session.ready

    def test_later_session_updated_is_not_a_second_ready(self) -> None:
        h = Harness()
        h.connect()
        h.do(h.session.configure(session_config(instructions="again")))
        assert h.feed(h.server.session_updated()) == []

    def test_connect_outputs_in_order(self) -> None:
        h = Harness()
        assert h.connect() == [
            Send({"type": "session.update", "event_id": ANY, "session": h.config}),
            SessionReady(),
        ]

    def test_early_audio_is_held_and_flushed_in_order_on_ready(self) -> None:
        h = Harness()
        h.do(h.session.configure(h.config))
        assert h.append(pcm(20, fill=1)) is None
        h.feed(h.server.session_created())
        assert h.append(pcm(20, fill=2)) is None  # created is not ready yet
        assert h.feed(h.server.session_updated()) == [
            SessionReady(),
            Send({"type": "input_audio_buffer.append", "audio": pcm(20, fill=1)}),
            Send({"type": "input_audio_buffer.append", "audio": pcm(20, fill=2)}),
        ]
        assert h.session.early_audio_dropped_bytes == 0

    def test_early_audio_is_bounded_oldest_dropped_and_counted(self) -> None:
        chunk = len(pcm(10))  # base64 characters of one 10 ms chunk
        h = Harness(early_audio_limit_bytes=2 * chunk + chunk // 2)
        h.do(h.session.configure(h.config))
        for fill in (1, 2, 3, 4):
            assert h.append(pcm(10, fill=fill)) is None
        assert h.session.early_audio_dropped_bytes == 2 * chunk
        h.feed(h.server.session_created())
        assert h.feed(h.server.session_updated()) == [
            SessionReady(),
            Send({"type": "input_audio_buffer.append", "audio": pcm(10, fill=3)}),
            Send({"type": "input_audio_buffer.append", "audio": pcm(10, fill=4)}),
        ]

    def test_flushed_audio_is_not_sent_twice(self) -> None:
        h = Harness()
        h.do(h.session.configure(h.config))
        h.append(pcm(10))
        h.feed(h.server.session_created())
        h.feed(h.server.session_updated())
        h.do(h.session.configure(session_config(instructions="x")))
        assert h.feed(h.server.session_updated()) == []
        assert [e["type"] for e in h.sent].count("input_audio_buffer.append") == 1

    def test_audio_after_ready_goes_straight_out(self) -> None:
        h = Harness()
        h.connect()
        assert h.append(pcm(10)) == {"type": "input_audio_buffer.append", "audio": pcm(10)}

    def test_response_requested_before_ready_is_created_on_ready(self) -> None:
        h = Harness()
        h.do(h.session.configure(h.config))
        assert h.do(h.session.request_response()) == []
        h.feed(h.server.session_created())
        assert h.do(h.session.request_response()) == []  # still owed, still once
        assert h.feed(h.server.session_updated()) == [
            SessionReady(),
            Send(
                {
                    "type": "response.create",
                    "event_id": ANY,
                    "response": {"metadata": {"rl_request": ANY}},
                }
            ),
        ]
        assert h.session.response_active

    def test_ready_order_is_ready_then_audio_then_response(self) -> None:
        h = Harness()
        h.do(h.session.configure(h.config))
        h.do(h.session.create_items([user_text_item("Hello")]))
        h.append(pcm(10))
        h.do(h.session.request_response())
        h.feed(h.server.session_created())
        assert h.feed(h.server.session_updated()) == [
            SessionReady(),
            Send({"type": "input_audio_buffer.append", "audio": pcm(10)}),
            Send(
                {
                    "type": "response.create",
                    "event_id": ANY,
                    "response": {"metadata": {"rl_request": ANY}},
                }
            ),
        ]

    def test_rejected_session_update_still_makes_the_session_ready_and_reports(self) -> None:
        h = Harness()
        h.do(h.session.configure(h.config))
        h.append(pcm(10))
        h.do(h.session.request_response())
        (update,) = h.feed(h.server.session_created())
        assert isinstance(update, Send)
        error = h.server.error(
            "unknown_parameter",
            "Unknown parameter: 'session.foo'.",
            param="session.foo",
            event_id=update.event["event_id"],
        )
        assert h.feed(error) == [
            SessionReady(),
            Send({"type": "input_audio_buffer.append", "audio": pcm(10)}),
            Send(
                {
                    "type": "response.create",
                    "event_id": ANY,
                    "response": {"metadata": {"rl_request": ANY}},
                }
            ),
            ErrorReported(
                "Unknown parameter: 'session.foo'.",
                "unknown_parameter",
                ErrorClass.RECOVERABLE,
                "session.foo",
            ),
        ]
        assert h.session.ready

    def test_rejected_update_after_ready_only_reports(self) -> None:
        h = Harness()
        h.connect()
        (update,) = h.do(h.session.configure(session_config(instructions="x" * 10)))
        assert isinstance(update, Send)
        error = h.server.error(
            "string_above_max_length",
            "String too long.",
            param="session.instructions",
            event_id=update.event["event_id"],
        )
        assert h.feed(error) == [
            ErrorReported(
                "String too long.",
                "string_above_max_length",
                ErrorClass.RECOVERABLE,
                "session.instructions",
            )
        ]

    def test_unrelated_error_before_ready_does_not_make_it_ready(self) -> None:
        h = Harness()
        h.do(h.session.configure(h.config))
        h.feed(h.server.session_created())
        error = h.server.error("invalid_api_key", "Incorrect API key provided.")
        assert h.feed(error) == [
            ErrorReported("Incorrect API key provided.", "invalid_api_key", ErrorClass.FATAL)
        ]
        assert not h.session.ready


class TestResetConversation:
    """`reset_conversation()`: a new socket; the core forgets the old connection."""

    def _busy(self) -> Harness:
        h = Harness()
        h.connect()
        h.start_response("resp_1", 10.0)
        h.feed(h.server.output_item_added("resp_1", function_call_item("fc_1", "call_1", "f")))
        h.play("resp_1", "item_1", [pcm(100)], 10.0)
        h.do(h.session.request_response())  # owed
        h.do(h.session.retrieve_item("item_1"))
        return h

    def test_reset_forgets_connection_state(self) -> None:
        h = self._busy()
        assert h.session.response_active
        assert h.session.knows_call("call_1")
        h.session.reset()
        assert not h.session.ready
        assert not h.session.response_active
        assert not h.session.knows_call("call_1")
        assert h.session.playback.item_id is None

    def test_after_reset_nothing_of_the_old_connection_is_acted_on(self) -> None:
        h = self._busy()
        h.session.reset()
        # Nothing to cancel or truncate on the new connection.
        assert h.do(h.session.interrupt(11.0)) == []
        # Audio is held again until the new session is ready.
        assert h.append(pcm(10)) is None

    def test_reconnect_reuses_the_configuration_and_does_not_replay_owed_work(self) -> None:
        h = self._busy()
        h.session.reset()
        h.append(pcm(10, fill=7))
        assert h.feed(h.server.session_created()) == [
            Send({"type": "session.update", "event_id": ANY, "session": h.config})
        ]
        assert h.feed(h.server.session_updated()) == [
            SessionReady(),
            Send({"type": "input_audio_buffer.append", "audio": pcm(10, fill=7)}),
        ]

    def test_reset_forgets_completed_calls_so_a_replay_can_send_them(self) -> None:
        h = Harness()
        h.connect()
        output = {"type": "function_call_output", "call_id": "call_1", "output": "{}"}
        assert len(h.do(h.session.create_items([output]))) == 1
        h.session.reset()
        assert not h.session.tool_call_completed("call_1")
        assert len(h.do(h.session.create_items([output]))) == 1

    def test_old_response_events_after_reset_start_nothing_stale(self) -> None:
        h = self._busy()
        h.session.reset()
        h.connect()
        # A late delta of the old response is not played.
        assert h.feed(h.server.audio_delta("resp_1", "item_1", pcm(10))) == []
        # A fresh response works normally.
        assert h.start_response("resp_2") == [ResponseStarted("resp_2")]
        item = assistant_audio_item("item_2")
        assert h.feed(h.server.item_added(item)) == [ItemCreated("item_2", item)]
        assert h.feed(h.server.audio_delta("resp_2", "item_2", pcm(10))) == [
            AudioStarted("item_2"),
            AudioChunk("item_2", pcm(10)),
        ]


class TestNothingToConfigure:
    """A session with no configuration is ready as soon as the server created it."""

    def test_created_without_configuration_is_ready_and_sends_no_empty_update(self) -> None:
        h = Harness()
        out = h.feed(h.server.session_created())
        assert out == [SessionReady()]
        assert h.sent == []


class TestCancelBeforeCreated:
    """An interrupt that cancels a requested, not yet created, response: it never plays."""

    def test_the_cancelled_request_is_dropped_and_the_next_response_plays(self) -> None:
        h = Harness()
        h.connect()
        h.do(h.session.request_response())
        assert sends(h.do(h.session.interrupt(now=0.0))) == []
        # The server created our request: it is cancelled at once and nothing surfaces.
        assert sends(h.start_response("resp_cancelled")) == [{"type": "response.cancel"}]
        assert h.play("resp_cancelled", "item_a", [pcm(40)]) == [ItemCreated("item_a", ANY)]
        assert h.feed(h.server.response_done("resp_cancelled", status="cancelled")) == []
        # The next response (the user's new turn) is a normal one.
        assert h.start_response("resp_next") == [ResponseStarted("resp_next")]
        assert AudioStarted("item_b") in h.play("resp_next", "item_b", [pcm(40)])


class TestConnectionLost:
    """The socket went away: the open reply is closed, and whether one is owed is said."""

    def test_open_reply_is_closed_and_owed_again(self) -> None:
        h = Harness()
        h.connect()
        h.start_response("resp_1")
        h.play("resp_1", "item_1", [pcm(40)])
        out, wanted = h.session.connection_lost()
        assert out == [
            AudioStopped("item_1"),
            ResponseEnded("resp_1", "incomplete", "connection_lost", None, None, True),
        ]
        assert wanted
        assert not h.session.ready and not h.session.response_active

    def test_idle_session_owes_nothing(self) -> None:
        h = Harness()
        h.connect()
        assert h.session.connection_lost() == ([], False)


class TestAudioAcrossConnections:
    """Held input audio is the user's: a lost connection does not discard it."""

    def test_held_audio_survives_a_lost_connection_and_reaches_the_next_session(self) -> None:
        h = Harness()
        h.connect()
        h.session.hold_audio(pcm(20, fill=1))  # the socket refused it
        h.session.connection_lost()
        assert h.append(pcm(20, fill=2)) is None  # not ready: held too
        h.session.reset()
        out = h.connect()
        appends = [e["audio"] for e in sends(out) if e["type"] == "input_audio_buffer.append"]
        assert appends == [pcm(20, fill=1), pcm(20, fill=2)]
