"""The floor of `load.py`: the least a Python bot can do for the same Telegram work as
`openclaw gateway`, so the gateway's figures can be read as a ratio to it.

    python benchmarks/floor_bot.py API_BASE TOKEN MODEL_BASE_URL

One aiohttp session, long polling `getUpdates`; for each message one streamed chat completion
from an OpenAI-compatible server, the first text sent with `sendMessage` and the whole answer
plus a stats footer (MarkdownV2, like the gateway's) put in with one `editMessageText`. No
framework, no store, no plugins: only aiohttp and the standard library are imported. It runs
until SIGTERM and prints `floor ready` on stderr once it polls.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
import time

import aiohttp

_RESERVED = re.compile(r"([_*\[\]()~`>#+\-=|{}.!\\])")


def escape(text: str) -> str:
    return _RESERVED.sub(r"\\\1", text)


class FloorBot:
    def __init__(self, api_base: str, token: str, model_url: str) -> None:
        self.api = f"{api_base}/bot{token}/"
        self.model_url = model_url.rstrip("/") + "/chat/completions"
        self.session: aiohttp.ClientSession | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    async def call(self, method: str, **params: object) -> object:
        assert self.session is not None
        async with self.session.post(self.api + method, json=params) as response:
            return (await response.json())["result"]

    async def answer(self, message: dict[str, object]) -> None:
        assert self.session is not None
        began = time.perf_counter()
        chat_id = message["chat"]["id"]  # type: ignore[index]
        body = {
            "model": "fake-model",
            "messages": [{"role": "user", "content": message.get("text", "")}],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        text: list[str] = []
        tokens = 0
        sent_id = None
        async with self.session.post(self.model_url, json=body) as response:
            async for line in response.content:
                if not line.startswith(b"data: {"):
                    continue
                chunk = json.loads(line[6:])
                if chunk.get("usage"):
                    tokens = chunk["usage"]["total_tokens"]
                for choice in chunk["choices"]:
                    piece = choice["delta"].get("content")
                    if piece:
                        text.append(piece)
                        if sent_id is None:
                            sent = await self.call(
                                "sendMessage",
                                chat_id=chat_id,
                                text=escape(piece),
                                parse_mode="MarkdownV2",
                            )
                            sent_id = sent["message_id"]  # type: ignore[index]
        elapsed = (time.perf_counter() - began) * 1000
        footer = f"{elapsed:.0f}ms · 1 round(s) · 0 tool(s) · {tokens} tokens · floor"
        final = f"{escape(''.join(text))}\n\n_{escape(footer)}_"
        await self.call(
            "editMessageText",
            chat_id=chat_id,
            message_id=sent_id,
            text=final,
            parse_mode="MarkdownV2",
        )

    async def run(self, stop: asyncio.Event) -> None:
        async with aiohttp.ClientSession() as self.session:
            offset = 0
            print("floor ready", file=sys.stderr, flush=True)
            while not stop.is_set():
                updates = await self.call("getUpdates", offset=offset, timeout=1)
                for update in updates:  # type: ignore[attr-defined]
                    offset = update["update_id"] + 1
                    task = asyncio.create_task(self.answer(update["message"]))
                    self.tasks.add(task)
                    task.add_done_callback(self.tasks.discard)


async def main() -> None:
    api_base, token, model_url = sys.argv[1:4]
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await FloorBot(api_base, token, model_url).run(stop)


if __name__ == "__main__":
    asyncio.run(main())
