"""Recognizer accuracy on a user's own phrases: the language model built from what is expected.

    python benchmarks/recognizer_accuracy.py [--rates 175,140] [--discounts 0.5]

Needs the ``speech`` extra. A user testing their own bot offline says their own phrases,
not the demo's weather questions. This script measures how well the offline recognizer
hears such phrases, depending on what its language model was built from:

``demo LM``
    ``PocketsphinxRecognizer()`` with only the demo's phrases (``DEMO_PHRASES``): what
    ``realtime-llm serve --engine speech`` listened for before the model followed the
    engine's expectations. The baseline.
``scripted``
    what ``SpeechEngine(ScriptedEngine(turns))`` listens for: the script's user turns (the
    phrases below), nothing else.
``rules + phrases``
    what ``SpeechEngine(phrases=PHRASES)`` listens for: the rule engine's demo phrases plus
    the user's.
``tools declared``
    what ``SpeechEngine()`` listens for in a session that declares :data:`TOOLS`: the demo
    phrases plus the tools' names and descriptions (``transcribe_with_tools``). Scored on
    :data:`TOOL_PHRASES`, which use the tools' words.

Each model is built the way ``SpeechEngine`` builds it (``expected_phrases``,
``tool_phrases``, ``PocketsphinxRecognizer.extended``), so ``--discounts`` can vary the
language model's discount mass (``lm_discount``), which the engine leaves at its default.
``generic``
    the wheel's general English model, which needs no phrases at all (a reference).

The phrases (:data:`PHRASES`, 32 sentences) are outside the demo's domain: no weather, no
time. Each is spoken by the project's synthesizer (eSpeak NG, en-us) at each rate of
``--rates`` (words per minute), with 300 ms of silence before and 500 ms after. The demo's
own phrases and paraphrases are also scored with the ``rules + phrases`` model, to show that
adding phrases does not cost the demo its accuracy.

Printed: word error rate (substitutions + deletions + insertions over reference words),
exact sentences, and the real-time factor (decoding time over audio time; it moves with
whatever else runs on the machine, so compare rows of the same run).
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from realtime_llm.server import RuleEngine, ScriptedEngine, Turn
from realtime_llm.server.rules import CITIES
from realtime_llm.server.speech import (
    DEMO_PHRASES,
    EspeakSynthesizer,
    PocketsphinxRecognizer,
    expected_phrases,
    tool_phrases,
)

RATE = 24_000

PHRASES = [
    "tell me a joke",
    "book me a flight to rome",
    "play some jazz music",
    "turn on the kitchen lights",
    "set a timer for ten minutes",
    "remind me to call my mother",
    "what is the capital of france",
    "add milk to my shopping list",
    "how many calories are in an apple",
    "cancel my dentist appointment",
    "i would like to order a large pizza",
    "what is my account balance",
    "transfer fifty dollars to my savings",
    "i lost my credit card",
    "where is my package",
    "i want to return these shoes",
    "can i speak to a human",
    "reset my password please",
    "what are your opening hours",
    "is the museum open on sunday",
    "find a hotel near the station",
    "how do i get to the airport",
    "translate good night into spanish",
    "read me the latest news",
    "send a message to anna",
    "what is seven times eight",
    "spell the word necessary",
    "i have a headache and a fever",
    "make an appointment with the doctor",
    "turn the volume down",
    "skip to the next song",
    "my order arrived damaged",
]
"""Out-of-domain phrases: none asks for the weather or the time."""

TOOLS = [
    {
        "type": "function",
        "name": "book_table",
        "description": "Book a table at a restaurant for a number of people",
    },
    {
        "type": "function",
        "name": "track_package",
        "description": "Find out where my package is",
    },
    {
        "type": "function",
        "name": "cancel_order",
        "description": "Cancel an order that has not shipped yet",
    },
    {
        "type": "function",
        "name": "set_alarm",
        "description": "Set an alarm for a given hour",
        "parameters": {
            "type": "object",
            "properties": {"hour": {"type": "integer", "description": "The hour of the day"}},
        },
    },
]
TOOL_PHRASES = [
    "book a table at a restaurant",
    "book a table for a number of people",
    "track my package",
    "find out where my package is",
    "cancel my order",
    "cancel an order that has not shipped",
    "set an alarm",
    "set an alarm for the hour of the day",
]
"""Phrases made of the tools' words, heard with the tools declared."""

DEMO_SAMPLE = [
    *(f"what is the weather in {c.lower()}" for c in CITIES),
    "what time is it",
    "hello",
    "good morning",
    "thank you",
]
PARAPHRASES = [
    *(f"tell me the weather in {c.lower()}" for c in CITIES[:5]),
    "what is the time now",
    "hello how are you",
]


def words(text: str) -> list[str]:
    return re.findall(r"[a-z]+(?:'[a-z]+)?", text.lower())


def errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """Word-level edit distance and the reference's word count."""
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i in range(1, len(ref) + 1):
        previous, row[0] = row[0], i
        for j in range(1, len(hyp) + 1):
            current = row[j]
            row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (ref[i - 1] != hyp[j - 1]))
            previous = current
    return row[len(hyp)], len(ref)


