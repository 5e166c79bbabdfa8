"""RealtimeLLMSettings: store/delta semantics, the both-ways sync, from_mapping, validation.

Grouped by the rules of the contract's "Construction and settings" section.
"""

from __future__ import annotations

import copy
from dataclasses import fields
from typing import Any

import pytest
from openai.types.realtime import RealtimeSessionCreateRequest, SessionUpdateEvent
from pipecat.services.settings import LLMSettings
from pipecat.utils.types import NOT_GIVEN, is_given

from realtime_llm.errors import InvalidSettingsError
from realtime_llm.pipecat.settings import (
    RealtimeLLMSettings,
    default_settings,
    reconnect_needed,
    session_update_needed,
    unsupported_fields,
)
from realtime_llm.session_properties import (
    AudioConfig,
    AudioInput,
    AudioOutput,
    SemanticVad,
    SessionProperties,
    default_session_properties,
)

from ..conformance import unknown_keys

Settings = RealtimeLLMSettings


def store(**kwargs: Any) -> RealtimeLLMSettings:
    return default_settings(**kwargs)


def voice(name: str) -> SessionProperties:
    return SessionProperties(audio=AudioConfig(output=AudioOutput(voice=name)))


def session(settings: RealtimeLLMSettings) -> SessionProperties:
    props = settings.session_properties
    assert isinstance(props, SessionProperties)
    return props


# -- store construction ------------------------------------------------------------------


def test_default_store_gives_every_field() -> None:
    settings = store()
    missing = [f.name for f in fields(settings) if not is_given(getattr(settings, f.name))]
    assert missing == []
    assert settings.model == "gpt-realtime"
    assert settings.temperature is None


def test_default_store_mirrors_model_and_instruction_into_the_session() -> None:
    settings = store(model="gpt-realtime-mini", system_instruction="Be brief.")
    assert session(settings).model == "gpt-realtime-mini"
    assert session(settings).instructions == "Be brief."


def test_store_session_is_a_valid_session_update() -> None:
    wire = session(store(system_instruction="Be brief.")).to_wire()
    event = SessionUpdateEvent.model_validate({"type": "session.update", "session": wire})
    assert isinstance(event.session, RealtimeSessionCreateRequest)
    assert unknown_keys(event) == []
    assert event.session.instructions == "Be brief."
    assert event.session.model == "gpt-realtime"


# -- rule: the top level is the authority, mirrored into the session -----------------------


def test_top_level_update_is_mirrored_into_the_session() -> None:
    settings = store(system_instruction="old")
    changed = settings.apply_update(Settings(system_instruction="new"))

    assert session(settings).instructions == "new"
    assert set(changed) == {"system_instruction"}  # the mirror is not a session change
    assert changed["system_instruction"] == "old"


def test_plain_llm_settings_delta_is_mirrored_too() -> None:
    settings = store()
    changed = settings.apply_update(LLMSettings(system_instruction="hi", model="m2"))
    assert set(changed) == {"system_instruction", "model"}
    assert session(settings).instructions == "hi"
    assert session(settings).model == "m2"


def test_direct_assignment_is_mirrored() -> None:
    # pipecat's LLMService writes the composed instruction straight onto the store.
    settings = store(system_instruction="base")
    settings.system_instruction = "base\n\nappended"
    assert session(settings).instructions == "base\n\nappended"
    settings.model = "other"
    assert session(settings).model == "other"


def test_none_instruction_leaves_the_session_without_instructions() -> None:
    settings = store(system_instruction="x")
    settings.apply_update(Settings(system_instruction=None))
    assert session(settings).instructions is None
    assert "instructions" not in session(settings).to_wire()


def test_delta_setting_both_wins_at_the_top_level() -> None:
    delta = Settings(
        model="top-model",
        system_instruction="top",
        session_properties=SessionProperties(model="inner-model", instructions="inner"),
    )
    assert session(delta).model == "top-model"
    assert session(delta).instructions == "top"

    settings = store()
    settings.apply_update(delta)
    assert settings.model == "top-model"
    assert settings.system_instruction == "top"
    assert session(settings).model == "top-model"
    assert session(settings).instructions == "top"


