"""The session core against the contract's "Frames in -> protocol events out" table.

One class per row; each drives the command the glue calls for that frame. Audio is 24 kHz
PCM16 (48 bytes/ms); times are exact binary fractions so the arithmetic is exact.
"""

from __future__ import annotations

import json
from unittest.mock import ANY

from realtime_llm.protocol.capabilities import Capabilities
from realtime_llm.protocol.outputs import (
    AudioStopped,
    FeatureUnavailable,
    ItemCreated,
    ResponseEnded,
    ResponseStarted,
    Send,
    SessionReady,
    ToolCall,
    ToolCallsRequested,
    UserSpeechStarted,
)
from realtime_llm.protocol.tools import CANCELLED_OUTPUT

from .helpers import (
    WEATHER_TOOL,
    Harness,
    function_call_item,
    function_call_output_item,
    pcm,
    pcm_bytes,
    session_config,
    user_text_item,
)

T0 = 100.0
"""When the first audio delta of the reply arrives."""

CANCEL = Send({"type": "response.cancel"})
CLEAR = Send({"type": "input_audio_buffer.clear"})
CREATE_RESPONSE = Send(
    {"type": "response.create", "event_id": ANY, "response": {"metadata": {"rl_request": ANY}}}
)


def truncate(item_id: str, audio_end_ms: int) -> Send:
    return Send(
        {
            "type": "conversation.item.truncate",
            "item_id": item_id,
            "content_index": 0,
            "audio_end_ms": audio_end_ms,
        }
    )


def delete(item_id: str) -> Send:
    return Send({"type": "conversation.item.delete", "item_id": item_id})


def item_create(item: dict[str, object]) -> Send:
    return Send({"type": "conversation.item.create", "item": item})


def speaking(h: Harness, chunks_ms: tuple[int, ...] = (200, 200), now: float = T0) -> Harness:
    """Ready session, response resp_1 active, item_1 received (400 ms by default) at ``now``."""
    h.connect()
    h.start_response("resp_1", now)
    h.play("resp_1", "item_1", [pcm(ms) for ms in chunks_ms], now)
    return h


def interrupted_end(response_id: str = "resp_1") -> ResponseEnded:
    return ResponseEnded(response_id, "cancelled", interrupted=True)


class TestFirstLLMContextFrame:
    """First `LLMContextFrame`: mark completed calls; messages as items; `response.create`."""

    def test_messages_become_items_then_one_response_create(self) -> None:
        h = Harness()
        h.connect()
        messages = [user_text_item("Hi there"), user_text_item("What's the weather?")]
        out = h.do([*h.session.create_items(messages), *h.session.request_response()])
        assert out == [item_create(messages[0]), item_create(messages[1]), CREATE_RESPONSE]

    def test_before_ready_the_response_waits_for_ready(self) -> None:
        h = Harness()
        h.do(h.session.configure(h.config))
        assert h.do(h.session.request_response()) == []
        h.feed(h.server.session_created())
        out = h.feed(h.server.session_updated())
        assert out[-1] == CREATE_RESPONSE

    def test_tool_calls_completed_in_the_context_are_never_sent(self) -> None:
        h = Harness()
        h.connect()
        h.session.mark_tool_calls_completed(["call_old"])
        assert h.session.tool_call_completed("call_old")
        items = [
            function_call_item(
                "fc_old", "call_old", "get_weather", '{"city":"Oslo"}', status="completed"
            ),
            function_call_output_item("call_old", '{"temp": 3}'),
            user_text_item("And now?"),
        ]
        assert h.do(h.session.create_items(items)) == [
            item_create(items[0]),
            item_create(items[2]),
        ]


