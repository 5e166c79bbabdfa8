"""``RealtimeLLMService.Settings``: pipecat's ``LLMSettings`` plus the realtime session.

pipecat uses one settings class in two modes (see ``pipecat.services.settings``): a
*store* (the service's current state, every field given) and *deltas* (sparse updates,
``NOT_GIVEN`` meaning "leave alone") that ``apply_update`` merges into the store. This
class adds ``session_properties`` (a :class:`~realtime_llm.session_properties.SessionProperties`)
with the same delta semantics, and keeps it in step with the top level.

The sync rule, both ways:

* Top-level ``model`` and ``system_instruction`` are the authority. Whenever either is
  assigned (by ``apply_update``, by pipecat's own ``LLMService``, which writes the composed
  ``system_instruction`` straight onto the store, or by hand), it is mirrored into
  ``session_properties.model`` / ``.instructions``. ``None`` mirrors as "unset".
* Where the top level is *not given* (a delta that does not set it), a ``model`` or
  ``instructions`` carried inside ``session_properties`` is pulled up to the top level.
  So ``Settings(session_properties=SessionProperties(instructions="x"))`` changes
  ``system_instruction``, and a delta that sets both keeps its top-level values.

Merge, not replace: a delta's ``session_properties`` is deep-merged into the store's,
field by field, using what the delta actually set (``model_fields_set``). So
``Settings(session_properties=SessionProperties(audio=AudioConfig(output=AudioOutput(voice="echo"))))``
changes only the voice and keeps transcription, VAD and formats. Replacing wholesale
would silently reset everything the delta did not repeat (and, because ``session.update``
itself merges on the server, would not even reach the server as a reset). To turn
something off, set it to ``None`` explicitly (``turn_detection=None``) or to an empty
list (``tools=[]``).

Invalid values raise :class:`~realtime_llm.errors.InvalidSettingsError` naming the field,
at construction and in ``apply_update`` (before anything changes).
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, cast

from loguru import logger
from pipecat.services.settings import LLMSettings, ServiceSettings
from pipecat.utils.types import NOT_GIVEN, NotGiven, is_given
from typing_extensions import Self

from realtime_llm.dialects.base import Dialect
from realtime_llm.errors import InvalidSettingsError
from realtime_llm.session_properties import (
    DEFAULT_MODEL,
    DEFAULT_VOICE,
    SessionProperties,
    default_session_properties,
)

__all__ = [
    "DEFAULT_INPUT_AUDIO_BATCH_MS",
    "UNSUPPORTED_FIELDS",
    "RealtimeLLMSettings",
    "check_voice",
    "default_settings",
    "reconnect_needed",
    "session_update_needed",
    "unsupported_fields",
]

DEFAULT_INPUT_AUDIO_BATCH_MS: int | None = None
"""Input audio is sent frame by frame unless told otherwise (see docs/performance.md)."""

# Top-level field -> the session field that mirrors it.
_MIRRORED: dict[str, str] = {"model": "model", "system_instruction": "instructions"}

UNSUPPORTED_FIELDS: frozenset[str] = frozenset(
    {"temperature", "top_p", "top_k", "frequency_penalty", "presence_penalty", "seed", "max_tokens"}
)
"""``LLMSettings`` fields the GA realtime session has no place for.

