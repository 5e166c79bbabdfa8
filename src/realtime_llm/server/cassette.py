"""Cassettes: recorded realtime sessions, as YAML files that a test or a replay server reads.

A cassette is what went over one WebSocket, in wire order. The format is the one of the
sessions the pydantic-ai project recorded against the real OpenAI, Azure and xAI servers,
so those recordings and ours are read by the same code::

    version: 1
    interactions:
    - kind: message
      direction: received          # server -> client ("sent": client -> server)
      data: {type: session.created, ...}

Audio is big and says nothing about the protocol, so :func:`truncate_audio` cuts the base64
audio of every event to a few samples (still valid base64 of whole PCM16 samples). Secrets
must never reach a file: :func:`redact` replaces every occurrence of given strings, at any
depth, before an interaction is stored. This module imports neither pipecat nor websockets.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import yaml

__all__ = [
    "AUDIO_FIELDS",
    "REDACTED",
    "Cassette",
    "CassetteError",
    "Direction",
    "Interaction",
    "redact",
    "truncate_audio",
]

Direction = Literal["sent", "received"]
Event = dict[str, Any]

REDACTED = "[redacted]"
"""What a secret becomes in a cassette."""

AUDIO_FIELDS: Mapping[str, str] = {
    "input_audio_buffer.append": "audio",
    "response.output_audio.delta": "delta",
    "response.audio.delta": "delta",  # beta name
}
"""Event type -> the field that holds base64 audio."""

_KEEP_AUDIO_BYTES = 32
"""What :func:`truncate_audio` keeps by default: 16 PCM16 samples, as in the shared cassettes."""


class CassetteError(ValueError):
    """A cassette file that is not in the format (the message says where)."""


@dataclass(frozen=True)
class Interaction:
    """One message on the wire: ``sent`` by the client or ``received`` from the server."""

    direction: Direction
    data: Event
    kind: str = "message"

    @property
    def type(self) -> str:
        return str(self.data.get("type", ""))

    def to_yaml_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "direction": self.direction, "data": self.data}


@dataclass
class Cassette:
    """A recorded session: interactions in wire order."""

    interactions: list[Interaction] = field(default_factory=list)
    version: int = 1

    # --- reading --------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path) -> Cassette:
        """Read a cassette file; :class:`CassetteError` says what is wrong with a bad one."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise CassetteError(f"cannot read cassette {path}: {exc.strerror}") from None
        return cls.loads(text, source=str(path))

    @classmethod
    def loads(cls, text: str, *, source: str = "<cassette>") -> Cassette:
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise CassetteError(f"{source}: not YAML: {exc}") from None
        if not isinstance(document, dict) or not isinstance(document.get("interactions"), list):
            raise CassetteError(f"{source}: a cassette is a mapping with an 'interactions' list")
        interactions = []
        for index, raw in enumerate(document["interactions"]):
            interactions.append(_interaction(raw, f"{source}: interactions[{index}]"))
        version = document.get("version", 1)
        return cls(interactions, version if isinstance(version, int) else 1)

    def events(self, direction: Direction) -> list[Event]:
        """The events of one direction, in order (``sent``: the client's)."""
        return [i.data for i in self.interactions if i.direction == direction]

    def __iter__(self) -> Iterator[Interaction]:
        return iter(self.interactions)

    def __len__(self) -> int:
        return len(self.interactions)

    # --- writing --------------------------------------------------------------------------

    def add(self, direction: Direction, event: Mapping[str, Any]) -> None:
        self.interactions.append(Interaction(direction, dict(event)))

    def dumps(self) -> str:
        document = {
            "version": self.version,
            "interactions": [i.to_yaml_dict() for i in self.interactions],
        }
        return cast(
            str,
            yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100),
        )

    def save(self, path: str | Path) -> None:
        """Write the file whole (a temporary file renamed into place: never half a cassette)."""
        target = Path(path)
        partial = target.with_name(target.name + ".partial")
        partial.write_text(self.dumps(), encoding="utf-8")
        partial.replace(target)


def _interaction(raw: Any, where: str) -> Interaction:
    if not isinstance(raw, dict):
        raise CassetteError(f"{where}: not a mapping")
    direction = raw.get("direction")
    if direction not in ("sent", "received"):
        raise CassetteError(f"{where}: direction must be 'sent' or 'received', not {direction!r}")
    data = raw.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise CassetteError(f"{where}: data must be an event object with a string 'type'")
    return Interaction(direction, data, str(raw.get("kind", "message")))


def truncate_audio(event: Mapping[str, Any], keep_bytes: int = _KEEP_AUDIO_BYTES) -> Event:
    """``event`` with its base64 audio cut to ``keep_bytes`` (whole PCM16 samples).

    Events without audio come back unchanged (as a copy). Audio that is not base64 is kept
    as it is: a cassette records what was sent, malformed or not.
    """
    result = dict(event)
    name = AUDIO_FIELDS.get(str(result.get("type")))
    value = result.get(name) if name else None
    if name is None or not isinstance(value, str):
        return result
    try:
        audio = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return result
    keep = keep_bytes - keep_bytes % 2
    if len(audio) > keep:
        result[name] = base64.b64encode(audio[:keep]).decode("ascii")
    return result


def redact(value: Any, secrets: Iterable[str]) -> Any:
    """``value`` (any JSON value) with every occurrence of each secret replaced by
    :data:`REDACTED`, in strings and in object keys, at any depth. Longer secrets are
    replaced first, so a secret that contains another is not left half-visible."""
    ordered = sorted({s for s in secrets if s}, key=len, reverse=True)
    if not ordered:
        return value
    return _redact(value, ordered)


def _redact(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {_redact(k, secrets): _redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, secrets) for v in value]
    return value
