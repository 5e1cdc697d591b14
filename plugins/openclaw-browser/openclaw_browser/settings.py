"""The plugin's keys of the shared `tools` section: `tools.browser` and `tools.image`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class BrowserSettings(BaseModel):
    """`tools.browser`."""

    model_config = ConfigDict(extra="forbid")

    executable: str | None = None
    """A Chromium-based browser (chromium, google-chrome, brave); found on PATH when unset."""
    timeout: float = Field(30, gt=0, le=300)
    """Seconds each browser action (a navigation, a click, a script) may take."""
    launch_timeout: float = Field(30, gt=0, le=300)
    idle_timeout: float = Field(300, gt=0)
    """Seconds without a call before a session's pages, then the browser itself, are closed."""
    max_sessions: int = Field(8, ge=1, le=100)
    """Sessions with a page open at once; a new one closes the least recently used (each
    page costs Chromium some 30-40 MB)."""
    max_chars: int = Field(20_000, ge=500, le=200_000)
    """Default cap on the page text a navigation returns."""
    width: int = Field(1280, ge=200, le=4096)
    height: int = Field(800, ge=200, le=4096)
    screenshot_dir: str = "screenshots"
    """Workspace folder for screenshots saved without an explicit path."""
    extra_args: list[str] = Field(default_factory=list)
    """More Chromium command-line flags, after the built-in ones."""


class ImageSettings(BaseModel):
    """`tools.image`: which vision model looks at images, and the limits."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    """A model ref (`openai/gpt-4o-mini`) resolved like the agent's models; with `provider`,
    the bare model name on that provider."""
    provider: dict[str, Any] | None = None
    """A provider entry (same keys as one under `providers`) used by the image tool only."""
    max_bytes: int = Field(10 * 1024 * 1024, ge=1024, le=50 * 1024 * 1024)
    timeout: float = Field(60, gt=0, le=600)
    max_tokens: int = Field(1024, ge=16, le=16_384)

    @model_validator(mode="after")
    def _provider_needs_model(self) -> ImageSettings:
        if self.provider is not None and not self.model:
            raise ValueError("tools.image.provider needs tools.image.model (the model name)")
        return self