class TestLaterLLMContextFrame:
    """Later `LLMContextFrame`: only new messages and new function results; one response."""

    def test_function_call_output_is_sent_once_per_call_id(self) -> None:
        h = Harness()
        h.connect()
        result = function_call_output_item("call_1", '{"temp": 21}')
        assert h.do(h.session.create_items([result])) == [item_create(result)]
        assert h.session.tool_call_completed("call_1")
        assert h.do(h.session.create_items([result])) == []
        again = function_call_output_item("call_1", '{"temp": 22}')
        assert h.do(h.session.create_items([again, result])) == []

    def test_duplicates_inside_one_batch_are_sent_once(self) -> None:
        h = Harness()
        h.connect()
        result = function_call_output_item("call_1", "ok")
        assert h.do(h.session.create_items([result, result])) == [item_create(result)]

    def test_marked_completed_call_is_not_sent(self) -> None:
        h = Harness()
        h.connect()
        h.session.mark_tool_calls_completed(["call_2"])
        assert h.do(h.session.create_items([function_call_output_item("call_2", "x")])) == []
        assert h.session.tool_call_completed("call_2")
        assert not h.session.tool_call_completed("call_3")

    def test_knows_call_only_for_calls_the_server_made(self) -> None:
        h = Harness()
        h.connect()
        h.start_response("resp_1")
        item = function_call_item("fc_1", "call_1", "get_weather")
        h.feed(h.server.output_item_added("resp_1", item))
        assert h.session.knows_call("call_1")
        assert not h.session.knows_call("call_local")

    def test_request_while_a_response_is_active_is_owed_until_response_done(self) -> None:
        h = Harness()
        h.connect()
        assert h.do(h.session.request_response()) == [CREATE_RESPONSE]
        assert h.do(h.session.request_response()) == []  # requested, not created yet
        assert h.start_response("resp_1") == [ResponseStarted("resp_1")]
        assert h.do(h.session.request_response()) == []  # active
        assert h.feed(h.server.response_done("resp_1")) == [
            ResponseEnded("resp_1", "completed"),
            CREATE_RESPONSE,
        ]

    def test_owed_response_is_sent_once(self) -> None:
        h = Harness()
        h.connect()
        h.start_response("resp_1")
        h.do(h.session.request_response())
        h.do(h.session.request_response())
        h.feed(h.server.response_done("resp_1"))
        assert [e["type"] for e in h.sent].count("response.create") == 1
        # The owed one is now requested: another request is owed again, not sent.
        assert h.do(h.session.request_response()) == []


class TestInputAudioRawFrame:
    """`InputAudioRawFrame`: `input_audio_buffer.append` (held until ready)."""

    def test_append_when_ready(self) -> None:
        h = Harness()
        h.connect()
        audio = pcm(20, fill=5)
        assert h.append(audio) == {"type": "input_audio_buffer.append", "audio": audio}

    def test_held_before_ready(self) -> None:
        h = Harness()
        assert h.append(pcm(20)) is None
        assert h.sent == []

    def test_default_bound_drops_audio_past_the_limit(self) -> None:
        h = Harness()
        chunk = pcm(20)
        limit = 2 * 64_000
        n = limit // len(chunk) + 3
        for _ in range(n):
            h.append(chunk)
        assert h.session.early_audio_dropped_bytes == n * len(chunk) - (limit // len(chunk)) * len(
            chunk
        )
        out = h.connect()
        assert len([o for o in out if isinstance(o, Send)]) == 1 + limit // len(chunk)

    def test_a_chunk_bigger_than_the_bound_is_dropped_whole(self) -> None:
        h = Harness(early_audio_limit_bytes=100)
        h.append(pcm(10))
        assert h.session.early_audio_dropped_bytes == len(pcm(10))
        assert h.connect() == [
            Send({"type": "session.update", "event_id": ANY, "session": h.config}),
            SessionReady(),
        ]


class TestInputImageRawFrame:
    """`InputImageRawFrame`: a `conversation.item.create` with an `input_image` part."""

    def test_image_item_is_created_as_given(self) -> None:
        h = Harness()
        h.connect()
        image = {
            "type": "message",
            "role": "user",
            "content": [
                {
                    "type": "input_image",
                    "image_url": "data:image/jpeg;base64,/9j/4AAQ",
                    "detail": "low",
                }
            ],
        }
        assert h.do(h.session.create_items([image])) == [item_create(image)]
        # No response is requested for an image by itself.
        assert [e["type"] for e in h.sent].count("response.create") == 0


