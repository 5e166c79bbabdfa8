"""The optional packages behind the speech engines, imported only when they are used.

``import realtime_llm.server`` (and this subpackage) must stay fast and must work without
them, so every module here imports them through :func:`require`, which turns a missing
package into :class:`SpeechDependencyError` naming the pip extra that installs it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["EXTRA", "SpeechDependencyError", "require"]

EXTRA = "speech"
_INSTALL = f"pip install 'pipecat-realtime-llm[{EXTRA}]'"


class SpeechDependencyError(ImportError):
    """An optional speech package is missing; the message says how to install it."""


def require(module: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise :class:`SpeechDependencyError` explaining ``purpose``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise SpeechDependencyError(
            f"{purpose} needs the Python package {module!r}, which is not installed "
            f"({exc}). Install the speech extra: {_INSTALL}"
        ) from exc
