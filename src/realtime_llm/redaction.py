"""Secrets out of every text the package logs or reports: one small pure object.

A server may echo what it was sent (a key in an ``invalid_api_key`` message, say), and
libraries log what they send (websockets logs the upgrade headers at DEBUG). So every
server-provided text is passed through a :class:`Redactor` that knows the configured
credentials before it reaches a log line, an ``ErrorFrame`` or a span.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

__all__ = ["REDACTED", "Redactor"]

REDACTED = "***"
_MIN_SECRET_LEN = 4
"""Shorter strings are not hidden: replacing every "ab" in a text would hide nothing."""


class Redactor:
    """Replaces each known secret (and its Basic-auth base64 form) by ``***``.

    Args:
        secrets: the credentials to hide; None and short values are ignored.
    """

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets: list[str] = []
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        """Hide this secret too (a token fetched from a token provider, say)."""
        if not secret or len(secret) < _MIN_SECRET_LEN:
            return
        for form in (secret, base64.b64encode(secret.encode()).decode()):
            if form not in self._secrets:
                self._secrets.append(form)
        self._secrets.sort(key=len, reverse=True)  # a longer form first: no half-redaction

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text