``max_tokens`` is deliberately *not* mapped to ``session_properties.max_output_tokens``:
a third mirrored field would add a third sync rule, and the session field is already
there to set. The warning the service logs for it should point there.
"""


@dataclass
class RealtimeLLMSettings(LLMSettings):
    """Runtime-updatable settings of ``RealtimeLLMService`` (store or delta, like pipecat's).

    Parameters:
        session_properties: The realtime session object. In a delta, only the fields it
            set are merged into the store's (see the module docstring).
        input_audio_batch_ms: Send the input audio in one ``input_audio_buffer.append``
            per this many milliseconds instead of one per input frame (20 ms from most
            transports). Fewer, larger sends cost less CPU; the server hears each batch
            up to this much later, which delays its end-of-speech detection by as much.
            ``None`` (the default) sends every frame as it comes. Client-side only: it
            is never sent to the server.
    """

    session_properties: SessionProperties | NotGiven = field(default_factory=lambda: NOT_GIVEN)
    input_audio_batch_ms: int | NotGiven | None = field(default_factory=lambda: NOT_GIVEN)

    _sync_on_assign: ClassVar[bool] = False
    """Set per instance once constructed; from then on every assignment keeps the sync."""

    def __post_init__(self) -> None:
        """Validate, then apply the sync rule once (a dict session was coerced on assignment)."""
        self.validate()
        self._sync()
        object.__setattr__(self, "_sync_on_assign", True)

    def __setattr__(self, name: str, value: Any) -> None:
        """Coerce a dict session, and keep the session in step with model and instructions."""
        if name == "session_properties" and isinstance(value, Mapping):
            value = SessionProperties.from_mapping(value)
        super().__setattr__(name, value)
        if self._sync_on_assign and (name in _MIRRORED or name == "session_properties"):
            self._sync()

    def _sync(self) -> None:
        """Pull up where the top level is not given, then mirror the top level down."""
        session = self.session_properties
        if not isinstance(session, SessionProperties):
            return
        identity: dict[str, str | None] = {}
        for top, inner in _MIRRORED.items():
            value = getattr(self, top)
            if not is_given(value) and inner in session.model_fields_set:
                value = getattr(session, inner)
                object.__setattr__(self, top, value)
            identity[inner] = value if isinstance(value, str) else None
        synced = session.with_identity(
            model=identity["model"], instructions=identity["instructions"]
        )
        object.__setattr__(self, "session_properties", synced)

    def validate(self) -> None:
        """Check every given field; raise ``InvalidSettingsError`` naming the first bad one."""
        _validate_llm_fields(self)
        session = self.session_properties
        if is_given(session) and not isinstance(session, SessionProperties):
            raise InvalidSettingsError(
                "session_properties",
                f"expected SessionProperties or a mapping, not {type(session).__name__}",
            )

    def apply_update(self, delta: ServiceSettings) -> dict[str, Any]:
        """Merge a delta into this store and return ``{changed field: old value}``.

        Accepts a plain ``LLMSettings`` delta too (pipecat users send those). The delta
        is validated before anything changes. ``session_properties`` is reported as
        changed only when something besides the mirrored model/instructions changed, so
        a model-only update does not look like it needs a ``session.update``.
        """
        _validate_llm_fields(delta)
        delta_session = getattr(delta, "session_properties", NOT_GIVEN)
        if isinstance(delta_session, Mapping):
            delta_session = SessionProperties.from_mapping(delta_session)
        if is_given(delta_session) and not isinstance(delta_session, SessionProperties):
            raise InvalidSettingsError(
                "session_properties",
                f"expected SessionProperties or a mapping, not {type(delta_session).__name__}",
            )
        top_level: ServiceSettings
        if isinstance(delta, RealtimeLLMSettings):
            # The session is merged below, not compared and swapped by the base class.
            top_level = dataclasses.replace(delta, session_properties=NOT_GIVEN)
        else:
            top_level = delta
        old_session = self.session_properties
        # The base reads the delta's fields with getattr, so any LLMSettings delta works;
        # assigning model/system_instruction mirrors them into the session (__setattr__).
        changed = super().apply_update(cast("RealtimeLLMSettings", top_level))

        if isinstance(delta_session, SessionProperties):
            current = self.session_properties
            if isinstance(current, SessionProperties):
                self.session_properties = current.merged(delta_session)
            else:
                self.session_properties = delta_session
        if _beyond_identity(old_session) != _beyond_identity(self.session_properties):
            changed["session_properties"] = old_session
        return changed

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any]) -> Self:
        """Build a delta from a plain dict, routing each key to where it belongs.

        Settings fields (``model`` always among them) go to the top level; keys of the
        session object (``instructions``, ``audio``, ``tools``...) go into a nested
        ``session_properties`` (merged into one given under that key); a wire-style
        ``"type": "realtime"`` is dropped. The flat keys of the beta protocol and of older
        pipecat code (``voice``, ``turn_detection``, ``input_audio_transcription``,
        ``modalities``, ``input_audio_format``...) are moved to their GA place. Anything
        else lands in ``extra`` and is logged as a warning by name: a typo must not vanish
        silently.
        """
        top_names = {f.name for f in fields(cls)} - {"extra"}
        session_names = set(SessionProperties.model_fields) - {"model"}
        top: dict[str, Any] = {}
        session: dict[str, Any] = {}
        unknown: dict[str, Any] = {}
        flat: dict[str, Any] = {}
        for key, value in settings.items():
            name = cls._aliases.get(key, key)
            if name in top_names:
                top[name] = value
            elif name in session_names:
                session[name] = copy.deepcopy(value)  # never write into the caller's dicts
            elif name == "type" and value == "realtime":
                continue
            elif name in _FLAT_KEYS:
                path, convert = _FLAT_KEYS[name]
                _set_path(flat, path, convert(value))
            else:
                unknown[key] = value
        session = _deep_merge(session, flat)  # flat keys win over nested ones, in any order
        if "session_properties" in top:
            top["session_properties"] = SessionProperties.from_mapping(top["session_properties"])
        if session:
            loose = SessionProperties.from_mapping(session)
            given = top.get("session_properties")
            top["session_properties"] = given.merged(loose) if given is not None else loose
        if unknown:
            logger.warning(
                f"{cls.__name__}.from_mapping: unknown setting(s) {sorted(unknown)} "
                f"kept in `extra` and not applied"
                f"{_suggestions(unknown, top_names | session_names | set(_FLAT_KEYS))}"
            )
        instance = cls(**top)
        instance.extra = unknown
        return instance


_FORMATS = {
    "pcm16": {"type": "audio/pcm", "rate": 24000},
    "g711_ulaw": {"type": "audio/pcmu"},
    "g711_alaw": {"type": "audio/pcma"},
}


def _format(value: Any) -> Any:
    return _FORMATS.get(value, value) if isinstance(value, str) else value


def _modalities(value: Any) -> Any:
    return ["text"] if list(value) == ["text"] else ["audio"]


def _same(value: Any) -> Any:
    return value


_FLAT_KEYS: dict[str, tuple[tuple[str, ...], Any]] = {
    "voice": (("audio", "output", "voice"), _same),
    "speed": (("audio", "output", "speed"), _same),
    "output_audio_format": (("audio", "output", "format"), _format),
    "input_audio_format": (("audio", "input", "format"), _format),
    "turn_detection": (("audio", "input", "turn_detection"), _same),
    "input_audio_transcription": (("audio", "input", "transcription"), _same),
    "input_audio_noise_reduction": (("audio", "input", "noise_reduction"), _same),
    "modalities": (("output_modalities",), _modalities),
    "max_response_output_tokens": (("max_output_tokens",), _same),
}
"""Flat (beta / older pipecat) session keys -> where GA keeps them, and how to convert."""


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` merged into a copy of ``base``, nested dicts merged key by key."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _set_path(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


def _suggestions(unknown: Iterable[str], known: set[str]) -> str:
    """A ``did you mean`` hint for keys that look like typos of known ones."""
    hints = []
    for key in sorted(unknown):
        close = difflib.get_close_matches(key, sorted(known), n=1)
        if close:
            hints.append(f"{key!r} -> {close[0]!r}")
    return f" (did you mean: {', '.join(hints)}?)" if hints else ""


def _beyond_identity(session: SessionProperties | NotGiven) -> dict[str, Any] | None:
    """The session's wire form without the mirrored fields, for change detection."""
    if not isinstance(session, SessionProperties):
        return None
    return session.with_identity(model=None, instructions=None).to_wire()


def _validate_llm_fields(settings: ServiceSettings) -> None:
    """Check the ``LLMSettings`` fields that are given; ``None`` is always allowed."""

    def given(name: str) -> Any:
        value = getattr(settings, name, NOT_GIVEN)
        return None if not is_given(value) else value

    for name in ("model", "system_instruction"):
        value = given(name)
        if value is not None and not isinstance(value, str):
            raise InvalidSettingsError(name, f"expected a string, not {type(value).__name__}")
    if given("model") == "":
        raise InvalidSettingsError("model", "must not be empty")
    _check_number("temperature", given("temperature"), low=0.0)
    _check_number("top_p", given("top_p"), low=0.0, high=1.0)
    _check_number("frequency_penalty", given("frequency_penalty"), low=-2.0, high=2.0)
    _check_number("presence_penalty", given("presence_penalty"), low=-2.0, high=2.0)
    _check_number("top_k", given("top_k"), low=0, integer=True)
    _check_number("max_tokens", given("max_tokens"), low=1, integer=True)
    _check_number("seed", given("seed"), integer=True)
    _check_number(
        "input_audio_batch_ms", given("input_audio_batch_ms"), low=0, high=1000, integer=True
    )


def _check_number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    integer: bool = False,
) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidSettingsError(name, f"expected a number, not {value!r}")
    if integer and not isinstance(value, int):
        raise InvalidSettingsError(name, f"expected an integer, not {value!r}")
    if not math.isfinite(value):
        raise InvalidSettingsError(name, f"must be finite, not {value!r}")
    if low is not None and value < low:
        raise InvalidSettingsError(name, f"must be >= {low}, not {value!r}")
    if high is not None and value > high:
        raise InvalidSettingsError(name, f"must be <= {high}, not {value!r}")


