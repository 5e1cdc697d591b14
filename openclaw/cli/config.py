"""`openclaw config validate|show`; get, set, unset and import-upstream live in `config_edit`."""

from __future__ import annotations

import json

import click

from openclaw.cli.common import load, make_app


@click.group()
def config() -> None:
    """Validate, show, get, set or import the config."""


@config.command()
@click.pass_context
def validate(ctx: click.Context) -> None:
    """Check the config file, including the sections plugins validate."""
    from openclaw.config import ConfigError

    loaded = load(ctx)
    try:
        problems = make_app(ctx, loaded).validate_sections()
    except (ConfigError, LookupError) as exc:
        raise click.ClickException(str(exc)) from None
    for problem in problems:
        click.echo(f"warning: {problem}", err=True)
    where = loaded.source or "no config file; using defaults"
    click.echo(f"config ok ({where})")


@config.command()
@click.pass_context
def show(ctx: click.Context) -> None:
    """Print the effective config as JSON, secrets masked."""
    click.echo(json.dumps(load(ctx).public_dict(), indent=2))


def _add_editing_commands() -> None:
    from openclaw.cli import config_edit

    for command in (config_edit.get, config_edit.set_, config_edit.unset):
        config.add_command(command)
    config.add_command(config_edit.import_upstream)


_add_editing_commands()
