"""Checks that what crossed the wire is the protocol, per the `openai` package's typed models.

GA servers (and Azure, Inworld, the local one) are checked against
``openai.types.realtime``; the OpenAI beta dialect against ``openai.types.beta.realtime``;
xAI's flatter session is put back in GA shape first. Strict: fields the typed models do not
define fail too (the models themselves would accept them silently).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

from .server.helpers import assert_client_event, assert_server_event


def unknown_keys(obj: Any, path: str = "") -> list[str]:
    """Keys the openai models kept as extras: they accept anything, so we look ourselves."""
    if isinstance(obj, BaseModel):
        found = [f"{path}.{key}" for key in (obj.model_extra or {})]
        for name in type(obj).model_fields:
            found += unknown_keys(getattr(obj, name), f"{path}.{name}")
        return found
    if isinstance(obj, list):
        return [key for i, item in enumerate(obj) for key in unknown_keys(item, f"{path}[{i}]")]
    return []


def _xai_client_as_ga(event: Mapping[str, Any]) -> Mapping[str, Any]:
    if event.get("type") != "session.update":
        return event
    session = dict(event["session"])
    audio = {k: dict(v) for k, v in (session.pop("audio", None) or {}).items()}
    if "voice" in session:
        audio.setdefault("output", {})["voice"] = session.pop("voice")
    if "turn_detection" in session:
        audio.setdefault("input", {})["turn_detection"] = session.pop("turn_detection")
    return {**event, "session": {"type": "realtime", **session, "audio": audio}}


def assert_client_events_valid(events: Iterable[Mapping[str, Any]], dialect: str = "ga") -> int:
    """Every client event is valid for ``dialect``; returns how many were checked."""
    count = 0
    for event in events:
        if dialect == "xai":
            event = _xai_client_as_ga(event)
        assert_client_event(event, beta=dialect == "openai_beta")
        count += 1
    return count


def assert_server_events_valid(events: Iterable[Mapping[str, Any]], dialect: str = "ga") -> int:
    """Every server event is valid for ``dialect``; returns how many were checked."""
    count = 0
    for event in events:
        assert_server_event(event, dialect)
        count += 1
    return count
