"""The truncation arithmetic: audio_end_ms = min(received_ms, played_ms), 0 -> delete."""

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

    def test_played_is_measured_from_the_first_delta(self) -> None:
        tracker = tracker_with(ms=100)
        tracker.audio_received("item_1", 300 * MS, T0 + 0.25)
        assert tracker.truncation_point(T0 + 0.375) == TruncationPoint("item_1", 375)

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

    def test_a_new_item_replaces_the_old_one(self) -> None:
        tracker = tracker_with("item_1", ms=400)
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
