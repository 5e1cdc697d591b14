"""Provider kinds, the chat provider protocol, and the fallback chain with its circuit breaker.

A provider *type* (``openai``, ``anthropic``, ...) is registered by a plugin; a provider
*instance* is a named entry of the config's ``providers`` section (or a preset of its type), and
a model ref ``provider/model`` names an instance and a model.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel

from openclaw.config import ProviderSettings
from openclaw.messages import Message, ToolCall, Usage

log = logging.getLogger("openclaw.providers")

ProviderKind = Literal["chat", "stt", "tts", "search"]


class ProviderError(Exception):
    """A provider call failed (after the SDK's own retries); `reason` is a short message for
    the user and `status` the HTTP status, when there was one. `detail` is what the server
    said (its error body may echo a key or a prompt): it goes to the log, redacted, and is
    never shown in a chat."""

    def __init__(
        self, ref: str, message: str, *, status: int | None = None, detail: str = ""
    ) -> None:
        super().__init__(f"{ref}: {message}")
        self.ref = ref
        self.reason = message
        self.status = status
        self.detail = detail


class NoProviderAvailable(Exception):
    """Every model of the chain failed or was skipped; the message lists each one's reason."""

    def __init__(self, attempts: Sequence[tuple[str, str]]) -> None:
        self.attempts = list(attempts)
        tried = "; ".join(f"{ref}: {reason}" for ref, reason in self.attempts)
        super().__init__(f"no model answered ({tried})")


@dataclass(frozen=True, slots=True)
class ProviderType:
    """A kind of provider a plugin offers.

    `create(instance_name, settings)` builds an instance from its validated settings.
    `presets` maps instance names usable without config (``ollama``) to default settings.
    """

    name: str
    create: Callable[[str, Any], Any]
    kind: ProviderKind = "chat"
    settings_model: type[BaseModel] = ProviderSettings
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    description: str = ""
    last_resort: str | None = None
    """A model ref (`local/smollm2`) tried after every configured model has failed: for an
    offline model that should answer rather than nothing, but never be preferred."""


@dataclass(slots=True)
class ToolSpec:
    """What the model is told about a tool."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(slots=True)
class ChatRequest:
    model: str
    messages: list[Message]
    tools: list[ToolSpec] = field(default_factory=list)
    max_tokens: int | None = None
    temperature: float | None = None
    timeout: float | None = None
    """The most this call may wait for the server at any one point (connecting, the first
    record, each next one), set by the chain from what is left of the turn; a provider uses it
    when it is below its own `timeout`. None: the provider's own."""


@dataclass(slots=True)
class ChatDelta:
    """A piece of streamed answer text. A provider may yield an empty one as soon as the model
    starts answering (its stream's first record), so that a long tool call, which streams no
    text, is not taken for a hung model; the chain does not pass empty ones on."""

    text: str


@dataclass(slots=True)
class ChatResult:
    """The end of one provider call: the full text, the tool calls, the usage."""

    text: str
    tool_calls: list[ToolCall]
    usage: Usage
    finish_reason: str = "stop"
    model: str = ""


ChatEvent = ChatDelta | ChatResult


@runtime_checkable
class ChatProvider(Protocol):
    """A chat model provider instance. `stream` yields deltas, then exactly one ChatResult.

    Errors are raised as ProviderError. `supports_tools` False makes the agent send no tools.
    An instance may also offer `async check() -> str | None` (raising ProviderError) for
    `openclaw doctor` to see that it works: the server answers and takes the key, or the
    model file loads; a returned string says what was checked.
    """

    name: str
    supports_tools: bool

    def stream(self, request: ChatRequest) -> AsyncIterator[ChatEvent]: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class SearchResult:
    """One web search hit."""

    title: str
    url: str
    snippet: str = ""


@runtime_checkable
class SearchProvider(Protocol):
    """A provider of kind "search" (web search backends); raises ProviderError on failure."""

    name: str

    async def search(self, query: str, max_results: int) -> list[SearchResult]: ...


@runtime_checkable
class SpeechToText(Protocol):
    """A provider of kind "stt": the words spoken in an audio file as it came from a channel
    (any container the provider can decode: OGG/Opus voice notes, MP3, WAV...). Raises
    ProviderError with a reason a user can act on. May offer `check()` like a chat provider."""

    name: str

    async def transcribe(self, audio: bytes, mime_type: str) -> str: ...


@runtime_checkable
class TextToSpeech(Protocol):
    """A provider of kind "tts": speaks `text` into a WAV file at `out`. `speaker` picks a
    voice of a multi-speaker model, `speed` scales the pace (1 = the voice's own); None keeps
    the instance's settings. Raises ProviderError; may offer `check()`."""

    name: str

    async def synthesize(
        self, text: str, out: Path, *, speaker: int | None = None, speed: float | None = None
    ) -> None: ...


def split_ref(ref: str) -> tuple[str, str]:
    """`provider/model` → (provider, model); the model part may itself contain slashes."""
    provider, sep, model = ref.partition("/")
    if not sep or not provider or not model:
        raise ValueError(f"model ref {ref!r} is not of the form provider/model")
    return provider, model


@dataclass(slots=True)
class Breaker:
    """Counts consecutive failures of one ref; opens for `cooldown` seconds past `threshold`."""

    threshold: int = 3
    cooldown: float = 60.0
    failures: int = 0
    opened_at: float | None = None

    def is_open(self, now: float) -> bool:
        if self.opened_at is None:
            return False
        if now - self.opened_at >= self.cooldown:
            self.opened_at = None  # half-open: let one call through
            self.failures = self.threshold
            return False
        return True

    def record(self, ok: bool, now: float) -> None:
        if ok:
            self.failures, self.opened_at = 0, None
            return
        self.failures += 1
        if self.failures > self.threshold:
            self.opened_at = now


@dataclass
class FallbackEvent:
    """Reported by the chain when a ref failed (or was skipped) and the next one is tried."""

    failed: str
    error: str
    next: str


class ProviderChain:
    """Tries model refs in order; skips refs whose breaker is open; remembers who answered.

    Falls over to the next ref only while nothing has been streamed yet: once text reached the
    user, a failure is raised rather than answered twice. Within a turn's time, a ref that is
    not the last must start answering within `first_token_timeout` (and its share of the time
    left), or it gives way to the next: a hung model cannot use up the turn.
    """

    def __init__(
        self,
        resolve: Callable[[str], ChatProvider],
        *,
        threshold: int = 3,
        cooldown: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._resolve = resolve
        self._threshold = threshold
        self._cooldown = cooldown
        self._clock = clock
        self.breakers: dict[str, Breaker] = {}
        self.last_model: str | None = None

    def breaker(self, ref: str) -> Breaker:
        if ref not in self.breakers:
            self.breakers[ref] = Breaker(self._threshold, self._cooldown)
        return self.breakers[ref]

    async def stream(
        self,
        refs: Sequence[str],
        request_for: Callable[[str, ChatProvider], ChatRequest],
        on_fallback: Callable[[FallbackEvent], Any] | None = None,
        *,
        time_left: float | None = None,
        first_token_timeout: float | None = None,
    ) -> AsyncIterator[ChatEvent]:
        """Stream from the first ref that answers. `request_for(model, provider)` builds the
        request for a ref (so that tools can be left out for providers without tool support).

        `time_left` is what remains of the turn (seconds): each ref but the last gets at most
        `first_token_timeout`, and at most an equal share of the time left with the refs after
        it, to start answering; the last ref may wait for all of the time left."""
        deadline = None if time_left is None else time.monotonic() + time_left
        attempts: list[tuple[str, str]] = []
        for index, ref in enumerate(refs):
            following = refs[index + 1] if index + 1 < len(refs) else ""
            breaker = self.breaker(ref)
            if breaker.is_open(self._clock()):
                reason = "skipped: circuit open after repeated failures"
                attempts.append((ref, reason))
                if on_fallback is not None and following:
                    await _maybe_await(on_fallback(FallbackEvent(ref, reason, following)))
                continue
            streamed = False
            try:
                provider = self._resolve(ref)
                _, model = split_ref(ref)
                request = request_for(model, provider)
                window = _start_window(deadline, len(refs) - index, first_token_timeout)
                request.timeout = window if following else _seconds_until(deadline)
                events = provider.stream(request)
                if following and window is not None:
                    events = _started_within(events, window, ref)
                async for event in events:
                    if isinstance(event, ChatDelta) and not event.text:
                        continue  # the model started answering: nothing to show yet
                    if isinstance(event, ChatResult):
                        breaker.record(True, self._clock())
                        self.last_model = ref
                        event.model = ref
                    else:
                        streamed = True
                    yield event
                return
            except (ProviderError, ValueError, LookupError) as exc:
                breaker.record(False, self._clock())
                reason = exc.reason if isinstance(exc, ProviderError) else str(exc)
                detail = exc.detail if isinstance(exc, ProviderError) else ""
                log.warning("%s failed: %s%s", ref, reason, f" ({detail})" if detail else "")
                attempts.append((ref, reason))
                if streamed:
                    raise ProviderError(ref, f"failed mid-answer: {reason}") from exc
                if on_fallback is not None and following:
                    await _maybe_await(on_fallback(FallbackEvent(ref, reason, following)))
        raise NoProviderAvailable(attempts)


def _seconds_until(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.001, deadline - time.monotonic())


def _start_window(deadline: float | None, refs_left: int, limit: float | None) -> float | None:
    """How long a ref may take to start answering: `limit`, cut to an equal share of the time
    left among the `refs_left` refs still to try, so every fallback gets a real chance."""
    left = _seconds_until(deadline)
    candidates = [w for w in (limit, None if left is None else left / refs_left) if w is not None]
    return min(candidates) if candidates else None


async def _started_within(
    events: AsyncIterator[ChatEvent], window: float, ref: str
) -> AsyncIterator[ChatEvent]:
    """`events`, failing with a ProviderError if the first one takes longer than `window`."""
    iterator = aiter(events)
    try:
        try:
            async with asyncio.timeout(window):
                first = await anext(iterator)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise ProviderError(ref, f"no answer within {window:.3g}s") from None
        yield first
        async for event in iterator:
            yield event
    finally:
        closer = getattr(iterator, "aclose", None)
        if closer is not None:
            await closer()


async def _maybe_await(value: Any) -> Any:
    import inspect

    if inspect.isawaitable(value):
        return await value
    return value


class ProviderPool:
    """Builds provider instances from the config's `providers` section and the types' presets,
    once each, and closes them at shutdown."""

    def __init__(
        self,
        types: Callable[[str], list[ProviderType]],
        configured: Mapping[str, Mapping[str, Any]],
        source: Any = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._types = types
        self._configured = configured
        self._source = source
        self._environ = environ  # where `$VAR` secrets and key variables are read
        self._instances: dict[tuple[str, str], Any] = {}

    def known_names(self, kind: str = "chat") -> list[str]:
        names = set(self._configured)
        for provider_type in self._types(kind):
            names.update(provider_type.presets)
        return sorted(names)

    def settings(self, name: str, kind: str = "chat") -> tuple[ProviderType, Any]:
        """The provider type and validated settings of instance `name`; LookupError if unknown."""
        from openclaw.config import validate_part

        types = self._types(kind)
        preset_type = next((t for t in types if name in t.presets), None)
        data: dict[str, Any] = dict(preset_type.presets[name]) if preset_type else {}
        data.update(self._configured.get(name, {}))
        if preset_type is None and name not in self._configured:
            known = ", ".join(self.known_names(kind)) or "none"
            raise LookupError(
                f"unknown provider {name!r}: add providers.{name} to the config "
                f"(with a type) or use one of: {known}"
            )
        default_type = preset_type.name if preset_type else ProviderSettings().type
        type_name = data.get("type") or default_type
        provider_type = next((t for t in types if t.name == type_name), None)
        if provider_type is None:
            available = ", ".join(t.name for t in types) or "none installed"
            raise LookupError(
                f"providers.{name}.type is {type_name!r}, which no plugin provides "
                f"(available: {available})"
            )
        data["type"] = type_name
        settings = validate_part(
            provider_type.settings_model, data, f"providers.{name}", self._source, self._environ
        )
        return provider_type, settings

    def get(self, name: str, kind: str = "chat") -> Any:
        """The instance named `name` of that kind, built on first use."""
        key = (kind, name)
        if key not in self._instances:
            provider_type, settings = self.settings(name, kind)
            self._instances[key] = provider_type.create(name, settings)
        return self._instances[key]

    def resolve(self, ref: str) -> ChatProvider:
        provider, _ = split_ref(ref)
        return self.get(provider, "chat")

    async def aclose(self) -> None:
        for instance in self._instances.values():
            closer = getattr(instance, "aclose", None)
            if closer is not None:
                await _maybe_await(closer())
        self._instances.clear()
