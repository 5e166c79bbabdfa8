"""The one scrubber every string goes through before it becomes telemetry.

Spans, span events and metric attributes are shipped to third-party backends, so a value
that *is* a secret is dropped and secrets inside free text are replaced by ``[REDACTED]``.
The patterns cover what a realtime client can leak: API keys and ephemeral client secrets
(``sk-``, ``ek_``, ``xai-``), ``Bearer`` tokens, ``api-key=...`` pairs, URL query strings
and user info. Values handed to :class:`Scrubber` (the service's key, a token from a
``token_provider``) are removed wherever they appear.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final
from urllib.parse import urlsplit

__all__ = ["REDACTED", "Scrubber", "redact", "server_address"]

REDACTED: Final = "[REDACTED]"

# A whole value that is an API key or ephemeral client secret.
_KEY_PATTERN: Final = r"(?:sk-[A-Za-z0-9_\-.]+|ek_[A-Za-z0-9_\-.]{8,}|xai-[A-Za-z0-9_\-.]{20,})"
_KEY_SHAPED = re.compile(_KEY_PATTERN)
_SECRET_PATTERNS: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    # URL user info: scheme://user:pass@host -> scheme://host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s?#@]*@"), r"\1"),
    # URL query strings and fragments, whatever they hold.
    (re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^\s?#]*)[?#]\S*"), r"\1"),
    # Authorization headers.
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9_\-.~+/=]+"), r"\1 " + REDACTED),
    # key=value / key: value pairs that name a credential.
    (
        re.compile(
            r"(?i)\b((?:api[-_]?key|access[-_]?token|token|secret|password|passwd|"
            r"authorization|client[-_]?secret)[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,;]+"
        ),
        r"\1" + REDACTED,
    ),
    # Key-shaped tokens anywhere.
    (re.compile(r"(?<![A-Za-z0-9])" + _KEY_PATTERN), REDACTED),
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every secret-looking part replaced by ``[REDACTED]``."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def server_address(url: str) -> tuple[str | None, int | None]:
    """Host and port of ``url``; user info, path and query string are never looked at."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        port = parts.port
    except ValueError:  # bad port, bad IPv6 literal
        return None, None
    if port is None:
        port = {"wss": 443, "https": 443, "ws": 80, "http": 80}.get(parts.scheme.lower())
    return host or None, port


class Scrubber:
    """Knows the session's secrets; cleans every string before it leaves the process."""

    __slots__ = ("_secrets",)

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = [s for s in secrets if s]

    def add(self, secret: str) -> None:
        """Never let ``secret`` (a new API key or client secret) appear in telemetry."""
        if secret and secret not in self._secrets:
            self._secrets.append(secret)

    def clean(self, value: str) -> str | None:
        """``value`` fit to be an attribute: ``None`` if it *is* a secret, else redacted."""
        stripped = value.strip()
        if not stripped:
            return value
        if stripped in self._secrets or _KEY_SHAPED.fullmatch(stripped):
            return None
        return redact(value, self._secrets)

    def text(self, value: str) -> str:
        """Free text (an error message, a transcript) with the secrets inside it redacted."""
        return redact(value, self._secrets)
