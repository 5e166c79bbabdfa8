"""The usage of an interrupted response reaches the glue (issue 7, item 11).

``interrupt()`` closes the response at once, before the server's ``response.done`` says
what it cost; that later ``response.done`` (status ``cancelled``, with usage) yields one
``ResponseUsage``, and never a second ``ResponseEnded``.
"""

from __future__ import annotations

from typing import Any

from realtime_llm.protocol.outputs import ResponseEnded, ResponseStarted, ResponseUsage

from .helpers import Harness, happenings, pcm

USAGE: dict[str, Any] = {
    "total_tokens": 170,
    "input_tokens": 120,
    "output_tokens": 50,
    "input_token_details": {
        "text_tokens": 80,
        "audio_tokens": 40,
        "image_tokens": 0,
        "cached_tokens": 64,
        "cached_tokens_details": {"text_tokens": 48, "audio_tokens": 16, "image_tokens": 0},
    },
    "output_token_details": {"text_tokens": 10, "audio_tokens": 40},
}


def test_usage_of_an_interrupted_response_follows_its_end() -> None:
    h = Harness()
    h.connect()
    h.start_response("resp_1")
    h.play("resp_1", "item_1", [pcm(40)])
    closed = h.do(h.session.interrupt(now=1.0))
    assert ResponseEnded("resp_1", "cancelled", None, None, None, True) in closed
    done = h.server.response_done("resp_1", "cancelled", reason="client_cancelled", usage=USAGE)
    assert happenings(h.feed(done)) == [ResponseUsage("resp_1", USAGE)]


def test_barge_in_by_server_vad_then_usage() -> None:
    h = Harness()
    h.connect()
    h.start_response("resp_1")
    h.play("resp_1", "item_1", [pcm(40)])
    out = h.feed(h.server.speech_started("item_user_2"))
    assert next(o for o in out if isinstance(o, ResponseEnded)).interrupted
    done = h.server.response_done("resp_1", "cancelled", reason="turn_detected", usage=USAGE)
    assert happenings(h.feed(done)) == [ResponseUsage("resp_1", USAGE)]
    # Only once: a duplicate response.done is not billed twice.
    assert happenings(h.feed(done)) == []


def test_a_response_cancelled_before_it_was_created_still_reports_its_usage() -> None:
    h = Harness()
    h.connect()
    h.do(h.session.request_response())
    h.do(h.session.interrupt(now=0.0))
    assert happenings(h.start_response("resp_never_played")) == []  # never plays
    done = h.server.response_done("resp_never_played", "cancelled", usage=USAGE)
    assert happenings(h.feed(done)) == [ResponseUsage("resp_never_played", USAGE)]


def test_no_usage_output_without_usage_or_for_a_normal_end() -> None:
    h = Harness()
    h.connect()
    h.start_response("resp_1")
    h.do(h.session.interrupt(now=1.0))
    assert happenings(h.feed(h.server.response_done("resp_1", "cancelled"))) == []
    assert h.start_response("resp_2") == [ResponseStarted("resp_2")]
    out = happenings(h.feed(h.server.response_done("resp_2", usage=USAGE)))
    assert out == [ResponseEnded("resp_2", "completed", None, USAGE, None, False)]


def test_usage_of_the_old_connection_is_not_reported_on_the_new_one() -> None:
    h = Harness()
    h.connect()
    h.start_response("resp_1")
    h.do(h.session.interrupt(now=1.0))
    h.session.connection_lost()
    h.session.reset()
    h.connect()
    done = h.server.response_done("resp_1", "cancelled", usage=USAGE)
    assert happenings(h.feed(done)) == []
