"""What a replay sends: every item, or, for a long conversation, the newest ones.

A new session (after a drop, a renewal, ``reset_conversation()``) knows nothing, so the
conversation is replayed into it as items. Each replayed item is input to the next
response: the server bills its tokens then, whatever the conversation's age. For a long
call that is a full re-read of every turn at every reconnect. A *compactor* decides what
to send: a callable that takes the items to replay, in order, and returns the items to
send. The default, :class:`KeepNewest`, sends everything up to a bound and, beyond it,
the newest items verbatim after a short note that the earlier ones were left out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_MAX_REPLAY_ITEMS", "KeepNewest", "ReplayCompactor"]

ReplayCompactor = Callable[[Sequence[Mapping[str, Any]]], list[dict[str, Any]]]
"""Items to replay (GA conversation items, oldest first) -> the items to send."""

DEFAULT_MAX_REPLAY_ITEMS = 200
"""Items replayed verbatim before the oldest are left out (about 100 exchanges)."""


@dataclass(frozen=True, slots=True)
class KeepNewest:
    """Everything up to ``max_items``; beyond, a note and the newest items verbatim.

    A tool round is never split: a ``function_call_output`` whose call was left out is
    left out too (the server refuses outputs for calls it does not know).
    """

    max_items: int = DEFAULT_MAX_REPLAY_ITEMS

    def __post_init__(self) -> None:
        if self.max_items < 2:
            raise ValueError("max_items must be at least 2 (a note and one item)")

    def __call__(self, items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        if len(items) <= self.max_items:
            return [dict(item) for item in items]
        start = len(items) - (self.max_items - 1)  # room for the note
        kept = items[start:]
        calls = {item.get("call_id") for item in kept if item.get("type") == "function_call"}
        kept = [
            item
            for item in kept
            if item.get("type") != "function_call_output" or item.get("call_id") in calls
        ]
        note = {
            "type": "message",
            "role": "system",
            "content": [
                {
                    "type": "input_text",
                    "text": (
                        f"(The first {start} items of this conversation were left out when "
                        "it moved to a new session; what follows is the most recent part.)"
                    ),
                }
            ],
        }
        return [note, *(dict(item) for item in kept)]
