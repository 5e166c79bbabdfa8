"""Checks that what crossed the wire is the protocol, per the `openai` package's typed models."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from openai.types.realtime import RealtimeClientEvent, RealtimeServerEvent
from pydantic import TypeAdapter

_client = TypeAdapter(RealtimeClientEvent)
_server = TypeAdapter(RealtimeServerEvent)


def assert_client_events_valid(events: Iterable[Mapping[str, Any]]) -> int:
    """Every client event validates as a GA `RealtimeClientEvent`; returns how many."""
    count = 0
    for event in events:
        _client.validate_python(event)
        count += 1
    return count


def assert_server_events_valid(events: Iterable[Mapping[str, Any]]) -> int:
    """Every server event validates as a GA `RealtimeServerEvent`; returns how many."""
    count = 0
    for event in events:
        _server.validate_python(event)
        count += 1
    return count