@dataclass
class Score:
    wrong: int = 0
    words: int = 0
    exact: int = 0
    count: int = 0
    compute: float = 0.0
    seconds: float = 0.0

    def add(self, reference: str, heard: str, compute: float, seconds: float) -> None:
        e, n = errors(reference, heard)
        self.wrong, self.words = self.wrong + e, self.words + n
        self.exact += e == 0
        self.count += 1
        self.compute += compute
        self.seconds += seconds

    def row(self, label: str, rate: int | str, sentences: str) -> str:
        return (
            f"| {label} | {rate} | {sentences} | {self.wrong / self.words:.1%} "
            f"| {self.exact}/{self.count} | {self.compute / self.seconds:.3f} |"
        )


def spoken(sentences: Sequence[str], rates: Sequence[int]) -> dict[tuple[int, str], bytes]:
    audio: dict[tuple[int, str], bytes] = {}
    for rate in rates:
        voice = EspeakSynthesizer(rate_wpm=rate)
        for sentence in sentences:
            audio[(rate, sentence)] = bytes(RATE * 2 * 3 // 10) + voice(sentence) + bytes(RATE)
    return audio


SHOW_MISSES = False  # --show-misses: print each sentence not heard exactly


def score(
    transcribe: Callable[[bytes], str],
    audio: dict[tuple[int, str], bytes],
    sentences: Sequence[str],
    rate: int,
) -> Score:
    result = Score()
    for sentence in sentences:
        pcm = audio[(rate, sentence)]
        start = time.perf_counter()
        heard = transcribe(pcm)
        result.add(sentence, heard, time.perf_counter() - start, len(pcm) / (RATE * 2))
        if SHOW_MISSES and words(heard) != words(sentence):
            print(f"<!-- {rate} wpm: {sentence!r} heard as {heard!r} -->")
    return result


def recognizer(phrases: Sequence[str], discount: float) -> PocketsphinxRecognizer:
    return PocketsphinxRecognizer(phrases, lm_discount=discount, unknown_words="skip")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rates", default="175,140", help="speaking rates, words per minute")
    parser.add_argument(
        "--discounts", default="0.5", help="lm_discount values to compare (comma-separated)"
    )
    parser.add_argument("--no-generic", action="store_true", help="skip the slow generic LM")
    parser.add_argument(
        "--show-misses", action="store_true", help="print what was heard when it was not exact"
    )
    args = parser.parse_args()
    global SHOW_MISSES
    SHOW_MISSES = args.show_misses
    rates = [int(r) for r in args.rates.split(",")]
    discounts = [float(d) for d in args.discounts.split(",")]
    started = time.perf_counter()
    audio = spoken([*PHRASES, *TOOL_PHRASES, *DEMO_SAMPLE, *PARAPHRASES], rates)
    phrases_out = f"{len(PHRASES)} out-of-domain phrases"
    tools_out = f"{len(TOOL_PHRASES)} tool phrases"

    print(f"# Recognizer accuracy on eSpeak NG speech (en-us, rates {args.rates} wpm)\n")
    print("| language model | wpm | sentences | WER | exact | RTF |")
    print("|---|---:|---|---:|---:|---:|")
    totals: dict[str, Score] = {}

    def report(label: str, rate: int, sentences: str, result: Score) -> None:
        print(result.row(label, rate, sentences), flush=True)
        total = totals.setdefault(f"{label}|{sentences}", Score())
        for name in ("wrong", "words", "exact", "count"):
            setattr(total, name, getattr(total, name) + getattr(result, name))
        total.compute += result.compute
        total.seconds += result.seconds

    demo = PocketsphinxRecognizer(DEMO_PHRASES)
    for rate in rates:
        report("demo LM (baseline)", rate, phrases_out, score(demo, audio, PHRASES, rate))
        report("demo LM (baseline)", rate, tools_out, score(demo, audio, TOOL_PHRASES, rate))
    scripted_brain = ScriptedEngine([Turn(user=p, reply="ok") for p in PHRASES])
    for discount in discounts:
        suffix = "" if len(discounts) == 1 else f", discount {discount}"
        # What SpeechEngine builds (expected_phrases, tool_phrases, extended), with the
        # discount as a knob: SpeechEngine itself always uses the default.
        scripted = recognizer(expected_phrases(scripted_brain), discount)
        both = recognizer(expected_phrases(RuleEngine(), PHRASES), discount)
        with_tools = recognizer(expected_phrases(RuleEngine()), discount).extended(
            tool_phrases(TOOLS)
        )
        for rate in rates:
            rows = [
                ("scripted", phrases_out, scripted, PHRASES),
                ("rules + phrases", phrases_out, both, PHRASES),
                ("rules + phrases", "demo phrases", both, DEMO_SAMPLE),
                ("rules + phrases", "demo paraphrases", both, PARAPHRASES),
                ("tools declared", tools_out, with_tools, TOOL_PHRASES),
            ]
            for label, sentences, model, texts in rows:
                report(label + suffix, rate, sentences, score(model, audio, texts, rate))
    if not args.no_generic:
        generic = PocketsphinxRecognizer(language_model="generic")
        for rate in rates:
            report("generic (reference)", rate, phrases_out, score(generic, audio, PHRASES, rate))

    print("\n## Both rates together\n")
    print("| language model | sentences | WER | exact | RTF |")
    print("|---|---|---:|---:|---:|")
    for key, total in totals.items():
        label, sentences = key.split("|")
        print(
            f"| {label} | {sentences} | {total.wrong / total.words:.1%} "
            f"| {total.exact}/{total.count} | {total.compute / total.seconds:.3f} |"
        )
    print(f"\n(run took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
