"""One redaction for every output: what counts as a secret, log records with their tracebacks,
and the owner's own commands (`doctor`, `config show`, `sessions export`) run as a user runs
them."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from openclaw.config import Config
from openclaw.messages import Message
from openclaw.redaction import MASK, redact, redact_record, remember
from openclaw.store import SqliteStore

TOKEN = "987654321:AAplantedTelegramTokenForRedaction1234"
KEY = "sk-planted-key-for-redaction-0123"
PASSWORD = "planted-url-password"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (f"GET /file/bot{TOKEN}/photos/1.jpg", f"GET /file/bot{MASK}/photos/1.jpg"),
        (f"401 for key {KEY}", f"401 for key {MASK}"),
        ("Authorization: Bearer abc.def-ghi_jkl", f"Authorization: Bearer {MASK}"),
        ("Authorization: Basic dXNlcjpwYXNzd29yZA==", f"Authorization: Basic {MASK}"),
        (f"cannot reach http://me:{PASSWORD}@host/v1", f"cannot reach http://me:{MASK}@host/v1"),
        ("https://x.test/v1?key=AIzaSecret&alt=sse", f"https://x.test/v1?key={MASK}&alt=sse"),
        (
            "session tg:main:42:42 at 12:30, task-management",
            "session tg:main:42:42 at 12:30, task-management",
        ),
    ],
)
def test_shapes_of_secrets_are_masked(text: str, shown: str) -> None:
    assert redact(text) == shown


def test_remembered_values_are_masked_even_without_a_known_shape() -> None:
    remember(["plain-configured-secret-value", "tiny"])
    assert redact("x plain-configured-secret-value y") == f"x {MASK} y"
    assert redact("a tiny word") == "a tiny word"  # too short to search for safely
    # a model's own words keep their shapes; configured values are still masked
    assert redact("sk-example-shape-only and plain-configured-secret-value", shapes=False) == (
        f"sk-example-shape-only and {MASK}"
    )


def test_the_config_names_every_secret_it_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANTED_TOKEN_VAR", TOKEN)
    monkeypatch.setenv("PLANTED_KEY_VAR", KEY)
    config = Config.model_validate(
        {
            "providers": {
                "a": {"base_url": f"http://me:{PASSWORD}@h/v1", "api_key": "literal-key-1"},
                "b": {"api_key_env": "PLANTED_KEY_VAR"},
            },
            "channels": {"telegram": {"token": {"$env": "PLANTED_TOKEN_VAR"}}},
            "myplugin": {"nested": [{"signing_secret": "plugin-secret-2"}]},
        }
    )
    assert config.secret_values() == {PASSWORD, "literal-key-1", KEY, TOKEN, "plugin-secret-2"}
    shown = json.dumps(config.public_dict())
    assert PASSWORD not in shown and f"http://me:{MASK}@h/v1" in shown


def test_a_log_record_is_redacted_with_its_traceback_and_stack() -> None:
    try:
        raise ConnectionError(f"500, url='http://api/file/bot{TOKEN}/photos/1.jpg'")
    except ConnectionError:
        record = logging.getLogger("aiohttp.client").makeRecord(
            "aiohttp.client",
            logging.ERROR,
            __file__,
            1,
            "download of %s failed",
            (f"/file/bot{TOKEN}/x",),
            sys.exc_info(),
            sinfo=f"Stack: bot{TOKEN}",
        )
    formatted = logging.Formatter().format(redact_record(record))
    assert TOKEN not in formatted
    assert f"download of /file/bot{MASK}/x failed" in formatted
    assert "ConnectionError" in formatted and f"Stack: bot{MASK}" in formatted


def test_records_of_every_library_are_redacted_once_an_app_exists(
    openclaw_make_app, caplog
) -> None:
    openclaw_make_app(config={"channels": {"secretive": {"token": "configured-channel-token-xyz"}}})
    try:
        raise OSError("handshake with configured-channel-token-xyz failed")
    except OSError:
        logging.getLogger("disnake.gateway").exception("lost %s", "configured-channel-token-xyz")
    assert "configured-channel-token-xyz" not in caplog.text
    assert f"lost {MASK}" in caplog.text  # the message
    assert f"OSError: handshake with {MASK} failed" in caplog.text  # and the traceback


@pytest.fixture
def run(openclaw_home: Path):
    def invoke(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "OPENCLAW_HOME": str(openclaw_home), "OPENCLAW_LOAD_PLUGINS": ""}
        for name in ("OPENCLAW_MODEL", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
            env.pop(name, None)
        return subprocess.run(
            [sys.executable, "-m", "openclaw.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    return invoke


def test_doctor_and_config_show_mask_a_base_url_password(run, openclaw_home: Path) -> None:
    port = closed_port()
    config = {
        "agent": {"model": "srv/m"},
        "providers": {
            "srv": {
                "type": "openai",
                "base_url": f"http://me:{PASSWORD}@127.0.0.1:{port}/v1",
                "api_key": KEY,
            }
        },
    }
    (openclaw_home / "openclaw.json").write_text(json.dumps(config))
    doctor = run("doctor")
    assert f"cannot reach http://me:{MASK}@127.0.0.1:{port}/v1" in doctor.stdout
    shown = run("config", "show")
    assert shown.returncode == 0 and f"http://me:{MASK}@127.0.0.1:{port}/v1" in shown.stdout
    for output in (doctor.stdout, doctor.stderr, shown.stdout, shown.stderr):
        assert PASSWORD not in output and KEY not in output


def test_sessions_export_and_show_mask_configured_secrets(run, openclaw_home: Path) -> None:
    config = {"channels": {"telegram": {"token": TOKEN}}, "providers": {"p": {"api_key": KEY}}}
    (openclaw_home / "openclaw.json").write_text(json.dumps(config))
    with SqliteStore(openclaw_home / "sessions.db") as store:
        store.append("cli:main:local:default", Message(role="user", content=f"my key is {KEY}"))
        store.append(
            "cli:main:local:default",
            Message(role="assistant", content=f"the bot token is {TOKEN}"),
        )
    for command in ("export", "show"):
        shown = run("sessions", command, "cli:main:local:default")
        assert shown.returncode == 0, shown.stderr
        assert f"my key is {MASK}" in shown.stdout and f"the bot token is {MASK}" in shown.stdout
        assert KEY not in shown.stdout and TOKEN not in shown.stdout


async def test_the_suite_wide_scan_finds_a_planted_secret() -> None:
    """What `openclaw_no_secret_in_outputs` checks after every test, shown on a scan of its own."""
    import aiohttp
    from openclaw_channel_telegram.testing import FakeBotAPI

    from openclaw.testing.secret_scan import OutputScan

    planted = "planted-never-remembered-secret"
    with OutputScan() as scan, FakeBotAPI() as api:
        scan.add_secrets([planted])
        logging.getLogger("some.library").warning("connecting with %s", planted)
        async with aiohttp.ClientSession() as http:
            url = f"{api.base_url}/bot{api.token}/sendMessage"
            await http.post(url, json={"chat_id": 42, "text": f"token {api.token}"})
        scan.add_output("/status", json.dumps({"state": "running"}))
    assert sorted(scan.leaks()) == [
        "sendMessage sent to the Bot API holds 1234…",
        "the log holds plan…",
    ]
