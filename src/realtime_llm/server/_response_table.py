"""Every response of one session: the one-active-response rule and what engines are given.

:class:`~._responses.ResponseRun` knows one response's event stream; this table knows them
all. It enforces that only one response writes to the conversation at a time (out-of-band
``conversation: "none"`` responses may run beside it), resolves ``response.create`` params
against the session defaults, builds the engine's view of the context when the engine is
about to run, and estimates input usage, counting as cached the leading items an earlier
response already had in its context.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._conversation import Conversation, Entry, entry_from_client
from ._responses import ResponseParams, ResponseRun, TokenCount, count_tokens, text_tokens
from ._schema import Problem
from ._wire import IdGenerator
from .engine import Reply, ResponseContext

__all__ = ["ResponseTable"]

Event = dict[str, Any]


def _voice_name(voice: Any) -> str:
    """A built-in voice name, or the id of a custom voice object."""
    return voice if isinstance(voice, str) else str(voice.get("id", ""))


@dataclass
class _Pending:
    """One response: its run, and the context its engine call will get."""

    run: ResponseRun
    instructions: str
    tools: list[dict[str, Any]]
    tool_choice: Any
    input: list[Entry] | None  # explicit ``response.input``; None: the conversation


class ResponseTable:
    """The responses of a session that are still running."""

    def __init__(
        self,
        conversation: Conversation,
        new_id: IdGenerator,
        *,
        conversation_id: str,
        chunk_ms: int,
    ) -> None:
        self._conversation = conversation
        self._new_id = new_id
        self._conversation_id = conversation_id
        self._chunk_ms = chunk_ms
        self._pending: dict[str, _Pending] = {}
        self._seen: set[str] = set()  # items some earlier response had in its context
        self.audio_produced = False
        """True once any response streamed assistant audio (the voice is then fixed)."""

    def active_id(self) -> str | None:
        """The response writing to the conversation right now, if any."""
        for pending in self._pending.values():
            if pending.run.active and pending.run.params.in_conversation:
                return pending.run.id
        return None

    def start(
        self, params: Mapping[str, Any], session: Mapping[str, Any]
    ) -> tuple[str, list[Event]] | Problem:
        """Create a response from ``response.create`` params; its id and first events."""
        in_conversation = params.get("conversation", "auto") != "none"
        active = self.active_id()
        if in_conversation and active is not None:
            return Problem(
                "conversation_already_has_active_response",
                f"Conversation already has an active response in progress: {active}. "
                "Wait until the response is finished before creating a new one.",
            )
        inputs = self._resolve_input(params, session["audio"]["input"]["format"]["type"])
        if isinstance(inputs, Problem):
            return inputs
        audio_out = (params.get("audio") or {}).get("output") or {}
        run = ResponseRun(
            self._new_id("resp"),
            ResponseParams(
                in_conversation=in_conversation,
                output_modalities=tuple(
                    params.get("output_modalities") or session["output_modalities"]
                ),
                voice=_voice_name(audio_out.get("voice", session["audio"]["output"]["voice"])),
                output_format=dict(audio_out.get("format") or session["audio"]["output"]["format"]),
                max_output_tokens=params.get("max_output_tokens", session["max_output_tokens"]),
                metadata=params.get("metadata"),
                conversation_id=self._conversation_id if in_conversation else None,
                chunk_ms=self._chunk_ms,
            ),
            conversation=self._conversation,
            new_id=self._new_id,
        )
        self._pending[run.id] = _Pending(
            run,
            instructions=params.get("instructions", session["instructions"]),
            tools=list(params.get("tools", session["tools"])),
            tool_choice=params.get("tool_choice", session["tool_choice"]),
            input=inputs,
        )
        return run.id, run.created()

    def _resolve_input(
        self, params: Mapping[str, Any], input_format: str
    ) -> list[Entry] | Problem | None:
        if "input" not in params:
            return None
        entries: list[Entry] = []
        for index, item in enumerate(params["input"]):
            path = f"response.input[{index}]"
            if item["type"] == "item_reference":
                found = self._conversation.get(item["id"])
                if found is None:
                    return Problem(
                        "invalid_value",
                        f"Item with item_id '{item['id']}' not found.",
                        path + ".id",
                    )
                entries.append(found)
                continue
            entry = entry_from_client(dict(item), path, self._new_id, input_format)
            if isinstance(entry, Problem):
                return entry
            entries.append(entry)
        return entries

    def _finish(self, run: ResponseRun, events: list[Event]) -> list[Event]:
        if not run.active:
            self._pending.pop(run.id, None)
        return events

    def cancel(self, response_id: str | None, reason: str) -> list[Event] | None:
        """Cancel a response (default: the conversation's); ``None`` if none is active."""
        pending = self._pending.get(response_id or self.active_id() or "")
        if pending is None or not pending.run.active:
            return None
        return self._finish(pending.run, pending.run.cancel(reason))

    def writing(self, item_id: str) -> str | None:
        """The response still streaming into item ``item_id``, if one is."""
        for pending in self._pending.values():
            if pending.run.holds(item_id):
                return pending.run.id
        return None

    def request(self, response_id: str) -> tuple[list[dict[str, Any]], ResponseContext] | None:
        """The engine's conversation and context; ``None`` once cancelled or over."""
        pending = self._pending.get(response_id)
        if pending is None or not pending.run.active:
            return None
        entries = pending.input if pending.input is not None else self._conversation.entries()
        tokens, cached, prefix = TokenCount(), TokenCount(), True
        for entry in entries:
            counted = count_tokens(entry)
            tokens += counted
            prefix = prefix and entry.id in self._seen
            if prefix:
                cached += counted
            self._seen.add(entry.id)
        tokens += TokenCount(text=text_tokens(pending.instructions))
        pending.run.set_input_usage(tokens, cached)
        params = pending.run.params
        context = ResponseContext(
            instructions=pending.instructions,
            tools=tuple(t for t in pending.tools if t.get("type", "function") == "function"),
            tool_choice=pending.tool_choice,
            output_modalities=params.output_modalities,
            voice=params.voice,
            metadata=dict(params.metadata or {}),
        )
        return [entry.for_engine() for entry in entries], context

    def ready(self, response_id: str, reply: Reply, audio: bytes | None) -> list[Event]:
        pending = self._pending.get(response_id)
        if pending is None:
            return []
        if audio and "audio" in pending.run.params.output_modalities and pending.run.active:
            self.audio_produced = True
        return self._finish(pending.run, pending.run.begin(reply, audio))

    def step(self, response_id: str) -> list[Event]:
        pending = self._pending.get(response_id)
        return [] if pending is None else self._finish(pending.run, pending.run.step())

    def fail(self, response_id: str, message: str) -> list[Event]:
        pending = self._pending.get(response_id)
        return [] if pending is None else self._finish(pending.run, pending.run.fail(message))
