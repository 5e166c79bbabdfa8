"""``RealtimeLLMService``: the pipecat glue around the sans-I/O session core.

The glue is two tables and a loop:

* frames in -> commands on the core (:attr:`RealtimeLLMService._FRAME_ACTIONS`);
* the receive loop feeds server events to the core;
* whatever the core returns goes through :attr:`RealtimeLLMService._OUTPUT_ACTIONS`:
  client events to the connection, happenings to frames, metrics and spans.

Protocol rules live in :class:`~realtime_llm.protocol.session.RealtimeSession`, provider
differences in :class:`~realtime_llm.dialects.Dialect`, the socket in
:class:`~realtime_llm.transport.RealtimeConnection`. Nothing here knows a wire format.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar, Literal

from loguru import logger
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    CancelFrame,
    EndFrame,
    ErrorFrame,
    Frame,
    FunctionCallFromLLM,
    InputAudioRawFrame,
    InputImageRawFrame,
    InterimTranscriptionFrame,
    InterruptionFrame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMMessagesAppendFrame,
    LLMServiceMetadataFrame,
    LLMSetToolsFrame,
    LLMTextFrame,
    LLMUpdateSettingsFrame,
    StartFrame,
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
from pipecat.turns.user_turn_strategies import ExternalUserTurnStrategies
from pipecat.utils.text.base_text_aggregator import TextType
from pipecat.utils.time import time_now_iso8601

from realtime_llm.dialects import Dialect, get_dialect
from realtime_llm.errors import (
    ConnectionFailed,
    ErrorClass,
    FatalConnectionError,
    InvalidSettingsError,
)
from realtime_llm.pipecat.adapter import RealtimeLLMAdapter
from realtime_llm.pipecat.context import completed_tool_call_ids, messages_to_items
from realtime_llm.pipecat.context_sync import ContextSync
from realtime_llm.pipecat.media import AudioEncoder, encode_image
from realtime_llm.pipecat.settings import (
    RealtimeLLMSettings,
    default_settings,
    session_update_needed,
    unsupported_fields,
)
from realtime_llm.protocol import outputs as out
from realtime_llm.protocol.session import RealtimeSession
from realtime_llm.session_properties import SessionProperties
from realtime_llm.tracing import SessionTracer
from realtime_llm.transport import RealtimeConnection

__all__ = ["RealtimeLLMService"]

VideoDetail = Literal["auto", "low", "high"]
_TRANSCRIPT_WAIT_S = 2.0
"""How long a finished reply waits for the user transcript that should precede it."""


class RealtimeLLMService(LLMService[RealtimeLLMAdapter]):
    """A realtime speech-to-speech LLM (OpenAI Realtime protocol family) for pipecat.

    Put it where the LLM goes: ``transport.input() -> user aggregator -> this ->
    transport.output() -> assistant aggregator``. It streams the user's audio to the
    server, plays the server's audio, and keeps the ``LLMContext`` and the server's
    conversation in step.

    Args:
        api_key: the provider's key (not needed by the local server). Never logged.
        settings: a delta over the defaults (:func:`default_settings`): top-level
            ``model``/``system_instruction`` and ``session_properties``.
        dialect: a built-in dialect name (``"openai"``, ``"local"``) or a
            :class:`~realtime_llm.dialects.Dialect` instance.
        base_url: the WebSocket endpoint, without query string; the dialect's default
            when None.
        start_audio_paused: drop input audio until ``set_audio_input_paused(False)``.
        start_video_paused: drop input images until ``set_video_input_paused(False)``.
        video_frame_detail: ``detail`` of the images sent (``auto``, ``low``, ``high``).
        video_frame_interval_s: at most one image per interval (default 1 s).
        tracer_provider: an OpenTelemetry tracer provider; the global one when None.
        token_provider: an async callable returning a fresh credential (an Entra ID token,
            an ephemeral client secret), awaited before every connect; used instead of
            ``api_key``.
        forward_input_audio: pass input audio frames on downstream (for recorders placed
            after the service). False saves one frame hop per 20 ms of audio, about a
            sixth of the service's CPU (``benchmarks/cpu_per_session.py``).
    """

    Settings = RealtimeLLMSettings
    _settings: RealtimeLLMSettings
    adapter_class = RealtimeLLMAdapter

    def __init__(
        self,
        *,
        api_key: str | None = None,
        settings: RealtimeLLMSettings | None = None,
        dialect: str | Dialect = "openai",
        base_url: str | None = None,
        start_audio_paused: bool = False,
        start_video_paused: bool = False,
        video_frame_detail: VideoDetail = "auto",
        video_frame_interval_s: float = 1.0,
        tracer_provider: Any = None,
        forward_input_audio: bool = True,
        token_provider: Callable[[], Awaitable[str]] | None = None,
        **kwargs: Any,
    ) -> None:
        self._dialect = get_dialect(dialect, base_url)
        if self._dialect.requires_api_key and not api_key and token_provider is None:
            raise InvalidSettingsError(
                "api_key", f"dialect {self._dialect.name!r} needs an api_key or a token_provider"
            )
        self._token_provider = token_provider
        store = default_settings()
        if settings is not None:
            store.apply_update(settings)
        store.validate()
        super().__init__(settings=store, **kwargs)
        self._api_key = api_key
        self._audio_paused = start_audio_paused
        self._forward_input_audio = forward_input_audio
        self._video_paused = start_video_paused
        self._video_detail: VideoDetail = video_frame_detail
        self._video_interval_s = video_frame_interval_s
        self._last_image_at = float("-inf")

        self._session = RealtimeSession(
            self._dialect.capabilities, classify=self._dialect.classify_error
        )
        self._connection: RealtimeConnection | None = None
        self._receive_task: asyncio.Task[None] | None = None
        self._release_task: asyncio.Task[None] | None = None
        self._audio = AudioEncoder()
        self._output_rate = 24000
        self._apply_audio_formats()

        self._context: LLMContext | None = None
        self._context_sync = ContextSync()
        self._tools: Any = None
        self._reply_has_text = False
        self._awaiting_first_audio = False
        self._current_response = ""
        self._conversation_started = False
        """Whether the server's conversation has turns (sent by us or produced by it)."""
        self._retrievals: dict[str, asyncio.Future[Mapping[str, Any]]] = {}
        self._tracer = SessionTracer(
            tracer_provider=tracer_provider,
            provider=self._dialect.name,
            secrets=(api_key,) if api_key else (),
        )

        self._register_event_handler("on_conversation_item_created")
        self._register_event_handler("on_conversation_item_updated")

    # -- public helpers ------------------------------------------------------------------

    def can_generate_metrics(self) -> bool:
        return True

    def set_audio_input_paused(self, paused: bool) -> None:
        self._audio_paused = paused

    def set_video_input_paused(self, paused: bool) -> None:
        self._video_paused = paused

    def set_video_frame_detail(self, detail: VideoDetail) -> None:
        if detail not in ("auto", "low", "high"):
            raise ValueError(f"video_frame_detail must be auto, low or high, not {detail!r}")
        self._video_detail = detail

    async def retrieve_conversation_item(self, item_id: str) -> Mapping[str, Any]:
        """The server's copy of a conversation item (concurrent callers share one request).

        Raises:
            RuntimeError: the server answered with an error, or there is no connection.
        """
        future = self._retrievals.get(item_id)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._retrievals[item_id] = future
            await self._act(self._session.retrieve_item(item_id))
        return await asyncio.shield(future)

    async def reset_conversation(self) -> None:
        """Start over on a new connection, set up again from the local context."""
        await self._disconnect()
        self._context_sync = ContextSync()
        self._conversation_started = self._context is not None
        await self._connect()
        if self._context is not None:
            await self._act(self._initial_context_outputs(self._context))

    def service_metadata_frame(self) -> LLMServiceMetadataFrame:
        """Realtime; with server VAD the server drives the user's turns."""
        server_vad = self._session_properties_server_vad()
        self._warn_if_realtime_service_emits_no_turn_frames(server_vad)
        return LLMServiceMetadataFrame(
            service_name=self.name,
            is_realtime_service=True,
            user_turn_strategies=ExternalUserTurnStrategies() if server_vad else None,
        )

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        await self._connect()

    async def stop(self, frame: EndFrame) -> None:
        await super().stop(frame)
        await self._disconnect()

    async def cancel(self, frame: CancelFrame) -> None:
        await super().cancel(frame)
        await self._disconnect()

    async def _connect(self) -> None:
        model = str(self._settings.model)
        connection = RealtimeConnection(self._dialect, model)
        with self._tracer.session_setup(model=model, url=connection.safe_url):
            try:
                secret = await self._token_provider() if self._token_provider else self._api_key
                if secret:
                    self._tracer.add_secret(secret)
                await connection.connect(secret)
            except ConnectionFailed as exc:
                fatal = isinstance(exc, FatalConnectionError)
                await self.push_error(str(exc), fatal=fatal)
                return
        self._connection = connection
        self._session.reset()
        await self._act(self._session.configure(self._session_wire()))
        if self._dialect.configure_on == "connect":
            await self._act(self._session.server_ready_for_configuration())
        self._receive_task = self.create_task(self._receive(connection), name="realtime-receive")

    async def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()
        if self._receive_task is not None:
            await self.cancel_task(self._receive_task)
            self._receive_task = None
        if self._release_task is not None:
            await self.cancel_task(self._release_task)
            self._release_task = None
        await self.stop_all_metrics()  # type: ignore[no-untyped-call]
        for future in self._retrievals.values():
            if not future.done():
                future.set_exception(RuntimeError("the realtime connection closed"))
        self._retrievals.clear()
        self._tracer.close()

    async def _receive(self, connection: RealtimeConnection) -> None:
        receive = self._session.receive
        clock = time.monotonic
        session = self._session
        async for event in connection.events():
            await self._act(receive(event, clock()))
            if session.holding_response_end:
                self._schedule_transcript_release()
        if self._connection is connection:
            self._connection = None
            code, reason = connection.close_code, connection.close_reason
            await self.push_error(f"the realtime connection closed ({code} {reason})".strip())

    # -- frames in ------------------------------------------------------------------------

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        action = self._frame_action(type(frame))
        if action is None or not await action(self, frame, direction):
            await self.push_frame(frame, direction)

    _action_cache: ClassVar[dict[type, Any]] = {}

    @classmethod
    def _frame_action(cls, frame_type: type) -> Any:
        try:
            return cls._action_cache[frame_type]
        except KeyError:
            action = next(
                (cls._FRAME_ACTIONS[k] for k in frame_type.__mro__ if k in cls._FRAME_ACTIONS),
                None,
            )
            cls._action_cache[frame_type] = action
            return action

    async def _on_input_audio(self, frame: InputAudioRawFrame, _: FrameDirection) -> bool:
        connection = self._connection
        if self._audio_paused or connection is None:
            return not self._forward_input_audio
        audio_b64 = await self._audio.encode(frame.audio, frame.sample_rate, frame.num_channels)
        event = self._session.append_audio(audio_b64)
        if event is not None:
            await connection.send(event)
        return not self._forward_input_audio

    async def _on_image(self, frame: InputImageRawFrame, _: FrameDirection) -> bool:
        now = time.monotonic()
        if self._video_paused or now - self._last_image_at < self._video_interval_s:
            return False
        if not self._dialect.capabilities.supports_image_input:
            logger.warning(f"{self}: {self._dialect.name} takes no image input; image dropped")
            self._video_paused = True  # warn once, not at every frame
            return False
        try:
            url = encode_image(frame.image, frame.size, frame.format)
        except ValueError as exc:
            logger.warning(f"{self}: image not sent: {exc}")
            return False
        self._last_image_at = now
        item = {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_image", "image_url": url, "detail": self._video_detail}],
        }
        await self._act(self._session.create_items([item]))
        return False

    async def _on_interruption(self, frame: InterruptionFrame, direction: FrameDirection) -> bool:
        await self.push_frame(frame, direction)
        await self._act(self._session.interrupt(time.monotonic()))
        await self.stop_all_metrics()  # type: ignore[no-untyped-call]
        return True

    async def _on_user_stopped(self, frame: UserStoppedSpeakingFrame, _: FrameDirection) -> bool:
        if not self._session.server_vad and self._connection is not None:
            await self._start_turn_metrics()
            await self._act(self._session.commit_audio())
        return False

    async def _on_bot_started(self, frame: BotStartedSpeakingFrame, _: FrameDirection) -> bool:
        self._session.playback_started(time.monotonic())
        return False

    async def _on_bot_stopped(self, frame: BotStoppedSpeakingFrame, _: FrameDirection) -> bool:
        self._session.playback_finished()
        return False

    async def _on_context(self, frame: LLMContextFrame, _: FrameDirection) -> bool:
        context = frame.context
        if context is not self._context:
            self._context = context
            if context.tools is not None and _given(context.tools):
                self._tools = context.tools
                await self._act(self._session.configure(self._session_wire()))
        if not self._conversation_started:
            # First sync of a fresh session: the whole context, then a reply.
            self._conversation_started = True
            await self._start_turn_metrics()
            await self._act(self._initial_context_outputs(context))
            return True
        items = self._context_sync.new_items(context.get_messages(), self._session.knows_call)
        if items:
            await self._start_turn_metrics()
            await self._act([*self._session.create_items(items), *self._session.request_response()])
        return True

    def _initial_context_outputs(self, context: LLMContext) -> list[out.Output]:
        messages = context.get_messages()
        self._session.mark_tool_calls_completed(completed_tool_call_ids(messages))
        items = self._context_sync.initial_items(messages)
        return [*self._session.create_items(items), *self._session.request_response()]

    async def _on_messages_append(self, frame: LLMMessagesAppendFrame, _: FrameDirection) -> bool:
        if self._context is not None:
            # Keep the context the single history: these messages are sent now, so the
            # next context sync must not send them again.
            self._context.add_messages(frame.messages)
            for message in frame.messages:
                self._context_sync.mark_sent(message)
        self._conversation_started = True
        outputs = self._session.create_items(messages_to_items(frame.messages))
        if frame.run_llm:
            await self._start_turn_metrics()
            outputs.extend(self._session.request_response())
        await self._act(outputs)
        return True

    async def _on_set_tools(self, frame: LLMSetToolsFrame, _: FrameDirection) -> bool:
        self._tools = frame.tools
        self._sync_registered_tool_handlers(frame.tools)
        await self._act(self._session.configure(self._session_wire()))
        return True

    async def _on_update_settings(self, frame: LLMUpdateSettingsFrame, _: FrameDirection) -> bool:
        return True  # LLMService.process_frame applied it (or passed it on)

    _FRAME_ACTIONS: ClassVar[dict[type, Callable[..., Awaitable[bool]]]] = {
        InputAudioRawFrame: _on_input_audio,
        InputImageRawFrame: _on_image,
        InterruptionFrame: _on_interruption,
        UserStoppedSpeakingFrame: _on_user_stopped,
        BotStartedSpeakingFrame: _on_bot_started,
        BotStoppedSpeakingFrame: _on_bot_stopped,
        LLMContextFrame: _on_context,
        LLMMessagesAppendFrame: _on_messages_append,
        LLMSetToolsFrame: _on_set_tools,
        LLMUpdateSettingsFrame: _on_update_settings,
    }
    """Frame type -> action; the action returns True when it consumed the frame."""

    # -- settings -------------------------------------------------------------------------

    async def _update_settings(self, delta: Any) -> dict[str, Any]:
        if isinstance(delta, RealtimeLLMSettings):
            delta.validate()
        changed = await super()._update_settings(delta)
        for name in unsupported_fields(changed):
            logger.warning(f"{self}: setting {name!r} is not supported by the realtime API")
        if "model" in changed:
            logger.info(
                f"{self}: model set to {self._settings.model!r}: the model is fixed per "
                "connection and takes effect on the next one"
            )
        if session_update_needed(changed):
            self._apply_audio_formats()
            await self._act(self._session.configure(self._session_wire()))
        return changed

    @property
    def _props(self) -> SessionProperties:
        props = self._settings.session_properties
        assert isinstance(props, SessionProperties), "store settings always have a session"
        return props

    def _service_tools(self) -> Any:
        return self._props.tools or None

    def _session_properties_server_vad(self) -> bool:
        return self._props.server_vad_enabled

    def _apply_audio_formats(self) -> None:
        props = self._props
        wire = props.to_wire()
        input_format = ((wire.get("audio") or {}).get("input") or {}).get("format") or {}
        self._audio.audio_format = input_format.get("type", "audio/pcm")
        self._audio.rate = int(
            input_format.get("rate") or (24000 if self._audio.audio_format == "audio/pcm" else 8000)
        )
        self._output_rate = props.output_sample_rate
        self._session.playback.set_format(self._output_rate * 2 / 1000)

    def _session_wire(self) -> dict[str, Any]:
        """The session object to send: settings, then instructions and tools on top."""
        session = self._props.to_wire(include_model=False)
        instructions = self._settings.system_instruction
        if isinstance(instructions, str) and instructions:
            session["instructions"] = instructions
        elif self._context is not None:
            messages = self._context.get_messages()
            first = messages[0] if messages else None
            if isinstance(first, dict) and first.get("role") == "system":
                session["instructions"] = str(first.get("content") or "")
        tools: Any = self._adapter.from_standard_tools(self._tools)
        if tools is None or not _given(tools):
            tools = self._service_tools()
        if tools is not None:
            session["tools"] = list(tools)
        return self._dialect.serialize_session(session)

    # -- outputs of the core -> sends, frames, metrics ---------------------------------

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
        await self.push_frame(TTSAudioRawFrame(base64.b64decode(o.audio_b64), self._output_rate, 1))

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
        await self.broadcast_frame(UserStartedSpeakingFrame)
        await self.broadcast_interruption()  # type: ignore[no-untyped-call]

    async def _user_speech_stopped(self, o: out.UserSpeechStopped) -> None:
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
        self._context_sync.server_transcribed_user(o.text)
        self._tracer.user_transcription(o.item_id, o.text)
        frame = TranscriptionFrame(o.text, "", time_now_iso8601(), finalized=True)
        await self.push_frame(frame, FrameDirection.UPSTREAM)

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
            future.set_exception(RuntimeError(f"retrieving {o.item_id} failed: {o.error}"))

    async def _feature_unavailable(self, o: out.FeatureUnavailable) -> None:
        logger.warning(f"{self}: {self._dialect.name} has no {o.feature}; {o.consequence}")

    async def _error_reported(self, o: out.ErrorReported) -> None:
        code = f" ({o.code})" if o.code else ""
        fatal = o.error_class is ErrorClass.FATAL
        await self.push_frame(
            ErrorFrame(f"realtime server error{code}: {o.message}", fatal=fatal),
            FrameDirection.UPSTREAM,
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


def _given(value: Any) -> bool:
    from pipecat.utils.types import is_given

    return bool(is_given(value))


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
