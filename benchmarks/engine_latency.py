"""Speech engine latency and accuracy: the local server with SpeechEngine on this machine.

    python benchmarks/engine_latency.py [--questions 10] [--sections latency,rtf,accuracy]

Needs the ``speech`` extra. Three sections, each printed as a table:

``latency``
    The local server on loopback, in this process, streaming replies in real time
    (``chunk_interval_s=0.04``). A raw WebSocket client plays ``--questions`` spoken questions
    (eSpeak NG, en-us, 175 wpm) in real time in 20 ms chunks, each with 300 ms of silence
    before it and silence after it until the reply is done, and times:

    * *speech end -> first audio*: from sending the last chunk that holds speech to the
      first ``response.output_audio.delta`` -- what a user waits, VAD silence window
      (500 ms) included;
    * *speech_stopped -> first audio*: from the server's ``speech_stopped`` event to that
      delta -- the engine's own share (transcribe, respond, synthesize, streaming);
    * *stop -> transcript*: from ``speech_stopped`` to the transcription event.

    Three configurations run in the same process, one after the other: the baseline (the
    scripted engine with its tone voice and the energy VAD: no speech work at all), the
    SpeechEngine with the energy VAD, and the SpeechEngine with Silero VAD (the real
    thing). Medians and maxima are printed, with each median as a ratio to the baseline's.

``rtf``
    Real-time factors (compute seconds per second of audio, single call, median of all
    questions) of each part on its own: the recognizer in its three language-model modes,
    the synthesizer (uncached) against the tone stand-in, Silero against the energy VAD.

``accuracy``
    The recognizer on eSpeak NG speech of four voices (en-us at 175 and 150 wpm, en-gb-x-rp
    at 200 wpm, en-us+f3) for demo phrases (in the phrase list), paraphrases (words of the
    list in new orders) and out-of-domain sentences: word error rate, exact sentences, and
    *intent* (does RuleEngine act on the transcript as on the true sentence: weather for the
    same city, the time, or something else). Each language model is also run without the
    noise floor, to show what it buys.

Timings on a shared 2-core machine move with whatever else runs; compare the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import connect

from realtime_llm.server import EnergyVad, Engine, LocalRealtimeServer, ScriptedEngine, Turn
from realtime_llm.server.engine import tone_synthesize
from realtime_llm.server.rules import CITIES
from realtime_llm.server.speech import (
    EspeakSynthesizer,
    LanguageModel,
    PocketsphinxRecognizer,
    SileroVad,
    SpeechEngine,
)
from realtime_llm.server.vad import VadFactory

RATE = 24_000
CHUNK_MS = 20
CHUNK = RATE * 2 * CHUNK_MS // 1000

QUESTIONS = [
    "What is the weather in Paris?",
    "What time is it?",
    "What's the weather like in San Francisco?",
    "Hello there.",
    "What is the forecast for Tokyo?",
    "How is the weather in London?",
    "What is the time?",
    "Good morning.",
    "What is the temperature in Madrid?",
    "Thank you.",
]


def silence(ms: int) -> bytes:
    return bytes(RATE * 2 * ms // 1000)


def words(text: str) -> list[str]:
    return re.findall(r"[a-z]+(?:'[a-z]+)?", text.lower())


# -- latency -----------------------------------------------------------------------------------


@dataclass
class Turnaround:
    question: str
    heard: str = ""
    speech_end: float = 0.0
    stopped: float = 0.0
    transcribed: float = 0.0
    first_audio: float = 0.0
    done: float = 0.0


@dataclass
class Run:
    name: str
    turns: list[Turnaround] = field(default_factory=list)

    def series(self, key: Callable[[Turnaround], float]) -> list[float]:
        return [key(t) * 1000 for t in self.turns]


async def play(url: str, questions: Sequence[str], audio: dict[str, bytes]) -> list[Turnaround]:
    """Speak each question in real time and time the server's answers."""
    turns: list[Turnaround] = []
    async with connect(url, additional_headers={"Authorization": "Bearer local"}) as ws:
        update = {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "audio": {"input": {"transcription": {"model": "local"}}},
            },
        }
        await ws.send(json.dumps(update))
        current: list[Turnaround] = []
        done = asyncio.Event()

        async def read() -> None:
            async for message in ws:
                event = json.loads(message)
                now = time.perf_counter()
                kind = event["type"]
                if not current:
                    continue
                turn = current[-1]
                if kind == "input_audio_buffer.speech_stopped" and not turn.stopped:
                    turn.stopped = now
                elif kind == "conversation.item.input_audio_transcription.completed":
                    turn.transcribed, turn.heard = now, event["transcript"]
                elif kind == "response.output_audio.delta" and not turn.first_audio:
                    turn.first_audio = now
                elif kind == "response.done":
                    turn.done = now
                    done.set()

        reader = asyncio.create_task(read())
        try:
            for question in questions:
                turn = Turnaround(question)
                current.append(turn)
                done.clear()
                speech = silence(300) + audio[question]
                speech_chunks = -(-len(speech) // CHUNK)
                start = time.perf_counter()
                index = 0
                while True:
                    if index < speech_chunks:
                        chunk = speech[index * CHUNK : (index + 1) * CHUNK]
                    elif done.is_set() or index > speech_chunks + 8000 // CHUNK_MS:
                        break
                    else:
                        chunk = silence(CHUNK_MS)
                    delay = start + index * CHUNK_MS / 1000 - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    payload = base64.b64encode(chunk).decode()
                    await ws.send(
                        json.dumps({"type": "input_audio_buffer.append", "audio": payload})
                    )
                    index += 1
                    if index == speech_chunks:
                        turn.speech_end = time.perf_counter()
                turns.append(turn)
                await asyncio.sleep(0.2)
        finally:
            reader.cancel()
    return turns


async def latency_run(
    name: str, engine: Engine, vad: VadFactory, questions: Sequence[str], audio: dict[str, bytes]
) -> Run:
    server = LocalRealtimeServer(engine, chunk_interval_s=0.04, vad_factory=vad)
    async with server:
        turns = await play(server.url, questions, audio)
    return Run(name, turns)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def latency_section(
    questions: Sequence[str], speech: SpeechEngine, voice: EspeakSynthesizer
) -> None:
    audio = {q: voice(q) for q in questions}
    baseline_engine = ScriptedEngine([Turn(q, "You said: " + q.lower()) for q in questions])
    runs = [
        asyncio.run(
            latency_run(
                "baseline: scripted + tone, energy VAD",
                baseline_engine,
                EnergyVad,
                questions,
                audio,
            )
        ),
        asyncio.run(latency_run("SpeechEngine, energy VAD", speech, EnergyVad, questions, audio)),
        asyncio.run(latency_run("SpeechEngine, Silero VAD", speech, SileroVad, questions, audio)),
    ]
    measures: list[tuple[str, Callable[[Turnaround], float]]] = [
        ("speech end -> first audio", lambda t: t.first_audio - t.speech_end),
        ("speech_stopped -> first audio", lambda t: t.first_audio - t.stopped),
        ("speech_stopped -> transcript", lambda t: t.transcribed - t.stopped),
    ]
    print(f"\n## Latency ({len(questions)} spoken questions each, real-time audio and replies)\n")
    print("| configuration | measure | median ms | max ms | median / baseline |")
    print("|---|---|---:|---:|---:|")
    base = runs[0]
    for run in runs:
        for label, key in measures:
            values = [v for v in run.series(key) if v > -1e5]
            baseline = median(base.series(key))
            ratio = f"{median(values) / baseline:.2f}" if baseline >= 5 else "(baseline ~0)"
            print(f"| {run.name} | {label} | {median(values):.0f} | {max(values):.0f} | {ratio} |")
    for run in runs[1:]:
        heard = sum(words(t.heard) == words(t.question) for t in run.turns)
        missing = [t.question for t in run.turns if not t.first_audio]
        print(f"\n{run.name}: transcripts exact {heard}/{len(run.turns)}", end="")
        if missing:
            print(f"; no reply audio for {missing}", end="")
    print()


# -- real-time factors -------------------------------------------------------------------------


def rtf(function: Callable[[Any], Any], argument: Any, seconds: float, repeat: int = 1) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        function(argument)
    return (time.perf_counter() - start) / repeat / seconds


def rtf_section(questions: Sequence[str], voice: EspeakSynthesizer) -> None:
    audio = {q: silence(300) + voice(q) + silence(500) for q in questions}
    seconds = {q: len(a) / (RATE * 2) for q, a in audio.items()}
    replies = ["You said: " + q.lower() for q in questions]
    uncached = EspeakSynthesizer(cache_size=0)
    reply_seconds = {r: len(uncached(r)) / (RATE * 2) for r in replies}
    rows: list[tuple[str, float, float | None]] = []
    for mode in ("phrases", "grammar", "generic"):
        start = time.perf_counter()
        recognizer = PocketsphinxRecognizer(language_model=mode)
        load = time.perf_counter() - start
        value = median([rtf(recognizer.transcribe, audio[q], seconds[q]) for q in questions])
        rows.append((f"transcribe, {mode} LM (load {load * 1000:.0f} ms)", value, None))
    tone = median([rtf(tone_synthesize, r, reply_seconds[r], 5) for r in replies])
    espeak = median([rtf(uncached.synthesize, r, reply_seconds[r], 5) for r in replies])
    rows.append(("synthesize, tone stand-in (baseline)", tone, 1.0))
    rows.append(("synthesize, eSpeak NG + soxr to 24 kHz", espeak, espeak / tone))
    stream = b"".join(audio.values())
    total = len(stream) / (RATE * 2)
    energy = median([rtf(lambda pcm: EnergyVad().process(pcm), stream, total) for _ in range(3)])
    silero = median([rtf(lambda pcm: SileroVad().process(pcm), stream, total) for _ in range(3)])
    rows.append(("VAD, energy (baseline)", energy, 1.0))
    rows.append(("VAD, Silero (incl. 24->16 kHz)", silero, silero / energy))
    print("\n## Real-time factors (compute time / audio time, median)\n")
    print("| part | RTF | ratio to its baseline |")
    print("|---|---:|---:|")
    for label, value, ratio in rows:
        print(f"| {label} | {value:.4f} | {'' if ratio is None else f'{ratio:.1f}'} |")


# -- accuracy ----------------------------------------------------------------------------------

HELD_OUT = [
    *(f"tell me the weather in {c.lower()}" for c in CITIES[:5]),
    *(f"how is the temperature in {c.lower()}" for c in CITIES[5:8]),
    "what is the time now",
    "hello how are you",
]
OUT_OF_DOMAIN = ["tell me a joke", "play some music", "turn on the lights", "my name is john"]
IN_DOMAIN = [
    *(f"what is the weather in {c.lower()}" for c in CITIES),
    "what time is it",
    "what is the time",
    "hello",
    "good morning",
    "thank you",
    "goodbye",
    "how are you",
]
VOICES = [("en-us", 175), ("en-us", 150), ("en-gb-x-rp", 200), ("en-us+f3", 175)]
_TIME = re.compile(r"\b(what time|the time|time is it)\b")
_WEATHER = re.compile(r"\b(weather|forecast|temperature)\b")


def intent(text: str) -> tuple[str, ...]:
    """What RuleEngine does with ``text`` (its rules, without the tool declarations)."""
    lowered = " ".join(words(text))
    city = next((c for c in CITIES if c.lower() in lowered), None)
    if city and _WEATHER.search(lowered):
        return ("weather", city)
    if _TIME.search(lowered):
        return ("time",)
    return ("other",)


def errors(reference: str, hypothesis: str) -> tuple[int, int]:
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i in range(1, len(ref) + 1):
        previous, row[0] = row[0], i
        for j in range(1, len(hyp) + 1):
            current = row[j]
            row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (ref[i - 1] != hyp[j - 1]))
            previous = current
    return row[len(hyp)], len(ref)


