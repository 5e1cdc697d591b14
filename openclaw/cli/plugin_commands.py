"""Plugin subcommands found without importing the plugins, so `openclaw --help` stays fast.

Two ways for a plugin to add commands:
- the `openclaw.cli` entry-point group (`name = "module:attr"`, a click command): listed from the
  installed distributions' metadata and imported only when that command runs;
- the `register_cli_commands` hook (the slower fallback): only plugins whose entry-point module
  (or plugins-dir file) names the hook in its source are imported to list them, so a plugin
  that adds no command costs `--help` nothing.
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from openclaw.cli import help_cache

if TYPE_CHECKING:
    import click

    from openclaw.plugins import PluginManager

CLI_GROUP = "openclaw.cli"
PLUGIN_GROUP = "openclaw"  # openclaw.plugins.ENTRY_POINT_GROUP, without importing that module
HOOK = "register_cli_commands"


class DeclaredCommand(NamedTuple):
    """A command named in `openclaw.cli` metadata: where it lives and which distribution says so."""

    name: str
    target: str  # module:attr
    distribution: str
    summary: str

    def load(self) -> object:
        module_name, _, attr = self.target.partition(":")
        module = importlib.import_module(module_name)
        return getattr(module, attr) if attr else module


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


@functools.cache
def _entry_points() -> metadata.EntryPoints:
    """Every installed entry point, read once: each call of `entry_points` reads every
    distribution's metadata again."""
    found = metadata.entry_points()
    if isinstance(found, metadata.EntryPoints):  # Python 3.12 and later
        return found
    # Python 3.11: a dict of groups (SelectableGroups); dict.values skips its deprecation warning
    return metadata.EntryPoints(
        itertools.chain.from_iterable(dict[str, metadata.EntryPoints].values(found))
    )


def _dist_name(ep: metadata.EntryPoint) -> str:
    dist = ep.dist
    return dist.metadata["Name"] if dist is not None else ""


def _enabled_plugins(disabled: set[str], environ: Mapping[str, str]) -> list[metadata.EntryPoint]:
    """The entry-point plugins the CLI's plugin manager would load (same filters)."""
    only = _split(environ.get("OPENCLAW_LOAD_PLUGINS"))
    blocked = disabled | set(_split(environ.get("OPENCLAW_DISABLE_PLUGINS")) or [])
    return [
        ep
        for ep in _entry_points().select(group=PLUGIN_GROUP)
        if ep.name not in blocked and (only is None or ep.name in only)
    ]


def declared_commands(disabled: set[str], environ: Mapping[str, str]) -> dict[str, DeclaredCommand]:
    """`openclaw.cli` commands of the distributions that have an enabled plugin; a distribution
    whose plugins are all disabled adds no command either. The first declaration of a name wins."""
    declared = _entry_points().select(group=CLI_GROUP)
    if not declared:
        return {}  # reading distribution names parses their metadata: only when needed
    enabled = {_dist_name(ep) for ep in _enabled_plugins(disabled, environ)}
    found: dict[str, DeclaredCommand] = {}
    for ep in declared:
        dist = ep.dist
        name = _dist_name(ep)
        if name not in enabled or ep.name in found:
            continue
        summary = _first_docstring_line(ep.module)
        if not summary and dist is not None:
            summary = dist.metadata["Summary"] or ""
        found[ep.name] = DeclaredCommand(ep.name, ep.value, name, summary)
    return found


def _module_source(module_name: str) -> str | None:
    """A module's source text, found without running it or its packages; None when unknown."""
    top, *rest = module_name.split(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if not rest:
        candidates = [Path(spec.origin)] if spec.origin else []
    else:
        candidates = []
        for location in spec.submodule_search_locations or []:
            base = Path(location, *rest)
            candidates += [base.with_suffix(".py"), base / "__init__.py"]
    for path in candidates:
        help_cache.note_input(path)  # a file that appears here later changes the answer too
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
    return None


def _first_docstring_line(module_name: str) -> str:
    """The first line of a module's docstring, read from its source without running it."""
    source = _module_source(module_name)
    if source is None:
        return ""
    import ast

    try:
        docstring = ast.get_docstring(ast.parse(source)) or ""
    except (SyntaxError, ValueError):
        return ""
    return docstring.strip().split("\n", 1)[0]


def may_implement_hook(ep: metadata.EntryPoint) -> bool:
    """Whether an entry-point plugin may implement the hook: its module names it, or it cannot
    be told without importing (an object plugin `module:attr`, a module not found as a file)."""
    if ep.attr:
        return True
    source = _module_source(ep.module)
    return source is None or HOOK in source


def hook_plugins(disabled: set[str], environ: Mapping[str, str]) -> list[str]:
    """Names of the enabled entry-point plugins that may implement the hook."""
    return [ep.name for ep in _enabled_plugins(disabled, environ) if may_implement_hook(ep)]


def plugins_dir_uses_hook(folder: str | None) -> bool:
    """Whether any one-file plugin in `folder` names the hook (or cannot be read)."""
    if folder:
        help_cache.note_input(folder)
    if not folder or not Path(folder).is_dir():
        return bool(folder)  # a missing folder: let the plugin manager report it
    for path in Path(folder).glob("*.py"):
        help_cache.note_input(path)
        try:
            if HOOK in path.read_text(encoding="utf-8"):
                return True
        except (OSError, UnicodeDecodeError):
            return True
    return False


def add_hook_commands(manager: PluginManager, cli: click.Group) -> list[str]:
    """Call the hook one plugin at a time in pluggy's order (`openclaw.plugins.implementations`):
    the first plugin to add a command name keeps it, as with every register hook, and a plugin
    that raises is reported while the others still add theirs. Returns the problems."""
    from openclaw.plugins import call, dispatch

    owners = dict.fromkeys(cli.commands, "openclaw")
    problems: list[str] = []
    for impl in dispatch(manager, HOOK):
        before = dict(cli.commands)
        try:
            call(impl, {"cli": cli})
        except Exception as exc:
            problems.append(
                f"plugin {impl.plugin_name!r}: {HOOK} failed: {type(exc).__name__}: {exc}"
            )
        for name, command in list(cli.commands.items()):
            if before.get(name) is command:
                continue
            if name in owners:
                problems.append(
                    f"plugin {impl.plugin_name!r}: command {name!r} is already registered by "
                    f"plugin {owners[name]!r}; skipped"
                )
                if name in before:
                    cli.commands[name] = before[name]
                else:
                    del cli.commands[name]
            else:
                owners[name] = impl.plugin_name
    return problems
