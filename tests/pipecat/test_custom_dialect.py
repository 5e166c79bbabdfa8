"""Adding a dialect takes a few lines and no change to the core or the service.

"Acme" is a made-up server of the family: Azure-style path and ``api-key`` header, no
``conversation.item.truncate``, and an event it wants dropped. The local server plays it
(its Azure dialect).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pipecat.frames.frames import (
    InterruptionFrame,
    LLMFullResponseEndFrame,
    LLMRunFrame,
    TTSAudioRawFrame,
)

from realtime_llm import Dialect, RealtimeLLMService
from realtime_llm.dialects import AuthScheme, XAIDialect
from realtime_llm.protocol.capabilities import Capabilities
from realtime_llm.server import Turn

from .harness import client_events, running_bot, wait_for


class AcmeDialect(Dialect):
    name = "acme"
    auth_scheme: ClassVar[AuthScheme] = "api-key"
    capabilities: ClassVar[Capabilities] = Capabilities(supports_truncate=False)
    event_aliases: ClassVar[dict[str, str | None]] = {"rate_limits.updated": None}


async def test_a_dialect_defined_inline_runs_a_conversation(
    make_server: Any, warnings_logged: list[str]
) -> None:
    story = "A reply long enough to be interrupted while it plays. " * 3
    server = await make_server(
        [Turn(reply=story)], dialect="azure", api_key="acme-key", chunk_interval_s=0.02
    )
    service = RealtimeLLMService(dialect=AcmeDialect(server.url), api_key="acme-key")
    async with running_bot(service) as bot:
        await server.wait_for_sent("session.updated")
        await bot.queue(LLMRunFrame())
        await wait_for(lambda: len(bot.down(TTSAudioRawFrame)) >= 5, what="reply audio")
        await bot.worker.queue_frame(InterruptionFrame())
        await wait_for(lambda: bot.down(LLMFullResponseEndFrame), what="the cut")
        await bot.queue(LLMRunFrame())
        await server.wait_for_received("response.create", count=2)
        await bot.worker.queue_frame(InterruptionFrame())
    assert client_events(server, "response.cancel")
    assert not client_events(server, "conversation.item.truncate")  # Acme has none
    said = [m for m in warnings_logged if "conversation.item.truncate" in m]
    assert len(said) == 1 and "acme" in said[0]  # one clear warning, not one per barge-in


async def test_an_audio_format_the_server_lacks_falls_back_to_pcm_with_a_warning(
    make_server: Any, warnings_logged: list[str]
) -> None:
    server = await make_server(dialect="xai")
    g711 = RealtimeLLMService.Settings.from_mapping({"output_audio_format": "g711_ulaw"})
    service = RealtimeLLMService(dialect=XAIDialect(server.url), api_key="xai-test", settings=g711)
    async with running_bot(service):
        update = await server.wait_for_received("session.update")
    assert update["session"]["audio"]["output"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert [m for m in warnings_logged if "audio/pcmu" in m] == [
        "xai does not take audio/pcmu output audio; using audio/pcm at 24 kHz instead"
    ]
