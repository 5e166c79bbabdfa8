"""What the core sends is the GA protocol; what the tests feed it is too.

Every test in this package runs through :class:`helpers.Harness`, which validates each
server event it feeds against ``RealtimeServerEvent`` and each client event the core
returns against ``RealtimeClientEvent``. This module checks that the check itself bites,
and sweeps one long conversation that exercises every client event the core can produce.
"""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from realtime_llm.protocol.capabilities import Capabilities

from .helpers import (
    WEATHER_TOOL,
    Harness,
    function_call_item,
    function_call_output_item,
    pcm,
    session_config,
    user_audio_item,
    user_text_item,
    validate_client_event,
    validate_server_event,
)


@pytest.mark.parametrize(
    "event",
    [
        {"type": "conversation.item.truncate", "item_id": "item_1", "audio_end_ms": 5},
        {"type": "response.cancle"},
        {"type": "session.update", "session": {"instructions": "no type"}},
        {"type": "input_audio_buffer.append"},
    ],
    ids=lambda e: e["type"],
)
def test_the_client_check_rejects_wrong_events(event: dict[str, Any]) -> None:
    with pytest.raises(pydantic.ValidationError):
        validate_client_event(event)


@pytest.mark.parametrize(
    "event",
    [
        {
            "type": "response.output_audio.delta",
            "event_id": "e",
            "response_id": "r",
            "item_id": "i",
            "delta": "AAAA",
        },  # no output_index / content_index
        {"type": "session.created", "event_id": "e"},
        {"type": "error", "event_id": "e", "error": {"code": "x"}},
    ],
    ids=lambda e: e["type"],
)
def test_the_server_check_rejects_incomplete_fixtures(event: dict[str, Any]) -> None:
    with pytest.raises(pydantic.ValidationError):
        validate_server_event(event)


def test_a_whole_conversation_sends_only_ga_events() -> None:
    """Drive one session through every path that sends something; all of it validates."""
    h = Harness(session_config(transcription=True, tools=[WEATHER_TOOL]))
    h.do(h.session.configure(h.config))
    h.append(pcm(20))
    h.do(h.session.request_response())
    h.connect()  # session.update x2, buffered append, owed response.create
    h.append(pcm(20))

    # Context: messages and a completed call.
    h.do(h.session.create_items([user_text_item("Hi"), function_call_output_item("c0", "{}")]))
    h.do(
        h.session.create_items(
            [
                {
                    "type": "message",
                    "role": "user",
                    "content": [
                        {
                            "type": "input_image",
                            "image_url": "data:image/jpeg;base64,AA",
                            "detail": "auto",
                        }
                    ],
                }
            ]
        )
    )

    # A spoken reply, interrupted half-way: cancel + truncate.
    h.start_response("resp_1", 10.0)
    h.play("resp_1", "item_1", [pcm(300)], 10.0)
    h.feed(h.server.speech_started("user_1"), 10.125)
    h.feed(h.server.response_done("resp_1", "cancelled", reason="turn_detected"))

    # A reply interrupted before anything played: delete.
    h.feed(h.server.committed("user_1"))
    h.feed(h.server.item_added(user_audio_item("user_1")))
    h.start_response("resp_2", 20.0)
    h.play("resp_2", "item_2", [pcm(300)], 20.0)
    h.do(h.session.interrupt(20.0))
    h.feed(h.server.response_done("resp_2", "cancelled", reason="client_cancelled"))
    h.feed(h.server.transcription_completed("user_1", "Stop."))

    # A tool call with bad JSON: function_call_output + response.create.
    h.start_response("resp_3")
    h.feed(h.server.output_item_added("resp_3", function_call_item("fc_1", "call_1", "f")))
    h.feed(h.server.arguments_done("resp_3", "fc_1", "call_1", "f", "{oops"))
    h.feed(h.server.response_done("resp_3"))

    # Retrieve; client VAD: clear, commit.
    h.do(h.session.retrieve_item("item_1"))
    h.do(h.session.configure(session_config(turn_detection=None)))
    h.do(h.session.interrupt(30.0))
    h.do(h.session.commit_audio())
    h.do(h.session.clear_audio())

    sent_types = {e["type"] for e in h.sent}
    assert sent_types == {
        "session.update",
        "input_audio_buffer.append",
        "input_audio_buffer.commit",
        "input_audio_buffer.clear",
        "conversation.item.create",
        "conversation.item.retrieve",
        "conversation.item.truncate",
        "conversation.item.delete",
        "response.create",
        "response.cancel",
    }
    for event in h.sent:  # the harness checked each on the way; check again, all together
        validate_client_event(event)


def test_capability_flags_only_remove_events() -> None:
    h = Harness(capabilities=Capabilities(supports_truncate=False, supports_delete=False))
    h.connect()
    h.start_response("resp_1", 1.0)
    h.play("resp_1", "item_1", [pcm(100)], 1.0)
    h.do(h.session.interrupt(1.0625))
    assert [e["type"] for e in h.sent] == ["session.update", "response.cancel"]