# -- rule: a session delta's model/instructions are pulled up -----------------------------


def test_session_delta_pulls_model_and_instructions_up() -> None:
    delta = Settings(session_properties=SessionProperties(model="m2", instructions="inner"))
    assert delta.model == "m2"
    assert delta.system_instruction == "inner"

    settings = store(system_instruction="old")
    changed = settings.apply_update(delta)
    assert settings.model == "m2"
    assert settings.system_instruction == "inner"
    assert session(settings).instructions == "inner"
    assert {"model", "system_instruction"} <= set(changed)


def test_pull_up_only_where_the_session_carries_a_value() -> None:
    delta = Settings(session_properties=voice("echo"))
    assert delta.model is NOT_GIVEN
    assert delta.system_instruction is NOT_GIVEN

    settings = store(system_instruction="keep")
    settings.apply_update(delta)
    assert settings.system_instruction == "keep"
    assert session(settings).instructions == "keep"
    assert settings.model == "gpt-realtime"


def test_pull_up_of_model_alone_needs_a_reconnect_not_a_session_update() -> None:
    settings = store()
    changed = settings.apply_update(Settings(session_properties=SessionProperties(model="m2")))
    assert set(changed) == {"model"}
    assert reconnect_needed(changed)
    assert not session_update_needed(changed)


# -- merge of a delta's session ----------------------------------------------------------


def test_session_delta_merges_into_the_store() -> None:
    settings = store()
    before = session(settings).to_wire()
    changed = settings.apply_update(Settings(session_properties=voice("echo")))

    assert set(changed) == {"session_properties"}
    assert session_update_needed(changed)
    assert changed["session_properties"].voice == "alloy"  # the old value
    expected = copy.deepcopy(before)
    expected["audio"]["output"]["voice"] = "echo"
    assert session(settings).to_wire() == expected


def test_session_delta_can_turn_server_vad_off() -> None:
    settings = store()
    off = SessionProperties(audio=AudioConfig(input=AudioInput(turn_detection=None)))
    settings.apply_update(Settings(session_properties=off))
    assert not session(settings).server_vad_enabled
    assert session(settings).to_wire()["audio"]["input"]["transcription"]  # kept


def test_session_delta_can_switch_vad_type() -> None:
    settings = store()
    semantic = SessionProperties(audio=AudioConfig(input=AudioInput(turn_detection=SemanticVad())))
    settings.apply_update(Settings(session_properties=semantic))
    assert session(settings).to_wire()["audio"]["input"]["turn_detection"] == {
        "type": "semantic_vad"
    }


def test_unchanged_session_is_not_reported() -> None:
    settings = store()
    assert settings.apply_update(Settings(session_properties=voice("alloy"))) == {}


def test_session_given_as_a_dict_is_validated_into_the_model() -> None:
    delta = Settings(session_properties={"audio": {"output": {"voice": "ash"}}})  # type: ignore[arg-type]
    assert session(delta).voice == "ash"


def test_user_settings_over_defaults_like_the_service_builds_them() -> None:
    settings = store()
    user = Settings(system_instruction="You are a pirate.", session_properties=voice("coral"))
    settings.apply_update(user)
    wire = session(settings).to_wire()
    assert wire["instructions"] == "You are a pirate."
    assert wire["audio"]["output"]["voice"] == "coral"
    assert wire["audio"]["input"]["transcription"] == {"model": "gpt-4o-transcribe"}
    RealtimeSessionCreateRequest.model_validate(wire)


def test_copy_is_deep_and_still_in_sync() -> None:
    settings = store(system_instruction="a")
    copied = settings.copy()
    assert copied == settings
    copied.system_instruction = "b"
    assert session(copied).instructions == "b"
    assert session(settings).instructions == "a"


# -- from_mapping ------------------------------------------------------------------------


