"""Spoken turns: server VAD, manual commits, the input buffer rules, barge-in, G.711."""

from __future__ import annotations

from realtime_llm.server import ScriptedEngine, Turn, tone_synthesize

from .conftest import MakeServer
from .helpers import audio_of, connect_client, silence, tone

TRANSCRIBE = {
    "type": "session.update",
    "session": {"type": "realtime", "audio": {"input": {"transcription": {"model": "whisper-1"}}}},
}


async def test_a_spoken_turn_with_server_vad(make_server: MakeServer) -> None:
    engine = ScriptedEngine([Turn(user="What's up?", reply="Not much, and you?")])
    server = await make_server(engine)
    async with connect_client(server) as client:
        await client.send(TRANSCRIBE)
        await client.wait_for("session.updated")
        await client.append(silence(400) + tone(700) + silence(700))

        started = await client.wait_for("input_audio_buffer.speech_started")
        stopped = await client.wait_for("input_audio_buffer.speech_stopped")
        committed = await client.wait_for("input_audio_buffer.committed")
        assert started["item_id"] == stopped["item_id"] == committed["item_id"]
        assert started["audio_start_ms"] == 400 - 300  # onset minus the prefix padding
        assert stopped["audio_end_ms"] == 400 + 700 + 500  # end of speech plus the silence
        assert committed["previous_item_id"] is None

        added = await client.wait_for("conversation.item.added")
        assert added["item"]["role"] == "user"
        assert added["item"]["content"] == [{"type": "input_audio", "transcript": None}]
        events = await client.collect_until("response.done")
        done = events[-1]["response"]

    types = client.types()
    completed = next(
        e
        for e in client.events
        if e["type"] == "conversation.item.input_audio_transcription.completed"
    )
    assert completed["transcript"] == "What's up?"
    assert completed["item_id"] == committed["item_id"]
    assert completed["usage"] == {"type": "duration", "seconds": 2}  # whole seconds
    # The reply streamed in GA order, and its audio is exactly the engine's speech.
    expected_order = [
        "response.created",
        "response.output_item.added",
        "conversation.item.added",
        "response.content_part.added",
        "response.output_audio.delta",
        "response.output_audio.done",
        "response.output_audio_transcript.done",
        "response.content_part.done",
        "conversation.item.done",  # before the output's done, as the real service sends them
        "response.output_item.done",
        "response.done",
    ]
    reply = [
        t
        for t in types[types.index("response.created") :]
        if not t.startswith("conversation.item.input_audio_transcription")
        and t != "response.output_audio_transcript.delta"
    ]
    assert [t for i, t in enumerate(reply) if i == 0 or reply[i - 1] != t] == expected_order
    assert types.count("response.output_audio.delta") > 5
    assert audio_of(client.events, done["id"]) == tone_synthesize("Not much, and you?")
    transcript = "".join(
        e["delta"] for e in client.events if e["type"] == "response.output_audio_transcript.delta"
    )
    assert transcript == "Not much, and you?"
    assert done["status"] == "completed"
    assert done["output"][0]["content"][0]["transcript"] == "Not much, and you?"
    usage = done["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"] > 0
    assert usage["input_token_details"]["audio_tokens"] == 15  # 1.5 s committed, 10/s
    assert usage["output_token_details"]["audio_tokens"] > 0
    # The engine was given the transcript of what it heard.
    conversation, _ = engine.requests[0]
    assert conversation[0]["content"][0]["transcript"] == "What's up?"


async def test_turn_detection_null_means_manual_commit_and_response(
    make_server: MakeServer,
) -> None:
    server = await make_server(ScriptedEngine([Turn(user="hello", reply="Hi.")]))
    async with connect_client(server) as client:
        await client.send(
            {
                "type": "session.update",
                "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
            }
        )
        await client.wait_for("session.updated")
        await client.append(tone(500) + silence(1000))
        await client.send({"type": "input_audio_buffer.commit", "event_id": "evt_commit"})
        committed = await client.wait_for("input_audio_buffer.committed")
        await client.wait_for("conversation.item.done")
        assert not await client.quiet(0.1)  # no VAD events, no automatic response
        await client.send({"type": "response.create"})
        done = (await client.wait_for("response.done"))["response"]
    assert "input_audio_buffer.speech_started" not in client.types()
    assert done["output"][0]["content"][0]["transcript"] == "Hi."
    retrieved = [e for e in server.received if e["type"] == "input_audio_buffer.commit"]
    assert retrieved[0]["event_id"] == "evt_commit"
    assert committed["item_id"].startswith("item_")


