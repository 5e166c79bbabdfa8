"""``SileroVad``: the Silero VAD model that pipecat ships, behind the server's VAD interface.

pipecat-ai's wheel carries ``pipecat/audio/vad/data/silero_vad.onnx`` (Silero VAD v5); it
runs with onnxruntime, which pipecat already depends on. pipecat's own
``SileroVADAnalyzer`` is asynchronous, owns a thread pool per instance and reports states
rather than positions, so this module runs the same model file directly and implements
:class:`~realtime_llm.server.vad.VoiceActivityDetector`: feed PCM16 24 kHz, get
:class:`~realtime_llm.server.vad.SpeechStarted` / ``SpeechStopped`` with sample positions.

How it works, per detector (one per session):

* 24 kHz input is converted to float once and resampled to 16 kHz by a streaming soxr
  resampler (delay-compensated, so output sample ``i`` is input sample ``1.5 * i``);
* the model scores 32 ms windows (512 samples at 16 kHz, exactly 768 input samples), each
  with the 64 samples before it as context, as Silero v5 expects; windows are views into
  one buffer per chunk, not copies;
* hysteresis as in Silero's reference ``VADIterator``: speech starts once
  ``min_speech_ms`` of windows score at least ``threshold`` (reported at the first of
  them) and stops once ``silence_duration_ms`` of windows score below
  ``threshold - 0.15`` (reported at the end of that silence, like :class:`EnergyVad`);
* the model's recurrent state is reset after two seconds of audio, but only while nobody
  speaks and five windows in a row scored under 0.1 -- pipecat does the same, because long
  non-speech shifts the state so that the next speech is under-reported. (The 64-sample
  context is left alone: it is quiet audio by then.)

The ONNX session is loaded once per process and shared (``InferenceSession.run`` is
thread-safe); each detector keeps its own recurrent state. Positions are exact multiples of
768 samples (32 ms), so a trailing partial window waits for the next chunk and chunk
boundaries do not move events.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from typing import Any

import numpy as np
import numpy.typing as npt

from ..vad import SpeechStarted, SpeechStopped, VadEvent, VadSettings
from ._deps import require

__all__ = ["SileroVad", "silero_model_path"]

_INPUT_RATE = 24_000
_MODEL_RATE = 16_000
WINDOW = 512  # samples at 16 kHz: 32 ms
WINDOW_MS = 32
_CONTEXT = 64  # samples of the previous window that Silero v5 wants in front of each one
_INPUT_PER_WINDOW = WINDOW * _INPUT_RATE // _MODEL_RATE  # 768
_NEGATIVE_MARGIN = 0.15
_RESET_AFTER_WINDOWS = 2 * _MODEL_RATE // WINDOW  # about two seconds
_RESET_MAX_CONFIDENCE = 0.1
_RESET_QUIET_WINDOWS = 5

_session_lock = threading.Lock()
_sessions: dict[str, Any] = {}

Float32Array = npt.NDArray[np.float32]


def silero_model_path() -> str:
    """Where pipecat-ai keeps ``silero_vad.onnx`` (found without importing pipecat)."""
    spec = importlib.util.find_spec("pipecat")
    for base in (spec.submodule_search_locations or []) if spec is not None else []:
        path = os.path.join(base, "audio", "vad", "data", "silero_vad.onnx")
        if os.path.isfile(path):
            return path
    raise FileNotFoundError("pipecat-ai's silero_vad.onnx was not found; is pipecat-ai installed?")


def _session(path: str) -> Any:
    with _session_lock:
        if path not in _sessions:
            ort: Any = require("onnxruntime", "SileroVad")
            options = ort.SessionOptions()
            options.inter_op_num_threads = 1
            options.intra_op_num_threads = 1
            _sessions[path] = ort.InferenceSession(
                path, sess_options=options, providers=["CPUExecutionProvider"]
            )
        return _sessions[path]


class SileroVad:
    """Silero VAD over PCM16 24 kHz mono, as a server-side turn detector.

    ``settings.threshold`` is Silero's speech probability (0.5 is its own default);
    ``model_path`` defaults to the file pipecat-ai ships. Use it through
    ``LocalRealtimeServer(vad_factory=SileroVad)`` (or
    :func:`~realtime_llm.server.speech.speech_vad_factory`).
    """

    def __init__(self, settings: VadSettings | None = None, *, model_path: str | None = None):
        self.settings = settings or VadSettings()
        soxr: Any = require("soxr", "SileroVad")
        self._session = _session(model_path or silero_model_path())
        self._resampler = soxr.ResampleStream(
            _INPUT_RATE, _MODEL_RATE, 1, dtype="float32", quality="MQ"
        )
        self._threshold = float(self.settings.threshold)
        self._negative = max(self._threshold - _NEGATIVE_MARGIN, 0.01)
        self._start_windows = max(1, -(-self.settings.min_speech_ms // WINDOW_MS))
        self._stop_windows = max(1, -(-self.settings.silence_duration_ms // WINDOW_MS))
        self._sr = np.array(_MODEL_RATE, dtype=np.int64)
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._buffer: Float32Array = np.zeros(_CONTEXT, dtype=np.float32)  # context + leftover
        self._odd_byte = b""
        self._window = 0  # index of the next window
        self._speaking = False
        self._run = 0  # voiced windows (while quiet) or unvoiced windows (while speaking)
        self._run_start = 0
        self._since_reset = 0
        self._quiet_windows = 0
        self.last_probability = 0.0
        """The speech probability of the last scored window (for tests and tuning)."""

    @property
    def speaking(self) -> bool:
        return self._speaking

    def process(self, pcm16: bytes) -> list[VadEvent]:
        """Consume ``pcm16`` (any length, even odd) and report the transitions it contains."""
        data = self._odd_byte + pcm16 if self._odd_byte else pcm16
        even = len(data) & ~1
        self._odd_byte = bytes(data[even:])
        if not even:
            return []
        samples = np.frombuffer(data, dtype=np.int16, count=even // 2)
        floats = samples.astype(np.float32)
        floats *= 1.0 / 32768.0
        resampled = self._resampler.resample_chunk(floats)
        buffer = np.concatenate((self._buffer, resampled)) if resampled.size else self._buffer
        windows = (buffer.size - _CONTEXT) // WINDOW
        events: list[VadEvent] = []
        for index in range(windows):
            start = index * WINDOW
            window = buffer[start : start + _CONTEXT + WINDOW].reshape(1, -1)  # a view
            probability = self._score(window)
            event = self._step(probability)
            if event is not None:
                events.append(event)
        self._buffer = buffer[windows * WINDOW :].copy() if windows else buffer
        return events

    def _score(self, window: Float32Array) -> float:
        output, self._state = self._session.run(
            None, {"input": window, "state": self._state, "sr": self._sr}
        )
        probability = float(output[0, 0])
        self.last_probability = probability
        return probability

    def _step(self, probability: float) -> VadEvent | None:
        index = self._window
        self._window += 1
        event: VadEvent | None = None
        if not self._speaking:
            if probability >= self._threshold:
                if self._run == 0:
                    self._run_start = index
                self._run += 1
                if self._run >= self._start_windows:
                    self._speaking, self._run = True, 0
                    event = SpeechStarted(self._run_start * _INPUT_PER_WINDOW)
            else:
                self._run = 0
        elif probability < self._negative:
            self._run += 1
            if self._run >= self._stop_windows:
                self._speaking, self._run = False, 0
                event = SpeechStopped((index + 1) * _INPUT_PER_WINDOW)
        else:
            self._run = 0
        self._maybe_reset(probability)
        return event

    def _maybe_reset(self, probability: float) -> None:
        self._since_reset += 1
        if probability < _RESET_MAX_CONFIDENCE:
            self._quiet_windows += 1
        else:
            self._quiet_windows = 0
        if (
            self._since_reset >= _RESET_AFTER_WINDOWS
            and not self._speaking
            and self._run == 0
            and self._quiet_windows >= _RESET_QUIET_WINDOWS
        ):
            self._state = np.zeros((2, 1, 128), dtype=np.float32)
            self._since_reset = 0
