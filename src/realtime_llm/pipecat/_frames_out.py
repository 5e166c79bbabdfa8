"""Core outputs -> sends, frames, metrics and spans: the second table of the glue.

:class:`FrameOutputs` is the half of :class:`~realtime_llm.RealtimeLLMService` that acts on
what the session core returns. Each output type has one small handler, listed in
``_OUTPUT_ACTIONS``; ``_act`` runs a list of outputs through it in order. The state it
reads is set up by the service's ``__init__``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar

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
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
    TTSTextFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.metrics.metrics import LLMTokenUsage
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.llm_service import LLMService
from pipecat.utils.errors import ErrorCategory
from pipecat.utils.text.base_text_aggregator import TextType
from pipecat.utils.time import time_now_iso8601

from realtime_llm.dialects import Dialect
from realtime_llm.errors import ErrorClass, RequestFailed
from realtime_llm.pipecat.adapter import RealtimeLLMAdapter
from realtime_llm.pipecat.context import CANCELLED_OUTPUT, output_item
from realtime_llm.pipecat.context_sync import ContextSync
from realtime_llm.pipecat.media import AudioDecoder
from realtime_llm.pipecat.settings import RealtimeLLMSettings
from realtime_llm.protocol import outputs as out
from realtime_llm.protocol.session import RealtimeSession
from realtime_llm.redaction import Redactor
from realtime_llm.session_properties import SessionProperties
from realtime_llm.tracing import SessionTracer
from realtime_llm.transport import RealtimeConnection

__all__ = ["FrameOutputs"]

_CATEGORIES = {
    "invalid_api_key": ErrorCategory.AUTHENTICATION,
    "account_deactivated": ErrorCategory.AUTHORIZATION,
    "insufficient_quota": ErrorCategory.QUOTA,
    "billing_hard_limit_reached": ErrorCategory.QUOTA,
    "rate_limit_exceeded": ErrorCategory.RATE_LIMIT,
}
"""pipecat's error categories for the server codes that have one."""
_CLASS_CATEGORIES = {
    ErrorClass.TRANSIENT: ErrorCategory.SERVER,
    ErrorClass.RATE_LIMITED: ErrorCategory.RATE_LIMIT,
    ErrorClass.SESSION_END: ErrorCategory.SERVER,
    ErrorClass.FATAL: ErrorCategory.CONNECTIVITY,
}

_TRANSCRIPT_WAIT_S = 2.0
"""How long a finished reply waits for the user transcript that should precede it."""


