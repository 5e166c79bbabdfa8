"""Voice activity detection for server-side turn detection.

The session core only needs to know *where* speech started and stopped in the stream of
appended audio, so the detector is a small pluggable object (:class:`VoiceActivityDetector`):
feed it PCM16 24 kHz chunks, get :class:`SpeechStarted` / :class:`SpeechStopped` back with
sample positions counted from the detector's creation. The session applies the prefix
padding and turns positions into ``audio_start_ms`` / ``audio_end_ms``.

:class:`EnergyVad` is the default: RMS energy per 10 ms frame against a dBFS threshold. It
is deterministic, needs no model weights, and is exact on synthetic test audio (tones and
silence), which is what the server's users feed it in their tests. A neural VAD (e.g.
Silero) can be plugged in later behind the same protocol through
``LocalRealtimeServer(vad_factory=...)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

__all__ = [
    "EnergyVad",
    "SpeechStarted",
    "SpeechStopped",
    "VadEvent",
    "VadFactory",
    "VadSettings",
    "VoiceActivityDetector",
    "threshold_to_dbfs",
]

SAMPLE_RATE = 24_000
FRAME_SAMPLES = 240  # 10 ms


@dataclass(frozen=True)
class VadSettings:
    """What the session's ``turn_detection`` asks of a detector.

    ``threshold`` is the GA 0..1 activation threshold; ``silence_duration_ms`` is how much
    silence ends a turn. (``prefix_padding_ms`` is applied by the session, not here.)
    """

    threshold: float = 0.5
    silence_duration_ms: int = 500
    min_speech_ms: int = 30


@dataclass(frozen=True)
class SpeechStarted:
    """Speech began at ``sample`` (the first voiced sample, before any prefix padding)."""

    sample: int


@dataclass(frozen=True)
class SpeechStopped:
    """The turn ended at ``sample``: the last voiced sample plus the silence duration."""

    sample: int


VadEvent = SpeechStarted | SpeechStopped


class VoiceActivityDetector(Protocol):
    """Streaming detector over PCM16 24 kHz mono."""

    def process(self, pcm16: bytes) -> list[VadEvent]:
        """Consume ``pcm16`` and report the transitions it contains, in order."""
        ...


VadFactory = Callable[[VadSettings], VoiceActivityDetector]


def threshold_to_dbfs(threshold: float) -> float:
    """Map the GA 0..1 threshold onto an RMS level: 0 -> -70 dBFS, 0.5 -> -40, 1 -> -10."""
    return -70.0 + 60.0 * threshold


class EnergyVad:
    """RMS-energy VAD over 10 ms frames.

    Speech starts after ``min_speech_ms`` of consecutive voiced frames (reported at the
    first of them) and stops after ``silence_duration_ms`` of consecutive unvoiced frames
    (reported at the end of that silence). A trailing partial frame is kept for the next
    call, so chunk boundaries never change the result.
    """

    def __init__(self, settings: VadSettings | None = None) -> None:
        self.settings = settings or VadSettings()
        level = 32768.0 * 10 ** (threshold_to_dbfs(self.settings.threshold) / 20.0)
        self._energy_threshold = level * level * FRAME_SAMPLES  # sum of squares per frame
        self._start_frames = max(1, -(-self.settings.min_speech_ms // 10))
        self._stop_frames = max(1, -(-self.settings.silence_duration_ms // 10))
        self._pending = b""
        self._frame_index = 0  # index of the next whole frame
        self._speaking = False
        self._run = 0  # length of the current voiced (or, while speaking, unvoiced) run
        self._run_start = 0

    @property
    def speaking(self) -> bool:
        return self._speaking

    def process(self, pcm16: bytes) -> list[VadEvent]:
        data = self._pending + pcm16
        usable = len(data) - len(data) % (FRAME_SAMPLES * 2)
        self._pending = data[usable:]
        if not usable:
            return []
        frames = np.frombuffer(data[:usable], dtype=np.int16).astype(np.float64)
        frames = frames.reshape(-1, FRAME_SAMPLES)
        energy = np.einsum("ij,ij->i", frames, frames)
        voiced = (energy >= self._energy_threshold).tolist()
        events: list[VadEvent] = []
        for offset, is_voiced in enumerate(voiced):
            index = self._frame_index + offset
            if self._speaking == is_voiced:  # the run of "more of the same" is over
                self._run = 0
                continue
            if self._run == 0:
                self._run_start = index
            self._run += 1
            if not self._speaking and self._run >= self._start_frames:
                self._speaking, self._run = True, 0
                events.append(SpeechStarted(self._run_start * FRAME_SAMPLES))
            elif self._speaking and self._run >= self._stop_frames:
                self._speaking, self._run = False, 0
                events.append(SpeechStopped((index + 1) * FRAME_SAMPLES))
        self._frame_index += len(voiced)
        return events
