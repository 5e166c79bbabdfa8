"""Tiny validators for client JSON, producing OpenAI-style ``invalid_request_error`` details.

The server must not import ``openai`` (a test-only dependency) and pydantic's messages do
not look like the ones the real service sends, so client events are checked with these
combinators instead. Each check takes ``(value, param_path)`` and returns ``None`` or the
first :class:`Problem`, whose ``code``/``message``/``param`` mirror what OpenAI reports::

    unknown_parameter            Unknown parameter: 'session.foo'.
    invalid_type                 Invalid type for 'session.instructions': expected a string, ...
    invalid_value                Invalid value: 'x'. Supported values are: 'a' and 'b'.
    missing_required_parameter   Missing required parameter: 'item.type'.
    integer_above_max_value ...  Invalid 'x': integer above maximum value. ...

First problem wins, as with the real service: the whole event is rejected and the session is
left unchanged.

An explicit ``null`` for an optional field that is not :class:`Nullable` means "not given",
as with the real API (clients built on typed models send ``"instructions": null``):
:class:`Obj` skips it, and :func:`without_unset` drops it before the value is used. Where
``null`` means something (``turn_detection: null`` turns VAD off) the field is
:class:`Nullable` and the ``null`` is kept.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "AnyOf",
    "Anything",
    "Bool",
    "Check",
    "Const",
    "Enum",
    "Integer",
    "ListOf",
    "MapOf",
    "Nullable",
    "Number",
    "Obj",
    "Problem",
    "String",
    "Tagged",
    "is_unset",
    "join",
    "without_unset",
]


@dataclass(frozen=True)
class Problem:
    """One reason a client event is rejected, in the shape of an OpenAI error."""

    code: str
    message: str
    param: str | None = None
    type: str = "invalid_request_error"


Check = Callable[[Any, str], "Problem | None"]


def join(path: str, key: str | int) -> str:
    """Extend a parameter path the way OpenAI spells it (``a.b``, ``a[0]``)."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def _bad_type(path: str, expected: str, value: Any) -> Problem:
    return Problem(
        "invalid_type",
        f"Invalid type for '{path}': expected {expected}, but got {_type_name(value)} instead.",
        path,
    )


def _quote_list(values: Sequence[object]) -> str:
    quoted = [f"'{v}'" for v in values]
    if len(quoted) <= 1:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + " and " + quoted[-1]


class String:
    """A JSON string, optionally bounded in length."""

    def __init__(self, max_length: int | None = None) -> None:
        self.max_length = max_length

    def __call__(self, value: Any, path: str) -> Problem | None:
        if not isinstance(value, str):
            return _bad_type(path, "a string", value)
        if self.max_length is not None and len(value) > self.max_length:
            return Problem(
                "string_above_max_length",
                f"Invalid '{path}': string too long. Expected a string with maximum length "
                f"{self.max_length}, but got a string with length {len(value)} instead.",
                path,
            )
        return None


class Bool:
    """A JSON boolean."""

    def __call__(self, value: Any, path: str) -> Problem | None:
        return None if isinstance(value, bool) else _bad_type(path, "a boolean", value)


class _Range:
    kind = "decimal"

    def __init__(self, minimum: float | None = None, maximum: float | None = None) -> None:
        self.minimum = minimum
        self.maximum = maximum

    def _bounds(self, value: float, path: str) -> Problem | None:
        if self.minimum is not None and value < self.minimum:
            return Problem(
                f"{self.kind}_below_min_value",
                f"Invalid '{path}': {self.kind} below minimum value. Expected a value >= "
                f"{self.minimum:g}, but got {value:g} instead.",
                path,
            )
        if self.maximum is not None and value > self.maximum:
            return Problem(
                f"{self.kind}_above_max_value",
                f"Invalid '{path}': {self.kind} above maximum value. Expected a value <= "
                f"{self.maximum:g}, but got {value:g} instead.",
                path,
            )
        return None


class Integer(_Range):
    """A JSON integer (booleans are not integers here, unlike in Python)."""

    kind = "integer"

    def __call__(self, value: Any, path: str) -> Problem | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return _bad_type(path, "an integer", value)
        return self._bounds(value, path)


class Number(_Range):
    """A JSON number (integer or decimal), finite."""

    def __call__(self, value: Any, path: str) -> Problem | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return _bad_type(path, "a decimal", value)
        if not math.isfinite(value):
            return Problem("invalid_value", f"Invalid value for '{path}': not finite.", path)
        return self._bounds(value, path)


class Enum:
    """One of a fixed set of strings."""

    def __init__(self, *values: str) -> None:
        self.values = values

    def __call__(self, value: Any, path: str) -> Problem | None:
        if not isinstance(value, str):
            return _bad_type(path, "one of " + _quote_list(self.values), value)
        if value not in self.values:
            return Problem(
                "invalid_value",
                f"Invalid value: '{value}'. Supported values are: {_quote_list(self.values)}.",
                path,
            )
        return None


def Const(value: str) -> Enum:
    """Exactly this string."""
    return Enum(value)


class Anything:
    """Accept any JSON value (for fields the server stores but never interprets)."""

    def __call__(self, value: Any, path: str) -> Problem | None:
        return None


