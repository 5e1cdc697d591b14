"""`openclaw --help` lists plugin commands without importing pydantic, the config models or any
plugin module: checked on `sys.modules` of a real subprocess as it exits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

PLUGIN = '''
from openclaw import hookimpl
from openclaw.tools import tool

@tool
def wave(name: str) -> str:
    """Wave at someone."""
    return f"*waves at {name}*"

@hookimpl
def register_tools(register, context):
    register(wave)
'''
COMMAND = '''
import click

@click.command()
@click.argument("name")
def wave(name):
    """Wave from the terminal."""
    import pydantic  # a command may import what it likes when it runs

    click.echo(f"*waves at {name}* (pydantic {pydantic.VERSION.split('.')[0]})")
'''
HEAVY = {"pydantic", "openclaw.config", "openclaw.providers", "openclaw.plugins"}


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A folder for PYTHONPATH holding an installed distribution with a plugin whose `wave`
    command is named in `openclaw.cli` metadata."""
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "wave_plugin.py").write_text(PLUGIN)
    (folder / "wave_cli.py").write_text(COMMAND)
    dist = folder / "openclaw_wave-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: openclaw-wave\nVersion: 0.1\nSummary: Waves at people.\n"
    )
    (dist / "entry_points.txt").write_text(
        "[openclaw]\nwave = wave_plugin\n\n[openclaw.cli]\nwave = wave_cli:wave\n"
    )
    return folder


# runs `python -m openclaw ARGS...`, then writes the names of every module it imported
RUN_AND_LIST = """
import atexit, json, runpy, sys
atexit.register(lambda: sys.stderr.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n"))
sys.argv = ["openclaw", *sys.argv[1:]]
runpy.run_module("openclaw", run_name="__main__", alter_sys=True)
"""


def openclaw(site: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI with every installed plugin (none left out) and `site` on the path."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("OPENCLAW_")}
    # a cache of its own: the first `--help` of each test is rendered, not replayed
    env.update(
        OPENCLAW_HOME=str(home), PYTHONPATH=str(site), XDG_CACHE_HOME=str(site.parent / "cache")
    )
    return subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def imported(stderr: str) -> set[str]:
    """The modules the run had imported when it exited."""
    listed = stderr.rpartition("\nMODULES ")[2]
    return set(json.loads(listed))


def plugin_packages() -> set[str]:
    """The top-level packages of every installed `openclaw` entry point and of the fixture's."""
    found = {ep.module.split(".")[0] for ep in metadata.entry_points(group="openclaw")}
    return found | {"wave_plugin", "wave_cli"}


def test_help_imports_no_pydantic_and_no_plugin_yet_lists_plugin_commands(site, openclaw_home):
    helped = openclaw(site, openclaw_home, "--help")
    assert helped.returncode == 0, helped.stderr
    # the module docstring's first line, else the distribution's summary
    assert "scripts   List script-plugin manifests and approve them for chat" in helped.stdout
    assert "wave      Waves at people." in helped.stdout
    modules = imported(helped.stderr)
    assert "click" in modules and "openclaw.cli" in modules  # the list is really there
    assert not modules & HEAVY
    packages = plugin_packages()
    assert {"openclaw_channel_telegram", "openclaw_tools_builtin"} <= packages
    assert not {name for name in modules if name.split(".")[0] in packages}

    plugins_help = openclaw(site, openclaw_home, "plugins", "--help")
    assert plugins_help.returncode == 0 and "uninstall" in plugins_help.stdout
    assert not imported(plugins_help.stderr) & HEAVY

    waved = openclaw(site, openclaw_home, "wave", "Ada")
    assert waved.returncode == 0, waved.stderr
    assert waved.stdout.startswith("*waves at Ada* (pydantic ")
    assert "wave_cli" in imported(waved.stderr)
    scripts = openclaw(site, openclaw_home, "scripts", "list")
    assert scripts.returncode == 0, scripts.stderr
    assert "openclaw_tools_builtin.scripts_cli" in imported(scripts.stderr)


def test_a_disabled_plugin_adds_no_declared_command(site, openclaw_home):
    (openclaw_home / "openclaw.json").write_text(json.dumps({"plugins": {"disable": ["wave"]}}))
    helped = openclaw(site, openclaw_home, "--help")
    assert helped.returncode == 0 and "wave" not in helped.stdout
    waved = openclaw(site, openclaw_home, "wave", "Ada")
    assert waved.returncode == 2 and "No such command 'wave'" in waved.stderr
