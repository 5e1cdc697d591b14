"""The fallback chain over real providers and fake servers: breaker, fallbacks, last model."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openclaw.config import Secret
from openclaw.default_plugins.anthropic_provider import AnthropicProvider, AnthropicSettings
from openclaw.default_plugins.openai_provider import OpenAIProvider, OpenAISettings
from openclaw.messages import Message
from openclaw.providers import (
    ChatProvider,
    ChatRequest,
    ChatResult,
    FallbackEvent,
    NoProviderAvailable,
    ProviderChain,
    split_ref,
)
from openclaw.testing.servers import FakeAnthropicServer, FakeOpenAIServer, Reply

PRIMARY = "local/llama"
BACKUP = "claude/claude-test"


@pytest.fixture
async def providers(
    openclaw_openai_server: FakeOpenAIServer, openclaw_anthropic_server: FakeAnthropicServer
) -> AsyncIterator[dict[str, ChatProvider]]:
    """`local` (OpenAI-compatible) and `claude` (Anthropic), without SDK retries."""
    built: dict[str, ChatProvider] = {
        "local": OpenAIProvider(
            "local", OpenAISettings(base_url=openclaw_openai_server.base_url, max_retries=0)
        ),
        "claude": AnthropicProvider(
            "claude",
            AnthropicSettings(
                base_url=openclaw_anthropic_server.base_url, api_key=Secret("sk-ant"), max_retries=0
            ),
        ),
    }
    yield built
    for provider in built.values():
        await provider.aclose()


def chain_for(providers: dict[str, ChatProvider]) -> ProviderChain:
    return ProviderChain(lambda ref: providers[split_ref(ref)[0]])


async def answer(
    chain: ProviderChain, refs: list[str], fallbacks: list[FallbackEvent] | None = None
) -> ChatResult:
    def request_for(model: str, provider: ChatProvider) -> ChatRequest:
        return ChatRequest(model=model, messages=[Message("user", "hello")])

    events = [
        event
        async for event in chain.stream(
            refs, request_for, fallbacks.append if fallbacks is not None else None
        )
    ]
    result = events[-1]
    assert isinstance(result, ChatResult)
    return result


async def test_repeated_failures_open_the_breaker(
    providers: dict[str, ChatProvider],
    openclaw_openai_server: FakeOpenAIServer,
    openclaw_anthropic_server: FakeAnthropicServer,
) -> None:
    openclaw_openai_server.enqueue(*[Reply.error(500, "down")] * 4)
    chain = chain_for(providers)
    fallbacks: list[FallbackEvent] = []

    for _ in range(5):
        result = await answer(chain, [PRIMARY, BACKUP], fallbacks)
        assert result.text == "echo: hello" and result.model == BACKUP

    assert len(openclaw_openai_server.requests) == 4  # the fifth call skipped the open breaker
    assert len(openclaw_anthropic_server.requests) == 5
    assert chain.breaker(PRIMARY).opened_at is not None
    skipped = FallbackEvent(PRIMARY, "skipped: circuit open after repeated failures", BACKUP)
    assert fallbacks == [FallbackEvent(PRIMARY, "HTTP 500 (server error)", BACKUP)] * 4 + [skipped]


async def test_every_provider_down_names_each_ref(
    providers: dict[str, ChatProvider],
    openclaw_openai_server: FakeOpenAIServer,
    openclaw_anthropic_server: FakeAnthropicServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    openclaw_openai_server.enqueue(Reply.error(500, "gpu on fire"))
    openclaw_anthropic_server.enqueue(Reply.error(503, "overloaded"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    providers["gone"] = OpenAIProvider("gone", OpenAISettings(base_url=dead_url, max_retries=0))

    with pytest.raises(NoProviderAvailable) as caught:
        await answer(chain_for(providers), [PRIMARY, BACKUP, "gone/model"])

    message = str(caught.value)
    assert f"{PRIMARY}: HTTP 500 (server error)" in message
    assert f"{BACKUP}: HTTP 503 (server error)" in message
    assert f"gone/model: cannot reach {dead_url}" in message
    assert "gpu on fire" not in message  # what a server says goes to the log, not the user
    assert f"{PRIMARY} failed: HTTP 500 (server error) (gpu on fire)" in caplog.text
    assert f"{BACKUP} failed: HTTP 503 (server error) (overloaded)" in caplog.text


async def test_last_model_tracks_who_answered(
    providers: dict[str, ChatProvider], openclaw_openai_server: FakeOpenAIServer
) -> None:
    chain = chain_for(providers)
    openclaw_openai_server.enqueue("from the primary", Reply.error(500, "blip"), "primary again")

    assert (await answer(chain, [PRIMARY, BACKUP])).text == "from the primary"
    assert chain.last_model == PRIMARY
    assert (await answer(chain, [PRIMARY, BACKUP])).text == "echo: hello"
    assert chain.last_model == BACKUP
    assert (await answer(chain, [PRIMARY, BACKUP])).text == "primary again"
    assert chain.last_model == PRIMARY


def test_plugin_modules_do_not_import_the_sdks() -> None:
    code = (
        "import sys\n"
        "import openclaw.default_plugins.openai_provider\n"
        "import openclaw.default_plugins.anthropic_provider\n"
        "import openclaw.testing.servers\n"
        "print(sorted({'openai', 'anthropic'} & set(sys.modules)))\n"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
