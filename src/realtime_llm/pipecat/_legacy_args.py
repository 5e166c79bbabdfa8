"""Constructor arguments of pipecat's built-in realtime service, for code moving over to ours.

``RealtimeLLMService`` passes its ``**kwargs`` on to pipecat's ``LLMService``, and pipecat's
base classes swallow any keyword they do not know. So code written for pipecat's
``OpenAIRealtimeLLMService(model=..., session_properties=...)`` would run here with those
arguments silently ignored: the bot talks to the default model with the default session.
:func:`legacy_settings` turns each such argument into one of three answers:

* it has a meaning here: it becomes a settings delta, with a ``DeprecationWarning`` that
  names the setting to use instead (``model=`` -> ``settings=Settings(model=...)``);
* it has none: ``InvalidSettingsError`` naming it, at construction, not a silent no-op;
* any other keyword that no base class takes (a typo): ``InvalidSettingsError`` too.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping
from functools import cache
from typing import Any

from pipecat.services.llm_service import LLMService

from realtime_llm.errors import InvalidSettingsError
from realtime_llm.pipecat.settings import RealtimeLLMSettings
from realtime_llm.session_properties import SessionProperties

__all__ = ["legacy_settings"]

_SERVICE = "RealtimeLLMService"

_NO_EQUIVALENT: Mapping[str, str] = {
    "user_audio_preroll_secs": (
        "pipecat's OpenAIRealtimeLLMService replays recent input audio after an interruption "
        "clears the input buffer in manual turn detection; RealtimeLLMService has no such "
        "setting. Remove the argument"
    ),
}
"""pipecat ``OpenAIRealtimeLLMService.__init__`` arguments that mean nothing here."""


def legacy_settings(kwargs: dict[str, Any]) -> RealtimeLLMSettings | None:
    """Take pipecat's built-in service's arguments out of ``kwargs``; their settings delta.

    ``kwargs`` is left with what pipecat's ``LLMService`` takes. The delta returned (None
    when there is nothing) goes *under* the caller's ``settings``: as in pipecat, when both
    are given, ``settings`` wins.

    Raises:
        InvalidSettingsError: an argument with no meaning here, or one nobody takes.
    """
    for name, why in _NO_EQUIVALENT.items():
        if name in kwargs:
            raise InvalidSettingsError(name, why)
    unknown = sorted(set(kwargs) - _base_arguments() - {"model", "session_properties"})
    if unknown:
        raise InvalidSettingsError(
            unknown[0], f"{_SERVICE} takes no argument {unknown[0]!r} (see docs/settings.md)"
        )
    delta: dict[str, Any] = {}
    if "model" in kwargs:
        model = kwargs.pop("model")
        if model is not None:
            _deprecated("model", "model")
            delta["model"] = model
    if "session_properties" in kwargs:
        props = kwargs.pop("session_properties")
        if props is not None:
            _deprecated("session_properties", "session_properties")
            delta["session_properties"] = _as_session_properties(props)
    return RealtimeLLMSettings(**delta) if delta else None


def _deprecated(argument: str, setting: str) -> None:
    # stacklevel: here, legacy_settings, RealtimeLLMService.__init__, then the caller.
    warnings.warn(
        f"`{_SERVICE}({argument}=...)` is deprecated: use "
        f"`settings={_SERVICE}.Settings({setting}=...)` instead. If both are given, "
        "`settings` wins.",
        DeprecationWarning,
        stacklevel=4,
    )


def _as_session_properties(value: Any) -> SessionProperties:
    """Ours, a plain dict, or pipecat's own ``SessionProperties`` model (same GA shape)."""
    if isinstance(value, SessionProperties | Mapping):
        return SessionProperties.from_mapping(value)
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return SessionProperties.from_mapping(dump(exclude_none=True))
    raise InvalidSettingsError(
        "session_properties", f"must be a SessionProperties or a dict, not {type(value).__name__}"
    )


@cache
def _base_arguments() -> frozenset[str]:
    """Keywords pipecat's ``LLMService`` and its bases take (read from their signatures)."""
    names: set[str] = set()
    for cls in LLMService.__mro__:
        init = cls.__dict__.get("__init__")
        if init is None or cls is object:
            continue
        for parameter in inspect.signature(init).parameters.values():
            if parameter.kind in (parameter.KEYWORD_ONLY, parameter.POSITIONAL_OR_KEYWORD):
                names.add(parameter.name)
    names.discard("self")
    return frozenset(names)
