"""Regressions of issue 7: conversations in the orders and delays real servers produce.

Each test feeds the core the events of one case that went wrong before the response
lifecycle became a state machine and playback a playout model.
"""

from __future__ import annotations

from realtime_llm.protocol.outputs import (
    ResponseEnded,
    ResponseStarted,
    UserTranscript,
)
from realtime_llm.protocol.response import RequestState, ResponseState

from .helpers import Harness, pcm, sends, session_config

T0 = 100.0


def truncate(item_id: str, audio_end_ms: int) -> dict[str, object]:
    return {
        "type": "conversation.item.truncate",
        "item_id": item_id,
        "content_index": 0,
        "audio_end_ms": audio_end_ms,
    }


def test_back_to_back_replies_the_second_is_still_truncated() -> None:
    """Defect 5: reply 1's BotStoppedSpeaking made the tracker forget reply 2's item."""
    h = Harness()
    h.connect()
    h.start_response("resp_1", T0)
    h.play("resp_1", "item_1", [pcm(500)], T0)
    h.feed(h.server.audio_done("resp_1", "item_1"), T0)
    h.feed(h.server.response_done("resp_1"), T0)
    h.h = None
    h.do(h.session.request_response())
    h.start_response("resp_2", T0 + 0.6)
    h.play("resp_2", "item_2", [pcm(2000)], T0 + 0.6)
    h.session.playback_finished(T0 + 0.85)  # reply 1's stop, arriving after reply 2 began
    out = h.do(h.session.interrupt(T0 + 1.6))  # the user heard 1 s of reply 2
    assert truncate("item_2", 1000) in sends(out)


def test_audio_slower_than_real_time_is_cut_where_playback_was() -> None:
    """Defect 6: wall clock since BotStartedSpeaking overshot (1,701 ms for 960 played)."""
    h = Harness()
    h.connect()
    h.start_response("resp_1", T0)
    h.play("resp_1", "item_1", [pcm(480)], T0)
    h.session.playback_started(T0)
    h.feed(h.server.audio_delta("resp_1", "item_1", pcm(240)), T0 + 0.9)
    h.feed(h.server.audio_delta("resp_1", "item_1", pcm(240)), T0 + 1.5)
    out = h.do(h.session.interrupt(T0 + 1.701))
    # 480 ms, a pause, 240 ms, a pause, 201 ms of the last chunk.
    assert truncate("item_1", 921) in sends(out)


def test_a_busy_refusal_after_a_barge_in_does_not_swallow_the_next_reply() -> None:
    """Defect 7: request, speech_started, then the server refuses the create as busy."""
    h = Harness()
    h.connect()
    (request,) = sends(h.do(h.session.request_response()))
    h.feed(h.server.speech_started("user_2"), T0)  # barge-in: our request is cancelled
    h.feed(
        h.server.error(
            "conversation_already_has_active_response",
            "Conversation already has an active response in progress.",
            event_id=request["event_id"],
        )
    )
    assert h.session.request_state is RequestState.NONE
    # The server's own reply to the user's new turn is played, not dropped.
    assert h.start_response("resp_vad", T0 + 1, server_own=True) == [ResponseStarted("resp_vad")]
    assert h.session.response_active
    h.feed(h.server.response_done("resp_vad"))
    assert not h.session.response_active
    assert h.session.response_state is ResponseState.IDLE


def test_the_servers_own_response_is_not_mistaken_for_ours() -> None:
    """Defect 7: correlate by the tag in response.metadata, never "the next one is ours"."""
    h = Harness()
    h.connect()
    (request,) = sends(h.do(h.session.request_response()))
    assert request["response"]["metadata"] == {"rl_request": request["event_id"]}
    h.do(h.session.interrupt(T0))  # cancels our request, not the server's next response
    assert h.start_response("resp_vad", server_own=True) == [ResponseStarted("resp_vad")]
    # Ours, created later with its tag, is cancelled at once and never plays.
    assert sends(h.start_response("resp_ours")) == [{"type": "response.cancel"}]


def test_a_transcript_later_than_two_seconds_still_precedes_its_reply() -> None:
    """Defect 8: the glue's give-up released the reply; the transcript came later."""
    h = Harness(session_config(transcription=True))
    h.connect()
    h.feed(h.server.speech_started("user_1"))
    h.feed(h.server.speech_stopped("user_1"))
    h.feed(h.server.committed("user_1"))
    h.start_response("resp_1", server_own=True)
    assert h.feed(h.server.response_done("resp_1")) == []  # held for the transcript
    released = h.do(h.session.release_held_response())  # the glue gave up after 2 s
    assert released == [ResponseEnded("resp_1", "completed", overdue_transcripts=("user_1",))]
    # Next turn, then user_1's transcript at last: reported late, not merged into user_2.
    h.feed(h.server.speech_started("user_2"))
    h.feed(h.server.speech_stopped("user_2"))
    h.feed(h.server.committed("user_2"))
    assert h.feed(h.server.transcription_completed("user_1", "first")) == [
        UserTranscript("user_1", "first", late=True)
    ]
    assert h.feed(h.server.transcription_completed("user_2", "second")) == [
        UserTranscript("user_2", "second")
    ]
