"""The optional packages behind the speech engines, imported only when they are used.

``import realtime_llm.server`` (and this subpackage) must stay fast and must work without
them, so every module here imports them through :func:`require`, which turns a missing
package into :class:`SpeechDependencyError` naming the pip extra that installs it.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

__all__ = ["EXTRA", "SpeechDependencyError", "check_installed", "require"]

EXTRA = "speech"
_INSTALL = f"pip install 'pipecat-realtime-llm[{EXTRA}]'"

# module -> what it is for, for the message when it is missing
_SPEECH_MODULES = {
    "pocketsphinx": "speech recognition",
    "espeakng_loader": "speech synthesis (eSpeak NG)",
    "onnxruntime": "the Silero VAD",
    "soxr": "resampling",
}


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


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def check_installed(purpose: str) -> None:
    """Raise :class:`SpeechDependencyError` listing every missing speech package at once."""
    missing = [f"{m} ({role})" for m, role in _SPEECH_MODULES.items() if not _installed(m)]
    if missing:
        raise SpeechDependencyError(
            f"{purpose} needs packages that are not installed: {', '.join(missing)}. "
            f"Install the speech extra: {_INSTALL}"
        )
