"""openclaw: a plugin-first personal AI assistant gateway.

Only light names are re-exported here; import `openclaw.app.App` to embed the kernel.
"""

from openclaw.hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = ["__version__", "hookimpl"]
