"""Cron and the file-sending commands through the real gateway and the fake Discord: a job's
answer delivered to a server channel in pieces that fit Discord's 2000 characters, an empty
answer recorded as an error instead of sent as nothing, `/cron` with many jobs, and `/export`
arriving as an uploaded file."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from openclaw.cron import Job, JobStore, jobs_path
from openclaw.principal import Principal
from openclaw.testing.cron_clock import VirtualClock

USER = 42
START = datetime(2026, 6, 1, 7, 0, tzinfo=UTC)


async def run_a_job(start, openclaw_discord_api, openclaw_home) -> Job:
    """A job due at 07:02 delivering to the server channel, run by the gateway's executor on a
    virtual clock; returns the job as recorded afterwards."""
    clock = VirtualClock(START, START + timedelta(minutes=3))
    store = JobStore(jobs_path(openclaw_home), clock=clock.now)
    target = {"channel": "discord", "chat": str(openclaw_discord_api.guild_channel_id)}
    store.add("Morning brief", "2 7 * * *", "Brief me", target=target)
    await start(clock=clock)
    await asyncio.wait_for(clock.finished.wait(), 10)
    [job] = store.load()
    return job


async def test_a_long_cron_answer_reaches_a_discord_channel_in_pieces(
    start, openclaw_discord_api, openclaw_mock_model, openclaw_home
):
    words = [f"w{i:04d}" for i in range(750)]  # 4500 characters
    openclaw_mock_model.enqueue(" ".join(words))
    job = await run_a_job(start, openclaw_discord_api, openclaw_home)
    texts = openclaw_discord_api.texts(openclaw_discord_api.guild_channel_id)
    assert len(texts) == 3 and all(len(text) <= 2000 for text in texts)
    assert " ".join(texts).split() == words
    assert (job.last_status, job.last_error) == ("ok", None)


async def test_an_empty_cron_answer_is_a_recorded_error(
    start, openclaw_discord_api, openclaw_mock_model, openclaw_home
):
    openclaw_mock_model.enqueue("")
    job = await run_a_job(start, openclaw_discord_api, openclaw_home)
    assert openclaw_discord_api.messages(openclaw_discord_api.guild_channel_id) == []
    assert job.last_status == "error"
    assert "empty" in (job.last_error or "") and "discord:" in (job.last_error or "")


async def test_cron_with_many_jobs_fits_discord_messages(
    start, openclaw_discord_api, openclaw_mock_model, openclaw_home
):
    store = JobStore(jobs_path(openclaw_home))
    mine = Principal("discord", str(USER), "dc")  # /cron lists the asker's jobs
    for n in range(40):
        store.add(f"Job number {n}", "0 9 * * 1-5", "p", timezone="Europe/Berlin", owner=mine)
    await start()
    openclaw_discord_api.user_sends(USER, content="/cron")
    dm = openclaw_discord_api.dm_channel(USER)
    await openclaw_discord_api.wait_for(
        lambda: "Job number 39" in "".join(openclaw_discord_api.texts(dm))
    )
    texts = openclaw_discord_api.texts(dm)
    assert len(texts) >= 2 and all(len(text) <= 2000 for text in texts)
    assert all(f"Job number {n} " in "".join(texts) for n in range(40))


async def test_export_arrives_as_a_file(start, openclaw_discord_api, openclaw_mock_model):
    openclaw_mock_model.enqueue("The answer.")
    await start()
    dm = openclaw_discord_api.dm_channel(USER)
    openclaw_discord_api.user_sends(USER, content="a question")
    await openclaw_discord_api.wait_for(
        lambda: "round(s)" in "".join(openclaw_discord_api.texts(dm))
    )
    openclaw_discord_api.user_sends(USER, content="/export")
    [upload] = await openclaw_discord_api.wait_for(
        lambda: [m for m in openclaw_discord_api.messages(dm) if m.files]
    )
    [(filename, data)] = upload.files
    assert filename.endswith(".md")
    assert "a question" in data.decode() and "The answer." in data.decode()
