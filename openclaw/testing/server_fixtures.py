"""pytest fixtures: a running fake model server per test, closed after it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from openclaw.testing.servers import FakeAnthropicServer, FakeOpenAIServer


@pytest.fixture
def openclaw_openai_server() -> Iterator[FakeOpenAIServer]:
    """A fake OpenAI-compatible server; give the SDK `openclaw_openai_server.base_url`."""
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def openclaw_anthropic_server() -> Iterator[FakeAnthropicServer]:
    """A fake Anthropic Messages server; give the SDK `openclaw_anthropic_server.base_url`."""
    with FakeAnthropicServer() as server:
        yield server
