"""Replay a recording's client side to the local server, and collect what the server sends.

The local server runs a :class:`ScriptedEngine` built from the recorded turns (what the
user said, as the real server transcribed it; what the real model answered or called), in
the dialect that imitates the recorded server. The recorded client events are sent in
order over a real WebSocket, each once the local server has sent what the real one had
sent before it (by event type and count), with recorded ids replaced by the local ones.
Recorded audio is cut to a few bytes, so a run of appends is replaced by a synthetic
utterance that the server's VAD hears.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import math
import struct
from collections import Counter
from collections.abc import Mapping
from typing import Any

from websockets.asyncio.client import connect

from realtime_llm.server import LocalRealtimeServer, ScriptedEngine, ToolCall, Turn
from realtime_llm.server.cassette import Cassette
from realtime_llm.server.engine import Reply

Event = dict[str, Any]
_APPEND = "input_audio_buffer.append"
_WAIT_S = 3.0
"""How long to wait for the local counterpart of a recorded event before going on anyway
(a missing event is then reported by the comparison; it is not a timing assertion)."""


def _text_of(item: Mapping[str, Any]) -> str:
    parts = item.get("content") or []
    return "".join(str(p.get("text") or p.get("transcript") or "") for p in parts)


def recorded_turns(cassette: Cassette) -> list[Turn]:
    """The conversation of a recording as scripted turns: one per response.

    A recorded response that both spoke and called a tool (xAI does) becomes the tool call:
    a scripted reply does one or the other (a tolerance in :mod:`.tolerances`).
    """
    heard = [
        str(e.get("transcript") or "")
        for e in cassette.events("received")
        if e["type"] == "conversation.item.input_audio_transcription.completed"
    ]
    turns: list[Turn] = []
    for event in cassette.events("received"):
        if event["type"] != "response.done":
            continue
        output = event["response"].get("output") or []
        calls = [
            ToolCall(i["name"], i.get("arguments") or "{}")
            for i in output
            if i.get("type") == "function_call"
        ]
        text = " ".join(_text_of(i) for i in output if i.get("type") == "message")
        reply: Reply = Reply.call(*calls) if calls else Reply.say(text)
        turns.append(Turn(user=heard.pop(0) if heard else None, reply=reply))
    return turns


def utterance_chunks(seconds: float = 0.6, silence: float = 1.2) -> list[str]:
    """A loud tone then silence, 24 kHz PCM16, as base64 chunks of 100 ms."""
    rate = 24_000
    tone = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 220 * i / rate)))
        for i in range(int(rate * seconds))
    )
    pcm = tone + bytes(2 * int(rate * silence))
    step = rate * 2 // 10
    return [base64.b64encode(pcm[i : i + step]).decode() for i in range(0, len(pcm), step)]


def _learn_ids(recorded: Any, local: Any, ids: dict[str, str], key: str = "") -> None:
    if isinstance(recorded, str) and isinstance(local, str):
        if (key == "id" or key.endswith("_id")) and key != "event_id" and recorded != local:
            ids[recorded] = local
    elif isinstance(recorded, Mapping) and isinstance(local, Mapping):
        for name in recorded.keys() & local.keys():
            _learn_ids(recorded[name], local[name], ids, name)
    elif isinstance(recorded, list) and isinstance(local, list):
        for a, b in zip(recorded, local, strict=False):
            _learn_ids(a, b, ids, key)


def _substitute(value: Any, ids: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return ids.get(value, value)
    if isinstance(value, dict):
        return {k: _substitute(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, ids) for v in value]
    return value


class _Collector:
    """The local server's events as the client receives them, counted by type."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.counts: Counter[str] = Counter()
        self.changed = asyncio.Event()

    def add(self, event: Event) -> None:
        self.events.append(event)
        self.counts[str(event.get("type"))] += 1
        self.changed.set()

    async def wait_for(self, kind: str, count: int) -> None:
        async def until() -> None:
            while self.counts[kind] < count:
                self.changed.clear()
                await self.changed.wait()

        # On timeout, go on: the comparison reports the missing event.
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(until(), _WAIT_S)


async def replay_client_side(
    cassette: Cassette, server_dialect: str, ignored: frozenset[str]
) -> list[Event]:
    """Play the recorded client events to a local server; return what it sent back."""
    engine = ScriptedEngine(recorded_turns(cassette), fallback="Nothing more.")
    async with LocalRealtimeServer(
        engine, dialect=server_dialect, chunk_interval_s=0.001
    ) as server:
        url = f"{server.url}?{server.dialect.example_query('gpt-realtime')}"
        headers = {"Authorization": "Bearer test-key"}
        if server.dialect.beta_header == "required":
            headers["OpenAI-Beta"] = "realtime=v1"
        collector = _Collector()
        async with connect(url, additional_headers=headers, max_size=None) as ws:

            async def read() -> None:
                async for message in ws:
                    collector.add(json.loads(message))

            reader = asyncio.create_task(read())
            seen: Counter[str] = Counter()
            ids: dict[str, str] = {}
            last: str | None = None
            in_audio = False
            for interaction in cassette:
                event = interaction.data
                kind = str(event["type"])
                if interaction.direction == "received":
                    if kind not in ignored:
                        seen[kind] += 1
                        last = kind
                    continue
                if last is not None:
                    await collector.wait_for(last, seen[last])
                _pair_ids(cassette, collector.events, ids)
                if kind == _APPEND:
                    if not in_audio:
                        for chunk in utterance_chunks():
                            await ws.send(json.dumps({"type": _APPEND, "audio": chunk}))
                    in_audio = True
                    continue
                in_audio = False
                await ws.send(json.dumps(_substitute(event, ids)))
            if last is not None:
                await collector.wait_for(last, seen[last])
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
    return collector.events


def _pair_ids(cassette: Cassette, local: list[Event], ids: dict[str, str]) -> None:
    """Learn recorded id -> local id from the n-th event of each type on both sides."""
    recorded: dict[str, list[Event]] = {}
    for event in cassette.events("received"):
        recorded.setdefault(str(event["type"]), []).append(event)
    counts: Counter[str] = Counter()
    for event in local:
        kind = str(event.get("type"))
        same = recorded.get(kind, [])
        if counts[kind] < len(same):
            _learn_ids(same[counts[kind]], event, ids)
        counts[kind] += 1