async def test_commit_under_100_ms_is_an_error(make_server: MakeServer) -> None:
    server = await make_server()
    async with connect_client(server) as client:
        await client.send({"type": "input_audio_buffer.commit", "event_id": "evt_empty"})
        error = (await client.wait_for("error"))["error"]
        assert error["code"] == "input_audio_buffer_commit_empty"
        assert error["event_id"] == "evt_empty"
        assert "0.00ms" in error["message"]
        await client.append(silence(60))
        await client.send({"type": "input_audio_buffer.commit"})
        error = (await client.wait_for("error"))["error"]
        assert "60.00ms" in error["message"]


async def test_clear_empties_the_buffer(make_server: MakeServer) -> None:
    server = await make_server()
    async with connect_client(server) as client:
        await client.send(
            {
                "type": "session.update",
                "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
            }
        )
        await client.append(silence(300))
        await client.send({"type": "input_audio_buffer.clear"})
        await client.wait_for("input_audio_buffer.cleared")
        await client.send({"type": "input_audio_buffer.commit"})
        assert (await client.wait_for("error"))["error"][
            "code"
        ] == "input_audio_buffer_commit_empty"


async def test_speech_during_a_response_interrupts_it(make_server: MakeServer) -> None:
    long_reply = "This is a long answer that keeps going for quite a while."
    engine = ScriptedEngine(
        [Turn(user="tell me", reply=long_reply), Turn(user="stop", reply="OK.")]
    )
    server = await make_server(engine, chunk_interval_s=0.01)
    async with connect_client(server) as client:
        await client.append(tone(400) + silence(600))
        first = (await client.wait_for("response.created"))["response"]
        await client.wait_for("response.output_audio.delta")
        await client.append(tone(400))  # the user barges in
        await client.wait_for("input_audio_buffer.speech_started")
        done = (await client.wait_for("response.done"))["response"]
        assert done["id"] == first["id"]
        assert done["status"] == "cancelled"
        assert done["status_details"] == {"type": "cancelled", "reason": "turn_detected"}
        assert done["output"][0]["status"] == "incomplete"
        received = len(audio_of(client.events, first["id"]))
        assert 0 < received < len(tone_synthesize(long_reply))
        await client.append(silence(600))
        second = (await client.wait_for("response.done"))["response"]
        assert second["status"] == "completed"
    # Nothing of the cancelled response follows its response.done.
    ended = next(
        i
        for i, e in enumerate(client.events)
        if e["type"] == "response.done" and e["response"]["id"] == first["id"]
    )
    assert not [e for e in client.events[ended + 1 :] if e.get("response_id") == first["id"]]


async def test_interrupt_response_false_lets_the_reply_finish(make_server: MakeServer) -> None:
    engine = ScriptedEngine([Turn(user="a", reply="A reply of a certain length.")])
    server = await make_server(engine, chunk_interval_s=0.01)
    async with connect_client(server) as client:
        await client.send(
            {
                "type": "session.update",
                "session": {
                    "type": "realtime",
                    "audio": {
                        "input": {
                            "turn_detection": {
                                "type": "server_vad",
                                "interrupt_response": False,
                                "create_response": False,
                            }
                        }
                    },
                },
            }
        )
        await client.wait_for("session.updated")
        await client.append(tone(300) + silence(600))
        await client.wait_for("input_audio_buffer.committed")
        assert "response.created" not in [e["type"] for e in await client.quiet(0.1)]
        await client.send({"type": "response.create"})
        await client.wait_for("response.output_audio.delta")
        await client.append(tone(300))
        await client.wait_for("input_audio_buffer.speech_started")
        done = (await client.wait_for("response.done"))["response"]
        assert done["status"] == "completed"


async def test_g711_mu_law_in_and_out(make_server: MakeServer) -> None:
    server = await make_server(ScriptedEngine([Turn(user="hi", reply="Hello.")]))
    async with connect_client(server) as client:
        await client.send(
            {
                "type": "session.update",
                "session": {
                    "type": "realtime",
                    "audio": {
                        "input": {"format": {"type": "audio/pcmu"}},
                        "output": {"format": {"type": "audio/pcmu"}},
                    },
                },
            }
        )
        session = (await client.wait_for("session.updated"))["session"]
        assert session["audio"]["input"]["format"] == {"type": "audio/pcmu"}
        # 8 kHz mu-law: 8 bytes per ms. 0xFF is mu-law silence, 0x80/0x00 are loud.
        await client.append(bytes([0x80, 0x00] * 2400) + b"\xff" * 6400, chunk_ms=50)
        done = (await client.wait_for("response.done"))["response"]
    started = next(e for e in client.events if e["type"] == "input_audio_buffer.speech_started")
    assert started["audio_start_ms"] == 0
    out = audio_of(client.events, done["id"])
    assert len(out) == len(tone_synthesize("Hello.")) // 6  # 24 kHz PCM16 -> 8 kHz 8-bit
