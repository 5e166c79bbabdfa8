"""Token usage of one response, as the realtime protocol reports it, in one typed value.

``response.done`` carries ``usage`` with a split by modality (``input_token_details``:
``text_tokens``, ``audio_tokens``, ``image_tokens``, ``cached_tokens`` and
``cached_tokens_details`` with the same split; ``output_token_details``: ``text_tokens``,
``audio_tokens``). Cached tokens are *part of* the input counts, not extra (a cached
text token is also counted in ``text_tokens``). Older servers of the family send
``prompt_tokens``/``completion_tokens`` or no split at all; :meth:`TokenUsage.from_wire`
reads every shape, and never raises on odd values (a bad count reads as 0): usage is
telemetry, and a bot must not stop over it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any

__all__ = ["TokenUsage"]


def _count(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return 0


def _details(usage: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    for key in keys:
        value = usage.get(key)
        if isinstance(value, Mapping):
            return value
    return {}


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Tokens of a response (or a sum of responses), split the way they are billed.

    ``input_*`` include the cached ones; ``cached_input_*`` say how many of them were read
    from the prompt cache. ``input_tokens``/``output_tokens``/``total_tokens`` are the
    server's totals (they can exceed the sum of the split: special tokens).
    """

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    input_text_tokens: int = 0
    input_audio_tokens: int = 0
    input_image_tokens: int = 0
    cached_input_tokens: int = 0
    cached_input_text_tokens: int = 0
    cached_input_audio_tokens: int = 0
    cached_input_image_tokens: int = 0
    output_text_tokens: int = 0
    output_audio_tokens: int = 0

    @classmethod
    def from_wire(cls, usage: Mapping[str, Any] | None) -> TokenUsage | None:
        """The usage object of ``response.done`` (any dialect's shape); None if absent."""
        if not isinstance(usage, Mapping) or not any(
            isinstance(usage.get(k), int) and not isinstance(usage.get(k), bool)
            for k in ("input_tokens", "output_tokens", "prompt_tokens", "completion_tokens")
        ):
            return None  # absent, empty (xAI sends {}) or nothing countable
        input_tokens = _count(usage.get("input_tokens", usage.get("prompt_tokens")))
        output_tokens = _count(usage.get("output_tokens", usage.get("completion_tokens")))
        total = _count(usage.get("total_tokens")) or input_tokens + output_tokens
        details = _details(usage, "input_token_details", "prompt_tokens_details")
        cached_details = _details(details, "cached_tokens_details")
        output_details = _details(usage, "output_token_details", "completion_tokens_details")
        cached = _count(details.get("cached_tokens"))
        cached_text = _count(cached_details.get("text_tokens"))
        cached_audio = _count(cached_details.get("audio_tokens"))
        cached_image = _count(cached_details.get("image_tokens"))
        if cached and not cached_details:
            cached_text = cached  # no split given: the cache holds the (text) prompt
        text_in = _count(details.get("text_tokens"))
        audio_in = _count(details.get("audio_tokens"))
        image_in = _count(details.get("image_tokens"))
        if not details:
            text_in = input_tokens  # no split given: count the input as text
        text_out = _count(output_details.get("text_tokens"))
        audio_out = _count(output_details.get("audio_tokens"))
        if not output_details:
            text_out = output_tokens
        return cls(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            total_tokens=total,
            input_text_tokens=text_in,
            input_audio_tokens=audio_in,
            input_image_tokens=image_in,
            cached_input_tokens=cached or cached_text + cached_audio + cached_image,
            cached_input_text_tokens=min(cached_text, text_in),
            cached_input_audio_tokens=min(cached_audio, audio_in),
            cached_input_image_tokens=min(cached_image, image_in),
            output_text_tokens=text_out,
            output_audio_tokens=audio_out,
        )

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    def items(self) -> Iterator[tuple[str, int]]:
        """(field name, count) for every field, in declaration order."""
        for f in fields(self):
            yield f.name, getattr(self, f.name)
