"""The playout model: where the user stopped hearing each item; 0 ms -> delete."""

from __future__ import annotations

import pytest

from realtime_llm.protocol.playback import PlaybackTracker, TruncationPoint

T0 = 50.0
MS = 48  # bytes per ms, 24 kHz PCM16 mono


def tracker_with(item_id: str = "item_1", ms: int = 400, now: float = T0) -> PlaybackTracker:
    tracker = PlaybackTracker()
    tracker.audio_received(item_id, ms * MS, now)
    return tracker


class TestTruncationPoint:
    def test_positive_is_a_truncate(self) -> None:
        assert not TruncationPoint("item_1", 1).delete

    def test_zero_is_a_delete(self) -> None:
        assert TruncationPoint("item_1", 0).delete

    def test_equality(self) -> None:
        assert TruncationPoint("item_1", 5) == TruncationPoint("item_1", 5)


class TestPlaybackTracker:
    def test_nothing_playing(self) -> None:
        tracker = PlaybackTracker()
        assert tracker.item_id is None
        assert tracker.received_ms() == 0
        assert tracker.truncation_point(T0) is None

    @pytest.mark.parametrize(
        ("played_s", "expected_ms"),
        [(0.0, 0), (0.125, 125), (0.25, 250), (0.375, 375), (0.5, 400), (10.0, 400)],
    )
    def test_min_of_received_and_played(self, played_s: float, expected_ms: int) -> None:
        tracker = tracker_with(ms=400)
        assert tracker.truncation_point(T0 + played_s) == TruncationPoint("item_1", expected_ms)

    def test_received_accumulates_and_rounds_down(self) -> None:
        tracker = tracker_with(ms=100)
        tracker.audio_received("item_1", 47, T0 + 0.5)
        assert tracker.received_ms() == 100
        tracker.audio_received("item_1", 1, T0 + 0.5)
        assert tracker.received_ms() == 101
        assert tracker.truncation_point(T0 + 5) == TruncationPoint("item_1", 101)

    def test_a_gap_in_arrival_is_not_counted_as_played(self) -> None:
        tracker = tracker_with(ms=100)
        tracker.audio_received("item_1", 300 * MS, T0 + 0.25)
        # 100 ms played by T0+0.1, silence until T0+0.25, then 125 ms of the second chunk.
        assert tracker.truncation_point(T0 + 0.375) == TruncationPoint("item_1", 225)

    def test_playback_started_moves_the_start(self) -> None:
        tracker = tracker_with(ms=1000)
        tracker.playback_started(T0 + 0.5)
        assert tracker.truncation_point(T0 + 0.625) == TruncationPoint("item_1", 125)

    def test_playback_started_without_an_item_is_ignored(self) -> None:
        tracker = PlaybackTracker()
        tracker.playback_started(T0)
        assert tracker.truncation_point(T0 + 1) is None
        tracker.audio_received("item_1", 100 * MS, T0 + 2)
        assert tracker.truncation_point(T0 + 2.0625) == TruncationPoint("item_1", 62)

    def test_now_before_the_start_is_zero(self) -> None:
        tracker = tracker_with()
        tracker.playback_started(T0 + 1)
        point = tracker.truncation_point(T0 + 0.5)
        assert point == TruncationPoint("item_1", 0)
        assert point is not None and point.delete

    def test_a_new_item_after_a_finished_one(self) -> None:
        tracker = tracker_with("item_1", ms=400)
        tracker.audio_done("item_1")
        tracker.audio_received("item_2", 50 * MS, T0 + 1)
        assert tracker.item_id == "item_2"
        assert tracker.received_ms() == 50
        assert tracker.truncation_point(T0 + 1.25) == TruncationPoint("item_2", 50)
        assert tracker.truncation_point(T0 + 1.03125) == TruncationPoint("item_2", 31)

    def test_forget(self) -> None:
        tracker = tracker_with()
        tracker.forget()
        assert tracker.item_id is None
        assert tracker.received_ms() == 0
        assert tracker.truncation_point(T0 + 1) is None

    def test_other_formats(self) -> None:
        tracker = PlaybackTracker(bytes_per_ms=8.0)  # G.711 at 8 kHz
        tracker.audio_received("item_1", 800, T0)
        assert tracker.received_ms() == 100
        tracker.set_format(16.0)  # 8 kHz PCM16
        assert tracker.received_ms() == 50
        assert tracker.truncation_point(T0 + 1) == TruncationPoint("item_1", 50)

    def test_default_is_24khz_pcm16(self) -> None:
        tracker = PlaybackTracker()
        tracker.audio_received("item_1", 24_000 * 2, T0)
        assert tracker.received_ms() == 1000


# Each row: chunks as (arrival s, duration ms) of one item, "now", the expected cut (ms).
PLAYOUT_TABLE = [
    # faster than real time: everything queues, played is real time since the first chunk
    ([(0.0, 100), (0.01, 100), (0.02, 100)], 0.15, 150),
    ([(0.0, 100), (0.01, 100), (0.02, 100)], 0.5, 300),
    # exactly real time
    ([(0.0, 100), (0.1, 100), (0.2, 100)], 0.25, 250),
    # slower than real time: 100 ms of audio every 200 ms; the speaker waits in between
    ([(0.0, 100), (0.2, 100), (0.4, 100)], 0.45, 250),
    ([(0.0, 100), (0.2, 100), (0.4, 100)], 0.35, 200),
    # a long pause mid-item, then a burst
    ([(0.0, 200), (1.0, 500), (1.01, 500)], 1.3, 500),
    # 1.7 s of wall clock, 921 ms played (wall clock would say 1,701)
    ([(0.0, 480), (0.9, 240), (1.5, 240)], 1.701, 921),
    # now before the first arrival
    ([(0.5, 100)], 0.4, 0),
]


