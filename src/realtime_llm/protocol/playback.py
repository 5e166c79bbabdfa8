"""Where did the user stop hearing the reply? The truncation arithmetic, in one place.

When the user interrupts, the server has generated more audio than the user heard. The
conversation must be cut (``conversation.item.truncate``) where playback actually was,
or the model "remembers" saying things the user never heard.

The rule, with every input explicit (no clock is read here; ``now`` is passed in)::

    received_ms = bytes received for the item / bytes per ms
    played_ms   = now - playback start          (playback start: the output transport's
                                                 BotStartedSpeaking, else the first delta)
    audio_end_ms = min(received_ms, played_ms)  never past what the server has

``audio_end_ms == 0`` cannot be truncated (the server rejects it): the user heard nothing,
so the item is deleted instead.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PlaybackTracker", "TruncationPoint"]


@dataclass(frozen=True, slots=True)
class TruncationPoint:
    """What to do with the playing item: truncate at ``audio_end_ms``, or delete it (0 ms)."""

    item_id: str
    audio_end_ms: int

    @property
    def delete(self) -> bool:
        return self.audio_end_ms <= 0


class PlaybackTracker:
    """Tracks the one assistant audio item being played, and how much of it arrived.

    Args:
        bytes_per_ms: output audio bytes per millisecond (48 for 24 kHz PCM16 mono).
    """

    __slots__ = ("_bytes_per_ms", "_item_id", "_received_bytes", "_started_at")

    def __init__(self, bytes_per_ms: float = 48.0) -> None:
        self._bytes_per_ms = bytes_per_ms
        self._item_id: str | None = None
        self._received_bytes = 0
        self._started_at: float | None = None

    @property
    def item_id(self) -> str | None:
        """The audio item currently playing, if any."""
        return self._item_id

    def set_format(self, bytes_per_ms: float) -> None:
        self._bytes_per_ms = bytes_per_ms

    def audio_received(self, item_id: str, nbytes: int, now: float) -> None:
        """Count audio for ``item_id``; a new item replaces the old one (hot path)."""
        if item_id != self._item_id:
            self._item_id = item_id
            self._received_bytes = 0
            self._started_at = now
        self._received_bytes += nbytes

    def playback_started(self, now: float) -> None:
        """The output transport started playing: measure from here, not from receipt."""
        if self._item_id is not None:
            self._started_at = now

    def received_ms(self) -> int:
        return int(self._received_bytes / self._bytes_per_ms)

    def truncation_point(self, now: float) -> TruncationPoint | None:
        """Where to cut the playing item if the user interrupts ``now``, or None."""
        if self._item_id is None or self._started_at is None:
            return None
        played_ms = int((now - self._started_at) * 1000)
        return TruncationPoint(self._item_id, max(0, min(self.received_ms(), played_ms)))

    def forget(self) -> None:
        """The reply finished playing (or was cut): nothing is playing now."""
        self._item_id = None
        self._received_bytes = 0
        self._started_at = None
