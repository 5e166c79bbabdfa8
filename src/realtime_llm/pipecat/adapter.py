"""The pipecat LLM adapter for realtime sessions: context -> instructions, items, tools.

pipecat asks every LLM service's adapter for three things: the invocation parameters for a
context, the provider's tool format, and loggable messages. For a realtime session the
"invocation" is a session set-up: the system instruction goes into the session's
``instructions`` (so an initial system message is pulled out of the history, as for any
provider that takes the instruction separately), the rest of the context becomes
conversation items (:mod:`realtime_llm.pipecat.context`), and the tools become GA
function tools in ``session.tools``.
"""

from __future__ import annotations

from typing import Any, TypedDict

from pipecat.adapters.llm.base_llm_adapter import BaseLLMAdapter
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import AdapterType, ToolsSchema
from pipecat.processors.aggregators.llm_context import LLMContext

from realtime_llm.pipecat.context import LLM_SPECIFIC_ID, messages_to_items

__all__ = ["RealtimeLLMAdapter", "RealtimeLLMInvocationParams"]


class RealtimeLLMInvocationParams(TypedDict):
    """What a realtime session is set up with, from one context.

    Parameters:
        system_instruction: For ``session.instructions``; ``None`` when there is none.
        items: The whole conversation as GA conversation items, in order.
        tools: GA tools for ``session.tools``; ``None`` when there are no tools at all.
    """

    system_instruction: str | None
    items: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None


# pipecat's BaseLLMAdapter.__init_subclass__ is unannotated, hence the ignore.
class RealtimeLLMAdapter(BaseLLMAdapter[RealtimeLLMInvocationParams]):  # type: ignore[no-untyped-call]
    """Adapter between pipecat's universal ``LLMContext`` and the GA realtime protocol."""

    def __init__(self) -> None:
        """A typed constructor (pipecat's is unannotated, which strict callers trip on)."""
        super().__init__()  # type: ignore[no-untyped-call]

    @property
    def id_for_llm_specific_messages(self) -> str:
        """``LLMSpecificMessage(llm="realtime-llm", message=<GA item>)`` is sent as is."""
        return LLM_SPECIFIC_ID

    async def get_llm_invocation_params(
        self,
        context: LLMContext,
        *,
        system_instruction: str | None = None,
        service_tools: Any = None,
        **kwargs: Any,
    ) -> RealtimeLLMInvocationParams:
        """The session set-up for ``context``.

        Args:
            context: The conversation.
            system_instruction: The service's instruction. It wins over an initial system
                message in the context (which is then not sent, with a warning); without
                it, that message becomes the instruction. Either way it is not an item.
            service_tools: Tools given to the service itself, used when the context has
                none (pipecat's rule for realtime sessions).
            **kwargs: Accepted for pipecat's adapter interface; unused.
        """
        messages = list(self.get_messages(context))
        from_context = self._extract_initial_system(messages, system_instruction=system_instruction)
        instruction = self._resolve_system_instruction(
            from_context, system_instruction, discard_context_system=True
        )
        return RealtimeLLMInvocationParams(
            system_instruction=instruction,
            items=messages_to_items(messages),
            tools=self._realtime_session_tools(context.tools, service_tools),
        )

    def to_provider_tools_format(self, tools_schema: ToolsSchema) -> list[dict[str, Any]]:
        """GA function tools for the standard tools, then the custom OpenAI ones verbatim.

        Realtime tools are flat (``name`` at the top), unlike chat completions' nested
        ``{"type": "function", "function": {...}}``.
        """
        tools = [_function_tool(schema) for schema in tools_schema.standard_tools]
        if tools_schema.custom_tools:
            tools.extend(tools_schema.custom_tools.get(AdapterType.OPENAI, []))
        return tools

    def get_messages_for_logging(self, context: LLMContext) -> list[dict[str, Any]]:
        """The items the context maps to, with base64 payloads shortened."""
        return messages_to_items(self.get_messages(context, truncate_large_values=True))


def _function_tool(schema: FunctionSchema) -> dict[str, Any]:
    return {
        "type": "function",
        "name": schema.name,
        "description": schema.description,
        "parameters": {
            "type": "object",
            "properties": schema.properties,
            "required": schema.required,
        },
    }
