"""pluggy's own hook semantics: call order, one precedence rule, wrappers refused at load,
collision-free one-file plugins, per-plugin error isolation."""

from __future__ import annotations

import asyncio
import inspect
import os
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pluggy
import pytest

from openclaw import hookimpl, hookspecs
from openclaw.app import App
from openclaw.channels import InboundMessage
from openclaw.cli.plugin_commands import add_hook_commands
from openclaw.config import Config
from openclaw.plugins import (
    DEFAULT_PLUGINS,
    KERNEL_HOOKS,
    call_each,
    collect,
    create_plugin_manager,
    first_result,
    implementations,
    plugin_module_name,
)
from openclaw.tools import tool

NO_DEFAULTS = [name.rsplit(".", 1)[-1] for name in DEFAULT_PLUGINS]
REGISTER_HOOKS = sorted(h for h in KERNEL_HOOKS if h.startswith("register_"))
RUNTIME_HOOKS = sorted(KERNEL_HOOKS - {"add_hookspecs", *REGISTER_HOOKS})

# label, tryfirst, trylast: registered in this order
MIX = [
    ("plain_a", False, False),
    ("first_a", True, False),
    ("last_a", False, True),
    ("plain_b", False, False),
    ("first_b", True, False),
    ("last_b", False, True),
    ("plain_c", False, False),
]


def spec_args(hook: str) -> list[str]:
    return list(inspect.signature(getattr(hookspecs, hook)).parameters)


def recorder(hook: str, label: str, calls: list[str], tryfirst: bool, trylast: bool) -> object:
    """A plugin whose `hook` implementation (with the spec's own argument names) records its
    label and returns None, so every implementation of a firstresult hook runs too."""
    namespace: dict[str, Any] = {}
    source = f"def {hook}(self, {', '.join(spec_args(hook))}):\n    calls.append(label)\n"
    exec(source, {"calls": calls, "label": label}, namespace)
    function = hookimpl(tryfirst=tryfirst, trylast=trylast)(namespace[hook])
    return type(f"Recorder_{label}", (), {hook: function})()


def recorders(hook: str, calls: list[str]) -> list[tuple[str, object]]:
    return [(label, recorder(hook, label, calls, first, last)) for label, first, last in MIX]


def dummy_kwargs(hook: str) -> dict[str, Any]:
    return {name: (lambda value: None) if name == "register" else None for name in spec_args(hook)}


def pluggys_order(manager: Any, hook: str, calls: list[str]) -> list[str]:
    """The order pluggy itself calls the implementations in."""
    calls.clear()
    getattr(manager.hook, hook)(**dummy_kwargs(hook))
    return list(calls)


KERNEL_CALLS: dict[str, Callable[[Any, dict[str, Any]], Any]] = {
    "before_tool_call": lambda m, kw: first_result(m, "before_tool_call", lambda p, e: None, **kw),
    "inbound_message": lambda m, kw: first_result(m, "inbound_message", lambda p, e: None, **kw),
    "extend_system_prompt": lambda m, kw: collect(m, "extend_system_prompt", **kw),
    "startup": lambda m, kw: asyncio.run(call_each(m, "startup", **kw)),
    "shutdown": lambda m, kw: asyncio.run(call_each(m, "shutdown", **kw)),
}


def test_every_runtime_hook_has_a_kernel_dispatch_under_test():
    assert sorted(KERNEL_CALLS) == RUNTIME_HOOKS


@pytest.mark.parametrize("hook", RUNTIME_HOOKS)
def test_runtime_hook_order_equals_pluggys_call_order(hook: str):
    calls: list[str] = []
    manager = create_plugin_manager(
        plugins=recorders(hook, calls), entry_points=False, defaults=False, environ={}
    )
    expected = pluggys_order(manager, hook, calls)
    assert expected[:2] == ["first_b", "first_a"] and expected[-2:] == ["last_a", "last_b"]
    assert [impl.plugin_name for impl in implementations(manager, hook)] == expected
    calls.clear()
    KERNEL_CALLS[hook](manager, dummy_kwargs(hook))
    assert calls == expected


@pytest.mark.parametrize("hook", REGISTER_HOOKS)
def test_register_hook_order_equals_pluggys_call_order(hook: str):
    calls: list[str] = []
    config = Config(plugins={"disable": NO_DEFAULTS})
    if hook == "register_cli_commands":
        manager = create_plugin_manager(
            plugins=recorders(hook, calls), entry_points=False, defaults=False, environ={}
        )
        add_hook_commands(manager, click.Group())
    else:
        manager = App(
            config, plugins=recorders(hook, calls), entry_points=False, environ={}
        ).plugins
    kernel = list(calls)
    assert kernel == pluggys_order(manager, hook, calls)


