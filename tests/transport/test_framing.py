"""Appends framed by the connection itself: websockets' own parser and a real server read them."""

from __future__ import annotations

import asyncio
import base64

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.frames import Opcode
from websockets.protocol import SERVER, Protocol, State

from realtime_llm.dialects import LocalDialect
from realtime_llm.transport import RealtimeConnection
from realtime_llm.transport.framing import ClientTextFramer

# Each length form of RFC 6455: 7-bit, 16-bit (126) and 64-bit (127) payload lengths.
SIZES = [0, 1, 125, 126, 127, 65535, 65536, 200_000]


def _server_reading(data: bytes) -> list[str]:
    """What websockets' sans-I/O server side makes of the bytes (it checks the masking)."""
    protocol = Protocol(SERVER, state=State.OPEN, max_size=None)  # past the handshake
    protocol.receive_data(data)
    frames = protocol.events_received()
    assert all(f.opcode is Opcode.TEXT and f.fin for f in frames)
    assert protocol.state is State.OPEN, "the reader found a protocol error"
    return [f.data.decode() for f in frames]


@pytest.mark.parametrize("size", SIZES)
def test_a_frame_of_each_length_form_reads_back(size: int) -> None:
    text = "x" * size
    assert _server_reading(ClientTextFramer().frame(text.encode())) == [text]


def test_frames_back_to_back_read_back_in_order_with_fresh_keys() -> None:
    framer = ClientTextFramer()
    texts = [f"message {i} " * (i % 40) for i in range(2500)]  # more frames than one key fetch
    frames = [framer.frame(t.encode()) for t in texts]
    assert _server_reading(b"".join(frames)) == texts
    keys = [f[2:6] if len(f) - 6 < 126 else f[4:8] for f in frames]
    assert len(set(keys)) > 2400  # random 4-byte keys: a handful of collisions at most


def test_a_payload_that_is_not_masked_is_refused_by_the_reader() -> None:
    """The reader above would notice a frame we got wrong: an unmasked one is an error."""
    protocol = Protocol(SERVER, state=State.OPEN)
    protocol.receive_data(bytes([0x81, 0x02]) + b"hi")  # no mask bit
    assert protocol.events_received() == []
    assert protocol.state is not State.OPEN
    close_frame = protocol.data_to_send()[0]
    assert close_frame[0] == 0x88 and close_frame[2:4] == (1002).to_bytes(2, "big")


async def test_appends_of_every_size_reach_a_real_server_whole_and_in_order() -> None:
    received: list[str] = []
    done = asyncio.Event()
    chunks = [bytes((i * 7 + j) & 0xFF for j in range(n)) for i, n in enumerate(SIZES * 3)]

    async def read(ws: ServerConnection) -> None:
        async for message in ws:
            assert isinstance(message, str)
            received.append(message)
            if len(received) == len(chunks) + 1:
                done.set()

    async with serve(read, "127.0.0.1", 0, max_size=None) as raw:
        port = next(iter(raw.sockets)).getsockname()[1]
        connection = RealtimeConnection(LocalDialect(f"ws://127.0.0.1:{port}/v1/realtime"), "m")
        await connection.connect(None)
        for chunk in chunks:
            audio = base64.b64encode(chunk).decode()
            assert await connection.send({"type": "input_audio_buffer.append", "audio": audio})
        # An event websockets frames itself, after the appends: the order is kept.
        assert await connection.send({"type": "input_audio_buffer.commit"})
        await asyncio.wait_for(done.wait(), 10)
        await connection.close()
    expected = [
        '{"type":"input_audio_buffer.append","audio":"' + base64.b64encode(c).decode() + '"}'
        for c in chunks
    ]
    assert received == [*expected, '{"type":"input_audio_buffer.commit"}']


async def test_an_append_after_the_server_closed_reports_the_socket_gone() -> None:
    async def close_at_once(ws: ServerConnection) -> None:
        await ws.close()

    async with serve(close_at_once, "127.0.0.1", 0) as raw:
        port = next(iter(raw.sockets)).getsockname()[1]
        connection = RealtimeConnection(LocalDialect(f"ws://127.0.0.1:{port}/v1/realtime"), "m")
        await connection.connect(None)
        async for _ in connection.events():
            pass  # until the close
        event = {"type": "input_audio_buffer.append", "audio": "AAAA"}
        assert await connection.send(event) is False
        await connection.close()
