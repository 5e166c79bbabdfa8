"""Is a recorder downstream? The answer decides whether input audio is passed on.

Passing every 20 ms ``InputAudioRawFrame`` on after sending it costs a frame hop per
processor downstream, about a quarter of the service's CPU under load
(``benchmarks/load.py``), for frames that nothing after an LLM usually reads. The one
common reader is pipecat's ``AudioBufferProcessor`` placed after ``transport.output()``
to record both sides of the call: without the user's audio, its recording would be half
silent. So by default the service looks downstream once, when the pipeline starts.
"""

from __future__ import annotations

from typing import Any

from pipecat.processors.audio.audio_buffer_processor import AudioBufferProcessor
from pipecat.processors.frame_processor import FrameProcessor

__all__ = ["recorder_downstream"]

_MAX_HOPS = 256


def recorder_downstream(processor: FrameProcessor) -> bool:
    """Whether an ``AudioBufferProcessor`` follows ``processor`` in its pipeline.

    Follows the ``next`` links and looks inside nested pipelines (``processors``). A
    recorder in an enclosing pipeline, after the one the service is in, is not seen: pass
    ``forward_input_audio=True`` for that layout.
    """
    pending: list[Any] = [processor.next]
    hops = 0
    while pending and hops < _MAX_HOPS:
        current = pending.pop()
        hops += 1
        if current is None:
            continue
        if isinstance(current, AudioBufferProcessor):
            return True
        inner = getattr(current, "processors", None)
        if isinstance(inner, list):
            pending.extend(p for p in inner if isinstance(p, FrameProcessor))
        pending.append(current.next)
    return False
