"""`channels.telegram` settings: the bot token, where the Bot API lives, polling or webhook."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from openclaw.channel_support import required_secret
from openclaw.config import ChannelSettings, ConfigError, Secret

TOKEN_HINT = 'e.g. "token": {"$env": "TELEGRAM_BOT_TOKEN"} with the token from @BotFather'


class TelegramSettings(ChannelSettings):
    """A `channels.telegram` entry."""

    token: Secret | None = None
    api_base: str = "https://api.telegram.org"
    """A self-hosted Bot API server or a proxy (tests use a local fake)."""
    mode: Literal["polling", "webhook"] = "polling"
    poll_timeout: int = Field(30, ge=0, le=120)
    """Seconds a getUpdates long poll waits for news."""
    webhook_url: str | None = None
    """The public HTTPS URL Telegram posts updates to (webhook mode)."""
    webhook_host: str = "127.0.0.1"
    webhook_port: int = Field(8443, ge=0, le=65535)
    webhook_path: str = "/telegram/webhook"
    webhook_secret: Secret | None = None
    """Sent by Telegram in `X-Telegram-Bot-Api-Secret-Token`; other requests are refused."""
    retries: int = Field(5, ge=0, le=20)
    """Attempts after a 429, 5xx or dropped connection before a reply call gives up."""
    retry_delay: float = Field(0.5, ge=0)
    """First backoff delay (doubling) after a 5xx or dropped connection."""

    @model_validator(mode="after")
    def _check(self) -> TelegramSettings:
        if self.enabled and self.token is None:
            raise ValueError(f"channels.telegram.token is required when enabled ({TOKEN_HINT})")
        if self.mode == "webhook" and not self.webhook_url:
            raise ValueError("channels.telegram.webhook_url is required in webhook mode")
        if not self.webhook_path.startswith("/"):
            raise ValueError("channels.telegram.webhook_path must start with '/'")
        return self

    def bot_token(self) -> str:
        """The token's value, or ConfigError naming the setting (the value is never shown)."""
        from openclaw_channel_telegram.aiogram_import import import_aiogram

        import_aiogram()
        from aiogram.utils.token import TokenValidationError, validate_token

        value = required_secret(self.token, "channels.telegram.token", TOKEN_HINT, self.environ)
        try:
            validate_token(value)
        except TokenValidationError:
            raise ConfigError(
                "channels.telegram.token does not look like a bot token (digits:letters)"
            ) from None
        return value
