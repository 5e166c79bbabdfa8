"""User turns without a transcript come out of the core as their audio (``UserAudioTurn``).

Driven through the session core's public surface only: audio appends, server events and
commands in, outputs out (each event checked against the GA models by the harness).
"""

from __future__ import annotations

from realtime_llm.protocol.outputs import (
    ResponseEnded,
    UserAudioTurn,
    UserTranscript,
)

from .helpers import Harness, pcm, session_config, user_audio_item


def ready(
    *, transcription: bool, turn_detection: str | None = "server_vad", **kw: object
) -> Harness:
    h = Harness(session_config(transcription=transcription, turn_detection=turn_detection), **kw)
    h.connect()
    return h


def audio_turns(outputs: list[object]) -> list[UserAudioTurn]:
    return [o for o in outputs if isinstance(o, UserAudioTurn)]


def speak(h: Harness, item_id: str, chunks: list[str]) -> list[object]:
    """A server-VAD turn: speech starts, the audio, speech stops, the commit."""
    out: list[object] = list(h.feed(h.server.speech_started(item_id)))
    for chunk in chunks:
        h.append(chunk)
    out += h.feed(h.server.speech_stopped(item_id))
    out += h.feed(h.server.committed(item_id))
    return out


def test_transcription_off_a_committed_turn_is_its_audio() -> None:
    h = ready(transcription=False)
    words = [pcm(20, fill=n) for n in range(1, 6)]
    assert audio_turns(speak(h, "user_1", words)) == [UserAudioTurn("user_1", tuple(words))]


def test_the_next_turn_holds_only_its_own_audio() -> None:
    h = ready(transcription=False)
    speak(h, "user_1", [pcm(20, fill=1)])
    second = [pcm(20, fill=2), pcm(20, fill=3)]
    assert audio_turns(speak(h, "user_2", second)) == [UserAudioTurn("user_2", tuple(second))]


def test_silence_long_before_speech_is_not_part_of_the_turn() -> None:
    """At speech_started only about the last second is kept (prefix padding, detection)."""
    h = ready(transcription=False)
    silence = [pcm(20, fill=9) for _ in range(200)]  # 4 s while nobody speaks
    for chunk in silence:
        h.append(chunk)
    words = [pcm(20, fill=1)]
    (turn,) = audio_turns(speak(h, "user_1", words))
    assert turn.audio[-1] == words[0]
    kept_ms = 20 * (len(turn.audio) - 1)
    assert 900 <= kept_ms <= 1000, kept_ms


def test_a_turn_keeps_at_most_its_bound_the_newest_audio() -> None:
    h = ready(transcription=False, max_turn_audio_s=1.0)
    words = [pcm(20, fill=n % 250 + 1) for n in range(150)]  # 3 s
    (turn,) = audio_turns(speak(h, "user_1", words))
    assert turn.audio == tuple(words[-50:])


def test_a_cleared_buffer_is_no_turn() -> None:
    h = ready(transcription=False, turn_detection=None)
    h.append(pcm(20, fill=1))
    h.do(h.session.clear_audio())
    h.append(pcm(20, fill=2))
    h.do(h.session.commit_audio())
    assert audio_turns(h.feed(h.server.committed("user_1"))) == [
        UserAudioTurn("user_1", (pcm(20, fill=2),))
    ]


def test_the_servers_cleared_event_empties_the_turn() -> None:
    h = ready(transcription=False)
    h.append(pcm(20, fill=1))
    h.feed(h.server.cleared())
    assert audio_turns(h.feed(h.server.committed("user_1"))) == []


def test_a_transcribed_turn_is_not_handed_out_as_audio() -> None:
    h = ready(transcription=True)
    assert audio_turns(speak(h, "user_1", [pcm(20, fill=1)])) == []
    assert h.feed(h.server.transcription_completed("user_1", "Hello")) == [
        UserTranscript("user_1", "Hello")
    ]


def test_a_failed_transcription_hands_out_the_audio_before_the_held_reply_end() -> None:
    h = ready(transcription=True)
    words = (pcm(20, fill=1), pcm(20, fill=2))
    speak(h, "user_1", list(words))
    h.feed(h.server.item_added(user_audio_item("user_1")))
    h.start_response("resp_1", server_own=True)
    assert h.feed(h.server.response_done("resp_1")) == []  # held for the transcript
    assert h.feed(h.server.transcription_failed("user_1")) == [
        UserAudioTurn("user_1", words),
        ResponseEnded("resp_1", "completed"),
    ]


def test_an_empty_transcript_hands_out_the_audio() -> None:
    h = ready(transcription=True)
    speak(h, "user_1", [pcm(20, fill=1)])
    assert h.feed(h.server.transcription_completed("user_1", " ")) == [
        UserAudioTurn("user_1", (pcm(20, fill=1),))
    ]


def test_a_transcript_after_the_reply_ended_marks_the_audio_late() -> None:
    h = ready(transcription=True)
    speak(h, "user_1", [pcm(20, fill=1)])
    h.start_response("resp_1", server_own=True)
    h.feed(h.server.response_done("resp_1"))
    released = h.do(h.session.release_held_response())
    assert released == [ResponseEnded("resp_1", "completed", overdue_transcripts=("user_1",))]
    assert h.feed(h.server.transcription_failed("user_1")) == [
        UserAudioTurn("user_1", (pcm(20, fill=1),), late=True)
    ]


def test_a_drop_while_a_transcript_is_awaited_hands_out_the_audio() -> None:
    h = ready(transcription=True)
    speak(h, "user_1", [pcm(20, fill=1)])
    closing, _ = h.session.connection_lost()
    # Not late: no reply it prompted has ended (so the glue appends it, nothing to place).
    assert audio_turns(closing) == [UserAudioTurn("user_1", (pcm(20, fill=1),))]
    h.connect()  # the new session has nothing of the old one's
    assert h.feed(h.server.transcription_failed("user_1")) == []


def test_a_drop_after_the_reply_held_for_a_transcript_marks_the_audio_late() -> None:
    h = ready(transcription=True)
    speak(h, "user_1", [pcm(20, fill=1)])
    h.start_response("resp_1", server_own=True)
    assert h.feed(h.server.response_done("resp_1")) == []  # held for the transcript
    closing, _ = h.session.connection_lost()
    assert closing == [
        ResponseEnded("resp_1", "completed", overdue_transcripts=("user_1",)),
        UserAudioTurn("user_1", (pcm(20, fill=1),), late=True),
    ]


def test_with_server_vad_quiet_audio_is_held_only_as_the_lead() -> None:
    """Until speech starts only about a second is kept: a commit without speech_started
    (a server that sends none) gets that second, not the whole silence before it."""
    h = ready(transcription=False)
    for _ in range(200):  # 4 s
        h.append(pcm(20, fill=9))
    (turn,) = audio_turns(h.feed(h.server.committed("user_1")))
    assert 900 <= 20 * len(turn.audio) <= 1000


def test_audio_held_while_not_ready_is_recorded_when_it_is_sent() -> None:
    h = Harness(session_config(transcription=False))
    h.append(pcm(20, fill=1))  # before the session is ready: held
    h.connect()
    assert audio_turns(h.feed(h.server.committed("user_1"))) == [
        UserAudioTurn("user_1", (pcm(20, fill=1),))
    ]
