"""The `openclaw` command line. Subcommands are imported only when run, so `--help` stays fast
and no provider SDK is loaded until a turn needs one."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

# name → (module:attribute, one-line help shown by `openclaw --help` without importing it)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "agent": ("openclaw.cli.agent:agent", "Send one message and stream the answer."),
    "chat": ("openclaw.cli.agent:chat", "Talk with the agent in the terminal."),
    "init": ("openclaw.cli.init:init", "Write a starter config and workspace files."),
    "setup": ("openclaw.cli.init:init", "The same as init."),
    "config": ("openclaw.cli.config:config", "Validate, show, get, set or import the config."),
    "plugins": ("openclaw.cli.plugins:plugins", "List, install, enable or disable plugins."),
    "tools": ("openclaw.cli.plugins:tools", "List the tools the agent can call."),
    "sessions": ("openclaw.cli.sessions:sessions", "List, show, export and prune sessions."),
    "doctor": ("openclaw.cli.doctor:doctor", "Check config, plugins, models, binaries."),
    "gateway": ("openclaw.cli.gateway:gateway", "Run the channels, cron and HTTP endpoints."),
    "pairing": ("openclaw.cli.gateway:pairing", "Approve or revoke users who asked to pair."),
    "cron": ("openclaw.cli.cron:cron", "List, add, enable, disable, remove and run cron jobs."),
}


class LazyGroup(click.Group):
    """Imports a subcommand's module only when that subcommand runs; plugin subcommands
    (the `register_cli_commands` hook) are looked up only for names that are not built in."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plugins_loaded = False

    def _load_plugin_commands(self, ctx: click.Context) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        from openclaw.plugins import create_plugin_manager

        manager = create_plugin_manager(defaults=False, disable=_disabled_plugins(ctx))
        for problem in manager.problems:
            click.echo(f"warning: {problem}", err=True)
        manager.hook.register_cli_commands(cli=self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands(ctx)
        return sorted({*SUBCOMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in SUBCOMMANDS:
            module_name, _, attr = SUBCOMMANDS[cmd_name][0].partition(":")
            return getattr(importlib.import_module(module_name), attr)
        if cmd_name not in self.commands:
            self._load_plugin_commands(ctx)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_text) for name, (_, help_text) in SUBCOMMANDS.items()]
        self._load_plugin_commands(ctx)
        rows += [(name, cmd.get_short_help_str()) for name, cmd in self.commands.items()]
        with formatter.section("Commands"):
            formatter.write_dl(sorted(rows))


def _disabled_plugins(ctx: click.Context) -> list[str]:
    """`plugins.disable` of the config, so a disabled plugin adds no subcommand either. Read
    without validating the file (no pydantic before `--help`): the subcommand that loads the
    config reports its problems."""
    from pathlib import Path

    from openclaw.config_file import raw_disabled_plugins
    from openclaw.paths import config_path, openclaw_home

    obj = ctx.find_root().obj or {}
    chosen = obj.get("config_path") or os.environ.get("OPENCLAW_CONFIG")
    return raw_disabled_plugins(
        Path(chosen).expanduser() if chosen else config_path(openclaw_home())
    )


@click.group(cls=LazyGroup)
@click.version_option(package_name="openclaw-kernel", prog_name="openclaw")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    envvar="OPENCLAW_CONFIG",
    help="Config file (default: $OPENCLAW_HOME/openclaw.json, home default ~/.openclaw).",
)
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """openclaw: your personal AI assistant gateway.

    Talk to your agent from the terminal (`openclaw chat`), send one message
    (`openclaw agent -m "..."`), or manage sessions, plugins and config.
    """
    ctx.obj = {"config_path": config_path}


def main() -> None:
    try:
        cli(prog_name="openclaw")
    except KeyboardInterrupt:
        sys.exit(130)