class Nullable:
    """``null`` or whatever ``inner`` accepts."""

    def __init__(self, inner: Check) -> None:
        self.inner = inner

    def __call__(self, value: Any, path: str) -> Problem | None:
        return None if value is None else self.inner(value, path)


class AnyOf:
    """The first alternative that accepts the value wins.

    When all fail, the problem reported is the first one that is not a plain type mismatch
    (the alternative the client most likely meant), else a type error naming ``expected``.
    """

    def __init__(self, *alternatives: Check, expected: str) -> None:
        self.alternatives = alternatives
        self.expected = expected

    def __call__(self, value: Any, path: str) -> Problem | None:
        problems = []
        for check in self.alternatives:
            problem = check(value, path)
            if problem is None:
                return None
            problems.append(problem)
        for problem in problems:
            if problem.code != "invalid_type" or problem.param != path:
                return problem
        return _bad_type(path, self.expected, value)


class ListOf:
    """A JSON array whose every element passes ``item``."""

    def __init__(self, item: Check, *, min_length: int = 0, max_length: int | None = None):
        self.item = item
        self.min_length = min_length
        self.max_length = max_length

    def __call__(self, value: Any, path: str) -> Problem | None:
        if not isinstance(value, list):
            return _bad_type(path, "an array", value)
        if len(value) < self.min_length:
            return Problem(
                "array_below_min_length",
                f"Invalid '{path}': empty array. Expected an array with minimum length "
                f"{self.min_length}, but got an array with length {len(value)} instead.",
                path,
            )
        if self.max_length is not None and len(value) > self.max_length:
            return Problem(
                "array_above_max_length",
                f"Invalid '{path}': array too long. Expected an array with maximum length "
                f"{self.max_length}, but got an array with length {len(value)} instead.",
                path,
            )
        for index, element in enumerate(value):
            problem = self.item(element, join(path, index))
            if problem is not None:
                return problem
        return None


class MapOf:
    """A JSON object with arbitrary keys whose values pass ``value``."""

    def __init__(self, value: Check, *, max_entries: int | None = None) -> None:
        self.value = value
        self.max_entries = max_entries

    def __call__(self, value: Any, path: str) -> Problem | None:
        if not isinstance(value, Mapping):
            return _bad_type(path, "an object", value)
        if self.max_entries is not None and len(value) > self.max_entries:
            return Problem(
                "object_above_max_properties",
                f"Invalid '{path}': too many properties (at most {self.max_entries}).",
                path,
            )
        for key, element in value.items():
            problem = self.value(element, join(path, str(key)))
            if problem is not None:
                return problem
        return None


class Obj:
    """A JSON object with known keys: unknown keys and missing required keys are errors."""

    def __init__(self, fields: Mapping[str, Check], *, required: Sequence[str] = ()) -> None:
        self.fields = dict(fields)
        self.required = tuple(required)

    def __call__(self, value: Any, path: str) -> Problem | None:
        if not isinstance(value, Mapping):
            return _bad_type(path, "an object", value)
        for key in value:
            if key not in self.fields:
                where = join(path, str(key))
                return Problem("unknown_parameter", f"Unknown parameter: '{where}'.", where)
        for key in self.required:
            if key not in value or is_unset(self.fields[key], value[key]):
                where = join(path, key)
                return Problem(
                    "missing_required_parameter", f"Missing required parameter: '{where}'.", where
                )
        for key, element in value.items():
            if is_unset(self.fields[key], element):
                continue
            problem = self.fields[key](element, join(path, str(key)))
            if problem is not None:
                return problem
        return None


class Tagged:
    """An object whose ``tag`` field (usually ``type``) picks the schema for the rest."""

    def __init__(self, variants: Mapping[str, Check], *, tag: str = "type") -> None:
        self.variants = dict(variants)
        self.tag = tag

    def __call__(self, value: Any, path: str) -> Problem | None:
        if not isinstance(value, Mapping):
            return _bad_type(path, "an object", value)
        where = join(path, self.tag)
        if self.tag not in value:
            return Problem(
                "missing_required_parameter", f"Missing required parameter: '{where}'.", where
            )
        problem = Enum(*self.variants)(value[self.tag], where)
        if problem is not None:
            return problem
        return self.variants[value[self.tag]](value, path)


def is_unset(check: Check, value: Any) -> bool:
    """``null`` for a field where ``null`` has no meaning of its own: "not given"."""
    return value is None and not isinstance(check, (Nullable, Anything))


def without_unset(value: Any, check: Check) -> Any:
    """``value`` (already checked by ``check``) without the ``null`` values that mean "not given".

    Walks objects, tagged objects, lists and nullable values; anything else is returned as
    it is.
    """
    if isinstance(check, Nullable):
        return None if value is None else without_unset(value, check.inner)
    if isinstance(check, Tagged) and isinstance(value, Mapping):
        variant = check.variants.get(str(value.get(check.tag)))
        return value if variant is None else without_unset(value, variant)
    if isinstance(check, Obj) and isinstance(value, Mapping):
        out = {}
        for key, element in value.items():
            field = check.fields.get(key)
            if field is None:
                out[key] = element
            elif not is_unset(field, element):
                out[key] = without_unset(element, field)
        return out
    if isinstance(check, ListOf) and isinstance(value, list):
        return [without_unset(element, check.item) for element in value]
    return value
