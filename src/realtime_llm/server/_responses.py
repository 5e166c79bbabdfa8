"""One response's lifecycle: the GA event sequence for a reply, streamed chunk by chunk.

A :class:`ResponseRun` is created with ``response.created`` and then fed the engine's
:class:`~.engine.Reply`. It plans the reply as a generator of event batches (output item
added, content part added, audio + transcript deltas, the matching ``.done`` events,
``response.done``) and hands them out one batch per :meth:`ResponseRun.step`. Items and
their audio grow as batches are handed out, so a cancel or a truncate between two steps
sees exactly what the client has been sent. The run reads no clock: pacing is the socket
layer's job.
"""

from __future__ import annotations

import math
import re
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from ._audio import BYTES_PER_MS, b64encode, encode_from_pcm16, pcm_ms
from ._conversation import Conversation, Entry
from ._wire import IdGenerator
from .engine import Reply, ToolCall

__all__ = ["ResponseParams", "ResponseRun", "TokenCount", "count_tokens", "text_tokens"]

Batch = list[dict[str, Any]]


@dataclass(frozen=True)
class ResponseParams:
    """The effective settings of one response (session defaults overlaid by the request)."""

    in_conversation: bool
    output_modalities: tuple[str, ...]
    voice: str
    output_format: dict[str, Any]
    max_output_tokens: int | str
    metadata: dict[str, str] | None
    conversation_id: str | None
    chunk_ms: int = 40


@dataclass(frozen=True)
class TokenCount:
    text: int = 0
    audio: int = 0
    image: int = 0

    @property
    def total(self) -> int:
        return self.text + self.audio + self.image

    def __add__(self, other: TokenCount) -> TokenCount:
        return TokenCount(
            self.text + other.text, self.audio + other.audio, self.image + other.image
        )


def text_tokens(text: str | None) -> int:
    return math.ceil(len(text) / 4) if text else 0


def count_tokens(entry: Entry) -> TokenCount:
    """A rough, deterministic token estimate: 4 characters, or 100 ms of audio, per token."""
    item = entry.item
    if item["type"] == "function_call":
        return TokenCount(text=text_tokens(item["name"]) + text_tokens(item["arguments"]))
    if item["type"] == "function_call_output":
        return TokenCount(text=text_tokens(item["output"]))
    total = TokenCount()
    for index, part in enumerate(item.get("content") or []):
        if part["type"] in ("input_audio", "output_audio"):
            total += TokenCount(audio=math.ceil(entry.audio_ms(index) / 100))
        elif part["type"] == "input_image":
            total += TokenCount(image=85)
        else:
            total += TokenCount(text=text_tokens(part.get("text")))
    return total


