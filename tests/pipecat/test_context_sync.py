"""Which LLMContext messages the server does not have yet (pure: no sockets, no pipeline)."""

from __future__ import annotations

import json
from typing import Any

from pipecat.processors.aggregators import async_tool_messages

from realtime_llm.pipecat.context import CANCELLED_OUTPUT
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
    sync.server_replied("Noon.")
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


def test_turns_not_in_the_context_yet_are_the_unwritten_ones() -> None:
    sync = ContextSync()
    messages: list[Any] = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "One."},
    ]
    sync.initial_items(messages)
    sync.server_transcribed_user("Again?")
    sync.server_replied("Two.")
    sync.server_transcribed_user("And?")
    sync.server_replied("Three, cut")
    expected = [
        ("user", "Again?"),
        ("assistant", "Two."),
        ("user", "And?"),
        ("assistant", "Three, cut"),
    ]
    assert sync.unwritten_turns(messages) == expected
    messages.append({"role": "user", "content": "Again?"})  # the aggregators wrote two
    messages.append({"role": "assistant", "content": "Two."})
    assert sync.unwritten_turns(messages) == expected[2:]
    sync.new_items(messages, _known())  # a sync sees (and skips) the written ones
    assert sync.unwritten_turns(messages) == expected[2:]


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


def test_async_tool_messages_send_the_real_result_never_the_running_placeholder() -> None:
    """pipecat 1.14's async tools: the "started" envelope is a placeholder, like IN_PROGRESS."""
    sync = ContextSync()
    call = {"id": "call_a", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    started = async_tool_messages.build_started_message("call_a")
    messages: list[Any] = [{"role": "assistant", "tool_calls": [call]}, started]
    assert sync.new_items(messages, _known("call_a")).items == []
    # The conversation moved on: the result comes as a developer "final" envelope.
    messages.append({"role": "user", "content": "Meanwhile, a joke?"})
    messages.append(async_tool_messages.build_final_result_message("call_a", '{"sky": "sunny"}'))
    items = sync.new_items(messages, _known("call_a")).items
    assert items[-1] == {
        "type": "function_call_output",
        "call_id": "call_a",
        "output": '{"sky": "sunny"}',
    }
    assert [i["type"] for i in items] == ["message", "function_call_output"]
    assert sync.new_items(messages, _known("call_a")).items == []


def test_an_async_result_settled_in_place_is_sent_once() -> None:
    sync = ContextSync()
    started = dict(async_tool_messages.build_started_message("call_b"))
    messages: list[Any] = [started]
    assert sync.initial_items(messages) == []  # a replay skips the running call's placeholder
    started["content"] = '{"sky": "sunny"}'  # pipecat settles it in place
    assert sync.new_items(messages, _known()).items == [
        {"type": "function_call_output", "call_id": "call_b", "output": '{"sky": "sunny"}'}
    ]


def test_intermediate_async_updates_stay_messages_and_cancellations_say_so() -> None:
    sync = ContextSync()
    update = async_tool_messages.build_intermediate_result_message("call_c", '"half way"')
    cancelled = {"role": "tool", "tool_call_id": "call_d", "content": "CANCELLED"}
    items = sync.new_items([update, cancelled], _known()).items
    assert items[0]["type"] == "message" and items[0]["role"] == "system"
    assert items[1] == {
        "type": "function_call_output",
        "call_id": "call_d",
        "output": CANCELLED_OUTPUT,
    }
    assert json.loads(CANCELLED_OUTPUT)["status"] == "cancelled"
