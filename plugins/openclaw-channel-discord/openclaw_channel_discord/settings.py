"""`channels.discord` settings: the bot token, where the API lives, when to answer in servers,
and how hard to try when Discord or the network fails."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from openclaw.channel_support import required_secret
from openclaw.config import ChannelSettings, Secret

TOKEN_HINT = (
    'e.g. "token": {"$env": "DISCORD_BOT_TOKEN"} with the token from the Bot page of your '
    "application at https://discord.com/developers/applications"
)


class DiscordSettings(ChannelSettings):
    """A `channels.discord` entry."""

    token: Secret | None = None
    api_base: str = "https://discord.com/api/v10"
    """Discord's REST API root, or a proxy's (tests use a local fake); the gateway's address is
    asked from it."""
    require_mention: bool = True
    """In server channels, answer only messages that mention the bot, reply to it, or are a
    command (DMs are always answered)."""
    application_commands: bool = True
    """Register the kernel's commands as Discord slash commands (the `/` menu) at connect."""
    reconnect_delay: float = Field(1.0, gt=0)
    """First wait before connecting again after the gateway could not be reached (doubling)."""
    reconnect_max_delay: float = Field(60.0, gt=0)
    """The longest wait; a connection that stayed up this long starts the series over."""
    identify_delay: float = Field(5.0, ge=0)
    """Wait before identifying again after Discord invalidated the session (Discord asks 1-5 s)."""
    retries: int = Field(3, ge=0, le=20)
    """Attempts after a dropped connection or 5xx before a reply call gives up (disnake itself
    waits out 429s)."""
    retry_delay: float = Field(0.5, ge=0)
    """First backoff delay (doubling) of those attempts."""
    max_attachment_mb: float = Field(25, gt=0)
    """Larger attachments are not downloaded."""

    @field_validator("api_base")
    @classmethod
    def _check_api_base(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://discord.com/api/v10")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _check(self) -> DiscordSettings:
        if self.enabled and self.token is None:
            raise ValueError(f"channels.discord.token is required when enabled ({TOKEN_HINT})")
        if self.reconnect_max_delay < self.reconnect_delay:
            raise ValueError("channels.discord.reconnect_max_delay is below reconnect_delay")
        return self

    def bot_token(self) -> str:
        """The token's value, or ConfigError naming the setting (the value is never shown)."""
        return required_secret(
            self.token, "channels.discord.token", TOKEN_HINT, self.environ
        ).strip()
