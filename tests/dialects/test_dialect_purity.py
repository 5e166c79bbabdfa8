"""Dialect hooks are pure: the model is an input, instances are never mutated, overrides
are detected without a flag, close codes and upgrade statuses are dialect hooks."""

from __future__ import annotations

from typing import Any

import pytest

from realtime_llm.dialects import Dialect, InworldDialect, LocalDialect, OpenAIDialect, get_dialect
from realtime_llm.errors import ErrorClass, InvalidSettingsError


def test_inworld_session_takes_the_model_as_an_input() -> None:
    dialect = InworldDialect(session_key="s1")
    assert dialect.serialize_session({"type": "realtime"}, "m-1")["model"] == "m-1"
    dialect.url("other-model")  # no hidden state: the URL no longer decides the session
    assert dialect.serialize_session({"type": "realtime"}, "m-2")["model"] == "m-2"
    assert "model" not in dialect.serialize_session({"type": "realtime"})


def test_get_dialect_never_mutates_the_instance_passed_in() -> None:
    mine = LocalDialect("ws://127.0.0.1:1/v1/realtime")
    resolved = get_dialect(mine, "ws://127.0.0.1:2/v1/realtime")
    assert mine.base_url == "ws://127.0.0.1:1/v1/realtime"
    assert resolved.base_url == "ws://127.0.0.1:2/v1/realtime"
    assert type(resolved) is LocalDialect and get_dialect(mine) is mine


def test_an_outgoing_override_is_used_without_the_flag() -> None:
    class Renames(Dialect):
        def outgoing(self, event: dict[str, Any]) -> dict[str, Any]:
            return {**event, "type": "x." + event["type"]}

    assert Renames().uses_outgoing
    assert not OpenAIDialect().uses_outgoing


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://api.example/v1/realtime", "ws:// or wss://"),
        ("api.example/v1/realtime", "ws:// or wss://"),
        ("wss:///v1/realtime", "no host"),
        ("wss://host:99999999/x", "parsable"),
    ],
)
def test_bad_base_urls_are_refused_at_construction(url: str, problem: str) -> None:
    with pytest.raises(InvalidSettingsError, match=problem) as raised:
        get_dialect("openai", url)
    assert raised.value.field == "base_url"
    with pytest.raises(InvalidSettingsError):
        get_dialect(OpenAIDialect(), url)


def test_an_existing_query_string_is_merged_not_duplicated() -> None:
    dialect = OpenAIDialect("wss://h.example/v1/realtime?api-version=x&model=old")
    assert dialect.url("new") == "wss://h.example/v1/realtime?api-version=x&model=new"
    inworld = InworldDialect("wss://h.example/s?region=eu", session_key="k")
    assert inworld.url("m") == "wss://h.example/s?region=eu&key=k&protocol=realtime"


def test_close_and_status_classification_are_hooks_with_the_old_defaults() -> None:
    d = Dialect()
    assert d.classify_close(1011, "") is ErrorClass.TRANSIENT
    assert d.classify_close(1001, "session hit the maximum duration") is ErrorClass.SESSION_END
    assert d.classify_close(1008, "policy") is ErrorClass.FATAL
    assert d.classify_status(401) is ErrorClass.FATAL
    assert d.classify_status(429) is ErrorClass.TRANSIENT
    assert d.classify_status(503) is ErrorClass.TRANSIENT

    class Lenient(Dialect):
        def classify_status(self, status: int) -> ErrorClass:
            return ErrorClass.TRANSIENT if status == 404 else super().classify_status(status)

    assert Lenient().classify_status(404) is ErrorClass.TRANSIENT
