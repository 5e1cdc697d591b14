"""`python -m openclaw` runs the CLI, as `python -m openclaw.cli` does."""

from openclaw.cli import main

main()
