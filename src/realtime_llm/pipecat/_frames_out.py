"""Core outputs -> frames, metrics and spans: the output table of the glue.

:class:`FrameOutputs` is composed by :class:`~realtime_llm.RealtimeLLMService` (not a base
class of it) and is the :class:`~realtime_llm.client.RealtimeClient`'s ``on_output``
handler: the client sends the client events itself and hands every other output here.
Each output type has one small handler, listed in ``_OUTPUT_ACTIONS``.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar

from loguru import logger
from pipecat.frames.frames import (
    Frame,
    FunctionCallCancelFrame,
    FunctionCallFromLLM,
    FunctionCallResultFrame,
    InterimTranscriptionFrame,
    InterruptionFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    MetricsFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
    TTSTextFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frame_processor import FrameDirection
from pipecat.utils.errors import ErrorCategory
from pipecat.utils.text.base_text_aggregator import TextType
from pipecat.utils.time import time_now_iso8601

from realtime_llm.client import ClientFailed, ClientOutput, EventHandlingFailed
from realtime_llm.errors import ErrorClass
from realtime_llm.observability.ledger import UsageReport
from realtime_llm.pipecat.context import CANCELLED_OUTPUT, output_item
from realtime_llm.pipecat.media import wav_from_wire_audio
from realtime_llm.pipecat.usage_metrics import cost_metrics, token_usage
from realtime_llm.protocol import outputs as out
from realtime_llm.session_properties import SessionProperties

if TYPE_CHECKING:
    from realtime_llm.pipecat.service import RealtimeLLMService

__all__ = ["FrameOutputs"]

_CATEGORIES = {
    "invalid_api_key": ErrorCategory.AUTHENTICATION,
    "account_deactivated": ErrorCategory.AUTHORIZATION,
    "insufficient_quota": ErrorCategory.QUOTA,
    "billing_hard_limit_reached": ErrorCategory.QUOTA,
    "rate_limit_exceeded": ErrorCategory.RATE_LIMIT,
}
"""pipecat's error categories for the server codes that have one."""
AUDIO_NOT_KEPT = "[the user spoke here; the recording is no longer kept]"
"""What an audio-only user turn becomes in the context once it is past the audio bound."""

_CLASS_CATEGORIES = {
    ErrorClass.TRANSIENT: ErrorCategory.SERVER,
    ErrorClass.RATE_LIMITED: ErrorCategory.RATE_LIMIT,
    ErrorClass.SESSION_END: ErrorCategory.SERVER,
    ErrorClass.FATAL: ErrorCategory.CONNECTIVITY,
}


