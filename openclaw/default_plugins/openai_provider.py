"""The OpenAI-compatible chat provider: OpenAI, Ollama, Moonshot, DeepSeek, OpenRouter, vLLM and
llama.cpp servers, told apart by `base_url`.

`openai` is imported on first use, never at module level, so loading the plugin stays cheap.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from openclaw.default_plugins._sdk_provider import (
    PartialCall,
    SDKChatProvider,
    SDKSettings,
    WireBody,
    estimated_usage,
)
from openclaw.hookspecs import hookimpl
from openclaw.messages import ImagePart, Message, Usage
from openclaw.providers import (
    ChatDelta,
    ChatEvent,
    ChatRequest,
    ChatResult,
    ProviderType,
    ToolSpec,
)

PRESETS: dict[str, dict[str, Any]] = {
    "openai": {
        "base_url": "https://api.openai.com/v1",
        "api_key_env": "OPENAI_API_KEY",
        "base_url_env": "OPENAI_BASE_URL",
    },
    "ollama": {"base_url": "http://127.0.0.1:11434/v1"},
    "moonshot": {"base_url": "https://api.moonshot.ai/v1", "api_key_env": "MOONSHOT_API_KEY"},
    "deepseek": {"base_url": "https://api.deepseek.com/v1", "api_key_env": "DEEPSEEK_API_KEY"},
    "openrouter": {"base_url": "https://openrouter.ai/api/v1", "api_key_env": "OPENROUTER_API_KEY"},
    "vllm": {"base_url": "http://127.0.0.1:8000/v1"},
    "llamacpp": {"base_url": "http://127.0.0.1:8080/v1"},
}
"""Instances usable without config; a config entry of the same name is merged over its preset."""


class OpenAISettings(SDKSettings):
    """A `providers` entry of type ``openai``."""

    type: str = "openai"


class OpenAIProvider(SDKChatProvider):
    """One OpenAI-compatible server, streaming chat completions through the `openai` SDK."""

    sdk_module = "openai"
    client_class = "AsyncOpenAI"

    def __init__(self, name: str, settings: SDKSettings) -> None:
        super().__init__(name, settings)
        self._wire = WireBody(openai_tool)

    async def _events(self, client: Any, request: ChatRequest) -> AsyncIterator[ChatEvent]:
        text: list[str] = []
        calls: dict[int, PartialCall] = {}
        usage: Usage | None = None
        finish = "stop"
        started = False
        stream = await post_chat(
            client, self._wire.body(chat_arguments(request, tools=False), request.tools)
        )
        async with stream:
            async for chunk in stream:
                if not started:  # the model is answering: no longer a hung server
                    started = True
                    yield ChatDelta("")
                # chunks are the decoded JSON: reading a few keys is all this needs
                if reported := chunk.get("usage"):
                    usage = Usage(
                        reported.get("prompt_tokens") or 0, reported.get("completion_tokens") or 0
                    )
                for choice in chunk.get("choices") or ():
                    finish = choice.get("finish_reason") or finish
                    delta = choice.get("delta") or {}
                    if content := delta.get("content"):
                        text.append(content)
                        yield ChatDelta(content)
                    for fragment in delta.get("tool_calls") or ():
                        index = fragment.get("index")
                        index = len(calls) if index is None else index
                        call = calls.setdefault(index, PartialCall())
                        call.id = fragment.get("id") or call.id
                        if (function := fragment.get("function")) is not None:
                            call.name = function.get("name") or call.name
                            call.fragments.append(function.get("arguments") or "")
        tool_calls = [calls[i].build(f"call_{i}") for i in sorted(calls)]
        answer = "".join(text)
        yield ChatResult(
            text=answer,
            tool_calls=tool_calls,
            usage=usage or estimated_usage(request, answer, tool_calls),
            finish_reason="tool_calls" if tool_calls else finish,
        )


async def post_chat(client: Any, body: bytes | dict[str, Any]) -> Any:
    """Start a streamed chat completion with a body that is already in the wire format (JSON
    bytes are sent as they are); the stream yields each chunk as decoded JSON.

    `chat.completions.create` walks the whole body against the SDK's type annotations on
    every call (2 ms for a dozen tool schemas) and builds a model object of every chunk
    (about 0.2 ms each); the client's own `post` sends the body as it is, and its stream
    class, asked for plain objects, parses each record once, with `json`."""
    import openai

    wire = {"content": body} if isinstance(body, bytes) else {"body": body}
    return await client.post(
        "/chat/completions",
        cast_to=object,
        stream=True,
        stream_cls=openai.AsyncStream[object],
        **wire,
    )


def chat_arguments(request: ChatRequest, *, tools: bool = True) -> dict[str, Any]:
    """The JSON body of a streamed chat completion (the keyword arguments of
    `chat.completions.create`) for a request; without its tools when `tools` is False."""
    arguments: dict[str, Any] = {
        "model": request.model,
        "messages": [openai_message(message) for message in request.messages],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if request.tools and tools:
        arguments["tools"] = [openai_tool(tool) for tool in request.tools]
    if request.max_tokens is not None:
        arguments["max_tokens"] = request.max_tokens
    if request.temperature is not None:
        arguments["temperature"] = request.temperature
    return arguments


def openai_tool(tool: ToolSpec) -> dict[str, Any]:
    """A tool in the chat completions format."""
    function = {"name": tool.name, "description": tool.description, "parameters": tool.parameters}
    return {"type": "function", "function": function}


def openai_message(message: Message) -> dict[str, Any]:
    """A Message in the chat completions format."""
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id or "", "content": message.text}
    if message.role == "assistant" and message.tool_calls:
        # `content: null` beside tool_calls is rejected by llama.cpp; "" is accepted everywhere.
        calls = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments or "{}"},
            }
            for call in message.tool_calls
        ]
        return {"role": "assistant", "content": message.text, "tool_calls": calls}
    if message.role == "user" and isinstance(message.content, list) and message.images:
        parts = [
            {"type": "image_url", "image_url": {"url": part.data_url()}}
            if isinstance(part, ImagePart)
            else {"type": "text", "text": part.text}
            for part in message.content
        ]
        return {"role": "user", "content": parts}
    return {"role": message.role, "content": message.text}


@hookimpl
def register_providers(register: Callable[[ProviderType], None]) -> None:
    register(
        ProviderType(
            name="openai",
            create=OpenAIProvider,
            settings_model=OpenAISettings,
            presets=PRESETS,
            description="OpenAI-compatible chat APIs (OpenAI, Ollama, vLLM, llama.cpp, ...)",
        )
    )
