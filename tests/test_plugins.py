"""Plugin loading: entry points, env policy, one-file plugins, broken plugins, provenance."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from openclaw import hookimpl
from openclaw.app import App
from openclaw.config import Config
from openclaw.plugins import create_plugin_manager

GOOD = '''
import click
from openclaw import hookimpl
from openclaw.tools import tool

@tool
def hello(name: str) -> str:
    """Say hello."""
    return f"hello {name}"

@hookimpl
def register_tools(register, context):
    register(hello)

@hookimpl
def register_cli_commands(cli):
    @cli.command("hello-cli")
    def hello_cli():
        """Say hello from a plugin."""
        click.echo("hello from the plugin")
'''
BROKEN = "import this_module_does_not_exist\n"
TYPO = (
    "from openclaw import hookimpl\n\n@hookimpl\ndef register_toolz(register, context):\n    pass\n"
)
BADSIG = (
    "from openclaw import hookimpl\n\n@hookimpl\ndef register_tools(register, contxt):\n    pass\n"
)
RAISES = (
    "from openclaw import hookimpl\n\n"
    "@hookimpl\ndef register_commands(register):\n    raise RuntimeError('kaboom')\n"
)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on sys.path holding an installed distribution with five entry-point plugins."""
    folder = tmp_path / "site"
    folder.mkdir()
    prefix = f"octest_{os.getpid()}_{tmp_path.name}"[:40].replace("-", "_")
    modules = {"good": GOOD, "broken": BROKEN, "typo": TYPO, "badsig": BADSIG, "raises": RAISES}
    for name, code in modules.items():
        (folder / f"{prefix}_{name}.py").write_text(code)
    dist = folder / "openclaw_testplugins-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: openclaw-testplugins\nVersion: 0.1\n"
    )
    lines = [f"{name} = {prefix}_{name}" for name in modules]
    (dist / "entry_points.txt").write_text("[openclaw]\n" + "\n".join(lines) + "\n")
    monkeypatch.syspath_prepend(str(folder))
    return folder


def test_entry_points_load_and_broken_ones_are_reported(site, openclaw_home):
    app = App(Config(), environ={})
    loaded = app.plugins.names()
    assert "good" in loaded and "openai_provider" in loaded
    assert not {"broken", "typo", "badsig"} & set(loaded)
    problems = "\n".join(app.problems)
    assert "plugin 'broken' skipped: failed to import: ModuleNotFoundError" in problems
    assert "plugin 'typo' skipped: implements unknown hook(s): register_toolz" in problems
    assert "plugin 'badsig' skipped: PluginValidationError" in problems
    assert "plugin 'raises': register_commands failed: RuntimeError: kaboom" in problems
    # the good plugin still works and its provenance is recorded
    assert app.registry.tools["hello"].plugin == "good"
    assert app.registry.declared_by("good") == {"tools": ["hello"]}
    info = app.plugins.info["good"]
    assert (info.source, info.distribution, info.version) == (
        "entrypoint",
        "openclaw-testplugins",
        "0.1",
    )
    assert app.plugins.hooks_of("good") == ["register_cli_commands", "register_tools"]
    assert "help" in app.registry.commands  # default commands survive a raising plugin


def test_load_and_disable_policy(site, openclaw_home):
    only_good = create_plugin_manager(environ={"OPENCLAW_LOAD_PLUGINS": "good"})
    assert "good" in only_good.names() and "raises" not in only_good.names()
    assert not only_good.problems
    none = create_plugin_manager(environ={"OPENCLAW_LOAD_PLUGINS": ""})
    assert none.names() == [
        "openai_provider",
        "anthropic_provider",
        "core_commands",
        "terminal_channel",
        "log_sink",
    ]
    disabled = create_plugin_manager(
        environ={"OPENCLAW_DISABLE_PLUGINS": "good, anthropic_provider"}
    )
    assert "good" not in disabled.names() and "anthropic_provider" not in disabled.names()
    from_config = App(Config(plugins={"disable": ["core_commands"]}), environ={})
    assert "core_commands" not in from_config.plugins.names()
    assert "help" not in from_config.registry.commands


def test_plugins_dir_one_file_plugins(tmp_path, openclaw_home):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "shout.py").write_text(
        textwrap.dedent(
            """
            from openclaw import hookimpl
            from openclaw.commands import Command

            async def shout(ctx):
                return ctx.args.upper()

            @hookimpl
            def register_commands(register):
                register(Command("shout", "shout it", shout))
            """
        )
    )
    (folder / "bad.py").write_text("raise SyntaxError('nope')\n")
    app = App(Config(), environ={"OPENCLAW_PLUGINS_DIR": str(folder), "OPENCLAW_LOAD_PLUGINS": ""})
    assert app.registry.commands["shout"].plugin == "shout"
    assert app.plugins.info["shout"].source == "plugins-dir"
    assert any("plugin 'bad' skipped" in p for p in app.problems)
    missing = App(Config(), environ={"OPENCLAW_PLUGINS_DIR": str(tmp_path / "none")})
    assert any("plugins dir does not exist" in p for p in missing.problems)


def test_register_rejects_wrong_objects_and_clashes(openclaw_home):
    from openclaw.commands import Command

    async def noop(ctx):
        return ""

    class Bad:
        @hookimpl
        def register_commands(self, register):
            register("not a command")
            register(Command("help", "my own help", noop))
            register(Command("bad name!", "x", noop))
            register(Command("mine", "fine", noop))

    app = App(Config(), plugins=[("bad", Bad())], entry_points=False)
    problems = "\n".join(app.problems)
    assert "register_commands expects Command, got str" in problems
    assert "command name must be letters" in problems
    # in-process plugins register first, so a default plugin's clash is the one reported
    assert "command /help is already registered by plugin 'bad'" in problems
    assert app.registry.commands["mine"].plugin == "bad"


def test_trace_env_writes_hook_calls(site, openclaw_home):
    code = "from openclaw.app import App; from openclaw.config import Config; App(Config())"
    env = {**os.environ, "OPENCLAW_TRACE_PLUGINS": "1", "PYTHONPATH": str(site)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "openclaw: register_tools -> good" in out.stderr


def test_cli_plugins_and_plugin_commands(site, openclaw_home):
    env = {**os.environ, "PYTHONPATH": str(site)}
    run = subprocess.run(
        [sys.executable, "-m", "openclaw.cli", "plugins", "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    good = next(p for p in data["plugins"] if p["name"] == "good")
    assert good["registered"] == {"tools": ["hello"]}
    assert any("broken" in p for p in data["problems"])
    helped = subprocess.run(
        [sys.executable, "-m", "openclaw.cli", "--help"], env=env, capture_output=True, text=True
    )
    assert "hello-cli" in helped.stdout and "Say hello from a plugin." in helped.stdout
    ran = subprocess.run(
        [sys.executable, "-m", "openclaw.cli", "hello-cli"], env=env, capture_output=True, text=True
    )
    assert ran.stdout.strip() == "hello from the plugin"
    # a plugin disabled in the config adds no subcommand either
    (openclaw_home / "openclaw.json").write_text(json.dumps({"plugins": {"disable": ["good"]}}))
    helped = subprocess.run(
        [sys.executable, "-m", "openclaw.cli", "--help"], env=env, capture_output=True, text=True
    )
    assert helped.returncode == 0 and "hello-cli" not in helped.stdout
    ran = subprocess.run(
        [sys.executable, "-m", "openclaw.cli", "hello-cli"], env=env, capture_output=True, text=True
    )
    assert ran.returncode == 2 and "No such command 'hello-cli'" in ran.stderr