def test_from_mapping_routes_keys(warnings_logged: list[str]) -> None:
    delta = Settings.from_mapping(
        {
            "model": "m2",
            "temperature": 0.7,
            "audio": {"output": {"voice": "verse"}},
            "max_output_tokens": 200,
        }
    )
    assert delta.model == "m2"
    assert delta.temperature == 0.7
    assert session(delta).voice == "verse"
    assert session(delta).max_output_tokens == 200
    assert session(delta).model == "m2"  # mirrored
    assert delta.extra == {}
    assert warnings_logged == []


def test_from_mapping_pulls_instructions_up() -> None:
    delta = Settings.from_mapping({"instructions": "inner"})
    assert delta.system_instruction == "inner"


def test_from_mapping_top_level_wins_over_instructions() -> None:
    delta = Settings.from_mapping({"instructions": "inner", "system_instruction": "top"})
    assert delta.system_instruction == "top"
    assert session(delta).instructions == "top"


def test_from_mapping_merges_loose_keys_into_a_given_session() -> None:
    delta = Settings.from_mapping(
        {"session_properties": {"audio": {"output": {"voice": "sage"}}}, "tool_choice": "none"}
    )
    assert session(delta).voice == "sage"
    assert session(delta).tool_choice == "none"


def test_from_mapping_takes_a_whole_wire_session() -> None:
    wire = default_session_properties("m9").to_wire()
    delta = Settings.from_mapping(wire)
    assert delta.model == "m9"
    assert delta.extra == {}
    assert session(delta).to_wire() == wire


def test_from_mapping_reports_unknown_keys(warnings_logged: list[str]) -> None:
    delta = Settings.from_mapping({"temprature": 0.5, "vioce": "x", "model": "m"})
    assert delta.extra == {"temprature": 0.5, "vioce": "x"}
    assert len(warnings_logged) == 1
    assert "temprature" in warnings_logged[0]
    assert "vioce" in warnings_logged[0]
    assert "'temperature'" in warnings_logged[0]  # a did-you-mean hint


def test_from_mapping_unknown_keys_reach_the_store_extra() -> None:
    settings = store()
    changed = settings.apply_update(Settings.from_mapping({"custom_flag": True}))
    assert settings.extra == {"custom_flag": True}
    assert "custom_flag" in changed


