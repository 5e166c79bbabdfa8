"""What a response cost: a per-model price table, in US dollars per million tokens.

Realtime models bill input and output tokens by modality, and cached input below the
uncached rate, so a price has one rate per bucket (:class:`ModelPrice`). The cost of a
response is::

    (text_in - cached_text) * text_input   + cached_text  * cached_text_input
  + (audio_in - cached_audio) * audio_input + cached_audio * cached_audio_input
  + (image_in - cached_image) * image_input + cached_image * cached_image_input
  + text_out * text_output + audio_out * audio_output          (all / 1,000,000)

computed in :class:`~decimal.Decimal`, so a scripted conversation costs exactly what a
hand computation says. :data:`DEFAULT_PRICES` holds OpenAI's list prices for its realtime
models as published when this table was written (September 2025); prices change, and
other providers bill differently (xAI bills voice by the minute), so
:class:`PriceTable` takes overrides and extra models, and a model it does not know has
no cost (``None``) rather than a wrong one. Model names match exactly, then by the
longest known prefix (``gpt-realtime-2025-08-28`` is priced as ``gpt-realtime``).
Input transcription is billed separately by its own model and is not counted here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from realtime_llm.observability.usage import TokenUsage

__all__ = ["DEFAULT_PRICES", "ModelPrice", "PriceTable"]

_MILLION: Final = Decimal(1_000_000)
Rate = Decimal | int | float | str


def _dec(value: Rate) -> Decimal:
    # str() first: Decimal(0.4) is 0.40000000000000002220446..., Decimal("0.4") is 0.4.
    return value if isinstance(value, Decimal) else Decimal(str(value))


@dataclass(frozen=True, slots=True, init=False)
class ModelPrice:
    """US dollars per million tokens, per bucket. Cached rates default to uncached ones."""

    text_input: Decimal
    text_output: Decimal
    audio_input: Decimal
    audio_output: Decimal
    cached_text_input: Decimal
    cached_audio_input: Decimal
    image_input: Decimal
    cached_image_input: Decimal

    def __init__(
        self,
        *,
        text_input: Rate,
        text_output: Rate,
        audio_input: Rate = 0,
        audio_output: Rate = 0,
        cached_text_input: Rate | None = None,
        cached_audio_input: Rate | None = None,
        image_input: Rate | None = None,
        cached_image_input: Rate | None = None,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "text_input", _dec(text_input))
        set_(self, "text_output", _dec(text_output))
        set_(self, "audio_input", _dec(audio_input))
        set_(self, "audio_output", _dec(audio_output))
        set_(
            self,
            "cached_text_input",
            _dec(text_input if cached_text_input is None else cached_text_input),
        )
        set_(
            self,
            "cached_audio_input",
            _dec(audio_input if cached_audio_input is None else cached_audio_input),
        )
        image = text_input if image_input is None else image_input
        set_(self, "image_input", _dec(image))
        set_(
            self,
            "cached_image_input",
            _dec(image if cached_image_input is None else cached_image_input),
        )

    def cost(self, usage: TokenUsage) -> Decimal:
        """US dollars for ``usage`` at these rates (exact, not rounded)."""
        u = usage
        total = (
            (u.input_text_tokens - u.cached_input_text_tokens) * self.text_input
            + u.cached_input_text_tokens * self.cached_text_input
            + (u.input_audio_tokens - u.cached_input_audio_tokens) * self.audio_input
            + u.cached_input_audio_tokens * self.cached_audio_input
            + (u.input_image_tokens - u.cached_input_image_tokens) * self.image_input
            + u.cached_input_image_tokens * self.cached_image_input
            + u.output_text_tokens * self.text_output
            + u.output_audio_tokens * self.audio_output
        )
        return total / _MILLION


DEFAULT_PRICES: Final[Mapping[str, ModelPrice]] = {
    "gpt-realtime": ModelPrice(
        text_input="4.00",
        cached_text_input="0.40",
        text_output="16.00",
        audio_input="32.00",
        cached_audio_input="0.40",
        audio_output="64.00",
        image_input="5.00",
        cached_image_input="0.50",
    ),
    "gpt-realtime-mini": ModelPrice(
        text_input="0.60",
        cached_text_input="0.06",
        text_output="2.40",
        audio_input="10.00",
        cached_audio_input="0.30",
        audio_output="20.00",
        image_input="0.80",
        cached_image_input="0.08",
    ),
    "gpt-4o-realtime-preview": ModelPrice(
        text_input="5.00",
        cached_text_input="2.50",
        text_output="20.00",
        audio_input="40.00",
        cached_audio_input="2.50",
        audio_output="80.00",
    ),
    "gpt-4o-mini-realtime-preview": ModelPrice(
        text_input="0.60",
        cached_text_input="0.30",
        text_output="2.40",
        audio_input="10.00",
        cached_audio_input="0.30",
        audio_output="20.00",
    ),
}
"""OpenAI's list prices (USD per 1M tokens) as of September 2025. Check them against your
provider's current price page; pass your own with ``PriceTable(overrides)``."""


class PriceTable:
    """Model name -> :class:`ModelPrice`: the defaults, overridden and extended by yours.

    ``PriceTable({"my-model": ModelPrice(...)})`` adds a model or replaces a default one;
    ``PriceTable(..., defaults={})`` drops the built-in prices altogether.
    """

    __slots__ = ("_prices",)

    def __init__(
        self,
        prices: Mapping[str, ModelPrice] | None = None,
        *,
        defaults: Mapping[str, ModelPrice] = DEFAULT_PRICES,
    ) -> None:
        self._prices: dict[str, ModelPrice] = {**defaults, **(prices or {})}

    def price(self, model: str) -> ModelPrice | None:
        """The price of ``model``: exact name, else the longest known prefix, else None."""
        found = self._prices.get(model)
        if found is not None:
            return found
        best = ""
        for name in self._prices:
            if model.startswith(name) and len(name) > len(best):
                best = name
        return self._prices[best] if best else None

    def cost(self, model: str, usage: TokenUsage) -> Decimal | None:
        """US dollars for ``usage`` on ``model``; None when the model has no price."""
        price = self.price(model)
        return None if price is None else price.cost(usage)

    def models(self) -> list[str]:
        return sorted(self._prices)
