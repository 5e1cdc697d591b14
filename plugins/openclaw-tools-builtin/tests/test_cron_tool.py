"""The `cron` tool driven by the model: add / list / enable / disable / remove / run, errors as
error results, concurrent edits with the CLI, and `run` and `here` inside the real gateway."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from typing import Any

import openclaw_channel_telegram.plugin as telegram_plugin
import openclaw_tools_builtin.plugin as tools_plugin

from openclaw.cron import JobStore, jobs_path
from openclaw.gateway import Gateway
from openclaw.messages import Message
from openclaw.principal import Principal
from openclaw.tools import ToolCallContext

ADD = {"action": "add", "name": "x", "schedule": "every 1h", "prompt": "p"}


async def call(
    app: Any, openclaw_mock_model: Any, arguments: dict[str, Any], *answers: str
) -> Message:
    """One turn in which the model calls `cron` with `arguments`; `answers` are scripted for
    turns the tool itself runs. Returns the tool's result message."""
    openclaw_mock_model.enqueue(tool_calls=[("cron", arguments)])
    for answer in answers:
        openclaw_mock_model.enqueue(answer)
    openclaw_mock_model.enqueue("done")
    await app.ask("go")
    return [m for m in openclaw_mock_model.requests[-1].messages if m.role == "tool"][-1]


async def test_add_list_toggle_run_remove(openclaw_make_app, openclaw_mock_model, openclaw_home):
    app = openclaw_make_app(plugins=[tools_plugin])
    store = JobStore(jobs_path(openclaw_home))
    async with app:
        added = await call(
            app,
            openclaw_mock_model,
            {
                "action": "add",
                "name": "Morning brief",
                "schedule": "0 9 * * 1-5",
                "timezone": "Europe/Berlin",
                "prompt": "Summarise my day",
                "target": "telegram:42",
            },
        )
        assert not added.is_error, added.text
        assert "Morning brief  [0 9 * * 1-5] Europe/Berlin  to telegram:42" in added.text
        await call(app, openclaw_mock_model, {**ADD, "name": "Morning run", "schedule": "every 1d"})

        listed = await call(app, openclaw_mock_model, {"action": "list"})
        assert listed.text.startswith("2 job(s)") and "Morning run  [every 1d]" in listed.text

        ambiguous = await call(app, openclaw_mock_model, {"action": "disable", "job": "morning"})
        assert ambiguous.is_error and "Morning brief, Morning run" in ambiguous.text
        disabled = await call(app, openclaw_mock_model, {"action": "disable", "job": "BRIEF"})
        assert not disabled.is_error and disabled.text.startswith("Disabled ")
        assert [job.enabled for job in store.load()] == [False, True]
        await call(app, openclaw_mock_model, {"action": "enable", "job": "brief"})
        assert [job.enabled for job in store.load()] == [True, True]

        ran = await call(app, openclaw_mock_model, {"action": "run", "job": "run"}, "Ran five km.")
        assert not ran.is_error, ran.text
        assert ran.text.endswith("Answer (not delivered outside the gateway):\nRan five km.")
        run_job = store.load()[1]
        assert run_job.last_status == "ok" and run_job.last_run is not None
        history = app.store.history(f"cron:main:{run_job.id}:{run_job.id}")
        assert [m.text for m in history] == ["p", "Ran five km."]

        removed = await call(app, openclaw_mock_model, {"action": "remove", "job": "morning run"})
        assert removed.text.startswith("Removed ")
        assert [job.name for job in store.load()] == ["Morning brief"]


async def test_bad_arguments_are_error_results_and_write_nothing(
    openclaw_make_app, openclaw_mock_model, openclaw_home
):
    app = openclaw_make_app(plugins=[tools_plugin])
    path = jobs_path(openclaw_home)
    cases = [
        ({**ADD, "schedule": "0 25 * * *"}, "hour field '25'"),
        ({**ADD, "prompt": None}, "add needs `name`, `schedule`"),
        ({**ADD, "timezone": "Mars"}, "unknown IANA timezone"),
        ({**ADD, "target": "here"}, "'here' needs a conversation"),
        ({**ADD, "target": "42"}, "expected 'here' or CHANNEL:CHAT"),
        ({"action": "enable"}, "enable needs `job`"),
        ({"action": "run", "job": "nothing"}, "no job matches 'nothing'"),
        ({"action": "explode"}, "invalid arguments for cron"),
    ]
    async with app:
        for arguments, expected in cases:
            result = await call(app, openclaw_mock_model, arguments)
            assert result.is_error and expected in result.text, (arguments, result.text)
    assert not path.exists()

    path.parent.mkdir(parents=True)
    path.write_text("{broken")
    async with app:
        result = await call(app, openclaw_mock_model, ADD)
    assert result.is_error and "not valid JSON" in result.text and str(path) in result.text
    assert path.read_text() == "{broken"


