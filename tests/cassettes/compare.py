"""Compare two server event streams the way the conformance suite does.

What is compared, and nothing else:

* **event types in order**, a run of consecutive deltas (of any ``*.delta`` types) counting
  as one step, since how a reply is chunked is the model's business;
* **field names at every level** (list elements merged: ``output[].content[].type``);
* **JSON value types** of each field (``string``, ``number``, ``boolean``, ``null``,
  ``object``, ``array``).

Values are not compared: ids, texts and audio differ from one run to the next. The result is
a set of :class:`Difference`; :mod:`.tolerances` says which of them are accepted.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Event = Mapping[str, Any]
Kind = Literal["missing event", "extra event", "order", "missing field", "extra field", "type"]


@dataclass(frozen=True, order=True)
class Difference:
    """One way the local stream differs from the recorded one.

    ``event`` is the event type (a delta run's types joined by ``+``); ``path`` the field
    (empty for event-level differences); ``detail`` the JSON types, for ``type``.
    """

    kind: Kind
    event: str
    path: str = ""
    detail: str = ""

    def __str__(self) -> str:
        where = f" {self.path}" if self.path else ""
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.kind}: {self.event}{where}{detail}"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def shape(
    value: Any, path: str = "", into: dict[str, set[str]] | None = None
) -> dict[str, set[str]]:
    """Every field path of a JSON value and the JSON types seen there."""
    into = {} if into is None else into
    if path:
        into.setdefault(path, set()).add(_json_type(value))
    if isinstance(value, Mapping):
        for key, child in value.items():
            shape(child, f"{path}.{key}" if path else str(key), into)
    elif isinstance(value, list):
        for child in value:
            shape(child, f"{path}[]", into)
    return into


@dataclass(frozen=True)
class Step:
    """One step of a stream: an event, or a run of deltas."""

    name: str
    events: tuple[Event, ...]

    def shape(self) -> dict[str, set[str]]:
        merged: dict[str, set[str]] = {}
        for event in self.events:
            shape(event, "", merged)
        return merged


def steps(events: Iterable[Event], ignored: Iterable[str] = ()) -> list[Step]:
    """``events`` as steps (runs of deltas folded), without the ``ignored`` types."""
    skip = set(ignored)
    out: list[Step] = []
    run: list[Event] = []

    def close_run() -> None:
        if run:
            names = "+".join(sorted({str(e["type"]) for e in run}))
            out.append(Step(names, tuple(run)))
            run.clear()

    for event in events:
        kind = str(event.get("type"))
        if kind in skip:
            continue
        if kind.endswith(".delta"):
            run.append(event)
            continue
        close_run()
        out.append(Step(kind, (event,)))
    close_run()
    return out


def streams(
    events: Iterable[Event], ignored: Iterable[str], concurrent: Iterable[str]
) -> dict[str, list[Step]]:
    """``events`` split into the main stream and one per ``concurrent`` type prefix (events
    that run beside the main stream and are only ordered among themselves), as steps."""
    prefixes = tuple(concurrent)
    split: dict[str, list[Event]] = {"": [], **{p: [] for p in prefixes}}
    for event in events:
        kind = str(event.get("type"))
        split[next((p for p in prefixes if kind.startswith(p)), "")].append(event)
    return {name: steps(part, ignored) for name, part in split.items()}


def compare(recorded: Sequence[Step], local: Sequence[Step]) -> set[Difference]:
    """The differences of ``local`` from ``recorded``."""
    found: set[Difference] = set()
    missing: list[str] = []
    extra: list[str] = []
    matcher = difflib.SequenceMatcher(
        None, [s.name for s in recorded], [s.name for s in local], autojunk=False
    )
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            for want, got in zip(recorded[a0:a1], local[b0:b1], strict=True):
                found |= _fields(want.name, want.shape(), got.shape())
            continue
        missing += [s.name for s in recorded[a0:a1]]
        extra += [s.name for s in local[b0:b1]]
    moved = set(missing) & set(extra)
    found |= {Difference("order", name) for name in moved}
    found |= {Difference("missing event", name) for name in set(missing) - moved}
    found |= {Difference("extra event", name) for name in set(extra) - moved}
    # Fields of events that moved or went missing are still compared, with their namesake.
    for name in moved:
        want = next(s for s in recorded if s.name == name)
        got = next(s for s in local if s.name == name)
        found |= _fields(name, want.shape(), got.shape())
    return found


def _fields(event: str, want: dict[str, set[str]], got: dict[str, set[str]]) -> set[Difference]:
    found = {Difference("missing field", event, p) for p in want.keys() - got.keys()}
    found |= {Difference("extra field", event, p) for p in got.keys() - want.keys()}
    for path in want.keys() & got.keys():
        if want[path] != got[path]:
            detail = f"recorded {'|'.join(sorted(want[path]))}, local {'|'.join(sorted(got[path]))}"
            found.add(Difference("type", event, path, detail))
    return found
