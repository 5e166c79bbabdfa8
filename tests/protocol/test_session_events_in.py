"""The session core against the contract's "Protocol events in -> frames out" table.

One class per row (server event), plus the invariants that hold across both tables.
Every event fed here is a complete GA server event (the harness validates it).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any
from unittest.mock import ANY

import pytest

from realtime_llm.errors import ErrorClass, classify_error
from realtime_llm.protocol.outputs import (
    AssistantText,
    AssistantTranscript,
    AudioChunk,
    AudioStarted,
    AudioStopped,
    ErrorReported,
    ItemCreated,
    ItemUpdated,
    Output,
    ResponseEnded,
    ResponseStarted,
    RetrieveFinished,
    Send,
    ToolCall,
    ToolCallsRequested,
    UserSpeechStarted,
    UserSpeechStopped,
    UserTranscript,
    UserTranscriptDelta,
)

from .helpers import (
    USAGE,
    Harness,
    assistant_audio_item,
    assistant_text_item,
    function_call_item,
    pcm,
    session_config,
    user_audio_item,
)

T0 = 100.0
CREATE_RESPONSE = Send(
    {"type": "response.create", "event_id": ANY, "response": {"metadata": {"rl_request": ANY}}}
)
CANCEL = Send({"type": "response.cancel"})


def ready(config: dict[str, Any] | None = None) -> Harness:
    h = Harness(config)
    h.connect()
    return h


def function_call_output(call_id: str, output: str) -> Send:
    return Send(
        {
            "type": "conversation.item.create",
            "item": {"type": "function_call_output", "call_id": call_id, "output": output},
        }
    )


class TestResponseCreated:
    """`response.created`: start of a response."""

    def test_response_started(self) -> None:
        h = ready()
        h.do(h.session.request_response())
        assert h.start_response("resp_1") == [ResponseStarted("resp_1")]
        assert h.session.response_active

    def test_server_vad_response_is_started_too(self) -> None:
        h = ready()
        assert not h.session.response_active
        assert h.start_response("resp_1") == [ResponseStarted("resp_1")]
        assert h.session.response_active

    def test_an_unfinished_previous_response_is_closed_first(self) -> None:
        h = ready()
        h.start_response("resp_1")
        h.play("resp_1", "item_1", [pcm(10)])
        assert h.start_response("resp_2") == [
            AudioStopped("item_1"),
            ResponseEnded("resp_1", "cancelled"),
            ResponseStarted("resp_2"),
        ]
        # Late events of resp_1 are ignored.
        assert h.feed(h.server.audio_delta("resp_1", "item_1", pcm(10))) == []
        assert h.feed(h.server.response_done("resp_1")) == []


class TestConversationItemAddedAssistantMessage:
    """`conversation.item.added` (assistant message): reported as a created item."""

    def test_item_created(self) -> None:
        h = ready()
        h.start_response("resp_1")
        item = assistant_audio_item("item_1")
        assert h.feed(h.server.item_added(item, previous_item_id="item_0")) == [
            ItemCreated("item_1", item)
        ]

    def test_older_conversation_item_created_is_the_same(self) -> None:
        h = ready()
        item = assistant_text_item("item_1", "Hello!")
        assert h.feed(h.server.item_created(item)) == [ItemCreated("item_1", item)]

    def test_user_items_are_reported_too(self) -> None:
        h = ready()
        item = user_audio_item("user_1")
        assert h.feed(h.server.item_added(item)) == [ItemCreated("user_1", item)]


class TestConversationItemAddedFunctionCall:
    """`conversation.item.added` (function call): remember the call by `call_id`."""

    def test_call_is_remembered(self) -> None:
        h = ready()
        item = function_call_item("fc_1", "call_1", "get_weather")
        assert h.feed(h.server.item_added(item)) == [ItemCreated("fc_1", item)]
        assert h.session.knows_call("call_1")

    def test_remembered_name_fills_in_a_nameless_arguments_done(self) -> None:
        h = ready()
        h.start_response("resp_1")
        h.feed(h.server.item_added(function_call_item("fc_1", "call_1", "get_weather")))
        done = h.server.arguments_done("resp_1", "fc_1", "call_1", "x", '{"city": "Rome"}')
        del done["name"]  # Inworld leaves it out (not GA, so not validated)
        assert h.feed(done, ga=False) == []
        assert h.feed(h.server.response_done("resp_1")) == [
            ResponseEnded("resp_1", "completed"),
            ToolCallsRequested((ToolCall("call_1", "get_weather", {"city": "Rome"}),)),
        ]


class TestResponseOutputAudioDelta:
    """`response.output_audio.delta`: first delta of an item starts audio; every delta plays."""

    def test_first_delta_starts_audio_then_chunks(self) -> None:
        h = ready()
        h.start_response("resp_1")
        h.feed(h.server.output_item_added("resp_1", assistant_audio_item("item_1")))
        first, second = pcm(20, fill=1), pcm(20, fill=2)
        assert h.feed(h.server.audio_delta("resp_1", "item_1", first)) == [
            AudioStarted("item_1"),
            AudioChunk("item_1", first),
        ]
        assert h.feed(h.server.audio_delta("resp_1", "item_1", second)) == [
            AudioChunk("item_1", second)
        ]

    def test_a_new_item_stops_the_previous_one(self) -> None:
        h = ready()
        h.start_response("resp_1")
        h.feed(h.server.audio_delta("resp_1", "item_1", pcm(10)))
        assert h.feed(h.server.audio_delta("resp_1", "item_2", pcm(10))) == [
            AudioStopped("item_1"),
            AudioStarted("item_2"),
            AudioChunk("item_2", pcm(10)),
        ]
        # The late done of the first item does not stop the second one.
        assert h.feed(h.server.audio_done("resp_1", "item_1")) == []
        assert h.feed(h.server.audio_done("resp_1", "item_2")) == [AudioStopped("item_2")]

    def test_delta_of_a_response_that_is_not_active_is_dropped(self) -> None:
        h = ready()
        assert h.feed(h.server.audio_delta("resp_x", "item_x", pcm(10))) == []
        h.start_response("resp_1")
        assert h.feed(h.server.audio_delta("resp_x", "item_x", pcm(10))) == []
        assert h.session.playback.item_id is None

    def test_delta_is_counted_for_truncation(self) -> None:
        h = ready()
        h.start_response("resp_1")
        h.feed(h.server.audio_delta("resp_1", "item_1", pcm(300)), T0)
        assert h.session.playback.item_id == "item_1"
        assert h.session.playback.received_ms() == 300


class TestResponseOutputAudioDone:
    """`response.output_audio.done`: audio of the item stopped."""

    def test_stopped_once(self) -> None:
        h = ready()
        h.start_response("resp_1")
        h.play("resp_1", "item_1", [pcm(10)])
        assert h.feed(h.server.audio_done("resp_1", "item_1")) == [AudioStopped("item_1")]
        assert h.feed(h.server.audio_done("resp_1", "item_1")) == []
        assert h.feed(h.server.response_done("resp_1")) == [ResponseEnded("resp_1", "completed")]

    def test_done_without_audio_is_nothing(self) -> None:
        h = ready()
        h.start_response("resp_1")
        assert h.feed(h.server.audio_done("resp_1", "item_1")) == []

    def test_done_keeps_the_item_for_truncation(self) -> None:
        # The server is faster than real time: audio done is not playback done.
        h = ready()
        h.start_response("resp_1", T0)
        h.play("resp_1", "item_1", [pcm(500)], T0)
        h.feed(h.server.audio_done("resp_1", "item_1"), T0)
        assert h.session.playback.item_id == "item_1"


class TestResponseOutputAudioTranscriptDelta:
    """`response.output_audio_transcript.delta`: what the assistant says."""

    def test_transcript_pieces(self) -> None:
        h = ready()
        h.start_response("resp_1")
        assert h.feed(h.server.transcript_delta("resp_1", "item_1", "Hello")) == [
            AssistantTranscript("Hello")
        ]
        assert h.feed(h.server.transcript_delta("resp_1", "item_1", " there")) == [
            AssistantTranscript(" there")
        ]

    def test_empty_delta_is_nothing(self) -> None:
        h = ready()
        h.start_response("resp_1")
        assert h.feed(h.server.transcript_delta("resp_1", "item_1", "")) == []

    def test_transcript_of_another_response_is_dropped(self) -> None:
        h = ready()
        h.start_response("resp_1")
        assert h.feed(h.server.transcript_delta("resp_0", "item_0", "old")) == []

    def test_transcript_done_is_not_repeated(self) -> None:
        h = ready()
        h.start_response("resp_1")
        h.feed(h.server.transcript_delta("resp_1", "item_1", "Hi"))
        assert h.feed(h.server.transcript_done("resp_1", "item_1", "Hi")) == []


class TestResponseOutputTextDelta:
    """`response.output_text.delta`: text replies (text-only sessions)."""

    def test_text_pieces(self) -> None:
        h = ready()
        h.start_response("resp_1")
        assert h.feed(h.server.text_delta("resp_1", "item_1", "Sure")) == [AssistantText("Sure")]
        assert h.feed(h.server.text_done("resp_1", "item_1", "Sure")) == []

    def test_empty_or_stale_text_is_dropped(self) -> None:
        h = ready()
        h.start_response("resp_1")
        assert h.feed(h.server.text_delta("resp_1", "item_1", "")) == []
        assert h.feed(h.server.text_delta("resp_0", "item_0", "old")) == []


class TestResponseFunctionCallArgumentsDone:
    """`response.function_call_arguments.done`: parsed calls at `response.done`; bad JSON
    answers the model with an error result instead of crashing."""

    def _call(
        self, h: Harness, arguments: str, *, call_id: str = "call_1", name: str = "get_weather"
    ) -> list[Output]:
        item = function_call_item(f"fc_{call_id}", call_id, name)
        h.feed(h.server.output_item_added("resp_1", item))
        h.feed(h.server.arguments_delta("resp_1", f"fc_{call_id}", call_id, arguments[:3]))
        return h.feed(h.server.arguments_done("resp_1", f"fc_{call_id}", call_id, name, arguments))

    def test_calls_are_requested_at_response_done(self) -> None:
        h = ready()
        h.start_response("resp_1")
        assert self._call(h, '{"city": "Paris"}') == []
        assert self._call(h, '{"city": "Lyon", "days": 2}', call_id="call_2") == []
        assert h.session.knows_call("call_1")
        assert h.feed(h.server.response_done("resp_1", usage=USAGE)) == [
            ResponseEnded("resp_1", "completed", usage=USAGE),
            ToolCallsRequested(
                (
                    ToolCall("call_1", "get_weather", {"city": "Paris"}),
                    ToolCall("call_2", "get_weather", {"city": "Lyon", "days": 2}),
                )
            ),
        ]

    def test_empty_arguments_are_an_empty_object(self) -> None:
        h = ready()
        h.start_response("resp_1")
        assert self._call(h, "", name="get_time") == []
        out = h.feed(h.server.response_done("resp_1"))
        assert out[-1] == ToolCallsRequested((ToolCall("call_1", "get_time", {}),))

    def test_name_from_the_event_when_the_item_was_not_seen(self) -> None:
        h = ready()
        h.start_response("resp_1")
        done = h.server.arguments_done("resp_1", "fc_1", "call_1", "get_weather", "{}")
        assert h.feed(done) == []
        out = h.feed(h.server.response_done("resp_1"))
        assert out[-1] == ToolCallsRequested((ToolCall("call_1", "get_weather", {}),))

    @pytest.mark.parametrize("arguments", ['{"city": ', "[1, 2]", '"Paris"', "{'a': 1}"])
    def test_bad_json_answers_the_model_and_asks_again(self, arguments: str) -> None:
        h = ready()
        h.start_response("resp_1")
        out = self._call(h, arguments)
        assert out == [function_call_output("call_1", ANY)]
        assert isinstance(out[0], Send)
        error = json.loads(out[0].event["item"]["output"])
        assert list(error) == ["error"]
        assert error["error"].startswith("invalid JSON arguments: ")
        assert h.session.tool_call_completed("call_1")
        # No tool call for the pipeline; a new response once this one is over.
        assert h.feed(h.server.response_done("resp_1")) == [
            ResponseEnded("resp_1", "completed"),
            CREATE_RESPONSE,
        ]

    def test_bad_and_good_calls_in_one_response(self) -> None:
        h = ready()
        h.start_response("resp_1")
        self._call(h, "{nope")
        self._call(h, '{"city": "Nice"}', call_id="call_2")
        assert h.feed(h.server.response_done("resp_1")) == [
            ResponseEnded("resp_1", "completed"),
            ToolCallsRequested((ToolCall("call_2", "get_weather", {"city": "Nice"}),)),
            CREATE_RESPONSE,
        ]

    def test_nameless_unknown_call_is_answered_with_an_error(self) -> None:
        h = ready()
        h.start_response("resp_1")
        done = h.server.arguments_done("resp_1", "fc_9", "call_9", "x", "{}")
        del done["name"]
        assert h.feed(done, ga=False) == [
            function_call_output("call_9", json.dumps({"error": "function call without a name"}))
        ]

    def test_error_result_is_not_sent_twice(self) -> None:
        h = ready()
        h.start_response("resp_1")
        self._call(h, "{bad")
        result = {"type": "function_call_output", "call_id": "call_1", "output": "late"}
        assert h.do(h.session.create_items([result])) == []

    def test_calls_are_not_carried_into_the_next_response(self) -> None:
        h = ready()
        h.start_response("resp_1")
        self._call(h, "{}")
        h.feed(h.server.response_done("resp_1"))
        h.start_response("resp_2")
        assert h.feed(h.server.response_done("resp_2")) == [ResponseEnded("resp_2", "completed")]


class TestResponseDone:
    """`response.done`: the end of the response, with usage; failed carries the message."""

    def test_completed_with_usage(self) -> None:
        h = ready()
        h.start_response("resp_1")
        assert h.feed(h.server.response_done("resp_1", usage=USAGE)) == [
            ResponseEnded("resp_1", "completed", usage=USAGE)
        ]
        assert not h.session.response_active

    def test_failed_carries_the_server_message(self) -> None:
        h = ready()
        h.start_response("resp_1")
        h.play("resp_1", "item_1", [pcm(10)])
        error = {"type": "server_error", "code": "internal", "message": "The model crashed."}
        assert h.feed(h.server.response_done("resp_1", "failed", error=error)) == [
            AudioStopped("item_1"),
            ResponseEnded("resp_1", "failed", error_message="The model crashed."),
        ]

    def test_incomplete_carries_the_reason(self) -> None:
        h = ready()
        h.start_response("resp_1")
        out = h.feed(h.server.response_done("resp_1", "incomplete", reason="max_output_tokens"))
        assert out == [ResponseEnded("resp_1", "incomplete", reason="max_output_tokens")]

    def test_cancelled_by_the_server(self) -> None:
        h = ready()
        h.start_response("resp_1")
        out = h.feed(h.server.response_done("resp_1", "cancelled", reason="turn_detected"))
        assert out == [ResponseEnded("resp_1", "cancelled", reason="turn_detected")]

    def test_open_audio_is_stopped_before_the_end(self) -> None:
        h = ready()
        h.start_response("resp_1")
        h.play("resp_1", "item_1", [pcm(10)])
        assert h.feed(h.server.response_done("resp_1")) == [
            AudioStopped("item_1"),
            ResponseEnded("resp_1", "completed"),
        ]

    def test_done_of_an_unknown_response_is_nothing(self) -> None:
        h = ready()
        assert h.feed(h.server.response_done("resp_x")) == []
        h.start_response("resp_1")
        assert h.feed(h.server.response_done("resp_x")) == []
        assert h.session.response_active


class TestInputAudioBufferSpeechStarted:
    """`input_audio_buffer.speech_started`: user speech first, then the reply is cut."""

    def test_without_a_reply_only_user_speech(self) -> None:
        h = ready()
        assert h.feed(h.server.speech_started("user_1"), T0) == [UserSpeechStarted()]

    def test_user_speech_first_then_cancel_truncate_and_close(self) -> None:
        h = ready()
        h.start_response("resp_1", T0)
        h.play("resp_1", "item_1", [pcm(1000)], T0)
        h.session.playback_started(T0 + 0.125)
        assert h.feed(h.server.speech_started("user_2"), T0 + 0.625) == [
            UserSpeechStarted(),
            CANCEL,
            Send(
                {
                    "type": "conversation.item.truncate",
                    "item_id": "item_1",
                    "content_index": 0,
                    "audio_end_ms": 500,
                }
            ),
            AudioStopped("item_1"),
            ResponseEnded("resp_1", "cancelled", interrupted=True),
        ]


class TestInputAudioBufferSpeechStopped:
    """`input_audio_buffer.speech_stopped`: user stopped speaking."""

    def test_user_speech_stopped(self) -> None:
        h = ready()
        assert h.feed(h.server.speech_stopped("user_1")) == [UserSpeechStopped()]


class TestInputAudioTranscriptionDelta:
    """`conversation.item.input_audio_transcription.delta`: interim user transcript."""

    def test_interim(self) -> None:
        h = ready(session_config(transcription=True))
        assert h.feed(h.server.transcription_delta("user_1", "What's")) == [
            UserTranscriptDelta("user_1", "What's")
        ]

    def test_empty_delta_is_nothing(self) -> None:
        h = ready(session_config(transcription=True))
        assert h.feed(h.server.transcription_delta("user_1", "")) == []


class TestInputAudioTranscriptionCompleted:
    """`conversation.item.input_audio_transcription.completed`: the user transcript, before
    the end of the reply it prompted."""

    def _user_turn_then_reply(self, h: Harness) -> None:
        h.feed(h.server.speech_started("user_1"))
        h.feed(h.server.speech_stopped("user_1"))
        h.feed(h.server.committed("user_1"))
        h.feed(h.server.item_added(user_audio_item("user_1")))
        h.start_response("resp_1")
        h.play("resp_1", "item_1", [pcm(10)])
        h.feed(h.server.audio_done("resp_1", "item_1"))

    def test_transcript(self) -> None:
        h = ready(session_config(transcription=True))
        out = h.feed(h.server.transcription_completed("user_1", "What's the weather?"))
        assert out == [UserTranscript("user_1", "What's the weather?")]

    def test_blank_transcript_is_not_a_user_turn(self) -> None:
        h = ready(session_config(transcription=True))
        assert h.feed(h.server.transcription_completed("user_1", "  ")) == []

    def test_transcript_before_the_end_needs_no_hold(self) -> None:
        h = ready(session_config(transcription=True))
        self._user_turn_then_reply(h)
        assert h.feed(h.server.transcription_completed("user_1", "Hi")) == [
            UserTranscript("user_1", "Hi")
        ]
        assert h.feed(h.server.response_done("resp_1")) == [ResponseEnded("resp_1", "completed")]

    def test_end_is_held_until_the_transcript_arrives(self) -> None:
        h = ready(session_config(transcription=True))
        self._user_turn_then_reply(h)
        assert h.feed(h.server.response_done("resp_1", usage=USAGE)) == []
        assert h.feed(h.server.transcription_completed("user_1", "Hi")) == [
            UserTranscript("user_1", "Hi"),
            ResponseEnded("resp_1", "completed", usage=USAGE),
        ]
        assert h.do(h.session.release_held_response()) == []

    def test_held_end_is_released_on_request(self) -> None:
        h = ready(session_config(transcription=True))
        self._user_turn_then_reply(h)
        assert h.feed(h.server.response_done("resp_1")) == []
        assert h.do(h.session.release_held_response()) == [
            ResponseEnded("resp_1", "completed", overdue_transcripts=("user_1",))
        ]
        assert h.do(h.session.release_held_response()) == []
        # The late transcript is still reported, once, marked late: it belongs before the
        # reply that named it overdue, not in the user turn being gathered now.
        assert h.feed(h.server.transcription_completed("user_1", "Hi")) == [
            UserTranscript("user_1", "Hi", late=True)
        ]

    def test_failed_transcription_releases_the_end(self) -> None:
        h = ready(session_config(transcription=True))
        self._user_turn_then_reply(h)
        assert h.feed(h.server.response_done("resp_1")) == []
        assert h.feed(h.server.transcription_failed("user_1")) == [
            ResponseEnded("resp_1", "completed")
        ]

    def test_no_hold_without_transcription_configured(self) -> None:
        h = ready(session_config(transcription=False))
        self._user_turn_then_reply(h)
        assert h.feed(h.server.response_done("resp_1")) == [ResponseEnded("resp_1", "completed")]

    def test_interrupted_reply_is_not_held(self) -> None:
        h = ready(session_config(transcription=True))
        self._user_turn_then_reply(h)
        out = h.do(h.session.interrupt(T0))
        assert out[-1] == ResponseEnded(
            "resp_1", "cancelled", interrupted=True, overdue_transcripts=("user_1",)
        )
        assert h.feed(h.server.transcription_completed("user_1", "Hi")) == [
            UserTranscript("user_1", "Hi", late=True)
        ]

    def test_tool_calls_wait_with_the_held_end(self) -> None:
        # The calls are part of the reply: the user turn must reach the context first.
        h = ready(session_config(transcription=True))
        self._user_turn_then_reply(h)
        h.feed(h.server.output_item_added("resp_1", function_call_item("fc_1", "call_1", "f")))
        h.feed(h.server.arguments_done("resp_1", "fc_1", "call_1", "f", "{}"))
        assert h.feed(h.server.response_done("resp_1")) == []
        assert h.feed(h.server.transcription_completed("user_1", "Do it")) == [
            UserTranscript("user_1", "Do it"),
            ResponseEnded("resp_1", "completed"),
            ToolCallsRequested((ToolCall("call_1", "f", {}),)),
        ]

    def test_held_tool_calls_are_released_on_request(self) -> None:
        h = ready(session_config(transcription=True))
        self._user_turn_then_reply(h)
        h.feed(h.server.arguments_done("resp_1", "fc_1", "call_1", "f", "{}"))
        h.feed(h.server.response_done("resp_1"))
        assert h.do(h.session.release_held_response()) == [
            ResponseEnded("resp_1", "completed", overdue_transcripts=("user_1",)),
            ToolCallsRequested((ToolCall("call_1", "f", {}),)),
        ]

    def test_client_vad_commit_is_awaited_too(self) -> None:
        h = ready(session_config(transcription=True, turn_detection=None))
        h.do(h.session.commit_audio())
        h.feed(h.server.committed("user_1"))
        h.start_response("resp_1")
        assert h.feed(h.server.response_done("resp_1")) == []
        assert h.feed(h.server.transcription_completed("user_1", "Hello")) == [
            UserTranscript("user_1", "Hello"),
            ResponseEnded("resp_1", "completed"),
        ]


class TestConversationItemRetrieved:
    """`conversation.item.retrieved`: resolves `retrieve_conversation_item(item_id)`."""

    def test_retrieve_round_trip(self) -> None:
        h = ready()
        (request,) = h.do(h.session.retrieve_item("item_1"))
        assert request == Send(
            {"type": "conversation.item.retrieve", "event_id": ANY, "item_id": "item_1"}
        )
        item = assistant_audio_item("item_1", status="completed", transcript="Hello.")
        assert h.feed(h.server.item_retrieved(item)) == [RetrieveFinished("item_1", item)]

    def test_error_for_the_retrieve_fails_it_and_is_not_reported(self) -> None:
        h = ready()
        (request,) = h.do(h.session.retrieve_item("item_404"))
        assert isinstance(request, Send)
        error = h.server.error(
            "item_retrieve_invalid_item_id",
            "Item with item_id 'item_404' not found.",
            param="item_id",
            event_id=request.event["event_id"],
        )
        assert h.feed(error) == [
            RetrieveFinished("item_404", None, "Item with item_id 'item_404' not found.")
        ]
        # Only once: the same error again is an ordinary error.
        assert h.feed(error) == [
            ErrorReported(
                "Item with item_id 'item_404' not found.",
                "item_retrieve_invalid_item_id",
                ErrorClass.RECOVERABLE,
                "item_id",
            )
        ]


class TestConversationItemUpdated:
    """`conversation.item.done` / `.truncated`: `on_conversation_item_updated`."""

    def test_item_done(self) -> None:
        h = ready()
        item = assistant_audio_item("item_1", status="completed", transcript="Hi!")
        assert h.feed(h.server.item_done(item)) == [ItemUpdated("item_1", item)]

    def test_item_truncated(self) -> None:
        h = ready()
        assert h.feed(h.server.item_truncated("item_1", 1234)) == [
            ItemUpdated("item_1", {"id": "item_1", "audio_end_ms": 1234})
        ]


BENIGN_CODES = [
    "response_cancel_not_active",
    "conversation_already_has_active_response",
    "input_audio_buffer_commit_empty",
    "item_truncate_invalid_item_id",
    "item_delete_invalid_item_id",
    "item_already_truncated",
]
REPORTED = [
    ("unknown_parameter", "invalid_request_error", ErrorClass.RECOVERABLE),
    ("some_new_code", "invalid_request_error", ErrorClass.RECOVERABLE),
    (None, "invalid_request_error", ErrorClass.RECOVERABLE),
    ("server_error", "server_error", ErrorClass.TRANSIENT),
    ("rate_limit_exceeded", "invalid_request_error", ErrorClass.RATE_LIMITED),
    ("session_expired", "invalid_request_error", ErrorClass.SESSION_END),
    ("invalid_api_key", "invalid_request_error", ErrorClass.FATAL),
    ("insufficient_quota", "invalid_request_error", ErrorClass.FATAL),
]


class TestError:
    """`error`: every error is reported with its class (the glue only logs benign ones)."""

    @pytest.mark.parametrize("code", BENIGN_CODES)
    def test_benign_errors_are_reported_as_benign(self, code: str) -> None:
        assert classify_error(code) is ErrorClass.BENIGN
        h = ready()
        (reported,) = h.feed(h.server.error(code))
        assert isinstance(reported, ErrorReported)
        assert reported.error_class is ErrorClass.BENIGN

    @pytest.mark.parametrize(("code", "type_", "error_class"), REPORTED)
    def test_other_errors_are_reported(
        self, code: str | None, type_: str, error_class: ErrorClass
    ) -> None:
        assert classify_error(code, type_) is error_class
        h = ready()
        out = h.feed(h.server.error(code, "Nope.", type_=type_, param="session.x"))
        assert out == [ErrorReported("Nope.", code, error_class, "session.x")]

    def test_active_response_error_makes_the_response_owed(self) -> None:
        h = ready()
        (request,) = h.do(h.session.request_response())
        assert isinstance(request, Send)
        error = h.server.error(
            "conversation_already_has_active_response",
            "Conversation already has an active response in progress: resp_vad.",
            event_id=request.event["event_id"],
        )
        assert [type(o) for o in h.feed(error)] == [ErrorReported]  # benign: only logged
        assert not h.session.response_active
        # The server's own (VAD) response runs; ours follows it.
        assert h.start_response("resp_vad", server_own=True) == [ResponseStarted("resp_vad")]
        assert h.feed(h.server.response_done("resp_vad")) == [
            ResponseEnded("resp_vad", "completed"),
            CREATE_RESPONSE,
        ]

    def test_active_response_error_after_created_is_still_owed(self) -> None:
        h = ready()
        (request,) = h.do(h.session.request_response())
        assert isinstance(request, Send)
        h.start_response("resp_vad", server_own=True)  # the server's; ours was refused
        error = h.server.error(
            "conversation_already_has_active_response", event_id=request.event["event_id"]
        )
        assert [type(o) for o in h.feed(error)] == [ErrorReported]  # benign: only logged
        assert h.feed(h.server.response_done("resp_vad")) == [
            ResponseEnded("resp_vad", "completed"),
            CREATE_RESPONSE,
        ]

    def test_refused_response_create_is_reported_and_not_retried_later(self) -> None:
        h = ready()
        (request,) = h.do(h.session.request_response())
        assert isinstance(request, Send)
        error = h.server.error(
            "invalid_value",
            "Invalid value: 'loud'.",
            param="response.audio.output.voice",
            event_id=request.event["event_id"],
        )
        assert h.feed(error) == [
            ErrorReported(
                "Invalid value: 'loud'.",
                "invalid_value",
                ErrorClass.RECOVERABLE,
                "response.audio.output.voice",
            )
        ]
        assert not h.session.response_active
        # A later server-VAD turn does not drag a stale response.create behind it.
        h.start_response("resp_vad")
        assert h.feed(h.server.response_done("resp_vad")) == [
            ResponseEnded("resp_vad", "completed")
        ]
        # And the client can ask again right away.
        assert h.do(h.session.request_response()) == [CREATE_RESPONSE]

    def test_error_for_an_unknown_event_id_is_just_reported(self) -> None:
        h = ready()
        out = h.feed(h.server.error("invalid_value", "Bad.", event_id="someone_else_1"))
        assert out == [ErrorReported("Bad.", "invalid_value", ErrorClass.RECOVERABLE)]


class TestAnythingElse:
    """Anything else: ignored deliberately, never a crash."""

    @pytest.mark.parametrize(
        "make",
        [
            lambda s: s.rate_limits_updated(),
            lambda s: s.cleared(),
            lambda s: s.timeout_triggered("user_1"),
            lambda s: s.item_deleted("item_1"),
            lambda s: s.output_item_done("resp_1", assistant_audio_item("item_1")),
            lambda s: s.content_part_added("resp_1", "item_1"),
            lambda s: s.arguments_delta("resp_1", "fc_1", "call_1", "{"),
            lambda s: s.transcript_done("resp_1", "item_1", "Hi"),
            lambda s: s.text_done("resp_1", "item_1", "Hi"),
        ],
    )
    def test_ignored(self, make: Callable[[Any], dict[str, Any]]) -> None:
        h = ready()
        h.start_response("resp_1")
        assert h.feed(make(h.server)) == []
        assert h.session.response_active

    def test_future_event_type_is_ignored(self) -> None:
        h = ready()
        event = {"type": "response.hologram.delta", "event_id": "event_1", "delta": "???"}
        assert h.feed(event, ga=False) == []


class TestResponseInvariants:
    """Each response: exactly one ResponseStarted and one ResponseEnded; AudioStarted and
    AudioStopped pair per audio item; audio of a cancelled response is dropped."""

    @staticmethod
    def _check(outputs: list[Output]) -> None:
        starts = Counter(o.response_id for o in outputs if isinstance(o, ResponseStarted))
        ends = Counter(o.response_id for o in outputs if isinstance(o, ResponseEnded))
        assert starts == ends
        assert set(starts.values()) == {1}
        audio_open: str | None = None
        for o in outputs:
            if isinstance(o, AudioStarted):
                assert audio_open is None
                audio_open = o.item_id
            elif isinstance(o, AudioStopped):
                assert audio_open == o.item_id
                audio_open = None
            elif isinstance(o, AudioChunk):
                assert audio_open == o.item_id
            elif isinstance(o, ResponseEnded):
                assert audio_open is None
        assert audio_open is None

    def _reply(self, h: Harness, rid: str, iid: str, now: float = T0) -> list[Output]:
        out = h.start_response(rid, now)
        out += h.play(rid, iid, [pcm(100), pcm(100)], now)
        out += h.feed(h.server.transcript_delta(rid, iid, "Well"), now)
        return out

    def test_completed(self) -> None:
        h = ready()
        out = self._reply(h, "resp_1", "item_1")
        out += h.feed(h.server.audio_done("resp_1", "item_1"))
        out += h.feed(h.server.response_done("resp_1"))
        self._check(out)

    def test_cancelled_by_interrupt(self) -> None:
        h = ready()
        out = self._reply(h, "resp_1", "item_1")
        out += h.do(h.session.interrupt(T0 + 0.125))
        out += h.feed(h.server.audio_delta("resp_1", "item_1", pcm(100)))
        out += h.feed(h.server.audio_done("resp_1", "item_1"))
        out += h.feed(h.server.response_done("resp_1", "cancelled", reason="client_cancelled"))
        self._check(out)
        assert sum(isinstance(o, AudioChunk) for o in out) == 2

    def test_cancelled_by_server_vad(self) -> None:
        h = ready()
        out = self._reply(h, "resp_1", "item_1")
        out += h.feed(h.server.speech_started("user_2"), T0 + 0.125)
        out += h.feed(h.server.response_done("resp_1", "cancelled", reason="turn_detected"))
        out += self._reply(h, "resp_2", "item_2", T0 + 1)
        out += h.feed(h.server.response_done("resp_2"))
        self._check(out)

    def test_failed(self) -> None:
        h = ready()
        out = self._reply(h, "resp_1", "item_1")
        error = {"type": "server_error", "code": "x", "message": "boom"}
        out += h.feed(h.server.response_done("resp_1", "failed", error=error))
        self._check(out)

    def test_many_turns_with_held_ends(self) -> None:
        h = ready(session_config(transcription=True))
        out: list[Output] = []
        for n in range(3):
            out += h.feed(h.server.committed(f"user_{n}"))
            out += self._reply(h, f"resp_{n}", f"item_{n}")
            out += h.feed(h.server.audio_done(f"resp_{n}", f"item_{n}"))
            out += h.feed(h.server.response_done(f"resp_{n}"))
            out += h.feed(h.server.transcription_completed(f"user_{n}", f"turn {n}"))
        self._check(out)
        kinds = [type(o).__name__ for o in out if isinstance(o, UserTranscript | ResponseEnded)]
        assert kinds == ["UserTranscript", "ResponseEnded"] * 3
