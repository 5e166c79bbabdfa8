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

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar, Literal, cast

from loguru import logger
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    CancelFrame,
    EndFrame,
    Frame,
    InputAudioRawFrame,
    InputImageRawFrame,
    InterruptionFrame,
    LLMContextFrame,
    LLMMessagesAppendFrame,
    LLMServiceMetadataFrame,
    LLMSetToolsFrame,
    LLMUpdateSettingsFrame,
    StartFrame,
    SystemFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor, FrameProcessorSetup
from pipecat.services.llm_service import LLMService
from pipecat.turns.user_turn_strategies import ExternalUserTurnStrategies
from pipecat.utils.errors import ErrorCategory
from pipecat.utils.types import is_given

from realtime_llm.client import KeepNewest, RealtimeClient, ReplayCompactor
from realtime_llm.dialects import Dialect, get_dialect
from realtime_llm.dialects.base import is_loopback_url
from realtime_llm.errors import (
    InvalidSettingsError,
    UnsupportedFeature,
)
from realtime_llm.observability.pricing import ModelPrice, PriceTable
from realtime_llm.pipecat._frames_out import FrameOutputs
from realtime_llm.pipecat._legacy_args import legacy_settings
from realtime_llm.pipecat._recorders import recorder_downstream
from realtime_llm.pipecat.adapter import RealtimeLLMAdapter
from realtime_llm.pipecat.context import (
    InputAudioFormat,
    completed_tool_call_ids,
    messages_to_items,
)
from realtime_llm.pipecat.context_sync import ContextSync, SyncResult
from realtime_llm.pipecat.media import AudioDecoder, AudioEncoder, AudioFormat, b64, encode_image
from realtime_llm.pipecat.settings import (
    RealtimeLLMSettings,
    check_voice,
    default_settings,
    session_update_needed,
    unsupported_fields,
)
from realtime_llm.protocol import outputs as out
from realtime_llm.protocol.session import RealtimeSession, session_audio_format
from realtime_llm.session_properties import SessionProperties
from realtime_llm.tracing import SessionTracer
from realtime_llm.transport.base import TransportFactory
from realtime_llm.transport.reconnect import ReconnectPolicy

__all__ = ["RealtimeLLMService"]

