"""Import a library without the optional packages it would pick up at module level.

sqlite-utils imports numpy (and pandas) whenever they are installed, only to map their scalar
types to SQLite column types; the store never inserts them. numpy is installed by the voice
plugin's speech-to-text, so without this every gateway would pay ~14 MB and ~0.1 s for it.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

SQLITE_UTILS_EXTRAS = ("numpy", "pandas")


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
