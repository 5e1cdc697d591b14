"""aiogram as the channel imports it: types built on first use, every one still buildable, and
the models a message and its reply use built with the bot, not by the first user's message.

Each check runs in a fresh interpreter: this process may have imported aiogram already."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

COUNT_BUILT = """
import aiogram.methods, aiogram.types
from pydantic import BaseModel

def built():
    names = [*aiogram.types.__all__, *aiogram.methods.__all__]
    models = [getattr(aiogram.types, n, None) or getattr(aiogram.methods, n) for n in names]
    models = [m for m in models if isinstance(m, type) and issubclass(m, BaseModel)]
    return sorted(m.__name__ for m in models if m.__pydantic_complete__), len(models)
"""


def run(script: str) -> dict:
    """Run `script` (after `import_aiogram()` and COUNT_BUILT) in a fresh interpreter; the
    JSON it prints last."""
    prelude = (
        "from openclaw_channel_telegram.aiogram_import import import_aiogram\n"
        "import_aiogram()\n" + COUNT_BUILT
    )
    out = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.splitlines()[-1])


def test_the_import_builds_only_the_types_without_forward_references():
    """aiogram's own import builds every model (its 403 types: ~105 MiB); through
    `import_aiogram` only those pydantic could build at class creation are (mostly methods that
    refer to no type)."""
    result = run(
        """
        import json
        names, total = built()
        print(json.dumps({"built": names, "total": total}))
        """
    )
    assert result["total"] > 400
    assert len(result["built"]) < result["total"] / 3, len(result["built"])
    assert "Message" not in result["built"] and "Update" not in result["built"]


def test_every_type_and_every_methods_answer_still_builds_on_first_use():
    """pydantic builds a deferred model the first time it validates one (its mock validator
    rebuilds it); with aiogram's namespace as each model's parent namespace, all of them do."""
    result = run(
        """
        import json
        from aiogram.client.session.base import Response

        def first_use():
            failed = []
            for name in [*aiogram.types.__all__, *aiogram.methods.__all__]:
                model = getattr(aiogram.types, name, None) or getattr(aiogram.methods, name)
                if not (isinstance(model, type) and issubclass(model, BaseModel)):
                    continue
                if name == "TelegramMethod":  # the abstract base: no answer type of its own
                    continue
                try:
                    model.__pydantic_validator__.validate_python  # builds it, as validation does
                    answer = getattr(model, "__returning__", None)
                    if answer is not None and not Response[answer].__pydantic_complete__:
                        failed.append(f"Response[{name}]")
                except Exception as exc:
                    failed.append(f"{name}: {exc!r}"[:300])
            return failed

        def deeper(levels):  # pydantic's lazy rebuild looks a few frames up, as in a real call
            return first_use() if levels == 0 else deeper(levels - 1)

        failed = deeper(8)
        names, total = built()
        print(json.dumps({"failed": failed, "built": len(names), "total": total}))
        """
    )
    assert result["failed"] == []
    assert result["built"] == result["total"]


def test_the_first_message_and_its_reply_build_no_model():
    """The bot builds what receiving an update and replying to it use (`Update`, the reply's
    methods and their answers): the first user's message pays for no validator."""
    result = run(
        """
        import asyncio, json
        from openclaw_channel_telegram.channel import TelegramChannel
        from openclaw_channel_telegram.settings import TelegramSettings
        from openclaw_channel_telegram.testing import FakeBotAPI

        class Inbox:
            def __init__(self, channel):
                self.channel, self.replied = channel, asyncio.Event()
            def knows(self, channel, user_id): return True
            def record(self, channel, chat_id, message_id, payload=""): return True
            def skipped(self, channel): pass
            def commands(self): return {}
            async def deliver(self, channel, message):
                await channel.send_typing(message.chat_id)
                sent = await channel.send_text(message.chat_id, "*Hi*", markdown=True,
                                               reply_to=message.message_id)
                await channel.edit_text(message.chat_id, sent, "*Hi* there", markdown=True)
                self.replied.set()

        async def main(api):
            settings = TelegramSettings.model_validate({**api.channel_settings(),
                                                       "poll_timeout": 1})
            channel = TelegramChannel(None, settings)
            inbox = Inbox(channel)
            task = asyncio.create_task(channel.run(inbox))
            while channel.state != "running":
                await asyncio.sleep(0.01)
            before = built()[0]
            api.user_sends(42, 42, "hello")
            await asyncio.wait_for(inbox.replied.wait(), 30)
            after = built()[0]
            await channel.stop()
            await asyncio.wait_for(task, 10)
            return before, after, api.texts(42)

        with FakeBotAPI() as api:
            before, after, texts = asyncio.run(main(api))
        print(json.dumps({"new": sorted(set(after) - set(before)), "texts": texts,
                          "built": len(before)}))
        """
    )
    assert result["texts"] == ["Hi there"]
    assert result["new"] == []
    assert 0 < result["built"] < 200, result["built"]
