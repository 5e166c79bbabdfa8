"""The response lifecycle's tables: complete where it matters, and the docs drawn from them."""

from __future__ import annotations

from pathlib import Path

from realtime_llm.protocol.response import (
    REQUEST_TRANSITIONS,
    RESPONSE_TRANSITIONS,
    RequestMove,
    RequestState,
    ResponseLifecycle,
    ResponseMove,
    ResponseState,
    transitions_markdown,
)

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_turn_flow_draws_the_tables_the_code_has() -> None:
    text = (DOCS / "turn-flow.md").read_text()
    start = text.index("<!-- transitions:start -->") + len("<!-- transitions:start -->")
    end = text.index("<!-- transitions:end -->")
    assert text[start:end].strip() == transitions_markdown()


def test_a_lost_connection_returns_both_machines_to_their_start() -> None:
    for state in RequestState:
        if state is not RequestState.NONE:
            assert REQUEST_TRANSITIONS[(state, RequestMove.LOST)] is RequestState.NONE
    for rstate in ResponseState:
        if rstate is not ResponseState.IDLE:
            assert RESPONSE_TRANSITIONS[(rstate, ResponseMove.LOST)] is ResponseState.IDLE


def test_every_state_is_reachable_and_can_end() -> None:
    reached = {ResponseState.IDLE}
    for (state, _), nxt in RESPONSE_TRANSITIONS.items():
        if state in reached:
            reached.add(nxt)
    assert reached == set(ResponseState)
    for rstate in ResponseState:
        if rstate is not ResponseState.IDLE:
            assert any(
                s is rstate and n is ResponseState.IDLE
                for (s, _), n in RESPONSE_TRANSITIONS.items()
            )


def test_a_move_without_a_row_changes_nothing() -> None:
    lifecycle = ResponseLifecycle()
    assert not lifecycle.move_response(ResponseMove.DONE, "resp_1")
    assert not lifecycle.move_request(RequestMove.CREATED)
    assert lifecycle.response is ResponseState.IDLE
    assert lifecycle.request is RequestState.NONE
    assert lifecycle.can_send


def test_playing_id_follows_only_an_active_response() -> None:
    lifecycle = ResponseLifecycle()
    lifecycle.move_response(ResponseMove.CREATED, "resp_1")
    assert lifecycle.playing_id == "resp_1"
    lifecycle.move_response(ResponseMove.INTERRUPT)
    assert lifecycle.response is ResponseState.CANCELLING
    assert lifecycle.playing_id is None and lifecycle.response_id == "resp_1"
    assert not lifecycle.can_send  # its response.done has not come
    lifecycle.move_response(ResponseMove.DONE)
    assert lifecycle.can_send
