"""``EspeakSynthesizer``: eSpeak NG speech, PCM16 24 kHz mono, from the library a wheel ships.

The ``espeakng-loader`` wheel carries ``libespeak-ng.so`` (1.52) and its ``espeak-ng-data``
directory; nothing is downloaded at run time and no system package is needed. This module
drives that library through :mod:`ctypes`: ``espeak_Initialize`` in synchronous mode (the
audio comes back through a callback before ``espeak_Synth`` returns), then one
``espeak_Synth`` per text. eSpeak NG renders at 22,050 Hz; the result is resampled to the
session's 24 kHz with soxr.

eSpeak NG is not bit-exact from one call to the next: its wave generator keeps glottal phase,
pitch-flutter position and gain in function-level statics that no API call resets, so the
same text comes out a few samples longer or shorter, with a different phase, depending on
what was spoken before. (Its random generator, used for fricative noise, is re-seeded before
every text.) So that a text always sounds the same within a process --
which tests comparing audio bytes rely on -- each synthesizer keeps the audio of its last
``cache_size`` texts.

The library keeps its state (voice, rate, output buffer) in globals and is not reentrant, so
one process-wide :class:`_Library` owns it and every call holds its lock. Synthesis runs at
roughly a thousandth of real time on this project's 2-core machine (see
``docs/speech-engines.md``), so serialising calls costs nothing that matters.
"""

from __future__ import annotations

import ctypes
import threading
from collections import OrderedDict
from typing import Any, ClassVar

import numpy as np

from ._deps import require

__all__ = ["EspeakSynthesizer"]

OUTPUT_RATE = 24_000

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000  # report a bad data path instead of calling exit()
_CHARS_UTF8 = 1
_RATE = 1  # espeak_PARAMETER values
_PITCH = 3
_EE_OK = 0
_SEED = 1

_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class _Library:
    """The one loaded, initialised eSpeak NG of this process, and the lock that guards it."""

    _instance: ClassVar[_Library | None] = None
    _create_lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def get(cls) -> _Library:
        with cls._create_lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def __init__(self) -> None:
        loader: Any = require("espeakng_loader", "EspeakSynthesizer")
        self.soxr: Any = require("soxr", "EspeakSynthesizer")
        lib = ctypes.CDLL(loader.get_library_path())
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,  # text
            ctypes.c_size_t,  # size
            ctypes.c_uint,  # position
            ctypes.c_int,  # position_type
            ctypes.c_uint,  # end_position
            ctypes.c_uint,  # flags
            ctypes.c_void_p,  # unique_identifier
            ctypes.c_void_p,  # user_data
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.restype = ctypes.c_int
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        lib.espeak_ng_SetRandSeed.restype = None
        data_path = loader.get_data_path().encode()
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path, _INITIALIZE_DONT_EXIT)
        if rate <= 0:
            raise RuntimeError(f"eSpeak NG failed to initialise with data at {data_path!r}")
        self.lib = lib
        self.native_rate = int(rate)
        self.lock = threading.Lock()
        self._chunks: list[bytes] = []
        self._voice: tuple[str, int, int | None] | None = None
        self._callback = _SynthCallback(self._collect)  # kept alive as long as the library
        lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, wav: Any, count: int, events: Any) -> int:
        if count > 0 and wav:
            self._chunks.append(ctypes.string_at(wav, count * 2))
        return 0  # 0: go on

    def select(self, voice: str, rate_wpm: int, pitch: int | None) -> None:
        """Make ``voice`` at ``rate_wpm`` current (call with :attr:`lock` held)."""
        wanted = (voice, rate_wpm, pitch)
        if self._voice == wanted:
            return
        self._voice = None
        if self.lib.espeak_SetVoiceByName(voice.encode()) != _EE_OK:
            raise ValueError(f"eSpeak NG has no voice {voice!r}")
        self.lib.espeak_SetParameter(_RATE, rate_wpm, 0)
        if pitch is not None:
            self.lib.espeak_SetParameter(_PITCH, pitch, 0)
        self._voice = wanted

    def render(self, text: str) -> bytes:
        """PCM16 at :attr:`native_rate` for ``text`` (call with :attr:`lock` held)."""
        encoded = ctypes.create_string_buffer(text.encode("utf-8"))
        self._chunks = []
        self.lib.espeak_ng_SetRandSeed(_SEED)  # the noise in fricatives: same text, same audio
        status = self.lib.espeak_Synth(
            ctypes.cast(encoded, ctypes.c_void_p), len(encoded), 0, 0, 0, _CHARS_UTF8, None, None
        )
        if status != _EE_OK:
            raise RuntimeError(f"espeak_Synth failed with status {status}")
        self.lib.espeak_Synchronize()
        pcm = b"".join(self._chunks)
        self._chunks = []
        return pcm


class EspeakSynthesizer:
    """Text to PCM16 24 kHz mono speech with eSpeak NG.

    ``voice`` is an eSpeak NG voice name (``"en-us"``, ``"en"``, ``"en-gb-x-rp"``, a
    variant such as ``"en-us+f3"``...); ``rate_wpm`` is words per minute (eSpeak's default is
    175); ``pitch`` is 0..100 (``None`` keeps the voice's own, 50 by default);
    ``cache_size`` is how many texts' audio to keep (0: none; see the module docstring).

    Instances are cheap and thread-safe; they share the process's one eSpeak NG library.
    Calling the instance is the same as :meth:`synthesize`, so it can be handed to
    :class:`~realtime_llm.server.RuleEngine` as ``synthesizer=``. Raises
    :class:`~realtime_llm.server.speech.SpeechDependencyError` if the ``speech`` extra is
    not installed, and :class:`ValueError` for an unknown voice.
    """

    sample_rate = OUTPUT_RATE

    def __init__(
        self,
        voice: str = "en-us",
        *,
        rate_wpm: int = 175,
        pitch: int | None = None,
        cache_size: int = 256,
    ) -> None:
        if not 80 <= rate_wpm <= 450:
            raise ValueError("rate_wpm must be within 80..450")
        if pitch is not None and not 0 <= pitch <= 100:
            raise ValueError("pitch must be within 0..100")
        self.voice = voice
        self.rate_wpm = rate_wpm
        self.pitch = pitch
        self.cache_size = cache_size
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._library = _Library.get()
        with self._library.lock:
            self._library.select(voice, rate_wpm, pitch)  # fail early on an unknown voice

    @property
    def native_rate(self) -> int:
        """The rate eSpeak NG renders at (22,050 Hz) before resampling."""
        return self._library.native_rate

    def synthesize(self, text: str) -> bytes:
        """Speech for ``text``: PCM16, 24 kHz, mono. Blank text gives ``b""``."""
        if not text.strip():
            return b""
        with self._cache_lock:
            cached = self._cache.get(text)
            if cached is not None:
                self._cache.move_to_end(text)
                return cached
        pcm = self._render(text)
        if self.cache_size > 0:
            with self._cache_lock:
                pcm = self._cache.setdefault(text, pcm)  # a racing call may have been first
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return pcm

    def _render(self, text: str) -> bytes:
        library = self._library
        with library.lock:
            library.select(self.voice, self.rate_wpm, self.pitch)
            native = library.render(text)
        if not native:
            return b""
        samples = np.frombuffer(native, dtype=np.int16)
        resampled = library.soxr.resample(samples, library.native_rate, OUTPUT_RATE, quality="HQ")
        return np.asarray(resampled, dtype=np.int16).tobytes()

    __call__ = synthesize
