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
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar, Literal

from loguru import logger
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    Frame,
    InputAudioRawFrame,
    InputImageRawFrame,
    InterruptionFrame,
    LLMContextFrame,
    LLMMessagesAppendFrame,
    LLMServiceMetadataFrame,
    LLMSetToolsFrame,
    LLMUpdateSettingsFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frame_processor import FrameDirection
from pipecat.turns.user_turn_strategies import ExternalUserTurnStrategies
from pipecat.utils.types import is_given

from realtime_llm.dialects import Dialect, get_dialect
from realtime_llm.dialects.base import is_loopback_url
from realtime_llm.errors import (
    InvalidSettingsError,
    UnsupportedFeature,
)
from realtime_llm.pipecat._connection_owner import ConnectionOwner
from realtime_llm.pipecat._legacy_args import legacy_settings
from realtime_llm.pipecat.adapter import RealtimeLLMAdapter
from realtime_llm.pipecat.context import completed_tool_call_ids, messages_to_items
from realtime_llm.pipecat.context_sync import ContextSync, SyncResult
from realtime_llm.pipecat.media import AudioDecoder, AudioEncoder, encode_image
from realtime_llm.pipecat.settings import (
    RealtimeLLMSettings,
    default_settings,
    session_update_needed,
    unsupported_fields,
)
from realtime_llm.protocol import outputs as out
from realtime_llm.protocol.session import RealtimeSession
from realtime_llm.redaction import Redactor
from realtime_llm.session_properties import SessionProperties
from realtime_llm.tracing import SessionTracer
from realtime_llm.transport import RealtimeConnection
from realtime_llm.transport.rate_limit import RateLimitBackoff
from realtime_llm.transport.reconnect import ConnectBudget, ReconnectPolicy

__all__ = ["RealtimeLLMService"]

VideoDetail = Literal["auto", "low", "high"]
_TRANSCRIPT_WAIT_S = 2.0
"""How long a finished reply waits for the user transcript that should precede it."""


class RealtimeLLMService(ConnectionOwner):
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
        reconnect_policy: when and how fast to reconnect after a lost connection (default:
            5 attempts with exponential backoff; ``ReconnectPolicy(max_attempts=0)``
            never reconnects).
        forward_input_audio: pass input audio frames on downstream (for recorders placed
            after the service). False saves one frame hop per 20 ms of audio (measured in
            ``benchmarks/cpu_per_session.py``).
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
        forward_input_audio: bool = True,
        token_provider: Callable[[], Awaitable[str]] | None = None,
        reconnect_policy: ReconnectPolicy | None = None,
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
        self._token_provider = token_provider
        legacy = legacy_settings(kwargs)  # pipecat's built-in service's arguments
        store = default_settings()
        if legacy is not None:
            store.apply_update(legacy)
        if settings is not None:
            store.apply_update(settings)
            given = {k for k, v in settings.given_fields().items() if v is not None}
            for name in unsupported_fields(given):
                logger.warning(f"setting {name!r} is not supported by the realtime API; ignored")
        store.validate()
        self._check_capabilities(store)
        super().__init__(settings=store, **kwargs)
        self._api_key = api_key
        self._redact = Redactor((api_key,))
        self._audio_paused = start_audio_paused
        self._forward_input_audio = forward_input_audio
        self._video_paused = start_video_paused
        self._video_detail: VideoDetail = video_frame_detail
        self._video_interval_s = video_frame_interval_s
        self._last_image_at = float("-inf")

        self._reconnect_policy = reconnect_policy or ReconnectPolicy()
        self._connect_budget = ConnectBudget(self._reconnect_policy)
        self._rate_limit_backoff = RateLimitBackoff()
        self._closing = False
        self._renewal_task: asyncio.Task[None] | None = None
        self._user_speaking = False
        self._session = RealtimeSession(
            self._dialect.capabilities, classify=self._dialect.classify_error
        )
        self._connection: RealtimeConnection | None = None
        self._receive_task: asyncio.Task[None] | None = None
        self._release_task: asyncio.Task[None] | None = None
        self._audio = AudioEncoder()
        self._decoder = AudioDecoder()
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
        self._late_slots: dict[str, int] = {}
        """Where in the context each overdue user turn goes (item id -> index)."""
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
        future = self._retrievals.get(item_id)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._retrievals[item_id] = future
            await self._act(self._session.retrieve_item(item_id))
        return await asyncio.shield(future)

    async def reset_conversation(self) -> None:
        """Start over on a new connection, set up again from the local context."""
        await self._disconnect()
        if await self._connect():
            await self._act(self._replay_outputs())

    def _replay_outputs(self) -> list[out.Output]:
        """The whole local conversation, for a new session (no reply is asked for)."""
        self._context_sync = ContextSync()
        if self._context is None:
            return []
        self._conversation_started = True
        return self._whole_context_outputs(self._context.get_messages())

    def _whole_context_outputs(self, messages: list[Any]) -> list[out.Output]:
        """Every message as items, for a session that has none of them yet.

        A tool result goes with its call: a new session given a ``function_call`` without
        its output sees the call still open, and the model may make it again. So the items
        are created first (each output once), and only then is every call with a result
        marked completed, so that no later sync answers it a second time. A call still
        running has no result yet (its placeholder is not one), so it stays open for the
        result. An output whose call is neither among the items nor made by the server
        (a stray tool message) is left out: the server refuses outputs for unknown calls.
        """
        items = self._context_sync.initial_items(messages)
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

    # -- lifecycle -----------------------------------------------------------------------

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
        if self._audio_paused:
            return not self._forward_input_audio
        audio_b64 = await self._audio.encode(frame.audio, frame.sample_rate, frame.num_channels)
        # Until a session is ready (connecting, reconnecting) the core holds the audio, so
        # the user's first words after a reconnect are not lost.
        event = self._session.append_audio(audio_b64)
        if event is not None:
            connection = self._connection
            if connection is None or not await connection.send(event):
                self._session.hold_audio(audio_b64)  # the socket went: keep it for the next
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
            await self._start_turn_metrics()
            await self._act(self._initial_context_outputs(context))
            return True
        synced = self._context_sync.new_items(context.get_messages(), self._session.knows_call)
        for item in synced.items:
            if item.get("type") == "function_call_output":
                self._tracer.tool_call_finished(str(item.get("call_id")))
        outputs = self._session.create_items(synced.items)
        if self._context_asks_for_reply(synced):
            await self._start_turn_metrics()
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
        input_format = ((wire.get("audio") or {}).get("input") or {}).get("format") or {}
        self._audio.audio_format = input_format.get("type", "audio/pcm")
        self._audio.rate = int(
            input_format.get("rate") or (24000 if self._audio.audio_format == "audio/pcm" else 8000)
        )
        output_format = ((wire.get("audio") or {}).get("output") or {}).get("format") or {}
        self._decoder.audio_format = output_format.get("type", "audio/pcm")
        self._output_rate = props.output_sample_rate
        wire_bytes_per_ms = self._output_rate * self._decoder.wire_bytes_per_sample / 1000
        self._session.playback.set_format(wire_bytes_per_ms)

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
