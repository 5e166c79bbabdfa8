"""The replay compactor: everything up to a bound, then a note and the newest items."""

from __future__ import annotations

from typing import Any

import pytest

from realtime_llm.client import DEFAULT_MAX_REPLAY_ITEMS, KeepNewest


def message(n: int) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": f"{n}"}]}


def test_a_conversation_within_the_bound_is_replayed_whole() -> None:
    items = [message(n) for n in range(DEFAULT_MAX_REPLAY_ITEMS)]
    assert KeepNewest()(items) == items


def test_beyond_the_bound_a_note_and_the_newest_items_verbatim() -> None:
    items = [message(n) for n in range(10)]
    sent = KeepNewest(max_items=4)(items)
    assert len(sent) == 4
    assert sent[0]["role"] == "system"
    assert "first 7 items" in sent[0]["content"][0]["text"]
    assert sent[1:] == items[-3:]


def test_a_tool_round_is_never_split() -> None:
    call = {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"}
    output = {"type": "function_call_output", "call_id": "c1", "output": "1"}
    items = [message(0), call, output, message(1), message(2)]
    sent = KeepNewest(max_items=4)(items)  # would start at the output: its call is gone
    assert [i["type"] for i in sent] == ["message", "message", "message"]
    assert output not in sent


def test_the_bound_must_leave_room_for_the_note() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        KeepNewest(max_items=1)