def test_from_mapping_validates_nested_session() -> None:
    with pytest.raises(InvalidSettingsError) as caught:
        Settings.from_mapping(
            {"audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 2}}}}
        )
    assert caught.value.field == "session_properties.audio.input.turn_detection.threshold"


# -- validation --------------------------------------------------------------------------

BAD_TOP_LEVEL = [
    ({"temperature": -0.1}, "temperature"),
    ({"temperature": "hot"}, "temperature"),
    ({"temperature": float("nan")}, "temperature"),
    ({"top_p": 1.5}, "top_p"),
    ({"top_k": -1}, "top_k"),
    ({"top_k": 2.5}, "top_k"),
    ({"max_tokens": 0}, "max_tokens"),
    ({"max_tokens": True}, "max_tokens"),
    ({"frequency_penalty": 3}, "frequency_penalty"),
    ({"presence_penalty": -3}, "presence_penalty"),
    ({"seed": "x"}, "seed"),
    ({"model": ""}, "model"),
    ({"model": 5}, "model"),
    ({"system_instruction": ["a"]}, "system_instruction"),
    ({"session_properties": 3}, "session_properties"),
    (
        {"session_properties": {"audio": {"output": {"format": {"type": "audio/mp3"}}}}},
        "session_properties.audio.output.format",
    ),
]


@pytest.mark.parametrize(("kwargs", "field"), BAD_TOP_LEVEL)
def test_construction_rejects_bad_values_by_name(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidSettingsError) as caught:
        Settings(**kwargs)
    assert caught.value.field == field


@pytest.mark.parametrize(("kwargs", "field"), BAD_TOP_LEVEL[:11])
def test_update_rejects_a_bad_plain_delta_and_changes_nothing(
    kwargs: dict[str, Any], field: str
) -> None:
    settings = store(system_instruction="keep")
    before = settings.copy()
    delta = LLMSettings(system_instruction="new", **kwargs)
    with pytest.raises(InvalidSettingsError) as caught:
        settings.apply_update(delta)
    assert caught.value.field == field
    assert settings == before


def test_validate_catches_later_mutation() -> None:
    delta = Settings(temperature=0.5)
    delta.temperature = -1.0
    with pytest.raises(InvalidSettingsError, match="temperature"):
        delta.validate()


def test_none_and_not_given_are_valid_everywhere() -> None:
    Settings().validate()
    store().validate()


# -- what the service asks about a change ------------------------------------------------


def test_unsupported_fields_are_named() -> None:
    changed = {"temperature": 1, "system_instruction": "", "max_tokens": 5, "seed": 1}
    assert unsupported_fields(changed) == ["max_tokens", "seed", "temperature"]
    assert unsupported_fields(["model", "session_properties", "extra_thing"]) == []


def test_unsupported_update_is_still_stored() -> None:
    settings = store()
    changed = settings.apply_update(Settings(temperature=0.8))
    assert unsupported_fields(changed) == ["temperature"]
    assert settings.temperature == 0.8


@pytest.mark.parametrize(
    ("changed", "update", "reconnect"),
    [
        ({"session_properties"}, True, False),
        ({"system_instruction"}, True, False),
        ({"model"}, False, True),
        ({"temperature"}, False, False),
        (set(), False, False),
    ],
)
def test_what_a_change_needs(changed: set[str], update: bool, reconnect: bool) -> None:
    assert session_update_needed(changed) is update
    assert reconnect_needed(changed) is reconnect


def test_from_mapping_moves_flat_legacy_keys_to_their_ga_place() -> None:
    delta = RealtimeLLMSettings.from_mapping(
        {
            "voice": "verse",
            "turn_detection": None,
            "input_audio_transcription": {"model": "whisper-1"},
            "modalities": ["audio", "text"],
            "output_audio_format": "g711_ulaw",
            "max_response_output_tokens": 200,
        }
    )
    assert delta.extra == {}
    props = delta.session_properties
    assert isinstance(props, SessionProperties)
    wire = props.to_wire()
    assert wire["audio"]["output"]["voice"] == "verse"
    assert wire["audio"]["output"]["format"] == {"type": "audio/pcmu"}
    assert wire["audio"]["input"]["turn_detection"] is None
    assert wire["audio"]["input"]["transcription"] == {"model": "whisper-1"}
    assert wire["output_modalities"] == ["audio"]
    assert wire["max_output_tokens"] == 200


def test_from_mapping_merges_flat_and_nested_keys_in_any_order_without_mutating() -> None:
    nested = {"audio": {"input": {"turn_detection": None}}}
    given = {"voice": "verse", **nested}
    delta = RealtimeLLMSettings.from_mapping(given)
    props = delta.session_properties
    assert isinstance(props, SessionProperties)
    wire = props.to_wire()
    assert wire["audio"]["output"]["voice"] == "verse"
    assert wire["audio"]["input"]["turn_detection"] is None
    assert nested == {"audio": {"input": {"turn_detection": None}}}  # the caller's dict


def test_from_mapping_hints_know_the_flat_keys(warnings_logged: list[str]) -> None:
    RealtimeLLMSettings.from_mapping({"turn_detecton": None})
    assert any("'turn_detecton' -> 'turn_detection'" in m for m in warnings_logged)


# -- voices: checked against the dialect's ---------------------------------------------------


def _service(dialect: str, voice_name: str | None = None, **kwargs: Any) -> Any:
    from realtime_llm import RealtimeLLMService

    settings = Settings(session_properties=voice(voice_name)) if voice_name else None
    return RealtimeLLMService(api_key="k", dialect=dialect, settings=settings, **kwargs)


def _voice_of(service: Any) -> str | None:
    props = service.settings.session_properties  # the store the service sends from
    assert isinstance(props, SessionProperties)
    return props.voice


@pytest.mark.parametrize("dialect", ["openai", "azure", "local", "openai_beta"])
def test_an_unknown_voice_is_refused_where_the_provider_has_no_custom_voices(
    dialect: str,
) -> None:
    kwargs = (
        {"base_url": "wss://r.openai.azure.com/openai/v1/realtime"} if dialect == "azure" else {}
    )
    with pytest.raises(InvalidSettingsError) as caught:
        _service(dialect, "darth_vader", **kwargs)
    assert caught.value.field == "session_properties.audio.output.voice"
    assert "'darth_vader' is not a voice of" in str(caught.value)
    assert "alloy, ash, ballad" in str(caught.value)  # the list to pick from


def test_the_beta_refuses_the_ga_only_voices() -> None:
    with pytest.raises(InvalidSettingsError, match="'marin' is not a voice of openai_beta"):
        _service("openai_beta", "marin")
    assert _voice_of(_service("openai", "marin")) == "marin"


def test_a_flat_voice_key_is_checked_too() -> None:
    from realtime_llm import RealtimeLLMService

    with pytest.raises(InvalidSettingsError, match="darth_vader"):
        RealtimeLLMService(api_key="k", settings=Settings.from_mapping({"voice": "darth_vader"}))


@pytest.mark.parametrize(("dialect", "known"), [("xai", "Ara"), ("inworld", "Dennis")])
def test_custom_voice_providers_warn_with_the_list(
    dialect: str, known: str, warnings_logged: list[str]
) -> None:
    assert _voice_of(_service(dialect, known)) == known
    assert warnings_logged == []
    assert _voice_of(_service(dialect, "my-cloned-voice")) == "my-cloned-voice"
    assert len(warnings_logged) == 1
    assert "'my-cloned-voice' is not one of" in warnings_logged[0]
    assert known.lower() in warnings_logged[0].lower()
    assert "custom voice" in warnings_logged[0]


def test_each_dialect_asks_for_its_own_default_voice(warnings_logged: list[str]) -> None:
    assert _voice_of(_service("openai")) == "alloy"
    assert _voice_of(_service("xai")) == "ara"  # xAI's own default; it has no "alloy"
    assert _voice_of(_service("inworld")) is None  # no voice sent: Inworld picks
    assert warnings_logged == []


def test_a_voice_update_is_checked_before_anything_changes() -> None:
    from realtime_llm.dialects import OpenAIDialect, XAIDialect
    from realtime_llm.pipecat.settings import check_voice

    with pytest.raises(InvalidSettingsError, match="darth_vader"):
        check_voice(Settings(session_properties=voice("darth_vader")), OpenAIDialect())
    check_voice(Settings(session_properties=voice("echo")), OpenAIDialect())
    check_voice(Settings(model="gpt-realtime"), OpenAIDialect())  # no voice: nothing to check
    check_voice(Settings(session_properties=voice("REX")), XAIDialect())  # any case on xAI


async def test_a_runtime_voice_update_to_an_unknown_voice_is_one_error_and_sends_nothing(
    make_server: Any,
) -> None:
    from pipecat.frames.frames import ErrorFrame, LLMUpdateSettingsFrame

    from .harness import client_events, running_bot, service_for, wait_for

    server = await make_server()
    async with running_bot(service_for(server.url)) as bot:
        await server.wait_for_sent("session.updated")
        await bot.queue(LLMUpdateSettingsFrame(delta=Settings(session_properties=voice("nope"))))
        await wait_for(lambda: bot.up(ErrorFrame), what="the ErrorFrame")
        await bot.queue(LLMUpdateSettingsFrame(delta=Settings(session_properties=voice("echo"))))
        await server.wait_for_received("session.update", count=2)
        assert bot.service.is_usable
    errors = bot.up(ErrorFrame)
    assert len(errors) == 1
    assert "'nope' is not a voice of local; use one of: alloy" in errors[0].error
    updates = client_events(server, "session.update")
    assert [u["session"]["audio"]["output"]["voice"] for u in updates] == ["alloy", "echo"]
