"""A repeated `openclaw --help` / `openclaw plugins --help` is replayed from the help cache
without importing click, pydantic, the config models or any plugin, and a change to what the
text depends on (an installed distribution, the config, a plugin file, the width) renders it
again: checked on `sys.modules` of real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

COMMAND = '''
import click

@click.command()
@click.argument("who")
def {name}(who):
    """From the terminal."""
    click.echo(f"*{name} for {{who}}*")
'''
HOOK_PLUGIN = '''
import click
from openclaw import hookimpl

@click.command()
def {name}():
    """{doc}"""
    click.echo("{name} ran")

@hookimpl
def register_cli_commands(cli):
    cli.add_command({name})
'''
BROKEN_HOOK_PLUGIN = """
from openclaw import hookimpl

@hookimpl
def register_cli_commands(cli):
    raise RuntimeError("no commands today")
"""
HEAVY = {"click", "pydantic", "openclaw.config", "openclaw.plugins", "openclaw.cli.root"}
RUN_AND_LIST = """
import atexit, json, runpy, sys
atexit.register(lambda: sys.stderr.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n"))
sys.argv = ["openclaw", *sys.argv[1:]]
runpy.run_module("openclaw", run_name="__main__", alter_sys=True)
"""


def add_distribution(site: Path, name: str, summary: str) -> None:
    """An installed distribution `openclaw-NAME` with a plugin and an `openclaw.cli` command."""
    (site / f"{name}_plugin.py").write_text('"""A plugin."""\n')
    (site / f"{name}_cli.py").write_text(COMMAND.format(name=name))
    dist = site / f"openclaw_{name}-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: openclaw-{name}\nVersion: 0.1\nSummary: {summary}\n"
    )
    (dist / "entry_points.txt").write_text(
        f"[openclaw]\n{name} = {name}_plugin\n\n[openclaw.cli]\n{name} = {name}_cli:{name}\n"
    )


@pytest.fixture
def site(tmp_path: Path) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    add_distribution(folder, "wave", "Waves at people.")
    return folder


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def openclaw(site: Path, cache: Path, openclaw_home: Path):
    """Run the CLI with every installed plugin, `site` on the path and its own cache folder;
    returns (CompletedProcess, the modules it had imported when it exited)."""

    def invoke(*args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_")}
        full_env.pop("COLUMNS", None)
        full_env.update(
            OPENCLAW_HOME=str(openclaw_home), PYTHONPATH=str(site), XDG_CACHE_HOME=str(cache)
        )
        full_env.update(env)
        done = subprocess.run(
            [sys.executable, "-c", RUN_AND_LIST, *args],
            env=full_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        stderr, _, listed = done.stderr.rpartition("\nMODULES ")
        done.stderr = stderr
        return done, set(json.loads(listed))

    return invoke


def plugin_packages() -> set[str]:
    """Top-level packages of every installed `openclaw` entry point, and the fixtures'."""
    found = {ep.module.split(".")[0] for ep in metadata.entry_points(group="openclaw")}
    return found | {"wave_plugin", "wave_cli", "clap_plugin", "clap_cli"}


def test_a_repeated_help_imports_no_click_pydantic_or_plugin(openclaw, cache):
    first, first_modules = openclaw("--help")
    assert first.returncode == 0, first.stderr
    assert "click" in first_modules  # rendered by click once
    assert list((cache / "openclaw" / "cli-help").iterdir())

    again, modules = openclaw("--help")
    assert again.returncode == 0 and again.stderr == ""
    assert again.stdout == first.stdout
    assert "wave      Waves at people." in again.stdout  # a plugin's command, still listed
    assert "scripts   List script-plugin manifests" in again.stdout  # a first-party one
    assert not modules & HEAVY
    assert {"openclaw_channel_telegram", "openclaw_tools_builtin"} <= plugin_packages()
    assert not {name for name in modules if name.split(".")[0] in plugin_packages()}

    plugins_first, _ = openclaw("plugins", "--help")
    plugins_again, modules = openclaw("plugins", "--help")
    assert plugins_again.returncode == 0 and "uninstall" in plugins_again.stdout
    assert plugins_again.stdout == plugins_first.stdout
    assert not modules & HEAVY

    waved, modules = openclaw("wave", "Ada")  # the command still runs, imported when invoked
    assert waved.returncode == 0 and waved.stdout == "*wave for Ada*\n", waved.stderr
    assert "wave_cli" in modules


def test_installing_or_disabling_a_plugin_renders_the_help_again(openclaw, site, openclaw_home):
    openclaw("--help")
    add_distribution(site, "clap", "Claps for people.")
    installed, modules = openclaw("--help")
    assert "clap      Claps for people." in installed.stdout and "click" in modules
    clapped, _ = openclaw("clap", "Ada")
    assert clapped.returncode == 0 and clapped.stdout == "*clap for Ada*\n"

    (openclaw_home / "openclaw.json").write_text(json.dumps({"plugins": {"disable": ["clap"]}}))
    disabled, _ = openclaw("--help")
    assert "clap" not in disabled.stdout and "wave" in disabled.stdout
    cached, modules = openclaw("--help")
    assert cached.stdout == disabled.stdout and "click" not in modules

    only, _ = openclaw("--help", OPENCLAW_LOAD_PLUGINS="clap,tools")
    assert "wave" not in only.stdout and "scripts" in only.stdout


def test_a_narrower_terminal_gets_its_own_text(openclaw):
    wide, _ = openclaw("--help")
    narrow, modules = openclaw("--help", COLUMNS="60")
    assert "click" in modules
    assert max(map(len, narrow.stdout.splitlines())) <= 58 < max(map(len, wide.stdout.splitlines()))
    again, modules = openclaw("--help", COLUMNS="60")
    assert again.stdout == narrow.stdout and "click" not in modules


def test_hook_plugin_commands_are_listed_cached_and_refreshed(openclaw, tmp_path):
    """A third-party plugin without `openclaw.cli` metadata: imported for its hook on the
    rendering run only; editing its file renders the help again."""
    folder = tmp_path / "plugins"
    folder.mkdir()
    plugin = folder / "stomp.py"
    plugin.write_text(HOOK_PLUGIN.format(name="stomp", doc="Stomp the floor."))
    first, modules = openclaw("--help", OPENCLAW_PLUGINS_DIR=str(folder))
    assert "stomp     Stomp the floor." in first.stdout and "click" in modules
    again, modules = openclaw("--help", OPENCLAW_PLUGINS_DIR=str(folder))
    assert again.stdout == first.stdout and not modules & HEAVY

    plugin.write_text(HOOK_PLUGIN.format(name="stomp", doc="Stomp twice, louder."))
    edited, _ = openclaw("--help", OPENCLAW_PLUGINS_DIR=str(folder))
    assert "Stomp twice, louder." in edited.stdout
    ran, _ = openclaw("stomp", OPENCLAW_PLUGINS_DIR=str(folder))
    assert ran.returncode == 0 and ran.stdout == "stomp ran\n", ran.stderr


def test_a_help_with_warnings_is_not_cached(openclaw, tmp_path):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "broken.py").write_text(BROKEN_HOOK_PLUGIN)
    for _ in range(2):
        helped, modules = openclaw("--help", OPENCLAW_PLUGINS_DIR=str(folder))
        assert helped.returncode == 0 and "wave" in helped.stdout
        assert "register_cli_commands failed: RuntimeError: no commands today" in helped.stderr
        assert "click" in modules  # rendered (and warned) every time


def test_a_cache_that_cannot_be_written_only_costs_speed(openclaw, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would go")
    for _ in range(2):
        helped, modules = openclaw("--help", XDG_CACHE_HOME=str(blocked))
        assert helped.returncode == 0 and helped.stderr == ""
        assert "wave      Waves at people." in helped.stdout and "click" in modules
