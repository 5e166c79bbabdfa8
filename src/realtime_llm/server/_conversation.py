"""The server's conversation: ordered items, their audio, and the truncation rule.

Items are kept in their GA wire form (what ``conversation.item.added`` shows) plus, beside
it, what the wire form leaves out: the PCM16 audio of each audio content part and the text
the engine should "hear" for it. That split is why this is its own module: the wire view
omits audio except in ``conversation.item.retrieved``; the engine view replaces
transcripts with what was actually heard (the engine's own transcription of user audio, or
the part of an assistant transcript that survived a truncation).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from ._audio import BYTES_PER_MS, b64decode, b64encode, decode_to_pcm16, pcm_ms
from ._schema import Problem, join
from ._wire import IdGenerator

__all__ = ["MAX_RETAINED_AUDIO_BYTES", "Conversation", "Entry"]

MAX_RETAINED_AUDIO_BYTES = 5 * 60 * 1000 * BYTES_PER_MS
"""Audio kept for ``conversation.item.retrieved``: the newest five minutes. Older items
keep their length (truncation rules, usage) but answer a retrieve without audio."""


@dataclass
class Entry:
    """One conversation item: its wire form, plus audio and heard text per content index."""

    item: dict[str, Any]
    audio: dict[int, bytearray] = field(default_factory=dict)
    heard: dict[int, str] = field(default_factory=dict)
    released: dict[int, int] = field(default_factory=dict)
    """Byte lengths of audio no longer kept (see ``Conversation.release_old_audio``)."""

    @property
    def id(self) -> str:
        return str(self.item["id"])

    def audio_ms(self, index: int) -> float:
        pcm = self.audio.get(index)
        return pcm_ms(len(pcm) if pcm is not None else self.released.get(index, 0))

    def audio_bytes(self) -> int:
        return sum(len(pcm) for pcm in self.audio.values())

    def release_audio(self) -> None:
        """Forget the audio bytes, keep their length (for truncation rules and usage)."""
        for index, pcm in self.audio.items():
            self.released[index] = len(pcm)
        self.audio.clear()

    def wire(self, *, with_audio: bool = False) -> dict[str, Any]:
        """The item as events show it (``with_audio`` for ``conversation.item.retrieved``)."""
        item = copy.deepcopy(self.item)
        if with_audio:
            for index, pcm in self.audio.items():
                item["content"][index]["audio"] = b64encode(bytes(pcm))
        return item

    def for_engine(self) -> dict[str, Any]:
        """The item as an engine sees it: no audio, transcripts = what was heard."""
        item = copy.deepcopy(self.item)
        for index, text in self.heard.items():
            item["content"][index]["transcript"] = text
        return item


def entry_from_client(
    item: dict[str, Any], path: str, new_id: IdGenerator, input_format: str
) -> Entry | Problem:
    """Build an entry from a validated client item (``conversation.item.create`` / input)."""
    wire = copy.deepcopy(item)
    wire.setdefault("id", new_id("item"))
    wire["object"] = "realtime.item"
    wire["status"] = "completed"
    entry = Entry(wire)
    if wire["type"] == "function_call":
        wire.setdefault("call_id", new_id("call"))
    if wire["type"] != "message":
        return entry
    for index, part in enumerate(wire["content"]):
        if part["type"] not in ("input_audio", "output_audio"):
            continue
        encoded = part.pop("audio", None)
        part.setdefault("transcript", None)
        if encoded is None:
            continue
        data = b64decode(encoded)
        if data is None:
            where = join(join(join(path, "content"), index), "audio")
            return Problem("invalid_value", f"Invalid '{where}': expected base64 audio.", where)
        fmt = input_format if part["type"] == "input_audio" else "audio/pcm"
        entry.audio[index] = bytearray(decode_to_pcm16(data, fmt))
    return entry


class Conversation:
    """Items in order, addressable by id."""

    def __init__(self) -> None:
        self._order: list[str] = []
        self._entries: dict[str, Entry] = {}

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._entries

    def __len__(self) -> int:
        return len(self._order)

    def get(self, item_id: str) -> Entry | None:
        return self._entries.get(item_id)

    def entries(self) -> list[Entry]:
        return [self._entries[i] for i in self._order]

    def last_id(self) -> str | None:
        return self._order[-1] if self._order else None

    def previous_id(self, item_id: str) -> str | None:
        index = self._order.index(item_id)
        return self._order[index - 1] if index else None

    def add(self, entry: Entry, previous_item_id: str | None = None) -> Problem | None:
        """Append, or insert after ``previous_item_id`` (``"root"``: at the start)."""
        if entry.id in self._entries:
            return Problem(
                "item_create_duplicate_item_id",
                f"Item with id '{entry.id}' already exists in the conversation.",
                "item.id",
            )
        if previous_item_id is None:
            position = len(self._order)
        elif previous_item_id == "root":
            position = 0
        elif previous_item_id in self._entries:
            position = self._order.index(previous_item_id) + 1
        else:
            return Problem(
                "invalid_value",
                f"Previous item with item_id '{previous_item_id}' not found.",
                "previous_item_id",
            )
        self._order.insert(position, entry.id)
        self._entries[entry.id] = entry
        self.release_old_audio()
        return None

    def delete(self, item_id: str) -> bool:
        if item_id not in self._entries:
            return False
        self._order.remove(item_id)
        del self._entries[item_id]
        return True

    def truncate(self, item_id: str, content_index: int, audio_end_ms: int) -> Problem | None:
        """Cut an assistant audio part to what the user heard, with the service's rules.

        Only assistant ``output_audio`` parts qualify; ``audio_end_ms`` 0 is rejected (delete
        the item instead); beyond the audio the item has is rejected. On success the audio
        is cut, the public transcript is deleted (as documented for GA), and the engine
        keeps the proportional share of the transcript as what was heard.
        """
        entry = self._entries.get(item_id)
        if entry is None:
            return Problem(
                "item_truncate_invalid_item_id",
                f"Item with item_id '{item_id}' not found.",
                "item_id",
            )
        item = entry.item
        content = item.get("content") or []
        is_audio = (
            item.get("role") == "assistant"
            and content_index < len(content)
            and content[content_index].get("type") == "output_audio"
        )
        if not is_audio or audio_end_ms == 0:
            return Problem(
                "unsupported_content_type",
                "Only model output audio messages can be truncated",
                "item_id" if not is_audio else "audio_end_ms",
            )
        duration = entry.audio_ms(content_index)
        if audio_end_ms > duration:
            return Problem(
                "invalid_value",
                f"Audio content of {int(duration)}ms is already shorter than {audio_end_ms}ms",
                "audio_end_ms",
            )
        part = content[content_index]
        spoken = entry.heard.get(content_index, part.get("transcript") or "")
        kept = int(len(spoken) * audio_end_ms / duration) if duration else 0
        entry.heard[content_index] = spoken[:kept]
        part["transcript"] = ""
        if content_index in entry.audio:
            del entry.audio[content_index][audio_end_ms * BYTES_PER_MS :]
        else:
            entry.released[content_index] = audio_end_ms * BYTES_PER_MS
        return None

    def release_old_audio(self, keep_bytes: int = MAX_RETAINED_AUDIO_BYTES) -> None:
        """Keep the audio of the newest items only, so a long session stays bounded.

        Walks from the newest item back and releases the audio of every item past the
        budget; it stops at the first item already released (all older ones are too),
        so each call costs only the items still holding audio.
        """
        kept = 0
        for item_id in reversed(self._order):
            entry = self._entries[item_id]
            if not entry.audio:
                if entry.released:
                    break
                continue
            kept += entry.audio_bytes()
            if kept > keep_bytes:
                entry.release_audio()
