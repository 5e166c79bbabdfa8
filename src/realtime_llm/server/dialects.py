"""Server-side dialects: the GA session core, spoken the way each server of the family speaks.

The session core (:mod:`.session`) knows OpenAI GA only. A :class:`ServerDialect` describes
how one provider's server differs on the wire, mostly as tables (event renames, fields it
leaves out, content part names, client events and parts it lacks), plus a :class:`Shape`
wherever its session object is laid out differently. A :class:`DialectEdge` applies one
dialect to one connection: each client event is translated to GA (or refused) before the
core checks it, and each event the core emits is translated on its way out. Nothing in the
core asks which dialect it speaks; the client-side counterparts are in
:mod:`realtime_llm.dialects`.

============  =====================================================  ===========================
dialect       handshake                                              differs from GA in
============  =====================================================  ===========================
ga            ``/v1/realtime?model=M``; Bearer (or ``api-key``);     nothing (OpenAI GA, and
              ``OpenAI-Beta: realtime=v1`` is refused (400)          ``local``)
openai_beta   same path; ``OpenAI-Beta: realtime=v1`` required;      flat session; beta event
              Bearer                                                 names; ``text``/``audio``
                                                                     parts; no image input
azure         ``/openai/v1/realtime?model=DEPLOYMENT``; ``api-key``  ``content`` beside ``part`` in
              or Bearer; ``api-version`` gives 401                   ``response.content_part.*``
xai           ``/v1/realtime?model=M``; Bearer                       ``voice``/``turn_detection``
                                                                     at the session top; ``ping``;
                                                                     cumulative transcripts;
                                                                     ``response.text.delta``
                                                                     twins; no truncate, no images
inworld       ``/api/v1/realtime/session?key=K&protocol=realtime``;  ``ping``; session ``model``
              Basic (or Bearer)                                      and ``providerData``; no
                                                                     ``name`` in
                                                                     ``function_call_arguments
                                                                     .done``
============  =====================================================  ===========================

A new dialect is a subclass that fills in the tables; the hooks (``session_in``,
``session_out``, ``response_in``, ``response_out``, ``item_in``, ``item_out``,
``check_request``) have GA defaults and rarely need overriding.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal
from urllib.parse import urlencode

from ._audio import SAMPLE_RATE
from ._client_events import RESPONSE_FIELDS
from ._config import (
    AUDIO_INPUT_FIELDS,
    AUDIO_OUTPUT_FIELDS,
    BETA_VOICES,
    FUNCTION_TOOL,
    MAX_OUTPUT_TOKENS,
    OPENAI_VOICES,
    SEMANTIC_VAD_FIELDS,
    SERVER_VAD_FIELDS,
    SESSION_FIELDS,
    TRACING,
    TURN_DETECTION,
    VOICE,
)
from ._schema import (
    Anything,
    Check,
    Enum,
    ListOf,
    MapOf,
    Nullable,
    Number,
    Obj,
    Problem,
    String,
    Tagged,
    is_unset,
    join,
)
from ._xai_wire import XAIWire, xai_session_created, xai_session_updated

__all__ = [
    "SERVER_DIALECTS",
    "AzureServerDialect",
    "InworldServerDialect",
    "OpenAIBetaServerDialect",
    "Refusal",
    "ServerDialect",
    "Shape",
    "XAIServerDialect",
    "get_server_dialect",
]

Event = dict[str, Any]
Path = tuple[str, ...]
Convert = Callable[[Any], Any]
AuthForm = Literal["bearer", "api-key", "basic"]

_SESSION_META = ("object", "id", "expires_at")
_MISSING: Any = object()
_GA_PART_TYPES = ("input_text", "input_audio", "input_image", "output_text", "output_audio")


def _same(value: Any) -> Any:
    return value


# --- nested paths -----------------------------------------------------------------------------


def _pop_path(target: dict[str, Any], path: Path) -> Any:
    """Remove and return ``target[path[0]]...[path[-1]]`` (``_MISSING`` if absent).

    Parents the removal leaves empty are removed too (they held only what moved).
    """
    *parents, leaf = path
    nodes = [target]
    for key in parents:
        child = nodes[-1].get(key)
        if not isinstance(child, dict):
            return _MISSING
        nodes.append(child)
    value = nodes[-1].pop(leaf, _MISSING)
    if value is not _MISSING:
        for depth in range(len(parents), 0, -1):
            if nodes[depth]:
                break
            del nodes[depth - 1][parents[depth - 1]]
    return value


def _set_path(target: dict[str, Any], path: Path, value: Any) -> None:
    *parents, leaf = path
    node = target
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value


@dataclass(frozen=True)
class Shape:
    """An object a dialect lays out differently from GA (a session, a response).

    ``fields``: the dialect's keys and their checks. ``layout``: where a dialect key lives
    in the GA object (default: the same key at the top; ``None``: accepted, then dropped).
    ``values``: ``(to_ga, from_ga)`` converters per dialect key. ``const``: GA keys the
    dialect leaves implicit (e.g. the session's ``type``). The table doubles as the map
    from GA error parameters back to the dialect's names.
    """

    fields: Mapping[str, Check]
    layout: Mapping[str, Path | None] = field(default_factory=dict)
    values: Mapping[str, tuple[Convert, Convert]] = field(default_factory=dict)
    const: Mapping[str, Any] = field(default_factory=dict)

    def _paths(self) -> list[tuple[str, Path]]:
        paths = []
        for key in self.fields:
            path = self.layout.get(key, (key,))
            if path is not None:
                paths.append((key, path))
        return paths

    def to_ga(self, value: Mapping[str, Any], param: str) -> dict[str, Any] | Problem:
        """Check ``value`` in the dialect's shape, then lay it out as GA nests it."""
        problem = Obj(self.fields)(value, param)
        if problem is not None:
            return problem
        ga: dict[str, Any] = copy.deepcopy(dict(self.const))
        # Shorter paths first, so that a moved key lands inside an object set whole.
        for key, path in sorted(self._paths(), key=lambda kp: len(kp[1])):
            if key in value and not is_unset(self.fields[key], value[key]):
                convert = self.values.get(key, (_same, _same))[0]
                _set_path(ga, path, copy.deepcopy(convert(value[key])))
        return ga

    def from_ga(self, value: Mapping[str, Any], keep: tuple[str, ...] = ()) -> dict[str, Any]:
        """The GA object in the dialect's shape: its keys only (plus ``keep``)."""
        ga = copy.deepcopy(dict(value))
        out: dict[str, Any] = {k: ga.pop(k) for k in keep if k in ga}
        moved: dict[str, Any] = {}
        # Longer paths first, so that moved keys leave their parent before it is copied.
        for key, path in sorted(self._paths(), key=lambda kp: -len(kp[1])):
            found = _pop_path(ga, path)
            if found is not _MISSING:
                moved[key] = self.values.get(key, (_same, _same))[1](found)
        out.update((key, moved[key]) for key in self.fields if key in moved)
        return out

    def param_renames(self, prefix: str) -> dict[str, str]:
        """GA parameter path -> the dialect's, for keys that moved."""
        renames = {}
        for key, path in self._paths():
            if path != (key,):
                renames[join(prefix, ".".join(path))] = join(prefix, key)
        return renames


@dataclass(frozen=True)
class Refusal:
    """The HTTP answer to an upgrade request that this dialect's server would refuse."""

    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"


def _credentials(headers: Mapping[str, str], form: AuthForm) -> list[str]:
    """The secrets ``headers`` present in one auth form (Basic: as sent and decoded)."""
    if form == "api-key":
        value = headers.get("api-key")
        return [value.strip()] if value else []
    scheme, _, token = (headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != form:
        return []
    token = token.strip()
    if form == "basic":
        try:
            return [token, base64.b64decode(token, validate=True).decode()]
        except (binascii.Error, UnicodeDecodeError):
            pass
    return [token]


_OPENAI_UNAUTHORIZED = {
    "error": {
        "message": "Incorrect API key provided.",
        "type": "invalid_request_error",
        "code": "invalid_api_key",
        "param": None,
    }
}


# --- the dialects ------------------------------------------------------------------------------


class ServerDialect:
    """OpenAI GA (also what ``openai`` and ``local`` clients speak); the base of the others.

    Args:
        ping_interval_s: for dialects that ping, seconds between two pings after the
            first (which follows ``session.created``); ``None`` sends only that one.
    """

    name: ClassVar[str] = "ga"
    aliases: ClassVar[tuple[str, ...]] = ("openai", "local")
    client_dialect: ClassVar[str] = "local"
    """The name of the client-side dialect (:mod:`realtime_llm.dialects`) that talks to it."""

    # --- handshake
    path: ClassVar[str] = "/v1/realtime"
    auth_forms: ClassVar[tuple[AuthForm, ...]] = ("bearer", "api-key")
    """Where the key may be when the server has one (``basic`` also accepts base64)."""
    beta_header: ClassVar[Literal["refused", "required", "ignored"]] = "refused"
    """What ``OpenAI-Beta: realtime=v1`` does."""
    required_query: ClassVar[Mapping[str, str | None]] = {}
    """Query keys the URL must carry (a value, or None for any)."""
    refused_query: ClassVar[frozenset[str]] = frozenset()
    """Query keys that get 401 (Azure's ``api-version`` on the v1 path)."""
    model_query: ClassVar[str | None] = "model"
    """The query key naming the model (None: the URL has none)."""
    unauthorized_body: ClassVar[Mapping[str, Any]] = _OPENAI_UNAUTHORIZED
    voices: ClassVar[tuple[str, ...] | None] = OPENAI_VOICES
    """The voice names the server has (None: any name, for servers with custom voices)."""

    # --- server events, GA -> dialect
    event_names: ClassVar[Mapping[str, str | None]] = {}
    """GA server event type -> this dialect's (None: the dialect has no such event)."""
    duplicated_events: ClassVar[Mapping[str, str]] = {}
    """GA event type -> a second copy of it sent under this name right after."""
    omitted_fields: ClassVar[Mapping[str, frozenset[str]]] = {}
    """GA event type -> top-level fields this dialect leaves out."""
    part_types: ClassVar[Mapping[str, str]] = {}
    """GA content part type -> this dialect's, inside items (both directions)."""
    item_omitted_fields: ClassVar[Mapping[str, frozenset[str]]] = {
        "*": frozenset({"object"}),
        "function_call_output": frozenset({"status"}),
    }
    """Item type (``*``: every item) -> fields its items leave out on the wire. GA's
    recorded items have no ``object``, and a function call output no ``status``."""
    obfuscated_events: ClassVar[frozenset[str]] = frozenset(
        {
            "response.output_text.delta",
            "response.output_audio_transcript.delta",
            "response.function_call_arguments.delta",
            "conversation.item.input_audio_transcription.delta",
        }
    )
    """GA event types that carry ``obfuscation`` (padding that hides the delta's length)."""
    part_copies: ClassVar[Mapping[str, str]] = {}
    """GA event type -> a field that repeats its ``part`` (Azure's ``content``)."""
    done_order: ClassVar[tuple[str, ...]] = ()
    """The order this dialect closes an item in, when it is not GA's (event types)."""
    pings: ClassVar[bool] = False
    """Sends ``ping`` after ``session.created`` and then every ``ping_interval_s``."""
    cumulative_transcripts: ClassVar[bool] = False
    """Sends ``...input_audio_transcription.updated`` (the transcript so far) after deltas."""

    # --- client events, dialect -> GA
    unsupported_client_events: ClassVar[frozenset[str]] = frozenset()
    unsupported_part_types: ClassVar[frozenset[str]] = frozenset()
    refused_response_params: ClassVar[frozenset[str]] = frozenset()
    """Keys of ``response.create``'s ``response`` refused as unknown parameters."""

    # --- objects laid out differently
    session_shape: ClassVar[Shape | None] = None
    """The session object in ``session.update``/``session.created`` (None: GA nested)."""
    session_extras: ClassVar[Mapping[str, Check]] = {}
    """Session keys only this dialect has: checked, kept at the edge, echoed back."""
    session_extra_defaults: ClassVar[Mapping[str, Any]] = {}
    session_defaults: ClassVar[Mapping[str, Any]] = {}
    """A GA ``session.update`` patch for the session a connection starts with."""
    pcm_rates: ClassVar[frozenset[int]] = frozenset({SAMPLE_RATE})
    """``audio/pcm`` sample rates a session may ask for (resampled at the edge)."""
    response_shape: ClassVar[Shape | None] = None
    """``response.create``'s ``response`` (None: GA)."""
    response_object_shape: ClassVar[Shape | None] = None
    """The ``response`` of ``response.created``/``response.done`` (None: GA)."""

    def __init__(self, *, ping_interval_s: float | None = 20.0) -> None:
        self.ping_interval_s = ping_interval_s if self.pings else None
        self._param_renames: dict[str, str] = {}
        if self.session_shape is not None:
            self._param_renames.update(self.session_shape.param_renames("session"))
        if self.response_shape is not None:
            self._param_renames.update(self.response_shape.param_renames("response"))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    # --- handshake ------------------------------------------------------------------------

    def check_request(
        self, query: Mapping[str, list[str]], headers: Mapping[str, str], api_key: str | None
    ) -> Refusal | None:
        """Why this dialect's server would refuse the upgrade (the path is checked already)."""
        for key in sorted(self.refused_query):
            if key in query:
                return self.unauthorized(f"This endpoint takes no '{key}' query parameter.")
        for key, expected in self.required_query.items():
            value = (query.get(key) or [""])[0]
            if not value or (expected is not None and value != expected):
                wanted = f"{key}={expected}" if expected is not None else key
                return Refusal(
                    400, f"Missing or invalid query parameter: the URL needs {wanted}.\n"
                )
        beta = "realtime=v1" in (headers.get("OpenAI-Beta") or "")
        if beta and self.beta_header == "refused":
            return Refusal(
                400, "This local server speaks the GA Realtime protocol only; drop OpenAI-Beta.\n"
            )
        if not beta and self.beta_header == "required":
            return Refusal(
                400,
                "This local server speaks the beta Realtime protocol; "
                "send the header OpenAI-Beta: realtime=v1.\n",
            )
        if api_key is not None and not self.authorized(headers, api_key):
            return self.unauthorized()
        return None

    def authorized(self, headers: Mapping[str, str], api_key: str) -> bool:
        expected = api_key.encode()
        return any(
            hmac.compare_digest(secret.encode(), expected)
            for form in self.auth_forms
            for secret in _credentials(headers, form)
        )

    def unauthorized(self, detail: str | None = None) -> Refusal:
        body = copy.deepcopy(dict(self.unauthorized_body))
        if detail is not None:
            body["error"]["message"] += " " + detail
        return Refusal(401, json.dumps(body), "application/json")

    def model(self, query: Mapping[str, list[str]]) -> str | None:
        """The model the URL names, if this dialect puts one there."""
        values = query.get(self.model_query) if self.model_query is not None else None
        return values[0] if values else None

    def example_query(self, model: str) -> str:
        """A query string a client of this dialect appends to the server's URL."""
        return urlencode({"model": model})

    # --- session and response objects -------------------------------------------------------

    def session_in(
        self, session: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]] | Problem:
        """``session.update``'s session -> (GA session, this dialect's extra keys)."""
        extras: dict[str, Any] = {}
        rest = copy.deepcopy(dict(session))
        for key, check in self.session_extras.items():
            value = _pop_path(rest, tuple(key.split(".")))
            if value is _MISSING or is_unset(check, value):
                continue
            problem = check(value, join("session", key))
            if problem is not None:
                return problem
            extras[key] = value
        if self.session_shape is None:
            return rest, extras
        ga = self.session_shape.to_ga(rest, "session")
        return ga if isinstance(ga, Problem) else (ga, extras)

    def session_out(self, session: Mapping[str, Any], extras: Mapping[str, Any]) -> dict[str, Any]:
        """The GA session (as the core reports it) in this dialect's shape."""
        shaped = dict(session)
        if self.session_shape is not None:
            shaped = self.session_shape.from_ga(session, keep=_SESSION_META)
        for key, value in extras.items():
            _set_path(shaped, tuple(key.split(".")), copy.deepcopy(value))
        return shaped

    def reshape(
        self, event: Event, *, now_ms: int, pcm_bytes: int, state: Any = None
    ) -> list[Event]:
        """The last step of :meth:`DialectEdge.outgoing`, for a dialect whose events have
        their own shape (after the tables were applied): zero or more events.

        ``now_ms`` is the Unix time in milliseconds, ``pcm_bytes`` the length of an audio
        delta's audio as PCM16 24 kHz, ``state`` what :meth:`connection_state` made.
        """
        return [event]

    def connection_state(self) -> Any:
        """What this dialect remembers per connection for :meth:`reshape` (default: none)."""
        return None

    def observe(self, event: Mapping[str, Any], state: Any) -> None:
        """See a client event as sent (before translation), for :meth:`reshape`'s sake."""

    def ping_event(self, event_id: str, now_ms: int) -> Event:
        return {"type": "ping", "event_id": event_id}

    def response_in(self, params: Mapping[str, Any]) -> Mapping[str, Any] | Problem:
        """``response.create``'s ``response`` -> its GA form."""
        for key in params:
            if key in self.refused_response_params:
                where = join("response", key)
                return Problem("unknown_parameter", f"Unknown parameter: '{where}'.", where)
        ga: dict[str, Any] = dict(params)
        if self.response_shape is not None:
            shaped = self.response_shape.to_ga(params, "response")
            if isinstance(shaped, Problem):
                return shaped
            ga = shaped
        inputs = ga.get("input")
        if isinstance(inputs, list):
            converted = []
            for index, item in enumerate(inputs):
                if isinstance(item, Mapping):
                    item = self.item_in(item, f"response.input[{index}]")
                    if isinstance(item, Problem):
                        return item
                converted.append(item)
            ga["input"] = converted
        return ga

    def response_out(self, response: Mapping[str, Any]) -> dict[str, Any]:
        """The response object of ``response.created``/``response.done``."""
        shaped = dict(response)
        if self.response_object_shape is not None:
            shaped = self.response_object_shape.from_ga(response)
        if isinstance(shaped.get("output"), list):
            shaped["output"] = [self.item_out(item) for item in shaped["output"]]
        return shaped

    # --- items --------------------------------------------------------------------------------

    def item_in(self, item: Mapping[str, Any], path: str) -> Mapping[str, Any] | Problem:
        """A client item -> GA: part types renamed, parts this server lacks refused.

        The renamed parts are the assistant's (``output_text``/``output_audio``), so only
        an assistant's parts are renamed; a user's ``text`` part is left for the core to
        refuse under the name the client used.
        """
        content = item.get("content")
        if item.get("type") != "message" or not isinstance(content, list):
            return item
        assistant = item.get("role") == "assistant"
        from_dialect = {ours: ga for ga, ours in self.part_types.items()} if assistant else {}
        parts = []
        for index, part in enumerate(content):
            kind = part.get("type") if isinstance(part, Mapping) else None
            if kind in self.unsupported_part_types or kind in self.part_types:
                supported = [
                    self.part_types.get(t, t)
                    for t in _GA_PART_TYPES
                    if t not in self.unsupported_part_types
                ]
                where = join(join(join(path, "content"), index), "type")
                listed = ", ".join(f"'{t}'" for t in supported)
                message = f"Invalid value: '{kind}'. Supported values are: {listed}."
                return Problem("invalid_value", message, where)
            if isinstance(part, Mapping) and kind in from_dialect:
                part = {**part, "type": from_dialect[kind]}
            parts.append(part)
        return {**item, "content": parts}

    def item_out(self, item: Any) -> Any:
        if not isinstance(item, Mapping):
            return item
        omitted = self.item_omitted_fields.get("*", frozenset()) | self.item_omitted_fields.get(
            str(item.get("type")), frozenset()
        )
        item = {k: v for k, v in item.items() if k not in omitted}
        content = item.get("content")
        if not self.part_types or not isinstance(content, list):
            return item
        return {
            **item,
            "content": [{**p, "type": self.part_types.get(p["type"], p["type"])} for p in content],
        }

    def rename_param(self, param: Any) -> Any:
        """A GA error ``param`` path in this dialect's names."""
        if not isinstance(param, str):
            return param
        for ga, ours in self._param_renames.items():
            if param == ga or param.startswith(ga + ".") or param.startswith(ga + "["):
                return ours + param[len(ga) :]
        return param


# --- OpenAI beta -------------------------------------------------------------------------------

_BETA_FORMATS: dict[str, dict[str, Any]] = {
    "pcm16": {"type": "audio/pcm", "rate": 24000},
    "g711_ulaw": {"type": "audio/pcmu"},
    "g711_alaw": {"type": "audio/pcma"},
}
_BETA_FORMAT_NAMES = {fmt["type"]: name for name, fmt in _BETA_FORMATS.items()}
_BETA_FORMAT = Enum(*_BETA_FORMATS)


class _BetaModalities:
    """The beta's ``modalities``: ``["text"]`` or ``["audio", "text"]`` (in any order)."""

    def __call__(self, value: Any, path: str) -> Problem | None:
        problem = ListOf(Enum("text", "audio"), min_length=1)(value, path)
        if problem is not None:
            return problem
        if len(set(value)) != len(value) or sorted(value) not in (["text"], ["audio", "text"]):
            return Problem(
                "invalid_value",
                f"Invalid modalities: {value!r}. "
                "Supported combinations are: ['text'] and ['audio', 'text'].",
                path,
            )
        return None


def _modalities_in(value: list[str]) -> list[str]:
    return ["audio"] if "audio" in value else ["text"]


def _modalities_out(value: list[str]) -> list[str]:
    return ["audio", "text"] if "audio" in value else ["text"]


def _format_in(name: str) -> dict[str, Any]:
    return dict(_BETA_FORMATS[name])


def _format_out(fmt: Mapping[str, Any]) -> str:
    return _BETA_FORMAT_NAMES.get(fmt.get("type", ""), "pcm16")


def _tool_choice_in(value: str) -> Any:
    """The beta names a forced function by its name; GA uses an object."""
    return value if value in ("auto", "none", "required") else {"type": "function", "name": value}


def _tool_choice_out(value: Any) -> str:
    return value if isinstance(value, str) else str(value.get("name") or "auto")


def _voice_out(value: Any) -> str:
    return value if isinstance(value, str) else str(value.get("id", ""))


def _only(*keys: str) -> Convert:
    def pick(value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        return {k: value[k] for k in keys if value.get(k) is not None}

    return pick


def _without(*keys: str) -> Convert:
    def drop(value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        return {k: v for k, v in value.items() if k not in keys}

    return drop


def _beta_usage(usage: Any) -> Any:
    if not isinstance(usage, Mapping):
        return usage
    details = usage.get("input_token_details")
    return {
        **usage,
        "input_token_details": _only("text_tokens", "audio_tokens", "cached_tokens")(details),
    }


_BETA_TOOLS = ListOf(Tagged({"function": FUNCTION_TOOL}), max_length=128)

_BETA_SESSION = Shape(
    fields={
        "model": String(),
        "modalities": _BetaModalities(),
        "instructions": String(max_length=1_000_000),
        "voice": String(),
        "input_audio_format": _BETA_FORMAT,
        "output_audio_format": _BETA_FORMAT,
        "input_audio_transcription": Nullable(
            Obj({"model": String(), "language": String(), "prompt": String()})
        ),
        "input_audio_noise_reduction": Nullable(Obj({"type": Enum("near_field", "far_field")})),
        "turn_detection": Nullable(
            Tagged(
                {
                    "server_vad": Obj(
                        {k: v for k, v in SERVER_VAD_FIELDS.items() if k != "idle_timeout_ms"}
                    ),
                    "semantic_vad": Obj(SEMANTIC_VAD_FIELDS),
                }
            )
        ),
        "tools": _BETA_TOOLS,
        "tool_choice": String(),
        "max_response_output_tokens": MAX_OUTPUT_TOKENS,
        "speed": Number(0.25, 1.5),
        "tracing": TRACING,
    },
    layout={
        "modalities": ("output_modalities",),
        "voice": ("audio", "output", "voice"),
        "speed": ("audio", "output", "speed"),
        "output_audio_format": ("audio", "output", "format"),
        "input_audio_format": ("audio", "input", "format"),
        "input_audio_transcription": ("audio", "input", "transcription"),
        "input_audio_noise_reduction": ("audio", "input", "noise_reduction"),
        "turn_detection": ("audio", "input", "turn_detection"),
        "max_response_output_tokens": ("max_output_tokens",),
    },
    values={
        "modalities": (_modalities_in, _modalities_out),
        "voice": (_same, _voice_out),
        "input_audio_format": (_format_in, _format_out),
        "output_audio_format": (_format_in, _format_out),
        "input_audio_transcription": (_same, _only("model", "language", "prompt")),
        "input_audio_noise_reduction": (_same, _only("type")),
        "turn_detection": (_same, _without("idle_timeout_ms")),
        "tool_choice": (_tool_choice_in, _tool_choice_out),
    },
    const={"type": "realtime"},
)

_BETA_RESPONSE = Shape(
    fields={
        "conversation": String(),
        "input": ListOf(Anything()),  # items: translated, then checked by the core
        "instructions": String(),
        "metadata": Nullable(MapOf(String(max_length=512), max_entries=16)),
        "modalities": _BetaModalities(),
        "voice": String(),
        "output_audio_format": _BETA_FORMAT,
        "tools": _BETA_TOOLS,
        "tool_choice": String(),
        "temperature": Number(0.6, 1.2),
        "max_response_output_tokens": MAX_OUTPUT_TOKENS,
    },
    layout={
        "modalities": ("output_modalities",),
        "voice": ("audio", "output", "voice"),
        "output_audio_format": ("audio", "output", "format"),
        "max_response_output_tokens": ("max_output_tokens",),
        "temperature": None,  # accepted; the local engines have no temperature
    },
    values={
        "modalities": (_modalities_in, _modalities_out),
        "output_audio_format": (_format_in, _format_out),
        "tool_choice": (_tool_choice_in, _tool_choice_out),
    },
)

_BETA_RESPONSE_OBJECT = Shape(
    fields=dict.fromkeys(
        (
            "object",
            "id",
            "status",
            "status_details",
            "output",
            "conversation_id",
            "modalities",
            "voice",
            "output_audio_format",
            "max_output_tokens",
            "usage",
            "metadata",
        ),
        Anything(),
    ),
    layout={
        "modalities": ("output_modalities",),
        "voice": ("audio", "output", "voice"),
        "output_audio_format": ("audio", "output", "format"),
    },
    values={
        "modalities": (_modalities_in, _modalities_out),
        "output_audio_format": (_format_in, _format_out),
        "usage": (_same, _beta_usage),
    },
)

_NO_FUNCTION_NAME = {"response.function_call_arguments.done": frozenset({"name"})}


class OpenAIBetaServerDialect(ServerDialect):
    """OpenAI's preview API: ``OpenAI-Beta: realtime=v1``, flat session, older names.

    Events and their fields follow ``openai.types.beta.realtime``: no
    ``conversation.item.done``, no ``name`` in ``response.function_call_arguments.done``,
    no image parts. ``temperature`` (0.6-1.2, default 0.8) is kept and echoed.
    """

    name = "openai_beta"
    aliases = ()
    client_dialect = "openai_beta"
    auth_forms = ("bearer",)
    beta_header = "required"
    event_names: ClassVar[Mapping[str, str | None]] = {
        "response.output_audio.delta": "response.audio.delta",
        "response.output_audio.done": "response.audio.done",
        "response.output_audio_transcript.delta": "response.audio_transcript.delta",
        "response.output_audio_transcript.done": "response.audio_transcript.done",
        "response.output_text.delta": "response.text.delta",
        "response.output_text.done": "response.text.done",
        "conversation.item.added": "conversation.item.created",
        "conversation.item.done": None,
    }
    omitted_fields = _NO_FUNCTION_NAME
    part_types: ClassVar[Mapping[str, str]] = {"output_text": "text", "output_audio": "audio"}
    unsupported_part_types = frozenset({"input_image"})
    session_shape = _BETA_SESSION
    voices: ClassVar[tuple[str, ...] | None] = BETA_VOICES
    session_extras: ClassVar[Mapping[str, Check]] = {"temperature": Number(0.6, 1.2)}
    session_extra_defaults: ClassVar[Mapping[str, Any]] = {"temperature": 0.8}
    response_shape = _BETA_RESPONSE
    response_object_shape = _BETA_RESPONSE_OBJECT
    item_omitted_fields: ClassVar[Mapping[str, frozenset[str]]] = {}
    obfuscated_events = frozenset()


# --- Azure -------------------------------------------------------------------------------------


class AzureServerDialect(ServerDialect):
    """Azure OpenAI's GA v1 endpoint: the deployment is the model, ``api-key`` or Entra."""

    name = "azure"
    aliases = ()
    client_dialect = "azure"
    path = "/openai/v1/realtime"
    auth_forms = ("api-key", "bearer")
    beta_header = "ignored"
    refused_query = frozenset({"api-version"})
    unauthorized_body: ClassVar[Mapping[str, Any]] = {
        "error": {
            "code": "401",
            "message": "Access denied due to invalid subscription key or wrong API endpoint. "
            "Make sure to provide a valid key for an active subscription and use a correct "
            "regional API endpoint for your resource.",
        }
    }
    # Real Azure refuses ``output_modalities`` in ``response.create`` (the protocol notes;
    # pipecat-ai/pipecat#4106: pipecat's AzureRealtimeLLMService sends it and fails there).
    refused_response_params = frozenset({"output_modalities"})
    part_copies: ClassVar[Mapping[str, str]] = {
        "response.content_part.added": "content",
        "response.content_part.done": "content",
    }


# --- modalities in response.create (xAI, Inworld) ----------------------------------------------


class _Modalities:
    """``modalities``/``output_modalities`` as xAI and Inworld take them: one or both."""

    def __call__(self, value: Any, path: str) -> Problem | None:
        problem = ListOf(Enum("text", "audio"), min_length=1, max_length=2)(value, path)
        if problem is None and len(set(value)) != len(value):
            return Problem("invalid_value", f"Invalid '{path}': duplicate modalities.", path)
        return problem


_RESPONSE_WITH_MODALITIES = Shape(
    fields={**RESPONSE_FIELDS, "modalities": _Modalities()},
    layout={"modalities": ("output_modalities",)},
    values={"modalities": (_modalities_in, _modalities_out)},
)
"""GA ``response.create`` params, plus the older ``modalities`` that xAI's and Inworld's
clients send (``["text", "audio"]``: audio with its transcript)."""


# --- xAI ---------------------------------------------------------------------------------------

_XAI_SESSION = Shape(
    fields={
        **{k: v for k, v in SESSION_FIELDS.items() if k not in ("type", "audio")},
        "voice": VOICE,
        "turn_detection": TURN_DETECTION,
        "audio": Obj(
            {
                "input": Obj(
                    {k: c for k, c in AUDIO_INPUT_FIELDS.items() if k != "turn_detection"}
                ),
                "output": Obj({k: v for k, v in AUDIO_OUTPUT_FIELDS.items() if k != "voice"}),
            }
        ),
    },
    layout={
        "voice": ("audio", "output", "voice"),
        "turn_detection": ("audio", "input", "turn_detection"),
    },
    const={"type": "realtime"},
)

_XAI_RATES = frozenset({8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000})


@dataclass
class _XAIState:
    wire: XAIWire = field(default_factory=XAIWire)
    voice_set: bool = False


class XAIServerDialect(ServerDialect):
    """xAI's voice API: GA names, xAI's own event shapes, a flatter session, no truncate.

    The shapes follow the recorded sessions (see :mod:`._xai_wire`). A session starts
    with no turn detection (``turn_detection: {"type": null}``), voice ``ara`` and empty
    instructions, as xAI's does; PCM may be 8-48 kHz.
    """

    name = "xai"
    aliases = ()
    client_dialect = "xai"
    auth_forms = ("bearer",)
    beta_header = "ignored"
    event_names: ClassVar[Mapping[str, str | None]] = {"conversation.item.done": None}
    duplicated_events: ClassVar[Mapping[str, str]] = {
        "response.output_text.delta": "response.text.delta"
    }
    item_omitted_fields: ClassVar[Mapping[str, frozenset[str]]] = {}
    obfuscated_events = frozenset()
    done_order = (
        "response.output_audio_transcript.done",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_audio.done",
        "response.output_item.done",
    )
    pings = True
    cumulative_transcripts = True
    unsupported_client_events = frozenset({"conversation.item.truncate"})
    unsupported_part_types = frozenset({"input_image"})
    session_shape = _XAI_SESSION
    voices: ClassVar[tuple[str, ...] | None] = None  # ara, eve, leo, rex, sal, and custom ones
    session_defaults: ClassVar[Mapping[str, Any]] = {
        "type": "realtime",
        "instructions": "",
        "audio": {"input": {"turn_detection": None}, "output": {"voice": "ara"}},
    }
    pcm_rates = _XAI_RATES
    response_shape = _RESPONSE_WITH_MODALITIES

    def connection_state(self) -> Any:
        return _XAIState()

    def observe(self, event: Mapping[str, Any], state: Any) -> None:
        session = event.get("session")
        if event.get("type") == "session.update" and isinstance(session, Mapping):
            state.voice_set = state.voice_set or session.get("voice") is not None

    def session_out(self, session: Mapping[str, Any], extras: Mapping[str, Any]) -> dict[str, Any]:
        return dict(session)  # shaped in reshape(), which knows created from updated

    def ping_event(self, event_id: str, now_ms: int) -> Event:
        return {"type": "ping", "event_id": event_id, "timestamp": now_ms, "previous_item_id": None}

    def reshape(
        self, event: Event, *, now_ms: int, pcm_bytes: int, state: Any = None
    ) -> list[Event]:
        kind = event.get("type")
        if kind == "session.created":
            created = {**event, "session": xai_session_created(event["session"])}
            conversation = {
                "type": "conversation.created",
                "event_id": f"{event['event_id']}_conversation",
                "conversation": {
                    "id": f"conv_{event['session'].get('id')}",
                    "object": "realtime.conversation",
                },
                "previous_item_id": None,
            }
            return [created, conversation]
        if kind == "session.updated":
            session = xai_session_updated(event["session"], voice_set=state.voice_set)
            return [{**event, "session": session, "previous_item_id": None}]
        return [state.wire.event(event, now_ms=now_ms, pcm_bytes=pcm_bytes)]


# --- Inworld -----------------------------------------------------------------------------------

_INWORLD_SESSION = Shape(
    fields={**SESSION_FIELDS, "output_modalities": _Modalities()},
    values={"output_modalities": (_modalities_in, _same)},
)


class InworldServerDialect(ServerDialect):
    """Inworld's realtime sessions: GA nested session plus Inworld's own keys.

    Beside GA: ``model`` (the LLM), ``providerData``, ``temperature`` and
    ``audio.output.model`` (the TTS model), kept at the edge and echoed; both output
    modalities at once (``["audio", "text"]``); ``modalities`` in ``response.create``;
    PCM at 8-48 kHz.
    """

    name = "inworld"
    aliases = ()
    client_dialect = "inworld"
    path = "/api/v1/realtime/session"
    auth_forms = ("basic", "bearer")
    beta_header = "ignored"
    required_query: ClassVar[Mapping[str, str | None]] = {"key": None, "protocol": "realtime"}
    model_query = None
    omitted_fields = _NO_FUNCTION_NAME
    obfuscated_events = frozenset()
    pings = True
    session_extras: ClassVar[Mapping[str, Check]] = {
        "providerData": MapOf(Anything()),
        "temperature": Number(0.0, 2.0),
        "audio.output.model": String(),
    }
    session_shape = _INWORLD_SESSION
    pcm_rates = frozenset({8000, 16000, 24000, 32000, 44100, 48000})
    response_shape = _RESPONSE_WITH_MODALITIES
    voices: ClassVar[tuple[str, ...] | None] = None  # Inworld TTS voices and cloned ones

    def example_query(self, model: str) -> str:
        return urlencode({"key": "demo-session", "protocol": "realtime"})

    def ping_event(self, event_id: str, now_ms: int) -> Event:
        return {"type": "ping", "event_id": event_id, "timestamp": now_ms}


SERVER_DIALECTS: dict[str, type[ServerDialect]] = {
    cls.name: cls
    for cls in (
        ServerDialect,
        OpenAIBetaServerDialect,
        AzureServerDialect,
        XAIServerDialect,
        InworldServerDialect,
    )
}
"""The built-in server dialects by name (``ga`` also answers to ``openai`` and ``local``)."""

_ALIASES = {alias: cls for cls in SERVER_DIALECTS.values() for alias in cls.aliases}


def get_server_dialect(dialect: str | ServerDialect) -> ServerDialect:
    """A dialect by name (or an instance, passed through)."""
    if isinstance(dialect, ServerDialect):
        return dialect
    cls = SERVER_DIALECTS.get(dialect) or _ALIASES.get(dialect)
    if cls is None:
        names = ", ".join([*SERVER_DIALECTS, *_ALIASES])
        raise ValueError(f"unknown server dialect {dialect!r}; built-in: {names}")
    return cls()
