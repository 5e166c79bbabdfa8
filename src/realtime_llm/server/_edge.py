"""One connection's translation between a server dialect and the GA core (sans I/O).

:mod:`.dialects` says what each server of the family looks like; this module applies it
to one connection: client events in (the dialect's shapes to GA, refusals in its terms,
PCM rates noted and resampled), the core's events out (GA to the dialect's names, shapes
and order, with what the GA core has no place for: extra session keys, cumulative
transcripts, per-connection state).
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ._audio import SAMPLE_RATE, b64decode, b64encode, resample_pcm16
from ._client_events import CLIENT_EVENT_TYPES
from ._config import voice_problem
from ._schema import Problem
from ._wire import IdGenerator
from .dialects import ServerDialect

__all__ = ["DialectEdge"]

Event = dict[str, Any]


class DialectEdge:
    """One connection's translation between its dialect and the GA core (sans I/O).

    :meth:`incoming` goes to :meth:`.ServerSession.receive_message` as ``translate``;
    every batch of events the core emits goes through :meth:`outgoing_batch`. The edge
    keeps what the GA core has no place for: the dialect's extra session keys, the PCM
    sample rates the session asked for (the core works at 24 kHz; audio is resampled
    here), the dialect's own per-connection state and, for cumulative transcription
    updates, the transcript so far.
    """

    def __init__(self, dialect: ServerDialect, new_id: IdGenerator) -> None:
        self.dialect = dialect
        self._new_id = new_id
        self.extras: dict[str, Any] = copy.deepcopy(dict(dialect.session_extra_defaults))
        self._pending_extras: dict[str, Any] | None = None
        self.rates = {"input": SAMPLE_RATE, "output": SAMPLE_RATE}
        """The ``audio/pcm`` rate of each direction on the wire."""
        self._pending_rates: dict[str, int] | None = None
        self._translated = False  # the core's next error is about a translated event
        self._transcripts: dict[tuple[Any, Any], str] = {}
        self._state = dialect.connection_state()

    # --- client -> core ---------------------------------------------------------------------

    def incoming(self, event: Mapping[str, Any]) -> Mapping[str, Any] | Problem:
        """A client event in GA form, or why this dialect's server refuses it.

        A refusal is already in the dialect's terms; an error the core then raises about a
        translated event gets its ``param`` renamed on the way out.
        """
        self._pending_extras = self._pending_rates = None
        self.dialect.observe(event, self._state)
        translated = self._translate(event)
        self._translated = not isinstance(translated, Problem) and translated is not event
        return translated

    def _translate(self, event: Mapping[str, Any]) -> Mapping[str, Any] | Problem:
        dialect = self.dialect
        kind = event.get("type")
        if kind in dialect.unsupported_client_events:
            listed = ", ".join(
                f"'{t}'" for t in CLIENT_EVENT_TYPES if t not in dialect.unsupported_client_events
            )
            return Problem(
                "invalid_value", f"Invalid value: '{kind}'. Supported values are: {listed}.", "type"
            )
        if kind == "session.update" and isinstance(event.get("session"), Mapping):
            # PCM rates the dialect takes are noted and the core sees 24 kHz (resampled
            # here): done before the dialect's checks, which know GA's one rate.
            translated = dialect.session_in(self._rates_in(dict(event["session"])))
            if isinstance(translated, Problem):
                return translated
            session, extras = translated
            problem = voice_problem(session, "session", dialect.voices)
            if problem is not None:
                return replace(problem, param=dialect.rename_param(problem.param))
            self._pending_extras = extras
            return {**event, "session": session}
        if kind == "conversation.item.create" and isinstance(event.get("item"), Mapping):
            item = dialect.item_in(event["item"], "item")
            return item if isinstance(item, Problem) else {**event, "item": item}
        if kind == "response.create" and isinstance(event.get("response"), Mapping):
            params = dialect.response_in(event["response"])
            if isinstance(params, Problem):
                return params
            problem = voice_problem(params, "response", dialect.voices)
            if problem is not None:
                return replace(problem, param=dialect.rename_param(problem.param))
            return {**event, "response": params}
        if kind == "input_audio_buffer.append" and self.rates["input"] != SAMPLE_RATE:
            audio = event.get("audio")
            pcm = b64decode(audio) if isinstance(audio, str) else None
            if pcm is not None:  # (not base64: the core says so)
                pcm = resample_pcm16(pcm, self.rates["input"], SAMPLE_RATE)
                return {**event, "audio": b64encode(pcm)}
        return event

    def _rates_in(self, session: dict[str, Any]) -> dict[str, Any]:
        """Take the PCM rates this dialect allows out of a session (the core keeps 24 kHz).

        Both the GA session and the dialects' shapes keep formats in ``audio.input`` and
        ``audio.output``.
        """
        if self.dialect.pcm_rates == {SAMPLE_RATE}:
            return session
        pending: dict[str, int] = {}
        audio = session.get("audio")
        for direction in ("input", "output"):
            side = audio.get(direction) if isinstance(audio, Mapping) else None
            fmt = side.get("format") if isinstance(side, Mapping) else None
            if not isinstance(fmt, Mapping) or fmt.get("type") != "audio/pcm":
                if isinstance(fmt, Mapping):
                    pending[direction] = SAMPLE_RATE  # G.711: the core converts
                continue
            rate = fmt.get("rate", SAMPLE_RATE)
            if type(rate) is int and rate in self.dialect.pcm_rates:
                pending[direction] = rate
                session = copy.deepcopy(session)
                session["audio"][direction]["format"] = {**fmt, "rate": SAMPLE_RATE}
        self._pending_rates = pending
        return session

    def _rates_out(self, session: Mapping[str, Any]) -> dict[str, Any]:
        shaped = copy.deepcopy(dict(session))
        for direction, rate in self.rates.items():
            fmt = ((shaped.get("audio") or {}).get(direction) or {}).get("format")
            if isinstance(fmt, dict) and fmt.get("type") == "audio/pcm":
                fmt["rate"] = rate
        return shaped

    # --- core -> client ---------------------------------------------------------------------

    def ping(self, now_ms: int = 0) -> Event:
        return self.dialect.ping_event(self._new_id("event"), now_ms)

    def outgoing_batch(self, events: list[Mapping[str, Any]], now_ms: int = 0) -> list[Event]:
        """A batch of GA events (what one core call returned) as this dialect sends them.

        A dialect that closes items in its own order (:attr:`ServerDialect.done_order`)
        gets the closing events of each item reordered within the batch.
        """
        out = [wire for event in events for wire in self.outgoing(event, now_ms)]
        order = self.dialect.done_order
        if not order:
            return out
        slots = [i for i, e in enumerate(out) if e.get("type") in order]
        closing = sorted(
            (out[i] for i in slots),
            key=lambda e: (_item_of(e), order.index(str(e.get("type")))),
        )
        for i, event in zip(slots, closing, strict=True):
            out[i] = event
        return out

    def outgoing(self, event: Mapping[str, Any], now_ms: int = 0) -> list[Event]:
        """One GA server event as this dialect sends it: zero, one or more events."""
        dialect = self.dialect
        kind = str(event.get("type"))
        name = dialect.event_names.get(kind, kind)
        if name is None:
            return []
        out = {k: v for k, v in event.items() if k not in dialect.omitted_fields.get(kind, ())}
        out["type"] = name
        pcm_bytes = 0
        if "item" in out:
            out["item"] = dialect.item_out(out["item"])
        if kind in ("response.created", "response.done"):
            out["response"] = dialect.response_out(out["response"])
        elif kind in ("session.created", "session.updated"):
            if kind == "session.updated" and self._pending_extras is not None:
                self.extras.update(self._pending_extras)
                self._pending_extras = None
            if kind == "session.updated" and self._pending_rates is not None:
                self.rates.update(self._pending_rates)
                self._pending_rates = None
            out["session"] = dialect.session_out(self._rates_out(out["session"]), self.extras)
        elif kind == "error" and self._translated and isinstance(out.get("error"), Mapping):
            self._translated = False
            error = dict(out["error"])
            if "param" in error:
                error["param"] = dialect.rename_param(error["param"])
            out["error"] = error
        elif kind == "response.output_audio.delta" and isinstance(out.get("delta"), str):
            pcm = b64decode(out["delta"]) or b""
            pcm_bytes = len(pcm)
            if self.rates["output"] != SAMPLE_RATE:
                out["delta"] = b64encode(resample_pcm16(pcm, SAMPLE_RATE, self.rates["output"]))
        if kind in dialect.part_copies and "part" in out:
            out[dialect.part_copies[kind]] = copy.deepcopy(out["part"])
        if kind in dialect.obfuscated_events:
            out["obfuscation"] = _obfuscation(str(out.get("event_id")), str(out.get("delta")))
        events = [out]
        twin = dialect.duplicated_events.get(kind)
        if twin is not None:
            events.append({**out, "type": twin, "event_id": self._new_id("event")})
        if dialect.cumulative_transcripts:
            events += self._transcript_update(kind, event)
        shaped = [
            e
            for raw in events
            for e in dialect.reshape(raw, now_ms=now_ms, pcm_bytes=pcm_bytes, state=self._state)
        ]
        if kind == "session.created" and dialect.pings:
            shaped.append(self.ping(now_ms))
        return shaped

    def _transcript_update(self, kind: str, event: Mapping[str, Any]) -> list[Event]:
        prefix = "conversation.item.input_audio_transcription."
        key = (event.get("item_id"), event.get("content_index"))
        if kind in (prefix + "completed", prefix + "failed"):
            self._transcripts.pop(key, None)
        if kind != prefix + "delta":
            return []
        so_far = self._transcripts.get(key, "") + str(event.get("delta") or "")
        self._transcripts[key] = so_far
        return [
            {
                "type": prefix + "updated",
                "event_id": self._new_id("event"),
                "item_id": key[0],
                "content_index": key[1],
                "transcript": so_far,
            }
        ]


def _item_of(event: Mapping[str, Any]) -> str:
    item = event.get("item")
    return str(event.get("item_id") or (item.get("id") if isinstance(item, Mapping) else ""))


def _obfuscation(event_id: str, delta: str) -> str:
    """Padding like the real service's: the delta plus this is about 16 characters long.

    Derived from the event id, so the core's deterministic ids give deterministic padding.
    """
    digest = hashlib.sha256(event_id.encode()).hexdigest()
    return digest[: max(3, 16 - len(delta))]
