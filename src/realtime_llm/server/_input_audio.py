"""The input audio buffer and server-side turn detection over it.

Positions are counted in samples from the start of the session (``audio_start_ms`` and
``audio_end_ms`` are defined that way), across commits and clears. The buffer holds the
audio since the last commit; with VAD on and nobody speaking it keeps only a short tail,
enough for the prefix padding of the next turn, so a silent microphone left open for an
hour costs nothing.

A turn's audio runs from speech onset minus ``prefix_padding_ms`` (never before the
buffer's start) to the point where ``silence_duration_ms`` of silence ended it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._wire import IdGenerator
from .vad import SpeechStarted, VadFactory, VadSettings, VoiceActivityDetector

__all__ = ["InputAudioBuffer", "TurnEnded", "TurnStarted", "vad_settings"]

_SAMPLES_PER_MS = 24
_SEMANTIC_SILENCE_MS = {"low": 1000, "medium": 500, "auto": 500, "high": 250}


@dataclass(frozen=True)
class TurnStarted:
    item_id: str
    audio_start_ms: int


@dataclass(frozen=True)
class TurnEnded:
    item_id: str
    audio_end_ms: int
    pcm: bytes


def vad_settings(turn_detection: Mapping[str, Any]) -> tuple[VadSettings, int]:
    """Detector settings and prefix padding (ms) for a GA ``turn_detection`` object.

    ``semantic_vad`` has no semantics here: it is energy VAD whose silence window follows
    ``eagerness``.
    """
    if turn_detection["type"] == "semantic_vad":
        silence = _SEMANTIC_SILENCE_MS.get(turn_detection.get("eagerness") or "auto", 500)
        return VadSettings(threshold=0.5, silence_duration_ms=silence), 300
    settings = VadSettings(
        threshold=float(turn_detection.get("threshold", 0.5)),
        silence_duration_ms=int(turn_detection.get("silence_duration_ms", 500)),
    )
    return settings, int(turn_detection.get("prefix_padding_ms", 300))


class InputAudioBuffer:
    """PCM16 24 kHz audio since the last commit, with optional VAD segmentation."""

    def __init__(self, new_id: IdGenerator, vad_factory: VadFactory) -> None:
        self._new_id = new_id
        self._vad_factory = vad_factory
        self._buffer = bytearray()
        self._buffer_start = 0  # absolute sample index of self._buffer[0]
        self._total = 0  # absolute samples appended so far
        self._vad: VoiceActivityDetector | None = None
        self._settings: VadSettings | None = None
        self._vad_origin = 0
        self._prefix = 0  # prefix padding in samples
        self._turn: tuple[str, int] | None = None  # (item id, absolute start) while speaking

    @property
    def duration_ms(self) -> float:
        return len(self._buffer) / 2 / _SAMPLES_PER_MS

    @property
    def speaking(self) -> bool:
        return self._turn is not None

    def configure(self, turn_detection: Mapping[str, Any] | None) -> None:
        """(Re)start turn detection from now on; ``None`` turns it off."""
        self._turn = None
        self._vad_origin = self._total
        if turn_detection is None:
            self._vad = self._settings = None
            return
        self._settings, prefix_ms = vad_settings(turn_detection)
        self._vad = self._vad_factory(self._settings)
        self._prefix = prefix_ms * _SAMPLES_PER_MS

    def append(self, pcm: bytes) -> list[TurnStarted | TurnEnded]:
        self._buffer += pcm
        self._total += len(pcm) // 2
        if self._vad is None:
            return []
        results: list[TurnStarted | TurnEnded] = []
        for event in self._vad.process(pcm):
            position = self._vad_origin + event.sample
            if isinstance(event, SpeechStarted):
                start = max(position - self._prefix, self._buffer_start)
                self._turn = (self._new_id("item"), start)
                results.append(TurnStarted(self._turn[0], start // _SAMPLES_PER_MS))
            elif self._turn is not None:
                item_id, start = self._turn
                self._turn = None
                end = min(position, self._total)
                results.append(TurnEnded(item_id, end // _SAMPLES_PER_MS, self._cut(start, end)))
        if self._turn is None:
            self._trim()
        return results

    def _cut(self, start: int, end: int) -> bytes:
        """The audio between two absolute positions; the buffer then starts at ``end``."""
        begin = max(start - self._buffer_start, 0) * 2
        stop = (end - self._buffer_start) * 2
        pcm = bytes(self._buffer[begin:stop])
        del self._buffer[:stop]
        self._buffer_start = end
        return pcm

    def _trim(self) -> None:
        keep = (self._prefix + 24_000) * 2  # the prefix padding plus a second of slack
        excess = len(self._buffer) - keep
        if excess > 0:
            del self._buffer[:excess]
            self._buffer_start += excess // 2

    def commit(self) -> tuple[str, bytes]:
        """Take everything buffered (a manual commit); the item id a VAD turn announced wins."""
        item_id = self._turn[0] if self._turn is not None else self._new_id("item")
        pcm = self._cut(self._buffer_start, self._total)
        self._restart_vad()
        return item_id, pcm

    def clear(self) -> None:
        self._cut(self._buffer_start, self._total)
        self._restart_vad()

    def _restart_vad(self) -> None:
        if self._settings is not None:
            self._vad = self._vad_factory(self._settings)
        self._turn = None
        self._vad_origin = self._total
