"""A fast fake realtime server for the load benchmark, run in its own process.

    python benchmarks/_fake_server.py [--port 0]

It speaks just enough of the GA protocol for every candidate of ``benchmarks/load.py``
(our service, pipecat's ``OpenAIRealtimeLLMService``, the floor and the raw client):
``session.created`` on connect, ``session.updated`` for every ``session.update``, and for
every 2 s of ``input_audio_buffer.append`` audio a 2 s reply in 100 ms
``response.output_audio.delta`` events, paced in real time.

It is not the local server (``realtime-llm serve``): that one runs VAD and engines, and at
tens of sessions its own CPU would limit the client being measured. This one never decodes
the input audio (it counts base64 characters) and builds each delta from a prepared
template, so a delta costs it one string join and one send.

Every delta's audio starts with a 12-byte stamp, so the client can time it without any
side channel: the send time (``time.monotonic()``, a clock shared by all processes on
Linux), the delta's index in its reply and the reply's delta count. 12 bytes are 16 base64
characters, so the stamp's base64 is joined to the rest's prepared base64 as is.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
import struct
import sys
import time
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

RATE = 24000
DELTA_S = 0.1
REPLY_DELTAS = 20  # a 2 s reply
REPLY_EVERY_B64 = RATE * 2 * 2 * 4 // 3  # base64 characters in 2 s of 24 kHz PCM16
STAMP = struct.Struct("<dHH")  # send time, index in the reply, deltas in the reply
DELTA_BYTES = int(RATE * 2 * DELTA_S)  # 4800
_BODY_B64 = base64.b64encode(bytes(range(256)) * (DELTA_BYTES // 256 + 1))[
    : (DELTA_BYTES - STAMP.size) * 4 // 3
].decode()
_APPEND = '"input_audio_buffer.append"'
_ids = itertools.count(1)


def stamp_of(audio: bytes) -> tuple[float, int, int]:
    """The (send time, index, count) stamp at the start of a delta's decoded audio."""
    sent, index, count = STAMP.unpack_from(audio)
    return float(sent), int(index), int(count)


def _event(**fields: Any) -> str:
    return json.dumps({"event_id": f"event_{next(_ids)}", **fields})


def _session() -> dict[str, Any]:
    fmt = {"type": "audio/pcm", "rate": RATE}
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": f"sess_{next(_ids)}",
        "model": "gpt-realtime",
        "output_modalities": ["audio"],
        "audio": {
            "input": {"format": fmt, "turn_detection": None},
            "output": {"format": fmt, "voice": "alloy"},
        },
    }


async def _reply(ws: ServerConnection) -> None:
    """One 2 s reply: created, the item, 20 deltas 100 ms apart (absolute schedule), done."""
    n = next(_ids)
    rid, iid = f"resp_{n}", f"item_{n}"
    item = {"id": iid, "type": "message", "role": "assistant", "content": []}
    response = {"object": "realtime.response", "id": rid, "status": "in_progress", "output": []}
    await ws.send(_event(type="response.created", response=response))
    await ws.send(
        _event(type="response.output_item.added", response_id=rid, output_index=0, item=item)
    )
    await ws.send(_event(type="conversation.item.added", previous_item_id=None, item=item))
    head = (
        '{"type":"response.output_audio.delta","event_id":"event_%s","response_id":"'
        + rid
        + '","item_id":"'
        + iid
        + '","output_index":0,"content_index":0,"delta":"'
    )
    tail = _BODY_B64 + '"}'
    start = time.monotonic()
    for index in range(REPLY_DELTAS):
        delay = start + index * DELTA_S - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        stamp = STAMP.pack(time.monotonic(), index, REPLY_DELTAS)
        await ws.send(head % next(_ids) + base64.b64encode(stamp).decode() + tail)
    done_item = {**item, "status": "completed", "content": [{"type": "output_audio"}]}
    await ws.send(
        _event(
            type="response.output_audio.done",
            response_id=rid,
            item_id=iid,
            output_index=0,
            content_index=0,
        )
    )
    usage = {"total_tokens": 60, "input_tokens": 30, "output_tokens": 30}
    done = {**response, "status": "completed", "output": [done_item], "usage": usage}
    await ws.send(_event(type="response.done", response=done))


REPLIES = True
"""False (``--no-replies``): appends are read and never answered, for input-only benchmarks."""


async def _handle(ws: ServerConnection) -> None:
    replies: asyncio.Queue[None] = asyncio.Queue()

    async def speak() -> None:
        while True:
            await replies.get()
            await _reply(ws)

    speaker = asyncio.create_task(speak())
    pending = 0
    try:
        await ws.send(_event(type="session.created", session=_session()))
        async for message in ws:
            text = message if isinstance(message, str) else message.decode()
            if _APPEND in text[:120]:
                key = text.index('"audio"')
                opening = text.index('"', key + 7)
                pending += text.index('"', opening + 1) - opening - 1  # base64 characters
                if pending >= REPLY_EVERY_B64 and REPLIES:
                    pending -= REPLY_EVERY_B64
                    replies.put_nowait(None)
            elif '"session.update"' in text:
                await ws.send(_event(type="session.updated", session=_session()))
    except ConnectionClosed:
        pass
    finally:
        speaker.cancel()


async def _main(port: int) -> None:
    async with serve(_handle, "127.0.0.1", port, compression=None, max_size=None) as server:
        bound = next(iter(server.sockets)).getsockname()[1]
        print(f"ws://127.0.0.1:{bound}/v1/realtime", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--no-replies", action="store_true", help="never send a reply")
    options = parser.parse_args()
    REPLIES = not options.no_replies
    try:
        asyncio.run(_main(options.port))
    except KeyboardInterrupt:
        sys.exit(0)
