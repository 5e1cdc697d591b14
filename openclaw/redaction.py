"""Secrets out of every output: one redaction for log records, error text shown to users,
`/status`, `doctor`, `config show` and exports.

A secret is masked when it is a value the loaded config holds (`remember` is given every key,
token and password of a config, `{"$env": ...}` values resolved), a URL's password, a
secret-named query parameter, or shaped like a well-known credential (a Telegram bot token,
an `sk-...` key, a `Bearer`/`Basic` header value). `install_log_redaction` makes every
stdlib log record, its traceback included, pass through `redact` when it is created, so that
whatever handler prints it (the gateway's stderr, pytest's capture, a user's own handler)
never sees a secret.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "[REDACTED]"
"""What a secret inside a text becomes (no markdown in it, so chats show it as it is; a whole
secret field of the config is shown as `********` instead)."""

MIN_LENGTH = 6
"""Remembered values shorter than this are not searched for: they would mask ordinary words
(such short values are still masked where they appear as a URL password or a secret field)."""

_SHAPES = re.compile(
    r"(?<!\d)\d{6,}:[A-Za-z0-9_-]{20,}"  # a Telegram bot token (also inside /bot<token>/)
    r"|\bsk-[A-Za-z0-9_-]{8,}"  # OpenAI-style keys (sk-..., sk-proj-..., sk-ant-...)
    r"|(?i:\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]{8,}"
)
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*):([^/\s@]+)@")
_QUERY_PARAMETER = re.compile(r"([?&])([^=&#\s\"']+)=([^&#\s\"']+)")

# The last word of a secret's name (`bot_token`, `PGPASSWORD`, `clientSecret`): exactly one of
# these, or ending in one of the longer ones; `tokens` and `first_token_timeout` are numbers.
_SECRET_WORDS = frozenset({"pass", "auth", "sig", "signature", "cookies", "credentials"})
_SECRET_ENDINGS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "privatekey",
    "authorization",
    "cookie",
    "credential",
    "sessionid",
)
# `<word>_key` is a secret after these (`api_key`, `AWS_SECRET_ACCESS_KEY`), not after others
# (`session_key` names a session, `sort_key` a field).
_KEY_OWNERS = frozenset({"api", "private", "secret", "access", "signing", "encryption", "auth"})
_SECRET_PAIRS = frozenset({("session", "id"), ("session", "token")})
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def is_secret_name(name: str) -> bool:
    """Whether a field, variable or query parameter called `name` holds a secret: the one rule
    for the config (`api_key`, `bot_token`, `botToken`), the log sink's fields, URL query
    parameters (`?token=`, `?key=`) and the variables commands never get (`GITHUB_TOKEN`,
    `PGPASSWORD`). Names such as `session_key`, `max_tokens`, `first_token_timeout`, `PWD` and
    `api_key_env` (the name of a variable, not its value) hold no secret."""
    words = [w for w in re.split(r"[^a-z0-9]+", _CAMEL_BOUNDARY.sub("_", name).lower()) if w]
    if not words:
        return False
    last = words[-1]
    if words == ["key"] or last in _SECRET_WORDS or last.endswith(_SECRET_ENDINGS):
        return True
    if len(words) > 1 and last == "key" and words[-2] in _KEY_OWNERS:
        return True
    return len(words) > 1 and (words[-2], last) in _SECRET_PAIRS


_lock = threading.Lock()
_known: set[str] = set()
_remembered: tuple[tuple[str, ...], re.Pattern[str]] | None = None
"""The values, longest first (for a quick `in` test), and one pattern matching any of them;
replaced as a whole so that a reader never sees one without the other."""


def remember(values: Iterable[str | None]) -> None:
    """Add secret values (a loaded config's keys and tokens) to what `redact` masks."""
    global _remembered
    new = {v for v in values if isinstance(v, str) and len(v) >= MIN_LENGTH} - _known
    if not new:
        return
    with _lock:
        _known.update(new)
        # Longest first, so that a secret containing another is masked whole.
        alternatives = sorted(_known, key=len, reverse=True)
        pattern = re.compile("|".join(re.escape(v) for v in alternatives))
        _remembered = (tuple(alternatives), pattern)


def url_password(url: str) -> str | None:
    """The password in a URL's userinfo (`http://user:pass@host` → `pass`), if any."""
    match = _URL_PASSWORD.search(url)
    return match.group(2) if match else None


def redact(text: str, *, shapes: bool = True) -> str:
    """`text` with every remembered secret and URL password replaced by `[REDACTED]`, and
    (unless `shapes` is False, for a model's own words) every secret query parameter and
    credential-shaped string."""
    if not text:
        return text
    # Substring tests first: a reply is redacted at every edit, and most hold nothing to mask.
    remembered = _remembered
    if remembered is not None and any(secret in text for secret in remembered[0]):
        text = remembered[1].sub(MASK, text)
    if "@" in text and "://" in text:
        text = _URL_PASSWORD.sub(rf"\1:{MASK}@", text)
    if not shapes:
        return text
    text = _QUERY_PARAMETER.sub(_mask_query, text)
    return _SHAPES.sub(_mask_shape, text)


def _mask_query(match: re.Match[str]) -> str:
    """A query parameter with its value masked when its name is a secret's."""
    if not is_secret_name(match.group(2)):
        return match.group(0)
    return f"{match.group(1)}{match.group(2)}={MASK}"


def _mask_shape(match: re.Match[str]) -> str:
    found = match.group(0)
    scheme = re.match(r"(?i)(bearer|basic)\s+", found)
    return f"{scheme.group(0)}{MASK}" if scheme else MASK


def redact_data(value: Any) -> Any:
    """`redact` applied to every string inside JSON-like data (dicts, lists)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {key: redact_data(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(item) for item in value]
    return value


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Redact a log record in place: its message (formatted with its arguments), its
    traceback (formatted now into `exc_text`, which handlers print instead of formatting it
    again) and its stack."""
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: let the handler report it as usual
        return record
    record.msg, record.args = redact(message), None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


_installed = False


def install_log_redaction() -> None:
    """Make every stdlib log record (openclaw's, aiohttp's, aiogram's, disnake's, httpx's...)
    redacted as it is created, whatever handler later prints it. Safe to call more than once."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            return redact_record(previous(*args, **kwargs))

        logging.setLogRecordFactory(factory)
