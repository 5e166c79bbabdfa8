"""A logger for websockets that keeps secrets out of its DEBUG output.

At DEBUG level websockets logs each handshake (the request line with its query string,
every header) and each frame (events that may quote a key). The servers of this package
hand it :class:`RedactingLogger` instead of a plain logger: credential headers and secret
query values are redacted, frames are reduced to their type and size, and any other
secret the caller knows is redacted from what is left.
"""

from __future__ import annotations

import logging
from collections.abc import Set
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from websockets.frames import Frame

from .cassette import REDACTED, redact

__all__ = ["SAFE_QUERY_KEYS", "SECRET_HEADERS", "RedactingLogger"]

SAFE_QUERY_KEYS = frozenset({"model", "deployment", "api-version", "protocol", "intent"})
"""Query keys whose values are never secret; every other query value may be a key."""
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "api-key", "openai-api-key"})
_REQUEST_LINES = frozenset({"> GET %s HTTP/1.1", "< %s %s %s"})
"""How websockets logs the request line (client side, server side)."""


def _redact_query(text: str) -> str:
    """A request line or URL with every query value but the safe ones replaced."""
    head, sep, rest = text.partition("?")
    if not sep:
        return text
    query, space, tail = rest.partition(" ")
    pairs = [
        (k, v if k in SAFE_QUERY_KEYS else REDACTED)
        for k, v in parse_qsl(query, keep_blank_values=True)
    ]
    return f"{head}?{urlencode(pairs, safe='[]')}{space}{tail}"


if TYPE_CHECKING:
    _LoggerAdapter = logging.LoggerAdapter[logging.Logger]
else:  # not subscriptable at runtime before Python 3.11
    _LoggerAdapter = logging.LoggerAdapter


class RedactingLogger(_LoggerAdapter):
    """Wraps ``logger`` for websockets; ``secrets`` (a set the caller may keep adding to)
    are redacted from every message, after the header, query and frame rules."""

    def __init__(self, logger: logging.Logger, secrets: Set[str] = frozenset()) -> None:
        super().__init__(logger, {})
        self.secrets = secrets  # may be shared with a caller that adds to it

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        if len(args) == 2 and isinstance(args[0], str) and args[0].lower() in SECRET_HEADERS:
            args = (args[0], REDACTED)
        if len(args) == 1 and isinstance(args[0], Frame):
            # Frames are logged elided in the middle, which can cut a secret in two halves
            # that no redaction recognizes: their type and size only (the cassette has them).
            frame = args[0]
            args = (f"{frame.opcode.name} [{len(frame.data)} bytes]",)
        try:
            text = str(msg) % args if args else str(msg)
        except (TypeError, ValueError):
            text = " ".join(map(str, (msg, *args)))
        if msg in _REQUEST_LINES:  # only there is a "?" the start of a query
            text = _redact_query(text)
        text = str(redact(text, self.secrets))
        super().log(level, "%s", text, **kwargs)
