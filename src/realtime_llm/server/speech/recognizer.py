"""``PocketsphinxRecognizer``: speech to text with the models the ``pocketsphinx`` wheel ships.

The wheel carries CMU's US English acoustic model, the CMU pronouncing dictionary and a
generic trigram language model; nothing is downloaded at run time. What it hears is chosen by
``language_model``:

* ``"phrases"`` (the default): a small trigram model built at start-up from ``phrases``
  (pocketsphinx's own ARPA builder), with a dictionary cut down to the phrases' words. It
  prefers the phrases but still strings their words together freely, so paraphrases built
  from the same words survive.
* ``"grammar"``: a JSGF grammar whose sentences are exactly ``phrases``. Strictest: anything
  else is heard as the closest phrase, or as nothing.
* ``"generic"``: the wheel's general English model (any words, slowest and, on eSpeak NG
  speech, far less accurate; see ``docs/speech-engines.md``).

Audio is PCM16 24 kHz mono; it is resampled to the model's 16 kHz with soxr. Before
decoding, a low, seeded noise floor is added ``noise_floor_db`` below the utterance's speech
level: the acoustic model was trained on recordings, which always have one, and
synthetic speech's digital silence and spectral holes otherwise make it drop whole words
(typically the last one: "what is the weather in paris" heard as "what is the weather").
The floor follows the speech level, so it works the same for quiet and loud input, and it
is seeded, so the same audio always gives the same text.

A pocketsphinx decoder is not thread-safe: each recognizer owns one and a lock around it, so
concurrent transcriptions take turns. The decoder keeps a little state from one utterance to
the next (its scores for the same audio move in the third decimal after other audio;
``cmn=batch`` and resetting the CMN vector did not change that), so one session's audio can
nudge how another's is scored; no transcript was seen to change because of it.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np

from ._deps import require
from .phrases import DEMO_PHRASES

__all__ = ["LanguageModel", "PocketsphinxRecognizer", "UnknownWords"]

LanguageModel = Literal["phrases", "grammar", "generic"]
UnknownWords = Literal["raise", "skip"]

_INPUT_RATE = 24_000
_MODEL_RATE = 16_000
_FRAME = 320  # 20 ms at 16 kHz, for the speech-level estimate
_SEED = 0x5EED
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_VARIANT = re.compile(r"\(\d+\)$")


def normalize(phrase: str) -> list[str]:
    """The words of ``phrase`` as the dictionary spells them: lower case, no punctuation."""
    return _WORD.findall(phrase.lower())


@contextmanager
def _temporary_file(text: str, suffix: str) -> Iterator[str]:
    """``text`` in a file that exists for the ``with`` block (pocketsphinx reads paths)."""
    with tempfile.TemporaryDirectory(prefix="realtime-llm-") as directory:
        path = os.path.join(directory, "model" + suffix)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        yield path


class PocketsphinxRecognizer:
    """PCM16 24 kHz speech to lower-case text with pocketsphinx.

    ``phrases`` are what the recognizer expects to hear (default: the demo's weather, time
    and greeting phrases, :data:`~realtime_llm.server.speech.phrases.DEMO_PHRASES`); they
    are ignored for ``language_model="generic"``. Words missing from the CMU dictionary are
    rejected with :class:`ValueError`, since pocketsphinx cannot guess a pronunciation;
    with ``unknown_words="skip"`` they are left out of the phrases instead (and listed in
    :attr:`skipped_words`), for phrases that come from elsewhere, such as tool
    descriptions, where one odd word must not stop the rest from being heard.
    ``noise_floor_db`` is how far below the speech level the added noise floor sits
    (``None``: add none).

    Calling the instance is the same as :meth:`transcribe`, so it can be handed to
    :class:`~realtime_llm.server.RuleEngine` as ``transcriber=``.
    """

    def __init__(
        self,
        phrases: Iterable[str] = DEMO_PHRASES,
        *,
        language_model: LanguageModel = "phrases",
        noise_floor_db: float | None = 27.0,
        unknown_words: UnknownWords = "raise",
        lm_discount: float = 0.5,
    ) -> None:
        self._ps: Any = require("pocketsphinx", "PocketsphinxRecognizer")
        self._lm: Any = require("pocketsphinx.lm", "PocketsphinxRecognizer")
        self._soxr: Any = require("soxr", "PocketsphinxRecognizer")
        self.language_model = language_model
        self.noise_floor_db = noise_floor_db
        if unknown_words not in ("raise", "skip"):
            raise ValueError(f"unknown_words must be 'raise' or 'skip', not {unknown_words!r}")
        self.unknown_words: UnknownWords = unknown_words
        if not 0.0 < lm_discount < 1.0:
            raise ValueError(f"lm_discount must be between 0 and 1, not {lm_discount!r}")
        self.lm_discount = lm_discount
        self.phrases = tuple(" ".join(normalize(p)) for p in phrases)
        self.phrases = tuple(dict.fromkeys(p for p in self.phrases if p))
        self.skipped_words: frozenset[str] = frozenset()
        """Words left out of the phrases because the dictionary has no pronunciation."""
        config = {"samprate": _MODEL_RATE, "loglevel": "FATAL"}
        if language_model == "generic":
            self._decoder = self._ps.Decoder(**config)
        elif language_model in ("phrases", "grammar"):
            if not self.phrases:
                raise ValueError(f"language_model={language_model!r} needs at least one phrase")
            self._decoder = self._domain_decoder(config)
        else:
            raise ValueError(f"unknown language_model {language_model!r}")
        self._lock = threading.Lock()

    @property
    def vocabulary(self) -> frozenset[str]:
        """The words the recognizer can output (empty for the generic model: any word)."""
        if self.language_model == "generic":
            return frozenset()
        return frozenset(w for p in self.phrases for w in p.split())

    def extended(self, phrases: Iterable[str]) -> PocketsphinxRecognizer:
        """A new recognizer that also listens for ``phrases`` (same settings otherwise).

        Unknown words in ``phrases`` are skipped, whatever :attr:`unknown_words` says:
        this is how phrases from a session (its declared tools) are added.
        """
        return PocketsphinxRecognizer(
            (*self.phrases, *phrases),
            language_model=self.language_model,
            noise_floor_db=self.noise_floor_db,
            unknown_words="skip",
            lm_discount=self.lm_discount,
        )

    def _domain_decoder(self, config: dict[str, Any]) -> Any:
        entries, missing = self._pronunciations(self.vocabulary)
        if missing and self.unknown_words == "raise":
            raise ValueError(f"not in the pocketsphinx dictionary: {', '.join(sorted(missing))}")
        if missing:
            self.skipped_words = frozenset(missing)
            kept = (" ".join(w for w in p.split() if w not in missing) for p in self.phrases)
            self.phrases = tuple(dict.fromkeys(p for p in kept if p))
            if not self.phrases:
                raise ValueError("none of the phrases' words is in the pocketsphinx dictionary")
        with _temporary_file("".join(entries), ".dict") as dictionary:
            decoder = self._ps.Decoder(lm=None, dict=dictionary, **config)
        if self.language_model == "grammar":
            alternatives = " | ".join(f"( {p} )" for p in sorted(set(self.phrases)))
            grammar = f"#JSGF V1.0;\ngrammar phrases;\npublic <utterance> = {alternatives};\n"
            decoder.add_jsgf_string("phrases", grammar)
        else:
            builder = self._lm.ArpaBoLM(
                text="\n".join(self.phrases) + "\n",
                add_start=True,
                discount_mass=self.lm_discount,
            )
            builder.compute()
            with _temporary_file(_arpa_text(builder), ".lm") as path:
                decoder.add_lm_file("phrases", path)
        decoder.activate_search("phrases")
        return decoder

    def _pronunciations(self, words: frozenset[str]) -> tuple[list[str], set[str]]:
        """The dictionary lines for ``words``, and the words it has no line for."""
        entries: list[str] = []
        found: set[str] = set()
        path = self._ps.get_model_path("en-us/cmudict-en-us.dict")
        with open(path, encoding="utf-8") as dictionary:
            for line in dictionary:
                word = _VARIANT.sub("", line.split(" ", 1)[0])
                if word in words:
                    entries.append(line if line.endswith("\n") else line + "\n")
                    found.add(word)
        return entries, set(words - found)

    def transcribe(self, pcm16_24k: bytes) -> str:
        """The words heard in ``pcm16_24k`` (PCM16, 24 kHz, mono), lower case; may be ``""``."""
        samples = np.frombuffer(pcm16_24k[: len(pcm16_24k) & ~1], dtype=np.int16)
        if samples.size < _INPUT_RATE // 10:  # under 100 ms: nothing to hear
            return ""
        audio = self._soxr.resample(samples, _INPUT_RATE, _MODEL_RATE, quality="HQ")
        audio = self._with_noise_floor(np.asarray(audio, dtype=np.int16))
        with self._lock:
            decoder = self._decoder
            decoder.start_utt()
            decoder.process_raw(audio.tobytes(), no_search=False, full_utt=True)
            decoder.end_utt()
            hypothesis = decoder.hyp()
        return str(hypothesis.hypstr).strip() if hypothesis is not None else ""

    __call__ = transcribe

    def _with_noise_floor(self, audio: np.ndarray[Any, np.dtype[np.int16]]) -> Any:
        if self.noise_floor_db is None:
            return audio
        usable = audio.size - audio.size % _FRAME
        frames = audio[:usable].astype(np.float32).reshape(-1, _FRAME)
        if not frames.size:
            return audio
        power = np.einsum("ij,ij->i", frames, frames) / _FRAME
        loud = power[power >= np.median(power)]  # the louder half of the frames: speech
        level = float(np.sqrt(loud.mean()))
        if level < 1.0:  # digital silence: nothing to hide
            return audio
        sigma = level * 10 ** (-self.noise_floor_db / 20)
        noise = np.random.default_rng(_SEED).normal(0.0, sigma, audio.size)
        return np.clip(audio + noise, -32768, 32767).astype(np.int16)


def _arpa_text(builder: Any) -> str:
    out = io.StringIO()
    builder.write(out)
    return out.getvalue()
