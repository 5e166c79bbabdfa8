"""The recorded sessions in ``data/``: which dialect each speaks and what was said in it.

The conversations are read off the recordings (``data/*/*.yaml``): the expected context is
what the recorded client said and what the real server answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
WEATHER = "It is foggy and 12 degrees in London."


@dataclass(frozen=True)
class Recorded:
    """One cassette and what a client replaying it must end up with."""

    path: str
    client_dialect: str
    """Our client's dialect for the recorded server."""
    server_dialect: str
    """The local server's dialect that imitates the recorded server."""
    user_text: str | None
    """What the user typed (None: the user spoke, server VAD)."""
    context: tuple[dict[str, Any], ...]
    """The context after the conversation, tool call ids as recorded."""
    replies: int
    """How many responses the server made."""

    @property
    def file(self) -> Path:
        return DATA / self.path

    @property
    def id(self) -> str:
        return self.path.removesuffix(".yaml")


def _tool_round(
    call_id: str, *, preamble: str | None = None, reply: str = WEATHER
) -> tuple[dict[str, Any], ...]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "What is the weather in London?"}]
    if preamble:
        messages.append({"role": "assistant", "content": preamble})
    call = {"id": call_id, "function": {"name": "get_weather", "arguments": '{"city": "London"}'}}
    messages += [
        {"role": "assistant", "tool_calls": [{**call, "type": "function"}]},
        {"role": "tool", "content": f'"{WEATHER}"', "tool_call_id": call_id},
        {"role": "assistant", "content": reply},
    ]
    return tuple(messages)


RECORDED = [
    Recorded(
        "test_openai_ws/test_text_in_audio_out_turn.yaml",
        "openai",
        "ga",
        "Say a short greeting.",
        (
            {"role": "user", "content": "Say a short greeting."},
            {"role": "assistant", "content": "Hi there!"},
        ),
        1,
    ),
    Recorded(
        "test_openai_ws/test_audio_in_server_vad_turn.yaml",
        "openai",
        "ga",
        None,
        (
            {"role": "user", "content": "Hello, my name is Marcelo."},
            {
                "role": "assistant",
                "content": "Hello, Marcelo! Great to meet you. How can I help you today?",
            },
        ),
        1,
    ),
    Recorded(
        "test_openai_ws/test_tool_call_round.yaml",
        "openai",
        "ga",
        "What is the weather in London?",
        _tool_round("call_uMNE0Myi2tDTPu0w"),
        2,
    ),
    Recorded(
        "test_azure_ws/test_tool_call_round.yaml",
        "azure",
        "azure",
        "What is the weather in London?",
        _tool_round("call_I5nx0fK2YAldYQZs"),
        2,
    ),
    Recorded(
        "test_xai_ws/test_tool_call_round.yaml",
        "xai",
        "xai",
        "What is the weather in London?",
        _tool_round(
            "call-af8ed632-2074-4b5f-b719-7aa47250d3c6-0",
            preamble="I'll check the weather for London right away.",
            reply="It is foggy and 12 degrees in London. The weather is foggy and 12 degrees.",
        ),
        2,
    ),
]
