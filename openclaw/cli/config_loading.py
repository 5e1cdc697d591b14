"""Loading the config for a command, with a short error instead of a traceback. Plugins'
commands use it too (it imports nothing of the App)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from openclaw.config import Config


def load(ctx: click.Context) -> Config:
    """The config, or a short error naming the file and field (exit 1, no traceback). Its
    secrets are masked in every log record and in what `openclaw.redaction.redact` cleans."""
    from openclaw.config import ConfigError, load_config
    from openclaw.redaction import install_log_redaction, remember

    install_log_redaction()
    try:
        config = load_config(ctx.find_root().obj.get("config_path"))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    remember(config.secret_values())
    return config
