"""The energy VAD: thresholds, timing, and independence from chunk boundaries."""

from __future__ import annotations

import random

from realtime_llm.server.vad import EnergyVad, SpeechStarted, SpeechStopped, VadSettings

from .helpers import silence, tone


def _run(vad: EnergyVad, pcm: bytes, sizes: list[int]) -> list[object]:
    events: list[object] = []
    position = 0
    for size in sizes:
        events += vad.process(pcm[position : position + size])
        position += size
    events += vad.process(pcm[position:])
    return events


def test_tone_between_silences_is_one_turn() -> None:
    pcm = silence(250) + tone(500) + silence(700)
    events = EnergyVad(VadSettings(silence_duration_ms=500)).process(pcm)
    assert events == [SpeechStarted(250 * 24), SpeechStopped((750 + 500) * 24)]


def test_chunk_boundaries_do_not_matter() -> None:
    pcm = silence(100) + tone(300) + silence(200) + tone(300) + silence(800)
    whole = EnergyVad().process(pcm)
    rng = random.Random(7)
    sizes = [rng.randrange(1, 5000) * 2 + rng.randrange(2) for _ in range(40)]
    assert _run(EnergyVad(), pcm, sizes) == whole
    # The 200 ms pause is shorter than the 500 ms silence window: still one turn.
    assert [type(e) for e in whole] == [SpeechStarted, SpeechStopped]


def test_threshold_decides_what_counts_as_speech() -> None:
    quiet = tone(400, amplitude=0.003) + silence(600)  # about -53 dBFS RMS
    assert EnergyVad(VadSettings(threshold=0.5)).process(quiet) == []
    assert len(EnergyVad(VadSettings(threshold=0.2)).process(quiet)) == 2


def test_short_clicks_are_not_speech() -> None:
    assert EnergyVad().process(silence(100) + tone(20) + silence(700)) == []
