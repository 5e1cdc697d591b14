"""The kernel's layers: no import cycle among `openclaw` modules (imports under TYPE_CHECKING
and inside functions included), and what a plugin receives never names the App, the kernel or
the gateway: plugins are handed `Services`."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp

from openclaw import hookspecs
from openclaw.channels import Channel, ChannelSurface, ChannelType, InboundMessage, Inbox
from openclaw.commands import Command, CommandContext, CommandReply
from openclaw.services import CronControl, Events, Services, Turns
from openclaw.tools import Tool, ToolCallContext, ToolContext, ToolSource

ROOT = Path(__file__).resolve().parents[1]
UPPER = re.compile(r"(?<!pluggy\.)\b(App|Kernel|Gateway|PluginManager|Registry)\b")
CONTRACT = (
    ToolContext,
    ToolCallContext,
    Tool,
    ToolSource,
    CommandContext,
    Command,
    CommandReply,
    Channel,
    ChannelSurface,
    ChannelType,
    Inbox,
    InboundMessage,
    Services,
    Events,
    Turns,
    CronControl,
)


def cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_import_cycle_among_kernel_modules():
    graph = grimp.build_graph("openclaw", exclude_type_checking_imports=False)
    assert len(graph.modules) > 50  # the whole kernel was read
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle(tmp_path, monkeypatch):
    package = tmp_path / "cyclic"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import cyclic.b\n"
    )
    (package / "b.py").write_text("def f():\n    import cyclic.a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = grimp.build_graph("cyclic", exclude_type_checking_imports=False)
    assert cycles(graph) == [["cyclic.a", "cyclic.b"]]


def annotations_of(thing: object) -> list[str]:
    """Every annotation written on a class (its fields and its methods) or a function."""
    found: list[str] = []
    functions = [thing] if inspect.isfunction(thing) else []
    if inspect.isclass(thing):
        for klass in thing.__mro__:
            if klass.__module__.startswith("openclaw"):
                found += [str(a) for a in vars(klass).get("__annotations__", {}).values()]
                functions += [v for v in vars(klass).values() if inspect.isfunction(v)]
                functions += [
                    v.fget for v in vars(klass).values() if isinstance(v, property) and v.fget
                ]
    for function in functions:
        found += [str(a) for a in function.__annotations__.values()]
    return found


def test_nothing_a_plugin_receives_names_the_app_or_the_gateway():
    specs = [
        getattr(hookspecs, name)
        for name in dir(hookspecs)
        if inspect.isfunction(getattr(hookspecs, name))
        and hasattr(getattr(hookspecs, name), "openclaw_spec")
    ]
    assert {spec.__name__ for spec in specs} >= {"startup", "register_tools", "before_tool_call"}
    for thing in [*specs, *CONTRACT]:
        written = annotations_of(thing)
        assert written, thing
        upper = [a for a in written if UPPER.search(a)]
        assert upper == [], f"{thing.__qualname__} mentions {upper}"


def test_the_annotation_check_sees_an_upward_type():
    class Leaky:
        app: App  # type: ignore[name-defined]  # noqa: F821

    Leaky.__module__ = "openclaw.example"
    assert any(UPPER.search(a) for a in annotations_of(Leaky))


def test_lint_imports_contracts_hold():
    """The layers and the plugin contract in pyproject.toml (`lint-imports`, also in CI)."""
    done = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_the_contracts_make_no_exception():
    """Every import a contract forbids is forbidden: no `ignore_imports` (the crash harness reads
    the gateway's restart texts from `openclaw.delivery_texts`, below the gateway)."""
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = settings["tool"]["importlinter"]["contracts"]
    assert len(contracts) >= 2
    assert [c["name"] for c in contracts if c.get("ignore_imports")] == []
