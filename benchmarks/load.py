"""Sessions per core: N concurrent paced sessions in one process, against the floor.

    python benchmarks/load.py --sessions 10 --seconds 20
    python benchmarks/load.py --sessions 10,30 --seconds 20 --repeat 3
    python benchmarks/load.py --find-capacity --seconds 10

Every session streams 20 ms input frames of 24 kHz PCM16 in real time; for every 2 s of
input the fake server (``_fake_server.py``, a child process, so its CPU is not counted)
streams a 2 s reply in 100 ms deltas, paced in real time. The candidates run one after the
other, each in a fresh child process of its own (so that peak RSS is its own):
``raw`` (websockets + json, no pipecat), ``floor`` (the least a pipecat FrameProcessor
can do), ``pipecat`` (pipecat's ``OpenAIRealtimeLLMService``) and ``realtime_llm``
(``RealtimeLLMService``, defaults); ``floor_reply`` (the floor plus the four frames per
reply every LLM service pushes) on request. See ``_load_candidates.py``.

Per candidate it reports, over the measured window (after every session has started):

- CPU seconds (user + system) of the client process per session-minute, and the ratio to
  the floor of the same run;
- event-loop lag p50/p99: how late a 10 ms sleep wakes up;
- the share of reply audio pushed on time (within 100 ms of the server sending it);
- the latency from the server sending a delta to the service pushing its frame, p50/p99
  (the send time is stamped into the delta's first bytes);
- peak RSS per session: the process's peak RSS (reset once the candidate's modules are
  loaded) divided by N.

``--find-capacity`` searches, per candidate, the largest N that holds lag p99 under 20 ms
with all reply audio on time. Figures on a shared machine are noisy: compare the ratios
of one run, and repeat.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
CANDIDATES = ("raw", "floor", "pipecat", "realtime_llm")
REPLY_PERIOD_S = 2.0
LAG_TICK_S = 0.01
INPUT_TICK_S = 0.02  # the sources' frame period
MAX_LAG_P99_MS = 20.0


@contextmanager
def fake_server(*options: str) -> Iterator[str]:
    """The fake server in a child process (``options``: its command line); yields its URL."""
    server = subprocess.Popen(
        [sys.executable, str(HERE / "_fake_server.py"), *options], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        yield server.stdout.readline().strip()
    finally:
        server.terminate()
        server.wait(5)


def _rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


def _reset_peak_rss() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _lag_monitor(samples: list[float], window: Any) -> None:
    """Sleep 10 ms at a time; how late each wake-up is, is the event loop's lag."""
    expected = time.monotonic() + LAG_TICK_S
    while True:
        await asyncio.sleep(max(0.0, expected - time.monotonic()))
        now = time.monotonic()
        if window.start <= now <= window.end:
            samples.append(now - expected)
        expected = max(expected + LAG_TICK_S, now)


async def _drain(stats: Any) -> None:
    """Wait for the deltas sent in the window: until none came for 0.3 s (at most 3 s)."""
    deadline = time.monotonic() + 3.0
    seen = -1
    while seen != stats.deltas and time.monotonic() < deadline:
        seen = stats.deltas
        await asyncio.sleep(0.3)


