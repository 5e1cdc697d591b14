"""What every subcommand shares: loading the config and the App with clean, short errors."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from openclaw.app import App
    from openclaw.config import Config


def load(ctx: click.Context) -> Config:
    """The config, or a short error naming the file and field (exit 1, no traceback)."""
    from openclaw.config import ConfigError, load_config

    try:
        return load_config(ctx.find_root().obj.get("config_path"))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def make_app(ctx: click.Context, config: Config | None = None) -> App:
    from openclaw.app import App

    return App(config or load(ctx))
