"""What differs between servers of the OpenAI Realtime family, as one small object.

A :class:`Dialect` is a set of hooks with defaults (the defaults speak OpenAI GA) plus
capability flags. The session core and the pipecat glue never ask which provider they
talk to; they call these hooks. A new compatible server is a subclass overriding the few
hooks where it differs, not a new service.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from realtime_llm.protocol.capabilities import Capabilities

__all__ = ["Dialect", "redact_url"]


def redact_url(url: str) -> str:
    """A URL safe to log: credentials and every query value that could be a secret removed."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    query = [
        (k, v if k in {"model", "deployment", "api-version", "protocol"} else "***")
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, safe="*"), ""))


class Dialect:
    """Hooks with OpenAI GA defaults. Subclass and override what your server does differently.

    Args:
        base_url: the WebSocket endpoint without the query string; None for the default.
    """

    name: ClassVar[str] = "openai"
    default_base_url: ClassVar[str] = "wss://api.openai.com/v1/realtime"
    capabilities: ClassVar[Capabilities] = Capabilities()
    event_aliases: ClassVar[Mapping[str, str]] = {}
    """Inbound event type -> GA type, for servers that use other names."""
    session_limit_s: ClassVar[float | None] = 3600.0
    """How long the server keeps a session open (None: unknown)."""
    requires_api_key: ClassVar[bool] = True

    def __init__(self, base_url: str | None = None) -> None:
        self.base_url = base_url or self.default_base_url

    def url(self, model: str) -> str:
        """The WebSocket URL for ``model``: the model is fixed per connection."""
        return f"{self.base_url}?{urlencode({'model': model})}"

    def auth_headers(self, api_key: str | None) -> dict[str, str]:
        """Headers that authenticate the upgrade request."""
        return {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def serialize_session(self, session: Mapping[str, Any]) -> dict[str, Any]:
        """The GA session object as this server wants it in ``session.update``."""
        return dict(session)

    def canonical_type(self, event_type: str) -> str:
        """Map an inbound event type to its GA name."""
        return self.event_aliases.get(event_type, event_type)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={redact_url(self.base_url)!r})"
