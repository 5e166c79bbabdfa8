"""The playout model against a simulated output transport, over any timing.

The speaker here is a model of pipecat's output transport: it plays each chunk when it
reaches it (``D`` after the service pushed it) or when the chunk before it ends,
says ``BotStartedSpeaking`` when it starts after being idle, and ``BotStoppedSpeaking``
once it has been idle for ``S``; those frames reach the tracker ``U`` later. Replies come
back to back or after a pause, in bursts, in real time or slower; the user interrupts at
any moment. Wherever that is, the tracker must cut every item where the simulated speaker
really was, within the delays it cannot see (``U + D``), and never list an item the
speaker had finished (the server would truncate or delete what the user heard).
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from realtime_llm.protocol.playback import PlaybackTracker

MS = 48  # bytes per ms, 24 kHz PCM16 mono


@dataclass(frozen=True)
class Reply:
    gap_s: float  # after the previous reply's last delta
    deltas: int
    delta_ms: int
    pace: float  # arrival interval / delta length: 0 a burst, 1 real time


@dataclass
class Chunk:
    item: str
    arrival: float  # at the service
    ms: int
    plays_at: float = 0.0  # at the speaker


def arrivals(replies: list[Reply]) -> list[Chunk]:
    chunks: list[Chunk] = []
    t = 1.0
    for n, reply in enumerate(replies):
        t += reply.gap_s
        for _ in range(reply.deltas):
            chunks.append(Chunk(f"item_{n}", t, reply.delta_ms))
            t += reply.delta_ms / 1000 * reply.pace
    return chunks


def play(chunks: list[Chunk], d: float, s: float) -> tuple[list[float], list[float]]:
    """Schedule the chunks on the speaker; returns its start and stop times."""
    starts: list[float] = []
    stops: list[float] = []
    busy_until = float("-inf")
    for chunk in chunks:
        reached = chunk.arrival + d
        if not starts or reached >= busy_until + s:
            if starts:
                stops.append(busy_until + s)
            starts.append(reached)
            chunk.plays_at = reached
        else:
            chunk.plays_at = max(reached, busy_until)
        busy_until = chunk.plays_at + chunk.ms / 1000
    stops.append(busy_until + s)
    return starts, stops


def heard_ms(chunks: list[Chunk], item: str, now: float) -> float:
    return sum(min(max(0.0, (now - c.plays_at) * 1000), c.ms) for c in chunks if c.item == item)


replies = st.lists(
    st.builds(
        Reply,
        gap_s=st.sampled_from([0.0, 0.0, 0.05, 0.2, 0.4, 1.0]),
        deltas=st.integers(1, 25),
        delta_ms=st.sampled_from([20, 40, 100, 200]),
        pace=st.sampled_from([0.0, 0.5, 1.0, 1.0, 1.5]),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(
    replies=replies,
    d=st.sampled_from([0.0, 0.005, 0.02]),
    u=st.sampled_from([0.0, 0.003, 0.02]),
    s=st.sampled_from([0.0, 0.1, 0.35]),
    at=st.floats(0.0, 1.0),
)
def test_cuts_where_the_speaker_was(
    replies: list[Reply], d: float, u: float, s: float, at: float
) -> None:
    chunks = arrivals(replies)
    starts, stops = play(chunks, d, s)
    last_arrival = {c.item: c.arrival for c in chunks}
    events: list[tuple[float, int, str, str, int]] = []
    for c in chunks:
        events.append((c.arrival, 0, "audio", c.item, c.ms))
    for item, t in last_arrival.items():
        events.append((t + 0.001, 1, "done", item, 0))
    # The transport says it stopped before it says it started again, both ``u`` later.
    events += [(t + u, 3, "started", "", 0) for t in starts]
    events += [(t + u, 2, "stopped", "", 0) for t in stops]
    events.sort()
    end = max(t for t, *_ in events) + 1.0
    now = 1.0 + at * (end - 1.0)

    tracker = PlaybackTracker()
    for t, _, kind, item, ms in events:
        if t > now:
            break
        if kind == "audio":
            tracker.audio_received(item, ms * MS, t)
        elif kind == "done":
            tracker.audio_done(item)
        elif kind == "started":
            tracker.playback_started(t)
        else:
            tracker.playback_stopped(t)

    tolerance = (u + d) * 1000 + 2
    points = {p.item_id: p.audio_end_ms for p in tracker.truncation_points(now)}
    received = {
        item: sum(c.ms for c in chunks if c.item == item and c.arrival <= now)
        for item in last_arrival
    }
    for item, cut in points.items():
        heard = min(heard_ms(chunks, item, now), received[item])
        assert abs(cut - heard) <= tolerance, (item, cut, heard, points)
    for item, got in received.items():
        if got and item not in points:
            done = last_arrival[item] + 0.001 <= now
            assert done and heard_ms(chunks, item, now) >= got - tolerance, (item, points)