class FrameOutputs:
    """Acts on the session core's outputs for one service (composed, not inherited).

    It holds the state that only the output side needs (the reply being played, where
    late user turns go) and reaches the service for frames, metrics, the context and the
    tracer: pipecat's ``push_frame`` and metrics belong to the processor, so they are
    called on it.
    """

    def __init__(self, service: RealtimeLLMService, max_replay_audio_s: float) -> None:
        self._llm = service
        self._max_audio_s = max_replay_audio_s
        self._audio_turns: deque[tuple[dict[str, Any], float]] = deque()
        """The audio-only user turns in the context that still hold audio, oldest first."""
        self._audio_turns_s = 0.0
        self._reply_text: list[str] = []
        """The text of the reply in progress (transcript or text deltas)."""
        self._awaiting_first_audio = False
        self._current_response = ""
        self._late_slots: dict[str, int] = {}
        """Where in the context each overdue user turn goes (item id -> index)."""

    def __str__(self) -> str:
        return str(self._llm)

    def _redact(self, text: str) -> str:
        """``text`` without any credential the client holds (servers may echo them)."""
        return self._llm._client.redactor(text)

    @property
    def _props(self) -> SessionProperties:
        return self._llm._props

    async def handle(self, output: ClientOutput) -> None:
        """The client's ``on_output``: one output through the table."""
        await self._OUTPUT_ACTIONS[type(output)](self, output)

    async def _act(self, outputs: list[out.Output]) -> None:
        await self._llm._client.act(outputs)  # the client settles the tracer's turn

    async def _session_ready(self, o: out.SessionReady) -> None:
        logger.debug(f"{self}: session ready")
        self._llm._tracer.session_ready()

    async def _response_started(self, o: out.ResponseStarted) -> None:
        self._reply_text = []
        self._awaiting_first_audio = True
        self._current_response = o.response_id
        self._llm._conversation_started = True
        props = self._props
        self._llm._tracer.response_started(
            o.response_id,
            model=str(self._llm._settings.model),
            voice=props.voice or "",
            modalities=list(props.output_modalities or ["audio"]),
            now=time.monotonic(),
        )
        await self._llm.push_frame(LLMFullResponseStartFrame())

    async def _response_ended(self, o: out.ResponseEnded) -> None:
        if o.overdue_transcripts and self._llm._context is not None:
            # These user turns come before this reply: remember where it starts.
            slot = len(self._llm._context.get_messages())
            for item_id in o.overdue_transcripts:
                self._late_slots.setdefault(item_id, slot)
        if self._reply_text:
            self._llm._context_sync.server_replied("".join(self._reply_text))
            self._reply_text = []
        report = self._llm._tracer.response_finished(
            o.response_id,
            status=o.status,
            usage=o.usage,
            interrupted=o.interrupted,
            now=time.monotonic(),
            reason=o.reason,
        )
        if report is not None:
            await self._report_usage(report)
        await self._llm.stop_processing_metrics()
        await self._llm.push_frame(LLMFullResponseEndFrame())
        if o.status == "failed":
            await self._llm.push_error(
                f"the realtime response failed: {o.error_message or o.reason}"
            )

    async def _response_usage(self, o: out.ResponseUsage) -> None:
        report = self._llm._tracer.response_usage(o.response_id, o.usage)
        if report is not None:
            await self._report_usage(report)

    async def _report_usage(self, report: UsageReport) -> None:
        """Token usage and cost of a response: metrics frames, then ``on_usage``."""
        llm = self._llm
        await llm.start_llm_usage_metrics(token_usage(report.usage))
        if llm.usage_metrics_enabled and llm.can_generate_metrics():
            await llm.push_frame(MetricsFrame(data=[cost_metrics(llm.name, report)]))
        await llm._call_event_handler("on_usage", report)

    async def _audio_started(self, o: out.AudioStarted) -> None:
        await self._llm.push_frame(TTSStartedFrame())

    async def _audio_chunk(self, o: out.AudioChunk) -> None:
        if self._awaiting_first_audio:
            self._awaiting_first_audio = False
            await self._llm.stop_ttfb_metrics()
            self._llm._tracer.response_first_audio(self._current_response, time.monotonic())
        await self._llm.push_frame(
            TTSAudioRawFrame(self._llm._decoder.decode(o.audio_b64), self._llm._output_rate, 1)
        )

    async def _audio_stopped(self, o: out.AudioStopped) -> None:
        await self._llm.push_frame(TTSStoppedFrame())

    async def _assistant_transcript(self, o: out.AssistantTranscript) -> None:
        self._reply_text.append(o.text)
        llm_text = LLMTextFrame(o.text)
        llm_text.append_to_context = False  # the TTSTextFrame below carries it into context
        await self._llm.push_frame(llm_text)
        tts_text = TTSTextFrame(o.text, text_type=TextType.WORD)
        tts_text.includes_inter_frame_spaces = True  # the server's deltas carry their spaces
        await self._llm.push_frame(tts_text)

    async def _assistant_text(self, o: out.AssistantText) -> None:
        if self._awaiting_first_audio:
            self._awaiting_first_audio = False
            await self._llm.stop_ttfb_metrics()
        self._reply_text.append(o.text)
        await self._llm.push_frame(LLMTextFrame(o.text))

    async def _user_speech_started(self, o: out.UserSpeechStarted) -> None:
        self._llm._tracer.user_speech_started(time.monotonic())
        await self._llm.broadcast_frame(UserStartedSpeakingFrame)
        await self._llm.broadcast_interruption()  # type: ignore[no-untyped-call]
        # broadcast_interruption() hands the InterruptionFrame to the neighbours only: it
        # never passes through this service's own process_frame, where LLMService cancels
        # the function calls registered with cancel_on_interruption=True. Do that part here,
        # so a barge-in heard by server VAD cancels them as a queued InterruptionFrame does.
        await self._llm._handle_interruptions(InterruptionFrame())  # type: ignore[no-untyped-call]

    async def _user_speech_stopped(self, o: out.UserSpeechStopped) -> None:
        await self._start_turn_metrics()
        await self._llm.broadcast_frame(UserStoppedSpeakingFrame)

    async def _start_turn_metrics(self) -> None:
        self._llm._tracer.reply_requested(time.monotonic())
        await self._llm.start_ttfb_metrics()
        await self._llm.start_processing_metrics()

    async def _user_transcript_delta(self, o: out.UserTranscriptDelta) -> None:
        frame = InterimTranscriptionFrame(o.text, "", time_now_iso8601())
        await self._llm.push_frame(frame, FrameDirection.UPSTREAM)

    async def _user_transcript(self, o: out.UserTranscript) -> None:
        self._llm._conversation_started = True
        self._llm._tracer.user_transcription(o.item_id, o.text)
        frame = TranscriptionFrame(o.text, "", time_now_iso8601(), finalized=True)
        if o.late and self._place_late_user_turn(o.item_id, {"role": "user", "content": o.text}):
            # Not upstream: the user aggregator would merge it into the turn it is
            # gathering now. Downstream, observers still see what the user said.
            await self._llm.push_frame(frame, FrameDirection.DOWNSTREAM)
            return
        self._llm._context_sync.server_transcribed_user(o.text)
        await self._llm.push_frame(frame, FrameDirection.UPSTREAM)

    async def _user_audio_turn(self, o: out.UserAudioTurn) -> None:
        """A user turn with no transcript: recorded in the context as its audio.

        Nothing else would record it (the user aggregator writes transcriptions), and a new
        session replayed from the context would not know the user spoke. The message has
        the shape of pipecat's ``LLMContext.create_audio_message`` (a WAV ``input_audio``
        part); the server has the turn, so it is never sent to this session. Placed before
        the reply it prompted: at the end of the context now (the reply is written when it
        ends), or, if that reply already ended, where it starts.
        """
        context = self._llm._context
        if context is None:
            return
        self._llm._conversation_started = True
        encoder = self._llm._audio
        wav = wav_from_wire_audio(o.audio, encoder.audio_format, encoder.rate)
        audio = {"type": "input_audio", "input_audio": {"data": wav, "format": "wav"}}
        message: dict[str, Any] = {"role": "user", "content": [audio]}
        if not (o.late and self._place_late_user_turn(o.item_id, message)):
            context.add_message(message)  # type: ignore[arg-type]
            self._llm._context_sync.mark_sent(message)
        seconds = sum(map(len, o.audio)) * 3 / 4 / (encoder.bytes_per_ms * 1000)
        self._keep_audio(message, seconds)

    def _keep_audio(self, message: dict[str, Any], seconds: float) -> None:
        """Hold at most ``max_replay_audio_s`` of recorded turns: older ones lose their
        audio (a note stays in their place), which bounds both the memory a long call
        holds and what a replay sends (and bills) again."""
        self._audio_turns.append((message, seconds))
        self._audio_turns_s += seconds
        while self._audio_turns and self._audio_turns_s > self._max_audio_s:
            oldest, oldest_s = self._audio_turns.popleft()
            self._audio_turns_s -= oldest_s
            oldest["content"] = [{"type": "text", "text": AUDIO_NOT_KEPT}]

    def _place_late_user_turn(self, item_id: str, message: dict[str, Any]) -> bool:
        """Write a late user turn into the context before the reply it prompted.

        The reply's end recorded where that reply starts in the context; user messages
        written at that point (other turns flushed with the reply) stay before it, in the
        order they were spoken. Returns False when there is no such place (no context).
        """
        slot = self._late_slots.pop(item_id, None)
        context = self._llm._context
        if context is None or slot is None:
            return False
        messages = list(context.get_messages())
        index = min(slot, len(messages))
        while index < len(messages) and _role(messages[index]) == "user":
            index += 1
        messages.insert(index, message)  # type: ignore[arg-type]
        context.set_messages(messages)
        self._llm._context_sync.mark_sent(message)  # the server has this turn: never send it
        return True

    async def _tool_calls(self, o: out.ToolCallsRequested) -> None:
        if self._llm._context is None:
            self._llm._context = LLMContext()
        calls = [
            FunctionCallFromLLM(
                function_name=c.name,
                tool_call_id=c.call_id,
                arguments=c.arguments,
                context=self._llm._context,
            )
            for c in o.calls
        ]
        for c in o.calls:
            self._llm._tracer.tool_call_started(
                c.call_id, c.name, json.dumps(dict(c.arguments)), response_id=self._current_response
            )
        await self._llm.run_function_calls(calls)

    async def function_call_settled(self, frame_cls: type[Frame], kwargs: dict[str, Any]) -> None:
        """Settle a function call on the server the moment pipecat settles it.

        LLMService broadcasts ``FunctionCallResultFrame`` (a handler returned) and
        ``FunctionCallCancelFrame`` (an interruption, a timeout, the model cancelled it)
        from this service; neither comes back through ``process_frame``, and the context
        sync only runs when an aggregator pushes the context, which it does only when
        inference should run. So the output is sent here, at once, whatever ``run_llm``
        says: a ``run_llm=False`` result and a cancelled call do not leave the call open
        on the server. Whether the model then speaks stays the aggregator's decision: its
        context push (after the bot stops speaking, once per group of parallel calls) is
        what asks for a response, and the context sync finds the output already sent (the
        core sends one output per call id).
        """
        if frame_cls is FunctionCallResultFrame:
            await self._function_call_returned(**kwargs)
        elif frame_cls is FunctionCallCancelFrame:
            await self._function_call_cancelled(str(kwargs.get("tool_call_id")))

    async def _function_call_returned(
        self,
        *,
        tool_call_id: str,
        result: Any = None,
        properties: Any = None,
        error: str | None = None,
        **_: Any,
    ) -> None:
        """A handler's result: a final one is the call's output (an update waits, see below).

        The output is the real result even for an async call (``cancel_on_interruption=
        False``): its "running" placeholder is never sent (see :mod:`~.context`), so the
        call's one output is still free when the result arrives, however late. An
        intermediate update (``is_final=False``) is not an output; it reaches the server
        as a system message through the context sync, and the call stays open.
        """
        if properties is not None and not getattr(properties, "is_final", True):
            return
        # The same text pipecat writes into the context, so both paths agree.
        output = json.dumps(result, ensure_ascii=False) if result else "COMPLETED"
        self._llm._tracer.tool_call_finished(tool_call_id, error=error)
        await self._act(self._llm._session.create_items([output_item(tool_call_id, output)]))

    async def _function_call_cancelled(self, tool_call_id: str) -> None:
        """A cancelled call is answered "cancelled" now, not at the next context sync."""
        self._llm._tracer.tool_call_finished(tool_call_id, error="cancelled")
        await self._act(
            self._llm._session.create_items([output_item(tool_call_id, CANCELLED_OUTPUT)])
        )

    async def _item_created(self, o: out.ItemCreated) -> None:
        await self._llm._call_event_handler("on_conversation_item_created", o.item_id, o.item)

    async def _item_updated(self, o: out.ItemUpdated) -> None:
        await self._llm._call_event_handler("on_conversation_item_updated", o.item_id, o.item)

    async def _retrieve_finished(self, o: out.RetrieveFinished) -> None:
        """The client resolves the waiting ``retrieve_conversation_item()`` callers."""

    async def _feature_unavailable(self, o: out.FeatureUnavailable) -> None:
        logger.warning(f"{self}: {self._llm._dialect.name} has no {o.feature}; {o.consequence}")

    async def _error_reported(self, o: out.ErrorReported) -> None:
        code = f" ({self._redact(o.code)})" if o.code else ""
        message = self._redact(o.message)  # a server may echo the key it was sent
        if o.error_class is ErrorClass.BENIGN:
            logger.debug(f"{self}: benign server error{code}: {message}")
            return
        # A transient one also makes the client start a fresh session, and a rate limit
        # makes it wait and ask again (it sees them too).
        await self._report_error(f"realtime server error{code}: {message}", o.error_class, o.code)

    async def _event_handling_failed(self, o: EventHandlingFailed) -> None:
        """One bad server event: a non-fatal ErrorFrame, and the session goes on."""
        await self._report_error(o.message, ErrorClass.RECOVERABLE)

    async def _client_failed(self, o: ClientFailed) -> None:
        """The client has no session and gives up: one permanent ErrorFrame."""
        await self._report_error(o.message, o.error_class)

    async def _report_error(
        self, message: str, error_class: ErrorClass, code: str | None = None
    ) -> None:
        """One ErrorFrame upstream; a fatal error also marks the service unusable."""
        category = _CATEGORIES.get(code or "") or _CLASS_CATEGORIES.get(error_class)
        await self._llm.push_error(
            self._redact(message),
            category=category,
            force_treat_as_permanent=error_class is ErrorClass.FATAL,
        )

    _OUTPUT_ACTIONS: ClassVar[dict[type, Callable[..., Awaitable[None]]]] = {
        out.AudioChunk: _audio_chunk,
        out.AssistantTranscript: _assistant_transcript,
        out.AssistantText: _assistant_text,
        out.SessionReady: _session_ready,
        out.ResponseStarted: _response_started,
        out.ResponseEnded: _response_ended,
        out.ResponseUsage: _response_usage,
        out.AudioStarted: _audio_started,
        out.AudioStopped: _audio_stopped,
        out.UserSpeechStarted: _user_speech_started,
        out.UserSpeechStopped: _user_speech_stopped,
        out.UserTranscriptDelta: _user_transcript_delta,
        out.UserTranscript: _user_transcript,
        out.UserAudioTurn: _user_audio_turn,
        out.ToolCallsRequested: _tool_calls,
        out.ItemCreated: _item_created,
        out.ItemUpdated: _item_updated,
        out.RetrieveFinished: _retrieve_finished,
        out.ErrorReported: _error_reported,
        out.FeatureUnavailable: _feature_unavailable,
        ClientFailed: _client_failed,
        EventHandlingFailed: _event_handling_failed,
    }
    """Core output type -> what the glue does with it."""


def _role(message: Any) -> str | None:
    return message.get("role") if isinstance(message, dict) else None