async def test_extend_system_prompt_pieces_follow_pluggys_order(
    openclaw_make_app, openclaw_mock_model
):
    def piece(text: str, **marks: bool) -> object:
        class Piece:
            @hookimpl(**marks)
            def extend_system_prompt(self, session_key: str, workspace: str) -> str:
                return text

        return (text, Piece())

    plugins = [piece("LATE", trylast=True), piece("PLAIN"), piece("EARLY", tryfirst=True)]
    async with openclaw_make_app(plugins=plugins) as app:
        await app.ask("hi")
        pluggy_says = app.plugins.hook.extend_system_prompt(session_key="k", workspace="w")
    assert pluggy_says == ["EARLY", "PLAIN", "LATE"]
    assert openclaw_mock_model.requests[0].messages[0].text.endswith("EARLY\n\nPLAIN\n\nLATE")


@pytest.mark.parametrize("marks", [{"wrapper": True}, {"hookwrapper": True}])
async def test_a_hook_wrapper_on_a_kernel_hook_is_refused_at_load(
    openclaw_make_app, openclaw_mock_model, marks
):
    class Wrapping:
        @hookimpl(**marks)
        def extend_system_prompt(self, session_key: str, workspace: str) -> Any:
            yield

    async with openclaw_make_app(plugins=[("wrapping", Wrapping())]) as app:
        assert "wrapping" not in app.plugins.names()
        assert "plugin 'wrapping' skipped: hook wrapper on extend_system_prompt" in "\n".join(
            app.problems
        )
        assert (await app.ask("hi")).text == "ok"  # the turn no longer fails on a generator


def test_a_wrapper_on_a_plugins_own_hook_still_works():
    spec = pluggy.HookspecMarker("openclaw")

    class Specs:
        @spec
        def weather(self, city: str) -> str: ...

    class Adds:
        @hookimpl
        def add_hookspecs(self, pm: pluggy.PluginManager) -> None:
            pm.add_hookspecs(Specs)

    class Answers:
        @hookimpl
        def weather(self, city: str) -> str:
            return f"sun in {city}"

    class Wraps:
        @hookimpl(wrapper=True)
        def weather(self, city: str) -> Any:
            result = yield
            return [text.upper() for text in result]

    manager = create_plugin_manager(
        plugins=[("adds", Adds()), ("answers", Answers()), ("wraps", Wraps())],
        entry_points=False,
        defaults=False,
        environ={},
    )
    assert not manager.problems
    assert manager.hook.weather(city="Porto") == ["SUN IN PORTO"]


ENTRY_POLICY = """
from openclaw import hookimpl
from openclaw.commands import Command

async def whoami(ctx):
    return "entry point"

@hookimpl
def register_commands(register):
    register(Command("whoami", "who answers", whoami))

@hookimpl
def inbound_message(message):
    return "claimed by the entry point"

@hookimpl
def before_tool_call(name, arguments, context):
    return "denied by the entry point"
"""


@pytest.fixture
def entry_point_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An installed distribution (a dist-info on sys.path) with entry points `policy` and
    `shadowed`, both the same module."""
    folder = tmp_path / "site"
    folder.mkdir()
    module = f"ochooks_{os.getpid()}_{tmp_path.name}"[:40].replace("-", "_")
    (folder / f"{module}.py").write_text(ENTRY_POLICY)
    dist = folder / "openclaw_hookpolicy-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: openclaw-hookpolicy\nVersion: 0.1\n"
    )
    (dist / "entry_points.txt").write_text(f"[openclaw]\npolicy = {module}\n")
    monkeypatch.syspath_prepend(str(folder))
    return folder


@tool
def probe() -> str:
    """Report that the call ran."""
    return "probe ran"


class Embedder:
    """An embedding app's own policy plugin, passed in-process."""

    @hookimpl
    def register_tools(self, register: Any, context: Any) -> None:
        register(probe)

    @hookimpl
    def register_commands(self, register: Any) -> None:
        from openclaw.commands import Command

        async def whoami(ctx: Any) -> str:
            return "embedder"

        register(Command("whoami", "who answers", whoami))

    @hookimpl
    def inbound_message(self, message: InboundMessage) -> str:
        return "claimed by the embedder"

    @hookimpl
    def before_tool_call(self, name: str, arguments: dict, context: Any) -> str:
        return "denied by the embedder"


async def test_an_in_process_plugin_wins_over_an_entry_point_plugin(
    entry_point_site, openclaw_make_app, openclaw_mock_model
):
    openclaw_mock_model.enqueue(tool_calls=[("probe", {})]).enqueue("done")
    async with openclaw_make_app(plugins=[("embedder", Embedder())], entry_points=True) as app:
        assert app.plugins.info["policy"].source == "entrypoint"
        assert app.registry.commands["whoami"].plugin == "embedder"
        assert (
            "plugin 'policy': command /whoami is already registered by plugin 'embedder'"
            in "\n".join(app.problems)
        )
        message = InboundMessage("cli", "local", "default", "hello")
        assert app.inbound(message) == "claimed by the embedder"
        await app.ask("go")
    assert [m.text for m in openclaw_mock_model.tool_results()] == [
        "Error: call denied: denied by the embedder"
    ]


