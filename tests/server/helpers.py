"""Helpers for the local server tests: a raw WebSocket client, audio, strict validation.

Every client event a test sends through :class:`Client.send` is checked against
``openai.types.realtime.RealtimeClientEvent`` first; every server event a server sent is
checked against ``RealtimeServerEvent`` when the test ends (see ``conftest.py``), or, for a
server in another dialect, against that dialect's reference (:func:`assert_server_event`).
Both checks are strict: the openai models accept unknown fields, so
:func:`assert_no_extras` also walks the parsed model and fails on any field the model does
not define.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
import pydantic
from openai.types.beta.realtime import RealtimeClientEvent as BetaClientEvent
from openai.types.beta.realtime import RealtimeServerEvent as BetaServerEvent
from openai.types.beta.realtime.session import Session as BetaSession
from openai.types.realtime import RealtimeClientEvent, RealtimeServerEvent
from openai.types.realtime.realtime_session_create_request import RealtimeSessionCreateRequest
from openai.types.realtime.response_create_event_with_references_param import (
    ResponseCreateEventWithReferencesParam,
)
from websockets.asyncio.client import ClientConnection, connect

from realtime_llm.server import LocalRealtimeServer

from .xai_reference import xai_as_ga

Event = dict[str, Any]
BYTES_PER_MS = 48

# Fields real servers send in ``session`` that the typed models do not define.
_ALLOWED_EXTRAS: dict[type, set[str]] = {
    RealtimeSessionCreateRequest: {"id", "object", "expires_at"},
    BetaSession: {"object", "expires_at"},
}


@functools.cache
def _server_adapter(beta: bool = False) -> pydantic.TypeAdapter[Any]:
    return pydantic.TypeAdapter(BetaServerEvent if beta else RealtimeServerEvent)


@functools.cache
def _client_adapter(beta: bool = False) -> pydantic.TypeAdapter[Any]:
    return pydantic.TypeAdapter(BetaClientEvent if beta else RealtimeClientEvent)


def assert_no_extras(model: Any, where: str) -> None:
    """Fail if any pydantic model in the tree kept fields its class does not declare."""
    if isinstance(model, pydantic.BaseModel):
        extras = set(model.model_extra or {})
        extras -= _ALLOWED_EXTRAS.get(type(model), set())
        assert not extras, f"{where}: {type(model).__name__} has unknown fields {extras}"
        for name in type(model).model_fields:
            assert_no_extras(getattr(model, name), f"{where}.{name}")
    elif isinstance(model, (list, tuple)):
        for index, element in enumerate(model):
            assert_no_extras(element, f"{where}[{index}]")
    elif isinstance(model, dict):
        for key, element in model.items():
            assert_no_extras(element, f"{where}.{key}")


def assert_server_event(event: Mapping[str, Any], dialect: str = "ga") -> None:
    """``event`` is what a server of ``dialect`` may send.

    GA and Azure: GA ``RealtimeServerEvent``, plus the ``obfuscation`` of deltas (and
    Azure's ``content`` beside ``part``) that the recorded sessions show and the typed
    models lack. OpenAI beta: the beta ``RealtimeServerEvent``. xAI: the recorded xAI
    shapes (:mod:`.xai_reference`), then GA. Inworld: GA, except for exactly what it
    documents differently (``ping``, ``providerData`` and its other session keys, the
    name-less ``function_call_arguments.done``).
    """
    beta = dialect == "openai_beta"
    if dialect in ("ga", "azure"):
        event = _ga_recorded_as_typed(event, azure=dialect == "azure")
    elif dialect == "xai":
        event = xai_as_ga(event)
    elif dialect == "inworld":
        event = _inworld_as_ga(event)
    if not event:
        return
    parsed = _server_adapter(beta).validate_python(event)
    assert_no_extras(parsed, str(event.get("type")))


OBFUSCATED = {
    "response.output_text.delta",
    "response.output_audio_transcript.delta",
    "response.function_call_arguments.delta",
    "conversation.item.input_audio_transcription.delta",
}


def _ga_recorded_as_typed(event: Mapping[str, Any], *, azure: bool) -> dict[str, Any]:
    """What the real GA/Azure servers add beyond the typed models, checked and set aside."""
    out = dict(event)
    kind = out["type"]
    if kind in OBFUSCATED:
        assert isinstance(out.pop("obfuscation", ""), str), event  # (the core sends none)
    if kind in ("response.content_part.added", "response.content_part.done"):
        if azure:
            assert out.pop("content") == out["part"], event
        else:
            assert "content" not in out, event
    return out


def _ping(event: Mapping[str, Any]) -> bool:
    if event.get("type") != "ping":
        return False
    # Inworld's ping carries a timestamp (ms), as pipecat's Inworld client requires.
    assert set(event) == {"type", "event_id", "timestamp"}, event
    assert isinstance(event["timestamp"], int), event
    return True


def _inworld_as_ga(event: Mapping[str, Any]) -> dict[str, Any]:
    kind = event["type"]
    if _ping(event):
        return {}
    if kind == "response.function_call_arguments.done":
        assert "name" not in event
        return {**event, "name": "(left out by Inworld)"}
    if kind in ("session.created", "session.updated"):
        session = dict(event["session"])
        assert isinstance(session.pop("providerData", {}), dict)
        assert isinstance(session.pop("temperature", 0.0), (int, float))
        audio = {k: dict(v) for k, v in (session.get("audio") or {}).items()}
        if "model" in audio.get("output", {}):
            assert isinstance(audio["output"].pop("model"), str)
        for direction in audio.values():  # Inworld takes PCM at 8-48 kHz; GA 24 kHz only
            fmt = direction.get("format") or {}
            if fmt.get("type") == "audio/pcm":
                assert fmt["rate"] in (8000, 16000, 24000, 32000, 44100, 48000), fmt
                direction["format"] = {**fmt, "rate": 24000}
        if audio:
            session["audio"] = audio
        return {**event, "session": session}
    return dict(event)


def assert_client_event(event: Mapping[str, Any], *, beta: bool = False) -> None:
    parsed = _client_adapter(beta).validate_python(event)
    assert_no_extras(parsed, str(event.get("type")))


def assert_response_create_with_references(event: Mapping[str, Any]) -> None:
    """``response.create`` whose ``input`` holds ``item_reference`` entries.

    ``RealtimeClientEvent``'s model of ``response.input`` lacks references; the GA param
    type ``ResponseCreateEventWithReferencesParam`` has them, so check against that.
    """
    pydantic.TypeAdapter(ResponseCreateEventWithReferencesParam).validate_python(event)


# -- audio ------------------------------------------------------------------------------------


def tone(ms: int, *, amplitude: float = 0.3, hz: float = 440.0) -> bytes:
    """A sine tone, PCM16 24 kHz mono."""
    t = np.arange(24 * ms) / 24_000
    return (np.sin(2 * np.pi * hz * t) * amplitude * 32767).astype(np.int16).tobytes()


def silence(ms: int) -> bytes:
    return b"\x00\x00" * 24 * ms


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


# -- client -----------------------------------------------------------------------------------


class Client:
    """A raw WebSocket client that remembers everything it received."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.events: list[Event] = []
        self.session_created: Event = {}

    async def send(self, event: Event, *, with_references: bool = False) -> None:
        """Send a valid GA client event (checked against the typed models first)."""
        if with_references:
            assert_response_create_with_references(event)
        else:
            assert_client_event(event)
        await self.ws.send(json.dumps(event))

    async def send_raw(self, data: str | bytes) -> None:
        """Send anything at all, for the tests of invalid input."""
        await self.ws.send(data)

    async def append(self, pcm: bytes, *, chunk_ms: int = 100) -> None:
        step = chunk_ms * BYTES_PER_MS
        for start in range(0, len(pcm), step):
            await self.send(
                {"type": "input_audio_buffer.append", "audio": b64(pcm[start : start + step])}
            )

    async def recv(self, timeout: float = 5.0) -> Event:
        event: Event = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        self.events.append(event)
        return event

    async def wait_for(self, event_type: str, timeout: float = 5.0) -> Event:
        """Read events until one of ``event_type`` arrives; return it."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError(f"no {event_type} within {timeout} s; got {self.types()}")
            event = await self.recv(left)
            if event["type"] == event_type:
                return event

    async def collect_until(self, event_type: str, timeout: float = 5.0) -> list[Event]:
        """Read events up to and including the first ``event_type``; return them all."""
        start = len(self.events)
        await self.wait_for(event_type, timeout)
        return self.events[start:]

    async def quiet(self, seconds: float = 0.1) -> list[Event]:
        """Whatever arrives within ``seconds`` (to show that nothing more comes)."""
        extra: list[Event] = []
        try:
            while True:
                extra.append(await self.recv(seconds))
        except (TimeoutError, asyncio.TimeoutError):
            return extra

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]


@asynccontextmanager
async def connect_client(
    server: LocalRealtimeServer, *, model: str = "gpt-realtime", **kwargs: Any
) -> AsyncIterator[Client]:
    headers = kwargs.pop("additional_headers", {"Authorization": "Bearer sk-local-test"})
    async with connect(f"{server.url}?model={model}", additional_headers=headers, **kwargs) as ws:
        client = Client(ws)
        client.session_created = await client.wait_for("session.created")
        yield client


async def user_says(client: Client, text: str) -> None:
    """Add a typed user message to the conversation."""
    await client.send(
        {
            "type": "conversation.item.create",
            "item": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": text}],
            },
        }
    )
    await client.wait_for("conversation.item.done")


async def complete_response(client: Client, **params: Any) -> Event:
    """``response.create`` and wait for its ``response.done``; return the response."""
    event: Event = {"type": "response.create"}
    if params:
        event["response"] = params
    await client.send(event)
    done = await client.wait_for("response.done")
    response: Event = done["response"]
    return response


def audio_of(events: list[Event], response_id: str) -> bytes:
    return b"".join(
        unb64(e["delta"])
        for e in events
        if e["type"] == "response.output_audio.delta" and e["response_id"] == response_id
    )
