"""The `openclaw` command line. `main` replays a cached `--help` (see `help_cache`) before click
or any subcommand is imported; the click group itself lives in `openclaw.cli.root`."""

import sys

from openclaw.cli import help_cache

TYPE_CHECKING = False  # typing itself is not imported: it costs every start a few milliseconds
if TYPE_CHECKING:
    from openclaw.cli.root import SUBCOMMANDS, LazyGroup, cli

__all__ = ["SUBCOMMANDS", "LazyGroup", "cli", "main"]


def __getattr__(name: str) -> object:
    """`cli`, `LazyGroup` and `SUBCOMMANDS` from `openclaw.cli.root`, imported on first use."""
    if name in {"SUBCOMMANDS", "LazyGroup", "cli"}:
        from openclaw.cli import root

        return getattr(root, name)
    raise AttributeError(f"module 'openclaw.cli' has no attribute {name!r}")


def _render_help(args: list[str]) -> int:
    """Run click for a `--help`, capturing what it prints; cache a clean result (exit 0,
    nothing on stderr, so warnings keep showing) and print it."""
    import contextlib
    import io

    from openclaw.cli.root import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            cli.main(args, prog_name="openclaw")
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
    if code == 0 and not err.getvalue():
        help_cache.store(args, out.getvalue(), help_cache.depends_on())
    sys.stdout.write(out.getvalue())
    sys.stderr.write(err.getvalue())
    return code


def main() -> None:
    args = sys.argv[1:]
    try:
        if help_cache.cacheable(args):
            if not help_cache.replay(args):
                sys.exit(_render_help(args))
            return
        from openclaw.cli.root import cli

        cli(prog_name="openclaw")
    except KeyboardInterrupt:
        sys.exit(130)
