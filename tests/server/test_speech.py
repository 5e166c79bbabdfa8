"""The speech engines: eSpeak NG, pocketsphinx, Silero VAD, and the SpeechEngine end to end.

These need the ``speech`` extra (pocketsphinx, espeakng-loader, onnxruntime). Without it the
tests that use it are skipped -- except under CI (``CI`` set), which installs the extra, so
a missing package there fails loudly instead of hiding behind a skip. The first two tests
need no extra at all. Nothing here is timed: latency is measured by
``benchmarks/engine_latency.py``.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from realtime_llm.server import (
    EnergyVad,
    Engine,
    LocalRealtimeServer,
    RuleEngine,
    ScriptedEngine,
    Turn,
)
from realtime_llm.server.speech import (
    DEMO_PHRASES,
    EspeakSynthesizer,
    PocketsphinxRecognizer,
    SileroVad,
    SpeechDependencyError,
    SpeechEngine,
    expected_phrases,
    speech_vad_factory,
    tool_phrases,
)
from realtime_llm.server.vad import SpeechStarted, SpeechStopped, VadSettings

from .conftest import MakeServer
from .helpers import audio_of, connect_client, silence, tone

_SPEECH_PACKAGES = ("pocketsphinx", "espeakng_loader", "onnxruntime")


@pytest.fixture(scope="module")
def speech_installed() -> None:
    """Skip when the speech extra is missing -- but never under CI, which installs it."""
    for name in _SPEECH_PACKAGES:
        if os.environ.get("CI"):
            __import__(name)  # an ImportError here is a CI setup bug: fail, do not skip
        else:
            pytest.importorskip(name, reason="needs the speech extra")


@pytest.fixture(scope="module")
def synthesizer(speech_installed: None) -> EspeakSynthesizer:
    return EspeakSynthesizer()


@pytest.fixture(scope="module")
def recognizer(speech_installed: None) -> PocketsphinxRecognizer:
    return PocketsphinxRecognizer()


@pytest.fixture(scope="module")
def engine(recognizer: PocketsphinxRecognizer, synthesizer: EspeakSynthesizer) -> SpeechEngine:
    return SpeechEngine(transcriber=recognizer, synthesizer=synthesizer)


def _words(text: str) -> list[str]:
    return text.lower().replace("?", "").replace(".", "").replace(",", "").split()


# -- no extra needed ------------------------------------------------------------------------


def test_importing_the_package_loads_no_speech_library() -> None:
    code = (
        "import sys, realtime_llm.server, realtime_llm.server.speech;"
        "print([m for m in ('pocketsphinx', 'espeakng_loader', 'onnxruntime') if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_a_missing_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pocketsphinx", None)  # makes ``import`` fail
    with pytest.raises(SpeechDependencyError, match=r"pocketsphinx.*\[speech\]"):
        SpeechEngine()
    with pytest.raises(SpeechDependencyError, match=r"\[speech\]"):
        PocketsphinxRecognizer()
    assert issubclass(SpeechDependencyError, ImportError)


# -- eSpeak NG --------------------------------------------------------------------------------


def test_espeak_speaks_pcm16_at_24khz(synthesizer: EspeakSynthesizer) -> None:
    pcm = synthesizer.synthesize("What is the weather in Paris?")
    assert synthesizer.native_rate == 22_050
    assert len(pcm) % 2 == 0
    samples = np.frombuffer(pcm, dtype=np.int16)
    assert 0.8 < samples.size / 24_000 < 2.5  # about 1.3 s of speech at 175 words a minute
    assert np.sqrt(np.mean(samples.astype(np.float64) ** 2)) > 1000  # clearly audible
    assert synthesizer("What is the weather in Paris?") == pcm  # the cache: same text, same bytes
    # Without it eSpeak NG is close but not bit-exact from call to call (see the module).
    uncached = EspeakSynthesizer(cache_size=0)
    lengths = [len(uncached("What is the weather in Paris?")) for _ in range(3)]
    assert all(abs(n - len(pcm)) < 0.01 * len(pcm) for n in lengths)
    slower = EspeakSynthesizer(rate_wpm=120).synthesize("What is the weather in Paris?")
    assert len(slower) > 1.2 * len(pcm)
    assert synthesizer.synthesize("  ") == b""


def test_espeak_is_safe_to_call_from_threads(synthesizer: EspeakSynthesizer) -> None:
    texts = ["Hello there.", "The time is noon.", "Sunny in Rome, 24 degrees."] * 4
    expected = {t: synthesizer(t) for t in set(texts)}
    other_voice = EspeakSynthesizer("en-gb-x-rp")
    with ThreadPoolExecutor(4) as pool:
        ours = pool.map(synthesizer.synthesize, texts)
        theirs = list(pool.map(other_voice.synthesize, texts))
        assert [expected[t] for t in texts] == list(ours)
    assert all(theirs[i] != expected[t] for i, t in enumerate(texts))  # voices don't leak


def test_an_unknown_voice_is_refused(speech_installed: None) -> None:
    with pytest.raises(ValueError, match="no voice"):
        EspeakSynthesizer("xx-nope")


# -- pocketsphinx -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phrase",
    [
        "What is the weather in Paris?",
        "What's the weather like in San Francisco?",
        "What time is it?",
        "Good morning.",
    ],
)
def test_spoken_demo_phrases_are_recognized(
    phrase: str, synthesizer: EspeakSynthesizer, recognizer: PocketsphinxRecognizer
) -> None:
    speech = silence(300) + synthesizer(phrase) + silence(500)
    assert _words(recognizer.transcribe(speech)) == _words(phrase)


def test_the_phrase_model_also_hears_new_combinations_of_its_words(
    synthesizer: EspeakSynthesizer, recognizer: PocketsphinxRecognizer
) -> None:
    phrase = "tell me the weather in tokyo"  # not a demo phrase; its words are
    assert phrase not in DEMO_PHRASES
    assert recognizer(synthesizer(phrase)) == phrase


def test_a_grammar_only_hears_its_phrases(synthesizer: EspeakSynthesizer) -> None:
    grammar = PocketsphinxRecognizer(
        ["turn the lights on", "turn the lights off"], language_model="grammar"
    )
    assert grammar.vocabulary == {"turn", "the", "lights", "on", "off"}
    assert grammar(synthesizer("Turn the lights off.")) == "turn the lights off"
    assert grammar(b"") == ""
    assert grammar(silence(1000)) == ""


def test_words_without_a_pronunciation_are_refused(speech_installed: None) -> None:
    with pytest.raises(ValueError, match="qwxzzy"):
        PocketsphinxRecognizer(["hello qwxzzy"])


# -- what the recognizer listens for ----------------------------------------------------------


def test_tool_phrases_are_names_descriptions_parameters_and_enums() -> None:
    tools: list[Any] = [
        {
            "type": "function",
            "name": "bookTable_now",
            "description": "Book a table at a restaurant",
            "parameters": {
                "type": "object",
                "properties": {
                    "party_size": {"type": "integer", "description": "How many people"},
                    "cuisine": {"type": "string", "enum": ["italian", "thai", 3]},
                },
            },
        },
        {"type": "mcp", "server_label": "x"},  # not a function: nothing to say
        {"type": "function", "name": 7},  # malformed: skipped, never an error
        "junk",
    ]
    assert tool_phrases(tools) == (
        "book table now",
        "Book a table at a restaurant",
        "party size",
        "How many people",
        "cuisine",
        "italian",
        "thai",
    )


def test_expected_phrases_come_from_the_brain_and_the_caller() -> None:
    script = ScriptedEngine([Turn(user="Book me a flight."), Turn(reply="Done."), Turn(user="")])
    assert expected_phrases(script) == ("Book me a flight.",)
    assert expected_phrases(script, ["tell me a joke", "Book me a flight."]) == (
        "Book me a flight.",
        "tell me a joke",
    )
    assert expected_phrases(RuleEngine()) == DEMO_PHRASES
    assert expected_phrases(object()) == DEMO_PHRASES  # nothing said: the demo's phrases


def test_a_scripted_phrase_outside_the_demo_phrases_is_recognized_exactly(
    synthesizer: EspeakSynthesizer,
) -> None:
    phrase = "book me a flight to rome"
    assert phrase not in DEMO_PHRASES
    script = ScriptedEngine([Turn(user="Book me a flight to Rome.", reply="Booked.")])
    engine = SpeechEngine(script, synthesizer=synthesizer)
    assert engine.transcribe(silence(300) + synthesizer(phrase) + silence(500)) == phrase


def test_phrases_passed_in_are_heard_beside_the_brains_own(
    synthesizer: EspeakSynthesizer,
) -> None:
    engine = SpeechEngine(phrases=["Tell me a joke!"], synthesizer=synthesizer)
    assert set(engine.expected) == {*DEMO_PHRASES, "Tell me a joke!"}
    assert engine.transcribe(synthesizer("Tell me a joke.")) == "tell me a joke"
    assert engine.transcribe(synthesizer("What time is it?")) == "what time is it"


def test_words_without_a_pronunciation_in_expected_phrases_are_skipped_with_a_warning(
    speech_installed: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="realtime_llm.server.speech.engine"):
        engine = SpeechEngine(phrases=["hello qwxzzy"])
    assert "qwxzzy" in caplog.text
    assert isinstance(engine.transcriber, PocketsphinxRecognizer)
    assert engine.transcriber.skipped_words == {"qwxzzy"}
    assert "qwxzzy" not in engine.transcriber.vocabulary


async def test_the_words_of_the_tools_a_session_declares_are_heard(
    make_server: MakeServer, synthesizer: EspeakSynthesizer
) -> None:
    phrase = "book a table at a restaurant"
    engine = SpeechEngine(synthesizer=synthesizer)
    assert isinstance(engine.transcriber, PocketsphinxRecognizer)
    assert not {"table", "restaurant"} & engine.transcriber.vocabulary  # only the tool has them
    server = await make_server(engine, vad_factory=speech_vad_factory)
    tool = {"type": "function", "name": "book_table", "description": "Book a table at a restaurant"}
    async with connect_client(server) as client:
        await client.send(_session_update(tools=[tool]))
        await client.wait_for("session.updated")
        await client.append(silence(300) + synthesizer(phrase) + silence(900))
        heard = await client.wait_for(
            "conversation.item.input_audio_transcription.completed", timeout=10
        )
        await client.wait_for("response.done", timeout=10)
    assert heard["transcript"] == phrase


# -- Silero VAD -------------------------------------------------------------------------------


def _chunked(vad: SileroVad, pcm: bytes, seed: int) -> list[object]:
    rng = random.Random(seed)
    events: list[object] = []
    position = 0
    while position < len(pcm):
        size = rng.randrange(1, 9000)
        events += vad.process(pcm[position : position + size])
        position += size
    return events


def test_silero_finds_the_start_and_stop_of_synthesized_speech(
    synthesizer: EspeakSynthesizer,
) -> None:
    speech = synthesizer("What is the weather in Paris?")
    pcm = silence(500) + speech + silence(1000)
    onset, end = 500 * 24, 500 * 24 + len(speech) // 2
    events = SileroVad(VadSettings(silence_duration_ms=500)).process(pcm)
    assert [type(e) for e in events] == [SpeechStarted, SpeechStopped]
    started, stopped = events[0].sample, events[1].sample
    assert onset - 32 * 24 <= started <= onset + 150 * 24
    assert end + 500 * 24 <= stopped <= end + 800 * 24
    # Positions are whole 32 ms windows, so chunk boundaries (odd ones too) change nothing.
    assert _chunked(SileroVad(VadSettings(silence_duration_ms=500)), pcm, 7) == events


def test_silero_ignores_a_tone_that_the_energy_vad_takes_for_speech(speech_installed: None) -> None:
    pcm = silence(300) + tone(1000, amplitude=0.3) + silence(1000)
    assert len(EnergyVad().process(pcm)) == 2
    assert SileroVad().process(pcm) == []


def test_silero_splits_two_utterances_and_follows_the_silence_setting(
    synthesizer: EspeakSynthesizer,
) -> None:
    hello, question = synthesizer("Hello there."), synthesizer("What time is it?")
    pcm = silence(300) + hello + silence(900) + question + silence(1200)
    short = SileroVad(VadSettings(silence_duration_ms=400)).process(pcm)
    assert [type(e) for e in short] == [SpeechStarted, SpeechStopped] * 2
    long = SileroVad(VadSettings(silence_duration_ms=1100)).process(pcm)
    assert [type(e) for e in long] == [SpeechStarted, SpeechStopped]  # the pause is a breath


# -- SpeechEngine through the server -----------------------------------------------------------

WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def _session_update(**session: Any) -> dict[str, Any]:
    body = {"type": "realtime", "audio": {"input": {"transcription": {"model": "pocketsphinx"}}}}
    return {"type": "session.update", "session": {**body, **session}}


def test_speech_engine_is_an_engine(engine: SpeechEngine) -> None:
    assert isinstance(engine, Engine)
    assert engine.synthesize("Hello.") == engine.synthesizer("Hello.")


async def test_a_spoken_question_is_heard_and_answered_with_speech(
    make_server: MakeServer, engine: SpeechEngine, synthesizer: EspeakSynthesizer
) -> None:
    server = await make_server(engine, vad_factory=speech_vad_factory)
    question = synthesizer("What time is it?")
    async with connect_client(server) as client:
        await client.send(_session_update())
        await client.wait_for("session.updated")
        await client.append(silence(400) + question + silence(900))

        await client.wait_for("input_audio_buffer.speech_started")
        await client.wait_for("input_audio_buffer.speech_stopped")
        heard = await client.wait_for(
            "conversation.item.input_audio_transcription.completed", timeout=10
        )
        assert heard["transcript"] == "what time is it"
        done = (await client.wait_for("response.done", timeout=10))["response"]

    assert done["status"] == "completed"
    assert done["output"][0]["content"][0]["transcript"] == "You said: what time is it"
    reply = audio_of(client.events, done["id"])
    assert reply == engine.synthesize("You said: what time is it")
    events = SileroVad().process(reply + silence(600))
    assert [type(e) for e in events] == [SpeechStarted, SpeechStopped]  # the reply is speech


async def test_a_spoken_weather_question_calls_the_tool_with_the_city(
    make_server: MakeServer, engine: SpeechEngine, synthesizer: EspeakSynthesizer
) -> None:
    server = await make_server(engine, vad_factory=speech_vad_factory)
    question = synthesizer("What is the weather in San Francisco?")
    async with connect_client(server) as client:
        await client.send(_session_update(tools=[WEATHER_TOOL]))
        await client.wait_for("session.updated")
        await client.append(silence(300) + question + silence(900))

        call = (await client.wait_for("response.done", timeout=10))["response"]["output"][0]
        assert (call["name"], json.loads(call["arguments"])) == (
            "get_weather",
            {"city": "San Francisco"},
        )
        await client.send(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "function_call_output",
                    "call_id": call["call_id"],
                    "output": json.dumps({"sky": "foggy", "temperature": "14 C"}),
                },
            }
        )
        await client.send({"type": "response.create"})
        done = (await client.wait_for("response.done", timeout=10))["response"]

    said = "The weather in San Francisco: sky foggy, temperature 14 C."
    assert done["output"][0]["content"][0]["transcript"] == said
    assert audio_of(client.events, done["id"]) == synthesizer(said)


async def test_many_sessions_share_one_engine(
    make_server: MakeServer, engine: SpeechEngine, synthesizer: EspeakSynthesizer
) -> None:
    server: LocalRealtimeServer = await make_server(engine, vad_factory=speech_vad_factory)
    phrases = ["hello there", "what is the time", "good morning"]

    async def talk(phrase: str) -> str:
        async with connect_client(server) as client:
            await client.send(_session_update())
            await client.wait_for("session.updated")
            await client.append(silence(300) + synthesizer(phrase) + silence(800))
            heard = await client.wait_for(
                "conversation.item.input_audio_transcription.completed", timeout=10
            )
            await client.wait_for("response.done", timeout=10)
            return str(heard["transcript"])

    assert await asyncio.gather(*(talk(p) for p in phrases)) == phrases
