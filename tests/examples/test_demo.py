"""The README's first command: the offline demo runs, hears the question, speaks the answer."""

from __future__ import annotations

import subprocess
import sys
import wave
from pathlib import Path

from realtime_llm.server.speech import SileroVad
from realtime_llm.server.vad import SpeechStarted

DEMO = Path(__file__).parents[2] / "examples" / "demo.py"


def test_offline_demo_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "reply.wav"
    run = subprocess.run(
        [sys.executable, str(DEMO), "--out", str(out), "--timeout", "60"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    lines = run.stdout
    assert run.returncode == 0, lines + run.stderr
    # Not a terminal (a pipe, as in CI): plain lines, no carriage returns run together.
    assert "\r" not in lines
    assert len(lines.splitlines()) >= 8
    # Both sides, with timings; the question heard exactly as recorded.
    assert "user: what is the weather in paris" in lines
    assert "bot : Hello! How can I help you?" in lines
    assert "bot : The weather in Paris: sunny, 21 degrees." in lines
    assert "matches the recording" in lines
    # The reply WAV has speech in it (Silero hears it), at 24 kHz.
    with wave.open(str(out), "rb") as wav:
        assert wav.getframerate() == 24000
        pcm = wav.readframes(wav.getnframes())
    assert len(pcm) / 48000 > 2.0
    events = SileroVad().process(pcm)
    assert any(isinstance(e, SpeechStarted) for e in events)
