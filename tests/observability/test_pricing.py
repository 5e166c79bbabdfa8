"""Token usage parsing, the price table and the cost of a scripted conversation."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from realtime_llm.observability import (
    DEFAULT_PRICES,
    ModelPrice,
    PriceTable,
    TokenUsage,
    UsageLedger,
)

# The usage block of a real gpt-realtime response.done (shared cassette
# test_openai_ws/test_audio_in_server_vad_turn.yaml).
CASSETTE_USAGE: dict[str, Any] = {
    "total_tokens": 205,
    "input_tokens": 41,
    "output_tokens": 164,
    "input_token_details": {
        "text_tokens": 14,
        "audio_tokens": 27,
        "image_tokens": 0,
        "cached_tokens": 0,
        "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 0, "image_tokens": 0},
    },
    "output_token_details": {"text_tokens": 28, "audio_tokens": 136},
}

CACHED_USAGE: dict[str, Any] = {
    "total_tokens": 1300,
    "input_tokens": 1200,
    "output_tokens": 100,
    "input_token_details": {
        "text_tokens": 700,
        "audio_tokens": 400,
        "image_tokens": 100,
        "cached_tokens": 832,
        "cached_tokens_details": {"text_tokens": 512, "audio_tokens": 256, "image_tokens": 64},
    },
    "output_token_details": {"text_tokens": 20, "audio_tokens": 80},
}


class TestTokenUsage:
    def test_ga_usage_with_every_detail(self) -> None:
        u = TokenUsage.from_wire(CACHED_USAGE)
        assert u == TokenUsage(
            input_tokens=1200,
            output_tokens=100,
            total_tokens=1300,
            input_text_tokens=700,
            input_audio_tokens=400,
            input_image_tokens=100,
            cached_input_tokens=832,
            cached_input_text_tokens=512,
            cached_input_audio_tokens=256,
            cached_input_image_tokens=64,
            output_text_tokens=20,
            output_audio_tokens=80,
        )

    def test_beta_shape_without_cached_split(self) -> None:
        # openai_beta sends cached_tokens without cached_tokens_details.
        usage = {
            "total_tokens": 30,
            "input_tokens": 20,
            "output_tokens": 10,
            "input_token_details": {"text_tokens": 12, "audio_tokens": 8, "cached_tokens": 4},
            "output_token_details": {"text_tokens": 2, "audio_tokens": 8},
        }
        u = TokenUsage.from_wire(usage)
        assert u is not None
        assert (u.cached_input_tokens, u.cached_input_text_tokens) == (4, 4)
        assert u.cached_input_audio_tokens == 0

    def test_totals_only_count_as_text(self) -> None:
        u = TokenUsage.from_wire({"prompt_tokens": 7, "completion_tokens": 3})
        assert u == TokenUsage(
            input_tokens=7,
            output_tokens=3,
            total_tokens=10,
            input_text_tokens=7,
            output_text_tokens=3,
        )

    @pytest.mark.parametrize(
        "usage", [None, {}, {"input_tokens": "12", "output_tokens": True}, "usage", 3]
    )
    def test_nothing_countable_is_none(self, usage: Any) -> None:
        assert TokenUsage.from_wire(usage) is None

    def test_odd_details_never_raise(self) -> None:
        usage = {
            "input_tokens": 5,
            "output_tokens": 1,
            "input_token_details": "nonsense",
            "output_token_details": {"audio_tokens": -3, "text_tokens": 1.5},
        }
        u = TokenUsage.from_wire(usage)
        assert u is not None
        assert (u.input_text_tokens, u.output_audio_tokens, u.output_text_tokens) == (5, 0, 0)

    def test_sum(self) -> None:
        a = TokenUsage.from_wire(CASSETTE_USAGE)
        b = TokenUsage.from_wire(CACHED_USAGE)
        assert a is not None and b is not None
        total = a + b
        assert total.input_tokens == 1241
        assert total.cached_input_audio_tokens == 256
        assert dict(total.items())["output_audio_tokens"] == 216


class TestPriceTable:
    def test_cost_of_the_cassette_response_by_hand(self) -> None:
        u = TokenUsage.from_wire(CASSETTE_USAGE)
        assert u is not None
        # gpt-realtime: text in $4, audio in $32, text out $16, audio out $64 per 1M.
        by_hand = Decimal(14 * 4 + 27 * 32 + 28 * 16 + 136 * 64) / 1_000_000  # = 0.010072
        assert PriceTable().cost("gpt-realtime", u) == by_hand == Decimal("0.010072")

    def test_cached_tokens_at_the_cached_rates(self) -> None:
        u = TokenUsage.from_wire(CACHED_USAGE)
        assert u is not None
        # uncached: text 188 x 4, audio 144 x 32, image 36 x 5
        # cached:   text 512 x 0.40, audio 256 x 0.40, image 64 x 0.50
        # output:   text 20 x 16, audio 80 x 64
        by_hand = (
            Decimal("188") * 4
            + Decimal("144") * 32
            + Decimal("36") * 5
            + Decimal("512") * Decimal("0.40")
            + Decimal("256") * Decimal("0.40")
            + Decimal("64") * Decimal("0.50")
            + Decimal("20") * 16
            + Decimal("80") * 64
        ) / 1_000_000
        assert PriceTable().cost("gpt-realtime", u) == by_hand == Decimal("0.0113192")

    def test_dated_snapshots_take_the_longest_prefix(self) -> None:
        table = PriceTable()
        assert table.price("gpt-realtime-2025-08-28") is DEFAULT_PRICES["gpt-realtime"]
        assert table.price("gpt-realtime-mini-2025-10-06") is DEFAULT_PRICES["gpt-realtime-mini"]
        assert table.price("grok-voice") is None
        assert table.cost("grok-voice", TokenUsage(input_tokens=5)) is None

    def test_override_and_extend(self) -> None:
        mine = ModelPrice(text_input=1, text_output=2, audio_input=10, audio_output=20)
        table = PriceTable({"gpt-realtime": mine, "my-model": mine})
        assert table.price("gpt-realtime") is mine
        assert table.price("my-model-v2") is mine
        assert table.price("gpt-realtime-mini") is DEFAULT_PRICES["gpt-realtime-mini"]
        assert PriceTable({"my-model": mine}, defaults={}).models() == ["my-model"]

    def test_cached_rates_default_to_the_uncached_ones(self) -> None:
        price = ModelPrice(text_input="1.5", text_output=3, audio_input=0.4)
        assert price.cached_text_input == Decimal("1.5")
        assert price.cached_audio_input == Decimal("0.4")  # not 0.4000000000000000222
        assert price.image_input == price.cached_image_input == Decimal("1.5")


class TestLedger:
    def test_running_cost_and_summary(self) -> None:
        ledger = UsageLedger()
        ledger.start(10.0)
        a = TokenUsage.from_wire(CASSETTE_USAGE)
        b = TokenUsage.from_wire(CACHED_USAGE)
        assert a is not None and b is not None
        first = ledger.record("r1", "gpt-realtime", a)
        second = ledger.record("r2", "gpt-realtime", b, interrupted=True)
        assert ledger.record("r2", "gpt-realtime", b) is None  # counted once
        assert first is not None and second is not None
        assert first.session_cost_usd == Decimal("0.010072")
        assert second.cost_usd == Decimal("0.0113192")
        assert second.session_cost_usd == Decimal("0.0213912")
        assert second.interrupted
        summary = ledger.summary(12.5)
        assert summary.duration_s == 2.5
        assert summary.usage == a + b
        assert summary.cost_usd == Decimal("0.0213912")
        assert summary.lines()[-1] == "cost $0.021391"

    def test_an_unpriced_model_makes_the_total_unknown(self) -> None:
        ledger = UsageLedger(PriceTable(defaults={}))
        report = ledger.record("r1", "gpt-realtime", TokenUsage(input_tokens=3))
        assert report is not None and report.cost_usd is None and report.session_cost_usd is None
        assert ledger.summary(0.0).lines()[-1] == "cost unknown (no price for the model)"