class TestInterruptionFrame:
    """`InterruptionFrame`: clear (client VAD), cancel, truncate where the user stopped."""

    def test_cancel_truncate_and_close_the_response(self) -> None:
        h = speaking(Harness())
        assert h.do(h.session.interrupt(T0 + 0.25)) == [
            CANCEL,
            truncate("item_1", 250),
            AudioStopped("item_1"),
            interrupted_end(),
        ]
        assert not h.session.response_active

    def test_truncate_at_received_when_played_is_longer(self) -> None:
        h = speaking(Harness())  # 400 ms received
        assert h.do(h.session.interrupt(T0 + 1.0)) == [
            CANCEL,
            truncate("item_1", 400),
            AudioStopped("item_1"),
            interrupted_end(),
        ]

    def test_truncate_counts_decoded_bytes_not_base64_characters(self) -> None:
        # 48 deltas of 100 bytes: 4800 bytes = exactly 100 ms, each delta base64-padded.
        h = Harness()
        h.connect()
        h.start_response("resp_1", T0)
        chunk = pcm_bytes(100)
        assert chunk.endswith("==")
        h.play("resp_1", "item_1", [chunk] * 48, T0)
        out = h.do(h.session.interrupt(T0 + 2.0))
        assert out[1] == truncate("item_1", 100)

    def test_truncate_never_exceeds_received_with_odd_sizes(self) -> None:
        for nbytes in (1, 2, 47, 49, 50, 95, 97, 100, 4799):
            h = Harness()
            h.connect()
            h.start_response("resp_1", T0)
            h.play("resp_1", "item_1", [pcm_bytes(nbytes)] * 10, T0)
            (_, cut, *_) = h.do(h.session.interrupt(T0 + 60.0))
            received_ms = (nbytes * 10) // 48
            expected = truncate("item_1", received_ms) if received_ms else delete("item_1")
            assert cut == expected, nbytes

    def test_nothing_played_deletes_the_item(self) -> None:
        h = speaking(Harness())
        assert h.do(h.session.interrupt(T0)) == [
            CANCEL,
            delete("item_1"),
            AudioStopped("item_1"),
            interrupted_end(),
        ]

    def test_playback_started_moves_the_reference_point(self) -> None:
        h = speaking(Harness())
        h.session.playback_started(T0 + 0.5)
        assert h.do(h.session.interrupt(T0 + 0.75))[1] == truncate("item_1", 250)

    def test_playback_started_later_than_interrupt_deletes(self) -> None:
        h = speaking(Harness())
        h.session.playback_started(T0 + 0.5)
        assert h.do(h.session.interrupt(T0 + 0.5))[1] == delete("item_1")

    def test_reference_is_the_first_delta_not_the_latest(self) -> None:
        h = Harness()
        h.connect()
        h.start_response("resp_1", T0)
        h.play("resp_1", "item_1", [pcm(200)], T0)
        h.feed(h.server.audio_delta("resp_1", "item_1", pcm(200)), T0 + 0.125)
        assert h.do(h.session.interrupt(T0 + 0.25))[1] == truncate("item_1", 250)

    def test_after_response_done_audio_still_playing_is_truncated_without_cancel(self) -> None:
        h = speaking(Harness())
        h.feed(h.server.audio_done("resp_1", "item_1"), T0)
        h.feed(h.server.response_done("resp_1"), T0)
        assert h.do(h.session.interrupt(T0 + 0.125)) == [truncate("item_1", 125)]

    def test_after_bot_stopped_speaking_nothing_is_truncated(self) -> None:
        h = speaking(Harness())
        h.feed(h.server.audio_done("resp_1", "item_1"), T0)
        h.feed(h.server.response_done("resp_1"), T0)
        h.session.playback_finished()
        assert h.do(h.session.interrupt(T0 + 0.25)) == []

    def test_interrupt_is_idempotent(self) -> None:
        h = speaking(Harness())
        first = h.do(h.session.interrupt(T0 + 0.25))
        assert len(first) == 4
        assert h.do(h.session.interrupt(T0 + 0.3)) == []

    def test_speech_started_then_interruption_frame_acts_once(self) -> None:
        h = speaking(Harness())
        out = h.feed(h.server.speech_started("user_2"), T0 + 0.25)
        assert out == [
            UserSpeechStarted(),
            CANCEL,
            truncate("item_1", 250),
            AudioStopped("item_1"),
            interrupted_end(),
        ]
        assert h.do(h.session.interrupt(T0 + 0.3)) == []

    def test_client_vad_clears_the_input_buffer_first(self) -> None:
        h = speaking(Harness(session_config(turn_detection=None)))
        assert not h.session.server_vad
        assert h.do(h.session.interrupt(T0 + 0.25)) == [
            CLEAR,
            CANCEL,
            truncate("item_1", 250),
            AudioStopped("item_1"),
            interrupted_end(),
        ]

    def test_client_vad_with_nothing_playing_only_clears(self) -> None:
        h = Harness(session_config(turn_detection=None))
        h.connect()
        assert h.do(h.session.interrupt(T0)) == [CLEAR]

    def test_server_and_semantic_vad_do_not_clear(self) -> None:
        for mode in ("server_vad", "semantic_vad"):
            h = Harness(session_config(turn_detection=mode))
            h.connect()
            assert h.session.server_vad
            assert h.do(h.session.interrupt(T0)) == []

    def test_nothing_is_sent_before_ready(self) -> None:
        h = Harness(session_config(turn_detection=None))
        h.do(h.session.configure(h.config))
        h.feed(h.server.session_created())
        assert h.do(h.session.interrupt(T0)) == []

    def test_without_truncate_capability_no_truncate_is_sent_and_it_is_said_once(
        self,
    ) -> None:
        h = speaking(Harness(capabilities=Capabilities(supports_truncate=False)))
        out = h.do(h.session.interrupt(T0 + 0.25))
        assert out == [
            CANCEL,
            FeatureUnavailable("conversation.item.truncate", ANY),
            AudioStopped("item_1"),
            interrupted_end(),
        ]
        # A second barge-in in the same session degrades silently: said once is enough.
        h.start_response("resp_2", T0 + 1)
        h.play("resp_2", "item_2", [pcm(100)], T0 + 1)
        assert not [
            o for o in h.do(h.session.interrupt(T0 + 1.05)) if isinstance(o, FeatureUnavailable)
        ]

    def test_without_delete_capability_no_delete_is_sent(self) -> None:
        caps = Capabilities(supports_truncate=False, supports_delete=False)
        h = speaking(Harness(capabilities=caps))
        assert h.do(h.session.interrupt(T0)) == [
            CANCEL,
            FeatureUnavailable("conversation.item.delete", ANY),
            AudioStopped("item_1"),
            interrupted_end(),
        ]

    def test_deltas_after_the_interrupt_are_dropped(self) -> None:
        h = speaking(Harness())
        h.do(h.session.interrupt(T0 + 0.25))
        assert h.feed(h.server.audio_delta("resp_1", "item_1", pcm(50)), T0 + 0.3) == []
        assert h.feed(h.server.transcript_delta("resp_1", "item_1", "and then")) == []
        assert h.feed(h.server.audio_done("resp_1", "item_1")) == []
        assert (
            h.feed(h.server.response_done("resp_1", "cancelled", reason="client_cancelled")) == []
        )
        # The late deltas did not restart playback tracking.
        assert h.session.playback.item_id is None

    def test_requested_but_not_created_response_is_cancelled(self) -> None:
        h = Harness()
        h.connect()
        h.do(h.session.request_response())
        assert h.do(h.session.interrupt(T0)) == []  # nothing to cancel on the server yet
        assert not h.session.response_active
        # Created after all: cancelled at once, never started.
        assert h.start_response("resp_1") == [CANCEL]
        assert h.play("resp_1", "item_1", [pcm(100)]) == [ItemCreated("item_1", ANY)]

    def test_interrupt_drops_an_owed_response(self) -> None:
        h = speaking(Harness())
        h.do(h.session.request_response())  # owed behind resp_1
        h.do(h.session.interrupt(T0 + 0.25))
        assert (
            h.feed(h.server.response_done("resp_1", "cancelled", reason="client_cancelled")) == []
        )
        assert [e["type"] for e in h.sent].count("response.create") == 0

    def test_tool_calls_of_an_interrupted_response_are_not_requested(self) -> None:
        h = Harness()
        h.connect()
        h.start_response("resp_1")
        h.feed(h.server.output_item_added("resp_1", function_call_item("fc_1", "call_1", "f")))
        h.do(h.session.interrupt(T0))
        done = h.server.arguments_done("resp_1", "fc_1", "call_1", "f", "{}")
        # Never run, but closed on the server: every call gets exactly one output.
        output = function_call_output_item("call_1", CANCELLED_OUTPUT)
        assert h.feed(done) == [Send({"type": "conversation.item.create", "item": output})]
        assert h.feed(h.server.response_done("resp_1", "cancelled", reason="turn_detected")) == []


