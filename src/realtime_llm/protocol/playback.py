"""Where did the user stop hearing the reply? A model of the playout, in one place.

When the user interrupts, the server has generated more audio than the user heard. The
conversation must be cut (``conversation.item.truncate``) where playback actually was,
or the model "remembers" saying things the user never heard.

Wall-clock time since playback started overshoots whenever audio arrives slower than
real time (a slow server, a reply that pauses): the speaker was silent, waiting. So the
playout is modelled instead. Audio plays in the order it arrived, each chunk starting when
it arrived or when the audio before it finished, whichever is later::

    start(chunk) = max(arrival(chunk), end(previous chunk))
    end(chunk)   = start(chunk) + duration(chunk)
    played(item, now) = sum over its chunks of clamp(now - start(chunk), 0, duration)

So the position advances in real time only while received, unplayed audio is queued; it
never passes what was received; a pause in the middle of an item (the transport stops,
then starts again) does not restart the count. Consecutive chunks merge into one
*segment*, so an item costs a few numbers, not one per delta. Items queue behind each
other: a reply that arrives while the previous one still plays starts after it.

The output transport's ``BotStartedSpeaking`` anchors the model: the audio received
while the transport was idle (before its first start, or since its last stop) is taken to
start when the transport says it started (pipeline and device latency). Only that audio
moves: the runs of the model (audio after a gap in arrival) are not the transport's, and
a start must never move audio the transport already played; a gap of the model while the
transport plays is silence it waited through. ``BotStoppedSpeaking`` ends the transport's
run, and drops the items the model has fully played and whose audio is done
(``response.output_audio.done``): a reply that arrived just before the previous one's
stop is kept, and so is an item still streaming.

``audio_end_ms == 0`` cannot be truncated (the server rejects it): the user heard nothing,
so the item is deleted instead. No clock is read here; ``now`` is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PlaybackTracker", "TruncationPoint"]

_CONTIGUOUS_S = 0.001
"""Audio arriving this close after the queue's end continues it: paced deltas land right
at the end, on either side by float noise, and would otherwise split into one segment
each."""


@dataclass(frozen=True, slots=True)
class TruncationPoint:
    """What to do with an item: truncate at ``audio_end_ms``, or delete it (0 ms)."""

    item_id: str
    audio_end_ms: int

    @property
    def delete(self) -> bool:
        return self.audio_end_ms <= 0


class _Item:
    """One audio item's segments: ``[start_s, nbytes]`` runs of contiguous playout."""

    __slots__ = ("done", "item_id", "received_bytes", "segments")

    def __init__(self, item_id: str) -> None:
        self.item_id = item_id
        self.received_bytes = 0
        self.segments: list[list[float]] = []
        self.done = False
        """The server finished this item's audio: nothing more will arrive."""


class PlaybackTracker:
    """Models the playout of the assistant audio received, item by item.

    Args:
        bytes_per_ms: output audio bytes per millisecond (48 for 24 kHz PCM16 mono).
    """

    __slots__ = ("_bytes_per_ms", "_items", "_playing", "_queue_end", "_unanchored_from")

    def __init__(self, bytes_per_ms: float = 48.0) -> None:
        self._bytes_per_ms = bytes_per_ms
        self._items: list[_Item] = []
        self._queue_end = float("-inf")
        """When everything received so far will have played."""
        self._playing = False
        """Between the transport's BotStartedSpeaking and its BotStoppedSpeaking."""
        self._unanchored_from: float | None = None
        """Where the audio received while the transport was idle starts, in the model:
        the next BotStartedSpeaking moves it (and what follows) to when it really began."""

    @property
    def item_id(self) -> str | None:
        """The newest item not known to be fully played, if any."""
        return self._items[-1].item_id if self._items else None

    def set_format(self, bytes_per_ms: float) -> None:
        self._bytes_per_ms = bytes_per_ms

    def audio_received(self, item_id: str, nbytes: int, now: float) -> None:
        """Queue ``nbytes`` of ``item_id``'s audio, arrived at ``now`` (hot path)."""
        items = self._items
        item = items[-1] if items else None
        if item is None or item.item_id != item_id:
            item = _Item(item_id)
            items.append(item)
        queue_end = self._queue_end
        if now <= queue_end + _CONTIGUOUS_S:
            start = queue_end
            segments = item.segments
            if segments:
                # The newest item's last segment ends where the queue ends: it grows.
                segments[-1][1] += nbytes
            else:
                segments.append([start, float(nbytes)])
        else:
            start = now  # the queue had drained: the speaker waited until now
            item.segments.append([start, float(nbytes)])
        if not self._playing and self._unanchored_from is None:
            self._unanchored_from = start
        item.received_bytes += nbytes
        self._queue_end = start + nbytes / self._bytes_per_ms / 1000

    def playback_started(self, now: float) -> None:
        """The output transport started playing: what it waited for starts at ``now``."""
        if self._playing or not self._items:
            return  # a repeated start; or one for nothing received (ignored)
        self._playing = True
        since = self._unanchored_from
        self._unanchored_from = None
        if since is None or now <= since:
            return
        shift = now - since
        for item in self._items:
            for segment in item.segments:
                if segment[0] >= since:
                    segment[0] += shift
        self._queue_end += shift

    def audio_done(self, item_id: str) -> None:
        """The server sent all of ``item_id``'s audio."""
        for item in self._items:
            if item.item_id == item_id:
                item.done = True

    def playback_stopped(self, now: float) -> None:
        """The output transport ran dry: its run ends, and the finished items fully
        played by ``now`` are dropped.

        An item still streaming stays, however much of it played: more may come, and
        its count goes on from where it is.
        """
        self._items = [i for i in self._items if not i.done or self._unheard(i, now)]
        self._playing = False
        # The next start moves only audio received from now on. What came before the stop
        # was played or queued by the transport; after a stop that arrived late (the next
        # reply had begun) that costs at most the pipeline's delay.
        self._unanchored_from = None

    def _unheard(self, item: _Item, now: float) -> bool:
        return round(self._played_ms(item, now)) < int(self._received(item))

    def _received(self, item: _Item) -> float:
        return item.received_bytes / self._bytes_per_ms

    def _played_ms(self, item: _Item, now: float) -> float:
        played = 0.0
        per_ms = self._bytes_per_ms
        for start, nbytes in item.segments:
            if now <= start:
                break
            played += min((now - start) * 1000, nbytes / per_ms)
        return played

    def received_ms(self) -> int:
        """Audio received for the newest item, in ms."""
        return int(self._received(self._items[-1])) if self._items else 0

    def truncation_points(self, now: float) -> list[TruncationPoint]:
        """Where to cut every item not fully heard if the user interrupts ``now``.

        The item playing is truncated where it is; items queued behind it, never heard,
        are deleted (0 ms). An item still streaming is cut at what was received even when
        all of that played: the server may have generated more that never arrived.
        """
        points: list[TruncationPoint] = []
        for item in self._items:
            received = int(self._received(item))
            played = min(received, round(self._played_ms(item, now)))
            if played < received or not item.done:
                points.append(TruncationPoint(item.item_id, max(0, played)))
        return points

    def truncation_point(self, now: float) -> TruncationPoint | None:
        """The first of :meth:`truncation_points` (the item playing ``now``), or None."""
        points = self.truncation_points(now)
        return points[0] if points else None

    def forget(self) -> None:
        """Playback was cut (or the socket went): nothing is queued any more."""
        self._items = []
        self._queue_end = float("-inf")
        self._playing = False
        self._unanchored_from = None
