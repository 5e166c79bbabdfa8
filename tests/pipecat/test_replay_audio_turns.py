"""A user turn the server never transcribed is replayed to a new session as its audio.

A real pipeline against the local server, transcription off: the user speaks, the bot
replies, the socket drops, and the new session is given the user's audio (``input_audio``
content, in the session's input format) before the reply it prompted, after its
``session.update``.
"""

from __future__ import annotations

import base64
from typing import Any

from openai.types.realtime import ConversationItemCreateEvent
from pipecat.frames.frames import LLMFullResponseEndFrame, LLMRunFrame
from pipecat.processors.aggregators.llm_context import LLMContext

from realtime_llm import RealtimeLLMSettings, SessionProperties
from realtime_llm.server import Turn

from .harness import running_bot, service_for, speech_like, wait_for

NO_TRANSCRIPTION = RealtimeLLMSettings(
    session_properties=SessionProperties.from_mapping({"audio": {"input": {"transcription": None}}})
)


def greeted_context() -> LLMContext:
    return LLMContext([{"role": "system", "content": "Be brief."}])


def items_created(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["item"] for e in events if e["type"] == "conversation.item.create"]


async def test_an_audio_only_turn_is_replayed_as_its_audio_before_its_reply(
    make_server: Any,
) -> None:
    server = await make_server(
        [Turn(reply="Hello!"), Turn(user="Tell me a joke", reply="Why did the chicken cross?")]
    )
    service = service_for(server.url, settings=NO_TRANSCRIPTION)
    async with running_bot(service, greeted_context()) as bot:
        await server.wait_for_sent("session.updated")
        assert server.received[0]["session"]["audio"]["input"].get("transcription") is None
        await bot.queue(LLMRunFrame())  # the bot greets: the service has the context
        await wait_for(lambda: bot.down(LLMFullResponseEndFrame), what="the greeting")
        await wait_for(lambda: len(bot.context.get_messages()) >= 2, what="the greeting")
        await bot.speak(speech_like(24000, 0.6), 24000)
        await wait_for(lambda: len(bot.context.get_messages()) >= 4, what="both new turns")
        sent_audio = b"".join(
            base64.b64decode(e["audio"])
            for e in server.received
            if e["type"] == "input_audio_buffer.append"
        )
        assert not items_created(server.received), "the server had every turn: none was sent"
        before = len(server.received)
        await server.close_connections(code=1011, reason="internal error")
        await server.wait_for_received("session.update", count=2)
        await wait_for(lambda: len(items_created(server.received[before:])) >= 3, what="the replay")
    after = [e for e in server.received[before:] if e["type"] != "input_audio_buffer.append"]
    assert after[0]["type"] == "session.update", "the session is configured before any item"
    greeting, user, assistant = items_created(after)
    assert greeting["role"] == "assistant"
    for event in after:
        if event["type"] == "conversation.item.create":
            ConversationItemCreateEvent.model_validate(event)
    assert (user["role"], assistant["role"]) == ("user", "assistant")
    assert "chicken" in assistant["content"][0]["text"]
    (part,) = user["content"]
    assert part["type"] == "input_audio"
    replayed = base64.b64decode(part["audio"])
    # The turn's own audio, as it was sent: a contiguous stretch of what went to the
    # first session, holding the speech (0.6 s) and not much more than its lead.
    assert replayed and replayed in sent_audio
    assert 0.6 * 48000 <= len(replayed) <= len(sent_audio)


async def test_audio_turns_past_the_bound_keep_a_note_instead(make_server: Any) -> None:
    """``max_replay_audio_s=0``: the turn is still in the history, without its audio."""
    server = await make_server([Turn(reply="Hello!"), Turn(user="Hi", reply="Hello there.")])
    service = service_for(server.url, settings=NO_TRANSCRIPTION, max_replay_audio_s=0)
    async with running_bot(service, greeted_context()) as bot:
        await server.wait_for_sent("session.updated")
        await bot.queue(LLMRunFrame())
        await wait_for(lambda: len(bot.context.get_messages()) >= 2, what="the greeting")
        await bot.speak(speech_like(24000, 0.4), 24000)
        await wait_for(lambda: len(bot.context.get_messages()) >= 4, what="both new turns")
        before = len(server.received)
        await server.close_connections(code=1011, reason="internal error")
        await wait_for(lambda: len(items_created(server.received[before:])) >= 3, what="the replay")
    _, user, _ = items_created(server.received[before:])
    (part,) = user["content"]
    assert part["type"] == "input_text" and "no longer kept" in part["text"]
