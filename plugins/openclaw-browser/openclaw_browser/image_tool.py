"""The `image` tool: a vision model describes or answers a question about an image.

Which model: `tools.image.provider` + `model` (a provider of its own), else `tools.image.model`
(a ref through the config's providers), else the environment (`OPENCLAW_VISION_BASE_URL` /
`_API_KEY` / `_MODEL` for a provider of its own, then `OPENAI_API_KEY`, then
`OPENROUTER_API_KEY`), else the agent's own models. Requests go through the kernel's provider
machinery (`ProviderPool`, `ProviderChain`, an `ImagePart` content part), never a hand-written
HTTP client, so every provider type a plugin registers can see.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from openclaw.config import ConfigError
from openclaw.messages import ContentPart, ImagePart, Message, TextPart
from openclaw.providers import (
    ChatProvider,
    ChatRequest,
    ChatResult,
    NoProviderAvailable,
    ProviderError,
)
from openclaw.tools import Tool, ToolCallContext, ToolError, tool
from openclaw_browser.images import load_image
from openclaw_browser.settings import ImageSettings

if TYPE_CHECKING:
    from openclaw.models import Models
    from openclaw.services import Services

VISION_INSTANCE = "vision"
DEFAULT_MODEL = "gpt-4o-mini"


@dataclass(frozen=True, slots=True)
class VisionModels:
    """Where the image tool's requests go: refs, and a provider entry of its own or None (then
    the refs resolve through the App's providers, or are the agent's own when `refs` is empty)."""

    refs: tuple[str, ...]
    provider: Mapping[str, Any] | None = None
    source: str = "the agent's models"


def choose_models(settings: ImageSettings, environ: Mapping[str, str]) -> VisionModels:
    """The configured vision model, else one named by the environment, else the agent's."""
    if settings.provider is not None:
        ref = f"{VISION_INSTANCE}/{settings.model}"
        return VisionModels((ref,), settings.provider, "tools.image.provider")
    if settings.model:
        return VisionModels((settings.model,), None, "tools.image.model")
    model = environ.get("OPENCLAW_VISION_MODEL") or DEFAULT_MODEL
    if environ.get("OPENCLAW_VISION_BASE_URL") or environ.get("OPENCLAW_VISION_API_KEY"):
        entry: dict[str, Any] = {"type": "openai"}
        if environ.get("OPENCLAW_VISION_BASE_URL"):
            entry["base_url"] = environ["OPENCLAW_VISION_BASE_URL"]
        if environ.get("OPENCLAW_VISION_API_KEY"):
            entry["api_key"] = {"$env": "OPENCLAW_VISION_API_KEY"}
        return VisionModels((f"{VISION_INSTANCE}/{model}",), entry, "OPENCLAW_VISION_*")
    if environ.get("OPENAI_API_KEY"):
        return VisionModels((f"openai/{model}",), None, "OPENAI_API_KEY")
    if environ.get("OPENROUTER_API_KEY"):
        routed = model if "/" in model else f"openai/{model}"
        return VisionModels((f"openrouter/{routed}",), None, "OPENROUTER_API_KEY")
    return VisionModels(())


class ImageArguments(BaseModel):
    image: str = Field(description="An http(s) URL of the image, or its path in the workspace.")
    prompt: str = Field(
        "Describe this image in detail.",
        min_length=1,
        description="What to ask about the image.",
    )


class ImageTool:
    """Loads the image and asks the chosen vision model about it."""

    def __init__(self, services: Services, settings: ImageSettings, models: VisionModels) -> None:
        self.services = services
        self.policy = services.sandbox
        self.settings = settings
        self.models = models
        self._chain: Models | None = None

    @property
    def chain(self) -> Models:
        """The App's models, or models over a provider entry of the tool's own (built on
        first use, and closed with the App's)."""
        if self._chain is None:
            if self.models.provider is None:
                self._chain = self.services.models
            else:
                entries = {VISION_INSTANCE: self.models.provider}
                self._chain = self.services.models.separate(entries)
        return self._chain

    def refs(self, session_key: str) -> list[str]:
        if self.models.refs:
            return list(self.models.refs)
        models = self.services.models
        offline = set(models.last_resort_refs())  # small local text models see no images
        preferred = self.services.store.session_model(session_key)
        return [ref for ref in models.refs(preferred) if ref not in offline]

    async def run(self, image: str, prompt: str, context: ToolCallContext) -> str:
        settings = self.settings
        data, mime = await load_image(self.policy, image, settings.max_bytes, settings.timeout)
        content: list[ContentPart] = [TextPart(prompt), ImagePart(data=data, mime_type=mime)]

        def request_for(model: str, provider: ChatProvider) -> ChatRequest:
            messages = [Message("user", content)]
            return ChatRequest(model, messages, max_tokens=settings.max_tokens)

        answer = ""
        try:
            async with asyncio.timeout(settings.timeout):
                async for event in self.chain.stream(self.refs(context.session_key), request_for):
                    if isinstance(event, ChatResult):
                        answer = event.text
        except TimeoutError:
            raise ToolError(
                f"the vision model did not answer within {settings.timeout:g}s"
            ) from None
        except (NoProviderAvailable, ProviderError, ConfigError) as exc:
            raise ToolError(
                f"no vision model answered ({self.models.source}): {exc}; set tools.image.model "
                "to a model that reads images"
            ) from None
        return answer.strip() or "(the vision model gave an empty answer)"


def make_image_tool(services: Services, settings: ImageSettings) -> Tool:
    images = ImageTool(services, settings, choose_models(settings, services.environ))

    async def image(image: str, prompt: str, context: ToolCallContext) -> str:
        """Look at an image with a vision model and answer a prompt about it. The image is an
        http(s) URL or a file in the workspace, such as a screenshot the browser saved."""
        return await images.run(image, prompt, context)

    return tool(image, arguments=ImageArguments, timeout=2 * settings.timeout + 5)
