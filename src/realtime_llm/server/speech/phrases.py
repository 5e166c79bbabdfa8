"""What the user is expected to say: the phrases the recognizer's language model is built from.

The local server's demo brain is :class:`~realtime_llm.server.RuleEngine`: it looks up the
weather in one of :data:`~realtime_llm.server.rules.CITIES`, tells the time, and echoes
anything else. :data:`DEMO_PHRASES` covers those intents in the ways people tend to ask, plus
greetings and small talk, and is the default vocabulary of
:class:`~realtime_llm.server.speech.PocketsphinxRecognizer`. Pass your own list to the
recognizer (or to :class:`~realtime_llm.server.speech.SpeechEngine`) for another domain.

A recognizer with a phrase language model only hears well what it was built for, and a user
testing their own bot offline says their own phrases. So :class:`SpeechEngine` builds its
model from everything that says what will be heard (:func:`expected_phrases`): the brain's
own expectations (a scripted engine's user turns, the rule engine's phrases), the phrases
the caller passes in, and the names and descriptions of the tools a session declares
(:func:`tool_phrases`), which are the words a user of those tools tends to say.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

from ..rules import CITIES

__all__ = [
    "DEMO_PHRASES",
    "GREETINGS",
    "TIME_QUESTIONS",
    "ExpectsPhrases",
    "expected_phrases",
    "tool_phrases",
    "weather_questions",
]

_WEATHER_TEMPLATES = (
    "what is the weather in {city}",
    "what's the weather like in {city}",
    "how is the weather in {city}",
    "what is the forecast for {city}",
    "what is the temperature in {city}",
    "weather in {city}",
)

TIME_QUESTIONS = (
    "what time is it",
    "what is the time",
    "what's the time",
    "tell me the time",
    "what time is it now",
)

GREETINGS = (
    "hello",
    "hi",
    "hi there",
    "hello there",
    "hey",
    "good morning",
    "good afternoon",
    "good evening",
    "how are you",
    "thank you",
    "thanks",
    "goodbye",
    "bye",
    "yes",
    "no",
)


def weather_questions(cities: tuple[str, ...] = CITIES) -> tuple[str, ...]:
    """Every weather template for every city, lower case."""
    return tuple(t.format(city=c.lower()) for c in cities for t in _WEATHER_TEMPLATES)


DEMO_PHRASES: tuple[str, ...] = weather_questions() + TIME_QUESTIONS + GREETINGS


@runtime_checkable
class ExpectsPhrases(Protocol):
    """A brain that knows what its user will say (``ScriptedEngine``, ``RuleEngine``)."""

    def expected_phrases(self) -> Iterable[str]: ...


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _identifier_words(name: str) -> str:
    """``get_weather`` / ``getWeather`` / ``get-weather`` -> ``get weather``."""
    return " ".join(_CAMEL.sub(" ", name).replace("_", " ").replace("-", " ").split()).lower()


def _schema_phrases(schema: Any) -> list[str]:
    """Property names, descriptions and enum values of a JSON schema, depth first."""
    out: list[str] = []
    if not isinstance(schema, Mapping):
        return out
    if isinstance(schema.get("description"), str):
        out.append(schema["description"])
    for value in schema.get("enum") or []:
        if isinstance(value, str):
            out.append(value)
    properties = schema.get("properties")
    if isinstance(properties, Mapping):
        for name, sub in properties.items():
            out.append(_identifier_words(str(name)))
            out.extend(_schema_phrases(sub))
    out.extend(_schema_phrases(schema.get("items")))
    return out


def tool_phrases(tools: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """Phrases from declared function tools: names, descriptions, parameter words, enums.

    Anything that is not a function tool with a string name is skipped: tools come from a
    client and the recognizer must not fail on them.
    """
    out: list[str] = []
    for tool in tools:
        if not isinstance(tool, Mapping) or tool.get("type", "function") != "function":
            continue
        name = tool.get("name")
        if not isinstance(name, str):
            continue
        out.append(_identifier_words(name))
        if isinstance(tool.get("description"), str):
            out.append(tool["description"])
        out.extend(_schema_phrases(tool.get("parameters")))
    return tuple(dict.fromkeys(p for p in out if p.strip()))


def expected_phrases(brain: object, phrases: Iterable[str] = ()) -> tuple[str, ...]:
    """What a speech engine around ``brain`` should listen for, without duplicates.

    The brain's :meth:`~ExpectsPhrases.expected_phrases` (if it has one) plus ``phrases``;
    :data:`DEMO_PHRASES` when both are empty, so the recognizer always has a vocabulary.
    """
    found = list(brain.expected_phrases()) if isinstance(brain, ExpectsPhrases) else []
    found.extend(phrases)
    unique = tuple(dict.fromkeys(p for p in found if p and p.strip()))
    return unique or DEMO_PHRASES
