"""openclaw: a plugin-first personal AI assistant gateway.

Only light names are re-exported here; import `openclaw.app.App` to embed the kernel.
`hookimpl` is looked up on first use, so `openclaw --help` does not import pluggy; nor typing
(a few milliseconds of every CLI start): `Any` is for type checkers only.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "hookimpl"]


def __getattr__(name: str) -> "Any":
    if name == "hookimpl":
        from openclaw.hookspecs import hookimpl

        return hookimpl
    raise AttributeError(f"module 'openclaw' has no attribute {name!r}")
