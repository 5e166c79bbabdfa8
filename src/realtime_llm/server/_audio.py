"""Audio plumbing: PCM16 durations, and G.711 (mu-law / A-law at 8 kHz) to and from PCM16.

Inside the server every piece of audio is PCM16, 24 kHz, mono: the VAD, the engines and the
truncation arithmetic all work on that. Sessions that ask for ``audio/pcmu`` or
``audio/pcma`` (telephony bots) are converted here, at the edge, so nothing else has to
know. Conversions are vectorised with numpy: an append can carry minutes of audio.
"""

from __future__ import annotations

import base64
import binascii
import functools

import numpy as np
import numpy.typing as npt

__all__ = [
    "BYTES_PER_MS",
    "SAMPLE_RATE",
    "b64decode",
    "b64encode",
    "bytes_per_chunk",
    "decode_to_pcm16",
    "encode_from_pcm16",
    "pcm_ms",
    "resample_pcm16",
]

SAMPLE_RATE = 24_000
BYTES_PER_MS = SAMPLE_RATE * 2 // 1000  # 48

Int16Array = npt.NDArray[np.int16]


def pcm_ms(nbytes: int) -> float:
    """Duration in milliseconds of ``nbytes`` of PCM16 24 kHz mono."""
    return nbytes / BYTES_PER_MS


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str) -> bytes | None:
    """Strict base64 decoding; ``None`` when ``text`` is not base64."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def bytes_per_chunk(fmt: str, chunk_ms: int) -> int:
    """Size of ``chunk_ms`` of audio in the wire format ``fmt``."""
    if fmt == "audio/pcm":
        return BYTES_PER_MS * chunk_ms
    return 8 * chunk_ms  # G.711: one byte per sample at 8 kHz


# --- G.711 -----------------------------------------------------------------------------------

_ULAW_BIAS = 0x84
_ULAW_CLIP = 32635


def _ulaw_encode(samples: Int16Array) -> npt.NDArray[np.uint8]:
    x = samples.astype(np.int32)
    sign = (x < 0).astype(np.int32) << 7
    magnitude = np.minimum(np.abs(x), _ULAW_CLIP) + _ULAW_BIAS
    exponent = np.clip(np.floor(np.log2(magnitude)).astype(np.int32) - 7, 0, 7)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    encoded: npt.NDArray[np.uint8] = (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8)
    return encoded


@functools.cache
def _ulaw_table() -> Int16Array:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent = (u >> 4) & 0x07
    magnitude = (((u & 0x0F) << 3) + _ULAW_BIAS) << exponent
    value = magnitude - _ULAW_BIAS
    return np.where(u & 0x80, -value, value).astype(np.int16)


_ALAW_SEGMENT_ENDS = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])


def _alaw_encode(samples: Int16Array) -> npt.NDArray[np.uint8]:
    pcm = samples.astype(np.int32) >> 3
    mask = np.where(pcm >= 0, 0xD5, 0x55)
    pcm = np.where(pcm >= 0, pcm, -pcm - 1)
    segment = np.searchsorted(_ALAW_SEGMENT_ENDS, pcm)
    shift = np.where(segment < 2, 1, segment)
    value = (np.minimum(segment, 7) << 4) | ((pcm >> shift) & 0x0F)
    value = np.where(segment >= 8, 0x7F, value)
    return ((value ^ mask) & 0xFF).astype(np.uint8)


@functools.cache
def _alaw_table() -> Int16Array:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    segment = (a & 0x70) >> 4
    t = ((a & 0x0F) << 4) + np.where(segment == 0, 8, 0x108)
    t = np.where(segment > 1, t << np.maximum(segment - 1, 0), t)
    return np.where(a & 0x80, t, -t).astype(np.int16)


def _upsample_8k_to_24k(samples: Int16Array) -> Int16Array:
    if samples.size == 0:
        return samples
    positions = np.arange(samples.size * 3) / 3.0
    return np.interp(positions, np.arange(samples.size), samples).astype(np.int16)


def _downsample_24k_to_8k(samples: Int16Array) -> Int16Array:
    usable = samples[: samples.size - samples.size % 3].astype(np.int32)
    averaged: Int16Array = usable.reshape(-1, 3).mean(axis=1).astype(np.int16)
    return averaged


def resample_pcm16(pcm: bytes, from_rate: int, to_rate: int) -> bytes:
    """PCM16 mono from one sample rate to another (linear interpolation, per chunk).

    Good enough for a test server: chunks are resampled independently, so a chunk of
    ``n`` samples becomes ``round(n * to_rate / from_rate)`` samples.
    """
    if from_rate == to_rate or not pcm:
        return pcm
    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype=np.int16)
    count = round(samples.size * to_rate / from_rate)
    if samples.size == 0 or count == 0:
        return b""
    positions = np.arange(count) * (samples.size / count)
    out = np.interp(positions, np.arange(samples.size), samples)
    return bytes(out.astype(np.int16).tobytes())


def decode_to_pcm16(data: bytes, fmt: str) -> bytes:
    """Wire audio in ``fmt`` to PCM16 24 kHz (an odd trailing PCM byte is dropped)."""
    if fmt == "audio/pcm":
        return data[: len(data) - len(data) % 2]
    table = _ulaw_table() if fmt == "audio/pcmu" else _alaw_table()
    samples = table[np.frombuffer(data, dtype=np.uint8)]
    return _upsample_8k_to_24k(samples).tobytes()


def encode_from_pcm16(pcm: bytes, fmt: str) -> bytes:
    """PCM16 24 kHz to wire audio in ``fmt``."""
    if fmt == "audio/pcm":
        return pcm
    samples = _downsample_24k_to_8k(np.frombuffer(pcm, dtype=np.int16))
    encoded = _ulaw_encode(samples) if fmt == "audio/pcmu" else _alaw_encode(samples)
    return encoded.tobytes()
