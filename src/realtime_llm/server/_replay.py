"""The sans-I/O half of the replay server: which recorded server events to send, and when.

A cassette is one session in wire order. Replaying it to a live client means sending the
recorded server events as the client catches up with the recorded client events. Two rules
make that work with a client other than the one that was recorded:

* **Gates by answer, not by position.** A recorded server event waits only for the client
  events it answers: ``response.created`` waits for the ``response.create`` before it,
  ``conversation.item.added`` for its ``conversation.item.create``, and so on
  (:data:`ANSWERS`), or for an ``error`` that refused it. Everything else flows. A client
  that waits for ``response.done`` before sending its tool output, where the recorded
  client did not wait, therefore still gets it: gating on position would deadlock both.
  Server events that follow recorded audio wait for the client's first audio of that run.
* **Matching by type, ids tolerated.** The next recorded client event must have the type
  of the one the client sends (and the same ``item.type`` for items). Ids the client chose
  (``item.id``, ``previous_item_id``, ``response.metadata`` values...) are learnt from the
  match and substituted in the recorded server events that follow. Audio appends are never
  compared: their number depends on the client's chunk size. A ``session.update`` more
  than the recording has (a bot reconfigures when its tools change) is answered with the
  last recorded ``session.updated``: it changes no turn. A client's ``response.metadata``
  that the recorded client did not send is echoed in the ``response.created`` and
  ``response.done`` that answer it, where the recorded server echoes metadata (its
  response carries ``"metadata": null``), so a client that correlates its requests with
  their responses finds them.

A client event that does not match is a :class:`Divergence`: the session answers it with
an ``error`` event (code ``cassette_mismatch``) that says which event was expected and
which was sent, and does not advance; a client that then sends the expected event goes on.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .cassette import Cassette

__all__ = ["ANSWERS", "MISMATCH_CODE", "Divergence", "ReplaySession"]

Event = dict[str, Any]
_APPEND = "input_audio_buffer.append"
MISMATCH_CODE = "cassette_mismatch"

ANSWERS: Mapping[str, frozenset[str]] = {
    "session.update": frozenset({"session.updated"}),
    "transcription_session.update": frozenset({"transcription_session.updated"}),
    "input_audio_buffer.commit": frozenset({"input_audio_buffer.committed"}),
    "input_audio_buffer.clear": frozenset({"input_audio_buffer.cleared"}),
    "output_audio_buffer.clear": frozenset({"output_audio_buffer.cleared"}),
    "conversation.item.create": frozenset({"conversation.item.added", "conversation.item.created"}),
    "conversation.item.retrieve": frozenset({"conversation.item.retrieved"}),
    "conversation.item.truncate": frozenset({"conversation.item.truncated"}),
    "conversation.item.delete": frozenset({"conversation.item.deleted"}),
    "response.create": frozenset({"response.created"}),
}
"""Client event type -> the server events that answer it (an ``error`` always does too).
A type not listed here (``response.cancel``, audio) is answered by the next server event."""


@dataclass(frozen=True)
class Divergence:
    """Where a client left the recording: its ``index``-th event (from 0, audio appends
    not counted), what the recording expected there (None: the recording had ended)
    and what the client sent."""

    index: int
    expected: str | None
    sent: str

    def __str__(self) -> str:
        expected = self.expected or "nothing more (the recording ends here)"
        return (
            f"client event #{self.index} diverges from the cassette: "
            f"expected {expected}, got {self.sent}"
        )


def describe(event: Mapping[str, Any]) -> str:
    """A client event as a divergence message names it: its type and, for items, the item type."""
    kind = str(event.get("type"))
    item = event.get("item")
    if isinstance(item, Mapping) and item.get("type"):
        role = f" {item['role']}" if item.get("role") else ""
        return f"{kind} ({item['type']}{role})"
    return kind


def _matches(expected: Mapping[str, Any], sent: Mapping[str, Any]) -> bool:
    if expected.get("type") != sent.get("type"):
        return False
    want, got = expected.get("item"), sent.get("item")
    if isinstance(want, Mapping) and isinstance(got, Mapping):
        return want.get("type") == got.get("type")
    return True


def _answers(client: Mapping[str, Any], server: Mapping[str, Any]) -> bool:
    """Whether a recorded server event is the answer to a recorded client event."""
    kind = server.get("type")
    answers = ANSWERS.get(str(client.get("type")))
    if answers is None or kind == "error":
        return True
    if kind not in answers:
        return False
    asked, echoed = client.get("item"), server.get("item")
    if isinstance(asked, Mapping) and isinstance(echoed, Mapping):
        # not an item the server made itself (an assistant message is a message too)
        role = asked.get("role")
        return asked.get("type") == echoed.get("type") and role in (None, echoed.get("role"))
    return True


@dataclass(frozen=True)
class _Step:
    """One expected client event (or a run of audio appends), and the server event index
    from which the replay must wait for it."""

    event: Event
    gate: int
    audio: bool = False


def _plan(cassette: Cassette) -> tuple[list[_Step], list[Event]]:
    """The expected client steps in recorded order, with their gates, and the server events.

    A run of audio appends is one step, whatever server events arrive during it.
    """
    server: list[Event] = []
    expected: list[tuple[Event, bool]] = []
    gates: list[int] = []
    waiting: list[int] = []  # steps whose answer has not come yet
    in_audio_run = False
    for interaction in cassette:
        event = interaction.data
        if interaction.direction == "sent":
            audio = event.get("type") == _APPEND
            if not (audio and in_audio_run):
                expected.append((event, audio))
                gates.append(-1)
                waiting.append(len(expected) - 1)
            in_audio_run = audio
            continue
        index = len(server)
        server.append(event)
        still = []
        for step in waiting:
            if _answers(expected[step][0], event):
                gates[step] = index
            else:
                still.append(step)
        waiting = still
    for step in waiting:  # never answered (the recording ended first): they gate nothing
        gates[step] = len(server)
    steps = [
        _Step(event, gate, audio) for (event, audio), gate in zip(expected, gates, strict=True)
    ]
    return steps, server


class ReplaySession:
    """One client connection replaying one cassette. No I/O: feed client events, send what
    the methods return, in order."""

    def __init__(self, cassette: Cassette) -> None:
        self._steps, self._server = _plan(cassette)
        # The replay may run up to the earliest gate of the steps not matched yet.
        self._limits = [len(self._server)] * (len(self._steps) + 1)
        for n in range(len(self._steps) - 1, -1, -1):
            self._limits[n] = min(self._steps[n].gate, self._limits[n + 1])
        self._matched = 0  # steps matched so far
        self._early_audio = False  # audio arrived that no audio step took yet
        self._sent = 0  # server events released so far
        self._client_events = 0  # non-audio client events seen
        self._ids: dict[str, str] = {}
        self._last_updated: Event | None = None
        self._metadata: dict[str, dict[str, Any]] = {}  # recorded response id -> to echo
        self.divergences: list[Divergence] = []

    @property
    def finished(self) -> bool:
        """Every recorded client event was matched and every server event sent."""
        return self._matched == len(self._steps) and self._sent == len(self._server)

    def open(self) -> list[Event]:
        """What the server says on connect, before any client event."""
        return self._release()

    def receive(self, event: Mapping[str, Any]) -> list[Event]:
        """A client event: the server events it releases, or an ``error`` if it diverges."""
        if event.get("type") == _APPEND:
            self._early_audio = True  # kept for an audio step still ahead
            self._take_early_audio()
            return self._release()
        index = self._client_events
        self._client_events += 1
        position = self._matched
        while position < len(self._steps) and self._steps[position].audio:
            position += 1  # a client that sends no audio where the recording had some
        if position < len(self._steps) and _matches(self._steps[position].event, event):
            _learn_ids(self._steps[position].event, event, self._ids)
            self._echo_metadata(self._steps[position], event)
            self._matched = position + 1
            self._take_early_audio()
            return self._release()
        if event.get("type") == "session.update" and self._last_updated is not None:
            # A bot reconfigures when its tools or instructions change, more often than
            # the recorded one perhaps: that changes no turn, so answer with the echo.
            return [{**self._last_updated, "event_id": f"event_{secrets.token_hex(8)}"}]
        expected = describe(self._steps[position].event) if position < len(self._steps) else None
        divergence = Divergence(index, expected, describe(event))
        self.divergences.append(divergence)
        return [_mismatch_error(str(divergence), event.get("event_id"))]

    def _take_early_audio(self) -> None:
        """Match the current audio step with audio the client already sent (a client that
        streams its audio as soon as it connects, before the event that preceded it in the
        recording, must not leave the replay waiting for more)."""
        current = self._steps[self._matched] if self._matched < len(self._steps) else None
        if self._early_audio and current is not None and current.audio:
            self._matched += 1
            self._early_audio = False

    def _echo_metadata(self, step: _Step, event: Mapping[str, Any]) -> None:
        """Remember the client's ``response.metadata`` for the response that answers it,
        when the recorded client sent none: a server whose recorded response carries
        ``"metadata": null`` echoes what it is given (GA does; xAI has no such field)."""
        sent, recorded = _metadata_of(event), _metadata_of(step.event)
        if event.get("type") != "response.create" or not sent or recorded:
            return
        answer = self._server[step.gate] if step.gate < len(self._server) else {}
        response = answer.get("response")
        if answer.get("type") == "response.created" and isinstance(response, Mapping):
            self._metadata[str(response.get("id"))] = dict(sent)

    def _with_metadata(self, event: Event) -> Event:
        response = event.get("response")
        if not self._metadata or not isinstance(response, Mapping):
            return event
        metadata = self._metadata.get(str(response.get("id")))
        if metadata is None or "metadata" not in response or response["metadata"] is not None:
            return event
        return {**event, "response": {**response, "metadata": metadata}}

    def _release(self) -> list[Event]:
        end = self._limits[self._matched]
        out = [
            self._with_metadata(_substitute(e, self._ids)) for e in self._server[self._sent : end]
        ]
        self._sent = max(self._sent, end)
        for event in out:
            if event.get("type") == "session.updated":
                self._last_updated = event
        return out


def _metadata_of(event: Mapping[str, Any]) -> Mapping[str, Any] | None:
    response = event.get("response")
    metadata = response.get("metadata") if isinstance(response, Mapping) else None
    return metadata if isinstance(metadata, Mapping) and metadata else None


def _mismatch_error(message: str, event_id: Any) -> Event:
    return {
        "type": "error",
        "event_id": f"event_{secrets.token_hex(8)}",
        "error": {
            "type": "invalid_request_error",
            "code": MISMATCH_CODE,
            "message": message,
            "param": None,
            "event_id": event_id if isinstance(event_id, str) else None,
        },
    }


def _is_id_key(key: str) -> bool:
    return key != "event_id" and (key == "id" or key.endswith("_id"))


def _learn_ids(recorded: Any, sent: Any, ids: dict[str, str], key: str = "") -> None:
    """Pair the ids in a recorded client event with the client's own, walking both."""
    if isinstance(recorded, str) or isinstance(sent, str):
        named = key == "metadata" or _is_id_key(key)
        both = isinstance(recorded, str) and isinstance(sent, str)
        if named and both and recorded and recorded != sent:
            ids[recorded] = sent
    elif isinstance(recorded, Mapping) and isinstance(sent, Mapping):
        for name, value in recorded.items():
            if name in sent:
                _learn_ids(value, sent[name], ids, "metadata" if key == "metadata" else name)
    elif isinstance(recorded, Sequence) and isinstance(sent, Sequence):
        for a, b in zip(recorded, sent, strict=False):
            _learn_ids(a, b, ids, key)


def _substitute(value: Any, ids: Mapping[str, str]) -> Any:
    """``value`` with every string that is a learnt recorded id replaced by the client's."""
    if not ids:
        return value
    if isinstance(value, str):
        return ids.get(value, value)
    if isinstance(value, dict):
        return {k: _substitute(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, ids) for v in value]
    return value