class FrameOutputs(LLMService[RealtimeLLMAdapter]):
    """Acts on the session core's outputs. Not used on its own: see RealtimeLLMService."""

    _settings: RealtimeLLMSettings
    _dialect: Dialect
    _session: RealtimeSession
    _connection: RealtimeConnection | None
    _context: LLMContext | None
    _context_sync: ContextSync
    _tracer: SessionTracer
    _output_rate: int
    _decoder: AudioDecoder
    _reply_has_text: bool
    _awaiting_first_audio: bool
    _current_response: str
    _conversation_started: bool
    _retrievals: dict[str, asyncio.Future[Mapping[str, Any]]]
    _release_task: asyncio.Task[None] | None
    _user_speaking: bool
    _late_slots: dict[str, int]
    _redact: Redactor

    @property
    def _props(self) -> SessionProperties:
        props = self._settings.session_properties
        assert isinstance(props, SessionProperties), "store settings always have a session"
        return props

    async def _act(self, outputs: list[out.Output]) -> None:
        actions = self._OUTPUT_ACTIONS
        for output in outputs:
            await actions[type(output)](self, output)

    async def _send(self, o: out.Send) -> None:
        connection = self._connection
        if connection is None or not await connection.send(o.event):
            logger.debug(f"{self}: not connected; {o.event.get('type')} not sent")

    async def _session_ready(self, o: out.SessionReady) -> None:
        logger.debug(f"{self}: session ready")

    async def _response_started(self, o: out.ResponseStarted) -> None:
        self._reply_has_text = False
        self._awaiting_first_audio = True
        self._current_response = o.response_id
        self._conversation_started = True
        props = self._props
        self._tracer.response_started(
            o.response_id,
            model=str(self._settings.model),
            voice=props.voice or "",
            modalities=list(props.output_modalities or ["audio"]),
            now=time.monotonic(),
        )
        await self.push_frame(LLMFullResponseStartFrame())

    async def _response_ended(self, o: out.ResponseEnded) -> None:
        if o.overdue_transcripts and self._context is not None:
            # These user turns come before this reply: remember where it starts.
            slot = len(self._context.get_messages())
            for item_id in o.overdue_transcripts:
                self._late_slots.setdefault(item_id, slot)
        if self._reply_has_text:
            self._context_sync.server_replied()
            self._reply_has_text = False
        usage = o.usage or {}
        if usage:
            await self.start_llm_usage_metrics(_token_usage(usage))
        await self.stop_processing_metrics()
        self._tracer.response_finished(
            o.response_id,
            status=o.status,
            usage=dict(usage) if usage else None,
            interrupted=o.interrupted,
            now=time.monotonic(),
        )
        await self.push_frame(LLMFullResponseEndFrame())
        if o.status == "failed":
            await self.push_error(f"the realtime response failed: {o.error_message or o.reason}")

    async def _audio_started(self, o: out.AudioStarted) -> None:
        await self.push_frame(TTSStartedFrame())

    async def _audio_chunk(self, o: out.AudioChunk) -> None:
        if self._awaiting_first_audio:
            self._awaiting_first_audio = False
            await self.stop_ttfb_metrics()
            self._tracer.response_first_audio(self._current_response, time.monotonic())
        await self.push_frame(
            TTSAudioRawFrame(self._decoder.decode(o.audio_b64), self._output_rate, 1)
        )

    async def _audio_stopped(self, o: out.AudioStopped) -> None:
        await self.push_frame(TTSStoppedFrame())

    async def _assistant_transcript(self, o: out.AssistantTranscript) -> None:
        self._reply_has_text = True
        llm_text = LLMTextFrame(o.text)
        llm_text.append_to_context = False  # the TTSTextFrame below carries it into context
        await self.push_frame(llm_text)
        tts_text = TTSTextFrame(o.text, text_type=TextType.WORD)
        tts_text.includes_inter_frame_spaces = True  # the server's deltas carry their spaces
        await self.push_frame(tts_text)

    async def _assistant_text(self, o: out.AssistantText) -> None:
        if self._awaiting_first_audio:
            self._awaiting_first_audio = False
            await self.stop_ttfb_metrics()
        self._reply_has_text = True
        await self.push_frame(LLMTextFrame(o.text))

    async def _user_speech_started(self, o: out.UserSpeechStarted) -> None:
        self._user_speaking = True
        await self.broadcast_frame(UserStartedSpeakingFrame)
        await self.broadcast_interruption()  # type: ignore[no-untyped-call]
        # broadcast_interruption() hands the InterruptionFrame to the neighbours only: it
        # never passes through this service's own process_frame, where LLMService cancels
        # the function calls registered with cancel_on_interruption=True. Do that part here,
        # so a barge-in heard by server VAD cancels them as a queued InterruptionFrame does.
        await self._handle_interruptions(InterruptionFrame())  # type: ignore[no-untyped-call]

    async def _user_speech_stopped(self, o: out.UserSpeechStopped) -> None:
        self._user_speaking = False
        await self._start_turn_metrics()
        await self.broadcast_frame(UserStoppedSpeakingFrame)

    async def _start_turn_metrics(self) -> None:
        await self.start_ttfb_metrics()
        await self.start_processing_metrics()

    async def _user_transcript_delta(self, o: out.UserTranscriptDelta) -> None:
        frame = InterimTranscriptionFrame(o.text, "", time_now_iso8601())
        await self.push_frame(frame, FrameDirection.UPSTREAM)

    async def _user_transcript(self, o: out.UserTranscript) -> None:
        self._conversation_started = True
        self._tracer.user_transcription(o.item_id, o.text)
        frame = TranscriptionFrame(o.text, "", time_now_iso8601(), finalized=True)
        if o.late and self._place_late_user_turn(o.item_id, o.text):
            # Not upstream: the user aggregator would merge it into the turn it is
            # gathering now. Downstream, observers still see what the user said.
            await self.push_frame(frame, FrameDirection.DOWNSTREAM)
            return
        self._context_sync.server_transcribed_user(o.text)
        await self.push_frame(frame, FrameDirection.UPSTREAM)

    def _place_late_user_turn(self, item_id: str, text: str) -> bool:
        """Write a late user turn into the context before the reply it prompted.

        The reply's end recorded where that reply starts in the context; user messages
        written at that point (other turns flushed with the reply) stay before it, in the
        order they were spoken. Returns False when there is no such place (no context).
        """
        slot = self._late_slots.pop(item_id, None)
        context = self._context
        if context is None or slot is None:
            return False
        messages = list(context.get_messages())
        index = min(slot, len(messages))
        while index < len(messages) and _role(messages[index]) == "user":
            index += 1
        message: Any = {"role": "user", "content": text}
        messages.insert(index, message)
        context.set_messages(messages)
        self._context_sync.mark_sent(message)  # the server has this turn: never send it
        return True

    async def _tool_calls(self, o: out.ToolCallsRequested) -> None:
        if self._context is None:
            self._context = LLMContext()
        calls = [
            FunctionCallFromLLM(
                function_name=c.name,
                tool_call_id=c.call_id,
                arguments=c.arguments,
                context=self._context,
            )
            for c in o.calls
        ]
        for c in o.calls:
            self._tracer.tool_call_started(
                c.call_id, c.name, json.dumps(dict(c.arguments)), response_id=self._current_response
            )
        await self.run_function_calls(calls)

    async def broadcast_frame(self, frame_cls: type[Frame], **kwargs: Any) -> None:
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
        await super().broadcast_frame(frame_cls, **kwargs)

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
        self._tracer.tool_call_finished(tool_call_id, error=error)
        await self._act(self._session.create_items([output_item(tool_call_id, output)]))

    async def _function_call_cancelled(self, tool_call_id: str) -> None:
        """A cancelled call is answered "cancelled" now, not at the next context sync."""
        self._tracer.tool_call_finished(tool_call_id, error="cancelled")
        await self._act(self._session.create_items([output_item(tool_call_id, CANCELLED_OUTPUT)]))

    async def _item_created(self, o: out.ItemCreated) -> None:
        await self._call_event_handler("on_conversation_item_created", o.item_id, o.item)

    async def _item_updated(self, o: out.ItemUpdated) -> None:
        await self._call_event_handler("on_conversation_item_updated", o.item_id, o.item)

    async def _retrieve_finished(self, o: out.RetrieveFinished) -> None:
        future = self._retrievals.pop(o.item_id, None)
        if future is None or future.done():
            return
        if o.item is not None:
            future.set_result(o.item)
        else:
            future.set_exception(RequestFailed(f"retrieving {o.item_id} failed: {o.error}"))

    async def _feature_unavailable(self, o: out.FeatureUnavailable) -> None:
        logger.warning(f"{self}: {self._dialect.name} has no {o.feature}; {o.consequence}")

    async def _error_reported(self, o: out.ErrorReported) -> None:
        code = f" ({self._redact(o.code)})" if o.code else ""
        message = self._redact(o.message)  # a server may echo the key it was sent
        if o.error_class is ErrorClass.BENIGN:
            logger.debug(f"{self}: benign server error{code}: {message}")
            return
        await self._report_error(f"realtime server error{code}: {message}", o.error_class, o.code)
        if o.error_class in (ErrorClass.TRANSIENT, ErrorClass.SESSION_END):
            await self._on_transient_server_error(f"server error{code}")
        elif o.error_class is ErrorClass.RATE_LIMITED:
            await self._on_rate_limited(message, o.event_id)

    async def _on_rate_limited(self, message: str, event_id: str | None) -> None:
        """The server refused for now (the connection owner waits and asks again)."""

    async def _on_transient_server_error(self, detail: str) -> None:
        """The server had a problem on a live socket (the connection owner reconnects)."""

    async def _report_error(
        self, message: str, error_class: ErrorClass, code: str | None = None
    ) -> None:
        """One ErrorFrame upstream; a fatal error also marks the service unusable."""
        category = _CATEGORIES.get(code or "") or _CLASS_CATEGORIES.get(error_class)
        await self.push_error(
            self._redact(message),
            category=category,
            force_treat_as_permanent=error_class is ErrorClass.FATAL,
        )

    _OUTPUT_ACTIONS: ClassVar[dict[type, Callable[..., Awaitable[None]]]] = {
        out.Send: _send,
        out.AudioChunk: _audio_chunk,
        out.AssistantTranscript: _assistant_transcript,
        out.AssistantText: _assistant_text,
        out.SessionReady: _session_ready,
        out.ResponseStarted: _response_started,
        out.ResponseEnded: _response_ended,
        out.AudioStarted: _audio_started,
        out.AudioStopped: _audio_stopped,
        out.UserSpeechStarted: _user_speech_started,
        out.UserSpeechStopped: _user_speech_stopped,
        out.UserTranscriptDelta: _user_transcript_delta,
        out.UserTranscript: _user_transcript,
        out.ToolCallsRequested: _tool_calls,
        out.ItemCreated: _item_created,
        out.ItemUpdated: _item_updated,
        out.RetrieveFinished: _retrieve_finished,
        out.ErrorReported: _error_reported,
        out.FeatureUnavailable: _feature_unavailable,
    }
    """Core output type -> what the glue does with it."""

    def _schedule_transcript_release(self) -> None:
        """A held reply end waits at most a moment for its user transcript."""
        if self._release_task is not None and not self._release_task.done():
            return

        async def release() -> None:
            await asyncio.sleep(_TRANSCRIPT_WAIT_S)
            await self._act(self._session.release_held_response())

        self._release_task = self.create_task(release(), name="realtime-transcript-release")


def _role(message: Any) -> str | None:
    return message.get("role") if isinstance(message, dict) else None


def _token_usage(usage: Mapping[str, Any]) -> LLMTokenUsage:
    input_details = usage.get("input_token_details") or {}
    output_details = usage.get("output_token_details") or {}
    cached = input_details.get("cached_tokens")
    return LLMTokenUsage(
        prompt_tokens=int(usage.get("input_tokens") or 0),
        completion_tokens=int(usage.get("output_tokens") or 0),
        total_tokens=int(usage.get("total_tokens") or 0),
        cache_read_input_tokens=int(cached) if cached is not None else None,
        input_audio_tokens=input_details.get("audio_tokens"),
        output_audio_tokens=output_details.get("audio_tokens"),
    )