class TestUserStoppedSpeakingFrame:
    """`UserStoppedSpeakingFrame` with client VAD: commit, then `response.create`."""

    def test_commit_then_response_create(self) -> None:
        h = Harness(session_config(turn_detection=None))
        h.connect()
        assert h.do(h.session.commit_audio()) == [
            Send({"type": "input_audio_buffer.commit"}),
            CREATE_RESPONSE,
        ]

    def test_commit_while_responding_owes_the_response(self) -> None:
        h = Harness(session_config(turn_detection=None))
        h.connect()
        h.start_response("resp_1")
        assert h.do(h.session.commit_audio()) == [Send({"type": "input_audio_buffer.commit"})]
        assert h.feed(h.server.response_done("resp_1")) == [
            ResponseEnded("resp_1", "completed"),
            CREATE_RESPONSE,
        ]


class TestBotStoppedSpeakingFrame:
    """`BotStoppedSpeakingFrame`: the reply finished playing; forget the audio item."""

    def test_forgets_the_playing_item(self) -> None:
        h = speaking(Harness())
        assert h.session.playback.item_id == "item_1"
        h.session.playback_finished()
        assert h.session.playback.item_id is None
        assert h.session.playback.truncation_point(T0 + 1.0) is None

    def test_response_still_active_is_cancelled_but_not_truncated(self) -> None:
        h = speaking(Harness())
        h.session.playback_finished()
        assert h.do(h.session.interrupt(T0 + 0.25)) == [
            CANCEL,
            AudioStopped("item_1"),
            interrupted_end(),
        ]


