"""`parse_server_event`: GA event dicts -> typed values; unknown types never raise."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from realtime_llm.dialects import get_dialect
from realtime_llm.errors import ProtocolError
from realtime_llm.protocol import events as ev
from realtime_llm.protocol.events import KNOWN_TYPES, parse_server_event
from realtime_llm.server.cassette import Cassette

from .helpers import (
    USAGE,
    ServerEvents,
    assistant_audio_item,
    function_call_item,
    pcm,
    user_audio_item,
    validate_server_event,
)

S = ServerEvents()
AUDIO_ITEM = assistant_audio_item("item_1")
CALL_ITEM = function_call_item("fc_1", "call_1", "get_weather")
USER_ITEM = user_audio_item("user_1", "Hi")
CREATED = S.session_created()
UPDATED = S.session_updated()

KNOWN: list[tuple[dict[str, Any], object]] = [
    (CREATED, ev.SessionCreated(CREATED["session"])),
    (UPDATED, ev.SessionUpdated(UPDATED["session"])),
    (S.speech_started("user_1", 1500), ev.SpeechStarted("user_1", 1500)),
    (S.speech_stopped("user_1", 2500), ev.SpeechStopped("user_1", 2500)),
    (S.committed("user_1", "item_0"), ev.BufferCommitted("user_1", "item_0")),
    (S.cleared(), ev.BufferCleared()),
    (S.item_added(AUDIO_ITEM, "item_0"), ev.ItemAdded(AUDIO_ITEM, "item_0")),
    (S.item_created(USER_ITEM), ev.ItemAdded(USER_ITEM, None)),
    (S.item_done(CALL_ITEM), ev.ItemDone(CALL_ITEM)),
    (S.item_retrieved(USER_ITEM), ev.ItemRetrieved(USER_ITEM)),
    (S.item_truncated("item_1", 640), ev.ItemTruncated("item_1", 640)),
    (S.item_deleted("item_1"), ev.ItemDeleted("item_1")),
    (S.transcription_delta("user_1", "Hi"), ev.TranscriptionDelta("user_1", "Hi")),
    (S.transcription_completed("user_1", "Hi."), ev.TranscriptionCompleted("user_1", "Hi.")),
    (S.transcription_failed("user_1", "Bad audio"), ev.TranscriptionFailed("user_1", "Bad audio")),
    (S.response_created("resp_1"), ev.ResponseCreated("resp_1")),
    (
        S.response_done("resp_1", usage=USAGE, output=[AUDIO_ITEM]),
        ev.ResponseDone("resp_1", "completed", None, None, USAGE, (AUDIO_ITEM,)),
    ),
    (S.output_item_added("resp_1", CALL_ITEM), ev.OutputItemAdded("resp_1", CALL_ITEM)),
    (
        S.audio_delta("resp_1", "item_1", pcm(10)),
        ev.AudioDelta("resp_1", "item_1", pcm(10)),
    ),
    (S.audio_done("resp_1", "item_1"), ev.AudioDone("resp_1", "item_1")),
    (
        S.transcript_delta("resp_1", "item_1", "Hel"),
        ev.TranscriptDelta("resp_1", "item_1", "Hel"),
    ),
    (
        S.transcript_done("resp_1", "item_1", "Hello"),
        ev.TranscriptDone("resp_1", "item_1", "Hello"),
    ),
    (S.text_delta("resp_1", "item_1", "Te"), ev.TextDelta("resp_1", "item_1", "Te")),
    (S.text_done("resp_1", "item_1", "Text"), ev.TextDone("resp_1", "item_1", "Text")),
    (
        S.arguments_done("resp_1", "fc_1", "call_1", "get_weather", '{"city":"Oslo"}'),
        ev.FunctionCallArgumentsDone("resp_1", "fc_1", "call_1", "get_weather", '{"city":"Oslo"}'),
    ),
    (
        S.error("invalid_value", "Bad value.", param="session.voice", event_id="rl_sess_1"),
        ev.ServerError(
            "invalid_value", "Bad value.", "invalid_request_error", "session.voice", "rl_sess_1"
        ),
    ),
]


def test_every_known_type_has_a_fixture_here() -> None:
    assert {event["type"] for event, _ in KNOWN} == KNOWN_TYPES


@pytest.mark.parametrize(("event", "expected"), KNOWN, ids=[event["type"] for event, _ in KNOWN])
def test_known_type_parses(event: dict[str, Any], expected: object) -> None:
    validate_server_event(event)
    assert parse_server_event(event) == expected


def test_item_ids_come_from_the_item() -> None:
    parsed = parse_server_event(S.item_added(AUDIO_ITEM))
    assert isinstance(parsed, ev.ItemAdded)
    assert parsed.item_id == "item_1"
    done = parse_server_event(S.item_done(CALL_ITEM))
    assert isinstance(done, ev.ItemDone)
    assert done.item_id == "fc_1"
    retrieved = parse_server_event(S.item_retrieved(USER_ITEM))
    assert isinstance(retrieved, ev.ItemRetrieved)
    assert retrieved.item_id == "user_1"


class TestResponseDone:
    def test_failed_extracts_the_message(self) -> None:
        error = {"type": "server_error", "code": "internal_error", "message": "It broke."}
        parsed = parse_server_event(S.response_done("resp_1", "failed", error=error))
        assert parsed == ev.ResponseDone("resp_1", "failed", None, "It broke.", None, ())

    def test_failed_without_message_falls_back_to_the_code(self) -> None:
        error = {"type": "server_error", "code": "internal_error"}
        parsed = parse_server_event(S.response_done("resp_1", "failed", error=error))
        assert isinstance(parsed, ev.ResponseDone)
        assert parsed.error_message == "internal_error"

    def test_cancelled_reason(self) -> None:
        parsed = parse_server_event(S.response_done("resp_1", "cancelled", reason="turn_detected"))
        assert parsed == ev.ResponseDone("resp_1", "cancelled", "turn_detected", None, None, ())

    def test_incomplete_reason(self) -> None:
        event = S.response_done("resp_1", "incomplete", reason="content_filter")
        parsed = parse_server_event(event)
        assert isinstance(parsed, ev.ResponseDone)
        assert (parsed.status, parsed.reason, parsed.error_message) == (
            "incomplete",
            "content_filter",
            None,
        )

    def test_minimal_response_defaults(self) -> None:
        parsed = parse_server_event({"type": "response.done", "response": {}})
        assert parsed == ev.ResponseDone("", "completed", None, None, None, ())


class TestServerError:
    def test_all_fields(self) -> None:
        event = S.error(
            "unknown_parameter", "Unknown parameter.", param="session.x", event_id="rl_sess_3"
        )
        assert parse_server_event(event) == ev.ServerError(
            "unknown_parameter",
            "Unknown parameter.",
            "invalid_request_error",
            "session.x",
            "rl_sess_3",
        )

    def test_empty_error_body(self) -> None:
        assert parse_server_event({"type": "error", "error": None}) == ev.ServerError(
            None, "unknown server error", None, None, None
        )


class TestUnknown:
    @pytest.mark.parametrize(
        "event",
        [
            S.rate_limits_updated(),
            S.timeout_triggered("user_1"),
            S.output_item_done("resp_1", AUDIO_ITEM),
            S.content_part_added("resp_1", "item_1"),
            S.arguments_delta("resp_1", "fc_1", "call_1", "{"),
            {"type": "output_audio_buffer.started", "event_id": "e", "response_id": "resp_1"},
            {"type": "mcp_list_tools.in_progress", "event_id": "e", "item_id": "mcp_1"},
        ],
        ids=lambda e: e["type"],
    )
    def test_ga_events_the_core_does_not_act_on(self, event: dict[str, Any]) -> None:
        validate_server_event(event)
        assert parse_server_event(event) == ev.Unknown(event["type"], event)

    @pytest.mark.parametrize(
        "event",
        [
            {"type": "response.hologram.delta"},
            {"type": "response.audio.delta", "delta": "AAAA"},  # beta name: dialects map it
            {"type": "ping"},
            {"type": "warning", "warning": None, "weird": [1, {"x": object()}]},
            {"type": ""},
        ],
        ids=lambda e: e["type"] or "empty",
    )
    def test_unknown_types_never_raise(self, event: dict[str, Any]) -> None:
        assert parse_server_event(event) == ev.Unknown(event["type"], event)

    @pytest.mark.parametrize("event", [{}, {"type": None}, {"type": 7}, {"event_id": "e"}])
    def test_no_string_type_is_a_protocol_error(self, event: dict[str, Any]) -> None:
        with pytest.raises(ProtocolError):
            parse_server_event(event)


def _without(make: Callable[[], dict[str, Any]], *path: str) -> dict[str, Any]:
    event = make()
    target = event
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return event


MISSING = [
    _without(S.session_created, "session"),
    _without(S.session_updated, "session"),
    _without(lambda: S.item_added(AUDIO_ITEM), "item"),
    _without(lambda: S.item_created(AUDIO_ITEM), "item"),
    _without(lambda: S.item_done(AUDIO_ITEM), "item"),
    _without(lambda: S.item_retrieved(AUDIO_ITEM), "item"),
    _without(lambda: S.item_truncated("item_1", 10), "audio_end_ms"),
    _without(lambda: S.item_truncated("item_1", 10), "item_id"),
    _without(lambda: S.item_deleted("item_1"), "item_id"),
    _without(lambda: S.transcription_delta("user_1", "x"), "item_id"),
    _without(lambda: S.transcription_completed("user_1", "x"), "item_id"),
    _without(lambda: S.transcription_failed("user_1"), "item_id"),
    _without(lambda: S.response_created("resp_1"), "response"),
    _without(lambda: S.response_done("resp_1"), "response"),
    _without(lambda: S.output_item_added("resp_1", CALL_ITEM), "item"),
    _without(lambda: S.output_item_added("resp_1", CALL_ITEM), "response_id"),
    _without(lambda: S.audio_delta("resp_1", "item_1", "AAAA"), "delta"),
    _without(lambda: S.audio_delta("resp_1", "item_1", "AAAA"), "response_id"),
    _without(lambda: S.audio_delta("resp_1", "item_1", "AAAA"), "item_id"),
    _without(lambda: S.audio_done("resp_1", "item_1"), "item_id"),
    _without(lambda: S.transcript_delta("resp_1", "item_1", "x"), "delta"),
    _without(lambda: S.transcript_done("resp_1", "item_1", "x"), "response_id"),
    _without(lambda: S.text_delta("resp_1", "item_1", "x"), "delta"),
    _without(lambda: S.text_done("resp_1", "item_1", "x"), "item_id"),
    _without(lambda: S.arguments_done("resp_1", "fc_1", "call_1", "f", "{}"), "call_id"),
]


@pytest.mark.parametrize("event", MISSING, ids=lambda e: e["type"])
def test_missing_fields_are_protocol_errors(event: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError, match=event["type"]):
        parse_server_event(event)


@pytest.mark.parametrize(
    "event",
    [
        {"type": "response.created", "response": None},
        {"type": "response.done", "response": "resp_1"},
        {"type": "conversation.item.truncated", "item_id": "i", "audio_end_ms": "soon"},
        {"type": "input_audio_buffer.speech_started", "audio_start_ms": "x", "item_id": "i"},
    ],
    ids=lambda e: e["type"],
)
def test_malformed_fields_are_protocol_errors(event: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError):
        parse_server_event(event)


def test_optional_fields_have_defaults() -> None:
    assert parse_server_event({"type": "input_audio_buffer.speech_started"}) == ev.SpeechStarted(
        "", 0
    )
    assert parse_server_event(
        {"type": "response.function_call_arguments.done", "call_id": "call_1"}
    ) == ev.FunctionCallArgumentsDone("", "", "call_1", None, "")
    assert parse_server_event(
        {"type": "conversation.item.input_audio_transcription.failed", "item_id": "u"}
    ) == ev.TranscriptionFailed("u", "transcription failed")


def test_parsed_events_are_frozen() -> None:
    parsed = parse_server_event(S.response_created("resp_1"))
    with pytest.raises(AttributeError):
        parsed.response_id = "other"  # type: ignore[misc,union-attr]


# --- real traffic: the recorded sessions in tests/cassettes/data ----------------------------

CASSETTES = Path(__file__).parent.parent / "cassettes" / "data"
RECORDED_DIALECTS = {"test_openai_ws": "openai", "test_azure_ws": "azure", "test_xai_ws": "xai"}


def _recorded(path: Path) -> list[dict[str, Any]]:
    """What the real server sent, as the connection hands it to the parser: GA type names."""
    dialect = get_dialect(RECORDED_DIALECTS[path.parent.name], "wss://127.0.0.1/v1/realtime")
    events = []
    for event in Cassette.load(path).events("received"):
        canonical = dialect.canonical_type(event["type"])
        if canonical is not None:
            events.append({**event, "type": canonical})
    return events


@pytest.mark.parametrize(
    "path", sorted(CASSETTES.glob("*/*.yaml")), ids=lambda p: f"{p.parent.name}/{p.stem}"
)
def test_every_recorded_server_event_parses(path: Path) -> None:
    """No event a real server sent is malformed to the client (a skipped one is lost)."""
    events = _recorded(path)
    assert events
    for event in events:
        parse_server_event(event)  # raises ProtocolError on a malformed event


class TestRealXAI:
    """xAI: ``status_details`` is a string, ``response.usage`` is ``{}``, and the usage is
    at the top level of ``response.done`` (issue 7, item 10)."""

    EVENTS = _recorded(CASSETTES / "test_xai_ws" / "test_tool_call_round.yaml")

    def test_recorded_events_are_the_ones_that_broke_the_parser(self) -> None:
        done = [e for e in self.EVENTS if e["type"] == "response.done"]
        assert len(done) == 2
        assert all(e["response"]["status_details"] == "unimplemented" for e in done)
        assert all(e["response"]["usage"] == {} and e["usage"] for e in done)

    def test_response_created(self) -> None:
        created = [parse_server_event(e) for e in self.EVENTS if e["type"] == "response.created"]
        assert created == [
            ev.ResponseCreated("feea3318-12a0-4d5e-99d5-d1637d00cd98"),
            ev.ResponseCreated("1094c993-7eec-4496-882a-5feb51b6a320"),
        ]

    def test_response_done_ends_the_reply_with_the_top_level_usage(self) -> None:
        done = [parse_server_event(e) for e in self.EVENTS if e["type"] == "response.done"]
        first = done[0]
        assert isinstance(first, ev.ResponseDone)
        assert (first.response_id, first.status, first.reason, first.error_message) == (
            "feea3318-12a0-4d5e-99d5-d1637d00cd98",
            "completed",
            None,
            None,
        )
        assert first.usage is not None
        assert (first.usage["input_tokens"], first.usage["output_tokens"]) == (7, 113)
        assert [item["type"] for item in first.output] == ["message", "function_call"]


class TestShapesRealServersSend:
    """Odd but real shapes of optional fields parse; the core only reads what it needs."""

    def test_status_details_string(self) -> None:
        event = {"type": "response.done", "response": {"id": "r", "status_details": "x"}}
        assert parse_server_event(event) == ev.ResponseDone("r", "completed", None, None, None, ())

    def test_response_usage_wins_over_a_top_level_one(self) -> None:
        event = S.response_done("resp_1", usage=USAGE)
        event["usage"] = {"total_tokens": 1}
        parsed = parse_server_event(event)
        assert isinstance(parsed, ev.ResponseDone)
        assert parsed.usage == USAGE

    def test_empty_usage_everywhere_is_none(self) -> None:
        event = {"type": "response.done", "response": {"usage": {}}, "usage": {}}
        parsed = parse_server_event(event)
        assert isinstance(parsed, ev.ResponseDone)
        assert parsed.usage is None

    def test_error_as_a_string(self) -> None:
        failed = {
            "type": "response.done",
            "response": {"status": "failed", "status_details": {"error": "It broke."}},
        }
        parsed = parse_server_event(failed)
        assert isinstance(parsed, ev.ResponseDone)
        assert parsed.error_message == "It broke."
        assert parse_server_event({"type": "error", "error": "Nope."}) == ev.ServerError(
            None, "Nope.", None, None, None
        )

    def test_output_entries_that_are_not_objects_are_dropped(self) -> None:
        event = {"type": "response.done", "response": {"output": [AUDIO_ITEM, "junk", None]}}
        parsed = parse_server_event(event)
        assert isinstance(parsed, ev.ResponseDone)
        assert parsed.output == (AUDIO_ITEM,)
