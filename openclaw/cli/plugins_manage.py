"""`openclaw plugins install|uninstall|enable|disable`.

Installing runs pip with the interpreter openclaw itself runs in (`sys.executable -m pip`), as
`llm install` does, so a plugin lands next to openclaw whether it came with pip, pipx or
`uv tool`. Enabling and disabling edit `plugins.disable` in the config file.
"""

from __future__ import annotations

import subprocess
import sys

import click


def _pip(*args: str) -> None:
    """Run pip in openclaw's own environment, its output passed through; exit with its code."""
    done = subprocess.run([sys.executable, "-m", "pip", *args], check=False)
    if done.returncode:
        raise click.ClickException(f"pip {args[0]} failed (exit {done.returncode})")


@click.command()
@click.argument("names", nargs=-1, required=True)
@click.option("-U", "--upgrade", is_flag=True, help="Upgrade to the newest version.")
@click.option("-e", "--editable", is_flag=True, help="Install a local folder in editable mode.")
@click.option("--no-deps", is_flag=True, help="Leave dependencies alone (pip --no-deps).")
@click.option(
    "--no-build-isolation", is_flag=True, help="Build with the installed build tools (pip's flag)."
)
def install(
    names: tuple[str, ...], upgrade: bool, editable: bool, no_deps: bool, no_build_isolation: bool
) -> None:
    """Install plugins NAMES (PyPI names, local folders or git URLs) next to openclaw."""
    flags = [
        flag
        for flag, on in (
            ("--upgrade", upgrade),
            ("--no-deps", no_deps),
            ("--no-build-isolation", no_build_isolation),
        )
        if on
    ]
    targets = [part for name in names for part in (["-e", name] if editable else [name])]
    _pip("install", *flags, *targets)


@click.command()
@click.argument("names", nargs=-1, required=True)
def uninstall(names: tuple[str, ...]) -> None:
    """Uninstall the plugin distributions NAMES (as `pip uninstall -y`)."""
    _pip("uninstall", "-y", *names)


def _set_disabled(ctx: click.Context, name: str, disabled: bool) -> None:
    from openclaw.cli.common import load, make_app
    from openclaw.cli.config_edit import change_config

    current = list(load(ctx).plugins.disable)
    if (name in current) == disabled:
        click.echo(f"{name} is already {'disabled' if disabled else 'enabled'}")
        return
    if disabled and name not in make_app(ctx, warn=False).plugins.names():
        click.echo(f"warning: no plugin {name!r} is loaded now (see `openclaw plugins`)", err=True)
    wanted = [*current, name] if disabled else [n for n in current if n != name]
    file = change_config(ctx, ["plugins", "disable"], wanted)
    click.echo(f"{'disabled' if disabled else 'enabled'} {name} (plugins.disable in {file})")


@click.command()
@click.argument("name")
@click.pass_context
def enable(ctx: click.Context, name: str) -> None:
    """Enable plugin NAME again: remove it from plugins.disable."""
    _set_disabled(ctx, name, False)


@click.command()
@click.argument("name")
@click.pass_context
def disable(ctx: click.Context, name: str) -> None:
    """Disable plugin NAME (its name in `openclaw plugins`): add it to plugins.disable."""
    _set_disabled(ctx, name, True)


COMMANDS = (install, uninstall, enable, disable)