class TestLLMMessagesAppendFrame:
    """`LLMMessagesAppendFrame`: items at the end; a response if `run_llm`."""

    def test_items_then_response(self) -> None:
        h = Harness()
        h.connect()
        message = user_text_item("Tell me a joke.")
        assert h.do([*h.session.create_items([message]), *h.session.request_response()]) == [
            item_create(message),
            CREATE_RESPONSE,
        ]

    def test_items_only_without_run_llm(self) -> None:
        h = Harness()
        h.connect()
        message = user_text_item("Just so you know.")
        assert h.do(h.session.create_items([message])) == [item_create(message)]
        assert not h.session.response_active

    def test_items_are_copied_not_shared(self) -> None:
        h = Harness()
        h.connect()
        message = user_text_item("Hi")
        (sent,) = h.do(h.session.create_items([message]))
        message["role"] = "system"
        assert isinstance(sent, Send)
        assert sent.event["item"]["role"] == "user"


class TestLLMSetToolsFrame:
    """`LLMSetToolsFrame`: `session.update` with the new tools."""

    def test_session_update_with_tools(self) -> None:
        h = Harness()
        h.connect()
        new = session_config(tools=[WEATHER_TOOL])
        assert h.do(h.session.configure(new)) == [
            Send({"type": "session.update", "event_id": ANY, "session": new})
        ]
        assert h.session.ready  # still ready; no new wait


class TestLLMUpdateSettingsFrame:
    """`LLMUpdateSettingsFrame`: `session.update`; the core follows the new settings."""

    def test_turning_turn_detection_off_switches_to_client_vad(self) -> None:
        h = Harness()
        h.connect()
        assert h.session.server_vad
        h.do(h.session.configure(session_config(turn_detection=None)))
        assert not h.session.server_vad
        assert h.do(h.session.interrupt(T0)) == [CLEAR]

    def test_turning_transcription_on(self) -> None:
        h = Harness()
        h.connect()
        assert not h.session.transcription_enabled
        h.do(h.session.configure(session_config(transcription=True)))
        assert h.session.transcription_enabled

    def test_configured_session_is_not_mutated(self) -> None:
        h = Harness()
        config = session_config()
        snapshot = json.loads(json.dumps(config))
        h.do(h.session.configure(config))
        h.feed(h.server.session_created())
        assert config == snapshot


class TestToolCallsDuringInterruption:
    """Cross-row: a finished tool call survives an interruption of a later reply."""

    def test_calls_of_a_completed_response_are_requested(self) -> None:
        h = Harness()
        h.connect()
        h.start_response("resp_1")
        h.feed(h.server.output_item_added("resp_1", function_call_item("fc_1", "call_1", "f")))
        h.feed(h.server.arguments_done("resp_1", "fc_1", "call_1", "f", '{"a": 1}'))
        out = h.feed(h.server.response_done("resp_1"))
        assert out == [
            ResponseEnded("resp_1", "completed"),
            ToolCallsRequested((ToolCall("call_1", "f", {"a": 1}),)),
        ]
        assert h.do(h.session.interrupt(T0)) == []
