"""Calls each plugin's register hooks once, validates what it declares, and records who declared
what. Plugins are called in pluggy's order (`openclaw.plugins.implementations`) and the first to
declare a name keeps it, so the plugin every runtime hook asks first also wins every clash. A
plugin whose hook raises is reported and the other plugins' declarations still count."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from openclaw.channels import ChannelType
from openclaw.commands import Command
from openclaw.config import ConfigSection
from openclaw.config_sections import check_claim
from openclaw.events import Sink
from openclaw.plugins import PluginManager, call, dispatch
from openclaw.providers import ProviderType
from openclaw.tools import Tool, ToolContext, ToolSource

T = TypeVar("T")


@dataclass(slots=True)
class Registered(Generic[T]):
    """A declared object and the plugin that declared it."""

    value: T
    plugin: str


@dataclass
class Registry:
    """Everything the plugins declared, keyed by name, with provenance."""

    config_sections: dict[str, Registered[ConfigSection]] = field(default_factory=dict)
    provider_types: dict[tuple[str, str], Registered[ProviderType]] = field(default_factory=dict)
    tools: dict[str, Registered[Tool]] = field(default_factory=dict)
    tool_sources: list[Registered[ToolSource]] = field(default_factory=list)
    channels: dict[str, Registered[ChannelType]] = field(default_factory=dict)
    commands: dict[str, Registered[Command]] = field(default_factory=dict)
    sinks: list[Registered[Sink]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def provider_type(self, kind: str, name: str) -> ProviderType | None:
        found = self.provider_types.get((kind, name))
        return found.value if found else None

    def provider_types_of(self, kind: str) -> list[ProviderType]:
        return [r.value for (k, _), r in self.provider_types.items() if k == kind]

    def command_map(self) -> dict[str, Command]:
        return {name: r.value for name, r in self.commands.items()}

    def declared_by(self, plugin: str) -> dict[str, list[str]]:
        """What one plugin registered, by category (for `openclaw plugins`)."""
        found: dict[str, list[str]] = {}

        def note(category: str, name: str, owner: str) -> None:
            if owner == plugin:
                found.setdefault(category, []).append(name)

        for name, section in self.config_sections.items():
            note("config_sections", name, section.plugin)
        for (kind, name), provider in self.provider_types.items():
            note("providers", f"{name} ({kind})", provider.plugin)
        for name, tool in self.tools.items():
            note("tools", name, tool.plugin)
        for source in self.tool_sources:
            note("tool_sources", source.value.name, source.plugin)
        for name, channel in self.channels.items():
            note("channels", name, channel.plugin)
        for name, command in self.commands.items():
            note("commands", name, command.plugin)
        for sink in self.sinks:
            note("sinks", sink.value.name, sink.plugin)
        return found


def _check_name(name: object, what: str) -> str:
    if (
        not isinstance(name, str)
        or not name
        or not name.replace("_", "").replace("-", "").isalnum()
    ):
        raise ValueError(f"{what} name must be letters, digits, '-' or '_' (got {name!r})")
    return name


def build_registry(
    manager: PluginManager,
    tool_context: ToolContext,
    check_config: Callable[[Registry], None] | None = None,
) -> Registry:
    """Run every register hook implementation, one plugin at a time. Config sections are
    claimed first and `check_config` sees them before any other hook reads the config."""
    registry = Registry()

    def accept_section(value: Any, plugin: str) -> None:
        if not isinstance(value, ConfigSection):
            raise TypeError(
                f"register_config_sections expects ConfigSection, got {type(value).__name__}"
            )
        name = check_claim(value.name)
        _claim(registry.config_sections, name, value, plugin, f"config section {name!r}")

    def accept_provider(value: Any, plugin: str) -> None:
        if not isinstance(value, ProviderType):
            raise TypeError(f"register_providers expects ProviderType, got {type(value).__name__}")
        key = (value.kind, _check_name(value.name, "provider type"))
        _claim(registry.provider_types, key, value, plugin, f"provider type {value.name!r}")

    def accept_tool(value: Any, plugin: str) -> None:
        if isinstance(value, Tool):
            _check_name(value.name, "tool")
            _claim(registry.tools, value.name, value, plugin, f"tool {value.name!r}")
        elif isinstance(value, ToolSource):
            registry.tool_sources.append(Registered(value, plugin))
        else:
            raise TypeError(
                f"register_tools expects Tool or ToolSource, got {type(value).__name__}"
            )

    def accept_channel(value: Any, plugin: str) -> None:
        if not isinstance(value, ChannelType):
            raise TypeError(f"register_channels expects ChannelType, got {type(value).__name__}")
        name = _check_name(value.name, "channel")
        _claim(registry.channels, name, value, plugin, f"channel {name!r}")

    def accept_command(value: Any, plugin: str) -> None:
        if not isinstance(value, Command):
            raise TypeError(f"register_commands expects Command, got {type(value).__name__}")
        name = _check_name(value.name, "command")
        _claim(registry.commands, name, value, plugin, f"command /{name}")

    def accept_sink(value: Any, plugin: str) -> None:
        if not isinstance(value, Sink):
            raise TypeError("register_sinks expects an object with `name` and `handle(event)`")
        registry.sinks.append(Registered(value, plugin))

    _run(manager, registry, "register_config_sections", accept_section, {})
    if check_config is not None:
        check_config(registry)
    hooks: list[tuple[str, Callable[[Any, str], None], dict[str, Any]]] = [
        ("register_providers", accept_provider, {}),
        ("register_tools", accept_tool, {"context": tool_context}),
        ("register_channels", accept_channel, {}),
        ("register_commands", accept_command, {}),
        ("register_sinks", accept_sink, {"config": tool_context.config}),
    ]
    for hook_name, accept, extra in hooks:
        _run(manager, registry, hook_name, accept, extra)
    return registry


def _run(
    manager: PluginManager,
    registry: Registry,
    hook_name: str,
    accept: Callable[[Any, str], None],
    extra: dict[str, Any],
) -> None:
    """Call one register hook's implementations, recording each plugin's problems."""
    for impl in dispatch(manager, hook_name):  # call order: the first to declare wins
        plugin = impl.plugin_name

        def register(value: Any, _plugin: str = plugin) -> None:
            try:
                accept(value, _plugin)
            except (TypeError, ValueError) as exc:
                registry.problems.append(f"plugin {_plugin!r}: {exc}")

        try:
            call(impl, {"register": register, **extra})
        except Exception as exc:
            registry.problems.append(
                f"plugin {plugin!r}: {hook_name} failed: {type(exc).__name__}: {exc}"
            )


def _claim(table: dict[Any, Registered[Any]], key: Any, value: Any, plugin: str, what: str) -> None:
    owner = table.get(key)
    if owner is not None:
        raise ValueError(f"{what} is already registered by plugin {owner.plugin!r}; skipped")
    table[key] = Registered(value, plugin)
