"""Scripts for ``realtime-llm serve --script``: a JSON list of turns, from a file or inline.

Why a module of its own: a script is written by hand, so every mistake in it must come back
as one sentence naming the turn and the key at fault (:class:`ScriptError`), never as a
``JSONDecodeError`` or ``KeyError`` traceback, and a misspelt key (``"usr"``) must not be
silently ignored, since the turn would then quietly lose its user line. The format::

    [
      {"user": "what is the weather in oslo", "reply": {"tool": "get_weather",
                                                       "arguments": {"city": "Oslo"}}},
      {"reply": "Cold and clear."},
      {"user": "thanks", "reply": [{"tool": "log_call"}, {"tool": "hang_up"}]}
    ]

``user`` is the text the user says (``null`` or left out: no user turn); ``reply`` is text
to speak, a tool call ``{"tool": name, "arguments": {...}}``, or a list of tool calls.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .engine import ToolCall
from .scripted import ReplyLike, Turn

__all__ = ["ScriptError", "load_script", "parse_script", "read_script"]

_TURN_KEYS = ("user", "reply")
_CALL_KEYS = ("tool", "arguments")


class ScriptError(ValueError):
    """A script that cannot be played; the message names where and what is wrong."""


def _keys(value: dict[str, Any], allowed: tuple[str, ...], what: str, where: str) -> None:
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise ScriptError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; "
            f"a {what} has {' and '.join(map(repr, allowed))}"
        )


def _call(value: Any, where: str) -> ToolCall:
    if not isinstance(value, dict):
        raise ScriptError(f'{where}: a tool call is an object like {{"tool": "name"}}')
    _keys(value, _CALL_KEYS, "tool call", where)
    name = value.get("tool")
    if not isinstance(name, str) or not name:
        raise ScriptError(f"{where}: 'tool' must be the function's name (a string)")
    arguments = value.get("arguments", {})
    if not isinstance(arguments, dict):
        raise ScriptError(f"{where}: 'arguments' must be a JSON object")
    return ToolCall(name, json.dumps(arguments))


def _reply(value: Any, where: str) -> ReplyLike:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        if not value:
            raise ScriptError(f"{where}: an empty list of tool calls")
        return [_call(c, f"{where}[{i}]") for i, c in enumerate(value)]
    if isinstance(value, dict):
        return [_call(value, where)]
    raise ScriptError(f"{where}: a reply is text, a tool call or a list of tool calls")


def _turn(value: Any, index: int) -> Turn:
    where = f"turn {index + 1}"
    if not isinstance(value, dict):
        raise ScriptError(f'{where}: a turn is an object like {{"user": "...", "reply": "..."}}')
    _keys(value, _TURN_KEYS, "turn", where)
    user = value.get("user")
    if user is not None and not isinstance(user, str):
        raise ScriptError(f"{where}: 'user' must be text or null")
    return Turn(user=user, reply=_reply(value.get("reply", ""), f"{where}: 'reply'"))


def parse_script(text: str, source: str = "the script") -> list[Turn]:
    """Turns from a script's JSON text; :class:`ScriptError` says what is wrong and where."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScriptError(
            f"{source} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    if not isinstance(data, list):
        raise ScriptError(f"{source}: a script is a JSON list of turns, not {type(data).__name__}")
    try:
        return [_turn(value, index) for index, value in enumerate(data)]
    except ScriptError as exc:
        raise ScriptError(f"{source}: {exc}") from None


def load_script(path: Path) -> list[Turn]:
    """Turns from a JSON script file (see the module docstring for the format)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScriptError(f"cannot read the script {str(path)!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ScriptError(f"{path}: a script is UTF-8 JSON text") from None
    return parse_script(text, str(path))


def read_script(value: str) -> list[Turn]:
    """``--script``'s value: inline JSON (it starts with ``[``) or the path of a file."""
    if value.lstrip().startswith("["):
        return parse_script(value, "the inline script")
    return load_script(Path(value))
