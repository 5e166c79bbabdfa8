"""The tool-call ledger: which calls the server made, which the reply asked for, which got
their output.

Every function call must get exactly one ``function_call_output``: none leaves the server
waiting, two confuse the model. The ledger is per server conversation (a new socket starts
a new one): it knows the calls' names from their items, collects the calls of the reply in
progress, and remembers which outputs were sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from realtime_llm.protocol.outputs import ToolCall

__all__ = ["CANCELLED_OUTPUT", "ToolCallLedger"]

CANCELLED_OUTPUT = json.dumps(
    {
        "status": "cancelled",
        "detail": "this tool call was cancelled before it returned a result",
    }
)
"""The ``function_call_output`` of a call that will never return. It names the *call* as
cancelled: a bare ``CANCELLED`` reads as a statement about whatever the tool looks up (a
model relaying it may tell the user their booking was cancelled)."""


class ToolCallLedger:
    __slots__ = ("_names", "_outputs_sent", "_requested")

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self._requested: list[ToolCall] = []
        self._outputs_sent: set[str] = set()

    def call_seen(self, call_id: str, name: str) -> None:
        """The server created a function-call item (its name comes with it)."""
        self._names[call_id] = name

    def name_of(self, call_id: str) -> str | None:
        return self._names.get(call_id)

    def knows(self, call_id: str) -> bool:
        """Whether the server's conversation has this call."""
        return call_id in self._names

    def requested(self, call: ToolCall) -> None:
        """The reply in progress asks for this call (run when the reply ends)."""
        self._requested.append(call)

    def take_requested(self) -> tuple[ToolCall, ...]:
        """The calls of the reply that just ended; the list starts empty again."""
        calls, self._requested = tuple(self._requested), []
        return calls

    def clear_requested(self) -> None:
        self._requested = []

    def output_once(self, call_id: str) -> bool:
        """Record that the output of ``call_id`` is sent; False if it already was."""
        if call_id in self._outputs_sent:
            return False
        self._outputs_sent.add(call_id)
        return True

    def mark_completed(self, call_ids: Iterable[str]) -> None:
        self._outputs_sent.update(call_ids)

    def completed(self, call_id: str) -> bool:
        return call_id in self._outputs_sent

    def reset(self) -> None:
        self._names.clear()
        self._requested = []
        self._outputs_sent.clear()
