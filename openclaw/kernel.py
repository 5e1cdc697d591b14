"""`Kernel`: the config, the plugins and what they registered, and the services plugins are
handed. The App adds the agent on top; the gateway runs a kernel's channels.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from openclaw.channels import InboundMessage
from openclaw.config import Config, load_config
from openclaw.config_sections import check_sections
from openclaw.events import EventBus
from openclaw.models import Models
from openclaw.plugins import call_each, create_plugin_manager, first_result
from openclaw.redaction import install_log_redaction, remember
from openclaw.registry import Registry, build_registry
from openclaw.sandbox import SandboxPolicy
from openclaw.services import Services
from openclaw.tools import ToolContext

if TYPE_CHECKING:
    from openclaw.store import SessionStore

log = logging.getLogger("openclaw")

DEFAULT_SESSION = "cli:{agent}:local:default"


def _named(plugins: Iterable[object]) -> list[tuple[str, object]]:
    named = []
    for plugin in plugins:
        if isinstance(plugin, tuple):
            named.append(plugin)
        else:
            name = getattr(plugin, "name", None) or getattr(plugin, "__name__", None)
            named.append((str(name or type(plugin).__name__), plugin))
    return named


class Kernel:
    """Loads the plugins, runs their register hooks with the App's `Services`, and runs the
    `startup`/`shutdown` hooks. `plugins`, `entry_points`, `environ` and `store` are as for
    `App`, which is a Kernel with the agent. Raises `ConfigError` when a config key is claimed
    by no plugin or a claimed section is invalid (`openclaw.config_sections`)."""

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
        self._environ = environ
        self.plugins = create_plugin_manager(
            plugins=_named(plugins),
            disable=self.config.plugins.disable,
            entry_points=entry_points,
            environ=dict(environ) if environ is not None else None,
        )
        self._given_store = store
        self.bus = EventBus()
        config = self.config
        self.models = Models(
            lambda kind: self.registry.provider_types_of(kind),
            config.providers,
            config.agent,
            config.source,
            environ,
        )
        self.services = Services(
            config,
            sandbox=SandboxPolicy.from_config(config),
            models=self.models,
            events=self.bus,
            open_store=self._open,
            environ=environ,
        )
        self._section_warnings: list[str] = []
        self.registry = build_registry(self.plugins, ToolContext(self.services), self._check_config)
        remember(self.secret_values())
        self.problems = self.services.problems
        self.problems += [str(p) for p in self.plugins.problems]
        self.problems += self.registry.problems
        for problem in self.problems:
            log.warning(problem)
        for sink in self.registry.sinks:
            self.bus.add(sink.value)
        self.started = False

    def _check_config(self, registry: Registry) -> None:
        """Validate the claimed sections and refuse unknown keys (ConfigError) before any
        other register hook reads the config."""
        claims = {name: claim.value for name, claim in registry.config_sections.items()}
        loaded = [info.distribution for info in self.plugins.info.values() if info.distribution]
        self._section_warnings = check_sections(self.config, claims, loaded)

    def _open(self) -> SessionStore:
        """The store given to the constructor the first time, else the config's database
        (opened again after a shutdown closed it)."""
        given, self._given_store = self._given_store, None
        if given is not None:
            return given
        from openclaw.store import SqliteStore

        return SqliteStore(self.config.sessions_db)

    @property
    def store(self) -> SessionStore:
        """The session store, opened on first use."""
        return self.services.store

    def secret_values(self) -> set[str]:
        """Every key, token and password the config holds (providers' preset key variables
        included), as masked by `openclaw.redaction.redact`."""
        presets = [r.value.presets for r in self.registry.provider_types.values()]
        return self.config.secret_values(presets, self._environ)

    def default_session(self) -> str:
        return DEFAULT_SESSION.format(agent=self.config.agent.name)

    def log_problem(self, problem: str) -> None:
        self.services.log_problem(problem)

    def on_shutdown(self, callback: Callable[[], Any]) -> None:
        """Run `callback` (sync or async) at shutdown (see `Services.on_shutdown`)."""
        self.services.on_shutdown(callback)

    def inbound(self, message: InboundMessage) -> InboundMessage | str:
        """Let plugins transform or claim a message (`inbound_message` hook): returns the
        message to process, or the text a plugin answered with instead of an agent turn. A
        plugin that raises is logged and passed over."""
        result = first_result(
            self.plugins, "inbound_message", lambda plugin, exc: None, message=message
        )
        return message if result is None else result

    async def startup(self) -> Self:
        if not self.started:
            self.started = True
            for problem in await call_each(self.plugins, "startup", services=self.services):
                self.log_problem(problem)
        return self

    async def shutdown(self) -> None:
        if not self.started:
            return
        self.started = False
        for problem in await call_each(self.plugins, "shutdown", services=self.services):
            self.log_problem(problem)
        for callback in reversed(self.services.shutdown_callbacks):
            try:
                result = callback()
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("a shutdown callback failed")
        await self.bus.aclose()
        await self.models.aclose()
        self.services.close_store()

    async def __aenter__(self) -> Self:
        return await self.startup()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.shutdown()

    def validate_sections(self) -> list[str]:
        """Validate the sections plugins own (claimed sections, providers, channels); raise
        ConfigError on a bad or unknown one, and return warnings for entries no installed
        plugin understands and for `sandbox.env` variables commands never get."""
        from openclaw.config import validate_part

        self._check_config(self.registry)
        warnings = [*self._section_warnings, *self.services.sandbox.withheld_env()]
        for name in self.config.providers:
            self.models.settings(name)
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
            "last_model": self.models.last_model,
            "plugins": self.plugins.names(),
            "tools": sorted(self.registry.tools),
            "commands": sorted(self.registry.commands),
            "channels": sorted(self.registry.channels),
            "problems": list(self.problems),
        }
