"""SessionProperties: the typed GA session object, checked against the openai typed models."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai.types.realtime import RealtimeSessionCreateRequest, SessionUpdateEvent

from realtime_llm.errors import InvalidSettingsError
from realtime_llm.session_properties import (
    AudioConfig,
    AudioInput,
    AudioOutput,
    NoiseReduction,
    PCMAFormat,
    PCMFormat,
    PCMUFormat,
    PromptReference,
    RetentionRatioTruncation,
    SemanticVad,
    ServerVad,
    SessionProperties,
    ToolChoiceFunction,
    TracingConfig,
    Transcription,
    default_session_properties,
)

from .conformance import unknown_keys


def assert_valid_session(session: dict[str, Any]) -> None:
    """The wire session is a GA session.update payload, every key known, nothing coerced."""
    model = RealtimeSessionCreateRequest.model_validate(session)
    assert unknown_keys(model) == []
    assert model.model_dump(mode="json", exclude_unset=True) == session
    event = SessionUpdateEvent.model_validate({"type": "session.update", "session": session})
    assert isinstance(event.session, RealtimeSessionCreateRequest)


def voice_only(voice: str) -> SessionProperties:
    return SessionProperties(audio=AudioConfig(output=AudioOutput(voice=voice)))


# -- defaults ----------------------------------------------------------------------------


def test_defaults_are_a_valid_ga_session_with_transcription_and_server_vad() -> None:
    wire = default_session_properties().to_wire()

    assert_valid_session(wire)
    assert wire["type"] == "realtime"
    assert wire["model"] == "gpt-realtime"
    assert wire["output_modalities"] == ["audio"]
    audio_in = wire["audio"]["input"]
    assert audio_in["format"] == {"type": "audio/pcm", "rate": 24000}
    assert audio_in["transcription"] == {"model": "gpt-4o-transcribe"}
    assert audio_in["turn_detection"] == {
        "type": "server_vad",
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 500,
        "create_response": True,
        "interrupt_response": True,
    }
    assert wire["audio"]["output"] == {
        "format": {"type": "audio/pcm", "rate": 24000},
        "voice": "alloy",
    }


def test_default_model_can_be_chosen() -> None:
    assert default_session_properties("gpt-realtime-mini").model == "gpt-realtime-mini"


def test_default_conveniences() -> None:
    props = default_session_properties()
    assert props.input_sample_rate == 24000
    assert props.output_sample_rate == 24000
    assert props.voice == "alloy"
    assert props.server_vad_enabled
    assert props.audio_output_enabled


# -- sparse serialization ----------------------------------------------------------------


def test_only_what_was_set_is_sent() -> None:
    wire = voice_only("echo").to_wire()
    assert wire == {"type": "realtime", "audio": {"output": {"voice": "echo"}}}
    assert_valid_session(wire)


def test_empty_session_is_just_the_type() -> None:
    assert SessionProperties().to_wire() == {"type": "realtime"}


def test_discriminators_are_sent_even_when_defaulted() -> None:
    props = SessionProperties(
        audio=AudioConfig(
            input=AudioInput(format=PCMUFormat(), turn_detection=SemanticVad()),
            output=AudioOutput(format=PCMAFormat()),
        )
    )
    wire = props.to_wire()
    assert wire["audio"]["input"] == {
        "format": {"type": "audio/pcmu"},
        "turn_detection": {"type": "semantic_vad"},
    }
    assert wire["audio"]["output"] == {"format": {"type": "audio/pcma"}}
    assert_valid_session(wire)


def test_explicit_none_means_off_where_null_means_off() -> None:
    props = SessionProperties(
        audio=AudioConfig(
            input=AudioInput(turn_detection=None, transcription=None, noise_reduction=None)
        ),
        tracing=None,
    )
    wire = props.to_wire()
    assert wire["audio"]["input"] == {
        "noise_reduction": None,
        "transcription": None,
        "turn_detection": None,
    }
    assert wire["tracing"] is None
    assert_valid_session(wire)
    assert not props.server_vad_enabled


def test_explicit_none_is_left_out_where_null_means_nothing() -> None:
    props = SessionProperties(instructions=None, tools=None, audio=AudioConfig(output=None))
    assert props.to_wire() == {"type": "realtime", "audio": {}}


def test_model_can_be_left_out_of_the_update() -> None:
    wire = default_session_properties().to_wire(include_model=False)
    assert "model" not in wire
    assert_valid_session(wire)


def test_every_field_kind_serializes_to_a_valid_session() -> None:
    tool = {
        "type": "function",
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
    props = SessionProperties(
        model="gpt-realtime",
        instructions="Be brief.",
        output_modalities=["text"],
        audio=AudioConfig(
            input=AudioInput(
                format=PCMFormat(),
                noise_reduction=NoiseReduction(type="far_field"),
                transcription=Transcription(model="whisper-1", language="de", prompt="names"),
                turn_detection=ServerVad(threshold=0.7, idle_timeout_ms=6000),
            ),
            output=AudioOutput(voice="marin", speed=1.2),
        ),
        tools=[tool],
        tool_choice=ToolChoiceFunction(name="get_weather"),
        max_output_tokens="inf",
        tracing=TracingConfig(workflow_name="bot", metadata={"k": "v"}),
        truncation=RetentionRatioTruncation(retention_ratio=0.8),
        prompt=PromptReference(id="pmpt_1", variables={"name": "Ada"}),
        include=["item.input_audio_transcription.logprobs"],
    )
    wire = props.to_wire()
    assert_valid_session(wire)
    assert wire["tools"] == [tool]
    assert wire["tool_choice"] == {"type": "function", "name": "get_weather"}
    assert wire["truncation"] == {"type": "retention_ratio", "retention_ratio": 0.8}
    assert not props.audio_output_enabled


@pytest.mark.parametrize("value", ["auto", "none", "required"])
def test_tool_choice_modes(value: str) -> None:
    assert_valid_session(SessionProperties.from_mapping({"tool_choice": value}).to_wire())


def test_wire_session_round_trips_through_from_mapping() -> None:
    wire = default_session_properties().to_wire()
    assert SessionProperties.from_mapping(wire).to_wire() == wire


def test_to_wire_does_not_share_tool_dicts() -> None:
    tools = [{"type": "function", "name": "f", "parameters": {"type": "object"}}]
    props = SessionProperties(tools=tools)
    props.to_wire()["tools"][0]["name"] = "changed"
    assert props.to_wire()["tools"][0]["name"] == "f"


# -- conveniences ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "rate"), [(PCMFormat(), 24000), (PCMUFormat(), 8000), (PCMAFormat(), 8000)]
)
def test_sample_rates_follow_the_formats(fmt: Any, rate: int) -> None:
    props = SessionProperties(
        audio=AudioConfig(input=AudioInput(format=fmt), output=AudioOutput(format=fmt))
    )
    assert props.input_sample_rate == rate
    assert props.output_sample_rate == rate


def test_unset_audio_means_the_protocol_defaults() -> None:
    props = SessionProperties()
    assert props.input_sample_rate == 24000
    assert props.output_sample_rate == 24000
    assert props.voice is None
    assert props.server_vad_enabled  # the server's default is server VAD
    assert props.audio_output_enabled


# -- merge -------------------------------------------------------------------------------


def test_merge_changes_only_what_the_other_set() -> None:
    base = default_session_properties()
    merged = base.merged(voice_only("echo"))

    assert merged.voice == "echo"
    expected = base.to_wire()
    expected["audio"]["output"]["voice"] = "echo"
    assert merged.to_wire() == expected


def test_merge_of_the_same_vad_type_keeps_the_other_parameters() -> None:
    base = default_session_properties()
    merged = base.merged(
        SessionProperties(
            audio=AudioConfig(input=AudioInput(turn_detection=ServerVad(threshold=0.8)))
        )
    )
    vad = merged.to_wire()["audio"]["input"]["turn_detection"]
    assert vad["threshold"] == 0.8
    assert vad["silence_duration_ms"] == 500


def test_merge_of_another_vad_type_replaces() -> None:
    merged = default_session_properties().merged(
        SessionProperties(
            audio=AudioConfig(input=AudioInput(turn_detection=SemanticVad(eagerness="low")))
        )
    )
    vad = merged.to_wire()["audio"]["input"]["turn_detection"]
    assert vad == {"type": "semantic_vad", "eagerness": "low"}


def test_merge_with_explicit_none_turns_vad_off() -> None:
    merged = default_session_properties().merged(
        SessionProperties(audio=AudioConfig(input=AudioInput(turn_detection=None)))
    )
    assert not merged.server_vad_enabled
    assert merged.to_wire()["audio"]["input"]["turn_detection"] is None


def test_merge_replaces_lists() -> None:
    base = SessionProperties(tools=[{"type": "function", "name": "a"}])
    assert base.merged(SessionProperties(tools=[])).to_wire()["tools"] == []


# -- validation --------------------------------------------------------------------------

BAD_SESSIONS = [
    (
        {"audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 1.5}}}},
        "session_properties.audio.input.turn_detection.threshold",
    ),
    (
        {"audio": {"input": {"turn_detection": {"type": "server_vad", "prefix_padding_ms": -1}}}},
        "session_properties.audio.input.turn_detection.prefix_padding_ms",
    ),
    (
        {"audio": {"input": {"turn_detection": {"type": "server_vad", "silence_duration_ms": -5}}}},
        "session_properties.audio.input.turn_detection.silence_duration_ms",
    ),
    (
        {"audio": {"input": {"turn_detection": {"type": "semantic_vad", "eagerness": "eager"}}}},
        "session_properties.audio.input.turn_detection.eagerness",
    ),
    (
        {"audio": {"input": {"turn_detection": {"type": "push_to_talk"}}}},
        "session_properties.audio.input.turn_detection",
    ),
    (
        {"audio": {"input": {"format": {"type": "audio/wav"}}}},
        "session_properties.audio.input.format",
    ),
    (
        {"audio": {"output": {"format": {"type": "audio/pcm", "rate": 16000}}}},
        "session_properties.audio.output.format.rate",
    ),
    ({"audio": {"output": {"speed": 2.0}}}, "session_properties.audio.output.speed"),
    ({"audio": {"output": {"voice": ""}}}, "session_properties.audio.output.voice"),
    (
        {"audio": {"input": {"noise_reduction": {"type": "medium_field"}}}},
        "session_properties.audio.input.noise_reduction.type",
    ),
    ({"audio": {"input": {"turn_detecton": None}}}, "session_properties.audio.input.turn_detecton"),
    ({"voice": "alloy"}, "session_properties.voice"),
    ({"output_modalities": ["audio", "text"]}, "session_properties.output_modalities"),
    ({"output_modalities": []}, "session_properties.output_modalities"),
    ({"output_modalities": ["video"]}, "session_properties.output_modalities[0]"),
    ({"max_output_tokens": 0}, "session_properties.max_output_tokens"),
    ({"max_output_tokens": 4097}, "session_properties.max_output_tokens"),
    ({"max_output_tokens": True}, "session_properties.max_output_tokens"),
    ({"max_output_tokens": "infinite"}, "session_properties.max_output_tokens"),
    ({"tool_choice": "always"}, "session_properties.tool_choice"),
    ({"tool_choice": {"type": "function"}}, "session_properties.tool_choice.name"),
    ({"tools": [{"type": "function"}]}, "session_properties.tools"),
    (
        {"truncation": {"type": "retention_ratio", "retention_ratio": 2}},
        "session_properties.truncation.retention_ratio",
    ),
    ({"include": ["everything"]}, "session_properties.include[0]"),
]


@pytest.mark.parametrize(("data", "field"), BAD_SESSIONS)
def test_bad_values_name_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidSettingsError) as caught:
        SessionProperties.from_mapping(data)
    assert caught.value.field == field
    assert field in str(caught.value)


@pytest.mark.parametrize(("data", "field"), BAD_SESSIONS)
def test_pydantic_entry_points_raise_settings_errors_too(data: dict[str, Any], field: str) -> None:
    """``model_validate`` and ``model_validate_json`` are pydantic's; the error is ours."""
    with pytest.raises(InvalidSettingsError) as caught:
        SessionProperties.model_validate(data)
    assert caught.value.field == field
    with pytest.raises(InvalidSettingsError) as caught:
        SessionProperties.model_validate_json(json.dumps(data))
    assert caught.value.field == field


