"""Client text frames built here, for the one message sent 50 times a second: the audio append.

websockets' ``send()`` is made for any message at any time: it enters an async send
context, builds a ``Frame`` object, asks the OS for a fresh 4-byte mask (a ``getrandom``
call per frame) and then writes. For a 20 ms append that is about 10 µs a frame on this
project's benchmark machine, where framing the same bytes here and writing them in one
``transport.write`` costs about 5 µs (``benchmarks/append_framing.py``). The connection
uses this only for appends and only while the socket is open; everything else, control
frames included, goes through websockets, which writes whole frames too, so frames never
interleave.

RFC 6455 (5.3) asks that the masking key be unpredictable, taken from a strong source of
entropy. The keys here are the OS's random bytes (``os.urandom``), fetched 1024 keys at a
time instead of one key per call: the same source, fewer system calls.
"""

from __future__ import annotations

import os
import struct

try:  # websockets' own C masking routine, the one its frames use
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - websockets built without its C extension
    from websockets.utils import apply_mask

__all__ = ["ClientTextFramer"]

_KEYS_FETCHED = 4096
"""Bytes of OS randomness fetched at a time: 1024 masking keys."""
_FIN_TEXT = 0x81
"""FIN set, opcode 1 (text): every append is one unfragmented text frame."""
_MASKED = 0x80
_head_short = struct.Struct("!BB").pack
_head_16 = struct.Struct("!BBH").pack
_head_64 = struct.Struct("!BBQ").pack


class ClientTextFramer:
    """Turns a UTF-8 payload into one masked client text frame, ready for the transport."""

    __slots__ = ("_keys", "_next")

    def __init__(self) -> None:
        self._keys = b""
        self._next = 0

    def _key(self) -> bytes:
        start = self._next
        if start >= len(self._keys):
            self._keys, start = os.urandom(_KEYS_FETCHED), 0
        self._next = start + 4
        return self._keys[start : start + 4]

    def frame(self, payload: bytes) -> bytes:
        """The bytes of one text frame (header, masking key, masked payload)."""
        size = len(payload)
        if size < 126:
            head = _head_short(_FIN_TEXT, _MASKED | size)
        elif size < 65536:
            head = _head_16(_FIN_TEXT, _MASKED | 126, size)
        else:
            head = _head_64(_FIN_TEXT, _MASKED | 127, size)
        key = self._key()
        return head + key + apply_mask(payload, key)
