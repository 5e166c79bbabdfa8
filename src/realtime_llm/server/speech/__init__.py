"""Real speech for the local server: Silero VAD, pocketsphinx, eSpeak NG; all offline.

Everything here runs on a CPU with models that ship inside pip packages (the ``speech``
extra: ``pip install -e ".[speech]"`` from a checkout); nothing is downloaded at run time.

* :class:`SpeechEngine` -- an :class:`~realtime_llm.server.Engine` that transcribes with
  :class:`PocketsphinxRecognizer`, speaks with :class:`EspeakSynthesizer` and lets a brain
  (:class:`~realtime_llm.server.RuleEngine` by default) decide what to say;
* :func:`speech_vad_factory` / :class:`SileroVad` -- server-side turn detection with the
  Silero model that pipecat-ai ships, for ``LocalRealtimeServer(vad_factory=...)``;
* :data:`DEMO_PHRASES` -- what the recognizer listens for when nothing else says what to
  expect; :func:`expected_phrases` and :func:`tool_phrases` -- what it listens for
  otherwise (the brain's expected lines, your phrases, the session's tools).

Importing this package is cheap and works without the extra: the speech packages are
imported when an engine, recognizer, synthesizer or detector is constructed, and a missing
one raises :class:`SpeechDependencyError` naming the extra. How the defaults were chosen,
with measurements: ``docs/speech-engines.md``.
"""

from ._deps import SpeechDependencyError
from .engine import Brain, SpeechEngine, speech_vad_factory
from .phrases import DEMO_PHRASES, ExpectsPhrases, expected_phrases, tool_phrases
from .recognizer import LanguageModel, PocketsphinxRecognizer, UnknownWords
from .synthesizer import EspeakSynthesizer
from .vad import SileroVad

__all__ = [
    "DEMO_PHRASES",
    "Brain",
    "EspeakSynthesizer",
    "ExpectsPhrases",
    "LanguageModel",
    "PocketsphinxRecognizer",
    "SileroVad",
    "SpeechDependencyError",
    "SpeechEngine",
    "UnknownWords",
    "expected_phrases",
    "speech_vad_factory",
    "tool_phrases",
]
