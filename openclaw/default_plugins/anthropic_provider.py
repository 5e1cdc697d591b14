"""The native Anthropic (Claude) chat provider, streaming the Messages API's raw events.

`anthropic` is imported on first use, never at module level, so loading the plugin stays cheap.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from typing import Any

from openclaw.default_plugins._sdk_provider import (
    PartialCall,
    SDKChatProvider,
    SDKSettings,
    estimated_usage,
)
from openclaw.hookspecs import hookimpl
from openclaw.messages import ImagePart, Message, TextPart, ToolCall, Usage
from openclaw.providers import (
    ChatDelta,
    ChatEvent,
    ChatRequest,
    ChatResult,
    ProviderType,
)

DEFAULT_MAX_TOKENS = 4096
"""The Messages API requires `max_tokens`; used when the request leaves it open."""

PRESETS: dict[str, dict[str, Any]] = {
    "anthropic": {"api_key_env": "ANTHROPIC_API_KEY", "base_url_env": "ANTHROPIC_BASE_URL"},
}
"""No `base_url`: the SDK's default (https://api.anthropic.com) applies."""

_FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
}
"""Anthropic stop reasons in the OpenAI vocabulary that ChatResult uses."""


class AnthropicSettings(SDKSettings):
    """A `providers` entry of type ``anthropic``."""

    type: str = "anthropic"


class AnthropicProvider(SDKChatProvider):
    """Claude models through the `anthropic` SDK."""

    sdk_module = "anthropic"
    client_class = "AsyncAnthropic"

    async def _events(self, client: Any, request: ChatRequest) -> AsyncIterator[ChatEvent]:
        text: list[str] = []
        calls: dict[int, PartialCall] = {}
        usage: Usage | None = None
        finish = "stop"
        started = False
        stream = await client.messages.create(**messages_arguments(request))
        async with stream:
            async for event in stream:
                if not started:  # the model is answering: no longer a hung server
                    started = True
                    yield ChatDelta("")
                if event.type == "message_start" and event.message.usage is not None:
                    usage = Usage(
                        input_tokens(event.message.usage), event.message.usage.output_tokens
                    )
                elif event.type == "content_block_start" and event.content_block.type == "tool_use":
                    block = event.content_block
                    calls[event.index] = PartialCall(block.id, block.name)
                elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                    text.append(event.delta.text)
                    yield ChatDelta(event.delta.text)
                elif event.type == "content_block_delta" and event.delta.type == "input_json_delta":
                    calls[event.index].fragments.append(event.delta.partial_json)
                elif event.type == "message_delta":
                    reason = event.delta.stop_reason
                    finish = _FINISH_REASONS.get(reason, reason) if reason else finish
                    if event.usage is not None and usage is not None:
                        usage.output_tokens = event.usage.output_tokens
        tool_calls = [calls[i].build(f"toolu_{i}") for i in sorted(calls)]
        answer = "".join(text)
        yield ChatResult(
            text=answer,
            tool_calls=tool_calls,
            usage=usage or estimated_usage(request, answer, tool_calls),
            finish_reason=finish,
        )


def input_tokens(usage: Any) -> int:
    """Prompt tokens including those written to or read from the prompt cache."""
    cached = (usage.cache_creation_input_tokens or 0) + (usage.cache_read_input_tokens or 0)
    return (usage.input_tokens or 0) + cached


def messages_arguments(request: ChatRequest) -> dict[str, Any]:
    """The keyword arguments of `messages.create` for a request."""
    system = "\n\n".join(m.text for m in request.messages if m.role == "system" and m.text)
    arguments: dict[str, Any] = {
        "model": request.model,
        "messages": anthropic_messages(request.messages),
        "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
        "stream": True,
    }
    if system:
        # Marked cacheable: the kernel keeps the system prompt byte-stable across turns.
        block = {"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}
        arguments["system"] = [block]
    if request.tools:
        arguments["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": t.parameters}
            for t in request.tools
        ]
    if request.temperature is not None:
        arguments["temperature"] = request.temperature
    return arguments


def anthropic_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """Messages in the Messages API format (system messages go to `system=` instead).

    Consecutive tool results become one user message of `tool_result` blocks, as the API wants.
    """
    converted: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "tool":
            result = {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id or "",
                "content": message.text,
                "is_error": message.is_error,
            }
            previous = converted[-1] if converted else None
            if previous and previous["role"] == "user" and _is_tool_results(previous["content"]):
                previous["content"].append(result)
            else:
                converted.append({"role": "user", "content": [result]})
        elif message.role == "assistant":
            blocks: list[dict[str, Any]] = []
            if message.text:
                blocks.append({"type": "text", "text": message.text})
            blocks.extend(_tool_use(call) for call in message.tool_calls)
            if blocks:  # the API rejects empty assistant turns
                converted.append({"role": "assistant", "content": blocks})
        elif message.role == "user":
            converted.append({"role": "user", "content": _user_content(message)})
    return converted


def _is_tool_results(content: Any) -> bool:
    return isinstance(content, list) and all(b.get("type") == "tool_result" for b in content)


def _tool_use(call: ToolCall) -> dict[str, Any]:
    try:
        arguments = call.parsed_arguments()
    except ValueError:
        arguments = {}  # the model already saw its invalid JSON rejected in the tool result
    return {"type": "tool_use", "id": call.id, "name": call.name, "input": arguments}


def _user_content(message: Message) -> str | list[dict[str, Any]]:
    if isinstance(message.content, str):
        return message.content
    return [
        _image(part) if isinstance(part, ImagePart) else _text(part) for part in message.content
    ]


def _text(part: TextPart) -> dict[str, Any]:
    return {"type": "text", "text": part.text}


def _image(part: ImagePart) -> dict[str, Any]:
    if part.url:
        return {"type": "image", "source": {"type": "url", "url": part.url}}
    data = base64.b64encode(part.data or b"").decode("ascii")
    source = {"type": "base64", "media_type": part.mime_type, "data": data}
    return {"type": "image", "source": source}


@hookimpl
def register_providers(register: Callable[[ProviderType], None]) -> None:
    register(
        ProviderType(
            name="anthropic",
            create=AnthropicProvider,
            settings_model=AnthropicSettings,
            presets=PRESETS,
            description="Anthropic's Messages API (Claude), native",
        )
    )
