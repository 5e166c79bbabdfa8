"""What the demo's user is expected to say: the phrases the recognizer is tuned to.

The local server's demo brain is :class:`~realtime_llm.server.RuleEngine`: it looks up the
weather in one of :data:`~realtime_llm.server.rules.CITIES`, tells the time, and echoes
anything else. :data:`DEMO_PHRASES` covers those intents in the ways people tend to ask, plus
greetings and small talk, and is the default vocabulary of
:class:`~realtime_llm.server.speech.PocketsphinxRecognizer`. Pass your own list to the
recognizer (or to :class:`~realtime_llm.server.speech.SpeechEngine`) for another domain.
"""

from __future__ import annotations

from ..rules import CITIES

__all__ = ["DEMO_PHRASES", "GREETINGS", "TIME_QUESTIONS", "weather_questions"]

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
