"""pipecat's ``OpenAIRealtimeLLMService`` arguments: honoured with a warning, or refused by name.

Regression for issue 7, item 12: ``model=``, ``session_properties=`` and
``user_audio_preroll_secs=`` used to vanish into ``**kwargs``.
"""

from __future__ import annotations

from typing import Any

import pytest
from pipecat.services.openai.realtime import events as pipecat_events

from realtime_llm import RealtimeLLMService
from realtime_llm.errors import InvalidSettingsError
from realtime_llm.session_properties import AudioConfig, AudioOutput, SessionProperties

from .harness import client_events, running_bot, server_events, service_for

pytestmark = pytest.mark.user_deprecation  # these tests use the deprecated arguments on purpose


def _props(service: RealtimeLLMService) -> SessionProperties:
    props = service.settings.session_properties  # type: ignore[attr-defined]
    assert isinstance(props, SessionProperties)
    return props


async def test_model_argument_warns_and_reaches_the_connection(make_server: Any) -> None:
    server = await make_server()
    with pytest.warns(DeprecationWarning, match=r"Settings\(model=\.\.\.\)") as caught:
        service = RealtimeLLMService(
            dialect="local", base_url=server.url, model="gpt-realtime-mini"
        )
    assert caught[0].filename == __file__  # the warning points at the caller's line
    assert service.settings.model == "gpt-realtime-mini"
    async with running_bot(service):
        created = await server.wait_for_sent("session.created")
    assert created["session"]["model"] == "gpt-realtime-mini"
    assert server_events(server, "session.updated")


def test_settings_win_over_the_deprecated_model_argument() -> None:
    with pytest.warns(DeprecationWarning):
        service = RealtimeLLMService(
            dialect="local",
            model="from-argument",
            settings=RealtimeLLMService.Settings(model="from-settings"),
        )
    assert service.settings.model == "from-settings"


async def test_session_properties_argument_warns_and_is_merged(make_server: Any) -> None:
    server = await make_server()
    voice = SessionProperties(audio=AudioConfig(output=AudioOutput(voice="echo")))
    with pytest.warns(DeprecationWarning, match=r"Settings\(session_properties=\.\.\.\)"):
        service = service_for(server.url, session_properties=voice)
    assert _props(service).voice == "echo"
    assert _props(service).audio is not None and _props(service).audio.input is not None  # type: ignore[union-attr]
    async with running_bot(service):
        update = await server.wait_for_received("session.update")
    assert update["session"]["audio"]["output"]["voice"] == "echo"
    assert client_events(server, "session.update")


def test_pipecats_own_session_properties_are_converted() -> None:
    theirs = pipecat_events.SessionProperties(
        instructions="Be brief.",
        audio=pipecat_events.AudioConfiguration(output=pipecat_events.AudioOutput(voice="sage")),
    )
    with pytest.warns(DeprecationWarning):
        service = RealtimeLLMService(dialect="local", session_properties=theirs)
    assert _props(service).voice == "sage"
    assert service.settings.system_instruction == "Be brief."  # type: ignore[attr-defined]


def test_an_argument_with_no_meaning_here_is_refused_by_name() -> None:
    with pytest.raises(InvalidSettingsError) as raised:
        RealtimeLLMService(dialect="local", user_audio_preroll_secs=0.5)
    assert raised.value.field == "user_audio_preroll_secs"


def test_an_unknown_argument_is_refused_by_name() -> None:
    with pytest.raises(InvalidSettingsError) as raised:
        RealtimeLLMService(dialect="local", tempreature=0.5)
    assert raised.value.field == "tempreature"


def test_a_bad_session_properties_argument_is_refused() -> None:
    with pytest.raises(InvalidSettingsError) as raised, pytest.warns(DeprecationWarning):
        RealtimeLLMService(dialect="local", session_properties={"voice_typo": "x"})
    assert raised.value.field.startswith("session_properties")


def test_pipecat_llm_service_arguments_still_pass_through() -> None:
    service = RealtimeLLMService(
        dialect="local", run_in_parallel=False, function_call_timeout_secs=5.0, name="bot-llm"
    )
    assert service.name == "bot-llm"
