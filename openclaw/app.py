"""`App`: the kernel in one object. It owns the config, the plugins and what they registered,
the session store, the event bus, the provider chain and the agent. Embed it to run turns from
your own program; the CLI and the gateway are built on it too."""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from openclaw.agent import Agent
from openclaw.config import Config, load_config
from openclaw.context import PromptFiles
from openclaw.events import Event, EventBus, TurnFailed, TurnFinished
from openclaw.messages import ContentPart
from openclaw.plugins import call_each, create_plugin_manager
from openclaw.principal import OWNER, Principal
from openclaw.providers import ProviderChain, ProviderPool
from openclaw.redaction import install_log_redaction, remember
from openclaw.registry import build_registry
from openclaw.sandbox import SandboxPolicy, WorkspaceFiles
from openclaw.tools import ToolContext

if TYPE_CHECKING:
    from openclaw.store import SessionStore

log = logging.getLogger("openclaw")

DEFAULT_SESSION = "cli:{agent}:local:default"


class TurnError(Exception):
    """A turn ended without an answer; `event` says why (timeout, providers down, ...)."""

    def __init__(self, event: TurnFailed) -> None:
        super().__init__(event.error)
        self.event = event


def _named(plugins: Iterable[object]) -> list[tuple[str, object]]:
    named = []
    for plugin in plugins:
        if isinstance(plugin, tuple):
            named.append(plugin)
        else:
            name = getattr(plugin, "name", None) or getattr(plugin, "__name__", None)
            named.append((str(name or type(plugin).__name__), plugin))
    return named


class App:
    """The kernel. Build it, `await startup()`, run turns, `await shutdown()` (or use
    `async with App(...) as app`).

    `plugins` are extra in-process plugin objects (modules or instances with hook
    implementations), optionally as `(name, object)` pairs. `entry_points=False` leaves out
    installed plugins (useful in tests and when embedding).
    """

    def __init__(
        self,
        config: Config | None = None,
        *,
        plugins: Iterable[object] = (),
        entry_points: bool = True,
        environ: Mapping[str, str] | None = None,
        store: SessionStore | None = None,
    ) -> None:
        self.config = config if config is not None else load_config(environ=environ)
        install_log_redaction()
        self.plugins = create_plugin_manager(
            plugins=_named(plugins),
            disable=self.config.plugins.disable,
            entry_points=entry_points,
            environ=dict(environ) if environ is not None else None,
        )
        self._on_shutdown: list[Callable[[], Any]] = []  # filled by plugins while registering
        self.registry = build_registry(
            self.plugins, ToolContext(self.config, self.config.workspace, self)
        )
        self._environ = environ
        remember(self.secret_values())
        self.problems: list[str] = [str(p) for p in self.plugins.problems]
        self.problems += self.registry.problems
        for problem in self.problems:
            log.warning(problem)
        self.bus = EventBus()
        for sink in self.registry.sinks:
            self.bus.add(sink.value)
        self.providers = ProviderPool(
            self.registry.provider_types_of, self.config.providers, self.config.source
        )
        self.chain = ProviderChain(self.providers.resolve)
        self.prompt_files = PromptFiles(
            self.config.workspace, files=WorkspaceFiles.of(SandboxPolicy.from_config(self.config))
        )
        self.agent = Agent(self)
        self._store = store
        self.started = False

    @property
    def store(self) -> SessionStore:
        """The session store, opened on first use."""
        if self._store is None:
            from openclaw.store import SqliteStore

            self._store = SqliteStore(self.config.sessions_db)
        return self._store

    def secret_values(self) -> set[str]:
        """Every key, token and password the config holds (providers' preset key variables
        included), as masked by `openclaw.redaction.redact`."""
        presets = [r.value.presets for r in self.registry.provider_types.values()]
        return self.config.secret_values(presets, self._environ)

    def default_session(self) -> str:
        return DEFAULT_SESSION.format(agent=self.config.agent.name)

    def log_problem(self, problem: str) -> None:
        log.warning(problem)
        self.problems.append(problem)

    def on_shutdown(self, callback: Callable[[], Any]) -> None:
        """Run `callback` (sync or async) at shutdown, after the `shutdown` hooks: for resources
        a plugin opened for this App (background processes, browsers, clients)."""
        self._on_shutdown.append(callback)

    async def startup(self) -> App:
        if not self.started:
            self.started = True
            for problem in await call_each(self.plugins, "startup", app=self):
                self.log_problem(problem)
        return self

    async def shutdown(self) -> None:
        if not self.started:
            return
        self.started = False
        for problem in await call_each(self.plugins, "shutdown", app=self):
            self.log_problem(problem)
        for callback in reversed(self._on_shutdown):
            try:
                result = callback()
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("a shutdown callback failed")
        await self.bus.aclose()
        await self.providers.aclose()
        if self._store is not None:
            self._store.close()
            self._store = None

    async def __aenter__(self) -> App:
        return await self.startup()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.shutdown()

    def run_turn(
        self,
        content: str | list[ContentPart] | None,
        *,
        session_key: str | None = None,
        model: str | None = None,
        principal: Principal = OWNER,
    ) -> AsyncIterator[Event]:
        """Run one agent turn and iterate its events (`text.delta`, `tool.started`, ...); its
        tools act for `principal` (default: the owner, who may reach everything). `content`
        None continues the session from its stored history."""
        key = session_key or self.default_session()
        return self.agent.run(key, content, model=model, principal=principal)

    async def ask(
        self,
        content: str | list[ContentPart],
        *,
        session_key: str | None = None,
        model: str | None = None,
        principal: Principal = OWNER,
    ) -> TurnFinished:
        """Run one turn to the end; raises TurnError if it failed. A cancelled caller stops
        the turn too (the event stream is closed on the way out)."""
        events = self.run_turn(content, session_key=session_key, model=model, principal=principal)
        try:
            async for event in events:
                if isinstance(event, TurnFinished):
                    return event
                if isinstance(event, TurnFailed):
                    raise TurnError(event)
        finally:
            close = getattr(events, "aclose", None)
            if close is not None:
                await close()
        raise RuntimeError("the turn ended without a result")  # pragma: no cover

    def validate_sections(self) -> list[str]:
        """Validate the sections plugins own (providers, channels); raise ConfigError on a bad
        one, and return warnings for entries no installed plugin understands."""
        from openclaw.config import validate_part

        warnings = []
        for name in self.config.providers:
            self.providers.settings(name)
        for name, data in self.config.channels.items():
            channel = self.registry.channels.get(name)
            if channel is None:
                warnings.append(f"channels.{name}: no installed plugin provides this channel")
                continue
            validate_part(
                channel.value.settings_model, data, f"channels.{name}", self.config.source
            )
        return warnings

    def status(self) -> dict[str, Any]:
        """A JSON-ready summary with no secrets (for `/status` and `openclaw doctor`)."""
        from openclaw import __version__

        return {
            "version": __version__,
            "agent": self.config.public_dict()["agent"],
            "last_model": self.chain.last_model,
            "plugins": self.plugins.names(),
            "tools": sorted(self.registry.tools),
            "commands": sorted(self.registry.commands),
            "channels": sorted(self.registry.channels),
            "problems": list(self.problems),
        }
