"""The cassette file format: the recorded sessions load, ours round-trip, bad files say why."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from realtime_llm.server.cassette import REDACTED, Cassette, CassetteError, redact, truncate_audio

from .recorded import RECORDED, Recorded


@pytest.mark.parametrize("recorded", RECORDED, ids=lambda r: r.id)
def test_recorded_sessions_load_and_round_trip(recorded: Recorded, tmp_path: Path) -> None:
    cassette = Cassette.load(recorded.file)
    assert cassette.version == 1
    assert cassette.interactions[0].direction == "received"
    assert cassette.interactions[0].type == "session.created"
    assert cassette.events("sent") and cassette.events("received")
    copy = tmp_path / "copy.yaml"
    cassette.save(copy)
    assert Cassette.load(copy) == cassette
    assert not list(tmp_path.glob("*.partial"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("interactions: [", "not YAML"),
        ("- 1\n- 2\n", "a mapping with an 'interactions' list"),
        ("interactions: [7]", "interactions[0]: not a mapping"),
        ("interactions:\n- {direction: up, data: {type: x}}", "direction must be"),
        ("interactions:\n- {direction: sent, data: {}}", "string 'type'"),
    ],
)
def test_a_bad_cassette_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(CassetteError, match=re.escape(message)):
        Cassette.loads(text, source="bad.yaml")


def test_a_missing_file_is_a_cassette_error(tmp_path: Path) -> None:
    with pytest.raises(CassetteError, match="cannot read cassette"):
        Cassette.load(tmp_path / "nope.yaml")


def test_truncate_audio_keeps_whole_samples_of_valid_base64() -> None:
    audio = base64.b64encode(bytes(range(200))).decode()
    for event in (
        {"type": "input_audio_buffer.append", "audio": audio},
        {"type": "response.output_audio.delta", "delta": audio, "item_id": "i"},
        {"type": "response.audio.delta", "delta": audio},
    ):
        cut = truncate_audio(event)
        field = "audio" if "audio" in event else "delta"
        assert base64.b64decode(cut[field]) == bytes(range(32))
        assert {k: v for k, v in cut.items() if k != field} == {
            k: v for k, v in event.items() if k != field
        }
    assert base64.b64decode(
        truncate_audio({"type": "response.audio.delta", "delta": audio}, 7)["delta"]
    ) == bytes(range(6))


def test_truncate_audio_leaves_other_events_and_bad_audio_alone() -> None:
    text = {"type": "response.output_text.delta", "delta": "Hello"}
    assert truncate_audio(text) == text
    bad = {"type": "input_audio_buffer.append", "audio": "not base64!"}
    assert truncate_audio(bad) == bad


def test_redact_replaces_secrets_at_any_depth_longest_first() -> None:
    event = {
        "type": "error",
        "error": {"message": "key sk-abc-SECRET rejected", "params": ["sk-abc-SECRET", 3]},
        "sk-abc-SECRET": True,
    }
    assert redact(event, ["sk-abc", "sk-abc-SECRET", ""]) == {
        "type": "error",
        "error": {"message": f"key {REDACTED} rejected", "params": [REDACTED, 3]},
        REDACTED: True,
    }
    assert redact(event, []) is event
