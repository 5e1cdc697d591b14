"""`python -m openclaw.cli` runs the CLI."""

from openclaw.cli import main

main()
