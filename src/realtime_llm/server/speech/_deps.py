"""The optional packages behind the speech engines, imported only when they are used.

``import realtime_llm.server`` (and this subpackage) must stay fast and must work without
them, so every module here imports them through :func:`require`, which turns a missing
package into :class:`SpeechDependencyError` naming the pip extra that installs it.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

__all__ = [
    "EXTRA",
    "INSTALL_HINT",
    "SpeechDependencyError",
    "check_installed",
    "missing",
    "require",
]

EXTRA = "speech"
INSTALL_HINT = (
    f'from a checkout of the project, pip install -e ".[{EXTRA}]"; '
    f'where the package comes from a package index, pip install "pipecat-realtime-llm[{EXTRA}]"'
)
"""How to install the extra, both ways: from a checkout (the usual case: the distribution
is not on the public index) and from an index that has it."""
_INSTALL = INSTALL_HINT

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


def missing() -> list[str]:
    """The speech packages that are not installed, each with what it is for."""
    return [f"{m} ({role})" for m, role in _SPEECH_MODULES.items() if not _installed(m)]


def check_installed(purpose: str) -> None:
    """Raise :class:`SpeechDependencyError` listing every missing speech package at once."""
    absent = missing()
    if absent:
        raise SpeechDependencyError(
            f"{purpose} needs packages that are not installed: {', '.join(absent)}. "
            f"Install the speech extra: {_INSTALL}"
        )
