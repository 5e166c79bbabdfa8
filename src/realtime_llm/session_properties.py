"""A typed model of the realtime session object (OpenAI Realtime GA, nested shape).

Why a model of our own rather than the ``openai`` package's: those models accept anything
(``extra="allow"``) and check no ranges, so a typo such as ``turn_detecton`` or a threshold
of 5 would only surface as a server ``error`` event once the socket is open. Here every
object forbids unknown keys and checks the documented ranges, and a failure is an
:class:`~realtime_llm.errors.InvalidSettingsError` naming the full path of the bad field
(``session_properties.audio.input.turn_detection.threshold``), at construction time.

Sparse on purpose: ``session.update`` *merges* into the server's session, so what we send
must be only what the user set. Every model remembers which fields were given
(pydantic's ``model_fields_set``); :meth:`SessionProperties.to_wire` sends exactly those.
An explicit ``None`` is sent as JSON ``null`` only where null means something on the
wire ("turn this off": ``turn_detection``, ``transcription``, ``noise_reduction``,
``tracing``, ``idle_timeout_ms``); elsewhere a ``None`` is left out, as an unset field is.

The models are frozen: the settings store mirrors ``model``/``instructions`` into them and
must not be bypassed by in-place edits. Build a changed copy with :meth:`merged`.

This module imports no pipecat: dialects and the local server can use it too.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from typing_extensions import Self

from realtime_llm.errors import InvalidSettingsError

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_TRANSCRIPTION_MODEL",
    "DEFAULT_VOICE",
    "AudioConfig",
    "AudioFormat",
    "AudioInput",
    "AudioOutput",
    "NoiseReduction",
    "PCMAFormat",
    "PCMFormat",
    "PCMUFormat",
    "PromptReference",
    "RetentionRatioTruncation",
    "SemanticVad",
    "ServerVad",
    "SessionProperties",
    "TokenLimits",
    "ToolChoice",
    "ToolChoiceFunction",
    "ToolChoiceMcp",
    "TracingConfig",
    "Transcription",
    "TurnDetection",
    "default_session_properties",
    "settings_error",
]

DEFAULT_MODEL = "gpt-realtime"
DEFAULT_VOICE = "alloy"
DEFAULT_TRANSCRIPTION_MODEL = "gpt-4o-transcribe"

_PCM_RATE = 24000
_G711_RATE = 8000

# Pieces of a pydantic error location that are not field names: the tags of
# discriminated unions and the labels pydantic gives the members of plain unions.
_UNION_TAGS = frozenset({"server_vad", "semantic_vad", "function", "mcp"})
_TYPE_LABELS = frozenset({"int", "float", "str", "bool", "dict", "list", "none"})
_FIELD_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")

# True while a validation is under way, so only the outermost one turns pydantic's
# errors into an InvalidSettingsError (with the full path).
_validating: ContextVar[bool] = ContextVar("_validating", default=False)


def _error_path(prefix: str, loc: tuple[int | str, ...]) -> str:
    """Turn a pydantic error location into a dotted settings path, dropping union labels."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _FIELD_NAME.match(part) and part not in _UNION_TAGS | _TYPE_LABELS:
            path += f".{part}"
    return path