VideoDetail = Literal["auto", "low", "high"]


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
        meter_provider: an OpenTelemetry meter provider for the histograms (token usage,
            time to first audio per turn); the global one when None.
        prices: the price table for the cost of each response (a
            :class:`~realtime_llm.observability.PriceTable`, or a mapping of model names to
            :class:`~realtime_llm.observability.ModelPrice` that overrides and extends the
            built-in table). See docs/observability.md.
        token_provider: an async callable returning a fresh credential (an Entra ID token,
            an ephemeral client secret), awaited before every connect; used instead of
            ``api_key``.
        reconnect_policy: when and how fast to reconnect after a lost connection (default:
            5 attempts with exponential backoff; ``ReconnectPolicy(max_attempts=0)``
            never reconnects).
        replay_compaction: what a new session is sent of the conversation so far (a
            callable from the items to replay to the items to send); default
            ``KeepNewest()``: everything up to 200 items, then a note and the newest
            ones. See docs/errors.md ("Replay").
        max_replay_audio_s: user turns the server did not transcribe (transcription
            off, failed or empty) are recorded in the context as their audio (at most
            30 s each), so a new session hears them; the newest ``max_replay_audio_s``
            seconds of them keep their audio, older ones a note that the user spoke.
            0 keeps none.
        connection_factory: ``(dialect, model) -> Transport`` for each new connection
            (default: the WebSocket); a test seam, see ``realtime_llm.transport.memory``.
        forward_input_audio: pass input audio frames on downstream, for a recorder
            placed after the service (pipecat's ``AudioBufferProcessor`` after
            ``transport.output()``). None (the default) decides when the pipeline starts:
            on if an ``AudioBufferProcessor`` is downstream, else off, because the hop
            cost a quarter of the service's CPU at 30 paced sessions
            (``benchmarks/load.py``) for frames that nothing after an LLM usually reads.
        **kwargs: passed to pipecat's ``LLMService`` (``run_in_parallel``,
            ``function_call_timeout_secs``...). pipecat's ``OpenAIRealtimeLLMService``
            arguments ``model=`` and ``session_properties=`` are accepted with a
            ``DeprecationWarning`` naming the setting to use; one with no meaning here
            (``user_audio_preroll_secs=``) or unknown to every base class raises
            ``InvalidSettingsError`` naming it, rather than being silently ignored.
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
        meter_provider: Any = None,
        prices: PriceTable | Mapping[str, ModelPrice] | None = None,
        forward_input_audio: bool | None = None,
        token_provider: Callable[[], Awaitable[str]] | None = None,
        reconnect_policy: ReconnectPolicy | None = None,
        connection_factory: TransportFactory | None = None,
        replay_compaction: ReplayCompactor | None = None,
        max_replay_audio_s: float = 120.0,
        **kwargs: Any,
    ) -> None:
        self._dialect = get_dialect(dialect, base_url)
        if self._dialect.requires_api_key and not api_key and token_provider is None:
            raise InvalidSettingsError(
                "api_key", f"dialect {self._dialect.name!r} needs an api_key or a token_provider"
            )
        url = self._dialect.base_url
        if api_key and url.startswith("ws://") and not is_loopback_url(url):
            raise InvalidSettingsError(
                "base_url", "an api_key may go over ws:// only to a loopback host; use wss://"
            )
        legacy = legacy_settings(kwargs)  # pipecat's built-in service's arguments
        store = default_settings(voice=self._dialect.default_voice)
        if legacy is not None:
            store.apply_update(legacy)
        if settings is not None:
            store.apply_update(settings)
            given = {k for k, v in settings.given_fields().items() if v is not None}
            for name in unsupported_fields(given):
                logger.warning(f"setting {name!r} is not supported by the realtime API; ignored")
        store.validate()
        check_voice(store, self._dialect)
        self._check_capabilities(store)
        super().__init__(settings=store, **kwargs)
        self._audio_paused = start_audio_paused
        self._forward_input_audio_setting = forward_input_audio
        self._forward_input_audio = bool(forward_input_audio)
        self._direct_audio = False
        """Whether input audio may be handled in its pusher's task (see :meth:`queue_frame`)."""
        self._system_frames_queued: set[int] = set()
        """System frames queued or being handled (ids): input audio must not overtake them."""
        self._system_frames_held = False
        self._video_paused = start_video_paused
        self._video_detail: VideoDetail = video_frame_detail
        self._video_interval_s = video_frame_interval_s
        self._last_image_at = float("-inf")

        self._tracer = SessionTracer(
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            provider=self._dialect.name,
            secrets=(api_key,) if api_key else (),
            prices=prices if isinstance(prices, PriceTable) else PriceTable(prices),
        )
        if not max_replay_audio_s >= 0:
            raise InvalidSettingsError("max_replay_audio_s", "must be 0 or more seconds")
        self._outputs = FrameOutputs(self, max_replay_audio_s)
        self._compact_replay: ReplayCompactor = replay_compaction or KeepNewest()
        self._client = RealtimeClient(
            self._dialect,
            lambda: str(self._settings.model),
            api_key=api_key,
            token_provider=token_provider,
            reconnect_policy=reconnect_policy,
            connection_factory=connection_factory,
            on_output=self._outputs.handle,
            session_config=self._session_wire,
            replay=lambda _session: self._replay_outputs(),
            tracer=self._tracer,
            name=str(self),
        )
        """Owns the connection's life: connect, reconnect, renewal, replay."""
        self._audio = AudioEncoder()
        self._pending_audio = bytearray()
        """Converted input audio waiting for its batch to fill (``input_audio_batch_ms``)."""
        self._decoder = AudioDecoder()
        self._output_rate = 24000
        self._context_sync = ContextSync()
        self._apply_audio_formats()

        self._context: LLMContext | None = None
        self._tools: Any = None
        self._conversation_started = False
        """Whether the server's conversation has turns (sent by us or produced by it)."""

        self._register_event_handler("on_conversation_item_created")
        self._register_event_handler("on_conversation_item_updated")
        self._register_event_handler("on_usage")
        self._register_event_handler("on_session_summary")

    @property
    def _session(self) -> RealtimeSession:
        """The session core of the client's current connection."""
        return self._client.session

    @property
    def _props(self) -> SessionProperties:
        props = self._settings.session_properties
        assert isinstance(props, SessionProperties), "store settings always have a session"
        return props

    async def _act(self, outputs: list[out.Output]) -> None:
        await self._client.act(outputs)

    # -- public helpers ------------------------------------------------------------------

    def can_generate_metrics(self) -> bool:
        return True

    def set_audio_input_paused(self, paused: bool) -> None:
        self._audio_paused = paused

    def set_video_input_paused(self, paused: bool) -> None:
        self._video_paused = paused

    def set_video_frame_detail(self, detail: VideoDetail) -> None:
        if detail not in ("auto", "low", "high"):
            raise InvalidSettingsError(
                "video_frame_detail", f"must be auto, low or high, not {detail!r}"
            )
        self._video_detail = detail

    async def retrieve_conversation_item(self, item_id: str) -> Mapping[str, Any]:
        """The server's copy of a conversation item (concurrent callers share one request).

        Raises:
            RequestFailed: the server answered with an error, or the connection went.
            UnsupportedFeature: the dialect has no ``conversation.item.retrieve``.
        """
        if not self._dialect.capabilities.supports_retrieve:
            raise UnsupportedFeature(f"{self._dialect.name} cannot retrieve conversation items")
        return await self._client.retrieve_item(item_id)

    async def reset_conversation(self) -> None:
        """Start over on a new connection, set up again from the local context."""
        await self._disconnect()
        if await self._client.connect():
            await self._act(self._replay_outputs())

    def _replay_outputs(self) -> list[out.Output]:
        """The local conversation, for a new session (no reply is asked for).

        Everything, through the replay compactor (by default every item up to
        ``DEFAULT_MAX_REPLAY_ITEMS``, then the newest ones): each replayed item is input
        to the next response, billed again at every reconnect.
        """
        old, self._context_sync = self._context_sync, ContextSync(self._input_audio_format())
        # No context frame yet (the user spoke first): the session's own turns still count.
        messages = self._context.get_messages() if self._context is not None else []
        # Turns the aggregators have not written yet (a reply still playing, or cut by the
        # drop and playing out what came, and the user turn before it): replayed as far
        # as they came, and skipped when the aggregators write them.
        unwritten: list[dict[str, Any]] = []
        audio_format = self._context_sync.audio_format
        for role, text in old.unwritten_turns(messages):
            if role == "user":
                self._context_sync.server_transcribed_user(text)
            else:
                self._context_sync.server_replied(text)
            message: Any = {"role": role, "content": text}
            unwritten.extend(messages_to_items([message], audio_format))
        if not messages and not unwritten:
            return []
        self._conversation_started = True
        return self._whole_context_outputs(messages, self._compact_replay, unwritten)

    def _whole_context_outputs(
        self,
        messages: list[Any],
        compact: ReplayCompactor | None = None,
        unwritten: list[dict[str, Any]] | None = None,
    ) -> list[out.Output]:
        """Every message as items, for a session that has none of them yet.

        A tool result goes with its call: a new session given a ``function_call`` without
        its output sees the call still open, and the model may make it again. So the items
        are created first (each output once), and only then is every call with a result
        marked completed, so that no later sync answers it a second time. A call still
        running has no result yet (its placeholder is not one), so it stays open for the
        result. An output whose call is neither among the items nor made by the server
        (a stray tool message) is left out: the server refuses outputs for unknown calls.
        """
        items = self._context_sync.initial_items(messages) + (unwritten or [])
        if compact is not None:
            items = compact(items)
        calls = {str(i.get("call_id")) for i in items if i.get("type") == "function_call"}
        kept = [
            item
            for item in items
            if item.get("type") != "function_call_output"
            or str(item.get("call_id")) in calls
            or self._session.knows_call(str(item.get("call_id")))
        ]
        outputs = self._session.create_items(kept)
        self._session.mark_tool_calls_completed(completed_tool_call_ids(messages))
        return outputs

    def service_metadata_frame(self) -> LLMServiceMetadataFrame:
        """Realtime; with server VAD the server drives the user's turns."""
        server_vad = self._session_properties_server_vad()
        self._warn_if_realtime_service_emits_no_turn_frames(server_vad)
        return LLMServiceMetadataFrame(
            service_name=self.name,
            is_realtime_service=True,
            user_turn_strategies=ExternalUserTurnStrategies() if server_vad else None,
        )

    # -- lifecycle: the client owns the connection ---------------------------------------

    async def setup(self, setup: FrameProcessorSetup) -> None:  # type: ignore[override]
        await super().setup(setup)
        tracing = setup.tracing_context
        if setup.enable_tracing and tracing is not None:
            # pipecat's tracing is on: our spans go under its conversation and turn spans.
            self._tracer.nest_under(
                conversation=tracing.get_conversation_context, turn=tracing.get_turn_context
            )

    async def start(self, frame: StartFrame) -> None:
        if self._forward_input_audio_setting is None:
            self._forward_input_audio = recorder_downstream(self)
        await super().start(frame)
        self._tracer.session_started(str(self._settings.model), time.monotonic())
        await self._client.connect()

    async def stop(self, frame: EndFrame) -> None:
        await super().stop(frame)
        await self._disconnect()
        await self._end_session()

    async def cancel(self, frame: CancelFrame) -> None:
        await super().cancel(frame)
        await self._disconnect()
        await self._end_session()

    async def _disconnect(self) -> None:
        await self._client.close()
        await self.stop_all_metrics()  # type: ignore[no-untyped-call]
        self._tracer.connection_closed()

    async def _end_session(self) -> None:
        """The run is over: end the session span and hand out the summary (once)."""
        if not self._tracer.session_open:
            return
        summary = self._tracer.close(time.monotonic())
        logger.info(f"{self}: realtime session summary: " + "; ".join(summary.lines()))
        await self._call_event_handler("on_session_summary", summary)

    async def broadcast_frame(self, frame_cls: type[Frame], **kwargs: Any) -> None:
        """A function call pipecat settled is answered on the server at once (see
        :meth:`FrameOutputs.function_call_settled`), then broadcast as usual."""
        await self._outputs.function_call_settled(frame_cls, kwargs)
        await super().broadcast_frame(frame_cls, **kwargs)

    # -- frames in ------------------------------------------------------------------------

    async def queue_frame(
        self,
        frame: Frame,
        direction: FrameDirection = FrameDirection.DOWNSTREAM,
        callback: Any = None,
    ) -> None:
        """Input audio is handled at once, in the task that pushed it, when nothing it
        must not overtake is waiting; every other frame is queued as usual.

        Input audio is a system frame: pipecat queues it, and this processor's input task
        handles system frames one at a time, in order, ahead of queued data frames. Handled
        here it keeps that order (no system frame is queued or being handled when it is
        taken, and it never waits: the send does not block, the audio is dropped first),
        and skips one queue hop and one task wake-up per 20 ms frame: 7-11 % of the
        service's CPU at 30 paced sessions (docs/performance.md).
        """
        if (
            self._direct_audio
            and not self._system_frames_queued
            and isinstance(frame, InputAudioRawFrame)
            and direction is FrameDirection.DOWNSTREAM
            and callback is None
            and not self._system_frames_held
        ):
            try:  # what pipecat does around process_frame for a queued frame
                await self._call_event_handler("on_before_process_frame", frame)
                await self.process_frame(frame, direction)
                await self._call_event_handler("on_after_process_frame", frame)
            except Exception as e:
                await self.push_error(
                    error_msg=f"Error processing frame: {e}",
                    exception=e,
                    category=ErrorCategory.UNKNOWN,
                )
            return
        if isinstance(frame, SystemFrame):
            self._system_frames_queued.add(frame.id)
        await super().queue_frame(frame, direction, callback)

    async def pause_processing_system_frames(self) -> None:
        self._system_frames_held = True
        await super().pause_processing_system_frames()  # type: ignore[no-untyped-call]

    async def resume_processing_system_frames(self) -> None:
        self._system_frames_held = False
        await super().resume_processing_system_frames()  # type: ignore[no-untyped-call]

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        if isinstance(frame, InputAudioRawFrame):
            # The hot path, 50 frames a second. pipecat's AIService and LLMService
            # process_frame only act on lifecycle, settings and context frames, so audio
            # skips their chains of isinstance tests; FrameProcessor's (observers) runs.
            try:
                await FrameProcessor.process_frame(self, frame, direction)
                if not await self._on_input_audio(frame, direction):
                    await self.push_frame(frame, direction)
            finally:
                self._queued_frame_done(frame)
            return
        try:
            await super().process_frame(frame, direction)
            action = self._frame_action(type(frame))
            if action is None or not await action(self, frame, direction):
                await self.push_frame(frame, direction)
        finally:
            self._queued_frame_done(frame)
        if isinstance(frame, StartFrame):
            self._direct_audio = True
        elif isinstance(frame, EndFrame | CancelFrame):
            self._direct_audio = False

    def _queued_frame_done(self, frame: Frame) -> None:
        queued = self._system_frames_queued
        if queued:  # nothing to look up for audio taken at once (the hot path)
            queued.discard(frame.id)

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
        if self._audio_paused:
            return not self._forward_input_audio
        audio = frame.audio
        encoder = self._audio
        if not encoder.passthrough(frame.sample_rate, frame.num_channels):
            audio = await encoder.convert(audio, frame.sample_rate, frame.num_channels)
        batch_ms = self._settings.input_audio_batch_ms
        if batch_ms:
            # One append per batch: the bytes are joined before base64, so any frame
            # size works (base64 of pieces only joins on 3-byte boundaries).
            pending = self._pending_audio
            pending += audio
            if len(pending) < batch_ms * encoder.bytes_per_ms:
                return not self._forward_input_audio
            audio = bytes(pending)
            pending.clear()
        if audio:  # a resampler may hold back a first chunk: no empty append
            await self._send_input_audio(b64(audio))
        return not self._forward_input_audio

    async def _send_input_audio(self, audio_b64: str) -> None:
        # Until a session is ready (connecting, reconnecting) the core holds the audio, so
        # the user's first words after a reconnect are not lost.
        await self._client.send_audio(audio_b64)

    async def _flush_input_audio(self) -> None:
        """Send a part-filled batch now (before a commit: it is the end of the turn)."""
        if self._pending_audio:
            audio = bytes(self._pending_audio)
            self._pending_audio.clear()
            await self._send_input_audio(b64(audio))

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
        # A part-filled batch is audio from before the interruption: it goes first, so a
        # client-VAD clear takes it too, instead of it opening the next turn.
        await self._flush_input_audio()
        await self._act(self._session.interrupt(time.monotonic()))
        await self.stop_all_metrics()  # type: ignore[no-untyped-call]
        return True

    async def _on_user_stopped(self, frame: UserStoppedSpeakingFrame, _: FrameDirection) -> bool:
        if not self._session.server_vad and self._client.connected:
            await self._flush_input_audio()
            await self._outputs._start_turn_metrics()
            await self._act(self._session.commit_audio())
        return False

    async def _on_bot_started(self, frame: BotStartedSpeakingFrame, _: FrameDirection) -> bool:
        self._session.playback_started(time.monotonic())
        return False

    async def _on_bot_stopped(self, frame: BotStoppedSpeakingFrame, _: FrameDirection) -> bool:
        self._session.playback_finished(time.monotonic())
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
            await self._outputs._start_turn_metrics()
            await self._act(self._initial_context_outputs(context))
            return True
        synced = self._context_sync.new_items(context.get_messages(), self._session.knows_call)
        for item in synced.items:
            if item.get("type") == "function_call_output":
                self._tracer.tool_call_finished(str(item.get("call_id")))
        outputs = self._session.create_items(synced.items)
        if self._context_asks_for_reply(synced):
            await self._outputs._start_turn_metrics()
            outputs.extend(self._session.request_response())
        await self._act(outputs)
        return True

    def _context_asks_for_reply(self, synced: SyncResult) -> bool:
        """Whether this context push means "run the LLM".

        The aggregators push the context when inference should run: an ``LLMRunFrame``, an
        append or a tool result with ``run_llm``, a cancellation that asks for it. The one
        push that never does is the user aggregator's realtime flush of a user turn the
        server transcribed (``user_echo``): the server answers that turn itself, so a
        ``response.create`` there would give it a second reply, also when the same push
        carries messages appended earlier with ``run_llm=False`` (they are only sent). A
        push with nothing new while a reply is coming is an echo of the push that asked
        for it. The core defers a request made while a response is active until it ends,
        so a late async tool result is spoken after the current reply, never over it.
        """
        if synced.user_echo:
            return False
        return bool(synced.items) or not self._session.response_active

    def _initial_context_outputs(self, context: LLMContext) -> list[out.Output]:
        return [
            *self._whole_context_outputs(context.get_messages()),
            *self._session.request_response(),
        ]

    async def _on_messages_append(self, frame: LLMMessagesAppendFrame, _: FrameDirection) -> bool:
        if self._context is not None:
            # Keep the context the single history: these messages are sent now, so the
            # next context sync must not send them again.
            self._context.add_messages(frame.messages)
            for message in frame.messages:
                self._context_sync.mark_sent(message)
        self._conversation_started = True
        items = messages_to_items(frame.messages, self._input_audio_format())
        outputs = self._session.create_items(items)
        if frame.run_llm:
            await self._outputs._start_turn_metrics()
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

    def _check_capabilities(self, settings: RealtimeLLMSettings) -> None:
        """Settings the dialect cannot honour: fail naming the field, or degrade with a warning.

        An audio format the server does not take falls back to PCM (24 kHz) with one
        warning; text-only output on a server without it is an error.
        """
        props = settings.session_properties
        if isinstance(props, SessionProperties) and props.audio is not None:
            settings.session_properties = props = self._supported_formats(props)
        text_only = isinstance(props, SessionProperties) and props.output_modalities == ["text"]
        if text_only and not self._dialect.capabilities.supports_text_only_output:
            raise InvalidSettingsError(
                "session_properties.output_modalities",
                f"dialect {self._dialect.name!r} cannot reply in text only",
            )

    def _supported_formats(self, props: SessionProperties) -> SessionProperties:
        allowed = self._dialect.capabilities.audio_formats
        wire = props.to_wire()
        audio = wire.get("audio") or {}
        fallback: dict[str, Any] = {}
        for direction in ("input", "output"):
            fmt = (audio.get(direction) or {}).get("format") or {}
            if fmt and fmt.get("type") not in allowed:
                logger.warning(
                    f"{self._dialect.name} does not take {fmt.get('type')} {direction} audio; "
                    "using audio/pcm at 24 kHz instead"
                )
                fallback[direction] = {"format": {"type": "audio/pcm", "rate": 24000}}
        if not fallback:
            return props
        return props.merged(SessionProperties.from_mapping({"audio": fallback}))

    async def _update_settings(self, delta: Any) -> dict[str, Any]:
        if isinstance(delta, RealtimeLLMSettings):
            delta.validate()
            check_voice(delta, self._dialect)
            self._check_capabilities(delta)
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

    def _service_tools(self) -> Any:
        return self._props.tools or None

    def _session_properties_server_vad(self) -> bool:
        return self._props.server_vad_enabled

    def _apply_audio_formats(self) -> None:
        props = self._props
        wire = props.to_wire()
        input_type, self._audio.rate = session_audio_format(wire, "input")
        self._audio.audio_format = cast("AudioFormat", input_type)
        self._context_sync.audio_format = self._input_audio_format()
        self._decoder.audio_format = cast("AudioFormat", session_audio_format(wire, "output")[0])
        self._output_rate = props.output_sample_rate
        wire_bytes_per_ms = self._output_rate * self._decoder.wire_bytes_per_sample / 1000
        self._client.set_output_format(wire_bytes_per_ms)

    def _input_audio_format(self) -> InputAudioFormat:
        return InputAudioFormat(self._audio.audio_format, self._audio.rate)

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
        return session  # GA: the connection reshapes it for the dialect on the way out


def _given(value: Any) -> bool:
    return bool(is_given(value))