async def _measure(
    candidate: str, url: str, sessions: int, seconds: float, profile: str | None = None
) -> dict[str, Any]:
    """One candidate, ``sessions`` paced sessions, ``seconds`` measured (in a worker process)."""
    from _load_candidates import PacedSource, PlaybackSink, Stats, Window, make_service, raw_session

    stats = Stats()
    lags: list[float] = []
    # Replies are spread over the reply period; input ticks are spread within a frame as
    # well, as independent transports' clocks are. (Without the sub-frame part, N=10 put
    # every session's 20 ms tick at the same instant: a burst of N input frames every
    # 20 ms, which each delta, sent just after its session's append, waited behind.)
    rng = random.Random(sessions)
    spread = 0.0 if os.environ.get("LOAD_ALIGNED_INPUT") else INPUT_TICK_S
    phases = [REPLY_PERIOD_S * i / sessions + rng.uniform(0, spread) for i in range(sessions)]
    rng.shuffle(phases)
    go, stopped = asyncio.Event(), asyncio.Event()
    runner: Any = None
    tasks: list[asyncio.Task[None]] = []
    sources: list[Any] = []

    if candidate == "raw":
        readies = [asyncio.Event() for _ in range(sessions)]
        tasks = [
            asyncio.create_task(
                raw_session(url, stats, readies[i], go, phases[i] + REPLY_PERIOD_S, stopped)
            )
            for i in range(sessions)
        ]
        for ready in readies:
            await ready.wait()
    else:
        from pipecat.pipeline.pipeline import Pipeline
        from pipecat.pipeline.worker import PipelineParams, PipelineWorker
        from pipecat.workers.runner import WorkerRunner

        runner = WorkerRunner(handle_sigint=False)
        sinks = []
        for i in range(sessions):
            source, sink = PacedSource(), PlaybackSink(stats)
            pipeline = Pipeline([source, make_service(candidate, url), sink])
            worker = PipelineWorker(
                pipeline, params=PipelineParams(), cancel_on_idle_timeout=False, name=f"s{i}"
            )
            await runner.add_workers(worker)
            sources.append(source)
            sinks.append(sink)
        tasks.append(asyncio.create_task(runner.run()))
        for sink in sinks:
            await sink.started.wait()  # the service's start (its connect) is done
        await asyncio.sleep(0.5)  # session.update answered
    _reset_peak_rss()
    rss_before = _rss_kb("VmRSS:")
    # Input starts one reply period plus the session's phase before the window, so every
    # session is replying throughout the window.
    start = time.monotonic() + REPLY_PERIOD_S + max(phases) + 0.2
    window = Window(start, start + seconds)
    stats.window = window
    monitor = asyncio.create_task(_lag_monitor(lags, window))
    for source, phase in zip(sources, phases, strict=False):
        source.start_input(window.start, phase + REPLY_PERIOD_S, window.end)
    go.set()
    await asyncio.sleep(max(0.0, window.start - time.monotonic()))
    profiler = _start_profiler() if profile else None
    cpu0 = time.process_time()
    await asyncio.sleep(max(0.0, window.end - time.monotonic()))
    cpu = time.process_time() - cpu0
    if profiler is not None and profile:
        profiler.stop()
        Path(profile).write_text(profiler.output_text(unicode=False, show_all=False))
    await _drain(stats)
    peak_kb = _rss_kb("VmHWM:")
    monitor.cancel()
    stopped.set()
    if runner is not None:
        await asyncio.wait_for(runner.cancel(), 30)
    await asyncio.wait(tasks, timeout=30)
    # Every session replies throughout the window (10 deltas a second); a delta still
    # missing after the wait counts as late. One delta per session is a boundary effect.
    expected = sessions * (round(seconds / 0.1) - 1)
    return {
        "candidate": candidate,
        "sessions": sessions,
        "seconds": seconds,
        "cpu_per_session_min": cpu / (sessions * seconds / 60),
        "lag_p50_ms": _percentile(lags, 0.5) * 1000,
        "lag_p99_ms": _percentile(lags, 0.99) * 1000,
        "on_time": stats.on_time / max(stats.deltas, expected, 1),
        "deltas": stats.deltas,
        "latency_p50_ms": _percentile(stats.latencies, 0.5) * 1000,
        "latency_p99_ms": _percentile(stats.latencies, 0.99) * 1000,
        "rss_mb_per_session": max(0, peak_kb - rss_before) / 1024 / sessions,
        "peak_rss_mb": peak_kb / 1024,
    }


def _start_profiler() -> Any:
    """A sampling profiler (pyinstrument) over the whole thread: the loop and every task."""
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005, async_mode="disabled")
    profiler.start()
    return profiler


def _worker_main(args: argparse.Namespace) -> int:
    from loguru import logger

    logger.remove()
    logger.add(sys.stderr, level=os.environ.get("LOAD_LOG", "ERROR"))
    if args.uvloop:
        import uvloop

        uvloop.install()
    result = asyncio.run(
        _measure(args.worker, args.url, args.sessions[0], args.seconds, args.profile)
    )
    print(json.dumps(result), flush=True)
    os._exit(0)  # teardown of tens of pipelines is not part of the benchmark


