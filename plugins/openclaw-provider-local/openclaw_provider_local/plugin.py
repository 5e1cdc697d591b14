"""Hook implementations of the local provider; `llama_cpp` is imported on the first chat only."""

from __future__ import annotations

from collections.abc import Callable

from openclaw.hookspecs import hookimpl
from openclaw.providers import ProviderType
from openclaw_provider_local.provider import LocalProvider, LocalSettings


@hookimpl
def register_providers(register: Callable[[ProviderType], None]) -> None:
    register(
        ProviderType(
            name="local",
            create=LocalProvider,
            settings_model=LocalSettings,
            presets={"local": {}},
            description="a GGUF model run in-process by llama.cpp (default: SmolLM2-135M, offline)",
            last_resort="local/smollm2",
        )
    )