def test_a_same_name_plugin_of_higher_precedence_shadows_and_is_reported(
    entry_point_site, openclaw_home
):
    app = App(Config(), plugins=[("policy", Embedder())], environ={})
    assert app.plugins.info["policy"].source == "object"
    assert app.registry.commands["whoami"].plugin == "policy"
    assert any(
        "plugin 'policy' skipped: the entry-point plugin is shadowed by the in-process plugin"
        in problem
        for problem in app.problems
    )
    message = InboundMessage("cli", "local", "default", "hello")
    assert app.inbound(message) == "claimed by the embedder"


def test_one_file_plugins_with_the_same_stem_in_two_dirs_do_not_collide(tmp_path, openclaw_home):
    managers = []
    for which in ("first", "second"):
        folder = tmp_path / which / "plugins"
        folder.mkdir(parents=True)
        (folder / "notes.py").write_text(
            textwrap.dedent(
                f"""
                import sys
                from openclaw import hookimpl

                WHICH = {which!r}

                @hookimpl
                def extend_system_prompt(session_key, workspace):
                    return sys.modules[__name__].WHICH
                """
            )
        )
        managers.append(create_plugin_manager(plugins_dir=folder, entry_points=False, environ={}))
    modules = [manager.pm.get_plugin("notes") for manager in managers]
    assert modules[0].__name__ != modules[1].__name__
    for module, which in zip(modules, ("first", "second"), strict=True):
        path = tmp_path / which / "plugins" / "notes.py"
        assert module.__name__ == plugin_module_name(path)
        assert (
            module.__name__.startswith("openclaw_plugin_notes_")
            and len(module.__name__) == len("openclaw_plugin_notes_") + 16
        )
        assert sys.modules[module.__name__] is module
    assert [
        collect(m, "extend_system_prompt", session_key="k", workspace="w") for m in managers
    ] == [
        ["first"],
        ["second"],
    ]


async def test_a_failing_plugin_is_reported_and_the_others_still_run(
    openclaw_make_app, openclaw_mock_model
):
    calls: list[str] = []

    class Fails:
        @hookimpl(tryfirst=True)
        def extend_system_prompt(self, session_key: str, workspace: str) -> str:
            raise RuntimeError("prompt bug")

        @hookimpl(tryfirst=True)
        def inbound_message(self, message: InboundMessage) -> str:
            raise RuntimeError("inbound bug")

        @hookimpl(tryfirst=True)
        def register_commands(self, register: Any) -> None:
            raise RuntimeError("register bug")

        @hookimpl(tryfirst=True)
        def register_cli_commands(self, cli: click.Group) -> None:
            raise RuntimeError("cli bug")

    class Works:
        @hookimpl
        def extend_system_prompt(self, session_key: str, workspace: str) -> str:
            return "STILL HERE"

        @hookimpl
        def inbound_message(self, message: InboundMessage) -> None:
            calls.append("inbound")

        @hookimpl
        def register_cli_commands(self, cli: click.Group) -> None:
            cli.add_command(click.Command("works-cli"))

    plugins = [("works", Works()), ("fails", Fails())]
    async with openclaw_make_app(plugins=plugins) as app:
        assert (
            "plugin 'fails': register_commands failed: RuntimeError: register bug" in app.problems
        )
        assert "help" in app.registry.commands
        await app.ask("hi")
        message = InboundMessage("cli", "local", "default", "hello")
        assert app.inbound(message) is message and calls == ["inbound"]
        group = click.Group()
        problems = add_hook_commands(app.plugins, group)
    assert "works-cli" in group.commands
    assert problems == ["plugin 'fails': register_cli_commands failed: RuntimeError: cli bug"]
    assert openclaw_mock_model.requests[0].messages[0].text.endswith("STILL HERE")


def test_cli_commands_clash_is_won_by_the_plugin_called_first(openclaw_home):
    def adds(label: str) -> object:
        class Adds:
            @hookimpl
            def register_cli_commands(self, cli: click.Group) -> None:
                cli.add_command(click.Command("same", help=label))

        return (label, Adds())

    manager = create_plugin_manager(
        plugins=[adds("earlier"), adds("later")], entry_points=False, defaults=False, environ={}
    )
    group = click.Group()
    problems = add_hook_commands(manager, group)
    assert group.commands["same"].help == "later"
    assert problems == [
        "plugin 'earlier': command 'same' is already registered by plugin 'later'; skipped"
    ]
