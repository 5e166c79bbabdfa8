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

The recognizer hears well only what its language model was built for, so the model is
built from what this engine expects to hear (see :mod:`.phrases`): the brain's expected
phrases (a :class:`~realtime_llm.server.ScriptedEngine`'s user turns, the
:class:`~realtime_llm.server.RuleEngine`'s weather/time/small-talk phrases), the
``phrases`` passed in, and -- per session, when the server asks through
:meth:`SpeechEngine.transcribe_with_tools` -- the names and descriptions of the tools the
session declares. A recognizer per tool set is built on first use (about 50 ms) and kept.

Everything it needs ships inside pip packages (the ``speech`` extra); constructing it
without them raises :class:`~realtime_llm.server.speech.SpeechDependencyError` naming the
extra. The engine is thread-safe and can be shared by all connections of a server.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from ..engine import Reply, ResponseContext
from ..rules import RuleEngine
from ..vad import VadSettings
from ._deps import check_installed
from .phrases import expected_phrases, tool_phrases
from .recognizer import LanguageModel, PocketsphinxRecognizer
from .synthesizer import EspeakSynthesizer
from .vad import SileroVad

__all__ = ["Brain", "SpeechEngine", "speech_vad_factory"]

logger = logging.getLogger(__name__)

_TOOL_RECOGNIZERS = 8  # tool sets whose recognizer is kept (a test server sees few)


class Brain(Protocol):
    """The part of an :class:`~realtime_llm.server.Engine` that decides what to say."""

    def respond(
        self, conversation: Sequence[Mapping[str, Any]], context: ResponseContext
    ) -> Reply: ...


class SpeechEngine:
    """An engine that hears with pocketsphinx, speaks with eSpeak NG and thinks with ``brain``.

    ``brain`` defaults to :class:`~realtime_llm.server.RuleEngine` (any object with
    ``respond`` will do, an :class:`~realtime_llm.server.Engine` included: only its
    ``respond`` is used). The default recognizer listens for the brain's
    ``expected_phrases()`` plus ``phrases`` (your own lines: what your bot's users say), or
    for :data:`~realtime_llm.server.speech.DEMO_PHRASES` when there are none; words the
    pronouncing dictionary lacks are left out with a warning (see :attr:`expected`).
    ``language_model`` picks the recognizer's mode, ``voice`` and ``rate_wpm`` the default
    synthesizer's; pass ``transcriber`` / ``synthesizer`` (any ``PCM16 24 kHz -> str`` /
    ``str -> PCM16 24 kHz`` callables) to replace either.
    """

    def __init__(
        self,
        brain: Brain | None = None,
        *,
        phrases: Iterable[str] = (),
        language_model: LanguageModel = "phrases",
        voice: str = "en-us",
        rate_wpm: int = 175,
        transcriber: Callable[[bytes], str] | None = None,
        synthesizer: Callable[[str], bytes] | None = None,
    ) -> None:
        check_installed("SpeechEngine")
        self.brain: Brain = brain if brain is not None else RuleEngine()
        self.expected: tuple[str, ...] = expected_phrases(self.brain, phrases)
        """What the default recognizer listens for (before any session's tools)."""
        self._recognizer: PocketsphinxRecognizer | None = None
        if transcriber is None:
            self._recognizer = PocketsphinxRecognizer(
                self.expected, language_model=language_model, unknown_words="skip"
            )
            _warn_skipped(self._recognizer)
            transcriber = self._recognizer
        self.transcriber: Callable[[bytes], str] = transcriber
        self._with_tools: OrderedDict[tuple[str, ...], PocketsphinxRecognizer] = OrderedDict()
        self._with_tools_lock = threading.Lock()
        self.synthesizer: Callable[[str], bytes] = (
            synthesizer if synthesizer is not None else EspeakSynthesizer(voice, rate_wpm=rate_wpm)
        )

    def transcribe(self, pcm16_24k: bytes) -> str:
        return self.transcriber(pcm16_24k)

    def transcribe_with_tools(self, pcm16_24k: bytes, tools: Sequence[Mapping[str, Any]]) -> str:
        """:meth:`transcribe`, also listening for the words of the session's ``tools``.

        The local server calls this (rather than :meth:`transcribe`) with the tools the
        session declares. A replaced ``transcriber``, or a grammar or generic model, is
        used as is.
        """
        recognizer = self._recognizer
        extra = tool_phrases(tools)
        if recognizer is None or recognizer.language_model != "phrases" or not extra:
            return self.transcribe(pcm16_24k)
        return self._recognizer_for(recognizer, extra).transcribe(pcm16_24k)

    def _recognizer_for(
        self, base: PocketsphinxRecognizer, extra: tuple[str, ...]
    ) -> PocketsphinxRecognizer:
        with self._with_tools_lock:
            found = self._with_tools.get(extra)
            if found is not None:
                self._with_tools.move_to_end(extra)
                return found
        try:
            built = base.extended(extra)
        except ValueError:  # no usable word in the tools: the base model will do
            built = base
        _warn_skipped(built)
        with self._with_tools_lock:
            built = self._with_tools.setdefault(extra, built)  # a racing call may be first
            while len(self._with_tools) > _TOOL_RECOGNIZERS:
                self._with_tools.popitem(last=False)
        return built

    def respond(self, conversation: Sequence[Mapping[str, Any]], context: ResponseContext) -> Reply:
        return self.brain.respond(conversation, context)

    def synthesize(self, text: str) -> bytes:
        return self.synthesizer(text)


def _warn_skipped(recognizer: PocketsphinxRecognizer) -> None:
    if recognizer.skipped_words:
        logger.warning(
            "speech engine: no pronunciation for %s; the recognizer will not hear %s",
            ", ".join(sorted(recognizer.skipped_words)),
            "it" if len(recognizer.skipped_words) == 1 else "them",
        )


def speech_vad_factory(settings: VadSettings) -> SileroVad:
    """A :data:`~realtime_llm.server.vad.VadFactory` giving each session a :class:`SileroVad`.

    ``LocalRealtimeServer(engine, vad_factory=speech_vad_factory)``.
    """
    return SileroVad(settings)
