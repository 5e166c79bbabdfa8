"""The replay rules (``ReplaySession``, no I/O) and the ``realtime_cassette`` fixture."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from realtime_llm.server.cassette import Cassette
from realtime_llm.server.replay import MISMATCH_CODE, CassetteServer, Divergence, ReplaySession

pytest_plugins = ["realtime_llm.server.pytest_plugin"]

Event = dict[str, Any]


def _cassette(*steps: tuple[str, Event]) -> Cassette:
    cassette = Cassette()
    for direction, event in steps:
        cassette.add("sent" if direction == ">" else "received", event)
    return cassette


def _types(events: list[Event]) -> list[str]:
    return [e["type"] for e in events]


CREATED = {"type": "session.created", "session": {"id": "sess_1"}}
UPDATE = {"type": "session.update", "session": {"instructions": "Hi."}}
UPDATED = {"type": "session.updated", "session": {"instructions": "Hi."}}
USER = {"type": "conversation.item.create", "item": {"type": "message", "role": "user"}}
ADDED_USER = {
    "type": "conversation.item.added",
    "item": {"id": "item_1", "type": "message", "role": "user"},
}
RESPONSE = {"type": "response.create"}
RESPONSE_CREATED = {"type": "response.created", "response": {"id": "resp_1"}}
RESPONSE_DONE = {"type": "response.done", "response": {"id": "resp_1"}}
CALL_ADDED = {
    "type": "conversation.item.added",
    "item": {"id": "fc_1", "type": "function_call", "call_id": "call_1"},
}
OUTPUT = {
    "type": "conversation.item.create",
    "item": {"type": "function_call_output", "call_id": "call_1"},
}
OUTPUT_ADDED = {
    "type": "conversation.item.added",
    "item": {"id": "item_2", "type": "function_call_output", "call_id": "call_1"},
}
TEXT_TURN = _cassette(
    ("<", CREATED),
    (">", UPDATE),
    ("<", UPDATED),
    (">", USER),
    (">", RESPONSE),
    ("<", ADDED_USER),
    ("<", RESPONSE_CREATED),
    ("<", RESPONSE_DONE),
)


def test_server_events_wait_for_the_client_events_they_answer() -> None:
    replay = ReplaySession(TEXT_TURN)
    assert _types(replay.open()) == ["session.created"]
    assert _types(replay.receive(UPDATE)) == ["session.updated"]
    assert _types(replay.receive(USER)) == ["conversation.item.added"]
    assert _types(replay.receive(RESPONSE)) == ["response.created", "response.done"]
    assert replay.finished
    assert replay.divergences == []


def test_a_divergence_is_an_error_event_and_the_replay_waits() -> None:
    replay = ReplaySession(TEXT_TURN)
    replay.open()
    [error] = replay.receive({"type": "response.create", "event_id": "evt_9"})
    assert error["type"] == "error"
    assert error["error"]["code"] == MISMATCH_CODE
    assert error["error"]["event_id"] == "evt_9"
    assert "expected session.update, got response.create" in error["error"]["message"]
    assert replay.divergences == [Divergence(0, "session.update", "response.create")]
    assert _types(replay.receive(UPDATE)) == ["session.updated"]  # back on the recording


def test_an_item_of_another_type_diverges() -> None:
    replay = ReplaySession(TEXT_TURN)
    replay.open()
    replay.receive(UPDATE)
    replay.receive(OUTPUT)
    assert replay.divergences == [
        Divergence(
            1, "conversation.item.create (message user)", OUTPUT["type"] + " (function_call_output)"
        )
    ]


def test_events_past_the_end_of_the_recording_diverge() -> None:
    replay = ReplaySession(TEXT_TURN)
    for event in (UPDATE, USER, RESPONSE):
        replay.receive(event)
    replay.receive(RESPONSE)
    assert replay.divergences == [Divergence(3, None, "response.create")]
    assert "the recording ends here" in str(replay.divergences[0])


def test_a_client_that_waits_for_response_done_before_its_tool_output_gets_it() -> None:
    """Recorded: the tool output went out before ``response.done``. A client that waits
    for ``response.done`` first must not deadlock the replay."""
    replay = ReplaySession(
        _cassette(
            (">", RESPONSE),
            ("<", RESPONSE_CREATED),
            ("<", CALL_ADDED),
            (">", OUTPUT),
            ("<", RESPONSE_DONE),
            ("<", OUTPUT_ADDED),
        )
    )
    assert replay.open() == []
    assert _types(replay.receive(RESPONSE)) == [
        "response.created",
        "conversation.item.added",
        "response.done",  # not an answer to the tool output: it does not wait for it
    ]
    assert [e["item"]["type"] for e in replay.receive(OUTPUT)] == ["function_call_output"]


def test_ids_the_client_chose_replace_the_recorded_ones() -> None:
    replay = ReplaySession(
        _cassette(
            (">", {**USER, "item": {**USER["item"], "id": "rec_item"}}),
            ("<", {**ADDED_USER, "item": {**ADDED_USER["item"], "id": "rec_item"}}),
            (">", {"type": "response.create", "response": {"metadata": {"client": "rec_7"}}}),
            ("<", {"type": "response.created", "response": {"metadata": {"client": "rec_7"}}}),
        )
    )
    [added] = replay.receive({**USER, "item": {**USER["item"], "id": "my_item"}})
    assert added["item"]["id"] == "my_item"
    [created] = replay.receive(
        {"type": "response.create", "event_id": "e1", "response": {"metadata": {"client": "c1"}}}
    )
    assert created["response"]["metadata"] == {"client": "c1"}


AUDIO_TURN = _cassette(
    ("<", CREATED),
    (">", UPDATE),
    ("<", UPDATED),
    *[(">", {"type": "input_audio_buffer.append", "audio": "AAAA"})] * 3,
    ("<", {"type": "input_audio_buffer.speech_started", "item_id": "item_1"}),
    ("<", RESPONSE_CREATED),
)


def test_audio_is_one_step_whatever_the_number_of_appends() -> None:
    replay = ReplaySession(AUDIO_TURN)
    replay.open()
    replay.receive(UPDATE)
    append = {"type": "input_audio_buffer.append", "audio": "BBBB"}
    assert _types(replay.receive(append)) == [
        "input_audio_buffer.speech_started",
        "response.created",
    ]
    for _ in range(10):
        assert replay.receive(append) == []
    assert replay.divergences == []


def test_an_extra_session_update_gets_the_recorded_echo() -> None:
    replay = ReplaySession(TEXT_TURN)
    replay.open()
    replay.receive(UPDATE)
    [echo] = replay.receive({**UPDATE, "session": {"tools": []}})
    assert echo["type"] == "session.updated"
    assert echo["session"] == UPDATED["session"]
    assert replay.divergences == []


async def test_the_fixture_replays_a_cassette(realtime_cassette: Any, tmp_path: Path) -> None:
    path = tmp_path / "session.yaml"
    TEXT_TURN.save(path)
    server = await realtime_cassette(path)
    async with connect(server.url + "?model=m") as ws:
        assert json.loads(await ws.recv())["type"] == "session.created"
        await ws.send(json.dumps(UPDATE))
        assert json.loads(await ws.recv())["type"] == "session.updated"
    assert server.divergences == []


def test_a_strict_fixture_fails_the_test_that_diverged(tmp_path: Path) -> None:
    TEXT_TURN.save(tmp_path / "session.yaml")
    (tmp_path / "test_bot.py").write_text(
        """