def settings_error(exc: ValidationError, prefix: str) -> InvalidSettingsError:
    """Translate a pydantic ``ValidationError`` into one ``InvalidSettingsError``.

    The deepest failing location is the field named (for a union, the member that got
    furthest tells the most); other failures at that path are joined into the problem, and
    failures elsewhere are listed after it, so nothing the user needs to fix is hidden.
    """
    errors = exc.errors(include_url=False)
    deepest = max(errors, key=lambda err: len(err["loc"]))
    field = _error_path(prefix, deepest["loc"])
    here: list[str] = []
    elsewhere: list[str] = []
    for err in errors:
        err_path = _error_path(prefix, err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err_path == field:
            if msg not in here:
                here.append(msg)
        else:
            elsewhere.append(f"{err_path}: {msg}")
    problem = "; or ".join(here)
    if elsewhere:
        problem += " (also: " + "; ".join(elsewhere) + ")"
    return InvalidSettingsError(field, problem)


class _SessionModel(BaseModel):
    """Base of every session object: strict, frozen, sparse on the wire."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    _error_prefix: ClassVar[str] = "session_properties"
    """Where this object sits in the session, for errors raised by its own constructor."""
    _always_sent: ClassVar[frozenset[str]] = frozenset()
    """Fields sent even when left at their default (discriminators such as ``type``)."""
    _null_on_wire: ClassVar[frozenset[str]] = frozenset()
    """Fields whose explicit ``None`` is sent as ``null`` because null means "off"."""

    if not TYPE_CHECKING:
        # Hidden from type checkers so they keep pydantic's typed keyword signature.
        def __init__(self, **data: Any) -> None:
            if _validating.get():
                # Nested (pydantic calls a custom __init__ for nested objects too): let
                # the outermost call translate, so the path is complete.
                super().__init__(**data)
                return
            token = _validating.set(True)
            try:
                super().__init__(**data)
            except ValidationError as exc:
                raise settings_error(exc, self._error_prefix) from None
            finally:
                _validating.reset(token)

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Self:
        """pydantic's ``model_validate``, failing with the package's error, not pydantic's.

        Users reach for pydantic's own entry points on a pydantic model; they must get
        the same :class:`InvalidSettingsError` naming the field as the constructor gives.
        """
        return cls._translating(
            lambda: super(_SessionModel, cls).model_validate(obj, *args, **kwargs)
        )

    @classmethod
    def model_validate_json(cls, json_data: Any, *args: Any, **kwargs: Any) -> Self:
        """pydantic's ``model_validate_json``, failing with :class:`InvalidSettingsError`."""
        return cls._translating(
            lambda: super(_SessionModel, cls).model_validate_json(json_data, *args, **kwargs)
        )

    @classmethod
    def model_validate_strings(cls, obj: Any, *args: Any, **kwargs: Any) -> Self:
        """pydantic's ``model_validate_strings``, failing with :class:`InvalidSettingsError`."""
        return cls._translating(
            lambda: super(_SessionModel, cls).model_validate_strings(obj, *args, **kwargs)
        )

    @classmethod
    def _translating(cls, validate: Callable[[], Self]) -> Self:
        """Run ``validate``; outermost, turn a ``ValidationError`` into a settings error."""
        if _validating.get():
            return validate()
        token = _validating.set(True)
        try:
            return validate()
        except ValidationError as exc:
            raise settings_error(exc, cls._error_prefix) from None
        finally:
            _validating.reset(token)

    def model_post_init(self, context: Any, /) -> None:
        """Count discriminators as set, so sparse serialization always carries them."""
        self.__pydantic_fields_set__.update(self._always_sent)

    @classmethod
    def _build(cls, values: Mapping[str, Any], prefix: str | None = None) -> Self:
        """Validate ``values`` (whose keys become the fields set), errors as settings errors."""
        token = _validating.set(True)
        try:
            return cls.model_validate(dict(values))
        except ValidationError as exc:
            raise settings_error(exc, prefix or cls._error_prefix) from None
        finally:
            _validating.reset(token)

    def to_wire(self) -> dict[str, Any]:
        """The JSON object for the fields that were set (see the module docstring)."""
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            if name not in self.model_fields_set:
                continue
            value = getattr(self, name)
            if value is None and name not in self._null_on_wire:
                continue
            out[name] = _wire_value(value)
        return out

    def merged(self, other: Self) -> Self:
        """Deep-merge ``other`` over this object: only the fields ``other`` set win.

        Nested objects of the same kind merge field by field; anything else (a different
        turn-detection type, a list, an explicit ``None``) replaces. Lists are never merged
        element-wise: ``tools=[]`` clears the tools.
        """
        values: dict[str, Any] = {name: getattr(self, name) for name in self.model_fields_set}
        for name in other.model_fields_set:
            new = getattr(other, name)
            old = values.get(name)
            if isinstance(old, _SessionModel) and type(old) is type(new):
                values[name] = old.merged(new)
            else:
                values[name] = new
        return self._build(values)


def _wire_value(value: Any) -> Any:
    if isinstance(value, _SessionModel):
        return value.to_wire()
    if isinstance(value, list):
        return [_wire_value(item) for item in value]
    return copy.deepcopy(value)


# -- audio formats -----------------------------------------------------------------------


class PCMFormat(_SessionModel):
    """16-bit little-endian PCM, mono. GA accepts 24 kHz only."""

    _error_prefix = "session_properties.audio.format"
    _always_sent = frozenset({"type", "rate"})

    type: Literal["audio/pcm"] = "audio/pcm"
    rate: Literal[24000] = 24000


class PCMUFormat(_SessionModel):
    """G.711 mu-law, 8 kHz (telephony)."""

    _error_prefix = "session_properties.audio.format"
    _always_sent = frozenset({"type"})

    type: Literal["audio/pcmu"] = "audio/pcmu"


class PCMAFormat(_SessionModel):
    """G.711 A-law, 8 kHz (telephony)."""

    _error_prefix = "session_properties.audio.format"
    _always_sent = frozenset({"type"})

    type: Literal["audio/pcma"] = "audio/pcma"


AudioFormat = Annotated[PCMFormat | PCMUFormat | PCMAFormat, Field(discriminator="type")]
"""One of the three GA audio formats, told apart by ``type``."""


def _format_rate(fmt: PCMFormat | PCMUFormat | PCMAFormat | None) -> int:
    if isinstance(fmt, (PCMUFormat, PCMAFormat)):
        return _G711_RATE
    if isinstance(fmt, PCMFormat):
        return fmt.rate
    return _PCM_RATE  # unset: the protocol's default format


# -- audio input -------------------------------------------------------------------------


class NoiseReduction(_SessionModel):
    """Input noise reduction tuned for the microphone's distance."""

    _error_prefix = "session_properties.audio.input.noise_reduction"

    type: Literal["near_field", "far_field"]


class Transcription(_SessionModel):
    """Transcription of the user's audio; without it the history has no user text."""

    _error_prefix = "session_properties.audio.input.transcription"

    model: str | None = None
    language: str | None = None
    prompt: str | None = None


class ServerVad(_SessionModel):
    """Silence-based turn detection on the server (the protocol's default)."""

    _error_prefix = "session_properties.audio.input.turn_detection"
    _always_sent = frozenset({"type"})
    _null_on_wire = frozenset({"idle_timeout_ms"})

    type: Literal["server_vad"] = "server_vad"
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    prefix_padding_ms: int | None = Field(default=None, ge=0)
    silence_duration_ms: int | None = Field(default=None, ge=0)
    create_response: bool | None = None
    interrupt_response: bool | None = None
    idle_timeout_ms: int | None = Field(default=None, ge=0)


class SemanticVad(_SessionModel):
    """Model-based turn detection: waits for the user to sound finished."""

    _error_prefix = "session_properties.audio.input.turn_detection"
    _always_sent = frozenset({"type"})

    type: Literal["semantic_vad"] = "semantic_vad"
    eagerness: Literal["low", "medium", "high", "auto"] | None = None
    create_response: bool | None = None
    interrupt_response: bool | None = None


TurnDetection = Annotated[ServerVad | SemanticVad, Field(discriminator="type")]
"""Server or semantic VAD. ``None`` (sent as ``null``) means the client commits turns."""


class AudioInput(_SessionModel):
    """``audio.input``: what the model hears and how turns are detected."""

    _error_prefix = "session_properties.audio.input"
    _null_on_wire = frozenset({"noise_reduction", "transcription", "turn_detection"})

    format: AudioFormat | None = None
    noise_reduction: NoiseReduction | None = None
    transcription: Transcription | None = None
    turn_detection: TurnDetection | None = None


class AudioOutput(_SessionModel):
    """``audio.output``: how the model speaks."""

    _error_prefix = "session_properties.audio.output"

    format: AudioFormat | None = None
    voice: str | None = Field(default=None, min_length=1)
    speed: float | None = Field(default=None, ge=0.25, le=1.5)


class AudioConfig(_SessionModel):
    """``audio``: the input and output halves."""

    _error_prefix = "session_properties.audio"

    input: AudioInput | None = None
    output: AudioOutput | None = None


# -- the rest of the session -------------------------------------------------------------


class ToolChoiceFunction(_SessionModel):
    """Force a call of the named function."""

    _error_prefix = "session_properties.tool_choice"
    _always_sent = frozenset({"type"})

    type: Literal["function"] = "function"
    name: str = Field(min_length=1)


class ToolChoiceMcp(_SessionModel):
    """Force a tool of the named MCP server."""

    _error_prefix = "session_properties.tool_choice"
    _always_sent = frozenset({"type"})

    type: Literal["mcp"] = "mcp"
    server_label: str = Field(min_length=1)
    name: str | None = None


ToolChoice = (
    Literal["none", "auto", "required"]
    | Annotated[ToolChoiceFunction | ToolChoiceMcp, Field(discriminator="type")]
)
"""A mode, or one function or MCP tool the model must use."""


class TracingConfig(_SessionModel):
    """Server-side trace settings (the string ``"auto"`` takes the defaults)."""

    _error_prefix = "session_properties.tracing"

    group_id: str | None = None
    metadata: dict[str, Any] | None = None
    workflow_name: str | None = None


class TokenLimits(_SessionModel):
    """Token limits applied when truncating the conversation."""

    _error_prefix = "session_properties.truncation.token_limits"

    post_instructions: int | None = Field(default=None, ge=0)


class RetentionRatioTruncation(_SessionModel):
    """Truncate to a fraction of the context when it overflows (fewer cache busts)."""

    _error_prefix = "session_properties.truncation"
    _always_sent = frozenset({"type"})

    type: Literal["retention_ratio"] = "retention_ratio"
    retention_ratio: float = Field(ge=0.0, le=1.0)
    token_limits: TokenLimits | None = None


class PromptReference(_SessionModel):
    """A stored prompt template and its variables."""

    _error_prefix = "session_properties.prompt"

    id: str = Field(min_length=1)
    variables: dict[str, Any] | None = None
    version: str | None = None


class SessionProperties(_SessionModel):
    """The GA realtime session object, as the user configures it.

    Every field is optional; an unset field is not sent and the server keeps its value.
    Construct directly (errors raise :class:`InvalidSettingsError`) or from a plain dict
    with :meth:`from_mapping`. ``model`` and ``instructions`` are mirrored from the
    service settings' top-level ``model``/``system_instruction``.
    """

    _null_on_wire = frozenset({"tracing"})

    model: str | None = Field(default=None, min_length=1)
    instructions: str | None = None
    output_modalities: list[Literal["audio", "text"]] | None = None
    audio: AudioConfig | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: ToolChoice | None = None
    max_output_tokens: int | Literal["inf"] | None = None
    tracing: Literal["auto"] | TracingConfig | None = None
    truncation: Literal["auto", "disabled"] | RetentionRatioTruncation | None = None
    prompt: PromptReference | None = None
    include: list[Literal["item.input_audio_transcription.logprobs"]] | None = None

    @field_validator("output_modalities")
    @classmethod
    def _one_modality(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(value) != 1:
            raise ValueError("give exactly one of 'audio' or 'text' (the protocol cannot do both)")
        return value

    @field_validator("max_output_tokens", mode="before")
    @classmethod
    def _token_limit(cls, value: Any) -> Any:
        if value is None or value == "inf":
            return value
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4096:
            raise ValueError(f"must be an integer from 1 to 4096 or 'inf', not {value!r}")
        return value

    @field_validator("tools")
    @classmethod
    def _named_functions(cls, value: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        # Only function tools are checked: dialects add tool types of their own.
        for tool in value or []:
            if tool.get("type", "function") == "function" and not tool.get("name"):
                raise ValueError("a function tool needs a non-empty 'name'")
        return value

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any] | SessionProperties, *, path: str = "session_properties"
    ) -> SessionProperties:
        """Validate a plain (possibly nested) dict; errors name ``path`` plus the field.

        A ``"type": "realtime"`` key, as found in a wire session object, is accepted and
        dropped. An existing ``SessionProperties`` is returned as is.
        """
        if isinstance(data, SessionProperties):
            return data
        values = dict(data)
        if values.get("type") == "realtime":
            del values["type"]
        return cls._build(values, path)

    def to_wire(self, *, include_model: bool = True) -> dict[str, Any]:
        """The GA ``session`` object for ``session.update``: ``type`` plus what was set.

        ``include_model=False`` leaves the model out: it is fixed per connection (it is in
        the URL), and the server rejects a model change once audio has been produced.
        """
        session = {"type": "realtime", **super().to_wire()}
        if not include_model:
            session.pop("model", None)
        return session

    def with_identity(self, *, model: str | None, instructions: str | None) -> SessionProperties:
        """A copy carrying ``model`` and ``instructions``; ``None`` leaves a field unset.

        This is how the settings mirror their top-level authority into the session.
        """
        values = {name: getattr(self, name) for name in self.model_fields_set}
        for name, value in (("model", model), ("instructions", instructions)):
            if value is None:
                values.pop(name, None)
            else:
                values[name] = value
        return self._build(values)

    # -- read-only conveniences for the service --------------------------------------

    @property
    def input_sample_rate(self) -> int:
        """Sample rate of the audio we send: 24000 for PCM (or unset), 8000 for G.711."""
        audio_in = self.audio.input if self.audio else None
        return _format_rate(audio_in.format if audio_in else None)

    @property
    def output_sample_rate(self) -> int:
        """Sample rate of the audio the model sends."""
        audio_out = self.audio.output if self.audio else None
        return _format_rate(audio_out.format if audio_out else None)

    @property
    def voice(self) -> str | None:
        """The configured voice, or ``None`` when the server's default is used."""
        audio_out = self.audio.output if self.audio else None
        return audio_out.voice if audio_out else None

    @property
    def server_vad_enabled(self) -> bool:
        """Whether the server detects turns: false only when ``turn_detection`` is ``None``.

        Left unset, the server's default (server VAD) applies, so that counts as enabled.
        """
        audio_in = self.audio.input if self.audio else None
        if audio_in is None or "turn_detection" not in audio_in.model_fields_set:
            return True
        return audio_in.turn_detection is not None

    @property
    def audio_output_enabled(self) -> bool:
        """Whether the model answers in audio (the default when modalities are unset)."""
        return self.output_modalities is None or "audio" in self.output_modalities


def default_session_properties(
    model: str = DEFAULT_MODEL, *, voice: str | None = DEFAULT_VOICE
) -> SessionProperties:
    """The session a voice bot wants unless told otherwise.

    Audio out, 24 kHz PCM both ways, server VAD with the protocol's defaults, ``voice``
    ("alloy"; a dialect passes its own default, ``None`` leaves it to the server), and user
    transcription turned on (the protocol leaves it off, which would leave the
    conversation history without the user's words).
    """
    output = (
        AudioOutput(format=PCMFormat(), voice=voice) if voice else AudioOutput(format=PCMFormat())
    )
    return SessionProperties(
        model=model,
        output_modalities=["audio"],
        audio=AudioConfig(
            input=AudioInput(
                format=PCMFormat(),
                transcription=Transcription(model=DEFAULT_TRANSCRIPTION_MODEL),
                turn_detection=ServerVad(
                    threshold=0.5,
                    prefix_padding_ms=300,
                    silence_duration_ms=500,
                    create_response=True,
                    interrupt_response=True,
                ),
            ),
            output=output,
        ),
    )