def check_voice(settings: ServiceSettings, dialect: Dialect) -> None:
    """Check the voice ``settings`` set (if any) against the dialect's voices.

    A voice the server does not have is refused as it would be on the wire, but at
    construction (or update) time and naming the field: :class:`InvalidSettingsError`
    listing the voices. Where the server also takes custom voices
    (``dialect.custom_voices``) an unknown name may be one of them, so it is only a
    warning, with the list, to catch a typo.
    """
    session = getattr(settings, "session_properties", NOT_GIVEN)
    voice = session.voice if isinstance(session, SessionProperties) else None
    if voice is None or dialect.knows_voice(voice):
        return
    known = ", ".join(sorted(dialect.voices))
    if dialect.custom_voices:
        logger.warning(
            f"voice {voice!r} is not one of {dialect.name}'s built-in voices ({known}); "
            "fine if it is a custom voice of your account"
        )
        return
    raise InvalidSettingsError(
        "session_properties.audio.output.voice",
        f"{voice!r} is not a voice of {dialect.name}; use one of: {known}",
    )


def default_settings(
    model: str | None = None,
    system_instruction: str | None = None,
    *,
    voice: str | None = DEFAULT_VOICE,
) -> RealtimeLLMSettings:
    """A complete store: every ``LLMSettings`` field given, unsupported ones ``None``.

    The session is :func:`~realtime_llm.session_properties.default_session_properties`
    (audio, server VAD, transcription on, ``voice``: the service passes its dialect's
    ``default_voice``), with ``model``/``instructions`` mirrored in. The service builds
    this and then ``apply_update``s the user's settings onto it.
    """
    chosen = model or DEFAULT_MODEL
    return RealtimeLLMSettings(
        model=chosen,
        system_instruction=system_instruction,
        temperature=None,
        max_tokens=None,
        top_p=None,
        top_k=None,
        frequency_penalty=None,
        presence_penalty=None,
        seed=None,
        filter_incomplete_user_turns=False,
        user_turn_completion_config=None,
        use_provider_thinking_default=False,
        session_properties=default_session_properties(chosen, voice=voice),
        input_audio_batch_ms=DEFAULT_INPUT_AUDIO_BATCH_MS,
    )


def unsupported_fields(changed: Iterable[str]) -> list[str]:
    """The names in ``changed`` that the realtime protocol cannot apply, sorted.

    Pass the dict ``apply_update`` returned (or any iterable of names); the service warns
    about each by name. At construction, pass only the fields given a non-``None`` value.
    """
    return sorted(set(changed) & UNSUPPORTED_FIELDS)


def session_update_needed(changed: Iterable[str]) -> bool:
    """Whether the change must be sent as a ``session.update`` (session or instructions)."""
    return not {"session_properties", "system_instruction"}.isdisjoint(changed)


def reconnect_needed(changed: Iterable[str]) -> bool:
    """Whether the change only takes effect on a new connection (the model is in the URL)."""
    return "model" in set(changed)
