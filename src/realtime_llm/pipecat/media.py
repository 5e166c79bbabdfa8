"""Input media made fit for the wire: audio at the session's rate and format, images as JPEG.

Audio is the hot path (a frame every 20 ms): the common case (already at the session's
rate, PCM, mono) is one base64 call and nothing else. Resampling uses pipecat's stream
resampler, created once per input rate.
"""

from __future__ import annotations

import base64
import binascii
import io
import wave
from collections.abc import Iterable
from functools import cache
from typing import Literal

import numpy as np
from loguru import logger
from PIL import Image
from pipecat.audio.resamplers.base_audio_resampler import BaseAudioResampler
from pipecat.audio.utils import create_stream_resampler, pcm_to_alaw, pcm_to_ulaw, pcm_to_wav

__all__ = [
    "AudioDecoder",
    "AudioEncoder",
    "b64",
    "encode_image",
    "wav_from_wire_audio",
    "wire_audio_from_wav",
]

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
        return self.decode_bytes(base64.b64decode(audio_b64))

    def decode_bytes(self, data: bytes) -> bytes:
        """Wire audio (already out of base64) to PCM16."""
        table = self._TABLES.get(self.audio_format)
        if table is None:
            return data
        return table[np.frombuffer(data, dtype=np.uint8)].tobytes()


def wav_from_wire_audio(chunks: Iterable[str], audio_format: AudioFormat, rate: int) -> str:
    """Base64 WAV (PCM16, mono) of input audio as it was sent: base64 chunks in ``audio_format``.

    The shape pipecat's ``LLMContext.create_audio_message`` stores, so the recorded turn is
    an ordinary audio message of the context. Once per recorded turn, not per frame.
    """
    wire = b"".join(base64.b64decode(chunk) for chunk in chunks)
    pcm = AudioDecoder(audio_format).decode_bytes(wire)
    return base64.b64encode(pcm_to_wav(pcm, rate)).decode("ascii")


def wire_audio_from_wav(wav_b64: str, audio_format: AudioFormat, rate: int) -> str:
    """Base64 audio in the session's input format from a base64 WAV (any rate, channels).

    For the ``input_audio`` content of a replayed user turn, which the server reads in the
    session's input format. PCM16 at the session rate is passed through; anything else is
    downmixed, resampled (soxr) and, for G.711, encoded.

    Raises:
        ValueError: not a PCM16 WAV.
    """
    try:
        with wave.open(io.BytesIO(base64.b64decode(wav_b64))) as wav:
            if wav.getsampwidth() != 2:
                raise ValueError(f"{8 * wav.getsampwidth()}-bit WAV (PCM16 is expected)")
            channels, wav_rate = wav.getnchannels(), wav.getframerate()
            pcm = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError, binascii.Error) as exc:
        raise ValueError(f"not a WAV file: {exc}") from exc
    if channels == 1 and wav_rate == rate and audio_format == "audio/pcm":
        return b64(pcm)
    samples = np.frombuffer(pcm, dtype="<i2").reshape(-1, channels).mean(axis=1)
    if wav_rate != rate:
        import soxr  # type: ignore[import-untyped]  # pipecat's dependency; sync, one-off

        samples = soxr.resample(samples, wav_rate, rate)
    pcm16 = np.clip(np.rint(samples), -32768, 32767).astype("<i2")
    if audio_format == "audio/pcm":
        return b64(pcm16.tobytes())
    return b64(_g711_encoder(audio_format)[pcm16.view(np.uint16)].tobytes())


@cache
def _g711_encoder(audio_format: AudioFormat) -> np.ndarray:
    """A 65,536-entry table, PCM16 sample (as uint16) -> the G.711 code nearest to it."""
    decoded = AudioDecoder._TABLES[audio_format].astype(np.int32)
    order = np.argsort(decoded, kind="stable")
    ladder = decoded[order]
    values = np.arange(65536, dtype=np.int32)
    values = np.where(values >= 32768, values - 65536, values)  # the uint16 view's order
    upper = np.clip(np.searchsorted(ladder, values), 1, len(ladder) - 1)
    lower = upper - 1
    nearer_lower = (values - ladder[lower]) <= (ladder[upper] - values)
    return order[np.where(nearer_lower, lower, upper)].astype(np.uint8)


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
