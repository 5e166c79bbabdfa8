"""Inworld's realtime API: GA names and nested session, plus its own session keys.

``wss://api.inworld.ai/api/v1/realtime/session?key=SESSION&protocol=realtime``, with a
``Basic`` key (``id:secret`` is base64-encoded for you) or a ``Bearer`` JWT. The server
sends ``ping`` (dropped here), and ``response.function_call_arguments.done`` may lack
``name`` (the core remembers it from the output item). The session carries ``model``
(the LLM behind the voice), which the URL does not. Voices are Inworld TTS voices
(``Dennis``, ``Sarah``, ``Clive``...) or the account's cloned ones, so an unknown name only
draws a warning, and no voice is asked for unless one is set (Inworld picks its default).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

from realtime_llm.dialects.base import AuthScheme, Dialect, with_query
from realtime_llm.protocol.capabilities import Capabilities

__all__ = ["InworldDialect"]


class InworldDialect(Dialect):
    """Inworld realtime sessions; ``session_key`` names the session (a new one by default)."""

    name = "inworld"
    default_base_url: ClassVar[str] = "wss://api.inworld.ai/api/v1/realtime/session"
    auth_scheme: ClassVar[AuthScheme] = "basic"
    session_limit_s: ClassVar[float | None] = None
    event_aliases: ClassVar[Mapping[str, str | None]] = {"ping": None}
    capabilities: ClassVar[Capabilities] = Capabilities(
        echoes_response_metadata=False  # undocumented: correlate responses by order
    )
    voices: ClassVar[frozenset[str]] = frozenset(
        {
            "Alex",
            "Ashley",
            "Clive",
            "Craig",
            "Deborah",
            "Dennis",
            "Edward",
            "Elizabeth",
            "Julia",
            "Mark",
            "Olivia",
            "Priya",
            "Ronald",
            "Sarah",
            "Shaun",
            "Theodore",
            "Timothy",
            "Wendy",
        }
    )  # Inworld TTS's built-in English voices as its docs listed them (unconfirmed)
    custom_voices: ClassVar[bool] = True
    default_voice: ClassVar[str | None] = None

    def __init__(
        self, base_url: str | None = None, *, session_key: str | None = None, jwt: bool = False
    ) -> None:
        super().__init__(base_url)
        self.session_key = session_key
        self.jwt = jwt

    def url(self, model: str) -> str:
        key = self.session_key or uuid.uuid4().hex
        return with_query(self.base_url, {"key": key, "protocol": "realtime"})

    def auth_headers(self, secret: str | None) -> dict[str, str]:
        if secret and self.jwt:
            return {"Authorization": f"Bearer {secret}"}
        return super().auth_headers(secret)

    def serialize_session(self, session: Mapping[str, Any], model: str = "") -> dict[str, Any]:
        out = dict(session)
        if model and "model" not in out:
            out["model"] = model
        return out
