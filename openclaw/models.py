"""`Models`: the provider instances a config names and the fallback chain turns stream from.

One per App, shared by the agent and every plugin that asks a model something (the image tool,
speech), so that each provider's client is built once and closed once.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

from openclaw.config import AgentConfig
from openclaw.providers import (
    ChatEvent,
    ChatProvider,
    ChatRequest,
    FallbackEvent,
    ProviderChain,
    ProviderPool,
    ProviderType,
    split_ref,
)


class Models:
    """The provider pool and chain of an App. `types_of(kind)` are the installed provider
    types (filled once the registry is built, so this may be made before)."""

    def __init__(
        self,
        types_of: Callable[[str], list[ProviderType]],
        configured: Mapping[str, Mapping[str, Any]],
        agent: AgentConfig,
        source: Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._types_of = types_of
        self._source = source
        self._environ = environ
        self.configured = configured
        self.agent = agent
        self.pool = ProviderPool(types_of, configured, source, environ)
        self.chain = ProviderChain(self.pool.resolve)
        self._separate: list[Models] = []

    def types_of(self, kind: str) -> list[ProviderType]:
        """The installed provider types of a kind ("chat", "stt", "tts", "search", ...)."""
        return self._types_of(kind)

    def known_names(self, kind: str = "chat") -> list[str]:
        """The instance names of a kind: the config's entries and the types' presets."""
        return self.pool.known_names(kind)

    def get(self, name: str, kind: str = "chat") -> Any:
        """Provider instance `name` of that kind, built on first use; LookupError or
        ConfigError when the config cannot make it."""
        return self.pool.get(name, kind)

    def settings(self, name: str, kind: str = "chat") -> tuple[ProviderType, Any]:
        """The type and validated settings of instance `name` (LookupError if unknown)."""
        return self.pool.settings(name, kind)

    def resolve(self, ref: str) -> ChatProvider:
        """The chat provider of a model reference `provider/model`."""
        return self.pool.resolve(ref)

    @property
    def last_model(self) -> str | None:
        """The model that answered last (for `/model` and `/status`)."""
        return self.chain.last_model

    @functools.cached_property
    def _last_resort(self) -> list[str]:
        refs = []
        for declaring in self.types_of("chat"):
            if not declaring.last_resort:
                continue
            try:
                provider_type, _ = self.settings(split_ref(declaring.last_resort)[0])
            except (ValueError, LookupError):
                continue
            if provider_type is declaring:  # not a user's own entry that reuses the name
                refs.append(declaring.last_resort)
        return refs

    def last_resort_refs(self) -> list[str]:
        """Offline models declared by provider types, tried after every configured one."""
        return self._last_resort if self.agent.offline_fallback else []

    def refs(self, preferred: str | None = None) -> list[str]:
        """The chain for a turn: `preferred` (an override or the session's model), then the
        configured model and fallbacks, then any last-resort offline model."""
        refs: list[str] = []
        agent = self.agent
        for ref in (preferred or agent.model, agent.model, *agent.fallbacks):
            if ref not in refs:
                refs.append(ref)
        for ref in self.last_resort_refs():
            if ref not in refs:
                refs.append(ref)
        return refs

    def stream(
        self,
        refs: list[str],
        request_for: Callable[[str, ChatProvider], ChatRequest],
        on_fallback: Callable[[FallbackEvent], Any] | None = None,
        *,
        time_left: float | None = None,
        first_token_timeout: float | None = None,
    ) -> AsyncIterator[ChatEvent]:
        """Stream from the first model of `refs` that answers (see `ProviderChain.stream`)."""
        return self.chain.stream(
            refs,
            request_for,
            on_fallback,
            time_left=time_left,
            first_token_timeout=first_token_timeout,
        )

    def separate(self, configured: Mapping[str, Mapping[str, Any]]) -> Models:
        """Models over provider entries of a plugin's own (the image tool's vision model),
        with this App's types and agent settings; closed when this one is."""
        models = Models(self._types_of, configured, self.agent, self._source, self._environ)
        self._separate.append(models)
        return models

    async def aclose(self) -> None:
        for models in self._separate:
            await models.aclose()
        await self.pool.aclose()
