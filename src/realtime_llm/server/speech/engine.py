"""``SpeechEngine``: real ears and a real voice around a deterministic brain.

:class:`SpeechEngine` is an :class:`~realtime_llm.server.Engine` whose ``transcribe`` is
:class:`.PocketsphinxRecognizer`, whose ``synthesize`` is :class:`.EspeakSynthesizer`, and
whose ``respond`` is delegated to a *brain* (by default :class:`~realtime_llm.server.RuleEngine`,
which answers weather and time questions through tool calls). With
:func:`speech_vad_factory` for turn detection the local server then behaves like a small
speech-to-speech model that runs offline on a laptop CPU::

    from realtime_llm.server import LocalRealtimeServer
    from realtime_llm.server.speech import SpeechEngine, speech_vad_factory

    async with LocalRealtimeServer(SpeechEngine(), vad_factory=speech_vad_factory) as server:
        ...  # a bot talks to server.url and is heard, understood and answered

Everything it needs ships inside pip packages (the ``speech`` extra); constructing it
without them raises :class:`~realtime_llm.server.speech.SpeechDependencyError` naming the
extra. The engine is thread-safe and can be shared by all connections of a server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from ..engine import Reply, ResponseContext
from ..rules import RuleEngine
from ..vad import VadSettings
from ._deps import check_installed
from .phrases import DEMO_PHRASES
from .recognizer import LanguageModel, PocketsphinxRecognizer
from .synthesizer import EspeakSynthesizer
from .vad import SileroVad

__all__ = ["Brain", "SpeechEngine", "speech_vad_factory"]


class Brain(Protocol):
    """The part of an :class:`~realtime_llm.server.Engine` that decides what to say."""

    def respond(
        self, conversation: Sequence[Mapping[str, Any]], context: ResponseContext
    ) -> Reply: ...


class SpeechEngine:
    """An engine that hears with pocketsphinx, speaks with eSpeak NG and thinks with ``brain``.

    ``brain`` defaults to :class:`~realtime_llm.server.RuleEngine` (any object with
    ``respond`` will do, an :class:`~realtime_llm.server.Engine` included: only its
    ``respond`` is used). ``phrases`` and ``language_model`` configure the default
    recognizer, ``voice`` and ``rate_wpm`` the default synthesizer; pass ``transcriber`` /
    ``synthesizer`` (any ``PCM16 24 kHz -> str`` / ``str -> PCM16 24 kHz`` callables) to
    replace either.
    """

    def __init__(
        self,
        brain: Brain | None = None,
        *,
        phrases: Iterable[str] = DEMO_PHRASES,
        language_model: LanguageModel = "phrases",
        voice: str = "en-us",
        rate_wpm: int = 175,
        transcriber: Callable[[bytes], str] | None = None,
        synthesizer: Callable[[str], bytes] | None = None,
    ) -> None:
        check_installed("SpeechEngine")
        self.brain: Brain = brain if brain is not None else RuleEngine()
        self.transcriber: Callable[[bytes], str] = (
            transcriber
            if transcriber is not None
            else PocketsphinxRecognizer(phrases, language_model=language_model)
        )
        self.synthesizer: Callable[[str], bytes] = (
            synthesizer if synthesizer is not None else EspeakSynthesizer(voice, rate_wpm=rate_wpm)
        )

    def transcribe(self, pcm16_24k: bytes) -> str:
        return self.transcriber(pcm16_24k)

    def respond(self, conversation: Sequence[Mapping[str, Any]], context: ResponseContext) -> Reply:
        return self.brain.respond(conversation, context)

    def synthesize(self, text: str) -> bytes:
        return self.synthesizer(text)


def speech_vad_factory(settings: VadSettings) -> SileroVad:
    """A :data:`~realtime_llm.server.vad.VadFactory` giving each session a :class:`SileroVad`.

    ``LocalRealtimeServer(engine, vad_factory=speech_vad_factory)``.
    """
    return SileroVad(settings)