def test_nested_models_validate_with_their_own_path() -> None:
    with pytest.raises(InvalidSettingsError) as caught:
        ServerVad.model_validate({"threshold": 3})
    assert caught.value.field == "session_properties.audio.input.turn_detection.threshold"
    assert SessionProperties.model_validate({"instructions": "Be brief."}).to_wire() == {
        "type": "realtime",
        "instructions": "Be brief.",
    }


def test_from_mapping_path_prefix_can_be_chosen() -> None:
    with pytest.raises(InvalidSettingsError) as caught:
        SessionProperties.from_mapping({"audio": {"output": {"speed": 9}}}, path="session")
    assert caught.value.field == "session.audio.output.speed"


def test_direct_construction_raises_settings_errors_too() -> None:
    with pytest.raises(InvalidSettingsError) as caught:
        ServerVad(threshold=-0.1)
    assert caught.value.field == "session_properties.audio.input.turn_detection.threshold"

    with pytest.raises(InvalidSettingsError) as caught:
        SessionProperties(audio={"output": {"speed": 0.1}})  # type: ignore[arg-type]
    assert caught.value.field == "session_properties.audio.output.speed"


def test_settings_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match="output_modalities"):
        SessionProperties(output_modalities=["audio", "text"])


def test_properties_are_immutable() -> None:
    props = default_session_properties()
    with pytest.raises(ValueError, match="frozen"):
        props.instructions = "changed"
