"""The transcript gate: a reply's end waits for the user transcript that prompted it.

With server VAD the server commits the user's audio, starts a reply at once, and
transcribes the user's words in parallel. The transcript often arrives after the reply has
ended. The conversation history must record the user turn first, so the end of a reply
(and the tool calls that belong to it) is held here until every transcript that was
pending when the reply ended has arrived or failed, or the glue gives up waiting.

A transcript can come later still (a slow transcription model, a reply cut by a
barge-in, which is never held). Such a turn is *overdue*: the reply it prompted is
already in the history. The reply's ``ResponseEnded`` names the overdue turns, and their
transcripts are reported ``late``, so the glue places each before that reply instead of
merging it into the user turn being gathered now.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from realtime_llm.protocol.outputs import Output, ResponseEnded

__all__ = ["TranscriptGate"]


class TranscriptGate:
    """Pending user transcripts (by item id) and the reply end held until they settle.

    A held reply waits only for the transcripts pending when it ended: a user turn
    committed later belongs to the next reply.
    """

    __slots__ = ("_awaited", "_held", "_overdue", "_pending")

    def __init__(self) -> None:
        self._pending: dict[str, None] = {}  # an insertion-ordered set
        self._overdue: set[str] = set()
        self._held: list[Output] = []
        self._awaited: set[str] = set()

    @property
    def holding(self) -> bool:
        return bool(self._held)

    @property
    def waiting(self) -> bool:
        """A user transcript is still to come."""
        return bool(self._pending)

    def expect(self, item_id: str) -> None:
        """The server committed a user turn whose transcript will follow."""
        self._pending[item_id] = None

    def hold(self, outputs: Sequence[Output]) -> list[Output]:
        """Hold ``outputs`` (a reply's end) until the pending transcripts settle.

        Returns what was held before (its missing transcripts are overdue now).
        """
        earlier = self.release()
        self._held = list(outputs)
        self._awaited = set(self._pending)
        return earlier

    def settled(self, item_id: str) -> list[Output]:
        """A transcript arrived or failed; returns the held outputs once none is awaited."""
        self._pending.pop(item_id, None)
        self._awaited.discard(item_id)
        if not self._held or self._awaited:
            return []
        held, self._held = self._held, []
        return held

    def overdue(self, item_id: str) -> bool:
        """Whether ``item_id``'s reply ended without it (its transcript is late); once."""
        if item_id in self._overdue:
            self._overdue.discard(item_id)
            return True
        return False

    def overdue_all(self) -> tuple[str, ...]:
        """A reply ends now without the transcripts still pending: they become overdue."""
        ids = tuple(self._pending)
        self._overdue.update(ids)
        self._pending.clear()
        return ids

    def release(self) -> list[Output]:
        """Stop waiting: the held outputs, in order; what they awaited becomes overdue.

        The held reply end is re-issued naming the overdue turns, so the glue knows
        where their late transcripts go.
        """
        if not self._held:
            return []
        overdue = tuple(i for i in self._pending if i in self._awaited)
        for item_id in overdue:
            del self._pending[item_id]
        self._overdue.update(overdue)
        held, self._held, self._awaited = self._held, [], set()
        if not overdue:
            return held
        return [
            dataclasses.replace(o, overdue_transcripts=overdue)
            if isinstance(o, ResponseEnded)
            else o
            for o in held
        ]

    def reset(self) -> None:
        self._pending.clear()
        self._overdue.clear()
        self._held = []
        self._awaited = set()
