"""aiogram's aiohttp session, with the response models it parses kept alive.

aiogram reads every Bot API answer through `Response[method.__returning__]`, a pydantic generic
model. pydantic caches such parametrisations weakly, so the class is collected between calls and
rebuilt on the next one (~7 ms of CPU each, most of a message's Telegram cost under load). The
session below holds one strong reference per method type it has answered, and builds those of
the methods a reply uses when it is made, so that the first user's reply does not build them
(nor the methods' own models, which `aiogram_import` leaves to build on first use).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from openclaw_channel_telegram.aiogram_import import build_models, import_aiogram

if TYPE_CHECKING:
    from aiogram.client.session.aiohttp import AiohttpSession


@functools.cache
def session_class() -> type[AiohttpSession]:
    """The session class, built on first use so that aiogram is imported only by a running bot."""
    import_aiogram()
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.session.base import Response
    from aiogram.methods import EditMessageText, SendChatAction, SendMessage

    build_models(SendMessage, EditMessageText, SendChatAction)

    class PinnedResponseSession(AiohttpSession):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.response_models: dict[type, type] = {
                method: Response[method.__returning__]
                for method in (SendMessage, EditMessageText, SendChatAction)
            }
            """Each method type's `Response[...]` model, held so pydantic's cache keeps it."""

        def check_response(self, bot: Any, method: Any, status_code: int, content: str) -> Any:
            kind = type(method)
            if kind not in self.response_models:
                self.response_models[kind] = Response[method.__returning__]
            return super().check_response(bot, method, status_code, content)

    return PinnedResponseSession
