"""Build a plugin manager, and dispatch the kernel's hooks in pluggy's own order.

Load order is the precedence order: the default plugins, then entry points, then
`OPENCLAW_PLUGINS_DIR` one-file plugins, then the in-process plugins of an embedding app. pluggy
calls the last registered first, so the in-process plugin is asked first by every hook and wins
every registration clash. There is no global manager: every `App` (and every test) gets its own.
A plugin that fails to import or implements a hook wrongly is reported with its name and
skipped; the rest load.
"""

from __future__ import annotations

import hashlib
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

# The hooks the kernel itself specifies (and dispatches one plugin at a time, see `call`).
KERNEL_HOOKS: frozenset[str] = frozenset(
    name
    for name in dir(hookspecs)
    if hasattr(getattr(hookspecs, name), f"{hookspecs.PROJECT}_spec")
)

# Precedence of the sources, lowest first: the order they load in.
SOURCES: tuple[str, ...] = ("default", "entrypoint", "plugins-dir", "object")

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
        """Register one plugin; on a bad hook, record the problem and leave it out.

        A plugin of the same name registered earlier (a lower precedence) is unregistered and
        reported as shadowed: load order is precedence order.
        """
        if self.pm.is_blocked(name):
            return False
        wrapped = _kernel_wrappers(self.pm, plugin)
        if wrapped:
            self.problems.append(
                PluginProblem(
                    name,
                    f"hook wrapper on {', '.join(wrapped)}: the kernel calls its hooks one "
                    "plugin at a time and does not run wrappers",
                )
            )
            return False
        earlier = self.pm.get_plugin(name)
        if earlier is not None and name in self.info:
            self.pm.unregister(earlier)
            shadowed = self.info.pop(name)
            self.problems.append(
                PluginProblem(
                    name,
                    f"the {_SOURCE_TEXT[shadowed.source]} plugin is shadowed by the "
                    f"{_SOURCE_TEXT[info.source]} plugin of the same name"
                    + (f" ({info.path})" if info.path else ""),
                )
            )
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


_SOURCE_TEXT = {
    "default": "default",
    "entrypoint": "entry-point",
    "plugins-dir": "plugins-dir",
    "object": "in-process",
}


def _kernel_wrappers(pm: pluggy.PluginManager, plugin: object) -> list[str]:
    """The kernel hooks a plugin implements as a wrapper (`wrapper=True` or `hookwrapper=True`),
    read with pluggy's own parser before anything registers."""
    found = []
    for attr in dir(plugin):
        try:
            opts = pm.parse_hookimpl_opts(plugin, attr)
        except Exception:  # an attribute that raises: pluggy's register reports it
            continue
        if not opts or not (opts.get("wrapper") or opts.get("hookwrapper")):
            continue
        hook_name = opts.get("specname") or attr
        if hook_name in KERNEL_HOOKS:
            found.append(hook_name)
    return sorted(found)


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

    Sources load in precedence order, lowest first: the default plugins, the entry points, the
    one-file plugins of `OPENCLAW_PLUGINS_DIR`, then `plugins`, the in-process plugin objects
    (name, object) of an embedding app or a test. pluggy calls the last registered first, so
    each later source is asked before the earlier ones and a later plugin of the same name
    shadows an earlier one. The environment decides the rest:
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

    if defaults:
        for module_name in DEFAULT_PLUGINS:
            short = module_name.rsplit(".", 1)[-1]
            if pm.is_blocked(short):
                continue
            module = importlib.import_module(module_name)
            manager.add(module, short, PluginInfo(short, "default", "openclaw-kernel", _version()))

    if entry_points:
        _load_entry_points(manager, _split_env(env.get("OPENCLAW_LOAD_PLUGINS")))

    folder = plugins_dir or env.get("OPENCLAW_PLUGINS_DIR")
    if folder:
        _load_plugins_dir(manager, Path(folder))

    for name, plugin in plugins:
        manager.add(plugin, name, PluginInfo(name, "object"))

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


def plugin_module_name(path: Path) -> str:
    """The module name of a one-file plugin: its stem and a digest of its resolved path, so two
    folders' `notes.py` (two Apps, two tests) never replace each other in `sys.modules`."""
    digest = hashlib.sha256(str(path.resolve()).encode("utf-8")).hexdigest()[:16]
    return f"openclaw_plugin_{path.stem}_{digest}"


def _import_file(path: Path) -> ModuleType:
    module_name = plugin_module_name(path)
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


def implementations(manager: PluginManager, hook_name: str) -> list[Any]:
    """A kernel hook's implementations in the order `manager.hook.<name>(...)` calls them.

    pluggy keeps them as [trylast..., ordinary..., tryfirst..., wrappers...], each group in
    registration order (trylast ones in reverse), and its `_multicall` walks that list backwards:
    tryfirst first, then the last registered first, trylast last. Wrappers are refused at load
    (`PluginManager.add`), so none is in the list.
    """
    impls = getattr(manager.hook, hook_name).get_hookimpls()
    return [impl for impl in reversed(impls) if not (impl.wrapper or impl.hookwrapper)]


def call(impl: Any, kwargs: dict[str, Any]) -> Any:
    """Call one implementation with only the arguments it declares (pluggy's rule: an
    implementation may accept fewer arguments than the spec)."""
    return impl.function(*(kwargs[name] for name in impl.argnames))


def dispatch(manager: PluginManager, hook_name: str) -> Iterator[Any]:
    """`implementations`, traced one plugin at a time as each is called."""
    for impl in implementations(manager, hook_name):
        manager.trace(hook_name, impl.plugin_name)
        yield impl


def _report(impl: Any, hook_name: str) -> str:
    log.exception("plugin %r: %s failed", impl.plugin_name, hook_name)
    return f"plugin {impl.plugin_name!r}: {hook_name} failed"


def collect(manager: PluginManager, hook_name: str, **kwargs: Any) -> list[Any]:
    """Every implementation's non-None answer, in call order; one that raises is logged and
    left out, so a broken plugin cannot fail a turn."""
    results = []
    for impl in dispatch(manager, hook_name):
        try:
            result = call(impl, kwargs)
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
    for impl in dispatch(manager, hook_name):
        try:
            result = call(impl, kwargs)
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
    for impl in dispatch(manager, hook_name):
        try:
            result = call(impl, kwargs)
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            problems.append(f"{_report(impl, hook_name)}: {exc}")
    return problems
