"""The sans-I/O session core on its own: no socket, no clock, no engine."""

from __future__ import annotations

from realtime_llm.server import Reply, ServerSession, ToolCall
from realtime_llm.server.session import Generate, Transcribe

from .helpers import assert_server_event, b64, silence, tone


def _session() -> ServerSession:
    session = ServerSession(model="m")
    created = session.open(now=1_000)
    assert created[0]["session"]["expires_at"] == 1_000 + 3600
    return session


def test_a_vad_turn_yields_events_and_commands_in_order() -> None:
    session = _session()
    out = session.receive(
        {"type": "input_audio_buffer.append", "audio": b64(tone(300) + silence(600))}
    )
    assert [e["type"] for e in out.events] == [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
        "response.created",
    ]
    transcribe, generate = out.commands
    assert isinstance(transcribe, Transcribe) and isinstance(generate, Generate)
    assert len(transcribe.pcm) == (300 + 500) * 48
    assert session.transcription_done(transcribe.item_id, 0, "hello") == []  # not asked for

    request = session.response_request(generate.response_id)
    assert request is not None
    conversation, context = request
    assert conversation[0]["content"][0]["transcript"] == "hello"
    assert context.output_modalities == ("audio",)

    events = session.reply_ready(generate.response_id, Reply.say("Hi"), tone(100))
    while batch := session.next_batch(generate.response_id):
        events += batch
    assert events[-1]["type"] == "response.done"
    assert session.next_batch(generate.response_id) == []
    for event in out.events + events:
        assert_server_event(event)


def test_cancel_before_the_engine_answers_discards_the_reply() -> None:
    session = _session()
    session.receive(
        {
            "type": "conversation.item.create",
            "item": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "x"}],
            },
        }
    )
    created = session.receive({"type": "response.create"})
    (generate,) = created.commands
    assert isinstance(generate, Generate)
    cancelled = session.receive({"type": "response.cancel"})
    assert cancelled.events[-1]["response"]["status"] == "cancelled"
    assert session.response_request(generate.response_id) is None
    assert session.reply_ready(generate.response_id, Reply.call(ToolCall("f")), None) == []
    assert session.active_response_id is None


def test_messages_are_checked_before_anything_else() -> None:
    session = ServerSession(max_event_bytes=11)
    assert session.receive_message("x" * 12).events[0]["error"]["code"] == "message_too_large"
    out = session.receive_message('{"type": 1}')
    assert out.events[0]["error"]["code"] == "invalid_type"
    assert out.received == {"type": 1}
