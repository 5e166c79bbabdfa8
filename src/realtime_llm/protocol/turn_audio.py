"""The input audio of the user's turns, kept so a turn without a transcript can be replayed.

A user turn the server never transcribed (transcription off, failed, or empty) exists on
the old server only as audio. After a drop or a renewal the new session has none of it,
and the model answers a conversation with holes in it. So the audio sent since the last
commit is kept here, and when the server commits a turn that will have no transcript, the
core hands that turn's audio to the glue (:class:`~realtime_llm.protocol.outputs.UserAudioTurn`),
which records it in the conversation history for the replay.

Bounded in two ways, both documented in docs/errors.md ("Replay"):

* a turn keeps at most ``max_turn_chars`` of base64 (the newest; 30 s of 24 kHz PCM16 by
  default): a user who talks for two minutes is replayed as the last 30 s;
* with server VAD, until speech starts (``speech_started``) only the newest ``lead_chars``
  (about 1 s) are kept: the silence between turns is not the turn, would be billed again
  at every replay, and would cost a session 2 MB of memory while the user is quiet. The
  lead covers the server's prefix padding and its detection delay.

Turns waiting for a transcript are held (at most :data:`MAX_AWAITING` of them, the oldest
dropped first) until the transcript settles them: a transcript drops the audio, a failure
or an empty one hands it out.

The chunks are the base64 strings that were sent, kept by reference: recording costs an
append and an addition per input frame, no copy and no decoding (that happens once per
turn, in the glue, and only for a turn without a transcript).
"""

from __future__ import annotations

from collections import deque

__all__ = ["MAX_AWAITING", "TurnAudioRecorder"]

MAX_AWAITING = 8
"""Committed turns whose transcript is still to come, at most (the oldest go first)."""


class TurnAudioRecorder:
    """The input audio since the last commit, and the committed turns awaiting a transcript.

    Args:
        max_turn_chars: base64 characters kept per turn (the newest).
        lead_chars: base64 characters kept from before the start of speech.
    """

    __slots__ = ("_awaiting", "_chars", "_chunks", "_keep", "_lead", "_limit", "server_vad")

    def __init__(self, max_turn_chars: int, lead_chars: int) -> None:
        self._limit = max_turn_chars
        self._lead = lead_chars
        self.server_vad = True
        """Whether the server detects turns (then a turn starts at ``speech_started``)."""
        self._keep = lead_chars
        """What ``add`` keeps now: the lead before speech (server VAD), else a turn."""
        self._chunks: deque[str] = deque()
        self._chars = 0
        self._awaiting: dict[str, tuple[str, ...]] = {}

    def set_bounds(self, max_turn_chars: int, lead_chars: int) -> None:
        """New bounds (the session's input format or turn detection changed)."""
        self._limit, self._lead = max_turn_chars, lead_chars
        self._keep = lead_chars if self.server_vad else max_turn_chars

    def add(self, audio_b64: str) -> None:
        """Input audio that went to the server (hot path: 50 times a second)."""
        self._chunks.append(audio_b64)
        self._chars += len(audio_b64)
        if self._chars > self._keep:
            self._trim(self._keep)

    def speech_started(self) -> None:
        """The server heard speech begin: the turn grows from the lead kept before it."""
        self._keep = self._limit

    def clear(self) -> None:
        """The input buffer was cleared (or the session is new): nothing is a turn yet."""
        self._chunks.clear()
        self._chars = 0
        self._keep = self._lead if self.server_vad else self._limit

    def reset(self) -> None:
        """A new session: neither the buffer nor the awaited turns are its."""
        self.clear()
        self._awaiting.clear()

    def committed(self) -> tuple[str, ...]:
        """The buffer became a turn: its audio (possibly empty), and the buffer is empty."""
        turn = tuple(self._chunks)
        self.clear()
        return turn

    def await_transcript(self, item_id: str, audio: tuple[str, ...]) -> None:
        """Keep a committed turn's audio until its transcript settles it."""
        if not audio:
            return
        self._awaiting[item_id] = audio
        while len(self._awaiting) > MAX_AWAITING:
            del self._awaiting[next(iter(self._awaiting))]

    def settle(self, item_id: str) -> tuple[str, ...]:
        """The awaited turn's audio (empty if none was kept); it is no longer held."""
        return self._awaiting.pop(item_id, ())

    def take_awaiting(self) -> list[tuple[str, tuple[str, ...]]]:
        """Every turn still awaiting its transcript, oldest first; none is held afterwards."""
        turns = list(self._awaiting.items())
        self._awaiting.clear()
        return turns

    def _trim(self, keep: int) -> None:
        chunks = self._chunks
        while self._chars > keep and chunks:
            self._chars -= len(chunks.popleft())
