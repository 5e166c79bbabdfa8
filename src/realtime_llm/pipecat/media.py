"""Input media made fit for the wire: audio at the session's rate and format, images as JPEG.

Audio is the hot path (a frame every 20 ms): the common case (already at the session's
rate, PCM, mono) is one base64 call and nothing else. Resampling uses pipecat's stream
resampler, created once per input rate.
"""

from __future__ import annotations

import base64
import binascii
import io
from typing import Literal

import numpy as np
from loguru import logger
from PIL import Image
from pipecat.audio.resamplers.base_audio_resampler import BaseAudioResampler
from pipecat.audio.utils import create_stream_resampler, pcm_to_alaw, pcm_to_ulaw

__all__ = ["AudioDecoder", "AudioEncoder", "b64", "encode_image"]

AudioFormat = Literal["audio/pcm", "audio/pcmu", "audio/pcma"]

_b2a = binascii.b2a_base64


class AudioEncoder:
    """Turns pipeline input audio into the base64 the session's input format wants.

    Args:
        rate: the session's input sample rate (24000 for PCM, 8000 for G.711).
        audio_format: the session's input format.
    """

    def __init__(self, rate: int = 24000, audio_format: AudioFormat = "audio/pcm") -> None:
        self.rate = rate
        self.audio_format: AudioFormat = audio_format
        self._resamplers: dict[int, BaseAudioResampler] = {}
        self._warned_rates: set[int] = set()

    def _resampler(self, in_rate: int) -> BaseAudioResampler:
        resampler = self._resamplers.get(in_rate)
        if resampler is None:
            resampler = self._resamplers[in_rate] = create_stream_resampler()
            if in_rate not in self._warned_rates:
                self._warned_rates.add(in_rate)
                logger.debug(f"resampling input audio from {in_rate} Hz to {self.rate} Hz")
        return resampler

    @property
    def bytes_per_ms(self) -> float:
        """Bytes per millisecond of converted audio: PCM16 has 2 per sample, G.711 one."""
        return self.rate * (2 if self.audio_format == "audio/pcm" else 1) / 1000

    def passthrough(self, sample_rate: int, num_channels: int) -> bool:
        """Whether audio at this rate and channel count is sent as it is (the hot path)."""
        return num_channels == 1 and sample_rate == self.rate and self.audio_format == "audio/pcm"

    async def encode(self, audio: bytes, sample_rate: int, num_channels: int = 1) -> str:
        """Base64 of ``audio`` converted to the session's input format."""
        return b64(await self.convert(audio, sample_rate, num_channels))

    async def convert(self, audio: bytes, sample_rate: int, num_channels: int = 1) -> bytes:
        """``audio`` in the session's input format: mono, its rate, PCM16 or G.711."""
        if num_channels > 1:
            samples = np.frombuffer(audio, dtype=np.int16).reshape(-1, num_channels)
            audio = samples.mean(axis=1).astype(np.int16).tobytes()
        if self.audio_format == "audio/pcm":
            if sample_rate != self.rate:
                audio = await self._resampler(sample_rate).resample(audio, sample_rate, self.rate)
        elif self.audio_format == "audio/pcmu":
            audio = await pcm_to_ulaw(audio, sample_rate, self.rate, self._resampler(sample_rate))
        else:
            audio = await pcm_to_alaw(audio, sample_rate, self.rate, self._resampler(sample_rate))
        return audio


def b64(audio: bytes) -> str:
    """Base64 text of ``audio`` (binascii directly: ``base64.b64encode`` wraps it in Python)."""
    return _b2a(audio, newline=False).decode("ascii")


def _ulaw_table() -> np.ndarray:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent, mantissa = (u >> 4) & 7, u & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(u & 0x80, -magnitude, magnitude).astype("<i2")


def _alaw_table() -> np.ndarray:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    exponent, mantissa = (a >> 4) & 7, a & 0x0F
    magnitude = np.where(
        exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0)
    )
    return np.where(a & 0x80, magnitude, -magnitude).astype("<i2")


class AudioDecoder:
    """Server audio (base64) to the PCM16 that pipecat frames carry (hot path).

    PCM is one base64 call. G.711 (``audio/pcmu``, ``audio/pcma``) is expanded through a
    256-entry table, one numpy indexing per chunk.
    """

    _TABLES = {"audio/pcmu": _ulaw_table(), "audio/pcma": _alaw_table()}

    def __init__(self, audio_format: AudioFormat = "audio/pcm") -> None:
        self.audio_format: AudioFormat = audio_format

    @property
    def wire_bytes_per_sample(self) -> int:
        """Bytes per sample on the wire: 2 for PCM16, 1 for G.711."""
        return 2 if self.audio_format == "audio/pcm" else 1

    def decode(self, audio_b64: str) -> bytes:
        data = base64.b64decode(audio_b64)
        table = self._TABLES.get(self.audio_format)
        if table is None:
            return data
        return table[np.frombuffer(data, dtype=np.uint8)].tobytes()


def encode_image(
    image: bytes,
    size: tuple[int, int],
    image_format: str | None,
    *,
    max_side: int = 1024,
    quality: int = 80,
) -> str:
    """A ``data:image/jpeg;base64,...`` URL for a raw or encoded image.

    Raw frames (``format`` RGB/RGBA/L...) are wrapped; encoded ones (PNG, JPEG...) are
    decoded. Oversized images are scaled down to ``max_side``; anything with alpha or a
    palette is flattened to RGB, because JPEG has neither.

    Raises:
        ValueError: the bytes are not an image in the stated format.
    """
    try:
        if image_format and image_format.upper() in {"RGB", "RGBA", "L", "LA", "P", "CMYK"}:
            picture = Image.frombytes(image_format.upper(), size, image)
        else:
            picture = Image.open(io.BytesIO(image))
            picture.load()
    except Exception as exc:
        raise ValueError(f"not a decodable image ({image_format}, {size}): {exc}") from exc
    if picture.mode != "RGB":
        picture = picture.convert("RGB")
    if max(picture.size) > max_side:
        picture.thumbnail((max_side, max_side))
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")
