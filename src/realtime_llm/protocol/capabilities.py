"""What a server of the family can do, as flags the core consults instead of provider names."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Capabilities"]


@dataclass(frozen=True, slots=True)
class Capabilities:
    """Capability flags of one dialect. Defaults describe OpenAI GA.

    The core never asks "which provider is this?"; it asks one of these.
    """

    supports_truncate: bool = True
    """``conversation.item.truncate`` exists (xAI has none)."""
    supports_delete: bool = True
    supports_retrieve: bool = True
    supports_image_input: bool = True
    supports_text_only_output: bool = True
    response_create_takes_modalities: bool = True
    """Azure rejects ``output_modalities`` inside ``response.create``."""
    echoes_response_metadata: bool = True
    """``response.created`` carries the ``metadata`` its ``response.create`` asked for, so
    a created response can be matched to the request that caused it."""
    audio_formats: frozenset[str] = frozenset({"audio/pcm", "audio/pcmu", "audio/pcma"})
    """Audio formats the server takes and sends; others fall back to PCM with a warning."""
