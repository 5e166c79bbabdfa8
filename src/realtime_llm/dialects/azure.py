"""Azure OpenAI (GA v1 endpoint): the deployment is the model; ``api-key`` or Entra tokens.

``wss://RESOURCE.openai.azure.com/openai/v1/realtime?model=DEPLOYMENT``: no
``api-version`` (it gives 401 on the v1 path). Authenticate with the resource's key (sent
as ``api-key``) or pass ``token_provider=`` to the service for Entra ID tokens, which are
then sent as ``Authorization: Bearer`` and fetched again before every connect. The
transcription model in the session is a deployment name too.
"""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import urlsplit, urlunsplit

from realtime_llm.dialects.base import AuthScheme, Dialect
from realtime_llm.errors import InvalidSettingsError
from realtime_llm.protocol.capabilities import Capabilities

__all__ = ["AzureDialect"]


def _realtime_url(endpoint: str) -> str:
    """Accept the resource endpoint other SDKs use (``https://RESOURCE.openai.azure.com/``)."""
    parts = urlsplit(endpoint)
    if parts.scheme in ("https", "http") and parts.path in ("", "/"):
        scheme = "wss" if parts.scheme == "https" else "ws"
        return urlunsplit((scheme, parts.netloc, "/openai/v1/realtime", "", ""))
    return endpoint


class AzureDialect(Dialect):
    """Azure OpenAI Realtime, GA protocol on the ``/openai/v1/realtime`` path."""

    name = "azure"
    default_base_url: ClassVar[str] = "wss://YOUR-RESOURCE.openai.azure.com/openai/v1/realtime"
    auth_scheme: ClassVar[AuthScheme] = "api-key"
    session_limit_s: ClassVar[float | None] = None  # not documented
    capabilities: ClassVar[Capabilities] = Capabilities(response_create_takes_modalities=False)

    def __init__(self, base_url: str | None = None, *, entra_token: bool = False) -> None:
        super().__init__(_realtime_url(base_url) if base_url else None)
        if "YOUR-RESOURCE" in self.base_url:
            raise InvalidSettingsError(
                "base_url",
                "the azure dialect needs 'wss://<resource>.openai.azure.com/openai/v1/realtime'",
            )
        self.entra_token = entra_token

    def auth_headers(self, secret: str | None) -> dict[str, str]:
        if secret and self.entra_token:
            return {"Authorization": f"Bearer {secret}"}
        return super().auth_headers(secret)
