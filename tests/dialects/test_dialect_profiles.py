"""Each built-in dialect: URL, auth headers, session shape, event names. No sockets here."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from openai.types.beta.realtime import RealtimeClientEvent as BetaClientEvent
from openai.types.realtime import RealtimeClientEvent
from pydantic import TypeAdapter

from realtime_llm.dialects import (
    DIALECTS,
    AzureDialect,
    Dialect,
    InworldDialect,
    OpenAIBetaDialect,
    OpenAIDialect,
    XAIDialect,
    get_dialect,
    redact_url,
)
from realtime_llm.errors import ErrorClass
from realtime_llm.pipecat.settings import default_settings

SECRET = "sk-secret-0123456789abcdefghijklmnop"
AZURE = "wss://myres.openai.azure.com/openai/v1/realtime"


def _session() -> dict[str, Any]:
    props = default_settings().session_properties
    wire: dict[str, Any] = props.to_wire(include_model=False)  # type: ignore[union-attr]
    wire["instructions"] = "Be brief."
    return wire


@pytest.mark.parametrize(
    ("dialect", "url"),
    [
        (OpenAIDialect(), "wss://api.openai.com/v1/realtime?model=gpt-realtime"),
        (OpenAIBetaDialect(), "wss://api.openai.com/v1/realtime?model=gpt-realtime"),
        (AzureDialect(AZURE), AZURE + "?model=gpt-realtime"),
        (XAIDialect(), "wss://api.x.ai/v1/realtime?model=gpt-realtime"),
        (
            InworldDialect(session_key="s1"),
            "wss://api.inworld.ai/api/v1/realtime/session?key=s1&protocol=realtime",
        ),
    ],
    ids=lambda d: getattr(d, "name", ""),
)
def test_url_carries_the_model_or_session(dialect: Dialect, url: str) -> None:
    assert dialect.url("gpt-realtime") == url


def test_headers_per_auth_scheme() -> None:
    assert OpenAIDialect().auth_headers(SECRET) == {"Authorization": f"Bearer {SECRET}"}
    assert OpenAIBetaDialect().auth_headers(SECRET) == {
        "Authorization": f"Bearer {SECRET}",
        "OpenAI-Beta": "realtime=v1",
    }
    assert AzureDialect(AZURE).auth_headers(SECRET) == {"api-key": SECRET}
    assert AzureDialect(AZURE, entra_token=True).auth_headers("tok") == {
        "Authorization": "Bearer tok"
    }
    basic = InworldDialect().auth_headers("id:secret")
    assert basic == {"Authorization": "Basic " + base64.b64encode(b"id:secret").decode()}
    assert InworldDialect(jwt=True).auth_headers("jwt") == {"Authorization": "Bearer jwt"}
    assert get_dialect("local").auth_headers(None) == {}


def test_secrets_never_survive_in_a_loggable_url() -> None:
    url = f"wss://user:{SECRET}@host.example/v1/realtime?model=m&api-key={SECRET}&key={SECRET}"
    safe = redact_url(url)
    assert SECRET not in safe and "user" not in safe
    assert "model=m" in safe
    for dialect in DIALECTS.values():
        instance = dialect(AZURE) if dialect is AzureDialect else dialect()
        assert SECRET not in repr(instance)


def test_azure_needs_a_resource_url() -> None:
    with pytest.raises(ValueError, match="base_url"):
        AzureDialect()


def test_ga_and_beta_session_updates_validate_against_their_typed_models() -> None:
    session = _session()
    ga = {"type": "session.update", "session": OpenAIDialect().serialize_session(session)}
    TypeAdapter(RealtimeClientEvent).validate_python(ga)
    beta = {"type": "session.update", "session": OpenAIBetaDialect().serialize_session(session)}
    TypeAdapter(BetaClientEvent).validate_python(beta)
    flat = beta["session"]
    assert flat["modalities"] == ["audio", "text"]
    assert flat["input_audio_format"] == "pcm16" and flat["voice"] == "alloy"
    assert flat["input_audio_transcription"]["model"]
    assert "audio" not in flat and "type" not in flat


def test_beta_outgoing_items_use_beta_part_types_and_validate() -> None:
    dialect = OpenAIBetaDialect()
    event = {
        "type": "conversation.item.create",
        "item": {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Hi"}],
        },
    }
    beta = dialect.outgoing(event)
    assert beta["item"]["content"][0]["type"] == "text"
    TypeAdapter(BetaClientEvent).validate_python(beta)
    assert event["item"]["content"][0]["type"] == "output_text"  # the original is untouched


def test_xai_session_puts_voice_and_turn_detection_on_top() -> None:
    flat = XAIDialect().serialize_session(_session())
    assert flat["voice"] == "alloy" and flat["turn_detection"]["type"] == "server_vad"
    assert "type" not in flat
    assert "voice" not in flat["audio"]["output"]
    assert "turn_detection" not in flat["audio"]["input"]


def test_inbound_aliases_and_dropped_duplicates() -> None:
    beta = OpenAIBetaDialect()
    assert beta.canonical_type("response.audio.delta") == "response.output_audio.delta"
    assert beta.canonical_type("response.audio_transcript.done") == (
        "response.output_audio_transcript.done"
    )
    xai = XAIDialect()
    assert xai.canonical_type("response.text.delta") is None
    assert xai.canonical_type("ping") is None
    assert xai.canonical_type("response.output_text.delta") == "response.output_text.delta"
    assert not xai.capabilities.supports_truncate
    assert InworldDialect().canonical_type("ping") is None


def test_error_classification_is_a_hook() -> None:
    class Strict(Dialect):
        name = "strict"

        def classify_error(self, code: str | None, error_type: str | None) -> ErrorClass:
            return (
                ErrorClass.FATAL
                if code == "custom_limit"
                else super().classify_error(code, error_type)
            )

    assert Strict().classify_error("custom_limit", None) is ErrorClass.FATAL
    assert Strict().classify_error("server_error", None) is ErrorClass.TRANSIENT


def test_unknown_dialect_names_the_built_ins() -> None:
    with pytest.raises(ValueError, match="openai_beta"):
        get_dialect("nope")


def test_beta_response_modalities_are_the_beta_pairs() -> None:
    dialect = OpenAIBetaDialect()
    audio = dialect.outgoing(
        {"type": "response.create", "response": {"output_modalities": ["audio"]}}
    )
    text = dialect.outgoing(
        {"type": "response.create", "response": {"output_modalities": ["text"]}}
    )
    assert audio["response"] == {"modalities": ["audio", "text"]}
    assert text["response"] == {"modalities": ["text"]}
    TypeAdapter(BetaClientEvent).validate_python(audio)
    assert not dialect.capabilities.supports_image_input


def test_azure_accepts_the_resource_endpoint_other_sdks_use() -> None:
    dialect = AzureDialect("https://myres.openai.azure.com/")
    assert dialect.url("dep") == "wss://myres.openai.azure.com/openai/v1/realtime?model=dep"
    assert AzureDialect(AZURE).base_url == AZURE
