"""Input audio that cannot be sent yet: held, bounded, and delivered to the next session.

Until the server applies our configuration (and while a lost connection is replaced), the
user's words have nowhere to go. Dropping them loses the start of a sentence; sending them
early risks the wrong format. So they wait here, oldest first, up to a bound: past it the
oldest audio goes first and is counted, never silently.
"""

from __future__ import annotations

from collections import deque

__all__ = ["EarlyAudioBuffer"]


class EarlyAudioBuffer:
    """A bounded FIFO of base64 audio chunks.

    Args:
        limit: how many base64 characters to hold (128,000 is about 2 s of 24 kHz PCM16).
    """

    __slots__ = ("_bytes", "_chunks", "_limit", "dropped_bytes")

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._chunks: deque[str] = deque()
        self._bytes = 0
        self.dropped_bytes = 0
        """Base64 characters dropped because the buffer was full."""

    def __len__(self) -> int:
        return len(self._chunks)

    def hold(self, audio_b64: str) -> None:
        self._chunks.append(audio_b64)
        self._bytes += len(audio_b64)
        while self._bytes > self._limit and self._chunks:
            dropped = self._chunks.popleft()
            self._bytes -= len(dropped)
            self.dropped_bytes += len(dropped)

    def drain(self) -> list[str]:
        """Everything held, oldest first; the buffer is empty afterwards."""
        chunks = list(self._chunks)
        self._chunks.clear()
        self._bytes = 0
        return chunks
