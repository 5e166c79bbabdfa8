"""CPU per 20 ms audio append: websockets' ``send()`` against the connection's own framing.

``RealtimeConnection`` frames each ``input_audio_buffer.append`` itself
(``realtime_llm.transport.framing``) and writes it with one ``transport.write``; every
other event goes through websockets' ``send()``. This measures both on one open socket to
a websockets server in a child process (its reading is not counted), taking turns,
``--rounds`` times, and prints the client's CPU microseconds per append (user + system,
the socket write included) and their ratio. No network, no API key.

    python benchmarks/append_framing.py --appends 20000 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import multiprocessing
import statistics
import time
from typing import Any

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from realtime_llm.transport.framing import ClientTextFramer

CHUNK = bytes((i * 37) & 0xFF for i in range(960))  # 20 ms of 24 kHz PCM16
TEXT = '{"type":"input_audio_buffer.append","audio":"' + base64.b64encode(CHUNK).decode() + '"}'


def _server(ports: Any) -> None:
    async def read(ws: ServerConnection) -> None:
        async for _ in ws:
            pass

    async def run() -> None:
        async with serve(read, "127.0.0.1", 0, compression=None, max_size=None) as server:
            ports.put(next(iter(server.sockets)).getsockname()[1])
            await asyncio.Future()

    asyncio.run(run())


async def _measure(port: int, appends: int, rounds: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {"websockets send()": [], "own framing": []}
    async with connect(f"ws://127.0.0.1:{port}", compression=None, max_size=None) as ws:
        framer = ClientTextFramer()
        transport = ws.transport
        for _ in range(rounds):
            for label in results:
                cpu = time.process_time()
                for i in range(appends):
                    if label == "own framing":
                        transport.write(framer.frame(TEXT.encode()))
                    else:
                        await ws.send(TEXT)
                    if i % 20 == 19:  # let the socket drain, as 20 ms ticks would
                        await asyncio.sleep(0.0005)
                results[label].append((time.process_time() - cpu) / appends * 1e6)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    ports: Any = multiprocessing.Queue()
    server = multiprocessing.Process(target=_server, args=(ports,), daemon=True)
    server.start()
    try:
        results = asyncio.run(_measure(ports.get(timeout=10), args.appends, args.rounds))
    finally:
        server.kill()
    base = statistics.median(results["websockets send()"])
    print(f"{args.appends} appends x {args.rounds} rounds; client CPU per append, median")
    for label, values in results.items():
        median = statistics.median(values)
        spread = f"[{min(values):.2f}-{max(values):.2f}]"
        print(f"{label:<18} {median:6.2f} us {spread:<14} {median / base:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