def run_candidate(
    candidate: str,
    url: str,
    sessions: int,
    seconds: float,
    *,
    loop: str = "asyncio",
    profile_dir: str | None = None,
) -> dict[str, Any]:
    """One measurement in a fresh process (so that its peak RSS is its own)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", candidate]
    command += ["--url", url, "--sessions", str(sessions), "--seconds", str(seconds)]
    if loop == "uvloop":
        command.append("--uvloop")
    if profile_dir:
        name = candidate.replace(":", "_").replace(",", "_").replace("=", "-")
        command += ["--profile", str(Path(profile_dir) / f"{name}-N{sessions}.txt")]
    env = dict(os.environ)
    if "@" in candidate:  # realtime_llm@DIR: the package from DIR/src (an older checkout)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(Path(candidate.split("@", 1)[1]) / "src"), env.get("PYTHONPATH", "")]
        )
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds * 4 + 120, env=env
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{candidate} at N={sessions} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def holds(result: dict[str, Any]) -> bool:
    return bool(result["lag_p99_ms"] < MAX_LAG_P99_MS and result["on_time"] >= 1.0)


HEADER = (
    f"{'candidate':<24}{'N':>4}{'cpu s/sess-min':>15}{'x floor':>8}{'lag p50':>8}"
    f"{'lag p99':>8}{'on time':>8}{'lat p50':>8}{'lat p99':>8}{'MB/sess':>8}"
)


def row(result: dict[str, Any], floor_cpu: float | None) -> str:
    ratio = result["cpu_per_session_min"] / floor_cpu if floor_cpu else float("nan")
    return (
        f"{result['candidate']:<24}{result['sessions']:>4}{result['cpu_per_session_min']:>15.3f}"
        f"{ratio:>8.2f}{result['lag_p50_ms']:>8.1f}{result['lag_p99_ms']:>8.1f}"
        f"{result['on_time']:>8.1%}{result['latency_p50_ms']:>8.2f}"
        f"{result['latency_p99_ms']:>8.2f}{result['rss_mb_per_session']:>8.2f}"
    )


def table(url: str, args: argparse.Namespace) -> None:
    runs: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for run in range(1, args.repeat + 1):
        for n in args.sessions:
            print(f"\nrun {run}, N={n}, {args.seconds:g} s measured, loop {args.loop}")
            print(HEADER + "  (ms; MB)")
            floor_cpu = None
            for candidate in args.candidates:
                result = run_candidate(
                    candidate, url, n, args.seconds, loop=args.loop, profile_dir=args.profile
                )
                if candidate == "floor":
                    floor_cpu = result["cpu_per_session_min"]
                runs.setdefault((candidate, n), []).append({**result, "floor": floor_cpu})
                print(row(result, floor_cpu), flush=True)
    if args.repeat > 1:
        print("\nratio to the floor of the same run, median [min-max] over runs")
        for (candidate, n), results in runs.items():
            ratios = [r["cpu_per_session_min"] / r["floor"] for r in results if r["floor"]]
            if ratios:
                print(
                    f"{candidate:<24}{n:>4}  {statistics.median(ratios):.2f} "
                    f"[{min(ratios):.2f}-{max(ratios):.2f}]"
                )


def find_capacity(url: str, args: argparse.Namespace) -> None:
    """Grow N by ``--step`` until the candidate fails, then bisect down to ``--resolution``."""
    print(f"capacity: largest N with lag p99 < {MAX_LAG_P99_MS:g} ms and all audio on time")
    capacities: dict[str, int] = {}
    for candidate in args.candidates:
        good, bad = 0, None
        n = args.step
        while bad is None and n <= args.max_sessions:
            result = run_candidate(candidate, url, n, args.seconds, loop=args.loop)
            print("  " + row(result, None), flush=True)
            if holds(result):
                good, n = n, n + args.step
            else:
                bad = n
        while bad is not None and bad - good > args.resolution:
            n = (good + bad) // 2
            result = run_candidate(candidate, url, n, args.seconds, loop=args.loop)
            print("  " + row(result, None), flush=True)
            good, bad = (n, bad) if holds(result) else (good, n)
        capacities[candidate] = good
        limit = f"(< {bad})" if bad is not None else f"(>= {good}, the search limit)"
        print(f"{candidate:<24} capacity {good} sessions {limit}", flush=True)
    base = capacities.get("pipecat")
    if base:
        for candidate, capacity in capacities.items():
            print(f"{candidate:<24} {capacity / base:.2f}x pipecat's capacity")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="10", help="N, or a comma-separated list")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per run")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--candidates",
        default=",".join(CANDIDATES),
        help="comma-separated (floor_reply: the floor plus the per-reply frames, on request); "
        "realtime_llm:forward_input_audio=false,input_audio_batch_ms=40 "
        "sets options, realtime_llm@DIR takes the package from DIR/src (to compare commits)",
    )
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    parser.add_argument("--find-capacity", action="store_true")
    parser.add_argument("--step", type=int, default=20, help="capacity search: N grows by")
    parser.add_argument("--resolution", type=int, default=5, help="capacity search: to within")
    parser.add_argument("--max-sessions", type=int, default=400)
    parser.add_argument(
        "--profile", metavar="DIR", help="write a pyinstrument profile of each window to DIR"
    )
    parser.add_argument(
        "--aligned-input",
        action="store_true",
        help="every session's input tick at the same instant (the benchmark before 2026-12-03)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--uvloop", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.sessions = [int(n) for n in str(args.sessions).split(",")]
    if args.worker:
        return _worker_main(args)
    if args.aligned_input:
        os.environ["LOAD_ALIGNED_INPUT"] = "1"  # the workers inherit it
    args.candidates = [c for c in args.candidates.split(",") if c]
    if "floor" in args.candidates:  # the floor first: the others' ratios need it
        args.candidates.remove("floor")
        args.candidates.insert(0, "floor")
    with fake_server() as url:
        if args.find_capacity:
            find_capacity(url, args)
        else:
            table(url, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
