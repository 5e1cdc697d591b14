"""The OpenAI-compatible provider against a real local server speaking the chat completions SSE."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from openclaw.config import Secret
from openclaw.default_plugins._sdk_provider import NO_KEY, WireBody
from openclaw.default_plugins.openai_provider import (
    PRESETS,
    OpenAIProvider,
    OpenAISettings,
    openai_tool,
    register_providers,
)
from openclaw.messages import ImagePart, Message, TextPart, ToolCall, estimate_tokens
from openclaw.providers import (
    ChatDelta,
    ChatProvider,
    ChatRequest,
    ChatResult,
    ProviderError,
    ProviderType,
    ToolSpec,
)
from openclaw.testing.servers import FakeOpenAIServer, Reply

ADD = ToolSpec("add", "Add two numbers.", {"type": "object", "properties": {}})


async def collect(provider: OpenAIProvider, request: ChatRequest) -> tuple[list[str], ChatResult]:
    """The streamed deltas and the single final result."""
    deltas: list[str] = []
    results: list[ChatResult] = []
    async for event in provider.stream(request):
        if isinstance(event, ChatDelta):
            deltas.append(event.text)
        else:
            results.append(event)
    assert len(results) == 1
    return deltas, results[0]


def ask(text: str = "hi", **fields: Any) -> ChatRequest:
    return ChatRequest(model="test-model", messages=[Message("user", text)], **fields)


@pytest.fixture
async def provider(openclaw_openai_server: FakeOpenAIServer) -> AsyncIterator[OpenAIProvider]:
    settings = OpenAISettings(base_url=openclaw_openai_server.base_url, max_retries=0)
    instance = OpenAIProvider("fake", settings)
    yield instance
    await instance.aclose()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_streams_text_in_several_deltas(
    provider: OpenAIProvider, openclaw_openai_server: FakeOpenAIServer
) -> None:
    openclaw_openai_server.enqueue(Reply("Hello there, world!", chunks=3))

    deltas, result = await collect(provider, ask("greet me"))

    assert deltas[0] == ""  # the stream's first record: the model is answering
    assert len(deltas) == 4
    assert "".join(deltas) == result.text == "Hello there, world!"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (10, 5)
    assert not result.usage.estimated
    assert result.finish_reason == "stop" and result.tool_calls == []
    sent = openclaw_openai_server.requests[0]
    assert sent["model"] == "test-model" and sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}
    assert sent["messages"] == [{"role": "user", "content": "greet me"}]
    assert "tools" not in sent


async def test_parallel_tool_calls_are_assembled_by_index(
    provider: OpenAIProvider, openclaw_openai_server: FakeOpenAIServer
) -> None:
    calls = [("add", '{"a": 1, "b": 2}'), ("lookup", '{"query": "weather in Paris"}')]
    openclaw_openai_server.enqueue(Reply(tool_calls=calls))

    deltas, result = await collect(provider, ask(tools=[ADD]))

    assert deltas == [""]  # a tool call streams no text, only the started marker
    assert result.tool_calls == [
        ToolCall("call_fake_0", "add", '{"a": 1, "b": 2}'),
        ToolCall("call_fake_1", "lookup", '{"query": "weather in Paris"}'),
    ]
    assert result.finish_reason == "tool_calls"
    assert openclaw_openai_server.requests[0]["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "add",
                "description": ADD.description,
                "parameters": ADD.parameters,
            },
        }
    ]


async def test_missing_usage_is_estimated(
    provider: OpenAIProvider, openclaw_openai_server: FakeOpenAIServer
) -> None:
    openclaw_openai_server.enqueue(Reply("four score and seven", usage=None))

    _, result = await collect(provider, ask("how long ago?"))

    assert result.usage.estimated
    assert result.usage.output_tokens == estimate_tokens("four score and seven")
    assert result.usage.input_tokens > 0


async def test_rate_limit_is_retried_by_the_sdk(openclaw_openai_server: FakeOpenAIServer) -> None:
    openclaw_openai_server.enqueue(Reply.error(429, "slow down"), Reply("made it"))
    provider = OpenAIProvider(
        "fake", OpenAISettings(base_url=openclaw_openai_server.base_url, max_retries=2)
    )

    _, result = await collect(provider, ask())
    await provider.aclose()

    assert result.text == "made it"
    assert len(openclaw_openai_server.requests) == 2


async def test_server_error_without_retries_raises_with_status(
    provider: OpenAIProvider, openclaw_openai_server: FakeOpenAIServer
) -> None:
    openclaw_openai_server.enqueue(Reply.error(500, "the model fell over"))

    with pytest.raises(ProviderError) as caught:
        await collect(provider, ask())

    assert caught.value.status == 500
    assert caught.value.ref == "fake/test-model"
    assert caught.value.reason == "HTTP 500 (server error)"  # the server's words stay out
    assert caught.value.detail == "the model fell over"  # ... and go to the log
    assert len(openclaw_openai_server.requests) == 1


async def test_connection_refused_names_the_url() -> None:
    base_url = f"http://127.0.0.1:{closed_port()}/v1"
    provider = OpenAIProvider("local", OpenAISettings(base_url=base_url, max_retries=0))

    with pytest.raises(ProviderError, match="cannot reach") as caught:
        await collect(provider, ask())

    assert caught.value.reason == f"cannot reach {base_url}"
    assert caught.value.status is None


def test_each_tools_json_is_made_once_and_a_changed_schema_is_not_stale() -> None:
    rendered: list[str] = []

    def render(spec: ToolSpec) -> dict[str, Any]:
        rendered.append(spec.name)
        return openai_tool(spec)

    wire = WireBody(render, size=2)
    add = ToolSpec("add", "Add two numbers.", {"type": "object", "properties": {}})
    arguments = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    first = wire.body(arguments, [add, ADD])
    again = wire.body(arguments, [ToolSpec(add.name, add.description, add.parameters), ADD])
    assert first == again and rendered == ["add", "add"]  # two specs, two parameter dicts
    assert json.loads(first) == {**arguments, "tools": [openai_tool(add), openai_tool(ADD)]}

    changed = ToolSpec("add", "Add two numbers.", {"type": "object", "required": ["a"]})
    body = json.loads(wire.body(arguments, [changed]))
    assert body["tools"][0]["function"]["parameters"] == {"type": "object", "required": ["a"]}
    assert json.loads(wire.body(arguments, [])) == arguments
    assert len(rendered) == 3


def test_one_provider_answers_in_successive_event_loops(
    openclaw_openai_server: FakeOpenAIServer,
) -> None:
    """The client's aiohttp session belongs to the loop it was first used in; a script that
    calls `asyncio.run` twice with one App gets a new client in the second loop."""
    settings = OpenAISettings(base_url=openclaw_openai_server.base_url, max_retries=0)
    provider = OpenAIProvider("fake", settings)
    openclaw_openai_server.enqueue(Reply("first"), Reply("second"))

    async def once() -> str:
        _, result = await collect(provider, ask())
        return result.text

    assert asyncio.run(once()) == "first"
    assert asyncio.run(once()) == "second"
    asyncio.run(provider.aclose())


async def test_a_connection_dropped_mid_answer_says_so(
    provider: OpenAIProvider, openclaw_openai_server: FakeOpenAIServer
) -> None:
    openclaw_openai_server.enqueue(Reply.cut("half an answ"))

    with pytest.raises(ProviderError) as caught:
        await collect(provider, ask())

    assert caught.value.reason.startswith("connection to http://127.0.0.1:")
    assert caught.value.reason.endswith(" lost mid-answer")


async def test_malformed_stream_is_a_provider_error(
    provider: OpenAIProvider, openclaw_openai_server: FakeOpenAIServer
) -> None:
    openclaw_openai_server.enqueue(Reply.malformed())

    with pytest.raises(ProviderError) as caught:
        await collect(provider, ask())

    assert caught.value.reason == "malformed response stream"


async def test_a_hanging_server_times_out(openclaw_openai_server: FakeOpenAIServer) -> None:
    openclaw_openai_server.enqueue(Reply.hang())
    settings = OpenAISettings(base_url=openclaw_openai_server.base_url, max_retries=0, timeout=0.3)
    provider = OpenAIProvider("slow", settings)

    with pytest.raises(ProviderError, match=r"timed out after 0\.3s waiting for http://"):
        await collect(provider, ask())


async def test_image_parts_reach_the_server_as_image_urls(
    provider: OpenAIProvider, openclaw_openai_server: FakeOpenAIServer
) -> None:
    image = ImagePart(data=b"\x89PNG fake", mime_type="image/png")
    remote = ImagePart(url="https://example.org/cat.jpg")
    question = Message("user", [TextPart("what is this?"), image, remote])

    await collect(provider, ChatRequest(model="vision", messages=[question]))

    assert openclaw_openai_server.requests[0]["messages"][0]["content"] == [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": image.data_url()}},
        {"type": "image_url", "image_url": {"url": "https://example.org/cat.jpg"}},
    ]


async def test_history_with_tool_calls_is_translated(
    provider: OpenAIProvider, openclaw_openai_server: FakeOpenAIServer
) -> None:
    call = ToolCall("call_1", "add", '{"a": 1, "b": 2}')
    history = [
        Message("system", "You add numbers."),
        Message("user", "1 + 2?"),
        Message("assistant", "", tool_calls=[call]),
        Message("tool", "3", tool_call_id="call_1", name="add"),
    ]

    await collect(provider, ChatRequest(model="m", messages=history))

    system, user, assistant, tool = openclaw_openai_server.requests[0]["messages"]
    assert system == {"role": "system", "content": "You add numbers."}
    assert user == {"role": "user", "content": "1 + 2?"}
    assert assistant["content"] == ""  # never null: llama.cpp rejects it
    assert assistant["tool_calls"] == [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "add", "arguments": call.arguments},
        }
    ]
    assert tool == {"role": "tool", "tool_call_id": "call_1", "content": "3"}


async def test_a_missing_key_says_what_to_set(
    openclaw_openai_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MOONSHOT_API_KEY", raising=False)
    settings = OpenAISettings(
        **{**PRESETS["moonshot"], "base_url": openclaw_openai_server.base_url}
    )
    provider = OpenAIProvider("moonshot", settings)

    with pytest.raises(ProviderError) as caught:
        await collect(provider, ask())

    assert "MOONSHOT_API_KEY" in caught.value.reason
    assert "providers.moonshot.api_key" in caught.value.reason
    assert openclaw_openai_server.requests == []


async def test_keys_come_from_config_then_the_preset_variable(
    openclaw_openai_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOONSHOT_API_KEY", "sk-from-env")
    preset = {**PRESETS["moonshot"], "base_url": openclaw_openai_server.base_url}
    from_env = OpenAIProvider("moonshot", OpenAISettings(**preset))
    configured = OpenAIProvider("moonshot", OpenAISettings(**preset, api_key=Secret("sk-conf")))
    keyless = OpenAIProvider("ollama", OpenAISettings(base_url=openclaw_openai_server.base_url))

    for provider in (from_env, configured, keyless):
        await collect(provider, ask())
        await provider.aclose()

    assert openclaw_openai_server.api_keys == ["sk-from-env", "sk-conf", NO_KEY]


async def test_base_url_variable_overrides_the_preset(
    openclaw_openai_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", openclaw_openai_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    provider = OpenAIProvider("openai", OpenAISettings(**PRESETS["openai"]))

    _, result = await collect(provider, ask("ping"))
    await provider.aclose()

    assert result.text == "echo: ping"
    assert openclaw_openai_server.api_keys == ["sk-test"]


async def test_the_fake_also_answers_plain_calls_and_lists_models() -> None:
    import openai

    with FakeOpenAIServer(default=lambda body: Reply("fixed"), models=["llama3.2:1b"]) as server:
        client = openai.AsyncOpenAI(api_key="k", base_url=server.base_url, max_retries=0)
        server.enqueue(Reply("plain", tool_calls=[("add", '{"a": 1}')]))
        first = await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x"}]
        )
        second = await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "y"}]
        )
        models = await client.models.list()
        await client.close()

    assert first.choices[0].message.content == "plain"
    assert first.choices[0].message.tool_calls[0].function.arguments == '{"a": 1}'
    assert first.usage is not None and first.usage.total_tokens == 15
    assert second.choices[0].message.content == "fixed"
    assert [model.id for model in models.data] == ["llama3.2:1b"]


def test_registers_the_openai_type_with_presets() -> None:
    registered: list[ProviderType] = []
    register_providers(registered.append)

    (provider_type,) = registered
    assert provider_type.name == "openai" and provider_type.kind == "chat"
    assert provider_type.settings_model is OpenAISettings
    expected = {"openai", "ollama", "moonshot", "deepseek", "openrouter", "vllm", "llamacpp"}
    assert set(provider_type.presets) == expected
    settings = OpenAISettings.model_validate({**provider_type.presets["ollama"], "timeout": 5})
    instance = provider_type.create("ollama", settings)
    assert isinstance(instance, ChatProvider) and instance.supports_tools
    with pytest.raises(ValueError, match="extra"):
        OpenAISettings.model_validate({"base_urll": "typo"})
