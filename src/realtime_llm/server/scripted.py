"""``ScriptedEngine``: a conversation written in advance, for testing bots end to end.

A bot test knows what its user will say and what the "model" should answer. The script is a
list of :class:`Turn`; the engine keeps two cursors over it:

* each committed user audio buffer is "transcribed" as the next turn's ``user`` text
  (turns with ``user=None`` are skipped: they only carry a reply, e.g. after a tool call or
  for a turn the bot types with ``conversation.item.create``);
* each response uses the next turn's ``reply``: text to speak, a :class:`ToolCall` (or
  several), or a :class:`Reply`.

So a tool round trip is two turns: ``Turn(user="weather in Paris?",
reply=ToolCall.of("get_weather", city="Paris"))`` then ``Turn(reply="Sunny in Paris.")``,
which answers the response the bot creates after sending the ``function_call_output``.
When the script runs out the engine keeps answering with ``fallback`` (and transcribes
``""``). Everything the engine was asked is kept in :attr:`ScriptedEngine.requests`.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .engine import Reply, ResponseContext, ToolCall, tone_synthesize

__all__ = ["ReplyLike", "ScriptedEngine", "Turn"]

ReplyLike = str | ToolCall | Sequence[ToolCall] | Reply


def _as_reply(value: ReplyLike) -> Reply:
    if isinstance(value, Reply):
        return value
    if isinstance(value, str):
        return Reply.say(value)
    if isinstance(value, ToolCall):
        return Reply.call(value)
    return Reply.call(*value)


@dataclass(frozen=True)
class Turn:
    """One scripted exchange: what the user says (``None``: no audio turn) and the reply."""

    user: str | None = None
    reply: ReplyLike = ""


class ScriptedEngine:
    """Plays back a fixed script; thread-safe, and shared by all connections of a server."""

    def __init__(
        self,
        turns: Iterable[Turn | tuple[str | None, ReplyLike]] = (),
        *,
        fallback: str = "I have nothing more to say.",
        synthesizer: Callable[[str], bytes] = tone_synthesize,
        keep_requests: int = 8,
    ) -> None:
        self.turns: list[Turn] = [t if isinstance(t, Turn) else Turn(*t) for t in turns]
        self.fallback = fallback
        self._synthesizer = synthesizer
        self._lock = threading.Lock()
        self._heard = 0  # next turn whose ``user`` text a commit will get
        self._replied = 0  # next turn whose reply a response will get
        self.requests: deque[tuple[list[dict[str, Any]], ResponseContext]] = deque(
            maxlen=keep_requests
        )
        """The last ``keep_requests`` ``respond`` calls: a copy of the conversation and its
        context each (bounded, so a long session does not keep every copy)."""

    @property
    def exhausted(self) -> bool:
        """True once every scripted reply has been used."""
        with self._lock:
            return self._replied >= len(self.turns)

    def expected_phrases(self) -> tuple[str, ...]:
        """The user lines of the script, in order: what a speech engine should listen for."""
        with self._lock:
            return tuple(t.user for t in self.turns if t.user)

    def transcribe(self, pcm16_24k: bytes) -> str:
        with self._lock:
            while self._heard < len(self.turns):
                turn = self.turns[self._heard]
                self._heard += 1
                if turn.user is not None:
                    return turn.user
            return ""

    def respond(self, conversation: Sequence[Mapping[str, Any]], context: ResponseContext) -> Reply:
        with self._lock:
            # The server hands each call fresh copies of its items: no need to copy again.
            self.requests.append(([dict(i) for i in conversation], context))
            if self._replied >= len(self.turns):
                return Reply.say(self.fallback)
            turn = self.turns[self._replied]
            self._replied += 1
            return _as_reply(turn.reply)

    def synthesize(self, text: str) -> bytes:
        return self._synthesizer(text)