import json
import logging
import pytest
from websockets.asyncio.client import connect

async def test_bot(realtime_cassette):
    server = await realtime_cassette("session.yaml")
    async with connect(server.url) as ws:
        await ws.recv()
        await ws.send(json.dumps({"type": "response.create"}))
        await ws.recv()
"""
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "realtime_llm.server.pytest_plugin",
            "-o",
            "asyncio_mode=auto",
            "-p",
            "no:cacheprovider",
            "test_bot.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1, run.stdout
    assert "the client diverged from the cassette" in run.stdout
    assert "expected session.update, got response.create" in run.stdout


async def test_the_server_skips_what_is_not_an_event() -> None:
    async with CassetteServer(TEXT_TURN) as server, connect(server.url) as ws:
        assert json.loads(await ws.recv())["type"] == "session.created"
        await ws.send("not json")
        await ws.send("[1, 2]")
        await ws.send(json.dumps(UPDATE))
        assert json.loads(await ws.recv())["type"] == "session.updated"
    assert server.received == [UPDATE]
    assert server.divergences == []


def test_metadata_is_echoed_where_the_recorded_server_echoes_it() -> None:
    def turn(response: dict[str, Any]) -> Cassette:
        return _cassette(
            (">", RESPONSE),
            ("<", {"type": "response.created", "response": {"id": "resp_1", **response}}),
            ("<", {"type": "response.done", "response": {"id": "resp_1", **response}}),
        )

    create = {"type": "response.create", "response": {"metadata": {"client_id": "c1"}}}
    echoing = ReplaySession(turn({"metadata": None}))  # GA, Azure
    assert [e["response"]["metadata"] for e in echoing.receive(create)] == [
        {"client_id": "c1"},
        {"client_id": "c1"},
    ]
    silent = ReplaySession(turn({}))  # xAI: no metadata field at all
    assert ["metadata" in e["response"] for e in silent.receive(create)] == [False, False]
    plain = ReplaySession(turn({"metadata": None}))
    assert [e["response"]["metadata"] for e in plain.receive(RESPONSE)] == [None, None]


def test_audio_sent_before_it_was_due_is_not_lost() -> None:
    """A client that streams audio as soon as it connects, before its session.update."""
    replay = ReplaySession(AUDIO_TURN)
    replay.open()
    assert replay.receive({"type": "input_audio_buffer.append", "audio": "BBBB"}) == []
    assert _types(replay.receive(UPDATE)) == [
        "session.updated",
        "input_audio_buffer.speech_started",
        "response.created",
    ]
    assert replay.finished


async def test_the_server_logs_a_divergence_and_keeps_it(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="realtime_llm.server.replay")
    async with CassetteServer(TEXT_TURN) as server, connect(server.url) as ws:
        await ws.recv()
        await ws.send(json.dumps({"type": "input_audio_buffer.commit", "event_id": "e7"}))
        error = json.loads(await ws.recv())
    expected = (
        "client event #0 diverges from the cassette: expected session.update, "
        "got input_audio_buffer.commit"
    )
    assert error["error"]["message"] == expected
    assert server.divergences == [Divergence(0, "session.update", "input_audio_buffer.commit")]
    assert [r.getMessage() for r in caplog.records] == [f"cassette replay: {expected}"]


async def test_debug_logs_of_the_replay_hold_no_key(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="realtime_llm.server.replay.websockets")
    headers = {"Authorization": "Bearer sk-test-SECRET-123"}
    async with CassetteServer(TEXT_TURN) as server:
        url = f"{server.url}?model=m&key=query-SECRET"
        async with connect(url, additional_headers=headers) as ws:
            await ws.recv()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Authorization: [redacted]" in logged and "key=[redacted]" in logged
    assert "SECRET" not in logged
