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
* a tool result is sent once, when it is final (pipecat writes ``IN_PROGRESS`` first and
  updates the same message in place when the function returns);
* everything else becomes conversation items, in order;
* a context with nothing unseen at all is a request to run the model (``LLMRunFrame``).

It holds no socket and sends nothing: it returns items, and the session core decides.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, cast

from realtime_llm.pipecat.context import message_text, message_to_items

__all__ = ["ContextSync"]

_PLACEHOLDER_RESULTS = frozenset({"IN_PROGRESS"})


def _normalize(text: str) -> str:
    return " ".join(text.split()).lower()


class ContextSync:
    """Decides which context messages the server does not have yet."""

    def __init__(self) -> None:
        self._seen: dict[int, object] = {}  # id -> message, kept alive so ids stay unique
        self._server_user_texts: deque[str] = deque()
        self._server_replies = 0

    # -- what the session produced (called by the glue as it emits frames) --------------

    def server_transcribed_user(self, text: str) -> None:
        """The server transcribed this user audio: its echo in the context is not new."""
        normalized = _normalize(text)
        if normalized:
            self._server_user_texts.append(normalized)

    def server_replied(self) -> None:
        """The server spoke or wrote a reply: the assistant message it becomes is not new."""
        self._server_replies += 1

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
            if _is_placeholder_result(message):
                del self._seen[id(message)]  # send it once the function returns
                continue
            items.extend(message_to_items(message))
        return items

    def new_items(
        self, messages: Sequence[Any], server_made_call: Callable[[str], bool]
    ) -> list[dict[str, Any]] | None:
        """Items for the messages the server does not have yet, in context order.

        Returns None when the context holds nothing unseen at all: the frame is a plain
        "run the LLM" (``LLMRunFrame``), not a sync. An empty list means there were new
        messages, but all of them are echoes of the session's own turns.
        """
        items: list[dict[str, Any]] = []
        unseen = False
        for message in messages:
            if id(message) in self._seen:
                continue
            unseen = True
            if _is_placeholder_result(message):
                continue  # not final yet; looked at again on the next sync
            self._seen[id(message)] = message
            if not isinstance(message, dict):
                items.extend(message_to_items(message))
                continue
            role = message.get("role")
            if role == "user" and self._is_user_echo(message):
                continue
            if role == "assistant":
                calls = message.get("tool_calls") or []
                if calls:
                    if all(server_made_call(str(c.get("id"))) for c in calls):
                        continue
                elif self._server_replies > 0:
                    self._server_replies -= 1
                    continue
            items.extend(message_to_items(cast(Any, message)))
        return items if unseen else None

    def _is_user_echo(self, message: dict[str, Any]) -> bool:
        if not self._server_user_texts:
            return False
        text = _normalize(message_text(cast(Any, message)))
        matched = False
        while self._server_user_texts and self._server_user_texts[0] in text:
            self._server_user_texts.popleft()
            matched = True
        return matched


def _is_placeholder_result(message: Any) -> bool:
    return (
        isinstance(message, dict)
        and message.get("role") == "tool"
        and message.get("content") in _PLACEHOLDER_RESULTS
    )
