"""The `openclaw` click group. Subcommands are imported only when run, so listing them stays
fast and no provider SDK is loaded until a turn needs one; `openclaw.cli.main` replays a cached
`--help` before even this module (and click) is imported."""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

import click

from openclaw.cli import help_cache

if TYPE_CHECKING:
    from openclaw.cli.plugin_commands import DeclaredCommand


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
    """Imports a subcommand's module only when that subcommand runs. Plugin subcommands come
    from `openclaw.cli` entry-point metadata (imported when run) and, as a fallback, from the
    `register_cli_commands` hook of the plugins whose source names it (see `plugin_commands`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._declared: dict[str, DeclaredCommand] | None = None
        self._hook_loaded = False

    def _declared_commands(self, ctx: click.Context) -> dict[str, DeclaredCommand]:
        if self._declared is None:
            from openclaw.cli import plugin_commands

            declared = plugin_commands.declared_commands(set(_disabled_plugins(ctx)), os.environ)
            self._declared = {k: v for k, v in declared.items() if k not in SUBCOMMANDS}
        return self._declared

    def _load_hook_commands(self, ctx: click.Context) -> None:
        if self._hook_loaded:
            return
        self._hook_loaded = True
        from openclaw.cli import plugin_commands

        disabled = _disabled_plugins(ctx)
        environ = dict(os.environ)
        environ["OPENCLAW_LOAD_PLUGINS"] = ",".join(
            plugin_commands.hook_plugins(set(disabled), os.environ)
        )
        if not plugin_commands.plugins_dir_uses_hook(environ.get("OPENCLAW_PLUGINS_DIR")):
            environ.pop("OPENCLAW_PLUGINS_DIR", None)
        if not environ["OPENCLAW_LOAD_PLUGINS"] and "OPENCLAW_PLUGINS_DIR" not in environ:
            return
        from openclaw.plugins import create_plugin_manager

        manager = create_plugin_manager(defaults=False, disable=disabled, environ=environ)
        problems = [str(p) for p in manager.problems]
        problems += plugin_commands.add_hook_commands(manager, self)
        for problem in problems:
            click.echo(f"warning: {problem}", err=True)

    def _hook_commands(self, ctx: click.Context) -> dict[str, click.Command]:
        self._load_hook_commands(ctx)
        taken = {*SUBCOMMANDS, *self._declared_commands(ctx)}
        return {name: cmd for name, cmd in self.commands.items() if name not in taken}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*SUBCOMMANDS, *self._declared_commands(ctx), *self._hook_commands(ctx)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in SUBCOMMANDS:
            module_name, _, attr = SUBCOMMANDS[cmd_name][0].partition(":")
            return getattr(importlib.import_module(module_name), attr)
        declared = self._declared_commands(ctx).get(cmd_name)
        if declared is not None:
            command = declared.load()
            if not isinstance(command, click.Command):
                raise click.ClickException(
                    f"{declared.distribution}: entry point {cmd_name} = {declared.target!r} "
                    "is not a click command"
                )
            return command
        return self._hook_commands(ctx).get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_text) for name, (_, help_text) in SUBCOMMANDS.items()]
        rows += [
            (name, click.Command(name, help=declared.summary).get_short_help_str(65))
            for name, declared in self._declared_commands(ctx).items()
        ]
        rows += [(name, cmd.get_short_help_str()) for name, cmd in self._hook_commands(ctx).items()]
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
    path = Path(chosen).expanduser() if chosen else config_path(openclaw_home())
    help_cache.note_input(path)
    return raw_disabled_plugins(path)


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
