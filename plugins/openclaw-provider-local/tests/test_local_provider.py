"""The local provider against the real SmolLM2-135M model: short prompts, few tokens."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from openclaw_provider_local.model import (
    DEFAULT_MODEL,
    LocalModel,
    ModelError,
    bundled_model_path,
    load_model,
)
from openclaw_provider_local.provider import LocalProvider, LocalSettings, chat_messages

from openclaw.events import TextDelta
from openclaw.messages import ImagePart, Message, TextPart
from openclaw.providers import ChatDelta, ChatRequest, ChatResult, ProviderError

SYSTEM = Message(role="system", content="You are a helpful assistant. Answer briefly.")


def request(text: str, max_tokens: int = 16, model: str = DEFAULT_MODEL) -> ChatRequest:
    messages = [SYSTEM, Message(role="user", content=text)]
    return ChatRequest(model=model, messages=messages, max_tokens=max_tokens, temperature=0)


async def collect(provider: LocalProvider, chat: ChatRequest) -> list[ChatDelta | ChatResult]:
    return [event async for event in provider.stream(chat)]


def provider(**settings: Any) -> LocalProvider:
    return LocalProvider("local", LocalSettings(**settings))


@pytest.fixture
def model() -> LocalModel:
    """The bundled model as the default settings load it (the same cached instance)."""
    settings = LocalSettings()
    return load_model(bundled_model_path(), settings.threads, settings.context_size)


@dataclass
class Spy:
    """What llama.cpp was asked, and how many chunks (tokens) it has produced so far."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    chunks: int = 0


@pytest.fixture
def spy(model: LocalModel, monkeypatch: pytest.MonkeyPatch) -> Spy:
    record = Spy()
    real = model.llama.create_chat_completion

    def counted(**kwargs: Any) -> Iterator[Any]:
        record.calls.append(kwargs)
        with contextlib.closing(real(**kwargs)) as chunks:
            for chunk in chunks:
                record.chunks += 1
                yield chunk

    monkeypatch.setattr(model.llama, "create_chat_completion", counted)
    return record


async def test_streaming_yields_several_deltas_then_the_usage():
    events = await collect(provider(), request("Name three colours."))
    *deltas, result = events
    assert len(deltas) >= 3 and all(isinstance(d, ChatDelta) for d in deltas)
    assert isinstance(result, ChatResult)
    assert result.text == "".join(d.text for d in deltas) and result.text.strip()
    assert result.tool_calls == [] and result.finish_reason in ("stop", "length")
    assert not result.usage.estimated  # counted with the model's own template and tokenizer
    assert result.usage.input_tokens > 10 and 0 < result.usage.output_tokens <= 17


async def test_answers_are_the_models_own_and_depend_on_the_prompt():
    local = provider()
    capital = (await collect(local, request("What is the capital of France?")))[-1]
    again = (await collect(local, request("What is the capital of France?")))[-1]
    poem = (await collect(local, request("Write a haiku about the sea.")))[-1]
    assert isinstance(capital, ChatResult) and isinstance(poem, ChatResult)
    assert "Paris" in capital.text
    assert isinstance(again, ChatResult) and again.text == capital.text  # temperature 0
    assert poem.text.strip() and poem.text != capital.text


async def test_two_turns_in_one_session_carry_history(openclaw_make_app, spy):
    config = {
        "agent": {"model": "local/smollm2"},
        "providers": {"local": {"max_tokens": 16, "temperature": 0}},
    }
    async with openclaw_make_app(entry_points=True, config=config) as app:
        first = await app.ask("My name is Ada. Say hello to me.")
        second = await app.ask("What is my name?")
    assert first.text.strip() and second.text.strip()
    assert first.model == second.model == "local/smollm2"
    assert second.footer().endswith("local/smollm2 (no tools)")
    assert len(spy.calls) == 2 and all(call.get("tools") is None for call in spy.calls)
    sent = [(m["role"], m["content"]) for m in spy.calls[1]["messages"]]
    assert sent[0][0] == "system"
    assert sent[1:] == [
        ("user", "My name is Ada. Say hello to me."),
        ("assistant", first.text),
        ("user", "What is my name?"),
    ]