def accuracy_section() -> None:
    sets = {"demo phrases": IN_DOMAIN, "paraphrases": HELD_OUT, "out of domain": OUT_OF_DOMAIN}
    audio: dict[tuple[str, int, str], bytes] = {}
    for name, rate in VOICES:
        voice = EspeakSynthesizer(name, rate_wpm=rate)
        for sentences in sets.values():
            for sentence in sentences:
                audio[(name, rate, sentence)] = silence(300) + voice(sentence) + silence(500)
    configurations: list[tuple[LanguageModel, float | None]] = [
        ("phrases", 27.0),
        ("phrases", None),
        ("grammar", 27.0),
        ("grammar", None),
        ("generic", 27.0),
        ("generic", None),
    ]
    print(f"\n## Recognizer accuracy on eSpeak NG speech ({len(VOICES)} voices)\n")
    print("| LM | noise floor | set | WER | exact | intent right | RTF |")
    print("|---|---|---|---:|---:|---:|---:|")
    for mode, floor in configurations:
        recognizer = PocketsphinxRecognizer(language_model=mode, noise_floor_db=floor)
        for label, sentences in sets.items():
            wrong = total = exact = right = 0
            compute = seconds = 0.0
            for (_, _, sentence), pcm in audio.items():
                if sentence not in sentences:
                    continue
                start = time.perf_counter()
                heard = recognizer.transcribe(pcm)
                compute += time.perf_counter() - start
                seconds += len(pcm) / (RATE * 2)
                e, n = errors(sentence, heard)
                wrong, total = wrong + e, total + n
                exact += e == 0
                right += intent(heard) == intent(sentence)
            count = len(sentences) * len(VOICES)
            floor_text = "off" if floor is None else f"-{floor:.0f} dB"
            print(
                f"| {mode} | {floor_text} | {label} | {wrong / total:.1%} | {exact}/{count} "
                f"| {right}/{count} | {compute / seconds:.3f} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=10, help="spoken questions per run")
    parser.add_argument("--sections", default="latency,rtf,accuracy")
    args = parser.parse_args()
    sections = set(args.sections.split(","))
    questions = [QUESTIONS[i % len(QUESTIONS)] for i in range(args.questions)]
    voice = EspeakSynthesizer()
    print("# Speech engine benchmark")
    if "latency" in sections:
        engine = SpeechEngine(synthesizer=EspeakSynthesizer(cache_size=0))  # no reply cache
        latency_section(questions, engine, voice)
    if "rtf" in sections:
        rtf_section(sorted(set(questions)), voice)
    if "accuracy" in sections:
        accuracy_section()


if __name__ == "__main__":
    main()
