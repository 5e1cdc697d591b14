"""The native Anthropic provider against a real local server speaking the Messages API SSE."""

from __future__ import annotations

import base64
import socket
from collections.abc import AsyncIterator

import pytest

from openclaw.config import Secret
from openclaw.default_plugins.anthropic_provider import (
    PRESETS,
    AnthropicProvider,
    AnthropicSettings,
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
from openclaw.testing.servers import FakeAnthropicServer, Reply

WEATHER = ToolSpec(
    "weather", "The weather in a city.", {"type": "object", "properties": {"city": {}}}
)


async def collect(
    provider: AnthropicProvider, request: ChatRequest
) -> tuple[list[str], ChatResult]:
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


def ask(text: str = "hi") -> ChatRequest:
    return ChatRequest(model="claude-test", messages=[Message("user", text)])


def settings_for(server: FakeAnthropicServer, **fields: object) -> AnthropicSettings:
    values = {"base_url": server.base_url, "api_key": Secret("sk-ant-test"), "max_retries": 0}
    return AnthropicSettings.model_validate({**values, **fields})


@pytest.fixture
async def provider(
    openclaw_anthropic_server: FakeAnthropicServer,
) -> AsyncIterator[AnthropicProvider]:
    instance = AnthropicProvider("claude", settings_for(openclaw_anthropic_server))
    yield instance
    await instance.aclose()


async def test_streams_text_with_usage(
    provider: AnthropicProvider, openclaw_anthropic_server: FakeAnthropicServer
) -> None:
    openclaw_anthropic_server.enqueue(Reply("Bonjour tout le monde", chunks=4))
    request = ChatRequest(
        model="claude-test", messages=[Message("system", "Be brief."), Message("user", "hello")]
    )

    deltas, result = await collect(provider, request)

    assert deltas[0] == "" and len(deltas) == 5  # the started marker, then the text
    assert "".join(deltas) == result.text == "Bonjour tout le monde"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (10, 5)
    assert not result.usage.estimated and result.finish_reason == "stop"
    sent = openclaw_anthropic_server.requests[0]
    assert sent["max_tokens"] == 4096 and sent["stream"] is True
    assert [block["text"] for block in sent["system"]] == ["Be brief."]
    assert sent["messages"] == [{"role": "user", "content": "hello"}]
    assert "tools" not in sent
    assert openclaw_anthropic_server.api_keys == ["sk-ant-test"]


async def test_parallel_tool_use_blocks(
    provider: AnthropicProvider, openclaw_anthropic_server: FakeAnthropicServer
) -> None:
    calls = [("weather", '{"city": "Paris"}'), ("weather", '{"city": "Tokyo"}')]
    openclaw_anthropic_server.enqueue(Reply("Checking both.", tool_calls=calls))
    request = ChatRequest(model="claude-test", messages=[Message("user", "hi")], tools=[WEATHER])

    deltas, result = await collect(provider, request)

    assert deltas == ["", "Checking both."]
    assert result.tool_calls == [
        ToolCall("toolu_fake_1", "weather", '{"city": "Paris"}'),
        ToolCall("toolu_fake_2", "weather", '{"city": "Tokyo"}'),
    ]
    assert result.finish_reason == "tool_calls"
    assert openclaw_anthropic_server.requests[0]["tools"] == [
        {"name": "weather", "description": WEATHER.description, "input_schema": WEATHER.parameters}
    ]


async def test_missing_usage_is_estimated(
    provider: AnthropicProvider, openclaw_anthropic_server: FakeAnthropicServer
) -> None:
    openclaw_anthropic_server.enqueue(Reply("no counts here", usage=None))

    _, result = await collect(provider, ask())

    assert result.usage.estimated
    assert result.usage.output_tokens == estimate_tokens("no counts here")
    assert result.usage.input_tokens > 0


async def test_overload_is_retried_by_the_sdk(
    openclaw_anthropic_server: FakeAnthropicServer,
) -> None:
    openclaw_anthropic_server.enqueue(Reply.error(429, "rate limited"), Reply("second time lucky"))
    provider = AnthropicProvider("claude", settings_for(openclaw_anthropic_server, max_retries=2))

    _, result = await collect(provider, ask())
    await provider.aclose()

    assert result.text == "second time lucky"
    assert len(openclaw_anthropic_server.requests) == 2


async def test_server_error_without_retries_raises_with_status(
    provider: AnthropicProvider, openclaw_anthropic_server: FakeAnthropicServer
) -> None:
    openclaw_anthropic_server.enqueue(Reply.error(500, "internal trouble"))

    with pytest.raises(ProviderError) as caught:
        await collect(provider, ask())

    assert caught.value.status == 500
    assert caught.value.ref == "claude/claude-test"
    assert caught.value.reason == "HTTP 500 (server error)"
    assert caught.value.detail == "internal trouble"


async def test_connection_refused_names_the_url() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = AnthropicSettings(
        base_url=f"http://127.0.0.1:{port}", api_key=Secret("k"), max_retries=0
    )

    with pytest.raises(ProviderError) as caught:
        await collect(AnthropicProvider("claude", settings), ask())

    assert caught.value.reason == f"cannot reach http://127.0.0.1:{port}"


async def test_a_connection_dropped_mid_answer_says_so(
    provider: AnthropicProvider, openclaw_anthropic_server: FakeAnthropicServer
) -> None:
    openclaw_anthropic_server.enqueue(Reply.cut("half an answ"))

    with pytest.raises(ProviderError) as caught:
        await collect(provider, ask())

    assert caught.value.reason.startswith("connection to http://127.0.0.1:")
    assert caught.value.reason.endswith(" lost mid-answer")


async def test_malformed_stream_is_a_provider_error(
    provider: AnthropicProvider, openclaw_anthropic_server: FakeAnthropicServer
) -> None:
    openclaw_anthropic_server.enqueue(Reply.malformed("partial "))

    with pytest.raises(ProviderError) as caught:
        await collect(provider, ask())

    assert caught.value.reason == "malformed response stream"


async def test_images_are_sent_as_image_blocks(
    provider: AnthropicProvider, openclaw_anthropic_server: FakeAnthropicServer
) -> None:
    pixels = b"\x89PNG fake pixels"
    question = Message(
        "user",
        [
            TextPart("compare these"),
            ImagePart(data=pixels, mime_type="image/png"),
            ImagePart(url="https://example.org/dog.jpg"),
        ],
    )

    await collect(provider, ChatRequest(model="claude-test", messages=[question]))

    encoded = base64.b64encode(pixels).decode()
    assert openclaw_anthropic_server.requests[0]["messages"][0]["content"] == [
        {"type": "text", "text": "compare these"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": encoded}},
        {"type": "image", "source": {"type": "url", "url": "https://example.org/dog.jpg"}},
    ]


async def test_tool_history_becomes_tool_use_and_grouped_results(
    provider: AnthropicProvider, openclaw_anthropic_server: FakeAnthropicServer
) -> None:
    paris = ToolCall("toolu_1", "weather", '{"city": "Paris"}')
    mars = ToolCall("toolu_2", "weather", '{"city": "Mars"}')
    history = [
        Message("user", "weather in Paris and on Mars?"),
        Message("assistant", "", tool_calls=[paris, mars]),
        Message("tool", "sunny", tool_call_id="toolu_1", name="weather"),
        Message("tool", "no such city", tool_call_id="toolu_2", name="weather", is_error=True),
    ]

    await collect(provider, ChatRequest(model="claude-test", messages=history))

    _, assistant, results = openclaw_anthropic_server.requests[0]["messages"]
    assert assistant == {
        "role": "assistant",
        "content": [
            {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "toolu_2", "name": "weather", "input": {"city": "Mars"}},
        ],
    }
    assert results == {
        "role": "user",
        "content": [
            {
                "type": "tool_result",
                "tool_use_id": "toolu_1",
                "content": "sunny",
                "is_error": False,
            },
            {
                "type": "tool_result",
                "tool_use_id": "toolu_2",
                "content": "no such city",
                "is_error": True,
            },
        ],
    }


async def test_a_missing_key_says_what_to_set(
    openclaw_anthropic_server: FakeAnthropicServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    settings = AnthropicSettings(
        **{**PRESETS["anthropic"], "base_url": openclaw_anthropic_server.base_url}
    )

    with pytest.raises(ProviderError) as caught:
        await collect(AnthropicProvider("anthropic", settings), ask())

    assert "ANTHROPIC_API_KEY" in caught.value.reason
    assert "providers.anthropic.api_key" in caught.value.reason
    assert openclaw_anthropic_server.requests == []


async def test_the_fake_also_answers_plain_calls_and_lists_models(
    openclaw_anthropic_server: FakeAnthropicServer,
) -> None:
    import anthropic

    client = anthropic.AsyncAnthropic(
        api_key="k", base_url=openclaw_anthropic_server.base_url, max_retries=0
    )
    openclaw_anthropic_server.enqueue(Reply("plain", tool_calls=[("weather", '{"city": "Oslo"}')]))
    message = await client.messages.create(
        model="m", max_tokens=10, messages=[{"role": "user", "content": "x"}]
    )
    models = await client.models.list()
    await client.close()

    text, tool_use = message.content
    assert text.type == "text" and text.text == "plain"
    assert tool_use.type == "tool_use" and tool_use.input == {"city": "Oslo"}
    assert message.stop_reason == "tool_use" and message.usage.output_tokens == 5
    assert [model.id for model in models.data] == ["fake-model"]


def test_registers_the_anthropic_type() -> None:
    registered: list[ProviderType] = []
    register_providers(registered.append)

    (provider_type,) = registered
    assert provider_type.name == "anthropic" and set(provider_type.presets) == {"anthropic"}
    settings = AnthropicSettings.model_validate(dict(provider_type.presets["anthropic"]))
    assert settings.type == "anthropic" and settings.api_key_env == "ANTHROPIC_API_KEY"
    assert isinstance(provider_type.create("anthropic", settings), ChatProvider)
