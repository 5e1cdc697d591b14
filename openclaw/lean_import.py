"""Import a library without the optional packages it would pick up at module level.

- sqlite-utils imports numpy (and pandas) whenever they are installed, only to map their scalar
  types to SQLite column types; the store never inserts them. numpy is installed by the voice
  plugin's speech-to-text, so without this every gateway would pay ~14 MB and ~0.1 s for it.
- structlog imports rich (and with it pygments), colorama, better-exceptions and greenlet when
  installed, for coloured console tracebacks and greenlet-local context; the log sink renders
  plain lines and keeps no context. rich comes with other tools (pip's own needs, typer...), and
  then every gateway paid ~7 MB and ~0.1 s for it on the first turn.
- httpcore2 (under the model SDKs) imports trio when installed, for trio's event loop; the
  gateway runs on asyncio. trio and its dependencies are ~3.5 MB.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

SQLITE_UTILS_EXTRAS = ("numpy", "pandas")
STRUCTLOG_EXTRAS = ("rich", "colorama", "better_exceptions", "greenlet")
ASYNCIO_ONLY_EXTRAS = ("trio",)
"""Optional packages of the model SDKs' HTTP stack that only matter under another event loop."""


@contextmanager
def hidden(*names: str) -> Iterator[None]:
    """While inside, importing one of `names` that is not imported yet raises ImportError
    (Python's own rule for a `None` in `sys.modules`); afterwards it imports as usual. A module
    already imported stays visible: hiding it would save nothing."""
    blocked = [name for name in names if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in blocked:
            if sys.modules.get(name, ...) is None:
                del sys.modules[name]


def import_sqlite_utils() -> ModuleType:
    """`sqlite_utils`, imported without numpy and pandas unless something imported them first."""
    if "sqlite_utils" in sys.modules:
        return sys.modules["sqlite_utils"]
    with hidden(*SQLITE_UTILS_EXTRAS):
        return importlib.import_module("sqlite_utils")


def import_structlog() -> ModuleType:
    """`structlog`, imported without rich, colorama, better-exceptions and greenlet unless
    something imported them first (its console renderer then formats tracebacks plainly)."""
    if "structlog" in sys.modules:
        return sys.modules["structlog"]
    with hidden(*STRUCTLOG_EXTRAS):
        return importlib.import_module("structlog")


def import_event_loop_backends() -> None:
    """Import now what the HTTP stack of the model SDKs imports on its first request: anyio
    (under httpx2) picks its event-loop backend then, and its asyncio backend is ~30 modules
    (a few ms and their bytecode on the first user's message otherwise). Nothing when anyio
    is not imported (no SDK uses it)."""
    if "anyio" in sys.modules:
        importlib.import_module("anyio._backends._asyncio")
