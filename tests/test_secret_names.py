"""One secret-name rule (`openclaw.redaction.is_secret_name`), agreed by every site that asks:
the config's secret detection, the log sink's field redaction, URL query redaction and the
variables a sandboxed command never gets."""

from __future__ import annotations

import pytest

from openclaw.config import secret_values
from openclaw.default_plugins.log_sink import redact_fields
from openclaw.redaction import MASK, is_secret_name, redact
from openclaw.sandbox.processes import environment

SECRET = [
    "PASS",
    "PASSWORD",
    "PASSWD",
    "db_password",
    "PGPASSWORD",
    "SECRET",
    "client_secret",
    "clientSecret",
    "TOKEN",
    "bot_token",
    "botToken",
    "BOT_TOKEN",
    "GITHUB_TOKEN",
    "access_token",
    "API_KEY",
    "APIKEY",
    "apiKey",
    "openai_api_key",
    "PRIVATE_KEY",
    "AWS_SECRET_ACCESS_KEY",
    "AUTH",
    "AUTHORIZATION",
    "COOKIE",
    "session_cookie",
    "SESSION_ID",
    "SESSIONID",
    "SESSION_TOKEN",
    "sessionId",
    "CREDENTIAL",
    "credentials",
    "key",
    "sig",
]
NOT_SECRET = [
    "session_key",
    "first_token_timeout",
    "max_tokens",
    "history_tokens",
    "tokens",
    "api_key_env",
    "sort_key",
    "PATH",
    "PWD",
    "LANG",
    "model",
    "user_id",
    "keys",
    "passenger",
]
VALUE = "plain-value-123"


def _config_says(name: str) -> bool:
    return VALUE in secret_values({"section": {name: VALUE}}, environ={})


def _log_sink_says(name: str) -> bool:
    return redact_fields(None, "info", {name: VALUE})[name] == "********"


def _url_says(name: str) -> bool:
    return MASK in redact(f"https://example.com/hook?x=1&{name}={VALUE}")


def _sandbox_says(name: str, monkeypatch: pytest.MonkeyPatch) -> bool:
    monkeypatch.setenv(name, VALUE)
    return name not in environment([name], (), "/tmp/scratch", None)


@pytest.mark.parametrize("name", SECRET)
def test_every_site_treats_a_secret_name_as_secret(name: str, monkeypatch) -> None:
    assert is_secret_name(name)
    assert _config_says(name)
    assert _log_sink_says(name)
    assert _url_says(name)
    assert _sandbox_says(name, monkeypatch)


@pytest.mark.parametrize("name", NOT_SECRET)
def test_no_site_treats_an_ordinary_name_as_secret(name: str, monkeypatch) -> None:
    assert not is_secret_name(name)
    assert not _config_says(name)
    assert not _log_sink_says(name)
    assert not _url_says(name)
    assert not _sandbox_says(name, monkeypatch)