async def test_concurrent_edits_from_the_tool_and_the_cli_keep_every_job(
    openclaw_make_app, openclaw_home
):
    app = openclaw_make_app(plugins=[tools_plugin])
    cron = app.registry.tools["cron"].value
    context = ToolCallContext("cli:main:local:default", app.services)
    env = {**os.environ, "OPENCLAW_HOME": str(openclaw_home), "OPENCLAW_LOAD_PLUGINS": ""}
    cli = [sys.executable, "-m", "openclaw.cli", "cron"]
    errors: list[str] = []

    def tool_worker(worker: int) -> None:
        async def hammer() -> None:
            for index in range(12):
                add = {"action": "add", "name": f"tool-{worker}-{index}", "schedule": "every 1h"}
                await cron.run({**add, "prompt": "p"}, context)
                await cron.run({"action": "disable", "job": f"tool-{worker}-{index}"}, context)

        try:
            asyncio.run(hammer())
        except Exception as exc:  # collected: a thread's exception would be lost
            errors.append(repr(exc))

    processes = [
        subprocess.Popen([*cli, "add", f"cli-{n}", "-s", "every 2h", "-p", "p"], env=env)
        for n in range(6)
    ]
    threads = [threading.Thread(target=tool_worker, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert all(process.wait(120) == 0 for process in processes)
    assert errors == []
    path = jobs_path(openclaw_home)
    jobs = json.loads(path.read_text())["jobs"]
    expected = {f"tool-{w}-{i}" for w in range(3) for i in range(12)} | {
        f"cli-{n}" for n in range(6)
    }
    assert {job["name"] for job in jobs} == expected and len(jobs) == len(expected)
    assert all(not job["enabled"] for job in jobs if job["name"].startswith("tool-"))
    assert [p.name for p in path.parent.iterdir() if p.suffix == ".tmp"] == []


async def test_run_and_here_inside_the_gateway(
    openclaw_make_app,
    openclaw_mock_model,
    openclaw_telegram_api,
    openclaw_home,
    openclaw_start_gateway,
):
    store = JobStore(jobs_path(openclaw_home))
    user_42 = Principal("telegram", "42", "tg")  # 42's agent sees only 42's jobs
    target = {"channel": "telegram", "chat": "43"}  # set by the owner with `--to`
    store.add("Brief", "0 9 * * *", "Brief me", target=target, owner=user_42)
    config = {
        "channels": {"telegram": openclaw_telegram_api.channel_settings()},
        "limits": {"debounce_ms": 0},
    }
    gateway = await openclaw_start_gateway(
        Gateway(openclaw_make_app(config=config, plugins=[tools_plugin, telegram_plugin]), port=0)
    )
    here = {"action": "add", "name": "Stretch", "schedule": "every 2h", "prompt": "Remind me"}
    openclaw_mock_model.enqueue(tool_calls=[("cron", {**here, "target": "here"})]).enqueue("Added.")
    openclaw_telegram_api.user_sends(42, 42, "remind me to stretch every two hours")
    await openclaw_telegram_api.wait_for(
        lambda: "round(s)" in "".join(openclaw_telegram_api.texts(42))
    )
    stretch = next(job for job in store.load() if job.name == "Stretch")
    assert stretch.target == {"channel": "telegram", "chat": "42"}

    openclaw_mock_model.enqueue(tool_calls=[("cron", {"action": "run", "job": "brief"})])
    openclaw_telegram_api.user_sends(42, 42, "send me the brief now")
    [brief] = await openclaw_telegram_api.wait_for(lambda: openclaw_telegram_api.texts(43))
    assert brief == "ok"  # the job's own turn, delivered by the executor to its target
    await openclaw_telegram_api.wait_for(
        lambda: "".join(openclaw_telegram_api.texts(42)).count("round(s)") == 2
    )
    results = [m.text for r in openclaw_mock_model.requests for m in r.messages if m.role == "tool"]
    assert "Started 'Brief'; the executor delivers its answer to telegram:43" in results[-1]
    await gateway.cron.idle()
    assert next(job for job in store.load() if job.name == "Brief").last_status == "ok"


async def test_inside_the_gateway_a_chat_can_target_only_itself(
    openclaw_make_app,
    openclaw_mock_model,
    openclaw_telegram_api,
    openclaw_home,
    openclaw_start_gateway,
):
    """A job added from one user's conversation cannot deliver to another chat: the model
    (or a prompt injection) must not turn the tool into a way to message arbitrary chats."""
    config = {
        "channels": {"telegram": openclaw_telegram_api.channel_settings()},
        "limits": {"debounce_ms": 0},
    }
    await openclaw_start_gateway(
        Gateway(openclaw_make_app(config=config, plugins=[tools_plugin, telegram_plugin]), port=0)
    )
    elsewhere = {**ADD, "name": "Spam", "target": "telegram:999"}
    own = {**ADD, "name": "Mine", "target": "telegram:42"}
    openclaw_mock_model.enqueue(tool_calls=[("cron", elsewhere)]).enqueue(
        tool_calls=[("cron", own)]
    )
    openclaw_mock_model.enqueue("done")
    openclaw_telegram_api.user_sends(42, 42, "send chat 999 something every hour")
    await openclaw_telegram_api.wait_for(
        lambda: "round(s)" in "".join(openclaw_telegram_api.texts(42))
    )
    refused, accepted = [m for m in openclaw_mock_model.requests[-1].messages if m.role == "tool"]
    assert refused.is_error and "only to this conversation" in refused.text, refused.text
    assert not accepted.is_error, accepted.text
    [job] = JobStore(jobs_path(openclaw_home)).load()
    assert (job.name, job.target) == ("Mine", {"channel": "telegram", "chat": "42"})
