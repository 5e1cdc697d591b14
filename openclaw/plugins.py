"""Build a plugin manager: entry points, one-file plugins, then the default plugins.

There is no global manager: every `App` (and every test) gets its own. A plugin that fails to
import or implements a hook wrongly is reported with its name and skipped; the rest load.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from openclaw import hookspecs

log = logging.getLogger("openclaw.plugins")

ENTRY_POINT_GROUP = "openclaw"

DEFAULT_PLUGINS: tuple[str, ...] = (
    "openclaw.default_plugins.openai_provider",
    "openclaw.default_plugins.anthropic_provider",
    "openclaw.default_plugins.core_commands",
    "openclaw.default_plugins.terminal_channel",
    "openclaw.default_plugins.log_sink",
)


@dataclass(slots=True)
class PluginProblem:
    """A plugin that could not be loaded, and why."""

    name: str
    error: str

    def __str__(self) -> str:
        return f"plugin {self.name!r} skipped: {self.error}"


@dataclass(slots=True)
class PluginInfo:
    """Where a loaded plugin came from."""

    name: str
    source: str  # "entrypoint", "plugins-dir", "default", "object"
    distribution: str | None = None
    version: str | None = None
    path: str | None = None


@dataclass
class PluginManager:
    """A pluggy manager plus what the loading policy learned along the way."""

    pm: pluggy.PluginManager
    info: dict[str, PluginInfo] = field(default_factory=dict)
    problems: list[PluginProblem] = field(default_factory=list)
    tracing: bool = False

    def trace(self, hook_name: str, plugin: str) -> None:
        """Report a hook call the kernel makes one plugin at a time (pluggy traces the rest)."""
        if self.tracing:
            sys.stderr.write(f"openclaw: {hook_name} -> {plugin}\n")

    @property
    def hook(self) -> Any:
        return self.pm.hook

    def hooks_of(self, name: str) -> list[str]:
        plugin = self.pm.get_plugin(name)
        if plugin is None:
            return []
        callers = self.pm.get_hookcallers(plugin) or []
        return sorted(caller.name for caller in callers)

    def names(self) -> list[str]:
        return [name for name in self.info if self.pm.get_plugin(name) is not None]

    def add(self, plugin: object, name: str, info: PluginInfo) -> bool:
        """Register one plugin; on a bad hook, record the problem and leave it out."""
        if self.pm.is_blocked(name):
            return False
        try:
            self.pm.register(plugin, name=name)
        except Exception as exc:  # pluggy.PluginValidationError, ValueError on name clash
            self.problems.append(PluginProblem(name, _describe(exc)))
            return False
        self.info[name] = info
        return True

    def check_pending(self) -> None:
        """Unregister each plugin that implements a hook nobody specified (a misspelt name)."""
        for name in list(self.info):
            plugin = self.pm.get_plugin(name)
            if plugin is None:
                continue
            unknown = [
                caller.name
                for caller in self.pm.get_hookcallers(plugin) or []
                if caller.spec is None
                and not any(
                    impl.optionalhook for impl in caller.get_hookimpls() if impl.plugin is plugin
                )
            ]
            if unknown:
                self.pm.unregister(plugin)
                del self.info[name]
                self.problems.append(
                    PluginProblem(name, f"implements unknown hook(s): {', '.join(unknown)}")
                )
        self.pm.check_pending()


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".strip()


def _split_env(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def create_plugin_manager(
    *,
    plugins: Iterable[tuple[str, object]] = (),
    disable: Sequence[str] = (),
    entry_points: bool = True,
    plugins_dir: str | os.PathLike[str] | None = None,
    defaults: bool = True,
    environ: dict[str, str] | None = None,
) -> PluginManager:
    """Create and load a plugin manager.

    `plugins` are in-process plugin objects (name, object), registered first so embedding apps
    and tests can add their own. The environment decides the rest:
    `OPENCLAW_LOAD_PLUGINS` (comma list: only these entry-point plugins; empty: none),
    `OPENCLAW_DISABLE_PLUGINS` (comma list, any source), `OPENCLAW_PLUGINS_DIR` (a folder of
    one-file plugins) and `OPENCLAW_TRACE_PLUGINS` (trace every hook call to stderr).
    """
    env = os.environ if environ is None else environ
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.hook.add_hookspecs.call_historic(kwargs={"pm": pm})
    manager = PluginManager(pm, tracing=bool(env.get("OPENCLAW_TRACE_PLUGINS")))

    for name in [*disable, *(_split_env(env.get("OPENCLAW_DISABLE_PLUGINS")) or [])]:
        pm.set_blocked(name)

    if manager.tracing:
        pm.trace.root.setwriter(lambda message: sys.stderr.write(message))
        pm.enable_tracing()

    for name, plugin in plugins:
        manager.add(plugin, name, PluginInfo(name, "object"))

    if entry_points:
        _load_entry_points(manager, _split_env(env.get("OPENCLAW_LOAD_PLUGINS")))

    folder = plugins_dir or env.get("OPENCLAW_PLUGINS_DIR")
    if folder:
        _load_plugins_dir(manager, Path(folder))

    if defaults:
        for module_name in DEFAULT_PLUGINS:
            short = module_name.rsplit(".", 1)[-1]
            if pm.is_blocked(short):
                continue
            module = importlib.import_module(module_name)
            manager.add(module, short, PluginInfo(short, "default", "openclaw-kernel", _version()))

    manager.check_pending()
    return manager


def _load_entry_points(manager: PluginManager, only: list[str] | None) -> None:
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if only is not None and ep.name not in only:
            continue
        if manager.pm.is_blocked(ep.name):
            continue
        dist = ep.dist
        info = PluginInfo(
            ep.name,
            "entrypoint",
            dist.metadata["Name"] if dist else None,
            dist.version if dist else None,
        )
        try:
            plugin = ep.load()
        except Exception as exc:
            manager.problems.append(PluginProblem(ep.name, f"failed to import: {_describe(exc)}"))
            continue
        manager.add(plugin, ep.name, info)


def _load_plugins_dir(manager: PluginManager, folder: Path) -> None:
    if not folder.is_dir():
        manager.problems.append(PluginProblem(str(folder), "plugins dir does not exist"))
        return
    for path in sorted(folder.glob("*.py")):
        name = path.stem
        if manager.pm.is_blocked(name):
            continue
        try:
            module = _import_file(path)
        except Exception as exc:
            manager.problems.append(PluginProblem(name, f"failed to import: {_describe(exc)}"))
            continue
        manager.add(module, name, PluginInfo(name, "plugins-dir", path=str(path)))


def _import_file(path: Path) -> ModuleType:
    module_name = f"openclaw_plugins_dir.{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def _version() -> str:
    from openclaw import __version__

    return __version__


def _impls(manager: PluginManager, hook_name: str) -> Iterator[Any]:
    """A hook's implementations in pluggy's call order (last registered first)."""
    for impl in reversed(getattr(manager.hook, hook_name).get_hookimpls()):
        manager.trace(hook_name, impl.plugin_name)
        yield impl


def _call(impl: Any, kwargs: dict[str, Any]) -> Any:
    return impl.function(**{name: kwargs[name] for name in impl.argnames})


def _report(impl: Any, hook_name: str) -> str:
    log.exception("plugin %r: %s failed", impl.plugin_name, hook_name)
    return f"plugin {impl.plugin_name!r}: {hook_name} failed"


def collect(manager: PluginManager, hook_name: str, **kwargs: Any) -> list[Any]:
    """Every implementation's non-None answer; one that raises is logged and left out, so a
    broken plugin cannot fail a turn."""
    results = []
    for impl in _impls(manager, hook_name):
        try:
            result = _call(impl, kwargs)
        except Exception:
            _report(impl, hook_name)
            continue
        if result is not None:
            results.append(result)
    return results


def first_result(
    manager: PluginManager,
    hook_name: str,
    on_error: Callable[[str, Exception], Any],
    **kwargs: Any,
) -> Any:
    """The first non-None answer (a `firstresult` hook). When an implementation raises, it is
    logged and `on_error(plugin, exc)` decides: None goes on to the next, anything else is
    the answer (a policy hook fails closed that way)."""
    for impl in _impls(manager, hook_name):
        try:
            result = _call(impl, kwargs)
        except Exception as exc:
            _report(impl, hook_name)
            result = on_error(impl.plugin_name, exc)
        if result is not None:
            return result
    return None


async def call_each(manager: PluginManager, hook_name: str, **kwargs: Any) -> list[str]:
    """Call every implementation, awaiting awaitable results; one that fails is logged and
    reported, and the others still run. Returns the problems."""
    problems: list[str] = []
    for impl in _impls(manager, hook_name):
        try:
            result = _call(impl, kwargs)
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            problems.append(f"{_report(impl, hook_name)}: {exc}")
    return problems
