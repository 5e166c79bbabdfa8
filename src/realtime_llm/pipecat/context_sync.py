"""Keep the server's conversation in step with pipecat's ``LLMContext``, without duplicates.

Two writers fill the same conversation. The realtime session itself produces turns (the
user's transcribed audio, the model's replies and tool calls): they are on the server
already, and pipecat's aggregators copy them into the ``LLMContext`` afterwards. The
application produces others (``LLMMessagesAppendFrame``, an RTVI text message, a tool
result): those exist only in the context until we send them.

:class:`ContextSync` tells the two apart on every ``LLMContextFrame``:

* a message object seen before is never sent again (tracked by identity);
* a user message that carries text the server transcribed, and an assistant message
  written from a reply the server spoke, are echoes of server turns: skipped;
* an assistant ``tool_calls`` message whose calls the server made is skipped;
* a tool result is sent once, when it is final: pipecat writes a placeholder first
  (``IN_PROGRESS``, or an async-tool "started" envelope for ``cancel_on_interruption=False``)
  and updates the same message in place when the function returns, so a placeholder is
  looked at again on every sync until it holds the result (an async result that arrives
  after the conversation moved on comes as a separate message instead: see
  :mod:`~realtime_llm.pipecat.context`);
* everything else becomes conversation items, in order.

It holds no socket and sends nothing: it returns items, and the session core decides.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from realtime_llm.pipecat.context import (
    PCM_24K,
    InputAudioFormat,
    is_placeholder_result,
    message_text,
    message_to_items,
)

__all__ = ["ContextSync", "SyncResult"]


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What a context sync found."""

    items: list[dict[str, Any]]
    """Conversation items the server does not have yet."""
    user_echo: bool
    """A user turn the server transcribed was just recorded: the user aggregator's
    realtime flush, which never asks for a reply (the server made one already)."""


def _normalize(text: str) -> str:
    return " ".join(text.split()).lower()


class ContextSync:
    """Decides which context messages the server does not have yet.

    Args:
        audio_format: the session's input format, for the audio of user messages.
    """

    def __init__(self, audio_format: InputAudioFormat = PCM_24K) -> None:
        self.audio_format = audio_format
        self._seen: dict[int, object] = {}  # id -> message, kept alive so ids stay unique
        self._server_user_texts: deque[str] = deque()
        self._server_replies = 0
        self._server_turns: list[tuple[str, str]] = []
        """(role, text) of each turn the session produced whose message no sync has seen
        yet, in the order they happened."""

    # -- what the session produced (called by the glue as it emits frames) --------------

    def server_transcribed_user(self, text: str) -> None:
        """The server transcribed this user audio: its echo in the context is not new."""
        normalized = _normalize(text)
        if normalized:
            self._server_user_texts.append(normalized)
            self._server_turns.append(("user", text))

    def server_replied(self, text: str) -> None:
        """The server spoke or wrote a reply: the assistant message it becomes is not new."""
        self._server_replies += 1
        self._server_turns.append(("assistant", text))

    def unwritten_turns(self, messages: Sequence[Any]) -> list[tuple[str, str]]:
        """The session's own turns (role, text) that are not in ``messages`` yet, in order.

        pipecat's assistant aggregator writes a reply when its end frame reaches it, and
        an output transport lets that frame through only after the reply's audio played;
        in realtime mode the user aggregator writes the user's turn at the reply's start
        or end. A replay assembled meanwhile (a drop mid-reply, a renewal while the bot
        speaks) would find neither in the context. The messages of each role that no sync
        has seen yet are the oldest such turns, written; the rest are still to come.
        """
        written = {"user": 0, "assistant": 0}
        for message in messages:
            if id(message) in self._seen or not isinstance(message, dict):
                continue
            role = message.get("role")
            if role == "user" or (role == "assistant" and not message.get("tool_calls")):
                written[role] += 1
        unwritten: list[tuple[str, str]] = []
        for role, text in self._server_turns:
            if written[role]:
                written[role] -= 1
            else:
                unwritten.append((role, text))
        return unwritten

    def _seen_turn(self, role: str) -> None:
        for index, (turn_role, _) in enumerate(self._server_turns):
            if turn_role == role:
                del self._server_turns[index]
                return

    def mark_sent(self, message: Any) -> None:
        """This message went to the server by another path: never send it again."""
        self._seen[id(message)] = message

    # -- syncing --------------------------------------------------------------------------

    def initial_items(self, messages: Sequence[Any]) -> list[dict[str, Any]]:
        """Items for a whole context (first context frame, or a new session)."""
        items: list[dict[str, Any]] = []
        for message in messages:
            self._seen[id(message)] = message
            if isinstance(message, dict) and message.get("role") == "system" and not items:
                continue  # the leading system message travels as session instructions
            if is_placeholder_result(message):
                del self._seen[id(message)]  # send it once the function returns
                continue
            items.extend(message_to_items(message, self.audio_format))
        return items

    def new_items(
        self, messages: Sequence[Any], server_made_call: Callable[[str], bool]
    ) -> SyncResult:
        """Items for the messages the server does not have yet, in context order."""
        items: list[dict[str, Any]] = []
        user_echo = False
        for message in messages:
            if id(message) in self._seen:
                continue
            if is_placeholder_result(message):
                continue  # not final yet; looked at again on the next sync
            self._seen[id(message)] = message
            if not isinstance(message, dict):
                items.extend(message_to_items(message, self.audio_format))
                continue
            role = message.get("role")
            if role == "user" and self._is_user_echo(message):
                user_echo = True
                continue
            if role == "assistant":
                calls = message.get("tool_calls") or []
                if calls:
                    if all(server_made_call(str(c.get("id"))) for c in calls):
                        continue
                elif self._server_replies > 0:
                    self._server_replies -= 1
                    self._seen_turn("assistant")
                    continue
            items.extend(message_to_items(cast(Any, message), self.audio_format))
        return SyncResult(items, user_echo)

    def _is_user_echo(self, message: dict[str, Any]) -> bool:
        if not self._server_user_texts:
            return False
        text = _normalize(message_text(cast(Any, message)))
        matched = False
        while self._server_user_texts and self._server_user_texts[0] in text:
            self._server_user_texts.popleft()
            self._seen_turn("user")
            matched = True
        return matched
