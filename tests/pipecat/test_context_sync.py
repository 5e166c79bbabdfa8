"""Which LLMContext messages the server does not have yet (pure: no sockets, no pipeline)."""

from __future__ import annotations

from typing import Any

from realtime_llm.pipecat.context_sync import ContextSync


def _known(*ids: str) -> Any:
    return lambda call_id: call_id in ids


def test_initial_sync_sends_everything_but_the_leading_system_message() -> None:
    sync = ContextSync()
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
    ]
    items = sync.initial_items(messages)
    assert [(i["role"], i["content"][0]["text"]) for i in items] == [
        ("user", "Hi"),
        ("assistant", "Hello"),
    ]
    assert sync.new_items(messages, _known()).items == []


def test_echoes_of_server_turns_are_not_sent_but_app_messages_are() -> None:
    sync = ContextSync()
    sync.server_transcribed_user("What's  the time?")
    sync.server_replied()
    messages: list[Any] = [
        {"role": "user", "content": "what's the time?"},
        {"role": "assistant", "content": "Noon."},
        {"role": "user", "content": "Typed by the app."},
    ]
    result = sync.new_items(messages, _known())
    assert result.user_echo
    assert [i["content"][0]["text"] for i in result.items] == ["Typed by the app."]
    # Seen once, never again.
    assert sync.new_items(messages, _known()).items == []


def test_tool_results_are_sent_once_when_final() -> None:
    sync = ContextSync()
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    result = {"role": "tool", "tool_call_id": "call_1", "content": "IN_PROGRESS"}
    messages: list[Any] = [{"role": "assistant", "tool_calls": [call]}, result]
    # The server made the call: its echo is skipped; the placeholder waits.
    assert sync.new_items(messages, _known("call_1")).items == []
    result["content"] = '{"ok": true}'  # pipecat updates the same message in place
    items = sync.new_items(messages, _known("call_1")).items
    assert items == [
        {"type": "function_call_output", "call_id": "call_1", "output": '{"ok": true}'}
    ]
    assert sync.new_items(messages, _known("call_1")).items == []


def test_a_call_the_server_did_not_make_is_sent_with_its_result() -> None:
    sync = ContextSync()
    call = {"id": "call_9", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    messages: list[Any] = [
        {"role": "assistant", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_9", "content": "42"},
    ]
    items = sync.new_items(messages, _known()).items
    assert [i["type"] for i in items] == ["function_call", "function_call_output"]


def test_marked_messages_are_not_sent_again() -> None:
    sync = ContextSync()
    message = {"role": "user", "content": "Appended directly."}
    sync.mark_sent(message)
    result = sync.new_items([message], _known())
    assert result.items == [] and not result.user_echo
