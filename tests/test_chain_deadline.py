"""The provider chain fits in the turn: a hung model gives way to the next in time."""

from __future__ import annotations

import time
from typing import Any

import openai  # noqa: F401  # imported up front: the SDK's first import must not use up a 1 s window

from openclaw.events import ProviderFallback, TurnFinished
from openclaw.testing.servers import FakeOpenAIServer, Reply


def two_servers_config(primary: FakeOpenAIServer, backup: FakeOpenAIServer, **agent: Any) -> Any:
    """`primary` with the default retries and request timeout (2 × 60 s), then `backup`."""
    return {
        "agent": {"model": "primary/fake-model", "fallbacks": ["backup/fake-model"], **agent},
        "providers": {
            "primary": {"type": "openai", "base_url": primary.base_url},
            "backup": {"type": "openai", "base_url": backup.base_url, "max_retries": 0},
        },
    }


async def test_a_hung_primary_gives_way_to_the_fallback_within_the_turn(openclaw_make_app):
    with FakeOpenAIServer() as primary, FakeOpenAIServer() as backup:
        primary.enqueue(Reply.hang())  # accepts the request, never sends a byte
        backup.enqueue("From the backup.")
        config = two_servers_config(primary, backup, turn_timeout=4, first_token_timeout=1)
        async with openclaw_make_app(config=config) as app:
            started = time.monotonic()
            events = [event async for event in app.run_turn("hello?")]
            elapsed = time.monotonic() - started
    finished = events[-1]
    assert isinstance(finished, TurnFinished), finished
    assert finished.text == "From the backup."
    assert 1 <= elapsed < 4, elapsed  # waited for the first token, then the backup answered
    assert finished.model == "backup/fake-model"
    assert finished.footer().endswith("· backup/fake-model")
    fallback = next(event for event in events if isinstance(event, ProviderFallback))
    assert (fallback.failed, fallback.next) == ("primary/fake-model", "backup/fake-model")
    assert "no answer within 1s" in fallback.error
    assert len(primary.requests) == 1 and len(backup.requests) == 1


async def test_a_slow_tool_call_is_not_taken_for_a_hung_model(openclaw_make_app):
    """A tool call streams no text: its first record counts as the model answering."""
    with FakeOpenAIServer(delay=0.3) as primary, FakeOpenAIServer() as backup:
        primary.enqueue(Reply(tool_calls=[("nothing_here", '{"a": 1, "b": 2}')]), "Done.")
        config = two_servers_config(primary, backup, turn_timeout=20, first_token_timeout=1)
        async with openclaw_make_app(config=config) as app:
            result = await app.ask("go")
    assert (result.text, result.model, result.tools) == ("Done.", "primary/fake-model", 1)
    assert backup.requests == []


async def test_the_last_model_may_use_all_the_time_left(openclaw_make_app):
    """Nothing comes after the last model, so it is not cut at `first_token_timeout`."""
    with FakeOpenAIServer(delay=0.5) as only:
        only.enqueue(Reply("slow start", chunks=1))
        config = {
            "agent": {"model": "only/fake-model", "turn_timeout": 10, "first_token_timeout": 0.2},
            "providers": {"only": {"type": "openai", "base_url": only.base_url, "max_retries": 0}},
        }
        async with openclaw_make_app(config=config) as app:
            result = await app.ask("hi")
    assert result.text == "slow start"


async def test_each_model_gets_its_share_of_the_time_left(openclaw_make_app):
    """With `first_token_timeout` longer than the turn, two hung models each get a third of it,
    and the third model still answers in time."""
    with FakeOpenAIServer() as first, FakeOpenAIServer() as second, FakeOpenAIServer() as third:
        first.enqueue(Reply.hang())
        second.enqueue(Reply.hang())
        third.enqueue("Third time lucky.")
        refs = {"first": first, "second": second, "third": third}
        config = {
            "agent": {
                "model": "first/fake-model",
                "fallbacks": ["second/fake-model", "third/fake-model"],
                "turn_timeout": 6,
                "first_token_timeout": 60,
            },
            "providers": {
                name: {"type": "openai", "base_url": server.base_url, "max_retries": 0}
                for name, server in refs.items()
            },
        }
        async with openclaw_make_app(config=config) as app:
            started = time.monotonic()
            result = await app.ask("anyone?")
            elapsed = time.monotonic() - started
    assert (result.text, result.model) == ("Third time lucky.", "third/fake-model")
    assert 3.5 < elapsed < 6, elapsed  # ~2 s for each hung model, then the answer