async def test_a_cancelled_turn_stops_generation(openclaw_make_app, spy):
    config = {
        "agent": {"model": "local/smollm2"},
        "providers": {"local": {"max_tokens": 400, "temperature": 0}},
    }
    async with openclaw_make_app(entry_points=True, config=config) as app:
        events = app.run_turn("Tell me a long story about a dragon and a knight.")
        deltas = 0
        async for event in events:
            deltas += isinstance(event, TextDelta)
            if deltas == 3:
                break
        at_cancel = spy.chunks
        await events.aclose()  # cancels the turn and waits until it has tidied up
        produced = spy.chunks
        await asyncio.sleep(0.5)
        history = app.store.history(app.default_session())
    assert spy.chunks == produced < 400  # the generator thread has stopped
    assert produced - at_cancel <= 5  # the token in progress, and a few while it propagated
    assert history[-1].role == "assistant" and history[-1].text.endswith("[cancelled]")


async def test_cancelling_the_consumer_stops_the_generator_thread(spy):
    local = provider(max_tokens=400, temperature=0)
    started = asyncio.Event()

    async def consume() -> None:
        async for _ in local.stream(request("Tell me a long story.", max_tokens=400)):
            started.set()

    task = asyncio.create_task(consume())
    await started.wait()
    at_cancel = spy.chunks
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    produced = spy.chunks
    await asyncio.sleep(0.5)
    assert spy.chunks == produced < 400
    assert produced - at_cancel <= 5


async def test_a_missing_model_file_is_a_clear_error(tmp_path: Path):
    missing = tmp_path / "nowhere.gguf"
    local = provider(model_path=missing)
    with pytest.raises(ProviderError) as raised:
        await collect(local, request("hi"))
    assert str(missing) in raised.value.reason and "does not exist" in raised.value.reason
    assert "providers.local.model_path" in raised.value.reason
    with pytest.raises(ProviderError, match="does not exist"):
        await local.check()


async def test_a_corrupt_model_file_is_a_clear_error(tmp_path: Path):
    noise = tmp_path / "noise.gguf"
    noise.write_bytes(os.urandom(4096))
    with pytest.raises(ProviderError) as raised:
        await collect(provider(model_path=noise), request("hi"))
    assert f"{noise} is not a GGUF model file" in raised.value.reason
    assert "providers.local.model_path" in raised.value.reason

    truncated = tmp_path / "truncated.gguf"
    with bundled_model_path().open("rb") as original:
        truncated.write_bytes(original.read(1_000_000))  # a real header, then nothing
    with pytest.raises(ProviderError) as raised:
        await provider(model_path=truncated).check()
    assert f"llama.cpp could not load {truncated}" in raised.value.reason


async def test_other_model_names_need_a_model_path():
    with pytest.raises(ProviderError, match=r"unknown local model 'qwen'.*model_path"):
        await collect(provider(), request("hi", model="qwen"))
    labelled = await collect(
        provider(model_path=bundled_model_path()), request("Hi!", max_tokens=4, model="any")
    )
    assert isinstance(labelled[-1], ChatResult) and labelled[-1].text


async def test_check_loads_the_model_for_doctor():
    await provider().check()


def test_long_history_is_trimmed_to_fit_the_context(model: LocalModel):
    turns = [
        Message(role="user" if i % 2 == 0 else "assistant", content=f"Message {i}. " * 40)
        for i in range(60)
    ]
    messages = chat_messages([SYSTEM, *turns])
    assert model.prompt_tokens(messages) > model.llama.n_ctx()
    kept, size = model.fit(messages, reserve=256)
    assert kept[0] == messages[0] and kept[-1] == messages[-1]
    assert 3 < len(kept) < len(messages)
    assert size == model.prompt_tokens(kept) <= model.llama.n_ctx() - 256
    one_more = [messages[0], messages[-len(kept)], *kept[1:]]  # the last one it dropped, back
    assert model.prompt_tokens(one_more) > model.llama.n_ctx() - 256  # dropped no more than needed

    huge_system = {"role": "system", "content": "Be kind. " * 2000}
    with pytest.raises(ModelError, match="context_size"):
        model.fit([huge_system, messages[-1]], reserve=256)


def test_images_are_left_out_with_a_note():
    image = ImagePart(data=b"\x89PNG")
    message = Message(role="user", content=[TextPart("What is this?"), image, image])
    assert chat_messages([message]) == [
        {
            "role": "user",
            "content": "What is this?\n"
            "[2 image(s) attached here, left out: this model cannot see images]",
        }
    ]