@pytest.mark.parametrize(("chunks", "now", "expected_ms"), PLAYOUT_TABLE)
def test_playout_table(chunks: list[tuple[float, int]], now: float, expected_ms: int) -> None:
    tracker = PlaybackTracker()
    for arrival, ms in chunks:
        tracker.audio_received("item_1", ms * MS, T0 + arrival)
    assert tracker.truncation_point(T0 + now) == TruncationPoint("item_1", expected_ms)


class TestTransportSignals:
    def test_bot_started_anchors_the_run_once(self) -> None:
        tracker = tracker_with(ms=1000)
        tracker.playback_started(T0 + 0.2)  # the transport started 200 ms after arrival
        tracker.playback_started(T0 + 0.6)  # a repeated start does not move it again
        assert tracker.truncation_point(T0 + 0.7) == TruncationPoint("item_1", 500)

    def test_a_stop_mid_item_does_not_restart_the_count(self) -> None:
        tracker = tracker_with(ms=300)
        tracker.playback_stopped(T0 + 0.65)  # the server paused: the speaker ran dry
        tracker.audio_received("item_1", 300 * MS, T0 + 1.0)
        tracker.playback_started(T0 + 1.05)
        # 300 ms before the pause, then 100 ms since the transport started again.
        assert tracker.truncation_point(T0 + 1.15) == TruncationPoint("item_1", 400)

    def test_back_to_back_replies_the_second_survives_the_first_stop(self) -> None:
        tracker = tracker_with("reply_1", ms=500)
        tracker.audio_done("reply_1")
        tracker.audio_received("reply_2", 2000 * MS, T0 + 0.6)
        tracker.playback_stopped(T0 + 0.85)  # reply 1's stop arrives after reply 2 began
        assert tracker.item_id == "reply_2"
        assert tracker.truncation_point(T0 + 1.6) == TruncationPoint("reply_2", 1000)

    def test_a_reply_queued_behind_another_starts_after_it(self) -> None:
        tracker = tracker_with("reply_1", ms=1000)
        tracker.audio_done("reply_1")
        tracker.audio_received("reply_2", 1000 * MS, T0 + 0.1)
        points = tracker.truncation_points(T0 + 0.5)
        assert points == [TruncationPoint("reply_1", 500), TruncationPoint("reply_2", 0)]
        assert tracker.truncation_points(T0 + 1.25) == [TruncationPoint("reply_2", 250)]

    def test_a_finished_item_fully_heard_needs_no_cut(self) -> None:
        tracker = tracker_with("reply_1", ms=100)
        tracker.audio_done("reply_1")
        assert tracker.truncation_points(T0 + 1) == []

    def test_stop_drops_only_what_was_played(self) -> None:
        tracker = tracker_with("reply_1", ms=100)
        tracker.audio_done("reply_1")
        tracker.playback_stopped(T0 + 0.5)
        assert tracker.item_id is None
        assert tracker.truncation_points(T0 + 1) == []


class TestRunsAreTheTransports:
    """A start anchors only the audio the transport waited for, never what it played."""

    def test_a_transport_that_acknowledges_on_receipt(self) -> None:
        # Replies of 2 s in 100 ms deltas, back to back; the transport says it stopped
        # when the last delta reaches it (before the model has it played) and starts
        # again on the next reply's first delta.
        tracker = PlaybackTracker()
        for reply in range(4):
            t = T0 + 2.0 * reply
            for n in range(20):
                tracker.audio_received(f"reply_{reply}", 100 * MS, t + n * 0.1)
                if n == 0:
                    tracker.playback_started(t)
            if reply < 3:
                tracker.playback_stopped(t + 1.9)
                tracker.audio_done(f"reply_{reply}")
        # The user interrupts 500 ms into the fourth reply: the three before were heard.
        assert tracker.truncation_points(T0 + 6.5) == [TruncationPoint("reply_3", 500)]

    def test_a_start_on_time_still_anchors_the_run(self) -> None:
        tracker = tracker_with(ms=200)
        tracker.playback_started(T0)  # on time: nothing to move
        tracker.audio_received("item_1", 200 * MS, T0 + 0.2)
        tracker.playback_started(T0 + 0.3)  # repeated: the transport was playing
        assert tracker.truncation_point(T0 + 0.3) == TruncationPoint("item_1", 300)

    def test_a_gap_while_playing_is_silence_not_a_new_start(self) -> None:
        tracker = tracker_with(ms=100)
        tracker.playback_started(T0)
        tracker.audio_received("item_1", 100 * MS, T0 + 0.3)  # the speaker waited
        tracker.audio_done("item_1")
        tracker.playback_stopped(T0 + 0.75)
        tracker.audio_received("item_2", 100 * MS, T0 + 1.0)
        tracker.playback_started(T0 + 1.5)  # moves item_2 only
        assert tracker.truncation_points(T0 + 1.55) == [TruncationPoint("item_2", 50)]
