"""The local server against real servers' recordings: same event stream, per dialect.

For each recorded session, the recorded client events are replayed to the local server
speaking the dialect that imitates the recorded server, with a scripted engine built from
the recorded turns (:mod:`.drive`). Its event stream is compared with the recorded one:
event types in order (runs of deltas as one), field names at every level, JSON value types
(:mod:`.compare`). Every accepted difference is in :mod:`.tolerances`, with its reason.
"""

from __future__ import annotations

import copy

import pytest

from realtime_llm.server.cassette import Cassette

from .compare import Difference, compare, steps, streams
from .drive import replay_client_side
from .recorded import RECORDED, Recorded
from .tolerances import (
    CONCURRENT_STREAMS,
    IGNORED_EVENTS,
    TOLERANCES,
    without_spoken_preamble,
)

_FOUND: dict[str, set[Difference]] = {}


async def differences(recorded: Recorded) -> set[Difference]:
    """What differs between the recorded stream and the local server's (computed once)."""
    if recorded.id not in _FOUND:
        cassette = Cassette.load(recorded.file)
        ignored = frozenset(IGNORED_EVENTS)
        local = await replay_client_side(cassette, recorded.server_dialect, ignored)
        recorded_events = without_spoken_preamble(cassette.events("received"))
        want = streams(recorded_events, ignored, CONCURRENT_STREAMS)
        got = streams(local, ignored, CONCURRENT_STREAMS)
        found: set[Difference] = set()
        for name in want:
            found |= compare(want[name], got[name])
        _FOUND[recorded.id] = found
    return _FOUND[recorded.id]


@pytest.mark.parametrize("recorded", RECORDED, ids=lambda r: r.id)
async def test_local_server_streams_like_the_recorded_server(recorded: Recorded) -> None:
    found = await differences(recorded)
    untolerated = sorted(
        d for d in found if not any(t.matches(recorded.server_dialect, d) for t in TOLERANCES)
    )
    assert not untolerated, (
        f"the local {recorded.server_dialect!r} server differs from the recorded one "
        "(fix it, or list the difference in tests/cassettes/tolerances.py with its reason):\n  "
        + "\n  ".join(map(str, untolerated))
    )


def test_the_comparison_finds_each_kind_of_difference() -> None:
    """The comparison is not vacuous: a recorded stream, changed, is reported as changed."""
    recorded = Cassette.load(RECORDED[0].file).events("received")
    changed = copy.deepcopy(recorded)
    del changed[0]["session"]["instructions"]  # a field gone
    changed[0]["session"]["model"] = 7  # a type changed
    changed[0]["session"]["new_field"] = 1  # a field added
    changed.insert(1, {"type": "rate_limits.updated", "rate_limits": []})  # an event added
    changed[-2], changed[-3] = changed[-3], changed[-2]  # two events swapped
    del changed[2]  # session.updated gone
    base, other = steps(recorded), steps(changed)
    assert steps(recorded) == base  # deterministic
    assert compare(base, base) == set()
    found = compare(base, other)
    swapped = {recorded[-2]["type"], recorded[-3]["type"]}
    moved = {d.event for d in found if d.kind == "order"}
    assert len(moved) == 1 and moved <= swapped  # either may be the one that moved
    assert {d for d in found if d.kind != "order"} == {
        Difference("missing field", "session.created", "session.instructions"),
        Difference("extra field", "session.created", "session.new_field"),
        Difference("type", "session.created", "session.model", "recorded string, local number"),
        Difference("extra event", "rate_limits.updated"),
        Difference("missing event", "session.updated"),
    }


def test_a_run_of_deltas_is_one_step() -> None:
    def delta(kind: str) -> dict[str, str]:
        return {"type": f"response.output_{kind}.delta", "delta": "x"}

    few = steps([delta("audio"), delta("audio_transcript"), {"type": "response.done"}])
    many = steps([delta("audio_transcript")] + [delta("audio")] * 9 + [{"type": "response.done"}])
    assert (
        [s.name for s in few]
        == [s.name for s in many]
        == [
            "response.output_audio.delta+response.output_audio_transcript.delta",
            "response.done",
        ]
    )
    assert compare(few, many) == set()


async def test_every_tolerance_is_needed() -> None:
    """An entry that matches no difference any more is stale: remove it (when the local
    server is fixed, the KNOWN entries it settles show up here)."""
    used = set()
    for recorded in RECORDED:
        for difference in await differences(recorded):
            for n, tolerance in enumerate(TOLERANCES):
                if tolerance.matches(recorded.server_dialect, difference):
                    used.add(n)
    stale = [t for n, t in enumerate(TOLERANCES) if n not in used]
    assert not stale, "tolerances that match nothing any more (remove them):\n  " + "\n  ".join(
        f"{t.dialects} {t.kind} {t.event} {t.path}: {t.reason}" for t in stale
    )
