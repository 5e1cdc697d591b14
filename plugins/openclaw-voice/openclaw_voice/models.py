"""Loaded models, shared by every provider instance of the process: each model file is loaded
once (the first time it is used, on a worker thread) and reused, and calls into a model that is
not safe to share between threads are serialised by its lock."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

log = logging.getLogger("openclaw.voice")


@dataclass(slots=True)
class Loaded:
    """A model and the lock to hold while using it."""

    model: Any
    lock: threading.Lock = field(default_factory=threading.Lock)


_loaded: dict[Hashable, Loaded] = {}
_loading = threading.Lock()


class ModelError(Exception):
    """A model or its library cannot be used; the message says what to fix."""


def load_once(key: Hashable, load: Callable[[], Any]) -> Loaded:
    """The model for `key`, loaded by `load()` the first time. Call it off the event loop."""
    with _loading:
        if key not in _loaded:
            _loaded[key] = Loaded(load())
        return _loaded[key]


async def in_thread(function: Callable[[], T], timeout: float, what: str) -> T:
    """Run blocking model work on a worker thread, giving up waiting after `timeout` seconds
    (the thread finishes on its own: inference cannot be interrupted)."""
    try:
        return await asyncio.wait_for(asyncio.to_thread(function), timeout)
    except TimeoutError:
        raise ModelError(f"{what} took longer than {timeout:g} s") from None
    except ModelError:
        raise
    except Exception as exc:  # a library's own error: say what failed, keep the trace in the log
        log.exception("%s failed", what)
        raise ModelError(f"{what} failed: {type(exc).__name__}: {exc}") from None


def require_module(module: str, package: str) -> None:
    """ModelError unless `module` can be imported (checked without importing it)."""
    if importlib.util.find_spec(module) is None:
        raise ModelError(f"the Python package {package} is not installed (pip install {package})")


def packaged_path(module: str, package: str, *parts: str) -> Path:
    """A file shipped inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"the model package {package} is not installed (pip install {package})")
    return Path(next(iter(spec.submodule_search_locations)), *parts)


def require_file(path: Path, what: str, setting: str) -> Path:
    """`path` when it exists, else ModelError naming the setting to fix."""
    if not path.exists():
        raise ModelError(f"{what} not found at {path}: check {setting}")
    return path
