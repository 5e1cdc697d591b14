"""aiogram imported with each Telegram type's pydantic validator built when first used.

aiogram declares its ~400 types with pydantic's `defer_build`, then `aiogram/types/__init__.py`
rebuilds every one of them at import, each against the namespace of all types: about 105 MiB
of validators and 4 s of CPU, for types a bot mostly never receives. `import_aiogram` skips
that loop (and only it) and gives each aiogram model that namespace as its parent namespace
instead, so pydantic builds a model when it is first validated, as `defer_build` intends. The
channel builds what every message uses when its bot is made (`build_models`), so no user's
message pays for it. If aiogram was imported some other way first, its models are already built
and nothing here changes them.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterator
from typing import Any

_TYPES_PACKAGE = "aiogram.types"


@functools.cache
def import_aiogram() -> None:
    """Import aiogram, its types left to build on first use (see the module docstring)."""
    if _TYPES_PACKAGE in sys.modules:
        return
    from pydantic import BaseModel

    eager = BaseModel.__dict__["model_rebuild"]
    namespaces: list[dict[str, Any]] = []

    def rebuild(cls: type[BaseModel], **kwargs: Any) -> bool | None:
        caller = sys._getframe(1).f_globals.get("__name__")
        namespace = kwargs.get("_types_namespace")
        if caller == _TYPES_PACKAGE and namespace is not None:
            namespaces.append(namespace)  # aiogram's rebuild-everything loop: deferred
            return None
        return eager.__func__(cls, **kwargs)

    BaseModel.model_rebuild = classmethod(rebuild)  # type: ignore[method-assign,assignment]
    try:
        import aiogram
        import aiogram.client.session.base  # noqa: F401  (Response, the answers' generic model)
    finally:
        BaseModel.model_rebuild = eager  # type: ignore[method-assign]
    if not namespaces:
        return  # an aiogram without that loop: nothing was deferred
    types_namespace = namespaces[0]
    for model in _aiogram_models(BaseModel):
        model.__pydantic_parent_namespace__ = types_namespace


def _aiogram_models(base: type) -> Iterator[type]:
    """Every pydantic model class aiogram defines (types, methods, the response model)."""
    seen: set[type] = set()
    stack = [base]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                stack.append(sub)
                if sub.__module__.startswith("aiogram."):
                    yield sub


def build_models(*models: type) -> None:
    """Build these aiogram models now (each validator once; a built one is left as it is)."""
    for model in models:
        if not getattr(model, "__pydantic_complete__", True):
            model.model_rebuild()  # type: ignore[attr-defined]
