"""What differs between servers of the OpenAI Realtime family, as one small object.

A :class:`Dialect` is a set of hooks with defaults (the defaults speak OpenAI GA) plus
capability flags. The session core and the pipecat glue never ask which provider they
talk to; they call these hooks. A new compatible server is a subclass overriding the few
hooks where it differs, not a new service::

    class MyServer(Dialect):
        name = "my-server"
        default_base_url = "wss://realtime.example.com/v1/realtime"
        capabilities = Capabilities(supports_truncate=False)
        event_aliases = {"response.audio.delta": "response.output_audio.delta"}

Hooks (override what differs; everything has a GA default):

=========================  ===========================================================
``url(model)``             WebSocket URL (path and query keys)
``auth_headers(secret)``   upgrade-request headers (``auth_scheme``: bearer, api-key, basic)
``serialize_session(s, m)``  the GA session object (and the model) -> this server's shape
``outgoing(event)``        rename a client event (an override is detected by itself)
``canonical_type(t)``      inbound event type -> GA name; None drops a duplicate
``classify_error(c, t)``   server error code -> :class:`~realtime_llm.errors.ErrorClass`
``classify_close(c, r)``   a close the server made -> :class:`~realtime_llm.errors.ErrorClass`
``classify_status(s)``     an HTTP status refusing the upgrade -> ErrorClass
=========================  ===========================================================

Hooks are pure functions of their inputs: the model is passed in, nothing is remembered
between calls, so one instance can serve several connections.

Flags and facts: ``capabilities``, ``configure_on`` (the event that triggers the first
``session.update``), ``session_limit_s``, ``requires_api_key``, and the voices:
``voices`` (the built-in ones), ``custom_voices`` (whether others are accepted too) and
``default_voice`` (what the service asks for unless told otherwise; ``None``: the
server's own default). ``knows_voice(v)`` is the check.
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Mapping
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from realtime_llm.errors import (
    ErrorClass,
    InvalidSettingsError,
    classify_close_code,
    classify_error,
    classify_status,
)
from realtime_llm.protocol.capabilities import Capabilities

__all__ = [
    "OPENAI_VOICES",
    "AuthScheme",
    "Dialect",
    "check_base_url",
    "is_loopback_url",
    "redact_url",
    "with_query",
]

AuthScheme = Literal["bearer", "api-key", "basic", "none"]

OPENAI_VOICES = frozenset(
    {"alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar"}
)
"""OpenAI GA's built-in voices (``openai.types.realtime``); other names are refused."""

_SAFE_QUERY_KEYS = frozenset({"model", "deployment", "api-version", "protocol", "intent"})


def redact_url(url: str) -> str:
    """A URL safe to log: credentials and every query value that could be a secret removed."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    query = [
        (k, v if k in _SAFE_QUERY_KEYS else "***")
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, safe="*"), ""))


def check_base_url(base_url: str) -> str:
    """The endpoint if it can be dialled (``ws://`` or ``wss://`` with a host), else
    :class:`~realtime_llm.errors.InvalidSettingsError`: a bad URL fails at construction,
    not as a silent bot at start."""
    try:
        parts = urlsplit(base_url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise InvalidSettingsError("base_url", "not a parsable URL") from None
    if parts.scheme not in ("ws", "wss"):
        raise InvalidSettingsError(
            "base_url", f"must start with ws:// or wss://, not {parts.scheme or 'nothing'}:"
        )
    if not host:
        raise InvalidSettingsError("base_url", "has no host")
    return base_url.rstrip("?&")


def with_query(base_url: str, params: Mapping[str, str]) -> str:
    """``base_url`` with ``params`` added to the query it may already have (merged, and
    a key given in ``params`` replaces the same key in the URL: never ``?a=1?a=2``)."""
    parts = urlsplit(base_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query.extend(params.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def is_loopback_url(url: str) -> bool:
    """Whether the URL's host is this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Dialect:
    """Hooks with OpenAI GA defaults. Subclass and override what your server does differently.

    Args:
        base_url: the WebSocket endpoint without the query string; None for the default.
    """

    name: ClassVar[str] = "openai"
    default_base_url: ClassVar[str] = "wss://api.openai.com/v1/realtime"
    capabilities: ClassVar[Capabilities] = Capabilities()
    event_aliases: ClassVar[Mapping[str, str | None]] = {}
    """Inbound event type -> GA type (None: drop it, e.g. a duplicate under another name)."""
    auth_scheme: ClassVar[AuthScheme] = "bearer"
    session_limit_s: ClassVar[float | None] = 3600.0
    """How long the server keeps a session open (None: unknown or unlimited)."""
    requires_api_key: ClassVar[bool] = True
    configure_on: ClassVar[str] = "session.created"
    """The server event after which the first ``session.update`` is sent."""
    rewrites_outgoing: ClassVar[bool] = False
    """Force :meth:`outgoing` on; an override of it is used without this flag (audio
    appends never go through it)."""
    voices: ClassVar[frozenset[str]] = OPENAI_VOICES
    """The server's built-in voices: a voice outside them is refused, unless..."""
    custom_voices: ClassVar[bool] = False
    """...the server also takes custom (cloned, designed) voices: then it is a warning."""
    default_voice: ClassVar[str | None] = "alloy"
    """The voice the service asks for unless told otherwise (None: the server's default)."""

    def __init__(self, base_url: str | None = None) -> None:
        self.base_url = check_base_url(base_url) if base_url else self.default_base_url

    def url(self, model: str) -> str:
        """The WebSocket URL for ``model``: the model is fixed per connection."""
        return with_query(self.base_url, {"model": model})

    def auth_headers(self, secret: str | None) -> dict[str, str]:
        """Headers that authenticate the upgrade request; the secret goes nowhere else."""
        if not secret or self.auth_scheme == "none":
            return {}
        if self.auth_scheme == "api-key":
            return {"api-key": secret}
        if self.auth_scheme == "basic":
            token = secret if ":" not in secret else base64.b64encode(secret.encode()).decode()
            return {"Authorization": f"Basic {token}"}
        return {"Authorization": f"Bearer {secret}"}

    def serialize_session(self, session: Mapping[str, Any], model: str = "") -> dict[str, Any]:
        """The GA session object as this server wants it in ``session.update``.

        ``model`` is the connection's model, for servers that want it in the session.
        """
        return dict(session)

    def outgoing(self, event: dict[str, Any]) -> dict[str, Any]:
        """Rename a client event for this server (GA: unchanged)."""
        return event

    def canonical_type(self, event_type: str) -> str | None:
        """Map an inbound event type to its GA name; None drops the event."""
        return self.event_aliases.get(event_type, event_type)

    def knows_voice(self, voice: str) -> bool:
        """Whether ``voice`` is one of :attr:`voices` (exact names, as OpenAI spells them)."""
        return voice in self.voices

    def classify_error(self, code: str | None, error_type: str | None) -> ErrorClass:
        """What a server error code means on this server."""
        return classify_error(code, error_type)

    def classify_close(self, code: int | None, reason: str) -> ErrorClass:
        """What a WebSocket close made by this server means (closes we make never get here)."""
        return classify_close_code(code, reason)

    def classify_status(self, status: int) -> ErrorClass:
        """What an HTTP status refusing the upgrade means: FATAL is not retried."""
        return classify_status(status)

    @property
    def uses_outgoing(self) -> bool:
        """Whether client events go through :meth:`outgoing`: the flag, or an override."""
        return self.rewrites_outgoing or type(self).outgoing is not Dialect.outgoing

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={redact_url(self.base_url)!r})"