def _split_words(text: str, pieces: int) -> list[str]:
    """``text`` cut at word boundaries into ``pieces`` consecutive parts (some maybe empty)."""
    words = re.findall(r"\s*\S+\s*", text) or ([text] if text else [])
    bounds = [len(words) * i // pieces for i in range(pieces + 1)]
    return ["".join(words[bounds[i] : bounds[i + 1]]) for i in range(pieces)]


class ResponseRun:
    """The state and event stream of one response, from ``response.created`` to ``.done``."""

    def __init__(
        self,
        response_id: str,
        params: ResponseParams,
        *,
        conversation: Conversation,
        new_id: IdGenerator,
    ) -> None:
        self.id = response_id
        self.params = params
        self.status = "in_progress"
        self.output: list[Entry] = []
        self._conversation = conversation
        self._new_id = new_id
        self._stream: Generator[Batch, None, None] | None = None
        self._status_details: dict[str, Any] | None = None
        self._input = TokenCount()
        self._cached = TokenCount()
        self._sent: dict[str, tuple[str, str]] = {}
        """Per item with an open content part: the part's type and the text sent so far."""

    @property
    def active(self) -> bool:
        return self.status == "in_progress"

    def set_input_usage(self, tokens: TokenCount, cached: TokenCount) -> None:
        self._input, self._cached = tokens, cached

    def _event(self, kind: str, **fields: Any) -> dict[str, Any]:
        return {"type": kind, "event_id": self._new_id("event"), **fields}

    def _usage(self) -> dict[str, Any]:
        out_text = out_audio = 0
        for entry in self.output:
            if entry.item["type"] == "function_call":
                out_text += count_tokens(entry).text
                continue
            for index, part in enumerate(entry.item["content"]):
                out_text += text_tokens(part.get("text") or part.get("transcript"))
                if index in entry.audio:  # output audio: 20 tokens per second
                    out_audio += math.ceil(entry.audio_ms(index) / 50)
        output = out_text + out_audio
        return {
            "total_tokens": self._input.total + output,
            "input_tokens": self._input.total,
            "output_tokens": output,
            "input_token_details": {
                "text_tokens": self._input.text,
                "audio_tokens": self._input.audio,
                "image_tokens": self._input.image,
                "cached_tokens": self._cached.total,
                "cached_tokens_details": {
                    "text_tokens": self._cached.text,
                    "audio_tokens": self._cached.audio,
                    "image_tokens": self._cached.image,
                },
            },
            "output_token_details": {"text_tokens": out_text, "audio_tokens": out_audio},
        }

    def snapshot(self) -> dict[str, Any]:
        """The ``response`` object of ``response.created`` / ``response.done``."""
        done = not self.active
        return {
            "object": "realtime.response",
            "id": self.id,
            "status": self.status,
            "status_details": self._status_details,
            "output": [entry.wire() for entry in self.output],
            "conversation_id": self.params.conversation_id,
            "output_modalities": list(self.params.output_modalities),
            "max_output_tokens": self.params.max_output_tokens,
            "audio": {"output": {"format": self.params.output_format, "voice": self.params.voice}},
            "usage": self._usage() if done else None,
            "metadata": self.params.metadata,
        }

    def created(self) -> Batch:
        return [self._event("response.created", response=self.snapshot())]

    # --- the stream -------------------------------------------------------------------------

    def begin(self, reply: Reply, audio: bytes | None) -> Batch:
        """Start streaming ``reply``; returns the first batch ([] if no longer active)."""
        if not self.active:
            return []
        self._stream = self._generate(reply, audio)
        return self.step()

    def step(self) -> Batch:
        """The next batch of events, or [] once the response is over."""
        if not self.active or self._stream is None:
            return []
        return next(self._stream, [])

    def cancel(self, reason: str) -> Batch:
        """End the response now (``turn_detected`` or ``client_cancelled``)."""
        return self._end("cancelled", {"type": "cancelled", "reason": reason})

    def fail(self, message: str) -> Batch:
        error = {"type": "server_error", "code": "engine_error", "message": message}
        return self._end("failed", {"type": "failed", "error": error})

    def _end(self, status: str, details: dict[str, Any] | None) -> Batch:
        """Close what is still open (parts, then items), then ``response.done``.

        The protocol sends a part's ``.done`` events also when its response is cancelled,
        so a client that waits for them (or builds its transcript from them) is not left
        hanging; each carries what was actually sent.
        """
        if not self.active:
            return []
        events: Batch = []
        for entry in self.output:
            if entry.item["status"] == "in_progress":
                entry.item["status"] = "incomplete"
                events += self._close_parts(entry)
                events += self._item_done(entry)
        self.status, self._status_details = status, details
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        return [*events, self._event("response.done", response=self.snapshot())]

    def holds(self, item_id: str) -> bool:
        """True while this response is still writing item ``item_id``."""
        return self.active and any(
            e.id == item_id and e.item["status"] == "in_progress" for e in self.output
        )

    def _close_parts(self, entry: Entry) -> Batch:
        sent = self._sent.get(entry.id)
        if sent is None:  # no content part was opened (a function call, or nothing yet)
            return []
        kind, text = sent
        if kind == "output_audio":
            return self._audio_done(entry, text)
        return self._text_done(entry, text)

    def _audio_done(self, entry: Entry, transcript: str) -> Batch:
        return [
            self._delta("response.output_audio.done", entry),
            self._delta("response.output_audio_transcript.done", entry, transcript=transcript),
            self._part_event(
                "response.content_part.done", entry, {"type": "audio", "transcript": transcript}
            ),
        ]

    def _text_done(self, entry: Entry, text: str) -> Batch:
        return [
            self._delta("response.output_text.done", entry, text=text),
            self._part_event("response.content_part.done", entry, {"type": "text", "text": text}),
        ]

    def _item_done(self, entry: Entry) -> Batch:
        """``conversation.item.done`` (if the item is in the conversation), then the output's.

        That order, and ``previous_item_id`` being ``null`` when the item follows a user
        message, are what the recorded OpenAI and Azure sessions show.
        """
        events = []
        if self.params.in_conversation and entry.id in self._conversation:
            previous = self._conversation.previous_id(entry.id)
            before = self._conversation.get(previous) if previous is not None else None
            if before is not None and before.item.get("role") == "user":
                previous = None
            events.append(
                self._event("conversation.item.done", previous_item_id=previous, item=entry.wire())
            )
        events.append(
            self._event(
                "response.output_item.done",
                response_id=self.id,
                output_index=self.output.index(entry),
                item=entry.wire(),
            )
        )
        return events

    def _open_item(self, item: dict[str, Any]) -> tuple[Entry, Batch]:
        entry = Entry({"id": self._new_id("item"), "object": "realtime.item", **item})
        entry.item["status"] = "in_progress"
        self.output.append(entry)
        events = [
            self._event(
                "response.output_item.added",
                response_id=self.id,
                output_index=len(self.output) - 1,
                item=entry.wire(),
            )
        ]
        if self.params.in_conversation:
            previous = self._conversation.last_id()
            self._conversation.add(entry)
            events.append(
                self._event("conversation.item.added", previous_item_id=previous, item=entry.wire())
            )
        return entry, events

    def _generate(self, reply: Reply, audio: bytes | None) -> Generator[Batch, None, None]:
        budget = self.params.max_output_tokens
        limited = False
        if reply.tool_calls:
            for call in reply.tool_calls:
                yield from self._stream_call(call)
        else:
            text = reply.text
            if isinstance(budget, int):
                needed = text_tokens(text) + (math.ceil(pcm_ms(len(audio)) / 50) if audio else 0)
                if needed > budget:
                    limited = True
                    keep = budget / needed
                    text = text[: int(len(text) * keep)]
                    if audio:
                        audio = audio[: int(len(audio) * keep) // 2 * 2]
            if "audio" in self.params.output_modalities:
                yield from self._stream_audio(text, audio or b"")
            else:
                yield from self._stream_text(text)
        if limited:
            self.status = "incomplete"
            self._status_details = {"type": "incomplete", "reason": "max_output_tokens"}
        else:
            self.status = "completed"
        self._stream = None
        yield [self._event("response.done", response=self.snapshot())]

    def _part_event(self, kind: str, entry: Entry, part: dict[str, Any]) -> dict[str, Any]:
        return self._event(
            kind,
            response_id=self.id,
            item_id=entry.id,
            output_index=self.output.index(entry),
            content_index=0,
            part=part,
        )

    def _delta(self, kind: str, entry: Entry, **fields: Any) -> dict[str, Any]:
        return self._event(
            kind,
            response_id=self.id,
            item_id=entry.id,
            output_index=self.output.index(entry),
            content_index=0,
            **fields,
        )

    def _stream_audio(self, text: str, pcm: bytes) -> Generator[Batch, None, None]:
        entry, events = self._open_item({"type": "message", "role": "assistant", "content": []})
        part: dict[str, Any] = {"type": "output_audio", "transcript": ""}
        entry.item["content"].append(part)
        entry.audio[0] = bytearray()
        self._sent[entry.id] = ("output_audio", "")
        events.append(
            self._part_event(
                "response.content_part.added", entry, {"type": "audio", "transcript": ""}
            )
        )
        yield events
        chunk = BYTES_PER_MS * self.params.chunk_ms
        count = max(1, math.ceil(len(pcm) / chunk))
        fmt = self.params.output_format.get("type", "audio/pcm")
        for index, piece in enumerate(_split_words(text, count)):
            batch: Batch = []
            pcm_chunk = pcm[index * chunk : (index + 1) * chunk]
            if pcm_chunk:
                entry.audio[0] += pcm_chunk
                wire = encode_from_pcm16(pcm_chunk, fmt)
                batch.append(
                    self._delta("response.output_audio.delta", entry, delta=b64encode(wire))
                )
            if piece:
                part["transcript"] += piece
                self._sent[entry.id] = ("output_audio", self._sent[entry.id][1] + piece)
                batch.append(
                    self._delta("response.output_audio_transcript.delta", entry, delta=piece)
                )
            if batch:
                yield batch
        entry.item["status"] = "completed"
        yield [*self._audio_done(entry, self._sent.pop(entry.id)[1]), *self._item_done(entry)]

    def _stream_text(self, text: str) -> Generator[Batch, None, None]:
        entry, events = self._open_item({"type": "message", "role": "assistant", "content": []})
        part: dict[str, Any] = {"type": "output_text", "text": ""}
        entry.item["content"].append(part)
        self._sent[entry.id] = ("output_text", "")
        events.append(
            self._part_event("response.content_part.added", entry, {"type": "text", "text": ""})
        )
        yield events
        words = len(re.findall(r"\S+", text))
        for piece in _split_words(text, max(1, math.ceil(words / 3))):
            if piece:
                part["text"] += piece
                self._sent[entry.id] = ("output_text", part["text"])
                yield [self._delta("response.output_text.delta", entry, delta=piece)]
        entry.item["status"] = "completed"
        yield [*self._text_done(entry, self._sent.pop(entry.id)[1]), *self._item_done(entry)]

    def _stream_call(self, call: ToolCall) -> Generator[Batch, None, None]:
        call_id = self._new_id("call")
        entry, events = self._open_item(
            {"type": "function_call", "name": call.name, "call_id": call_id, "arguments": ""}
        )
        yield events
        common = {"response_id": self.id, "item_id": entry.id, "call_id": call_id}
        index = self.output.index(entry)
        for start in range(0, len(call.arguments), 16):
            delta = call.arguments[start : start + 16]
            entry.item["arguments"] += delta
            yield [
                self._event(
                    "response.function_call_arguments.delta",
                    output_index=index,
                    delta=delta,
                    **common,
                )
            ]
        entry.item["status"] = "completed"
        yield [
            self._event(
                "response.function_call_arguments.done",
                output_index=index,
                name=call.name,
                arguments=call.arguments,
                **common,
            ),
            *self._item_done(entry),
        ]
