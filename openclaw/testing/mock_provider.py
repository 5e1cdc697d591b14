"""A scripted chat model for tests: enqueue replies, read back what it was sent.

mock = MockModel()
mock.enqueue("Hello!")
mock.enqueue(tool_calls=[("echo", {"text": "hi"})])
app = App(config, plugins=[mock.plugin()])   # model ref "mock/any-name"

Like a real server, it refuses a request whose tool calls and results do not pair up (a
ProviderError "HTTP 400: ...") or whose text is not valid Unicode.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from openclaw.hookspecs import hookimpl
from openclaw.messages import Message, ToolCall, Usage, estimate_tokens
from openclaw.providers import (
    ChatDelta,
    ChatEvent,
    ChatRequest,
    ChatResult,
    ProviderError,
    ProviderType,
)


@dataclass
class Reply:
    """One scripted answer: text (streamed in `chunks` pieces), tool calls, or an error."""

    text: str = ""
    tool_calls: list[tuple[str, dict[str, Any] | str]] = field(default_factory=list)
    error: str | None = None
    delay: float = 0.0
    chunks: int = 3


class MockModel:
    """A chat provider type named `mock` whose instances answer from one shared script."""

    def __init__(self, default: str | None = "ok", supports_tools: bool = True) -> None:
        self.script: deque[Reply] = deque()
        self.requests: list[ChatRequest] = []
        self.default = default
        self.supports_tools = supports_tools

    def enqueue(
        self,
        text: str = "",
        *,
        tool_calls: list[tuple[str, dict[str, Any] | str]] | None = None,
        error: str | None = None,
        delay: float = 0.0,
        chunks: int = 3,
    ) -> MockModel:
        self.script.append(Reply(text, list(tool_calls or []), error, delay, chunks))
        return self

    def tool_results(self) -> list[Message]:
        """The tool results the model was sent in its last request, after the newest user
        message: what the tools it called answered."""
        messages = self.requests[-1].messages
        last_user = max((i for i, m in enumerate(messages) if m.role == "user"), default=0)
        return [m for m in messages[last_user:] if m.role == "tool"]

    def provider_type(self, name: str = "mock", **options: Any) -> ProviderType:
        """A provider type `name` (preset instance of the same name) answering from this
        script; `options` go to ProviderType (e.g. `last_resort="offline/tiny"`)."""
        return ProviderType(
            name=name,
            create=lambda instance, settings: _MockProvider(instance, self),
            presets={name: {"type": name}},
            description="scripted test model",
            **options,
        )

    def plugin(self) -> tuple[str, object]:
        """A (name, plugin) pair registering the `mock` provider type for `App(plugins=...)`."""
        provider_type = self.provider_type()

        class _Plugin:
            @hookimpl
            def register_providers(self, register: Any) -> None:
                register(provider_type)

        return "mock-model", _Plugin()


class _MockProvider:
    def __init__(self, name: str, model: MockModel) -> None:
        self.name = name
        self.model = model
        self.supports_tools = model.supports_tools
        self._calls = 0

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatEvent]:
        self.model.requests.append(request)
        ref = f"{self.name}/{request.model}"
        refused = _refusal(request)
        if refused:
            raise ProviderError(ref, refused, status=400)
        if self.model.script:
            reply = self.model.script.popleft()
        elif self.model.default is not None:
            reply = Reply(self.model.default)
        else:
            raise ProviderError(ref, "the mock model's script is empty")
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.error is not None:
            raise ProviderError(ref, reply.error)
        size = max(1, -(-len(reply.text) // max(1, reply.chunks)))
        for start in range(0, len(reply.text), size):
            yield ChatDelta(reply.text[start : start + size])
            await asyncio.sleep(0)
        calls = []
        for name, arguments in reply.tool_calls:
            self._calls += 1
            raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
            calls.append(ToolCall(f"call_{self._calls}", name, raw))
        prompt = sum(estimate_tokens(m.text) for m in request.messages)
        usage = Usage(prompt, estimate_tokens(reply.text), estimated=True)
        finish = "tool_calls" if calls else "stop"
        yield ChatResult(reply.text, calls, usage, finish)

    async def aclose(self) -> None:
        return None


def _refusal(request: ChatRequest) -> str:
    """What a real server would answer to this request instead of a reply, or "": a request
    that cannot be encoded as UTF-8 JSON never leaves the SDK, and tool calls and results that
    do not pair up get a 400 (OpenAI's rules)."""
    from openclaw.default_plugins.openai_provider import openai_message
    from openclaw.testing.servers import openai_sequence_problem

    messages = [openai_message(message) for message in request.messages]
    try:
        json.dumps(messages, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"unexpected UnicodeEncodeError: {exc}"
    problem = openai_sequence_problem(messages)
    return f"HTTP 400: {problem}" if problem else ""
