"""The transcript gate: a reply's end waits for the user transcript that prompted it.

With server VAD the server commits the user's audio, starts a reply at once, and
transcribes the user's words in parallel. The transcript often arrives after the reply has
ended. The conversation history must record the user turn first, so the end of a reply
(and the tool calls that belong to it) is held here until every transcript that was
pending when the reply ended has arrived or failed, or the glue gives up waiting.
"""

from __future__ import annotations

from collections.abc import Sequence

from realtime_llm.protocol.outputs import Output

__all__ = ["TranscriptGate"]


class TranscriptGate:
    """Pending user transcripts (by item id) and the outputs held until they settle."""

    __slots__ = ("_held", "_pending")

    def __init__(self) -> None:
        self._pending: set[str] = set()
        self._held: list[Output] = []

    @property
    def holding(self) -> bool:
        return bool(self._held)

    @property
    def waiting(self) -> bool:
        """A user transcript is still to come."""
        return bool(self._pending)

    def expect(self, item_id: str) -> None:
        """The server committed a user turn whose transcript will follow."""
        self._pending.add(item_id)

    def hold(self, outputs: Sequence[Output]) -> list[Output]:
        """Hold ``outputs`` (a reply's end); returns anything held before, in order."""
        earlier, self._held = self._held, list(outputs)
        return earlier

    def settled(self, item_id: str) -> list[Output]:
        """A transcript arrived or failed; returns the held outputs once none is pending."""
        self._pending.discard(item_id)
        if self._pending or not self._held:
            return []
        return self.release()

    def release(self) -> list[Output]:
        """Stop waiting: everything held, in order."""
        self._pending.clear()
        held, self._held = self._held, []
        return held

    def reset(self) -> None:
        self._pending.clear()
        self._held = []
